// yield: N tasks each call `co_await goro::yield()` K times, then count
// down a wait_group the root waits on. Go: runtime.Gosched; Tokio:
// tokio::task::yield_now.

#include <atomic>

#include "bench/peers/workloads.hpp"
#include "sched/wait_group.hpp"

namespace goro_peers {
namespace {

goro::task<void> yielder(int64_t k, std::atomic<int64_t>* total, goro::wait_group* wg) {
  int64_t c = 0;
  for (int64_t j = 0; j < k; ++j) {
    co_await goro::yield();
    ++c;
  }
  total->fetch_add(c, std::memory_order_relaxed);
  wg->done();
}

goro::task<run_report> yield_root(int64_t n, int64_t k, const invocation* inv) {
  run_report r("yield", inv->label, inv->params, current_procs());
  r.begin();
  std::atomic<int64_t> total{0};
  goro::wait_group wg;
  wg.add(n);
  for (int64_t i = 0; i < n; ++i) goro::spawn(yielder(k, &total, &wg)).detach();
  co_await wg.wait();
  const int64_t got = total.load(std::memory_order_relaxed);
  const int64_t want = n * k;
  r.end(static_cast<double>(want), "yields", verdict(got == want, "yields=" + std::to_string(got)));
  co_return r;
}

}  // namespace

void run_yield(const args_t& args) {
  flag_set fs("yield");
  const int64_t* n = fs.add_int("n", 1000, "goroutines");
  const int64_t* k = fs.add_int("k", 10000, "runtime.Gosched calls per goroutine");
  invocation inv = parse_common(fs, args);
  if (*n < 0 || *k < 0) fs.fail("-n and -k must be >= 0");
  print_report(goro::run(yield_root(*n, *k, &inv), inv.opts));
}

}  // namespace goro_peers
