#pragma once
// The network poller (Go's netpoll, runtime/netpoll.go + netpoll_epoll.go),
// the part the scheduler and the I/O awaitables share. Internal.
//
// One epoll instance per runtime, created when the first descriptor is
// registered, closed when goro::run returns. Every descriptor is registered
// once, edge-triggered, for reading and writing (EPOLLIN | EPOLLOUT |
// EPOLLRDHUP | EPOLLET, as Go does), and carries a poll descriptor: two
// waiter slots (reader, writer), two deadlines with their timers, a closing
// flag and a reference count. Poll descriptors are runtime metadata in
// ordinary memory, allocated from a pool that is never given back (Go's
// pollCache): an event that epoll reported for a descriptor closed since
// then finds type-stable memory, at worst a descriptor reused for another
// fd, and wakes its waiter spuriously, which is harmless (see below).
//
// A slot holds 0, kReady (an event came while nobody waited), kWait (a
// waiter is about to park and is checking for errors: Go's pdWait) or the
// io_waiter of the parked operation. Operations try their system call
// first and park only on EAGAIN.
//
// Completion, not readiness, is handed to the task. Go wakes the goroutine,
// which retries the read and parks again on EAGAIN; a stackless coroutine
// cannot park again from await_resume. So whoever takes a parked waiter out
// of its slot (an I/O event, a deadline, close, a cancelled context) runs
// the operation's `attempt` on the waiter's behalf: the system call, into
// the waiter's buffer. It completes (result or errno), or hits EAGAIN (a
// stale or spurious event) and parks the waiter again; only a completed
// operation readies its task. A task therefore resumes exactly once per
// co_await, with its result.
//
// The scheduler (sched/scheduler.cpp) calls netpoll_find before stealing
// (a non-blocking poll when somebody waits and no thread is blocked in the
// poller) and netpoll_block from the last M that goes idle (a blocking poll
// bounded by the earliest timer). timer_add calls netpoll_timer_added,
// which breaks a blocking poll (Go's netpollBreak, an eventfd) when the new
// timer is due before the poll would end. Readied tasks are handed out as
// Go's injectglist does: the first runs on the polling M's P, the rest go
// to its run queue (or the global queue) and idle Ps are woken for them.

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "sched/detail/short_lock.hpp"
#include "sched/detail/task_header.hpp"
#include "sched/detail/timer.hpp"

namespace goro::detail {

class context_state;
struct scheduler;
struct machine;
struct processor;
struct poll_desc;

enum io_mode : int { kRead = 0, kWrite = 1 };

/// Why an operation failed without (or before) its system call deciding.
enum class io_fail : uint8_t { none, closed, timeout, cancelled };

/// One operation in progress: lives in the awaiter (the task's frame).
struct io_waiter {
  task_header* task = nullptr;
  /// Runs the system call once. true: done (`err` is its errno, 0 on
  /// success, `result` what it produced); false: EAGAIN, wait. May run on
  /// any thread, while the task is parked.
  bool (*attempt)(io_waiter*) noexcept = nullptr;
  poll_desc* pd = nullptr;
  const context_state* ctx = nullptr;  // checked for cancellation, may be null
  int mode = kRead;
  io_fail fail = io_fail::none;
  int err = 0;
  long result = 0;
  /// The operation's arguments, for `attempt` (a buffer, or its own state).
  void* buf = nullptr;
  std::size_t len = 0;
};

struct poll_desc {
  static constexpr uintptr_t kReady = 1, kWait = 2;
  static constexpr uint64_t kClosedBit = uint64_t{1} << 63;
  static constexpr uint64_t kOwnedBit = uint64_t{1} << 62;
  static constexpr uint64_t kCountMask = kOwnedBit - 1;

