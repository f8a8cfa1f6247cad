#pragma once
// Pinning a task to its OS thread (Go's runtime.LockOSThread), for
// thread-affine C libraries and thread_local state.
//
//   co_await goro::lock_os_thread();   // from here on, only this thread
//   ...
//   goro::unlock_os_thread();          // may migrate again
//
// From the lock on, the task runs only on the worker thread that ran it when
// it locked, and that thread runs nothing else: when the task suspends, the
// thread hands its P to another worker and sleeps; when the task is made
// ready, whichever worker picks it up hands its P to the locked thread
// (Go's stoplockedm/startlockedm). Calls nest: the task stays pinned until
// as many unlocks as locks. A task that ends while pinned takes its thread
// with it: the thread exits (its thread_local destructors run) and is never
// reused, so state the task left in the thread cannot leak into others.
// goro::blocking(fn) from a pinned task runs fn on the pinned thread.
//
// Why lock is awaited and unlock is a plain call: lock_os_thread() marks a
// point where the task's scheduling changes, and awaiting it documents that
// and guarantees it is used inside a task (it never actually suspends: the
// task is pinned to the thread it is already on). Unlocking needs no
// suspension either, and as a plain call it can run in a destructor (a scope
// guard), where co_await is impossible.

#include <coroutine>

namespace goro {

namespace detail {
/// Pins the calling task to its thread, or counts one more nested lock.
/// Throws std::logic_error outside a goro task.
void lock_current_task();
}  // namespace detail

struct [[nodiscard]] lock_os_thread_awaiter {
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  void await_resume() const { detail::lock_current_task(); }
};

/// Pins the calling task to the thread it runs on (nesting is counted).
/// Throws std::logic_error when awaited outside a goro task.
inline lock_os_thread_awaiter lock_os_thread() noexcept {
  return {};
}

/// Undoes one lock_os_thread(); after the last, the task may run on any
/// worker again. Throws std::logic_error outside a goro task or when the
/// task holds no lock (more unlocks than locks).
void unlock_os_thread();

}  // namespace goro
