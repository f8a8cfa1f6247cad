#pragma once
// Timers: the node every timed wait embeds, the per-P heap that holds them,
// and the scheduler calls that add, remove and run them.
//
// Shape (Go's runtime timers since 1.14, without the netpoller): each P owns
// a 4-ary min-heap of the timers its tasks started, under a lock of its own,
// so starting and stopping a timer touches no global lock; a copy of the
// heap's earliest deadline (`timer_set::when0`) lets anyone see, without the
// lock, whether a P has a timer due. A P runs its own due timers at every
// schedule; a P with nothing to do also runs other Ps' due timers before it
// steals; and the idle worker that parks first with timers pending parks
// with a timeout at the earliest deadline (see stopm in sched/idle.cpp). A
// timer far in the future costs one heap slot and nothing else while it
// waits.
//
// The node lives in whatever waits: a sleeping task's frame, a select's
// timeout case, a context. Nothing is allocated per timer except heap
// growth (mimalloc, runtime metadata: the heap holds no user values).
//
// Firing. The thread that runs a due timer pops it under the P's lock,
// marks it `running`, releases the lock and calls `fire`, which may take
// other locks (a select case's) but never a P's timer lock. `fire` returns
// the task to make runnable, if any; the runner then marks the node
// `fired` — its last touch — and only after that readies the task, so a
// task never resumes (and frees the node) while the runner still uses it.
// timer_del removes a node that is still queued, or waits for a running
// `fire` to finish, so once it returns the node may be destroyed.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "sched/detail/short_lock.hpp"
#include "sched/detail/task_header.hpp"

namespace goro::detail {

struct processor;

struct timer_node {
  enum : uint8_t { kIdle = 0, kQueued = 1, kRunning = 2, kFired = 3 };

  /// Deadline, in core/clock.hpp nanotime() nanoseconds.
  int64_t when = 0;
  /// Called by the runner, outside every timer lock; returns a task to
  /// ready, or null. Must not call timer_add/timer_del on this node.
  task_header* (*fire)(timer_node*) noexcept = nullptr;
  /// The owner of the node, for `fire`.
  void* arg = nullptr;
  /// The P whose heap holds the node (null when not queued). Written under
  /// that P's timer lock; read without it to find the lock to take.
  std::atomic<processor*> owner{nullptr};
  uint32_t index = 0;  // position in the owner's heap; under its lock
  std::atomic<uint8_t> state{kIdle};
};

/// A 4-ary min-heap of timer nodes by `when` (Go's timer heap arity: fewer
/// levels than binary, and siblings share a cache line). Each slot keeps a
/// copy of its node's deadline, as Go's does, so sifting compares within
/// the array instead of chasing pointers into frames spread over the heap.
/// Not thread-safe: its P's timer lock protects it.
class timer_heap {
 public:
  bool empty() const noexcept { return v_.empty(); }
  std::size_t size() const noexcept { return v_.size(); }
  timer_node* top() const noexcept { return v_.front().node; }
  int64_t top_when() const noexcept { return v_.front().when; }
  void push(timer_node* n);
  void remove(timer_node* n) noexcept;
  timer_node* pop() noexcept;

 private:
  struct slot {
    int64_t when;
    timer_node* node;
  };
  void up(uint32_t i) noexcept;
  void down(uint32_t i) noexcept;
  void place(uint32_t i, slot s) noexcept {
    v_[i] = s;
    s.node->index = i;
  }
  std::vector<slot> v_;
};

/// The per-P part of the timer system.
struct timer_set {
  short_lock lock;
  timer_heap heap;                // under lock
  std::atomic<int64_t> when0{0};  // heap top's deadline, 0 = empty
  std::atomic<uint64_t> fired_total{0};
};

/// Queues `n` (its `when` and `fire` set, state idle) on the calling
/// worker's P, or on P 0 from a thread that holds no P. Requires a running
/// runtime.
void timer_add(timer_node* n);

/// Removes `n` if it is still queued (true: it will not fire). Otherwise
/// waits until a `fire` in progress has returned and answers false. Either
/// way the node may be destroyed once this returns.
bool timer_del(timer_node* n) noexcept;

/// timer_del's first half: removes `n` if it is still queued, never waits.
/// For callers that hold a lock a running `fire` may need; they call
/// timer_del (which then only waits) after releasing it.
bool timer_remove(timer_node* n) noexcept;

struct scheduler;

/// At shutdown, after every frame is destroyed: moves the timers still
/// queued (contexts that outlive the run) off the Ps, which are about to be
/// freed, to a P that outlives runs (timer.cpp).
void park_timers(scheduler& s);
/// At start-up, before any task runs: queues the parked timers on P 0.
void unpark_timers(scheduler& s);
/// Timers parked between runs (for tests).
std::size_t parked_timers() noexcept;

}  // namespace goro::detail
