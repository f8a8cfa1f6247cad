#pragma once
// The heap goal: how big the heap may grow before the next collection must
// have finished. Two independent rules each propose a goal and the smaller
// one wins, exactly as in Go (reference/go-pacer.md §1.2–1.4):
//
//  * gc_percent (GOGC): the heap may grow by gc_percent% of what the last
//    collection had to scan, live heap plus roots:
//        goal = live + (live + roots) * gc_percent / 100
//    with a floor of 4 MiB * gc_percent / 100 so tiny heaps do not collect
//    continuously. gc_percent < 0 switches this rule off (goal = no_goal).
//    Roots are everything the collector scans that is not heap objects:
//    for goro that is coroutine frames, thread stacks and registered roots
//    (Go counts stacks and globals the same way since its 1.18 redesign).
//
//  * memory limit (GOMEMLIMIT): everything goro has mapped must stay under
//    the limit, so the heap gets what the limit leaves after non-heap memory:
//        goal = limit - non_heap - overage,   then less headroom,
//        headroom = max(goal * 3 / 100, 1 MiB),   never below live.
//    non_heap is mapped memory that is neither heap objects nor free heap
//    pages still mapped (frames, mimalloc, stacks, metadata): Go excludes
//    free-but-mapped heap memory because reusing it does not raise the total.
//    overage is how far the total is *already* over the limit; subtracting it
//    pushes the goal (and so the trigger) down so the process recovers.
//    The headroom absorbs pacing error and keeps a little free memory so the
//    allocator is not constantly returning and re-faulting pages (Go 1.21,
//    #57069). Go takes 3% of the goal after the non-heap subtraction, not of
//    the raw limit as DESIGN.md paraphrases it; goro follows Go's code so the
//    numbers match Go's tests (512 MiB -> 520,764,785 bytes).
//
// Everything here is a pure function of its arguments: the pacer recomputes
// the goal at every allocation check, because non-heap overhead and the
// settings change between collections (soft-memory-limit design, 48409).
//
// What is NOT carried over from Go: the sweep distance and 64 KiB minimum
// runway pushes of heapGoalInternal (goro has no concurrent sweeper that the
// pacer tracks; Boehm sweeps lazily during allocation), and the "hard goal"
// extrapolation of revise() (a stop-the-world mark cannot be overtaken by
// allocation, so there is nothing to extrapolate).

#include <cstdint>

namespace goro::pacer {

/// "No goal": the heap may grow without bound (gc_percent off, no limit).
inline constexpr uint64_t no_goal = UINT64_MAX;
/// "No memory limit", as Go's math.MaxInt64 default for GOMEMLIMIT.
inline constexpr int64_t no_limit = INT64_MAX;

/// Go's defaultHeapMinimum (mgcpacer.go): the smallest gc_percent goal at
/// gc_percent = 100, scaled linearly with gc_percent.
inline constexpr uint64_t heap_minimum = uint64_t{4} << 20;
/// Go's memoryLimitHeapGoalHeadroomPercent (Go 1.21, commit e97bd776).
inline constexpr uint64_t limit_headroom_percent = 3;
/// Go's memoryLimitMinHeapGoalHeadroom: 1 MiB at least, because pacing
/// error hurts small heaps most.
inline constexpr uint64_t limit_min_headroom = uint64_t{1} << 20;

/// Which rule set the goal.
enum class goal_source : uint8_t {
  none,        ///< neither rule is active: no goal at all
  gc_percent,  ///< the gc_percent rule gave the smaller goal
  limit,       ///< the memory limit gave the smaller (or equal) goal
};

/// Human-readable name ("none", "gc_percent", "limit") for traces and tests.
const char* to_string(goal_source s) noexcept;

/// Memory as the driver sees it at one check. All bytes.
struct memory_sample {
  uint64_t heap_alloc = 0;  ///< bytes in heap objects now (live + garbage not yet collected)
  uint64_t heap_free = 0;   ///< free heap bytes still mapped (not released to the OS)
  uint64_t non_heap = 0;    ///< mapped runtime memory outside the heap: frames, mimalloc, stacks
  /// What the memory limit counts: runtime-managed memory minus released.
  uint64_t total() const noexcept;
};

/// Inputs of the goal computation.
struct goal_inputs {
  uint64_t live = 0;   ///< bytes marked live by the last collection
  uint64_t roots = 0;  ///< bytes of roots the last collection scanned (frames, stacks, roots)
  memory_sample memory;
};

/// Both proposals and the winner.
struct heap_goal {
  uint64_t bytes = no_goal;            ///< the goal: min(gc_percent_goal, limit_goal)
  uint64_t gc_percent_goal = no_goal;  ///< the gc_percent rule's goal, no_goal when off
  uint64_t limit_goal = no_goal;       ///< the memory-limit rule's goal, no_goal without a limit
  /// The memory-limit goal before it is raised to the live heap; may be below
  /// live (then the heap cannot fit under the limit at all). no_goal without a
  /// limit; 0 when overheads alone exceed the limit.
  uint64_t limit_goal_unfloored = no_goal;
  goal_source source = goal_source::none;  ///< which rule won
  /// The memory-limit goal without the overage term (what the limit leaves
  /// the heap once free-but-mapped memory is given back); no_goal without a
  /// limit. The classifier measures fill against this: see pressure.hpp.
  uint64_t limit_goal_settled = no_goal;
};

/// The gc_percent goal: max(live + (live + roots) * p / 100, 4 MiB * p / 100),
/// saturating at no_goal; no_goal when gc_percent < 0.
uint64_t gc_percent_goal(int gc_percent, uint64_t live, uint64_t roots) noexcept;

/// Go's applyMemoryLimitHeapGoalHeadroom: goal less max(3%, 1 MiB), but never
/// below the headroom itself.
uint64_t apply_limit_headroom(uint64_t goal) noexcept;

/// The memory-limit goal before the live floor (see heap_goal's field);
/// no_goal when limit == no_limit. A negative limit counts as 0.
uint64_t limit_goal_unfloored(int64_t memory_limit, const memory_sample& m) noexcept;

/// Both goals and the winner, with the limit goal never below live.
heap_goal compute_goal(int gc_percent, int64_t memory_limit, const goal_inputs& in) noexcept;

}  // namespace goro::pacer
