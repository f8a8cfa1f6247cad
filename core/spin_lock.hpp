#pragma once
// A test-and-test-and-set lock for very short critical sections (a few
// pointer writes) where a futex-based mutex would cost more than the work.
// Never hold it across anything that can block or allocate from Boehm.

#include <atomic>

namespace goro {

class spin_lock {
 public:
  void lock() noexcept {
    for (;;) {
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      while (locked_.load(std::memory_order_relaxed)) __builtin_ia32_pause();
    }
  }
  bool try_lock() noexcept {
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace goro