  int fd = -1;
  std::atomic<uintptr_t> slot[2] = {};
  std::atomic<bool> closing{false};
  /// net's read_some: the last read came back short (the socket was
  /// drained), so the next waits for readiness before reading.
  std::atomic<bool> read_drained{false};
  /// Per mode: 0 none, -1 expired, else the nanotime deadline.
  std::atomic<int64_t> deadline[2] = {};
  /// Operations in progress (low bits), kClosedBit once closed, kOwnedBit
  /// while the owner (a tcp_stream, a listener) holds it. The fd is closed
  /// when the count is zero after close (by close or by the last operation
  /// to end); the descriptor goes back to the pool once, in addition, the
  /// owner has released it.
  std::atomic<uint64_t> ref{0};
  short_lock dl_lock;  // serializes deadline changes and close
  timer_node timer[2];
  poll_desc* free_next = nullptr;  // pool link
};

// ------------------------------------------------------- descriptors --

/// Registers a non-blocking `fd` with the running runtime's poller and gives
/// it a poll descriptor owned by the caller. Throws std::logic_error outside
/// a runtime and std::system_error when epoll refuses the fd (the fd is then
/// still the caller's).
poll_desc* netpoll_open(int fd);
/// The owner's close: fails pending and later operations with
/// io_fail::closed, stops the deadline timers, and closes the fd once the
/// last operation in progress has finished. Idempotent; any thread. True
/// for the one call that closed it (net/ counts open streams by it).
bool netpoll_close(poll_desc* pd) noexcept;
/// The owner lets go of `pd` (after netpoll_close): it returns to the pool
/// once no operation uses it.
void netpoll_release(poll_desc* pd) noexcept;
/// Whether netpoll_close was called.
inline bool netpoll_closed(const poll_desc* pd) noexcept {
  return (pd->ref.load(std::memory_order_acquire) & poll_desc::kClosedBit) != 0;
}
/// An operation starts (false: closed) / ends.
bool io_begin(poll_desc* pd) noexcept;
void io_end(poll_desc* pd) noexcept;
/// Sets the deadline of the modes in `mask` (1 read, 2 write): `when` 0
/// clears it, a time at or before now expires it at once (pending
/// operations fail with timeout), a later one starts its timer.
void netpoll_set_deadline(poll_desc* pd, int mask, int64_t when);

/// Why `w` must fail now, if it must (closed, deadline passed, context done).
io_fail io_check(const io_waiter* w) noexcept;
/// The slow path of an awaiter's await_suspend, for the current task after
/// an attempt hit EAGAIN: parks `w` (true), or finishes it without parking
/// (false: an error, or a retried attempt completed).
bool io_park(io_waiter* w, task_header* self) noexcept;
/// A frame destroyed while its operation is parked (runtime shutdown):
/// takes the waiter out of its slot.
void io_abandon(io_waiter* w) noexcept;

/// A waiter taken out of its slot by an event: run its attempt until it
/// completes (then its task is readied, into `batch` when non-null) or
/// parks again.
struct ready_batch {
  task_header* head = nullptr;
  task_header* tail = nullptr;
  uint32_t n = 0;
  void push(task_header* t) noexcept {
    t->next = nullptr;
    if (tail)
      tail->next = t;
    else
      head = t;
    tail = t;
    ++n;
  }
};
void io_complete(io_waiter* w, ready_batch* batch) noexcept;
/// Takes the parked waiter of `mode`, if any. `ioready`: an I/O event
/// (recorded as kReady when nobody waits); otherwise a deadline, close or
/// cancellation, which only takes a waiter.
io_waiter* netpoll_unblock(poll_desc* pd, int mode, bool ioready) noexcept;

// ------------------------------------------------ scheduler hooks --

/// find_runnable, before stealing: a non-blocking poll. Returns a task to
/// run on `p` (the others found went to p's queue) or null.
task_header* netpoll_find(scheduler& s, processor* p) noexcept;
/// find_runnable, instead of stopm, by an M that holds no P: blocks in the
/// poller while tasks wait on it and no other thread does; true when it
/// came back with a P in m->p (work or due timers), false: go park.
bool netpoll_block(scheduler& s, machine* m) noexcept;
/// find_runnable, every global_queue_interval-th schedule: a P kept busy by
/// its own queue still polls when nobody has for 10 ms (Go's sysmon does
/// this); what it finds joins the P's queue.
void netpoll_check(scheduler& s, processor* p) noexcept;
/// timer_add: a timer due at `when` was added.
void netpoll_timer_added(int64_t when) noexcept;
/// goro::run, after `stopping` is set: wakes a blocked poller.
void netpoll_wake_for_shutdown() noexcept;
/// goro::run, after every M stopped and every frame was destroyed.
void netpoll_shutdown() noexcept;

/// Defined in scheduler.cpp: an idle P for the M that polled, or null.
processor* take_idle_p(scheduler& s) noexcept;

}  // namespace goro::detail
