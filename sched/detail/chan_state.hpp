#pragma once
// The shared state behind goro::chan<T> handles (Go's hchan).
//
// Model. A channel is a lock, a ring buffer of `cap` values, a `closed`
// flag and two FIFO queues of parked tasks: senders waiting for room or a
// receiver, receivers waiting for a value. Everything but the reference
// count is protected by `lock`. The queues are never both non-empty: a
// sender that finds a parked receiver hands its value over directly
// (the receiver's optional is filled in its own frame, no buffer slot is
// used), a receiver that finds a parked sender takes its value (for a
// buffered channel, which is then full, it takes the oldest buffered value
// and moves the sender's value into the freed slot, so FIFO order holds).
// The woken task is readied after the lock is released, into the waker's
// runnext slot: a send that unblocks a receiver runs that receiver next on
// the same worker, as Go's goready does.
//
// Invariants (under lock):
//   - count <= cap; senders wait only when count == cap (or cap == 0);
//     receivers wait only when count == 0 and !closed.
//   - once closed, nothing waits: close() wakes every parked receiver (with
//     no value) and every parked sender (which then throws).
//   - a waiter belonging to a select is completed only after winning
//     select_state::try_claim; losing waiters are dropped from the queue
//     and their select, which was fired by another case, ignores them.
//
// Memory. The state and the buffer are one block from heap::frame_alloc:
// scanned by the collector (a GC pointer sitting in the buffer keeps its
// object alive), freed explicitly. Parked values live in the parked
// task's awaiter, in its coroutine frame, which is scanned as well; values
// move from frame to frame or frame to buffer, never through unscanned
// memory. Why not heap's gc_allocator/gc_new: those blocks are *collected*,
// so a handle stored where the collector does not look (a std::vector in
// malloc memory, a member of a mimalloc object) would not keep the channel
// alive; the reference count does, and frame memory is scanned but never
// collected, which is exactly that contract.
//
// Lifetime. Handles count references (atomic). When the count drops to
// zero while a waiter is still linked — which can only happen at runtime
// shutdown, when leftover task frames are destroyed in no particular order
// — the state is marked orphaned instead of freed, and the last waiter to
// abandon it frees it. In a running program a parked task's own awaiter
// (or its frame's handle) keeps a reference, so this never triggers.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "heap/frame_pool.hpp"
#include "sched/detail/select_core.hpp"
#include "sched/detail/short_lock.hpp"
#include "sched/detail/task_header.hpp"
#include "sched/detail/wait_queue.hpp"

namespace goro::detail {

/// A task parked on a channel (Go's sudog). Lives in the awaiter, so in
/// the coroutine frame of every task that sends or receives: the two small
/// fields come first, where they fill wait_node's tail padding (48 bytes
/// instead of 64; smaller frames are less memory to touch per task).
struct chan_waiter : wait_node {
  /// Set by close(): a receiver got no value, a sender must throw. A send
  /// awaiter also sets it itself when it finds the channel closed.
  bool closed = false;
  uint32_t index = 0;  // the case index within `sel`
  task_header* task = nullptr;
  select_state* sel = nullptr;  // non-null when the waiter is a select case
  /// Send: the T to move from. Receive: the std::optional<T> to fill.
  void* elem = nullptr;
};
static_assert(sizeof(void*) != 8 || sizeof(chan_waiter) == 48,
              "chan_waiter: the flag and index should sit in wait_node's tail padding");

template <class T>
class chan_state {
 public:
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "goro::chan<T>: T must be nothrow move constructible (values move while the "
                "channel lock is held)");
  static_assert(alignof(T) <= alignof(std::max_align_t),
                "goro::chan<T>: over-aligned T is not supported");

  /// Largest buffer in bytes: Go's maxAlloc on 64-bit Linux (2^48), which
  /// also keeps header + cap * sizeof(T) from wrapping.
  static constexpr std::size_t kMaxBufferBytes = std::size_t{1} << 48;

