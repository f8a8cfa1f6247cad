#pragma once
// goro::context: deadlines and cancellation that flow from a request to
// everything it started (Go's context.Context, without the values).
//
//   goro::context ctx = goro::context::background().with_timeout(100ms);
//   auto r = co_await goro::select(goro::on_recv(replies), goro::on_done(ctx));
//   if (r.index() == 1) return ctx.err();  // context_error::deadline_exceeded
//
// - A context is a cheap handle (shared ownership) to one node of a tree.
//   with_cancel(), with_timeout(d) and with_deadline(t) make a child; a
//   child's deadline is the earlier of its own and its parent's.
// - cancel() cancels the context and all its descendants, once: later
//   calls do nothing. A deadline passing cancels with deadline_exceeded.
//   Cancelling a parent wakes every task waiting on the parent or any
//   descendant (co_await ctx.done(), or an on_done(ctx) case in a select).
// - A child made from an already cancelled parent starts cancelled, with
//   the parent's error.
// - background() is never cancelled and has no deadline; cancel() on it is
//   a std::logic_error (Go: it has no CancelFunc).
// - Timers: with_timeout/with_deadline need a running runtime (the timer
//   lives on a P's heap); a deadline already passed cancels at once without
//   one. The timer is removed when the context is cancelled or its last
//   handle goes away; a cancelled child is unlinked from its parent, so a
//   long-lived parent does not accumulate finished children (Go does the
//   same in cancelCtx.cancel).
// Context state is runtime metadata (no user values): ordinary heap memory,
// not the collected heap.

#include <chrono>
#include <coroutine>
#include <memory>
#include <optional>
#include <source_location>
#include <stdexcept>
#include <variant>

#include "sched/detail/runtime_hooks.hpp"
#include "sched/detail/select_core.hpp"
#include "sched/detail/short_lock.hpp"
#include "sched/detail/wait_queue.hpp"
#include "sched/detail/wait_reason.hpp"
#include "sched/timer.hpp"

namespace goro {

/// Why a context is done (Go: context.Canceled, context.DeadlineExceeded).
enum class context_error { none, cancelled, deadline_exceeded };

/// "cancelled", "deadline exceeded" or "none".
const char* to_string(context_error e) noexcept;

namespace detail {

/// A task waiting for a context to be done: plain (sel == nullptr) or as a
/// select case (claimed with sel->try_claim(index) before it is woken).
struct ctx_waiter : wait_node {
  task_header* task = nullptr;
  select_state* sel = nullptr;
  uint32_t index = 0;
  /// Instead of readying `task`: called by cancel() after it unlocked (an
  /// I/O operation's cancellation, sched/detail/io_cancel.hpp). The waiter
  /// must stay alive until notify has returned.
  void (*notify)(ctx_waiter*) noexcept = nullptr;
};

class context_state;
class done_awaiter;
class done_case_access;

}  // namespace detail

class context {
 public:
  /// The background context.
  context() noexcept = default;
  static context background() noexcept { return context(); }

  /// A child that can be cancelled with cancel().
  context with_cancel() const;
  /// A child cancelled with deadline_exceeded once `d` has passed.
  template <class Rep, class Period>
  context with_timeout(std::chrono::duration<Rep, Period> d) const {
    return with_deadline_ns(detail::deadline_after(detail::saturating_ns(d)));
  }
  /// A child cancelled with deadline_exceeded once `t` has passed.
  context with_deadline(clock::time_point t) const {
    return with_deadline_ns(detail::to_nanotime(t));
  }

  /// Cancels this context and its descendants (error: cancelled).
  void cancel() const;

  /// Whether it is done (cancelled or past its deadline); never blocks.
  bool is_done() const noexcept { return err() != context_error::none; }
  /// none while not done; then why.
  context_error err() const noexcept;
  /// The deadline, if this context or an ancestor has one.
  std::optional<clock::time_point> deadline() const noexcept;

  /// co_await ctx.done(): suspends until the context is done.
  detail::done_awaiter done() const noexcept;

 private:
  friend class detail::context_state;
  friend class detail::done_case_access;
  friend class detail::done_awaiter;
  explicit context(std::shared_ptr<detail::context_state> s) noexcept : s_(std::move(s)) {}
  context with_deadline_ns(int64_t when) const;
  std::shared_ptr<detail::context_state> s_;  // null: background
};

namespace detail {

class context_state {
 public:
  context_state(std::shared_ptr<context_state> parent, int64_t deadline, bool own_timer) noexcept;
  ~context_state();
  context_state(const context_state&) = delete;
  context_state& operator=(const context_state&) = delete;

