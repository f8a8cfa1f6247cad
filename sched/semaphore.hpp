#pragma once
// goro::semaphore: a counting semaphore for tasks (golang.org/x/sync's
// semaphore.Weighted, without the context).
//
//   goro::semaphore slots(8);
//   co_await slots.acquire();      // or acquire(n) for n permits at once
//   ... at most 8 tasks here ...
//   slots.release();
//
// Fairness: FIFO. A request parks if anyone is parked before it, even when
// enough permits are free for it, and release() serves parked requests in
// order, stopping at the first that does not fit. So a large request is not
// starved by a stream of small ones (x/sync makes the same choice); the
// price is that small requests may wait behind a large one.
//
// Model: every field is protected by `lock_`. release() adds permits,
// then pops and grants (subtracting their permits) as many leading waiters
// as now fit, and wakes them after unlocking. The permit count is
// unbounded (no maximum, as std::counting_semaphore without a max).

#include <coroutine>
#include <cstdint>
#include <source_location>
#include <stdexcept>
#include <string>

#include "sched/detail/runtime_hooks.hpp"
#include "sched/detail/short_lock.hpp"
#include "sched/detail/wait_queue.hpp"
#include "sched/detail/wait_reason.hpp"

namespace goro {

class semaphore {
 public:
  /// Starts with `permits` (>= 0) permits.
  explicit semaphore(int64_t permits) : permits_(permits) {
    if (permits < 0) throw std::invalid_argument("goro::semaphore: negative initial permits");
  }
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;

  class [[nodiscard]] acquire_awaiter {
   public:
    acquire_awaiter(semaphore& s, int64_t n) noexcept : s_(s) { w_.amount = n; }
    acquire_awaiter(const acquire_awaiter&) = delete;
    acquire_awaiter& operator=(const acquire_awaiter&) = delete;
    ~acquire_awaiter() {
      if (w_.linked) s_.cancel_wait(&w_);
    }
    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h,
                       std::source_location site = std::source_location::current()) {
      detail::record_await_site(h, site);
      detail::task_header* self = detail::current_task();
      detail::short_lock_guard g(s_.lock_);
      if (s_.waiters_.empty() && s_.permits_ >= w_.amount) {
        s_.permits_ -= w_.amount;
        return false;
      }
      if (!self)
        throw std::logic_error("goro::semaphore: an acquire that must park needs a goro task");
      detail::suspend_as(self, h, detail::wait_reason::semacquire);
      w_.task = self;
      s_.waiters_.push_back(&w_);
      detail::note_parked(self, &w_, &s_, [](detail::sync_waiter* n) noexcept {
        static_cast<semaphore*>(n->prim)->cancel_wait(n);
      });
      return true;
    }
    void await_resume() noexcept { detail::note_resumed(&w_); }

   private:
    semaphore& s_;
    detail::sync_waiter w_;
  };

  /// Parks until `n` (>= 1) permits are granted.
  acquire_awaiter acquire(int64_t n = 1) {
    check(n, "acquire");
    return acquire_awaiter(*this, n);
  }

  /// Takes `n` permits if they are free and nobody is queued.
  bool try_acquire(int64_t n = 1) {
    check(n, "try_acquire");
    detail::short_lock_guard g(lock_);
    if (!waiters_.empty() || permits_ < n) return false;
    permits_ -= n;
    return true;
  }

  /// Returns `n` permits, granting queued requests in order.
  void release(int64_t n = 1) {
    check(n, "release");
    detail::wait_queue<detail::sync_waiter> wake;
    {
      detail::short_lock_guard g(lock_);
      permits_ += n;
      while (detail::sync_waiter* w = waiters_.front()) {
        if (w->amount > permits_) break;
        permits_ -= w->amount;
        waiters_.pop_front();
        wake.push_back(w);
      }
    }
    detail::wake_all(wake, [](detail::task_header* t) { detail::ready(t); });
  }

  /// Free permits now (stale as soon as it returns).
  int64_t available() noexcept {
    detail::short_lock_guard g(lock_);
    return permits_;
  }

 private:
  static void check(int64_t n, const char* what) {
    if (n < 1)
      throw std::invalid_argument(std::string("goro::semaphore::") + what +
                                  ": permit count must be >= 1, got " + std::to_string(n));
  }

  void cancel_wait(detail::sync_waiter* w) noexcept {
    detail::short_lock_guard g(lock_);
    waiters_.remove(w);
  }

  detail::short_lock lock_;
  int64_t permits_;                                  // protected by lock_
  detail::wait_queue<detail::sync_waiter> waiters_;  // protected by lock_
};

}  // namespace goro
