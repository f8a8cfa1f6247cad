#pragma once
// The pressure classifier: is the program fine, under steady memory
// pressure, or in a death spiral? Go has no such signal (its operators infer
// it from /gc/limiter/last-enabled and the heap goal, #58106); this is
// goro's own, after HotSpot's GC-overhead limit (high GC time *and* little
// reclaimed, debounced over 5 collections, reference/go-pacer.md §7.1).
//
// States:
//   normal    the gc_percent rule sets the heap goal (or there is no goal).
//   pressure  the memory limit sets the goal and collections keep up: GC
//             runs more often than gc_percent alone would ask, within budget.
//   spiral    the limit sets the goal, the CPU limiter is holding collections
//             back, and collections reclaim little: the live heap fills the
//             goal, so the program can only keep going by overshooting the
//             limit. This is the state in which a service should shed load.
//
// Evidence, computed once per finished collection (cycle_facts):
//   limit_bound   the limit goal was <= the gc_percent goal when the
//                 collection was decided (goal_source::limit).
//   gc_bound      the gc_percent goal was below 90% of the limit goal, or
//                 there is no limit: clearly not limit-bound. Between the two
//                 neither fact holds (a 10% band against flapping where the
//                 two goals cross).
//   fill          live after the collection / the goal it collected for;
//                 when limit_bound, the limit goal without its overage term
//                 (heap_goal::limit_goal_settled: what the limit leaves the
//                 heap once free pages are released), so a goal squeezed by
//                 transient overage does not read as a full heap.
//   limited       the limiter refused this collection at least once before
//                 admitting it (GC CPU was at the cap over the last second).
//   gc_share      this cycle's GC CPU / (GC + mutator CPU since the previous
//                 collection): the cycle's GC cost.
// A cycle is
//   spiral-like when limit_bound && fill >= 0.90 && (limited || gc_share >= 0.50);
//   spiral-holding when limit_bound && fill >= 0.80 && (limited || gc_share >= 0.40).
//
// A cycle is spiral-certain when limit_bound && fill >= 1.0 && limited: the
// live heap alone fills what the limit leaves and the limiter is holding
// collections back.
//
// Transitions (each streak counts consecutive cycles; any other cycle resets it):
//   normal|pressure -> spiral    after 3 spiral-like cycles in a row, or 2
//                                spiral-certain ones (a starved machine
//                                stretched pauses to 1.2 s in the gc-spiral
//                                benchmark: 5 collections in 9 s, so 3 cycles
//                                of evidence arrived after the run ended)
//   spiral -> pressure|normal    after 3 cycles in a row that are not
//                                spiral-holding; to pressure if the last was
//                                limit_bound, else normal
//   normal -> pressure           after 2 limit_bound cycles in a row
//   pressure -> normal           after 3 gc_bound cycles in a row
// "The limiter engaged" is read as "GC CPU at the cap": either the limiter
// refused, or the cycle by itself spent at least the cap (50%) on GC. The
// second form matters for small heaps: their pauses are short, cycles come
// back to back, and the windowed limiter first spends the credit of the
// previous second (up to a second of mutator time) before it refuses; by
// then a 36 ms-pause program has run 20 cycles at 95% GC.
// Entering and leaving spiral use different thresholds (0.90 vs 0.80 fill,
// refusal vs refusal-or-40%-GC-CPU): value hysteresis against jitter around
// one threshold; the streaks are count hysteresis. Every state therefore
// lasts at least 2 cycles once entered (3 for spiral and for a pressure
// episode that reaches normal). Where the numbers come from: 3 and 0.90 are
// the smallest that kept the jitter scenarios in tests/pacer_pressure_test.cpp
// free of flapping while still reaching spiral within 5 cycles of live >= 95%
// of the limit (HotSpot waits 5 collections; goro must warn before the
// damage, so fewer); 0.80 / 0.40 / 2 are "clearly below" the entry values.
//
// Not a criterion: the absolute GC CPU share. A program at 45% GC CPU with a
// live heap far below its limit is expensive but not spiralling; one whose
// live heap is 99% of the goal with a slow allocator is in steady pressure.

