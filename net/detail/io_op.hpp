#pragma once
// The awaiter shared by the network operations (read_some, write_some,
// accept, connect): try the system call at once, park on the poller only
// on EAGAIN (sched/detail/netpoll.hpp). No allocation and no coroutine
// frame of its own: it lives in the awaiting task's frame.

#include <coroutine>
#include <source_location>
#include <stdexcept>

#include "net/error.hpp"
#include "sched/context.hpp"
#include "sched/detail/io_cancel.hpp"
#include "sched/detail/netpoll.hpp"
#include "sched/detail/runtime_hooks.hpp"
#include "sched/detail/wait_reason.hpp"

namespace goro::net::detail {

using goro::detail::io_fail;
using goro::detail::io_waiter;
using goro::detail::poll_desc;

class io_op {
 public:
  io_op(const io_op&) = delete;
  io_op& operator=(const io_op&) = delete;

 protected:
  io_op(poll_desc* pd, int mode, bool (*attempt)(io_waiter*) noexcept,
        const goro::context* ctx) noexcept {
    w_.pd = pd;
    w_.mode = mode;
    w_.attempt = attempt;
    if (ctx) w_.ctx = goro::detail::done_case_access::state(*ctx).get();
  }
  ~io_op() {
    if (began_) {
      goro::detail::io_abandon(&w_);  // a frame destroyed while parked (shutdown)
      end();
    }
  }

  /// await_ready: true when the operation finished without waiting.
  bool start() noexcept {
    if (!w_.pd || !goro::detail::io_begin(w_.pd)) {
      w_.fail = io_fail::closed;
      return true;
    }
    began_ = true;
    if ((w_.fail = goro::detail::io_check(&w_)) != io_fail::none) return true;
    return w_.attempt(&w_);
  }

  /// await_suspend, for every network awaiter (`using io_op::await_suspend`):
  /// the default argument is the co_await's site (task dumps show the task
  /// as `[io wait, N minutes]` there).
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h,
                     std::source_location site = std::source_location::current()) {
    goro::detail::record_await_site(h, site);
    return park(h);
  }

  bool park(std::coroutine_handle<> h) {
    goro::detail::task_header* self = goro::detail::current_task();
    if (!self) throw std::logic_error("goro::net: co_await network operations inside a goro task");
    goro::detail::suspend_as(self, h, goro::detail::wait_reason::io_wait);
    if (w_.ctx && !goro::detail::io_cancel_arm(
                      &link_, const_cast<goro::detail::context_state*>(w_.ctx), &w_)) {
      w_.fail = io_fail::cancelled;
      goro::detail::resume_inline(self);
      return false;
    }
    if (goro::detail::io_park(&w_, self)) return true;
    goro::detail::resume_inline(self);  // ready meanwhile: it goes on running
    return false;
  }

  /// await_resume, first half: throws the operation's error.
  void finish(const char* op) {
    end();
    if (w_.fail != io_fail::none) {
      switch (w_.fail) {
        case io_fail::closed:
          throw_kind(op, error_kind::closed);
        case io_fail::timeout:
          throw_kind(op, error_kind::timeout);
        default:
          throw_kind(op, error_kind::cancelled, {},
                     w_.ctx && w_.ctx->err() == goro::context_error::deadline_exceeded
                         ? "context deadline exceeded"
                         : "context cancelled");
      }
    }
    if (w_.err != 0) throw_errno(op, w_.err);
  }

  io_waiter w_;

 private:
  void end() noexcept {
    if (!began_) return;
    began_ = false;
    goro::detail::io_cancel_disarm(&link_);
    goro::detail::io_end(w_.pd);
  }
  goro::detail::io_cancel_link link_;
  bool began_ = false;
};

}  // namespace goro::net::detail
