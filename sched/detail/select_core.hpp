#pragma once
// The parts of select that the things it can wait on must know about: the
// per-select "which case fired" word, and the interface a case implements.
// The model and the protocol are described at the top of sched/select.hpp;
// this header is the contract for case kinds (channels today; timers and
// cancellation later).

#include <atomic>
#include <cstdint>

#include "sched/detail/short_lock.hpp"
#include "sched/detail/task_header.hpp"
#include "sched/detail/wait_queue.hpp"

namespace goro::detail {

/// One per select in progress, in the select's awaiter. `fired` is 0 until
/// a case fires, then that case's index + 1; it changes once (Go's
/// g.selectDone). Atomic: wakers on different channels race to claim it.
struct select_state {
  std::atomic<uint32_t> fired{0};

  /// A waker found this select's waiter for case `index` on its queue and
  /// wants to complete it: true if it won the select, false if another case
  /// already fired (the waiter is stale: drop it and look at the next).
  bool try_claim(uint32_t index) noexcept {
    uint32_t none = 0;
    return fired.compare_exchange_strong(none, index + 1, std::memory_order_acq_rel,
                                         std::memory_order_acquire);
  }
};

/// A select case, as the select engine drives it. Every call except
/// abandon() is made with lock() held (when lock() is non-null); the engine
/// holds the locks of all its cases at once, taken in address order.
///
/// A new kind of case implements these operations (settle() is optional;
/// queue_case below gives arm, disarm and abandon to one that parks on a
/// wait_queue); whatever wakes it must follow the waking protocol
/// in wait_queue.hpp plus one step: before completing a waiter that belongs
/// to a select, call select_state::try_claim(index) under the case's lock,
/// and drop the waiter if that fails.
class select_case {
 public:
  /// The lock that protects this case's wait queue; null if the case has
  /// nothing to lock (a disabled case on a null channel).
  virtual short_lock* case_lock() const noexcept = 0;
  /// Pass 1: complete the case now if it can (the select has not armed
  /// anything yet, so nobody else can fire it). May hand back a counterpart
  /// task to wake once all locks are released.
  virtual bool poll(task_header*& wake) = 0;
  /// Pass 2: register a waiter for `self` that a counterpart can fire.
  virtual void arm(select_state& s, uint32_t index, task_header* self) noexcept = 0;
  /// Pass 3 (after the select was woken): remove the waiter if it is still
  /// registered. A no-op for the case that fired.
  virtual void disarm() noexcept = 0;
  /// Pass 3, after every lock was released: wait for anything still using
  /// the case (a timer's fire that lost the race) to be done with it.
  virtual void settle() noexcept {}
  /// The select is being destroyed while still armed (only at runtime
  /// shutdown, when leftover task frames are destroyed): remove the waiter,
  /// taking case_lock() itself.
  virtual void abandon() noexcept = 0;

 protected:
  ~select_case() = default;
};

/// arm, disarm and abandon for every case that parks one waiter on a
/// wait_queue (a channel's receive or send queue, a context's waiters), so
/// the three passes read the same for all of them. `Waiter` has `task`,
/// `sel` and `index` (chan_waiter, ctx_waiter); `Derived` says where it
/// parks:
///   wait_queue<Waiter>* waiters() const noexcept;  // null: never ready
///                                                  // (a nil channel)
///   void unlink_taking_lock(Waiter&) noexcept;     // for abandon()
///   void fill(Waiter&) noexcept;                   // optional: the case's
///                                                  // own fields (a value)
template <class Derived, class Waiter>
class queue_case : public select_case {
 public:
  void arm(select_state& st, uint32_t index, task_header* self) noexcept final {
    wait_queue<Waiter>* q = derived().waiters();
    if (!q) return;
    w_.task = self;
    w_.sel = &st;
    w_.index = index;
    if constexpr (requires(Derived & d, Waiter & w) { d.fill(w); }) derived().fill(w_);
    q->push_back(&w_);
  }
  void disarm() noexcept final {
    if (wait_queue<Waiter>* q = derived().waiters()) q->remove(&w_);
  }
  void abandon() noexcept final {
    if (w_.linked) derived().unlink_taking_lock(w_);
  }

 protected:
  queue_case() noexcept = default;
  ~queue_case() = default;
  /// In the select's awaiter, so in the parked task's frame.
  Waiter w_;

 private:
  Derived& derived() noexcept { return static_cast<Derived&>(*this); }
};

}  // namespace goro::detail