  static chan_state* create(std::size_t cap) {
    if (cap > kMaxBufferBytes / sizeof(T))
      throw std::length_error("makechan: size out of range (capacity " + std::to_string(cap) +
                              " of " + std::to_string(sizeof(T)) +
                              "-byte values; the buffer may take at most 2^48 bytes)");
    void* mem = heap::frame_alloc(bytes_for(cap));
    return ::new (mem) chan_state(cap);
  }

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    // The last handle, so no lock: every operation on the channel is made
    // by a task holding a handle (the awaiters' contract), so each one's
    // unlock happened before its handle's release, which the acq_rel
    // decrement above synchronises with. No other thread can take the lock
    // from here on; a waiter can still be linked only at shutdown, where
    // leftover frames are destroyed by one thread.
    if (!recvq.empty() || !sendq.empty()) {
      orphaned = true;  // the last abandon() frees it
      return;
    }
    destroy();
  }

  /// Unlinks `w` if still linked (a frame destroyed while parked, only at
  /// shutdown); frees the state if it was orphaned and this was the last.
  void abandon(chan_waiter* w, bool sender) noexcept {
    bool free_it;
    {
      short_lock_guard g(lock);
      (sender ? sendq : recvq).remove(w);
      free_it = orphaned && recvq.empty() && sendq.empty();
    }
    if (free_it) destroy();
  }

  std::size_t capacity() const noexcept { return cap_; }

  // ---- operations below require `lock` -------------------------------

  /// Completes a send of `v` if it can without waiting: hands it to a
  /// parked receiver (returned in `wake`) or buffers it. Not for closed
  /// channels (the caller checks).
  bool send_now(T& v, task_header*& wake) noexcept {
    if (chan_waiter* r = dequeue_live(recvq)) {
      static_cast<std::optional<T>*>(r->elem)->emplace(std::move(v));
      wake = r->task;
      return true;
    }
    if (count_ < cap_) {
      std::size_t tail = head_ + count_;
      if (tail >= cap_) tail -= cap_;
      ::new (static_cast<void*>(slot(tail))) T(std::move(v));
      ++count_;
      return true;
    }
    return false;
  }

  /// Completes a receive into `out` if it can without waiting: from a
  /// parked sender, the buffer, or (empty) from a closed, drained channel.
  bool recv_now(std::optional<T>& out, task_header*& wake) noexcept {
    if (chan_waiter* s = dequeue_live(sendq)) {
      T* src = static_cast<T*>(s->elem);
      if (cap_ == 0) {
        out.emplace(std::move(*src));
      } else {
        // A sender waits only on a full buffer: take the oldest value and
        // put the sender's in its slot, which becomes the newest.
        T* h = slot(head_);
        out.emplace(std::move(*h));
        h->~T();
        ::new (static_cast<void*>(h)) T(std::move(*src));
        if (++head_ == cap_) head_ = 0;
      }
      wake = s->task;
      return true;
    }
    if (count_ > 0) {
      T* h = slot(head_);
      out.emplace(std::move(*h));
      h->~T();
      if (++head_ == cap_) head_ = 0;
      --count_;
      return true;
    }
    if (closed) {
      out.reset();
      return true;
    }
    return false;
  }

  /// Marks the channel closed and moves every parked waiter that is still
  /// live to `wake` (with `closed` set). The caller readies them after
  /// unlocking. Returns false if it was already closed.
  bool close_locked(wait_queue<chan_waiter>& wake) noexcept {
    if (closed) return false;
    closed = true;
    while (chan_waiter* r = dequeue_live(recvq)) {
      r->closed = true;
      wake.push_back(r);
    }
    while (chan_waiter* s = dequeue_live(sendq)) {
      s->closed = true;
      wake.push_back(s);
    }
    return true;
  }

  std::size_t size_locked() const noexcept { return count_; }

  short_lock lock;
  // Protected by lock (orphaned: also written by the last release(), see there):
  bool closed = false;
  bool orphaned = false;
  wait_queue<chan_waiter> recvq;
  wait_queue<chan_waiter> sendq;

 private:
  explicit chan_state(std::size_t cap) noexcept : cap_(cap) {}

  static std::size_t header_bytes() noexcept {
    constexpr std::size_t a = alignof(T);
    return (sizeof(chan_state) + a - 1) / a * a;
  }
  static std::size_t bytes_for(std::size_t cap) noexcept {
    return header_bytes() + cap * sizeof(T);
  }
  T* slot(std::size_t i) noexcept {
    return std::launder(
        reinterpret_cast<T*>(reinterpret_cast<unsigned char*>(this) + header_bytes()) + i);
  }

  // Pops the first waiter that can take part: a plain one, or a select's
  // that wins the claim. Stale select waiters are dropped (Go's dequeue).
  static chan_waiter* dequeue_live(wait_queue<chan_waiter>& q) noexcept {
    while (chan_waiter* w = q.pop_front()) {
      if (!w->sel || w->sel->try_claim(w->index)) return w;
    }
    return nullptr;
  }

  void destroy() noexcept {
    for (std::size_t i = 0, at = head_; i < count_; ++i) {
      slot(at)->~T();
      if (++at == cap_) at = 0;
    }
    std::size_t n = bytes_for(cap_);
    this->~chan_state();
    heap::frame_free(this, n);
  }

  const std::size_t cap_;
  std::atomic<uint32_t> refs_{1};  // handles (atomic)
  std::size_t head_ = 0;           // protected by lock
  std::size_t count_ = 0;          // protected by lock
};

}  // namespace goro::detail