  /// Links a new child under its parent (or cancels it at once when the
  /// parent is done) and starts its timer. Called once, after construction.
  static void attach(const std::shared_ptr<context_state>& child);

  void cancel(context_error why) noexcept;
  context_error err() const noexcept { return err_.load(std::memory_order_acquire); }
  int64_t deadline() const noexcept { return deadline_; }

  // The waiting side (done() and on_done): all under lock().
  short_lock& lock() noexcept { return lock_; }
  bool done_locked() const noexcept {
    return err_.load(std::memory_order_relaxed) != context_error::none;
  }
  void add_waiter_locked(ctx_waiter* w) noexcept { waiters_.push_back(w); }
  void remove_waiter_locked(ctx_waiter* w) noexcept { waiters_.remove(w); }
  wait_queue<ctx_waiter>& waiters_locked() noexcept { return waiters_; }
  /// Takes lock() itself: a frame destroyed while waiting (shutdown).
  void remove_waiter(ctx_waiter* w) noexcept {
    short_lock_guard lk(lock_);
    waiters_.remove(w);
  }

 private:
  struct child_link : wait_node {
    std::weak_ptr<context_state> child;
  };
  void unlink_child(child_link* c) noexcept;

  short_lock lock_;
  std::atomic<context_error> err_{context_error::none};
  const std::shared_ptr<context_state> parent_;
  const int64_t deadline_;           // nanotime, 0 = none
  wait_queue<ctx_waiter> waiters_;   // under lock_
  wait_queue<child_link> children_;  // under lock_
  child_link in_parent_;             // our link on parent_->children_ (its lock)
  const bool own_timer_;             // deadline_ is ours, not inherited: start a timer
  timer_node timer_;
  bool timer_started_ = false;  // written once in attach, before sharing
};

class [[nodiscard]] done_awaiter {
 public:
  explicit done_awaiter(std::shared_ptr<context_state> s) noexcept : s_(std::move(s)) {}
  done_awaiter(const done_awaiter&) = delete;
  done_awaiter& operator=(const done_awaiter&) = delete;
  ~done_awaiter() {
    // Only when the frame is destroyed while waiting (runtime shutdown).
    if (s_ && w_.linked) s_->remove_waiter(&w_);
  }
  bool await_ready() const noexcept { return s_ && s_->err() != context_error::none; }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h,
                     std::source_location site = std::source_location::current()) {
    record_await_site(h, site);
    task_header* self = current_task();
    if (!self) throw std::logic_error("goro::context::done: co_await it inside a goro task");
    // The background context is never done: the task parks until the
    // runtime shuts down (Go: receiving from a nil Done channel).
    if (!s_) return true;
    suspend_as(self, h, wait_reason::context_done);
    w_.task = self;
    short_lock_guard lk(s_->lock());
    if (s_->done_locked()) return false;
    s_->add_waiter_locked(&w_);
    return true;
  }
  void await_resume() const noexcept {}

 private:
  std::shared_ptr<context_state> s_;  // null: background
  ctx_waiter w_;
};

/// The on_done case of a select: ready once the context is done.
class done_case final : public queue_case<done_case, ctx_waiter> {
 public:
  using result_type = std::monostate;
  explicit done_case(std::shared_ptr<context_state> s) noexcept : s_(std::move(s)) {}
  done_case(done_case&& o) noexcept : s_(std::move(o.s_)) {}

  short_lock* case_lock() const noexcept override { return s_ ? &s_->lock() : nullptr; }
  bool poll(task_header*&) override { return s_ && s_->done_locked(); }
  result_type take_result() const noexcept { return {}; }

 private:
  friend queue_case<done_case, ctx_waiter>;
  wait_queue<ctx_waiter>* waiters() const noexcept { return s_ ? &s_->waiters_locked() : nullptr; }
  void unlink_taking_lock(ctx_waiter& w) noexcept { s_->remove_waiter(&w); }

  std::shared_ptr<context_state> s_;  // null: background, never ready
};

class done_case_access {
 public:
  static const std::shared_ptr<context_state>& state(const context& c) noexcept { return c.s_; }
};

}  // namespace detail

inline detail::done_awaiter context::done() const noexcept {
  return detail::done_awaiter(s_);
}

/// A select case that fires once `ctx` is done (Go: case <-ctx.Done()).
inline detail::done_case on_done(const context& ctx) noexcept {
  return detail::done_case(detail::done_case_access::state(ctx));
}

}  // namespace goro
