#include "pacer/trigger.hpp"

#include <algorithm>

#include "pacer/heap_goal.hpp"

namespace goro::pacer {

trigger_bounds bounds_for(uint64_t live, uint64_t goal) noexcept {
  const uint64_t span = goal - live;
  trigger_bounds b;
  b.lower = live + span / trigger_ratio_den * min_trigger_ratio_num;
  b.upper = live + span / trigger_ratio_den * max_trigger_ratio_num;
  if (goal > big_heap_runway && goal - big_heap_runway > b.upper) b.upper = goal - big_heap_runway;
  b.upper = std::max(b.upper, b.lower);
  return b;
}

uint64_t compute_trigger(uint64_t live, uint64_t goal, uint64_t runway) noexcept {
  if (goal == no_goal) return no_goal;
  if (live >= goal) return goal;
  const trigger_bounds b = bounds_for(live, goal);
  const uint64_t wanted = runway >= goal ? b.lower : goal - runway;
  return std::clamp(wanted, b.lower, b.upper);
}

double trigger_ratio(uint64_t live, uint64_t goal, uint64_t trigger) noexcept {
  if (live >= goal) return 1.0;
  const double t = trigger < live ? 0.0 : static_cast<double>(trigger - live);
  return t / static_cast<double>(goal - live);
}

void runway_estimator::observe(uint64_t overshoot) noexcept {
  samples_[static_cast<size_t>(next_)] = overshoot;
  next_ = (next_ + 1) % window;
}

uint64_t runway_estimator::runway() const noexcept {
  return *std::max_element(samples_.begin(), samples_.end());
}

}  // namespace goro::pacer
