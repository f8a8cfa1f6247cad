#pragma once
// The unit of work of goro::blocking: an intrusive node that lives inside
// the awaiting coroutine's frame (the awaiter object), so offloading a call
// allocates nothing and its result sits in GC-scanned memory. Internal.

#include "sched/detail/task_header.hpp"

namespace goro::detail {

struct blocking_job {
  /// Calls the user's function and stores its result or exception in the
  /// awaiter. Never throws. Must not resume the task.
  void (*run)(blocking_job*) noexcept = nullptr;
  /// The suspended task to make ready once `run` returned.
  task_header* task = nullptr;
  /// Link in the pool's queue (protected by the pool lock).
  blocking_job* next = nullptr;
};

/// Runs `j` on a thread that holds no P, then makes j->task ready: on a
/// blocking-pool thread, or, when the task is locked to its thread
/// (lock_os_thread), on that thread after it handed its P off. The caller has
/// already suspended the task (t->resume set) and must not touch `j` again.
void submit_blocking(blocking_job* j);

}  // namespace goro::detail
