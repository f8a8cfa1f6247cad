#include "pacer/pressure.hpp"

namespace goro::pacer {

const char* to_string(pressure_state s) noexcept {
  switch (s) {
    case pressure_state::normal:
      return "normal";
    case pressure_state::pressure:
      return "pressure";
    case pressure_state::spiral:
      return "spiral";
  }
  return "?";
}

bool pressure_classifier::spiral_like(const cycle_facts& f) const noexcept {
  return f.limit_bound && f.fill >= tuning_.spiral_enter_fill &&
         (f.limited || f.gc_share >= tuning_.spiral_enter_gc_share);
}

bool pressure_classifier::spiral_holding(const cycle_facts& f) const noexcept {
  return f.limit_bound && f.fill >= tuning_.spiral_hold_fill &&
         (f.limited || f.gc_share >= tuning_.spiral_hold_gc_share);
}

pressure_change pressure_classifier::observe(const cycle_facts& f) noexcept {
  ++cycles_;
  spiral_streak_ = spiral_like(f) ? spiral_streak_ + 1 : 0;
  certain_streak_ =
      f.limit_bound && f.limited && f.fill >= tuning_.spiral_certain_fill ? certain_streak_ + 1 : 0;
  calm_streak_ = spiral_holding(f) ? 0 : calm_streak_ + 1;
  limit_streak_ = f.limit_bound ? limit_streak_ + 1 : 0;
  gc_streak_ = f.gc_bound && !f.limit_bound ? gc_streak_ + 1 : 0;

  pressure_change c{state_, state_};
  switch (state_) {
    case pressure_state::normal:
    case pressure_state::pressure:
      if (spiral_streak_ >= tuning_.spiral_enter_cycles ||
          certain_streak_ >= tuning_.spiral_certain_cycles) {
        c.to = pressure_state::spiral;
      } else if (state_ == pressure_state::normal &&
                 limit_streak_ >= tuning_.pressure_enter_cycles) {
        c.to = pressure_state::pressure;
      } else if (state_ == pressure_state::pressure && gc_streak_ >= tuning_.pressure_exit_cycles) {
        c.to = pressure_state::normal;
      }
      break;
    case pressure_state::spiral:
      if (calm_streak_ >= tuning_.spiral_exit_cycles) {
        c.to = f.limit_bound ? pressure_state::pressure : pressure_state::normal;
      }
      break;
  }
  if (c.changed()) {
    state_ = c.to;
    ++transitions_;
    last_transition_cycle_ = cycles_;
    // The streak that leads out of the new state starts from zero; the
    // others keep counting (normal -> pressure must not delay a spiral).
    if (c.to == pressure_state::spiral) calm_streak_ = 0;
    if (c.from == pressure_state::spiral) spiral_streak_ = certain_streak_ = 0;
    if (c.to == pressure_state::pressure) gc_streak_ = 0;
    if (c.to == pressure_state::normal) limit_streak_ = 0;
  }
  return c;
}

}  // namespace goro::pacer
