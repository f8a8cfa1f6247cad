#include "pacer/heap_goal.hpp"

#include <algorithm>

namespace goro::pacer {

namespace {

uint64_t sat_add(uint64_t a, uint64_t b) noexcept {
  return a > no_goal - b ? no_goal : a + b;
}

// a * p / 100 without overflow for any a and p >= 0, saturating at no_goal.
// Split a = 100q + r so that a * p / 100 = q * p + r * p / 100 exactly.
uint64_t percent_of(uint64_t a, int p) noexcept {
  if (p <= 0) return 0;
  const uint64_t up = static_cast<uint64_t>(p);
  const uint64_t q = a / 100, r = a % 100;
  if (q > no_goal / up) return no_goal;
  return sat_add(q * up, r * up / 100);
}

}  // namespace

const char* to_string(goal_source s) noexcept {
  switch (s) {
    case goal_source::none:
      return "none";
    case goal_source::gc_percent:
      return "gc_percent";
    case goal_source::limit:
      return "limit";
  }
  return "?";
}

uint64_t memory_sample::total() const noexcept {
  return sat_add(sat_add(heap_alloc, heap_free), non_heap);
}

uint64_t gc_percent_goal(int gc_percent, uint64_t live, uint64_t roots) noexcept {
  if (gc_percent < 0) return no_goal;
  const uint64_t goal = sat_add(live, percent_of(sat_add(live, roots), gc_percent));
  return std::max(goal, percent_of(heap_minimum, gc_percent));
}

uint64_t apply_limit_headroom(uint64_t goal) noexcept {
  // Go divides first (goal/100*3): the same rounding keeps goro's numbers
  // identical to Go's test expectations.
  const uint64_t headroom = std::max(goal / 100 * limit_headroom_percent, limit_min_headroom);
  if (goal < headroom || goal - headroom < headroom) return headroom;
  return goal - headroom;
}

uint64_t limit_goal_unfloored(int64_t memory_limit, const memory_sample& m) noexcept {
  if (memory_limit == no_limit) return no_goal;
  const uint64_t limit = memory_limit < 0 ? 0 : static_cast<uint64_t>(memory_limit);
  const uint64_t total = m.total();
  const uint64_t overage = total > limit ? total - limit : 0;
  const uint64_t taken = sat_add(m.non_heap, overage);
  // Go: "There's honestly not much we can do here but just trigger GCs
  // continuously and let the CPU limiter reign that in."
  if (taken >= limit) return 0;
  return apply_limit_headroom(limit - taken);
}

heap_goal compute_goal(int gc_percent, int64_t memory_limit, const goal_inputs& in) noexcept {
  heap_goal g;
  g.gc_percent_goal = gc_percent_goal(gc_percent, in.live, in.roots);
  g.limit_goal_unfloored = limit_goal_unfloored(memory_limit, in.memory);
  if (memory_limit != no_limit) {
    // The same with nothing mapped beyond heap objects and non-heap memory:
    // no overage from free heap pages still mapped.
    memory_sample settled = in.memory;
    settled.heap_free = 0;
    settled.heap_alloc = 0;
    g.limit_goal_settled = limit_goal_unfloored(memory_limit, settled);
  }
  g.limit_goal =
      g.limit_goal_unfloored == no_goal ? no_goal : std::max(g.limit_goal_unfloored, in.live);
  if (g.gc_percent_goal == no_goal && g.limit_goal == no_goal) {
    g.source = goal_source::none;
    g.bytes = no_goal;
  } else if (g.limit_goal <= g.gc_percent_goal) {
    // Ties go to the limit, as in Go (memoryLimitHeapGoal < goal is checked
    // the other way round, but a tie means the limit is binding either way).
    g.source = goal_source::limit;
    g.bytes = g.limit_goal;
  } else {
    g.source = goal_source::gc_percent;
    g.bytes = g.gc_percent_goal;
  }
  return g;
}

}  // namespace goro::pacer
