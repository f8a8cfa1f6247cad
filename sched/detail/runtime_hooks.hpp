#pragma once
// The narrow interface between the header-only task types (task.hpp,
// join_handle.hpp, yield.hpp) and the scheduler's implementation
// (sched/ready.cpp, sched/spawn.cpp, sched/scheduler.cpp). Not for users.

#include <coroutine>

#include "sched/detail/task_header.hpp"

namespace goro::detail {

/// The root task the calling worker is running, or nullptr when the caller
/// is not inside a goro task. Not inlined on purpose: a coroutine may resume
/// on another thread, and compilers may cache a thread_local's address
/// across a suspension point.
[[gnu::noinline]] task_header* current_task() noexcept;

/// Makes `t` runnable (it continues at t->resume). From a worker, `t` goes
/// to that worker's runnext slot; otherwise to the global queue.
void ready(task_header* t) noexcept;

/// Puts the current task at the back of its P's run queue (Gosched).
void yield_current(task_header* t) noexcept;

/// Gives a freshly created root task its id and spawn site and makes it
/// runnable (it is registered later, by the M that first runs it).
void spawn_root(task_header* t, std::source_location site);

/// Called from a root task's final_suspend. Returns the coroutine to
/// continue on this thread (always noop: the worker loop picks the next).
std::coroutine_handle<> root_complete(task_header* t) noexcept;

/// Called by a join handle that is dropped.
void release_handle(task_header* t) noexcept;

/// Whether the runtime is destroying leftover tasks at shutdown (cross-task
/// references must then be left alone).
bool shutting_down() noexcept;

}  // namespace goro::detail
