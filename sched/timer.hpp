#pragma once
// Sleeping and timeouts: Go's time.Sleep and the timeout case of a select.
//
//   co_await goro::sleep_for(20ms);
//   co_await goro::sleep_until(deadline);          // a steady_clock time point
//   auto r = co_await goro::select(goro::on_recv(replies),
//                                  goro::on_timeout(100ms));  // case 1: timed out
//
// Times are std::chrono::steady_clock (CLOCK_MONOTONIC, the clock the
// runtime's timers use). A sleep whose deadline has passed returns at once
// without suspending (Go: time.Sleep(0) returns immediately). A sleeping
// task costs a timer slot on its P's heap and nothing else; it wakes on a
// worker once the deadline has passed: at best tens of microseconds late
// on an idle machine, later when every worker is busy with tasks that do
// not yield (goro does not preempt).
//
// A sleep awaited inside a task that is destroyed while asleep (runtime
// shutdown) leaves no timer behind.

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <ratio>
#include <source_location>
#include <stdexcept>
#include <type_traits>
#include <variant>

#include "core/clock.hpp"
#include "sched/detail/runtime_hooks.hpp"
#include "sched/detail/select_core.hpp"
#include "sched/detail/short_lock.hpp"
#include "sched/detail/timer.hpp"
#include "sched/detail/wait_reason.hpp"

namespace goro {

/// The clock of every goro deadline.
using clock = std::chrono::steady_clock;

namespace detail {

inline int64_t to_nanotime(clock::time_point t) noexcept {
  // steady_clock is CLOCK_MONOTONIC on Linux, as nanotime(); clamp far
  // futures (time_point::max()) instead of overflowing.
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch());
  return ns.count() <= 0 ? 1 : ns.count();
}

/// `d` in nanoseconds, saturated: a duration past what int64 nanoseconds
/// can hold (hours::max(), a thousand years, a huge double) becomes
/// nanoseconds::max() (or min() below), never a wrapped value; NaN is 0.
/// duration_cast alone overflows, and a wrapped negative deadline fired at
/// once.
template <class Rep, class Period>
constexpr std::chrono::nanoseconds saturating_ns(std::chrono::duration<Rep, Period> d) noexcept {
  using wide = std::chrono::duration<long double, std::nano>;
  const long double v = std::chrono::duration_cast<wide>(d).count();
  if (v != v) return std::chrono::nanoseconds::zero();
  // 2^63 - 2^53: safely below INT64_MAX after rounding to long double and
  // back; anything above it is ~292 years, i.e. never.
  constexpr long double kLimit = 9.223372036854775808e18L - 9007199254740992.0L;
  if (v >= kLimit) return std::chrono::nanoseconds::max();
  if (v <= -kLimit) return std::chrono::nanoseconds::min();
  if constexpr (std::is_floating_point_v<Rep>) {
    return std::chrono::nanoseconds(static_cast<int64_t>(v));
  } else {
    // In range, but duration_cast's intermediate (count * num) may still
    // overflow for odd periods: go through long double when it could.
    using factor = std::ratio_divide<Period, std::nano>;
    constexpr bool exact = factor::num == 1 || factor::den == 1;
    if constexpr (!exact) return std::chrono::nanoseconds(static_cast<int64_t>(v));
    return std::chrono::duration_cast<std::chrono::nanoseconds>(d);
  }
}

inline int64_t deadline_after(std::chrono::nanoseconds d) noexcept {
  const int64_t now = nanotime();
  if (d.count() <= 0) return now;
  return d.count() > INT64_MAX - now ? INT64_MAX : now + d.count();
}

class [[nodiscard]] sleep_awaiter {
 public:
  /// `pending`: the caller knows the deadline is still ahead (sleep_for
  /// with a positive duration just computed it), so await_ready need not
  /// read the clock again.
  sleep_awaiter(int64_t when, bool pending) noexcept : pending_(pending) { node_.when = when; }
  sleep_awaiter(const sleep_awaiter&) = delete;
  sleep_awaiter& operator=(const sleep_awaiter&) = delete;
  ~sleep_awaiter() {
    // Only when the frame is destroyed mid-sleep (runtime shutdown).
    if (task_) timer_del(&node_);
  }

