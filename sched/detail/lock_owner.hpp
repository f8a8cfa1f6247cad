#pragma once
// The body of goro::unique_lock and goro::shared_lock: owns a lock on M that
// is already held and releases it with Release::release(M&) (M::unlock or
// M::unlock_shared) when it goes out of scope. The two public guards differ
// only in that release call.

#include <mutex>
#include <utility>

namespace goro::detail {

struct release_exclusive {
  template <class M>
  static void release(M& m) {
    m.unlock();
  }
};

struct release_shared {
  template <class M>
  static void release(M& m) {
    m.unlock_shared();
  }
};

template <class M, class Release>
class lock_owner {
 public:
  lock_owner() noexcept = default;
  /// Takes over a lock the caller already holds.
  lock_owner(M& m, std::adopt_lock_t) noexcept : m_(&m) {}
  lock_owner(lock_owner&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
  lock_owner& operator=(lock_owner&& o) noexcept {
    if (this != &o) {
      reset();
      m_ = std::exchange(o.m_, nullptr);
    }
    return *this;
  }
  lock_owner(const lock_owner&) = delete;
  lock_owner& operator=(const lock_owner&) = delete;
  ~lock_owner() { reset(); }

  bool owns_lock() const noexcept { return m_ != nullptr; }
  explicit operator bool() const noexcept { return owns_lock(); }
  M* mutex() const noexcept { return m_; }

  /// Unlocks now; the guard then owns nothing.
  void unlock() { Release::release(*std::exchange(m_, nullptr)); }
  /// Gives up ownership without unlocking; returns the mutex.
  M* release() noexcept { return std::exchange(m_, nullptr); }

 private:
  void reset() noexcept {
    if (m_) Release::release(*std::exchange(m_, nullptr));
  }
  M* m_ = nullptr;
};

}  // namespace goro::detail
