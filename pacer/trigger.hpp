#pragma once
// The trigger: the heap size at which the driver starts a collection so
// that the heap does not pass the goal.
//
// Go (mgcpacer.go) starts a *concurrent* mark at the trigger. The mutator
// keeps allocating while marking runs, so the distance from trigger to goal
// (the runway) must hold everything allocated during the mark:
//     runway = cons/mark * (1 - u) / u * expected scan work,   u = 25%,
// and mark assists slow allocating goroutines when the estimate is short.
// The trigger is then clamped to [45/64, 61/64] of the way from the live
// heap to the goal (and for big heaps may rise to goal - 4 MiB).
//
// goro's collector stops the world. What carries over and what does not:
//
//  * Carries over: the goal is the ceiling, the trigger sits below it, and
//    Go's clamps. The lower clamp (45/64, "chosen empirically" in Go) keeps a
//    misestimated runway from making collections nearly back to back; the
//    upper clamp (61/64) keeps some headroom for the check that fires late;
//    goal - 4 MiB (defaultHeapMinimum) lets big heaps use nearly all of
//    their goal. Go's max-over-5-cycles smoothing of its estimate (commit
//    b513bd80, "the best trade-off ... for a uniformly distributed jitter")
//    is reused for goro's estimate below.
//  * Does not carry over: cons/mark, the 25% background utilisation, assist
//    ratios, idle mark workers. While the world is stopped nothing allocates,
//    so the heap at the end of the mark equals the heap when the world
//    stopped: the peak heap of a cycle is the heap at the trigger plus the
//    slack between crossing the trigger and the world actually stopping.
//    goro's runway is that slack: allocation counters are flushed per thread
//    every few tens of KiB (the check fires late by up to one flush per
//    thread), other threads keep allocating until the stop signal reaches
//    them (tens of µs, reference/boehm-probe.md §6), and one large
//    allocation can jump past the trigger. The pacer measures that overshoot
//    every cycle (heap when the world stopped minus the trigger, excluding
//    any time the CPU limiter held the collection back) and keeps the
//    maximum over the last 5 cycles.
//  * Consequence: the trigger sets how *often* goro collects, not how hard
//    assists work. Because the measured runway is normally far below the
//    clamps, the trigger sits at the upper clamp: 61/64 of the way from live
//    to goal for small heaps, goal - 4 MiB for heaps with more than 80 MiB
//    between live and goal. The cycle frequency is then
//    alloc_rate / (trigger - live) and the GC CPU share is
//    pause / (pause + (trigger - live) / alloc_rate); a faster allocator does
//    *not* move the trigger (it does in Go, where the runway grows with
//    cons/mark), it only makes cycles more frequent.
//  * Rejected: triggering exactly at the goal. The flush granularity and stop
//    latency would then put every peak above the goal, and a memory-limit
//    goal is only 3% below the limit.

#include <array>
#include <cstdint>

namespace goro::pacer {

/// Go's triggerRatioDen, minTriggerRatioNum and maxTriggerRatioNum
/// (commit 973dcbb8 replaced 0.7 / 0.95 float multiplies with these).
inline constexpr uint64_t trigger_ratio_den = 64;
inline constexpr uint64_t min_trigger_ratio_num = 45;  ///< about 0.70
inline constexpr uint64_t max_trigger_ratio_num = 61;  ///< about 0.95
/// Big heaps may trigger as late as goal - this (Go's defaultHeapMinimum).
inline constexpr uint64_t big_heap_runway = uint64_t{4} << 20;

/// The clamp range of the trigger for a given live heap and goal.
struct trigger_bounds {
  uint64_t lower = 0;  ///< live + (goal - live) * 45/64
  uint64_t upper = 0;  ///< max(live + (goal - live) * 61/64, goal - 4 MiB)
};

/// Go's bounds. Requires live < goal < no_goal.
trigger_bounds bounds_for(uint64_t live, uint64_t goal) noexcept;

/// The trigger for `goal`: goal - runway, clamped to bounds_for(live, goal).
/// goal == no_goal gives no_goal (never trigger); live >= goal gives goal
/// (collect at every check: the heap cannot fit, let the limiter decide).
uint64_t compute_trigger(uint64_t live, uint64_t goal, uint64_t runway) noexcept;

/// Where a trigger sits between live and goal, 0 at live, 1 at the goal
/// (Go's test metric triggerRatio). 1 when live >= goal.
double trigger_ratio(uint64_t live, uint64_t goal, uint64_t trigger) noexcept;

/// The runway estimate: the largest overshoot past the trigger seen in the
/// last `window` cycles.
class runway_estimator {
 public:
  /// 5: Go's consMark smoothing window (b513bd80), reused for the same reason.
  static constexpr int window = 5;