  bool await_ready() const noexcept { return !pending_ && node_.when <= nanotime(); }
  template <class P>
  void await_suspend(std::coroutine_handle<P> h,
                     std::source_location site = std::source_location::current()) {
    record_await_site(h, site);
    task_ = current_task();
    if (!task_) throw std::logic_error("goro::sleep_for/sleep_until: call from inside a goro task");
    suspend_as(task_, h, wait_reason::sleep);
    node_.arg = this;
    node_.fire = [](timer_node* n) noexcept -> task_header* {
      return static_cast<sleep_awaiter*>(n->arg)->task_;
    };
    timer_add(&node_);  // may resume us on another worker before it returns
  }
  void await_resume() noexcept { task_ = nullptr; }

 private:
  timer_node node_;
  task_header* task_ = nullptr;
  bool pending_;
};

/// The timeout case of a select (on_timeout / on_deadline). Its lock sorts
/// with the channel locks; the timer's fire takes it, claims the select and
/// hands back the task (the waking protocol of select_core.hpp).
class timeout_case final : public select_case {
 public:
  using result_type = std::monostate;
  explicit timeout_case(int64_t when) noexcept { node_.when = when; }
  timeout_case(timeout_case&& o) noexcept { node_.when = o.node_.when; }
  ~timeout_case() = default;

  short_lock* case_lock() const noexcept override { return &lock_; }
  bool poll(task_header*&) override { return node_.when <= nanotime(); }
  void arm(select_state& st, uint32_t index, task_header* self) noexcept override {
    sel_ = &st;
    index_ = index;
    task_ = self;
    node_.arg = this;
    node_.fire = [](timer_node* n) noexcept -> task_header* {
      auto* c = static_cast<timeout_case*>(n->arg);
      short_lock_guard lk(c->lock_);
      return c->sel_->try_claim(c->index_) ? c->task_ : nullptr;
    };
    timer_add(&node_);
  }
  // With every select lock held: a fire that already popped the timer may
  // be waiting for lock_, so only remove here ...
  void disarm() noexcept override { pending_ = !timer_remove(&node_); }
  // ... and, with the locks released, wait for that fire to finish with
  // this case before the frame moves on.
  void settle() noexcept override {
    if (pending_) timer_del(&node_);
    pending_ = false;
  }
  void abandon() noexcept override { timer_del(&node_); }
  result_type take_result() const noexcept { return {}; }

 private:
  mutable short_lock lock_;
  timer_node node_;
  select_state* sel_ = nullptr;
  task_header* task_ = nullptr;
  uint32_t index_ = 0;
  bool pending_ = false;
};

}  // namespace detail

/// Suspends the calling task for at least `d` (Go: time.Sleep).
template <class Rep, class Period>
detail::sleep_awaiter sleep_for(std::chrono::duration<Rep, Period> d) noexcept {
  const auto ns = detail::saturating_ns(d);
  if (ns.count() <= 0) return detail::sleep_awaiter(0, false);  // Go: returns at once
  return detail::sleep_awaiter(detail::deadline_after(ns), true);
}

/// Suspends the calling task until `t` has passed.
inline detail::sleep_awaiter sleep_until(clock::time_point t) noexcept {
  return detail::sleep_awaiter(detail::to_nanotime(t), false);
}

/// A select case that fires once `d` has passed since the select began to
/// wait (Go: case <-time.After(d)).
template <class Rep, class Period>
detail::timeout_case on_timeout(std::chrono::duration<Rep, Period> d) noexcept {
  return detail::timeout_case(detail::deadline_after(detail::saturating_ns(d)));
}

/// A select case that fires once `t` has passed.
inline detail::timeout_case on_deadline(clock::time_point t) noexcept {
  return detail::timeout_case(detail::to_nanotime(t));
}

}  // namespace goro
