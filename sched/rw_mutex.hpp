#pragma once
// goro::rw_mutex: Go's sync.RWMutex for tasks — many readers or one writer.
//
//   { auto r = co_await rw.scoped_lock_shared(); ... }   // read
//   { auto w = co_await rw.scoped_lock(); ... }          // write
//   co_await rw.lock_shared(); rw.unlock_shared();       // by hand
//
// Errors (std::logic_error, Go's texts): "sync: Unlock of unlocked
// RWMutex", "sync: RUnlock of unlocked RWMutex".
//
// Model. All state is protected by `lock_` (a short_lock; critical
// sections are a few counter updates and list operations):
//   readers_  tasks holding it shared
//   writer_   a task holds it exclusively
//   rq_, wq_  parked readers and writers, FIFO each
// Policy, as Go's RWMutex: writers are preferred — once a writer waits,
// new readers queue behind it, so a stream of readers cannot starve a
// writer; and when a writer unlocks, *every* parked reader is admitted
// before the next writer, so a stream of writers cannot starve readers.
//   lock_shared: admitted iff !writer_ && wq_ empty; else park in rq_.
//   lock:        admitted iff !writer_ && readers_ == 0 (then both queues
//                are empty, see below); else park in wq_.
//   unlock_shared: --readers_; the last reader out hands the lock to the
//                first parked writer, if any.
//   unlock:      if readers are parked, admit all of them; else hand the
//                lock to the first parked writer, if any.
// Invariant: a parked reader implies writer_ or a parked writer; a parked
// writer implies writer_ or readers_ > 0. So the mutex is never free while
// someone is parked, and hand-offs (writer_ = true or readers_ += n before
// the wake-up) keep newcomers from barging.

#include <coroutine>
#include <cstdint>
#include <mutex>
#include <source_location>
#include <stdexcept>

#include "sched/detail/runtime_hooks.hpp"
#include "sched/detail/short_lock.hpp"
#include "sched/detail/wait_queue.hpp"
#include "sched/detail/wait_reason.hpp"
#include "sched/shared_lock.hpp"
#include "sched/unique_lock.hpp"

namespace goro {

class rw_mutex {
 public:
  rw_mutex() noexcept = default;
  rw_mutex(const rw_mutex&) = delete;
  rw_mutex& operator=(const rw_mutex&) = delete;

  template <bool Shared>
  class [[nodiscard]] lock_awaiter {
   public:
    explicit lock_awaiter(rw_mutex& m) noexcept : m_(m) {}
    lock_awaiter(const lock_awaiter&) = delete;
    lock_awaiter& operator=(const lock_awaiter&) = delete;
    ~lock_awaiter() {
      if (w_.linked) m_.cancel_wait(&w_, Shared);
    }
    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h,
                       std::source_location site = std::source_location::current()) {
      detail::record_await_site(h, site);
      return m_.lock_slow(&w_, h, Shared);
    }
    void await_resume() noexcept { detail::note_resumed(&w_); }

   protected:
    rw_mutex& m_;

   private:
    detail::sync_waiter w_;
  };

  class [[nodiscard]] scoped_lock_awaiter : public lock_awaiter<false> {
   public:
    using lock_awaiter<false>::lock_awaiter;
    unique_lock<rw_mutex> await_resume() noexcept {
      lock_awaiter<false>::await_resume();
      return {m_, std::adopt_lock};
    }
  };
  class [[nodiscard]] scoped_lock_shared_awaiter : public lock_awaiter<true> {
   public:
    using lock_awaiter<true>::lock_awaiter;
    shared_lock<rw_mutex> await_resume() noexcept {
      lock_awaiter<true>::await_resume();
      return {m_, std::adopt_lock};
    }
  };

  /// Parks until held exclusively (no readers, no writer).
  lock_awaiter<false> lock() noexcept { return lock_awaiter<false>(*this); }
  /// Parks until held shared.
  lock_awaiter<true> lock_shared() noexcept { return lock_awaiter<true>(*this); }
  /// Like lock() / lock_shared(), giving a guard that unlocks at scope exit.
  scoped_lock_awaiter scoped_lock() noexcept { return scoped_lock_awaiter(*this); }
  scoped_lock_shared_awaiter scoped_lock_shared() noexcept {
    return scoped_lock_shared_awaiter(*this);
  }

  bool try_lock() noexcept {
    detail::short_lock_guard g(lock_);
    if (writer_ || readers_ > 0) return false;
    writer_ = true;
    return true;
  }
  bool try_lock_shared() noexcept {
    detail::short_lock_guard g(lock_);
    if (writer_ || !wq_.empty()) return false;
    ++readers_;
    return true;
  }

  void unlock() {
    detail::wait_queue<detail::sync_waiter> wake;
    {
      detail::short_lock_guard g(lock_);
      if (!writer_) throw std::logic_error("sync: Unlock of unlocked RWMutex");
      writer_ = false;
      if (!rq_.empty()) {
        readers_ += static_cast<int64_t>(rq_.size());
        rq_.splice_to(wake);
      } else if (detail::sync_waiter* w = wq_.pop_front()) {
        writer_ = true;
        wake.push_back(w);
      }
    }
    detail::wake_all(wake, [](detail::task_header* t) { detail::ready(t); });
  }

  void unlock_shared() {
    detail::sync_waiter* w = nullptr;
    {
      detail::short_lock_guard g(lock_);
      if (readers_ == 0) throw std::logic_error("sync: RUnlock of unlocked RWMutex");
      if (--readers_ == 0 && (w = wq_.pop_front())) writer_ = true;
    }
    if (w) detail::ready(w->task);
  }

 private:
  bool lock_slow(detail::sync_waiter* w, std::coroutine_handle<> h, bool shared) {
    detail::task_header* self = detail::current_task();
    detail::short_lock_guard g(lock_);
    if (shared ? (!writer_ && wq_.empty()) : (!writer_ && readers_ == 0)) {
      if (shared)
        ++readers_;
      else
        writer_ = true;
      return false;
    }
    if (!self) throw std::logic_error("goro::rw_mutex: a lock that must wait needs a goro task");
    detail::suspend_as(self, h, detail::wait_reason::rw_mutex);
    w->task = self;
    (shared ? rq_ : wq_).push_back(w);
    if (shared)
      detail::note_parked(self, w, this, [](detail::sync_waiter* n) noexcept {
        static_cast<rw_mutex*>(n->prim)->cancel_wait(n, true);
      });
    else
      detail::note_parked(self, w, this, [](detail::sync_waiter* n) noexcept {
        static_cast<rw_mutex*>(n->prim)->cancel_wait(n, false);
      });
    return true;
  }

  void cancel_wait(detail::sync_waiter* w, bool shared) noexcept {
    detail::short_lock_guard g(lock_);
    (shared ? rq_ : wq_).remove(w);
  }

  detail::short_lock lock_;
  int64_t readers_ = 0;                         // protected by lock_
  bool writer_ = false;                         // protected by lock_
  detail::wait_queue<detail::sync_waiter> rq_;  // protected by lock_
  detail::wait_queue<detail::sync_waiter> wq_;  // protected by lock_
};

}  // namespace goro
