// spawn: the root task spawns N tasks that each add their index to a shared
// atomic and call done() on a wait_group, then waits for it. Go: N goroutines
// and a sync.WaitGroup; Tokio: N tasks, an atomic counter and a Notify.
// Join handles are dropped at once (detached), as `go f()`.

#include <atomic>

#include "bench/peers/workloads.hpp"
#include "sched/wait_group.hpp"

namespace goro_peers {
namespace {

goro::task<void> add_index(int64_t i, std::atomic<int64_t>* sum, goro::wait_group* wg) {
  sum->fetch_add(i, std::memory_order_relaxed);
  wg->done();
  co_return;
}

goro::task<run_report> spawn_root(int64_t n, const invocation* inv) {
  run_report r("spawn", inv->label, inv->params, current_procs());
  r.begin();
  std::atomic<int64_t> sum{0};
  goro::wait_group wg;
  wg.add(n);
  for (int64_t i = 0; i < n; ++i) goro::spawn(add_index(i, &sum, &wg)).detach();
  co_await wg.wait();
  const int64_t got = sum.load(std::memory_order_relaxed);
  const int64_t want = (n - 1) * n / 2;
  r.end(static_cast<double>(n), "goroutines", verdict(got == want, "sum=" + std::to_string(got)));
  co_return r;
}

}  // namespace

void run_spawn(const args_t& args) {
  flag_set fs("spawn");
  const int64_t* n = fs.add_int("n", 1000000, "goroutines to spawn");
  invocation inv = parse_common(fs, args);
  if (*n < 0) fs.fail("-n must be >= 0");
  print_report(goro::run(spawn_root(*n, &inv), inv.opts));
}

}  // namespace goro_peers
