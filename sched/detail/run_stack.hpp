#pragma once
// A P's run stack: the tasks spawned on this P that have not run yet,
// newest on top. The owner pops the top; thieves take the bottom (the
// oldest entry, in a spawn tree the biggest subtree left).
//
// Why a stack. Go and Tokio put a spawned task in the runnext/LIFO slot and
// push the one it displaces to the FIFO ring's tail. A task that spawns
// several children then keeps only the last one "next", and a tree of
// spawns (skynet: 10 children per node, 1M leaves) runs nearly breadth
// first, because each task taken from the ring's head is the oldest, the
// biggest subtree left. Measured in goro: 60-80k tasks alive at once, 30-40
// MB of coroutine frames, a cache miss on nearly every pick-up. Newest
// first keeps the tree depth first: a few hundred tasks alive, all in cache
// (Cilk's work-first order; thieves taking the oldest entry is its
// steal-the-biggest-piece half). Wake-ups keep Go's runnext slot, and the
// ring stays FIFO for everything that must queue fairly (yield, timers,
// tasks readied past the runnext limit); sched/detail/runq.hpp (runq_get)
// says when the ring goes first and when an old spawn moves to it.
//
// Concurrency. Only the owner pushes and pops; a thief may take any entry
// by compare-exchanging its slot from the task it read to null. A slot's
// value is the whole truth: an entry taken by a thief leaves a null hole
// that the owner skips, and whoever swaps a task out of a slot owns it. A
// task is queued in one place at a time, so a task pointer in a slot always
// means "this task, queued here": a thief that read slot i and finds the same
// pointer there at its compare-exchange takes a task that is queued there
// now, even if the owner popped it and pushed it again meanwhile. The
// indices are written only by the owner and are hints to thieves (a stale
// range costs a thief a few null slots or a failed compare-exchange).
//   - owner push: store the slot (release), then publish top.
//   - owner pop:  exchange the slot with null (one atomic RMW, as the CAS
//                 that took Go's runnext).
//   - thief take: load the slot (acquire), compare-exchange it to null.
// The release store of a task pairs with the acquire of whoever takes it,
// so the taker sees everything written to the task before it was pushed.
//
// Capacity is a run-time power of two <= kMaxCapacity (tests shrink it, as
// the ring's). A push into a full stack fails and the caller queues the new
// task in the ring instead: the newest tasks are the smallest pieces of a
// spawn tree, the cheapest to start early. (Evicting the oldest entry
// instead, in an earlier version with 256 slots, started the biggest
// subtrees early, each of which filled the stack again: skynet with fan-out
// 100 kept 23k tasks alive, against ~400 when a full stack refuses.) Each entry
// remembers when it was pushed (in the owner's schedule count) so the
// scheduler can move an entry that waited too long to the ring:
// newest-first must not starve the oldest.

#include <atomic>
#include <cstdint>

#include "sched/detail/task_header.hpp"

namespace goro::detail {

class run_stack {
 public:
  static constexpr uint32_t kMaxCapacity = 1024;

  explicit run_stack(uint32_t capacity = kMaxCapacity) noexcept : mask_(capacity - 1) {}

  uint32_t capacity() const noexcept { return mask_ + 1; }

  /// Entries between bottom and top, holes left by thieves included: exact
  /// for the owner up to holes, a hint for anyone else.
  uint32_t size() const noexcept {
    // Bottom first: top never goes below the bottom of any earlier moment,
    // so a racing reader gets a stale count, never a negative one.
    const uint32_t bottom = bottom_.load(std::memory_order_acquire);
    return top_.load(std::memory_order_acquire) - bottom;
  }
  bool empty() const noexcept { return size() == 0; }

  /// Owner: pushes `t` as the newest entry, stamped with the owner's
  /// schedule count `now`. Returns false, pushing nothing, when the stack is
  /// full (the caller queues `t` elsewhere). `below`, if given, receives
  /// whether any entry is left under `t` (as far as the owner can tell: a
  /// thief may take it).
  bool push(task_header* t, uint32_t now, bool* below = nullptr) noexcept {
    const uint32_t top = top_.load(std::memory_order_relaxed);
    uint32_t n = top - bottom_.load(std::memory_order_relaxed);
    if (n > mask_) n = top - trim_bottom();  // thieves may have left room
    if (n > mask_) return false;
    if (below) *below = n != 0;
    ticks_[top & mask_] = now;
    slots_[top & mask_].store(t, std::memory_order_release);
    top_.store(top + 1, std::memory_order_release);
    return true;
  }

