#pragma once
// A deterministic simulation of an idealised program running on goro's
// stop-the-world collector, driving the real goro::pacer::pacer. In the
// spirit of Go's TestGcPacer (reference/go-pacer.md §4.1): per-cycle input
// streams with fixed seeds, no threads, no sleeping, no clock.
//
// The model:
//  * The mutator allocates at alloc_mib_s(cycle) MiB per second of wall time
//    while the world runs, using busy × procs CPUs (the rest is idle).
//  * Allocation counters are flushed every check_bytes (the driver's check
//    granularity); each flush is one pacer.check().
//  * When the pacer says collect, the world stops. Marking takes
//    mark_s_per_gib × mark_factor(cycle) seconds per GiB of live + roots
//    (reference/boehm-probe.md §6: ~300 ms/GiB with two markers); nothing
//    allocates during the pause. The heap afterwards holds the live set.
//  * The live set is Go's model (live_n = live_{n-1} × growth(n)) or a
//    function of time (live_at), and never more than the heap held when the
//    world stopped: a program cannot keep more than it allocated.
//  * Non-heap overhead is non_heap(t), re-read at every check.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numbers>
#include <vector>

#include "pacer/pacer.hpp"

namespace goro::pacer::sim {

inline constexpr uint64_t KiB = 1024;
inline constexpr uint64_t MiB = 1024 * KiB;
inline constexpr uint64_t GiB = 1024 * MiB;
inline constexpr int64_t ms = 1'000'000;
inline constexpr int64_t sec = 1'000'000'000;

// ---- Streams: one value per cycle, as Go's test streams. -------------------

using stream = std::function<double(int)>;

/// c every cycle.
inline stream constant(double c) {
  return [c](int) { return c; };
}
/// 0 rising linearly to `height` over `length` cycles, then `height`.
inline stream ramp(double height, int length) {
  return [=](int i) { return i >= length ? height : height * i / length; };
}
/// amp × sin(2πi/period + phase).
inline stream oscillate(double amp, double phase, int period) {
  return [=](int i) { return amp * std::sin(2 * std::numbers::pi * i / period + phase); };
}
/// Uniform in [-amp, amp], a pure function of (seed, i).
inline stream random(double amp, uint64_t seed) {
  return [=](int i) {
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (static_cast<uint64_t>(i) + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    const double u = static_cast<double>(z >> 11) / static_cast<double>(uint64_t{1} << 53);
    return amp * (2 * u - 1);
  };
}
/// amp at cycle 0, 0 afterwards (a one-cycle spike; combine with delay).
inline stream unit(double amp) {
  return [=](int i) { return i == 0 ? amp : 0.0; };
}
/// 0 for the first n cycles, then s shifted by n.
inline stream delay(stream s, int n) {
  return [=](int i) { return i < n ? 0.0 : s(i - n); };
}
/// a + b.
inline stream sum(stream a, stream b) {
  return [=](int i) { return a(i) + b(i); };
}

// ---- The program and the run. ---------------------------------------------

struct program {
  int procs = 2;
  pacer_settings settings;
  pacer_tuning tuning;
  uint64_t initial_live = 256 * KiB;         ///< heap at start, all live
  stream growth = constant(1.0);             ///< Go's growthRate per cycle
  std::function<double(double)> live_at;     ///< live bytes at t seconds; overrides growth
  stream alloc_mib_s = constant(64);         ///< allocation rate while running
  double busy = 1.0;                         ///< mutator CPU / (procs × running wall time)
  uint64_t roots = 40 * KiB;                 ///< Go's defaults: 8 KiB stacks + 32 KiB globals
  std::function<uint64_t(double)> non_heap;  ///< non-heap bytes at t; empty: 0
  double mark_s_per_gib = 0.300;             ///< boehm-probe §6, two markers
  double pause_cpus = -1;                    ///< markers' measured CPUs in a pause; -1: unmeasured
  stream mark_factor = constant(1.0);        ///< per-cycle pause jitter
  uint64_t check_bytes = 64 * KiB;           ///< allocation between checks
  int64_t max_step_ns = 1 * ms;              ///< longest step without a check
  int cycles = 50;                           ///< stop after this many collections
  double seconds = 0;                        ///< ... or this much time (0: no limit)
  /// Called after every collection (and once at the start with cycle -1):
  /// scenarios change settings here.
  std::function<void(pacer&, int, double)> after_cycle;
};

struct cycle {
  int n = 0;           ///< 0-based
  double start_s = 0;  ///< when the world stopped
  double pause_s = 0;
  uint64_t live_before = 0;  ///< the pacer's live heap when it decided
  uint64_t heap_peak = 0;    ///< heap when the world stopped
  uint64_t live_after = 0;
  uint64_t goal = 0;        ///< goal at the deciding check
  uint64_t trigger = 0;     ///< trigger at the deciding check
  uint64_t limit_goal = 0;  ///< the memory-limit goal at that check (no_goal: none)
  uint64_t total_peak = 0;  ///< heap_peak + non-heap: what the limit counts
  gc_reason reason = gc_reason::none;
  bool limited = false;
  double gc_share = 0;
  pressure_state state = pressure_state::normal;
  pressure_change change;

  /// Go's goalRatio: peak heap / goal.
  double goal_ratio() const { return static_cast<double>(heap_peak) / static_cast<double>(goal); }
  /// Go's triggerRatio: (trigger - live) / (goal - live).
  double trigger_ratio() const { return goro::pacer::trigger_ratio(live_before, goal, trigger); }
};

struct pause_span {
  int64_t start = 0, end = 0;
};

struct result {
  int procs = 2;
  std::vector<cycle> cycles;
  std::vector<pause_span> pauses;
  double first_deferral_s = -1;  ///< first time the limiter refused; -1: never
  double end_s = 0;
  uint64_t engagements = 0;

  /// Stopped-world time in [a, b) (seconds of wall time).
  double pause_in(double a, double b) const {
    const auto lo = static_cast<int64_t>(std::llround(a * 1e9));
    const auto hi = static_cast<int64_t>(std::llround(b * 1e9));
    int64_t sum = 0;
    for (const auto& p : pauses)
      sum += std::max<int64_t>(0, std::min(hi, p.end) - std::max(lo, p.start));
    return static_cast<double>(sum) / 1e9;
  }
  /// GC CPU share of all CPU (procs × wall, idle included, as Go's
  /// /cpu/classes) over [a, a + w).
  double gc_share(double a, double w) const { return pause_in(a, a + w) / w; }
  /// The largest gc_share over windows of length w lying in [from, end_s].
  /// The maximum is reached with a window edge on a pause edge, so those
  /// windows (plus a 1 ms grid) are enough.
  double max_gc_share(double from, double w) const {
    std::vector<double> starts;
    for (const auto& p : pauses) {
      const double s = static_cast<double>(p.start) / 1e9, e = static_cast<double>(p.end) / 1e9;
      starts.insert(starts.end(), {s, e - w, s - w, e});
    }
    for (double a = from; a + w <= end_s; a += 0.001) starts.push_back(a);
    double best = 0;
    for (double a : starts) {
      if (a < from - 1e-12 || a + w > end_s + 1e-12) continue;
      best = std::max(best, gc_share(a, w));
    }
    return best;
  }
  /// The first time b at which the trailing window [b - w, b) has a GC share
  /// above `share` (1 ms grid); -1 if never.
  double first_exceeding(double share, double w) const {
    for (double b = w; b <= end_s; b += 0.001) {
      if (gc_share(b - w, w) > share) return b;
    }
    return -1;
  }
  /// Index of the first cycle whose live_after >= bytes; -1 if none.
  int first_cycle_live_at_least(double bytes) const {
    for (const auto& c : cycles) {
      if (static_cast<double>(c.live_after) >= bytes) return c.n;
    }
    return -1;
  }
  /// Number of cycles spent in `s`.
  int cycles_in(pressure_state s) const {
    return static_cast<int>(
        std::count_if(cycles.begin(), cycles.end(), [s](const cycle& c) { return c.state == s; }));
  }
};

inline result run(const program& prog) {
  pacer p(prog.procs, prog.settings, prog.tuning);
  result r;
  r.procs = prog.procs;
  const auto non_heap = [&](int64_t t) -> uint64_t {
    return prog.non_heap ? prog.non_heap(static_cast<double>(t) / 1e9) : 0;
  };
  if (prog.after_cycle) prog.after_cycle(p, -1, 0);

  int64_t t = 0;
  double heap = static_cast<double>(prog.initial_live);
  uint64_t live_model = prog.initial_live;  // Go's model: the last live set
  int64_t mutator_cpu = 0;
  int n = 0;
  const auto t_end = static_cast<int64_t>(prog.seconds * 1e9);
  while (n < prog.cycles && (t_end == 0 || t < t_end)) {
    const double rate = prog.alloc_mib_s(n) * static_cast<double>(MiB) / 1e9;  // bytes per ns
    int64_t dt = prog.max_step_ns;
    if (rate > 0) {
      dt = std::clamp<int64_t>(
          static_cast<int64_t>(std::ceil(static_cast<double>(prog.check_bytes) / rate)), 1, dt);
    }
    t += dt;
    heap += rate * static_cast<double>(dt);
    mutator_cpu +=
        static_cast<int64_t>(std::llround(prog.procs * prog.busy * static_cast<double>(dt)));
    const auto heap_now = static_cast<uint64_t>(heap);
    const decision d = p.check({t, {heap_now, 0, non_heap(t)}, mutator_cpu});
    if (d.deferred && r.first_deferral_s < 0) r.first_deferral_s = static_cast<double>(t) / 1e9;
    if (!d.collect) continue;

    cycle c;
    c.n = n;
    c.start_s = static_cast<double>(t) / 1e9;
    c.live_before = p.live();
    c.heap_peak = heap_now;
    c.goal = d.goal;
    c.trigger = d.trigger;
    c.limit_goal = p.last_goal().limit_goal;
    c.total_peak = heap_now + non_heap(t);
    c.reason = d.reason;
    uint64_t target = prog.live_at ? static_cast<uint64_t>(prog.live_at(c.start_s))
                                   : static_cast<uint64_t>(static_cast<double>(live_model) *
                                                           (n == 0 ? 1.0 : prog.growth(n - 1)));
    c.live_after = std::min(target, heap_now);
    live_model = c.live_after;
    c.pause_s = prog.mark_s_per_gib * prog.mark_factor(n) *
                static_cast<double>(c.live_after + prog.roots) / static_cast<double>(GiB);
    const int64_t end = t + static_cast<int64_t>(std::llround(c.pause_s * 1e9));

    cycle_sample s;
    s.start_ns = t;
    s.end_ns = end;
    s.mutator_cpu_ns = mutator_cpu;
    if (prog.pause_cpus >= 0)
      s.gc_cpu_in_pause_ns = static_cast<int64_t>(prog.pause_cpus * static_cast<double>(end - t));
    s.heap_before = heap_now;
    s.live = c.live_after;
    s.roots = prog.roots;
    s.memory_after = {c.live_after, 0, non_heap(end)};
    const cycle_report rep = p.end_cycle(s);
    c.limited = rep.limited;
    c.gc_share = rep.gc_share;
    c.change = rep.pressure;
    c.state = rep.pressure.to;
    r.cycles.push_back(c);
    r.pauses.push_back({t, end});
    t = end;
    heap = static_cast<double>(c.live_after);
    ++n;
    if (prog.after_cycle) prog.after_cycle(p, c.n, static_cast<double>(t) / 1e9);
  }
  r.end_s = static_cast<double>(t) / 1e9;
  r.engagements = p.gc_limiter().engagements();
  return r;
}

}  // namespace goro::pacer::sim
