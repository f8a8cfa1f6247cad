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

uint64_t heap_cap_margin(uint64_t limit) noexcept {
  return std::max<uint64_t>(limit / 64, uint64_t{1} << 20);
}

void cycle_growth_estimator::observe(uint64_t grown, int64_t duration_ns,
                                     uint64_t scanned) noexcept {
  if (duration_ns <= 0) return;
  samples_[static_cast<size_t>(next_)] = {
      static_cast<double>(grown) / static_cast<double>(duration_ns), duration_ns,
      std::max<uint64_t>(scanned, 1)};
  next_ = (next_ + 1) % window;
}

uint64_t cycle_growth_estimator::predict(uint64_t scan) const noexcept {
  double rate = 0, duration = 0;
  for (const sample& s : samples_) {
    if (s.duration_ns <= 0) continue;
    rate = std::max(rate, s.bytes_per_ns);
    const double scale =
        std::min(static_cast<double>(scan) / static_cast<double>(s.scanned), max_scan_scaling);
    duration = std::max(duration, static_cast<double>(s.duration_ns) * scale);
  }
  const double growth = rate * duration;
  return growth >= 1.8e19 ? UINT64_MAX : static_cast<uint64_t>(growth);
}

uint64_t cap_trigger(int64_t memory_limit, uint64_t live, uint64_t non_heap,
                     uint64_t growth) noexcept {
  if (memory_limit == no_limit) return no_goal;
  const uint64_t limit = memory_limit > 0 ? static_cast<uint64_t>(memory_limit) : 0;
  const uint64_t margins = 2 * heap_cap_margin(limit);
  uint64_t t = limit;
  for (const uint64_t less : {margins, non_heap, growth}) t = t > less ? t - less : 0;
  return std::max(t, live);
}

}  // namespace goro::pacer
