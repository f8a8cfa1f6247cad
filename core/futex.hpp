#pragma once
// A futex word: the one sleeping primitive under every runtime park.
//
// The collector stops the world with signals (SIGPWR/SIGXCPU), so a timed
// futex wait returns EINTR on every collection; wait() retries until the word
// changes or the deadline passes. Callers that sleep for real should do so
// inside heap's blocking region so a collection need not stop them at all.

#include <atomic>
#include <cstdint>

namespace goro {

class futex_word {
 public:
  explicit futex_word(uint32_t v = 0) noexcept : word_(v) {}

  std::atomic<uint32_t>& word() noexcept { return word_; }

  /// Sleeps while the word equals `expected`. Spurious returns are possible;
  /// callers re-check their condition. `timeout_ns < 0` waits without limit.
  /// Returns false on timeout.
  bool wait(uint32_t expected, int64_t timeout_ns = -1) noexcept;

  /// Wakes up to `n` sleepers.
  void wake(int n = 1) noexcept;
  void wake_all() noexcept;

 private:
  std::atomic<uint32_t> word_;
};

/// A one-shot-at-a-time binary semaphore for parking one thread (an M).
/// post() before wait() is remembered, so no wake-up is lost.
class parker {
 public:
  /// Blocks until post(); consumes the post. `timeout_ns < 0` = forever.
  /// Returns false on timeout.
  bool wait(int64_t timeout_ns = -1) noexcept;
  void post() noexcept;

 private:
  futex_word state_{0};  // 0 = empty, 1 = posted
};

}  // namespace goro
