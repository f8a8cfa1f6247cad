#pragma once
// A test-and-test-and-set lock for very short critical sections (a few
// pointer writes) where a futex-based mutex would cost more than the work.
// Never hold it across anything that can block or allocate from Boehm.
//
// A waiter that has spun for a while yields its thread: the holder may have
// been preempted (more runnable threads than cores, as on a shared VM), and
// spinning on then only delays it. 64 pauses is a few hundred ns, longer
// than any section this lock is meant for; picked, not tuned.

#include <sched.h>

#include <atomic>

namespace goro {

class spin_lock {
 public:
  void lock() noexcept {
    for (;;) {
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      for (int spins = 0; locked_.load(std::memory_order_relaxed); ++spins) {
        if (spins < kSpinsBeforeYield) {
          __builtin_ia32_pause();
        } else {
          ::sched_yield();
          spins = 0;
        }
      }
    }
  }
  bool try_lock() noexcept {
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  static constexpr int kSpinsBeforeYield = 64;
  std::atomic<bool> locked_{false};
};

}  // namespace goro