  /// Records one cycle's overshoot in bytes (heap when the world stopped
  /// minus the trigger it crossed, limiter deferral excluded).
  void observe(uint64_t overshoot) noexcept;
  /// The runway to keep below the goal: the maximum recorded overshoot.
  uint64_t runway() const noexcept;

 private:
  std::array<uint64_t, window> samples_{};
  int next_ = 0;
};

/// What the heap cap keeps below the memory limit for memory other than the
/// heap growing between two checks: 1/64 of the limit, at least 1 MiB
/// (heap/pacer_policy.cpp's heap_room; a concurrent cycle aims one more
/// margin below the cap, see cap_trigger).
uint64_t heap_cap_margin(uint64_t limit) noexcept;

// A mostly-concurrent cycle (GORO_GC_MODE=concurrent) and the heap cap.
//
// The trigger above keeps the heap *estimate* (live + allocated) below the
// goal. The memory limit also caps what is *mapped* (heap/memory_limit.cpp):
// the goal sits 3% below the limit, the cap one margin (1/64) below it, so
// between the goal and the cap there are a few MiB, less the heap's mapped
// slack over the estimate (free blocks of other sizes, fragmentation). A
// stop-the-world collection stops the heap at the trigger; a concurrent
// cycle lets it grow while it marks, and memory other than the heap (the
// collector's mark stacks, the runtime's malloc) grows too. Measured
// (gcbench-limit steady-1M, 512 MiB, 258 MiB live): the first limit-driven
// cycle started with the mapped heap 3 MiB below the cap, the cap fell 4
// MiB and the heap grew 4 MiB while it marked, and it ended past the cap;
// the driver's relief and memory-returning full collections (0.4-1.3 s
// each with the world stopped, eager sweep) followed, and then every
// collection was one of them.
//
// So in the concurrent mode, with a limit, a cycle also starts early enough
// that what the limit counts at its end stays one margin below the cap,
// Go's trigger model (the runway is what the mutator allocates while the
// cycle marks) applied to the cap instead of the goal:
//     cap trigger = limit - 2 margins - non_heap - predicted growth,
// as a heap estimate, never below the live heap (then a cycle is due at
// every check and the GC CPU limiter decides, as for a goal below live).
// The growth is measured, not assumed: each cycle's growth from its
// admitting check to its end (the larger of what was allocated and of what
// the limit counts, both measured: the latter includes the mapped heap and
// the other memory), over that time, gives a rate; the prediction is the
// fastest rate of the last 5 cycles times the longest of their durations,
// each scaled to the coming cycle's expected scan (at most 8x, as the pause
// prediction). Not clamped to Go's lower bound (45/64 of the way to the
// goal): a cycle started later ends past the cap, and the full collections
// that relieve the cap cost more than an earlier cycle.

/// How far a measurement taken at one scan size may be scaled up to predict
/// a collection that scans more: the pause model (pacer.hpp, "Pause
/// prediction") and a concurrent cycle's duration (cycle_growth_estimator).
inline constexpr double max_scan_scaling = 8.0;

/// The growth of memory during concurrent cycles, and its prediction.
class cycle_growth_estimator {
 public:
  /// 5, as runway_estimator.
  static constexpr int window = 5;

  /// One cycle: `grown` bytes over `duration_ns` (from the admitting check
  /// to its end) while it marked `scanned` bytes. Ignored if duration_ns <= 0.
  void observe(uint64_t grown, int64_t duration_ns, uint64_t scanned) noexcept;
  /// The growth expected during a cycle that scans `scan` bytes; 0 before
  /// any sample.
  uint64_t predict(uint64_t scan) const noexcept;

 private:
  struct sample {
    double bytes_per_ns = 0;
    int64_t duration_ns = 0;
    uint64_t scanned = 0;
  };
  std::array<sample, window> samples_{};
  int next_ = 0;
};

/// The heap estimate at which a concurrent cycle must start so that the
/// memory the limit counts, at its end, stays at limit - 2 margins:
/// limit - 2 * heap_cap_margin(limit) - non_heap - growth, never below
/// `live`. no_goal without a limit.
uint64_t cap_trigger(int64_t memory_limit, uint64_t live, uint64_t non_heap,
                     uint64_t growth) noexcept;

}  // namespace goro::pacer
