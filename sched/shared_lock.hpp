#pragma once
// goro::shared_lock<M>: owns a shared (read) lock on a goro::rw_mutex and
// releases it when it goes out of scope.
//
//   auto rl = co_await rw.scoped_lock_shared();
//
// Made only by scoped_lock_shared(); see unique_lock.hpp for why it cannot
// re-lock.

#include <mutex>
#include <utility>

namespace goro {

template <class M>
class [[nodiscard]] shared_lock {
 public:
  shared_lock() noexcept = default;
  /// Takes over a shared lock the caller already holds.
  shared_lock(M& m, std::adopt_lock_t) noexcept : m_(&m) {}
  shared_lock(shared_lock&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
  shared_lock& operator=(shared_lock&& o) noexcept {
    if (this != &o) {
      reset();
      m_ = std::exchange(o.m_, nullptr);
    }
    return *this;
  }
  shared_lock(const shared_lock&) = delete;
  shared_lock& operator=(const shared_lock&) = delete;
  ~shared_lock() { reset(); }

  bool owns_lock() const noexcept { return m_ != nullptr; }
  explicit operator bool() const noexcept { return owns_lock(); }
  M* mutex() const noexcept { return m_; }

  /// Unlocks now; the guard then owns nothing.
  void unlock() { std::exchange(m_, nullptr)->unlock_shared(); }
  /// Gives up ownership without unlocking; returns the mutex.
  M* release() noexcept { return std::exchange(m_, nullptr); }

 private:
  void reset() noexcept {
    if (m_) std::exchange(m_, nullptr)->unlock_shared();
  }
  M* m_ = nullptr;
};

}  // namespace goro
