// calib: not a peer workload. Spins one task, then GOMAXPROCS tasks at once,
// and reports the speedup: how much of the machine's CPUs this (shared) VM
// actually gave at that moment. ~procs means the cores were free.

#include <cstdio>
#include <vector>

#include "bench/peers/workloads.hpp"
#include "core/clock.hpp"

namespace goro_peers {
namespace {

// A linear congruential generator (Knuth's MMIX constants, as the Go peer's
// spin): n dependent multiply-adds that the compiler cannot fold.
[[gnu::noinline]] uint64_t spin(int64_t n, uint64_t seed) {
  uint64_t x = seed;
  for (int64_t i = 0; i < n; ++i) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
  return x;
}

goro::task<uint64_t> spin_task(int64_t n, uint64_t seed) {
  co_return spin(n, seed);
}

goro::task<run_report> calib_root(int64_t n, const invocation* inv) {
  const int p = current_procs();
  run_report r("calib", inv->label, inv->params, p);
  r.begin();
  int64_t t = goro::nanotime();
  uint64_t sink = spin(n, 1);
  const double serial_s = static_cast<double>(goro::nanotime() - t) / 1e9;
  t = goro::nanotime();
  std::vector<goro::join_handle<uint64_t>> hs;
  for (int i = 0; i < p; ++i) hs.push_back(goro::spawn(spin_task(n, static_cast<uint64_t>(i + 1))));
  for (auto& h : hs) sink ^= co_await h;
  const double parallel_s = static_cast<double>(goro::nanotime() - t) / 1e9;
  char buf[160];
  std::snprintf(buf, sizeof buf, "ok speedup=%.2f serial_s=%.3f parallel_s=%.3f sink=%llu",
                p * serial_s / parallel_s, serial_s, parallel_s,
                static_cast<unsigned long long>(sink & 1));
  r.end(static_cast<double>(n) * (p + 1), "lcg_steps", buf);
  co_return r;
}

}  // namespace

void run_calib(const args_t& args) {
  flag_set fs("calib");
  const int64_t* n = fs.add_int("n", 200000000, "LCG steps per goroutine");
  invocation inv = parse_common(fs, args);
  if (*n < 0) fs.fail("-n must be >= 0");
  print_report(goro::run(calib_root(*n, &inv), inv.opts));
}

}  // namespace goro_peers
