// lock_os_thread, Go's way (proc.go: LockOSThread, stoplockedm,
// startlockedm, handoffp). A pinned task's M runs nothing else. When the
// task suspends, the M gives its P away (handoffp) and sleeps on its own
// parker; whichever M later dequeues the task hands it its P (startlockedm)
// and goes idle itself. The task is in at most one queue at a time, so at
// most one M hands over a P per suspension; the P travels in m->nextp,
// written before the post and read after the wait.
//
// This file: the task's side (lock_current_task, goro::unlock_os_thread,
// run_blocking_locked) and the M's side (stoplockedm, startlockedm,
// exit_locked_m), which the worker loop in sched/scheduler.cpp calls.
// handoffp is in sched/idle.cpp; the public API in sched/lock_os_thread.hpp.

#include "sched/lock_os_thread.hpp"

#include <mutex>
#include <stdexcept>
#include <utility>

#include "core/fatal.hpp"
#include "heap/blocking_region.hpp"
#include "sched/detail/idle.hpp"
#include "sched/detail/runtime_hooks.hpp"
#include "sched/detail/scheduler.hpp"
#include "sched/detail/trace_hooks.hpp"

namespace goro::detail {
namespace {

// The M gives up its P before it sleeps or exits (retiring it if
// set_max_procs shrank meanwhile).
void release_p(scheduler& s, machine* m) {
  if (!m->p) return;
  if (m->p->id >= s.gomaxprocs.load(std::memory_order_acquire)) retire_p(s, m);
  if (processor* p = std::exchange(m->p, nullptr)) handoffp(s, p);
}

}  // namespace

// Go's startlockedm: `t` is pinned to another M; hand it our P.
void startlockedm(machine* m, task_header* t) {
  machine* lm = t->locked_m;
  lm->nextp = std::exchange(m->p, nullptr);
  lm->park.post();
}

// Go's stoplockedm (and exitsyscall for a pinned task's blocking call): the
// pinned task is not running; give the P away, run its blocking call if it
// made one, then sleep until an M hands over a P with the task. Returns the
// task to run, or null when the runtime stops.
task_header* stoplockedm(scheduler& s, machine* m) {
  release_p(s, m);
  if (blocking_job* j = std::exchange(m->pending_job, nullptr)) {
    task_header* t = j->task;
    const uint64_t traced = trace_blocking_begin();
    j->run(j);                                  // holds no P: the other tasks run meanwhile
    trace_blocking_end(-m->id - 1, t, traced);  // its slice on this M's track (debug/trace.cpp)
    {
      std::lock_guard lk(s.lock);  // Go's exitsyscallfast: an idle P, if any
      if (!s.stopping.load(std::memory_order_relaxed)) {
        if (processor* p = pidleget(s)) {
          m->p = p;
          trace_observe(t);  // a run slice, as for a task made ready
          return t;
        }
      }
    }
    ready(t);  // global queue: its taker hands us a P
  }
  for (;;) {
    heap::blocking_region([m] { m->park.wait(); });
    if (s.stopping.load(std::memory_order_acquire)) return nullptr;
    if (m->nextp) break;
  }
  m->p = std::exchange(m->nextp, nullptr);
  return m->lockedg;
}

// The pinned task ended: the M leaves (Go's goexit0 with lockedInt set), so
// whatever the task left in the thread (thread_local state, signal masks,
// a C library's per-thread context) dies with it.
void exit_locked_m(scheduler& s, machine* m) {
  remove_thread(s, thread_kind::locked);  // first: handoffp may start an M
  release_p(s, m);
  std::lock_guard lk(s.lock);
  s.synced.free_shards.push_back(std::exchange(m->registry, nullptr));  // its tasks stay in it
  s.synced.mdead.push_back(m);  // joined by the next startm, or at shutdown
}

void run_blocking_locked(blocking_job* j) {
  machine* m = tl_m;
  if (!m || m->lockedg != j->task) fatal("run_blocking_locked: task not pinned to this M");
  m->pending_job = j;  // run by stoplockedm once the task has suspended
}

void lock_current_task() {
  machine* m = tl_m;
  task_header* t = m ? m->current : nullptr;
  if (!t) throw std::logic_error("goro::lock_os_thread: not inside a goro task");
  if (m->lockedg == t) {
    if (m->lock_count == UINT32_MAX)
      throw std::overflow_error("goro::lock_os_thread: nested more than 2^32-1 times");
    ++m->lock_count;
    return;
  }
  if (m->lockedg) fatal("lock_current_task: M pinned to another task");
  m->lockedg = t;
  m->lock_count = 1;
  t->locked_m = m;
  move_thread(*g_sched.load(std::memory_order_acquire), thread_kind::worker, thread_kind::locked);
}

}  // namespace goro::detail

namespace goro {

void unlock_os_thread() {
  detail::machine* m = detail::tl_m;
  detail::task_header* t = m ? m->current : nullptr;
  if (!t) throw std::logic_error("goro::unlock_os_thread: not inside a goro task");
  if (m->lockedg != t || m->lock_count == 0)
    throw std::logic_error(
        "goro::unlock_os_thread: the task is not locked to its thread (more unlock_os_thread "
        "calls than lock_os_thread)");
  if (--m->lock_count == 0) {
    m->lockedg = nullptr;
    t->locked_m = nullptr;
    detail::move_thread(*detail::sched(), detail::thread_kind::locked, detail::thread_kind::worker);
  }
}

}  // namespace goro
