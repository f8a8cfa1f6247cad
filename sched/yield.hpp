#pragma once
// co_await goro::yield(): let other tasks run (Go's runtime.Gosched).
// The task goes to the back of its worker's run queue, not to runnext, so
// every task queued before it runs first.

#include <coroutine>
#include <source_location>
#include <stdexcept>

#include "sched/detail/runtime_hooks.hpp"
#include "sched/detail/wait_reason.hpp"

namespace goro {

struct [[nodiscard]] yield_awaiter {
  bool await_ready() const noexcept { return false; }
  template <class P>
  void await_suspend(std::coroutine_handle<P> h,
                     std::source_location site = std::source_location::current()) const {
    detail::record_await_site(h, site);
    detail::task_header* t = detail::current_task();
    if (t == nullptr) throw std::logic_error("goro::yield: not inside a goro task");
    detail::suspend_as(t, h, detail::wait_reason::runnable);
    detail::yield_current(t);
  }
  void await_resume() const noexcept {}
};

inline yield_awaiter yield() noexcept {
  return {};
}

}  // namespace goro
