#pragma once
// goro::wait_group: Go's sync.WaitGroup for tasks.
//
//   goro::wait_group wg;
//   for (...) { wg.add(1); goro::spawn(work(&wg)).detach(); }  // work calls wg.done()
//   co_await wg.wait();
//
// add() with a delta that takes the counter below zero throws
// std::logic_error("sync: negative WaitGroup counter") and leaves the
// counter unchanged (Go panics with that text).
//
// Model. `count_` and the waiter list change under `lock_`; wait() reads
// the count under the lock too (see wait_awaiter::await_ready for why it
// has no lock-free path), so what the tasks did before done() is visible
// after wait(). `count_` is atomic only for count(). When add() brings the count to 0
// it detaches every parked waiter and wakes them after unlocking. A waiter
// parks only after re-reading the count under the lock, so it cannot miss
// the transition to 0.
// As in Go, the group may be reused once the previous wait() calls have
// returned; adding while a wait is in progress with the count at 0 is a
// race in the caller's program, not detected here.

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <source_location>
#include <stdexcept>

#include "sched/detail/runtime_hooks.hpp"
#include "sched/detail/short_lock.hpp"
#include "sched/detail/wait_queue.hpp"
#include "sched/detail/wait_reason.hpp"

namespace goro {

class wait_group {
 public:
  wait_group() noexcept = default;
  wait_group(const wait_group&) = delete;
  wait_group& operator=(const wait_group&) = delete;

  /// Adds `delta` (may be negative) to the counter; at 0 every waiter wakes.
  void add(int64_t delta) {
    detail::wait_queue<detail::sync_waiter> wake;
    {
      detail::short_lock_guard g(lock_);
      int64_t v = count_.load(std::memory_order_relaxed) + delta;
      if (v < 0) throw std::logic_error("sync: negative WaitGroup counter");
      count_.store(v, std::memory_order_release);
      if (v == 0) waiters_.splice_to(wake);
    }
    detail::wake_all(wake, [](detail::task_header* t) { detail::ready(t); });
  }

  /// add(-1).
  void done() { add(-1); }

  /// The counter now (stale as soon as it returns).
  int64_t count() const noexcept { return count_.load(std::memory_order_acquire); }

  class [[nodiscard]] wait_awaiter {
   public:
    explicit wait_awaiter(wait_group& g) noexcept : g_(g) {}
    wait_awaiter(const wait_awaiter&) = delete;
    wait_awaiter& operator=(const wait_awaiter&) = delete;
    ~wait_awaiter() {
      if (w_.linked) g_.cancel_wait(&w_);
    }
    // No lock-free fast path: the add() that brings the counter to 0 still
    // unlocks lock_ after storing the 0, so a waiter that saw the 0 without
    // the lock could return and end the group's life (a group in a task's
    // frame, reused by the next loop turn or destroyed) while that unlock
    // still writes into it (TSan, sched_registry_test). Taking the lock in
    // await_suspend orders the wait after it. Go's WaitGroup makes its
    // counter's final atomic store the last touch for the same reason.
    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h,
                       std::source_location site = std::source_location::current()) {
      detail::record_await_site(h, site);
      detail::task_header* self = detail::current_task();
      detail::short_lock_guard g(g_.lock_);
      if (g_.count_.load(std::memory_order_relaxed) == 0) return false;
      if (!self)
        throw std::logic_error("goro::wait_group: a wait that must park needs a goro task");
      detail::suspend_as(self, h, detail::wait_reason::wait_group);
      w_.task = self;
      g_.waiters_.push_back(&w_);
      detail::note_parked(self, &w_, &g_, [](detail::sync_waiter* n) noexcept {
        static_cast<wait_group*>(n->prim)->cancel_wait(n);
      });
      return true;
    }
    void await_resume() noexcept { detail::note_resumed(&w_); }

   private:
    wait_group& g_;
    detail::sync_waiter w_;
  };

  /// Parks until the counter is 0.
  wait_awaiter wait() noexcept { return wait_awaiter(*this); }

 private:
  void cancel_wait(detail::sync_waiter* w) noexcept {
    detail::short_lock_guard g(lock_);
    waiters_.remove(w);
  }

  std::atomic<int64_t> count_{0};  // written under lock_, read anywhere
  detail::short_lock lock_;
  detail::wait_queue<detail::sync_waiter> waiters_;  // protected by lock_
};

}  // namespace goro
