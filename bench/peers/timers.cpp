// timers: N tasks each sleep a random 1–10 ms (-min-ms, -max-ms) in a loop
// for -duration-s; measures timer operations (sleeps completed) per second
// and how late each sleeper woke (now − deadline): p50, p99, p999 and the
// worst, in microseconds, as "lateness_us". The Go version
// (bench/peers/go, `timers`) runs time.Sleep with the same flags.
//
// Lateness is collected in a shared histogram of 10 µs buckets up to
// 100 ms (relaxed atomic increments; the worst case is tracked exactly),
// so recording costs a few ns beside a sleep that costs microseconds.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/peers/workloads.hpp"
#include "core/clock.hpp"

namespace goro_peers {
namespace {

class lateness_histogram {
 public:
  static constexpr int64_t kBucketNs = 10'000;
  static constexpr std::size_t kBuckets = 10'000;  // 100 ms

  void record(int64_t late_ns) noexcept {
    if (late_ns < 0) late_ns = 0;  // never happens: a sleep never ends early
    std::size_t b = static_cast<std::size_t>(late_ns / kBucketNs);
    counts_[std::min(b, kBuckets)].fetch_add(1, std::memory_order_relaxed);
    int64_t m = max_.load(std::memory_order_relaxed);
    while (late_ns > m && !max_.compare_exchange_weak(m, late_ns, std::memory_order_relaxed)) {
    }
  }
  uint64_t total() const noexcept {
    uint64_t n = 0;
    for (const auto& c : counts_) n += c.load(std::memory_order_relaxed);
    return n;
  }
  /// Upper edge of the bucket holding quantile q, in µs.
  double quantile_us(double q) const noexcept {
    const uint64_t n = total();
    if (n == 0) return 0;
    const uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(n - 1)) + 1;
    uint64_t seen = 0;
    for (std::size_t b = 0; b <= kBuckets; ++b) {
      seen += counts_[b].load(std::memory_order_relaxed);
      if (seen >= rank)
        return b == kBuckets ? max_us() : static_cast<double>((b + 1) * kBucketNs) / 1e3;
    }
    return max_us();
  }
  double max_us() const noexcept { return static_cast<double>(max_.load()) / 1e3; }

 private:
  std::atomic<uint64_t> counts_[kBuckets + 1] = {};
  std::atomic<int64_t> max_{0};
};

struct config {
  int64_t tasks, min_ms, max_ms;
  double duration_s;
};

goro::task<void> sleeper(int64_t seed, const config* c, int64_t end_ns, lateness_histogram* h,
                         std::atomic<uint64_t>* ops) {
  uint64_t x = static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ull;  // splitmix64 stream
  auto rng = [&x] {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  const int64_t span_ns = (c->max_ms - c->min_ms) * 1'000'000;
  uint64_t n = 0;
  for (;;) {
    const int64_t d =
        c->min_ms * 1'000'000 + (span_ns > 0 ? static_cast<int64_t>(rng() % span_ns) : 0);
    const int64_t deadline = goro::nanotime() + d;
    if (deadline > end_ns) break;
    co_await goro::sleep_for(std::chrono::nanoseconds(d));
    h->record(goro::nanotime() - deadline);
    ++n;
  }
  ops->fetch_add(n, std::memory_order_relaxed);
}

goro::task<run_report> timers_root(config c, const invocation* inv) {
  run_report r("timers", inv->label, inv->params, current_procs());
  auto h = std::make_unique<lateness_histogram>();
  std::atomic<uint64_t> ops{0};
  r.begin();
  const int64_t end_ns = goro::nanotime() + static_cast<int64_t>(c.duration_s * 1e9);
  std::vector<goro::join_handle<void>> hs;
  hs.reserve(static_cast<std::size_t>(c.tasks));
  for (int64_t i = 0; i < c.tasks; ++i)
    hs.push_back(goro::spawn(sleeper(i + 1, &c, end_ns, h.get(), &ops)));
  for (auto& jh : hs) co_await jh;
  const uint64_t n = ops.load();
  // Every task sleeps at least once unless the run is shorter than max-ms.
  const bool ok = n == h->total() && n >= static_cast<uint64_t>(c.tasks);
  r.end(static_cast<double>(n), "sleeps",
        verdict(ok, "sleeps=" + std::to_string(n) + " tasks=" + std::to_string(c.tasks)));
  json_writer w;
  w.begin_object()
      .field("p50", h->quantile_us(0.50))
      .field("p99", h->quantile_us(0.99))
      .field("p999", h->quantile_us(0.999))
      .field("max", h->max_us())
      .end_object();
  r.add_field("lateness_us", w.str());
  co_return r;
}

}  // namespace

void run_timers(const args_t& args) {
  flag_set fs("timers");
  const int64_t* tasks = fs.add_int("tasks", 100000, "concurrently sleeping tasks");
  const int64_t* min_ms = fs.add_int("min-ms", 1, "shortest sleep, ms");
  const int64_t* max_ms = fs.add_int("max-ms", 10, "longest sleep, ms");
  const int64_t* dur = fs.add_int("duration-s", 2, "how long every task keeps sleeping, s");
  invocation inv = parse_common(fs, args);
  if (*tasks < 1 || *min_ms < 1 || *max_ms < *min_ms || *dur < 1)
    fs.fail("want -tasks >= 1, 1 <= -min-ms <= -max-ms, -duration-s >= 1");
  config c{*tasks, *min_ms, *max_ms, static_cast<double>(*dur)};
  print_report(goro::run(timers_root(c, &inv), inv.opts));
}

}  // namespace goro_peers
