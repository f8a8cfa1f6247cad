#pragma once
// short_lock: the lock inside a channel or a sync primitive (Go's
// runtime.mutex as used by hchan.lock and the sema roots).
//
// Critical sections under it are a few pointer writes and at most one
// move of a user value: never a suspension, never a call into the
// scheduler, never an allocation. The scheduler's own lock (Go's
// sched.lock, sched/detail/scheduler.hpp) is one too: its sections are as
// short except the rare start of a new M, during which waiters simply end
// up asleep on the futex. It is taken by tasks running on worker
// threads, so it must not spin forever when its holder was preempted by the
// OS (likely on an oversubscribed machine): it spins briefly, yields the
// thread once, then sleeps on a futex — Go's lock_futex.go, same shape.
//
// State (atomic): 0 free, 1 held, 2 held and a thread may sleep on it.
// unlock() exchanges in 0 and wakes one sleeper only when it saw 2.
//
// Lifetime note: unlock() touches the word once (the exchange) and then, if
// it saw 2, only makes a futex syscall on its address. Channels rely on
// this: a task that parks on a channel and then unlocks it may be resumed
// elsewhere and free the channel before the unlocking thread returns.
// FUTEX_WAKE on a freed address is harmless (the kernel only hashes it).

#include <sched.h>

#include <atomic>
#include <cstdint>

#include "core/futex.hpp"

namespace goro::detail {

class short_lock {
 public:
  short_lock() noexcept = default;
  short_lock(const short_lock&) = delete;
  short_lock& operator=(const short_lock&) = delete;

  void lock() noexcept {
    uint32_t free = 0;
    if (state_.word().compare_exchange_strong(free, 1, std::memory_order_acquire,
                                              std::memory_order_relaxed))
      return;
    lock_slow();
  }

  bool try_lock() noexcept {
    uint32_t free = 0;
    return state_.word().compare_exchange_strong(free, 1, std::memory_order_acquire,
                                                 std::memory_order_relaxed);
  }

  void unlock() noexcept {
    if (state_.word().exchange(0, std::memory_order_release) == 2) state_.wake(1);
  }

 private:
  // Spin count and the single sched_yield: Go's active_spin = 4 rounds of
  // 30 pauses, then passive_spin = 1 osyield, then futex sleep.
  static constexpr int kSpinRounds = 4;
  static constexpr int kPausesPerRound = 30;

  [[gnu::noinline]] void lock_slow() noexcept {
    auto& w = state_.word();
    for (int round = 0; round <= kSpinRounds; ++round) {
      if (round == kSpinRounds) {
        ::sched_yield();
      } else {
        for (int i = 0; i < kPausesPerRound; ++i) __builtin_ia32_pause();
      }
      uint32_t free = 0;
      if (w.load(std::memory_order_relaxed) == 0 &&
          w.compare_exchange_strong(free, 1, std::memory_order_acquire, std::memory_order_relaxed))
        return;
    }
    // Sleep. Once we have announced a possible sleeper (2) we must keep
    // taking the lock as 2, since we cannot know whether others sleep too.
    while (w.exchange(2, std::memory_order_acquire) != 0) state_.wait(2);
  }

  futex_word state_{0};
};

/// RAII holder for a short_lock.
class short_lock_guard {
 public:
  explicit short_lock_guard(short_lock& l) noexcept : l_(l) { l_.lock(); }
  ~short_lock_guard() { l_.unlock(); }
  short_lock_guard(const short_lock_guard&) = delete;
  short_lock_guard& operator=(const short_lock_guard&) = delete;

 private:
  short_lock& l_;
};

}  // namespace goro::detail