#include <cstdint>

namespace goro::pacer {

/// The classifier's verdict.
enum class pressure_state : uint8_t {
  normal,    ///< gc_percent sets the goal
  pressure,  ///< the limit sets the goal; collections keep up
  spiral,    ///< the limit sets the goal, the limiter is engaged, little is reclaimed
};

/// "normal", "pressure" or "spiral" (gctrace's state=, metrics).
const char* to_string(pressure_state s) noexcept;

/// Thresholds. The defaults are the documented criteria above.
struct pressure_tuning {
  double spiral_enter_fill = 0.90;      ///< fill for a spiral-like cycle
  double spiral_hold_fill = 0.80;       ///< fill for a spiral-holding cycle
  double spiral_enter_gc_share = 0.50;  ///< gc_share that counts as "at the cap" (the 50% cap)
  double spiral_hold_gc_share = 0.40;   ///< gc_share that holds spiral without a refusal
  double gc_bound_ratio = 0.90;         ///< gc_percent goal < this × limit goal: gc_bound
  int spiral_enter_cycles = 3;          ///< spiral-like streak to enter spiral
  double spiral_certain_fill = 1.0;     ///< fill for a spiral-certain cycle (with a refusal)
  int spiral_certain_cycles = 2;        ///< spiral-certain streak to enter spiral
  int spiral_exit_cycles = 3;           ///< non-holding streak to leave spiral
  int pressure_enter_cycles = 2;        ///< limit_bound streak to enter pressure
  int pressure_exit_cycles = 3;         ///< gc_bound streak to return to normal
};

/// One finished collection, as the classifier sees it.
struct cycle_facts {
  bool limit_bound = false;  ///< the limit set the goal this collection aimed at
  bool gc_bound = true;      ///< clearly the gc_percent rule (see above)
  bool limited = false;      ///< the limiter refused this collection at least once
  double fill = 0;           ///< live after / goal
  double gc_share = 0;       ///< this cycle's GC CPU share of non-idle CPU
};

/// The result of one classification.
struct pressure_change {
  pressure_state from = pressure_state::normal;  ///< state before this cycle
  pressure_state to = pressure_state::normal;    ///< state after it
  bool changed() const noexcept { return from != to; }
};

class pressure_classifier {
 public:
  explicit pressure_classifier(pressure_tuning tuning = {}) : tuning_(tuning) {}

  /// Feeds one finished collection; returns the transition (if any).
  pressure_change observe(const cycle_facts& facts) noexcept;

  /// The current state.
  pressure_state state() const noexcept { return state_; }
  /// State changes so far (every transition, in any direction).
  uint64_t transitions() const noexcept { return transitions_; }
  /// Cycles observed so far.
  uint64_t cycles() const noexcept { return cycles_; }
  /// The cycle number (1-based count of observe calls) of the last change; 0 if none.
  uint64_t last_transition_cycle() const noexcept { return last_transition_cycle_; }
  /// The thresholds in use.
  const pressure_tuning& tuning() const noexcept { return tuning_; }

  /// Whether `f` is a spiral-like cycle.
  bool spiral_like(const cycle_facts& f) const noexcept;
  /// Whether `f` is a spiral-holding cycle.
  bool spiral_holding(const cycle_facts& f) const noexcept;

 private:
  pressure_tuning tuning_;
  pressure_state state_ = pressure_state::normal;
  int spiral_streak_ = 0;   // consecutive spiral-like cycles
  int certain_streak_ = 0;  // consecutive spiral-certain cycles
  int calm_streak_ = 0;     // consecutive non-holding cycles (in spiral)
  int limit_streak_ = 0;    // consecutive limit_bound cycles
  int gc_streak_ = 0;       // consecutive gc_bound cycles
  uint64_t transitions_ = 0;
  uint64_t cycles_ = 0;
  uint64_t last_transition_cycle_ = 0;
};

}  // namespace goro::pacer
