#pragma once
// goro::mutex: Go's sync.Mutex for tasks. Locking parks the task, not the
// thread.
//
//   co_await m.lock();  ...  m.unlock();
//   { auto lk = co_await m.scoped_lock();  ... }   // unlocks at scope exit
//   if (m.try_lock()) { ... m.unlock(); }
//
// Not owned by a task (as in Go): any task or thread may unlock it.
// Unlocking an unlocked mutex throws std::logic_error("sync: unlock of
// unlocked mutex") (Go: fatal error, same text).
//
// Model. `state_` (atomic) holds two bits: kLocked, and kWaiters, which is
// set exactly while the FIFO `waiters_` is non-empty; both the bit and the
// queue change only under `lock_` (the queue is protected by it; the word is
// read and CAS'd without it on the fast paths).
//   - lock: CAS 0 -> kLocked, else take lock_ and either CAS 0 -> kLocked
//     (it was released meanwhile) or set kWaiters, enqueue, park.
//   - unlock: CAS kLocked -> 0 when nobody waits; otherwise take lock_,
//     dequeue the first waiter and hand the mutex to it *without ever
//     clearing kLocked* (clearing kWaiters if the queue became empty), then
//     ready it. Ownership moves straight to the oldest waiter.
//
// Interleavings:
//   - unlock's fast CAS races the locker setting kWaiters under lock_: if
//     the CAS wins, the locker's CAS kLocked -> kLocked|kWaiters fails, it
//     reloads 0 and takes the mutex; if the locker wins, the unlock CAS
//     fails and unlock takes lock_, which the locker holds until its node
//     is queued, so the dequeue finds it.
//   - a newcomer calling lock() while a waiter exists sees kLocked (hand-off
//     never clears it), so it cannot barge past the queue.
//
// Fairness: strict FIFO once contended — Go's starvation mode, always. Go
// starts in a barging mode for throughput because waking a goroutine costs
// a thread wake-up and a stack switch; here the woken task is a coroutine
// resumed from this worker's runnext slot, so hand-off costs a few tens of
// nanoseconds, and in exchange no waiter can starve. Rejected: Go's
// normal/starvation switch (1 ms rule), which needs a clock read per wait
// and only buys throughput that hand-off already has here.

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <mutex>
#include <source_location>
#include <stdexcept>

#include "core/fatal.hpp"
#include "sched/detail/runtime_hooks.hpp"
#include "sched/detail/short_lock.hpp"
#include "sched/detail/wait_queue.hpp"
#include "sched/detail/wait_reason.hpp"
#include "sched/unique_lock.hpp"

namespace goro {

class mutex {
 public:
  mutex() noexcept = default;
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;

  class [[nodiscard]] lock_awaiter {
   public:
    explicit lock_awaiter(mutex& m) noexcept : m_(m) {}
    lock_awaiter(const lock_awaiter&) = delete;
    lock_awaiter& operator=(const lock_awaiter&) = delete;
    ~lock_awaiter() {
      if (w_.linked) m_.cancel_wait(&w_);
    }
    bool await_ready() noexcept { return m_.try_lock(); }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h,
                       std::source_location site = std::source_location::current()) {
      detail::record_await_site(h, site);
      return m_.lock_slow(&w_, h);
    }
    void await_resume() noexcept { detail::note_resumed(&w_); }

   protected:
    mutex& m_;

   private:
    detail::sync_waiter w_;
  };

  class [[nodiscard]] scoped_lock_awaiter : public lock_awaiter {
   public:
    using lock_awaiter::lock_awaiter;
    unique_lock<mutex> await_resume() noexcept {
      lock_awaiter::await_resume();
      return {m_, std::adopt_lock};
    }
  };

  /// Parks until the mutex is ours.
  lock_awaiter lock() noexcept { return lock_awaiter(*this); }
  /// Like lock(), giving a guard that unlocks at scope exit.
  scoped_lock_awaiter scoped_lock() noexcept { return scoped_lock_awaiter(*this); }

  /// Takes the mutex if it is free and nobody is queued for it.
  bool try_lock() noexcept {
    uint32_t s = 0;
    return state_.compare_exchange_strong(s, kLocked, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }

  /// Releases the mutex, handing it to the oldest waiter if there is one.
  void unlock() {
    uint32_t s = kLocked;
    if (state_.compare_exchange_strong(s, 0, std::memory_order_release, std::memory_order_relaxed))
      return;
    if (!(s & kLocked)) throw std::logic_error("sync: unlock of unlocked mutex");
    unlock_slow();
  }

 private:
  static constexpr uint32_t kLocked = 1;
  static constexpr uint32_t kWaiters = 2;

  bool lock_slow(detail::sync_waiter* w, std::coroutine_handle<> h) {
    detail::task_header* self = detail::current_task();
    detail::short_lock_guard g(lock_);
    uint32_t s = state_.load(std::memory_order_relaxed);
    for (;;) {
      if (s == 0) {
        if (state_.compare_exchange_weak(s, kLocked, std::memory_order_acquire,
                                         std::memory_order_relaxed))
          return false;  // released meanwhile: ours, no need to park
        continue;
      }
      if (!self) throw std::logic_error("goro::mutex: a lock that must wait needs a goro task");
      if (s & kWaiters) break;
      if (state_.compare_exchange_weak(s, s | kWaiters, std::memory_order_relaxed,
                                       std::memory_order_relaxed))
        break;
    }
    detail::suspend_as(self, h, detail::wait_reason::mutex);
    w->task = self;
    waiters_.push_back(w);
    detail::note_parked(self, w, this, [](detail::sync_waiter* n) noexcept {
      static_cast<mutex*>(n->prim)->cancel_wait(n);
    });
    return true;  // the guard's unlock publishes the node
  }

  void unlock_slow() {
    detail::sync_waiter* w;
    {
      detail::short_lock_guard g(lock_);
      w = waiters_.pop_front();
      if (!w) fatal("mutex.unlock: waiter bit set with no waiter queued");
      // Hand-off: kLocked stays set for w; acquire/release via lock_ and
      // the run queue order our critical section before w's.
      if (waiters_.empty()) state_.store(kLocked, std::memory_order_release);
    }
    detail::ready(w->task);
  }

  void cancel_wait(detail::sync_waiter* w) noexcept {
    detail::short_lock_guard g(lock_);
    waiters_.remove(w);
    if (waiters_.empty()) state_.fetch_and(~kWaiters, std::memory_order_relaxed);
  }

  std::atomic<uint32_t> state_{0};                   // kLocked | kWaiters (atomic)
  detail::short_lock lock_;                          // protects waiters_ and kWaiters changes
  detail::wait_queue<detail::sync_waiter> waiters_;  // protected by lock_
};

}  // namespace goro
