#pragma once
// goro::unique_lock<M>: owns an exclusive lock on a goro::mutex or
// goro::rw_mutex and releases it when it goes out of scope.
//
//   auto lk = co_await m.scoped_lock();   // parks until locked
//   ... critical section ...
//                                         // unlocked here (or lk.unlock())
//
// Unlike std::unique_lock it is only made by the scoped_lock() awaitables
// (the lock is already held) and cannot re-lock: locking may park, which a
// constructor or a plain member function cannot do.

#include <mutex>
#include <utility>

namespace goro {

template <class M>
class [[nodiscard]] unique_lock {
 public:
  unique_lock() noexcept = default;
  /// Takes over a lock the caller already holds.
  unique_lock(M& m, std::adopt_lock_t) noexcept : m_(&m) {}
  unique_lock(unique_lock&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
  unique_lock& operator=(unique_lock&& o) noexcept {
    if (this != &o) {
      reset();
      m_ = std::exchange(o.m_, nullptr);
    }
    return *this;
  }
  unique_lock(const unique_lock&) = delete;
  unique_lock& operator=(const unique_lock&) = delete;
  ~unique_lock() { reset(); }

  bool owns_lock() const noexcept { return m_ != nullptr; }
  explicit operator bool() const noexcept { return owns_lock(); }
  M* mutex() const noexcept { return m_; }

  /// Unlocks now; the guard then owns nothing.
  void unlock() { std::exchange(m_, nullptr)->unlock(); }
  /// Gives up ownership without unlocking; returns the mutex.
  M* release() noexcept { return std::exchange(m_, nullptr); }

 private:
  void reset() noexcept {
    if (m_) std::exchange(m_, nullptr)->unlock();
  }
  M* m_ = nullptr;
};

}  // namespace goro
