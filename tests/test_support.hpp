#pragma once
// Helpers shared by the scheduler tests. They reach the scheduler's
// internal hooks on purpose (STYLE.md: tests reach internals through a small
// export surface) so the executor can be tested before channels exist.

#include <time.h>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <mutex>
#include <thread>

#include "core/clock.hpp"
#include "core/spin_lock.hpp"
#include "sched/detail/runtime_hooks.hpp"
#include "sched/detail/scheduler.hpp"
#include "sched/runtime_options.hpp"
#include "sched/task.hpp"
#include "sched/yield.hpp"

namespace goro::test {

/// An ASan or TSan build: several times slower, so the stress tests run
/// fewer iterations there (`kSanitized ? few : many`).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

/// What one idle second of a runtime may cost in CPU (microseconds), for
/// the "an idle runtime uses no CPU" tests. A worker left spinning costs
/// ~1 s, so both bounds catch it. Asleep, the second costs ~1-2 ms in
/// release. Under TSan a parked thread polls in nanosleep, backing off to
/// 4 ms (core/futex.cpp), so 4 idle threads wake ~1000 times a second:
/// 13-34 ms on a quiet machine, past 50 ms on the loaded CI-sized VM.
#if defined(__SANITIZE_THREAD__)
inline constexpr long long kIdleSecondCpuBoundUs = 200'000;
#else
inline constexpr long long kIdleSecondCpuBoundUs = 50'000;
#endif

/// Timers still queued on any P of the running runtime (for "leaves no
/// timer behind").
inline std::size_t queued_timers() {
  auto* s = detail::sched();
  std::size_t n = 0;
  for (int i = 0; i < s->gomaxprocs.load(); ++i) {
    auto* p = s->all_p[i].load();
    detail::short_lock_guard lk(p->timers.lock);
    n += p->timers.heap.size();
  }
  return n;
}

/// Sleeps the calling thread for `d` against a deadline taken first: after
/// an EINTR it sleeps again until that deadline, for a thread the collector
/// stops (a worker, a blocking-pool thread inside fn).
///
/// Not std::this_thread::sleep_for: after an EINTR it sleeps again for the
/// time that was left, and the time the thread then spent stopped in the
/// collector's signal handler does not count. Under GORO_DEBUG=gcstress a
/// task yielding in a loop makes the collections back to back (one every 50
/// schedules, the world stopped ~87% of the time), the thread rarely got
/// back into nanosleep between two of them, and a 1 ms sleep_for in a
/// blocking call ran for minutes (Blocking.DoesNotStallThePWithMaxProcsOne,
/// tests/sched_blocking_test.cpp). sched/blocking.hpp gives users the same
/// rule. nanosleep rather than clock_nanosleep(TIMER_ABSTIME): ThreadSanitizer
/// intercepts it, so the collector's stop signal is taken in the sleep there
/// too (core/futex.cpp).
inline void sleep_on_thread(std::chrono::nanoseconds d) {
  const int64_t until = nanotime() + d.count();
  for (int64_t left; (left = until - nanotime()) > 0;) {
    timespec ts{static_cast<time_t>(left / 1'000'000'000), static_cast<long>(left % 1'000'000'000)};
    nanosleep(&ts, nullptr);  // EINTR (a collection's stop signal): sleep until `until`
  }
}

/// Yields (bounded, sleeping 100 us between yields so another worker gets
/// the CPU) inside a task until `cond` holds; true if it did.
template <class Cond>
task<bool> yield_until(Cond cond, std::chrono::seconds limit = std::chrono::seconds(20)) {
  const int64_t end = nanotime() + std::chrono::nanoseconds(limit).count();
  while (!cond()) {
    if (nanotime() > end) co_return false;
    sleep_on_thread(std::chrono::microseconds(100));
    co_await yield();
  }
  co_return true;
}

/// Options for a runtime with exactly `n` Ps whose scheduler ignores
/// GORO_MAXPROCS and GORO_DEBUG, so the caller's environment cannot change
/// the test's procs or tracing. The heap still reads GORO_GC, GORO_MEMLIMIT
/// and gctrace when it starts (core/settings.hpp).
inline runtime_options procs(int n) {
  runtime_options o;
  o.max_procs = n;
  o.read_environment = false;
  return o;
}

/// A one-shot event a task can await and any thread can set.
class event {
 public:
  bool is_set() const noexcept { return set_.load(std::memory_order_acquire); }
  void set() noexcept {
    detail::task_header* w;
    {
      std::lock_guard lk(lock_);
      set_.store(true, std::memory_order_release);
      w = std::exchange(waiter_, nullptr);
    }
    if (w) detail::ready(w);
  }
  auto wait() noexcept {
    struct awaiter {
      event* e;
      bool await_ready() const noexcept { return e->is_set(); }
      bool await_suspend(std::coroutine_handle<> h) noexcept {
        detail::task_header* t = detail::current_task();
        t->resume = h;
        std::lock_guard lk(e->lock_);
        if (e->set_.load(std::memory_order_relaxed)) return false;
        e->waiter_ = t;
        return true;
      }
      void await_resume() const noexcept {}
    };
    return awaiter{this};
  }

 private:
  spin_lock lock_;
  std::atomic<bool> set_{false};
  detail::task_header* waiter_ = nullptr;  // protected by lock_
};

/// A reusable single-waiter wake-up flag (auto-reset), for ping-pong tests.
class baton {
 public:
  void post() noexcept {
    detail::task_header* w;
    {
      std::lock_guard lk(lock_);
      w = std::exchange(waiter_, nullptr);
      if (!w) posted_ = true;
    }
    if (w) detail::ready(w);
  }
  auto wait() noexcept {
    struct awaiter {
      baton* b;
      bool await_ready() const noexcept { return false; }
      bool await_suspend(std::coroutine_handle<> h) noexcept {
        detail::task_header* t = detail::current_task();
        t->resume = h;
        std::lock_guard lk(b->lock_);
        if (b->posted_) {
          b->posted_ = false;
          return false;
        }
        b->waiter_ = t;
        return true;
      }
      void await_resume() const noexcept {}
    };
    return awaiter{this};
  }

 private:
  spin_lock lock_;
  bool posted_ = false;                    // protected by lock_
  detail::task_header* waiter_ = nullptr;  // protected by lock_
};

}  // namespace goro::test
