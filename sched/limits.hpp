#pragma once
// The runtime's safety nets and thread accounting, as in Go's runtime/debug:
//
//   goro::set_max_threads(n)      SetMaxThreads: the most threads goro may
//                                 create (default 10000)
//   goro::set_max_stack(bytes)    SetMaxStack: the most frame bytes one
//                                 task's chain of awaits may hold (default 1 GiB)
//   goro::thread_counts()         the threads goro runs now, by kind
//
// Exceeding either limit is not an error a program can recover from: the
// process ends with exit code 2 and Go's message shape,
//   goro: program exceeds 10000-thread limit (threads: 9998 workers, ...)
//   goro: task stack exceeds 1073741824-byte limit
// followed, for the stack, by the innermost frames of the runaway chain.
//
// Threads counted: every thread goro creates — workers (Ms), blocking-pool
// threads, workers pinned by lock_os_thread, and sysmon — not the thread
// that called goro::run. Workers are never destroyed before shutdown (as in
// Go), except a pinned one whose task ended while pinned.
//
// Stack: stackless frames still form chains; each `co_await task` adds the
// awaited frame's allocation size to the awaiter's chain total. A spawned
// task starts a chain of its own (it is a goroutine with its own "stack").

#include <cstdint>

namespace goro {

/// Sets the thread limit and returns the previous one. Takes effect at once
/// (if the runtime already runs more threads, the process ends, as in Go)
/// and carries over to later goro::run calls. Throws std::invalid_argument
/// for n < 1.
int set_max_threads(int n);

/// Sets the task stack limit in bytes and returns the previous one; applies
/// to every later await. Throws std::invalid_argument for bytes < 1.
int64_t set_max_stack(int64_t bytes);

/// Threads the running runtime has created and not yet retired, by kind
/// (all zero when no runtime runs).
struct thread_count {
  int workers = 0;   ///< Ms not pinned to a task
  int blocking = 0;  ///< blocking-pool threads, running fn or idle
  int locked = 0;    ///< Ms pinned to a task by lock_os_thread
  int sysmon = 0;    ///< the monitor thread
  int total() const noexcept { return workers + blocking + locked + sysmon; }
};
thread_count thread_counts() noexcept;

}  // namespace goro
