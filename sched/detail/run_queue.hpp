#pragma once
// A P's local run queue: a fixed ring, one producer (the owning P) and many
// consumers (the owner popping, idle Ps stealing), after Go's runq.
//
// Invariants:
//   - `tail_` is written only by the owner; `head_` only by compare-exchange
//     (owner pops and thieves both CAS it), so a slot is consumed once.
//   - tail_ - head_ <= capacity at all times (the owner checks before
//     writing a slot; a thief's view may be stale but its CAS then fails).
//   - Indices are free-running 32-bit counters (wrap-around is harmless
//     because only differences are used and capacity << 2^31).
//   - Slots are atomics read relaxed: a thief may read a slot the owner is
//     overwriting after a wrap, but then its CAS on head_ fails and the value
//     is discarded. The acquire/release pairs on head_ and tail_ order the
//     slot contents.
// Capacity is a run-time power of two <= kMaxCapacity so tests can shrink it
// to 4 and exercise the overflow and steal paths (Tokio does the same under
// loom). 256 is Go's and Tokio's size.

#include <atomic>
#include <cstdint>

#include "core/fatal.hpp"
#include "sched/detail/task_header.hpp"

namespace goro::detail {

class run_queue {
 public:
  static constexpr uint32_t kMaxCapacity = 256;

  explicit run_queue(uint32_t capacity = kMaxCapacity) noexcept : mask_(capacity - 1) {}

  uint32_t capacity() const noexcept { return mask_ + 1; }

  /// Approximate length (exact when called by the owner with no thieves).
  uint32_t size() const noexcept {
    uint32_t h = head_.load(std::memory_order_acquire);
    uint32_t t = tail_.load(std::memory_order_acquire);
    return t - h;
  }
  bool empty() const noexcept { return size() == 0; }

  /// Owner only. Returns false when full (caller overflows to the global
  /// queue with take_half_for_overflow). `before`, if given, receives the
  /// length the queue had just before the push (as size(): thieves may
  /// have taken some meanwhile).
  bool try_push(task_header* x, uint32_t* before = nullptr) noexcept {
    uint32_t h = head_.load(std::memory_order_acquire);
    uint32_t t = tail_.load(std::memory_order_relaxed);
    if (t - h > mask_) return false;
    if (before) *before = t - h;
    slots_[t & mask_].store(x, std::memory_order_relaxed);
    tail_.store(t + 1, std::memory_order_release);
    return true;
  }

  /// Owner only, when full: removes the older half of the queue into
  /// `out` (room for capacity/2), oldest first, and returns its count.
  /// Returns 0 when thieves made room meanwhile (caller retries try_push).
  uint32_t take_half_for_overflow(task_header** out) noexcept {
    uint32_t h = head_.load(std::memory_order_acquire);
    uint32_t t = tail_.load(std::memory_order_relaxed);
    uint32_t n = (t - h) / 2;
    if (n == 0 || t - h <= mask_) return 0;
    for (uint32_t i = 0; i < n; ++i)
      out[i] = slots_[(h + i) & mask_].load(std::memory_order_relaxed);
    if (!head_.compare_exchange_strong(h, h + n, std::memory_order_acq_rel)) return 0;
    return n;
  }

  /// The task pop() would return now, or nullptr: a hint for prefetching
  /// only (a thief may take it first, and the task may be gone by the time
  /// the hint is used; prefetching a stale address is harmless).
  task_header* peek() const noexcept {
    uint32_t h = head_.load(std::memory_order_relaxed);
    if (h == tail_.load(std::memory_order_relaxed)) return nullptr;
    return slots_[h & mask_].load(std::memory_order_relaxed);
  }

  /// Owner (or anyone): takes the oldest task, or nullptr.
  task_header* pop() noexcept {
    uint32_t h = head_.load(std::memory_order_acquire);
    for (;;) {
      uint32_t t = tail_.load(std::memory_order_acquire);
      if (t == h) return nullptr;
      task_header* x = slots_[h & mask_].load(std::memory_order_relaxed);
      if (head_.compare_exchange_weak(h, h + 1, std::memory_order_acq_rel,
                                      std::memory_order_acquire))
        return x;
    }
  }

  /// Thief: moves half (rounded up) of this queue into `dst`, whose owner
  /// is the caller and which must be empty. Returns the number moved; the
  /// last moved task is *not* put in dst but returned through `out` so the
  /// thief runs it at once.
  uint32_t steal_into(run_queue& dst, task_header** out) noexcept {
    uint32_t h = head_.load(std::memory_order_acquire);
    for (;;) {
      uint32_t t = tail_.load(std::memory_order_acquire);
      uint32_t n = t - h;
      n -= n / 2;
      if (n == 0) return 0;
      if (n > capacity() / 2 + 1 || n > dst.capacity()) {  // inconsistent snapshot
        h = head_.load(std::memory_order_acquire);
        continue;
      }
      uint32_t dt = dst.tail_.load(std::memory_order_relaxed);
      for (uint32_t i = 0; i < n; ++i)
        dst.slots_[(dt + i) & dst.mask_].store(
            slots_[(h + i) & mask_].load(std::memory_order_relaxed), std::memory_order_relaxed);
      if (head_.compare_exchange_weak(h, h + n, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        *out = dst.slots_[(dt + n - 1) & dst.mask_].load(std::memory_order_relaxed);
        if (n > 1) dst.tail_.store(dt + n - 1, std::memory_order_release);
        return n;
      }
    }
  }

  /// Owner: removes everything into `out` (room for capacity), oldest
  /// first; used when a P is retired.
  uint32_t drain(task_header** out) noexcept {
    uint32_t n = 0;
    while (task_header* x = pop()) out[n++] = x;
    return n;
  }

 private:
  alignas(64) std::atomic<uint32_t> head_{0};
  alignas(64) std::atomic<uint32_t> tail_{0};
  const uint32_t mask_;
  std::atomic<task_header*> slots_[kMaxCapacity];
};

}  // namespace goro::detail