  /// Owner: takes the newest entry, or null when the stack is empty.
  task_header* pop() noexcept {
    uint32_t top = top_.load(std::memory_order_relaxed);
    const uint32_t bottom = bottom_.load(std::memory_order_relaxed);
    if (top == bottom) return nullptr;  // the common case of a P with no spawns: no store
    while (top != bottom) {
      --top;
      task_header* t = slots_[top & mask_].exchange(nullptr, std::memory_order_acquire);
      if (t) {
        top_.store(top, std::memory_order_release);
        return t;
      }
    }
    top_.store(top, std::memory_order_release);
    return nullptr;
  }

  /// Owner: the newest entry without taking it (a prefetch hint: a thief
  /// may take it first).
  task_header* peek() const noexcept {
    const uint32_t top = top_.load(std::memory_order_relaxed);
    if (top == bottom_.load(std::memory_order_relaxed)) return nullptr;
    return slots_[(top - 1) & mask_].load(std::memory_order_relaxed);
  }

  /// Owner: removes and returns the oldest entry if it was pushed before
  /// schedule count `deadline` (wrap-around safe), else null.
  task_header* take_bottom_if_older(uint32_t deadline) noexcept {
    const uint32_t bottom = trim_bottom();  // the stamp of a real entry
    if (bottom == top_.load(std::memory_order_relaxed)) return nullptr;
    if (static_cast<int32_t>(ticks_[bottom & mask_] - deadline) >= 0) return nullptr;
    return take_bottom();
  }

  /// Owner: removes and returns the oldest entry, or null when empty.
  task_header* take_bottom() noexcept {
    uint32_t bottom = bottom_.load(std::memory_order_relaxed);
    const uint32_t top = top_.load(std::memory_order_relaxed);
    while (bottom != top) {
      task_header* t = slots_[bottom & mask_].exchange(nullptr, std::memory_order_acquire);
      ++bottom;
      if (t) {
        bottom_.store(bottom, std::memory_order_release);
        return t;
      }
    }
    bottom_.store(bottom, std::memory_order_release);
    return nullptr;
  }

  /// Thief: takes the oldest entry it can find, or null. The newest entry
  /// is the owner's next task; it is taken only with `take_newest` (Go
  /// steals runnext only on its last pass for the same reason).
  task_header* steal(bool take_newest) noexcept {
    uint32_t bottom = bottom_.load(std::memory_order_acquire);
    uint32_t top = top_.load(std::memory_order_acquire);
    if (top - bottom > capacity()) return nullptr;  // torn snapshot: try later
    if (!take_newest && top != bottom) --top;
    for (; bottom != top; ++bottom) {
      std::atomic<task_header*>& slot = slots_[bottom & mask_];
      task_header* t = slot.load(std::memory_order_acquire);
      if (t && slot.compare_exchange_strong(t, nullptr, std::memory_order_acq_rel,
                                            std::memory_order_relaxed))
        return t;
    }
    return nullptr;
  }

 private:
  // Owner: moves the bottom past the holes thieves left there (a hole stays
  // null until the owner reuses the slot) and returns it.
  uint32_t trim_bottom() noexcept {
    uint32_t bottom = bottom_.load(std::memory_order_relaxed);
    const uint32_t top = top_.load(std::memory_order_relaxed);
    while (bottom != top && slots_[bottom & mask_].load(std::memory_order_relaxed) == nullptr)
      ++bottom;
    bottom_.store(bottom, std::memory_order_release);
    return bottom;
  }

  // Written only by the owner; read by thieves as hints.
  alignas(64) std::atomic<uint32_t> bottom_{0};
  std::atomic<uint32_t> top_{0};
  const uint32_t mask_;
  std::atomic<task_header*> slots_[kMaxCapacity];
  uint32_t ticks_[kMaxCapacity];  // owner only: the schedule count at each push
};

}  // namespace goro::detail
