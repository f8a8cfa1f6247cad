#pragma once
// The task control block (Go's g): the part of every coroutine promise that
// the scheduler sees. It lives *inside* the coroutine frame, so scheduling a
// task allocates nothing: run queues hold task_header pointers and the global
// queue links them through `next`.
//
// Only spawned tasks (roots of a chain of awaits, one per `goro::spawn`) use
// the scheduling fields; a task that is merely awaited runs as part of its
// awaiter's chain and leaves them idle.

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <source_location>

namespace goro::detail {

struct task_header;
struct machine;
struct sync_waiter;

/// Join-state bits of a root task. Written with atomic RMW by the task that
/// completes and by the join handle's owner.
enum join_bits : uint32_t {
  kComplete = 1,  // the root reached final_suspend
  kHandle = 2,    // a join_handle still refers to the task
  kWaiter = 4,    // a task is suspended awaiting the join handle (`joiner` set)
};

struct task_header {
  /// Link in the global run queue or a batch being moved. Owned by whoever
  /// holds the task queued (the sched lock for the global queue).
  task_header* next = nullptr;
  /// Where this goroutine continues: the innermost suspended coroutine of
  /// its await chain. Written by the awaitable that suspends it, before the
  /// task is made runnable; read by the worker that runs it.
  std::coroutine_handle<> resume;
  /// The M this root task is pinned to by lock_os_thread, or null. Written
  /// only by the task itself while it runs; read by whichever M dequeues it
  /// (the queue hand-off orders the two). Beside `resume`: both are read on
  /// every schedule.
  machine* locked_m = nullptr;
  /// nanotime() when a sampled transition made the task runnable, else 0
  /// (sched/detail/sched_stats.hpp). Written by whoever readies the task,
  /// read and cleared by the M that runs it.
  int64_t runnable_since = 0;
  /// The root frame itself (for destroy). Set by spawn.
  std::coroutine_handle<> self;
  /// Task awaiting this one's join handle; valid when kWaiter is set.
  task_header* joiner = nullptr;
  /// The task's slot in its registry shard (sched/detail/scheduler.hpp),
  /// null until the task first runs. Written by the M that first runs it,
  /// before the body starts; read by whoever destroys the task.
  std::atomic<task_header*>* reg_slot = nullptr;
  /// Unique id (Go's goid), 0 for tasks that were never spawned.
  uint64_t id = 0;
  /// Spawn site, for reports of uncaught exceptions and task dumps.
  std::source_location spawn_site;
  std::atomic<uint32_t> join_state{0};
  /// What the task waits on and since when (sched/detail/wait_reason.hpp):
  /// a wait_reason in the low 4 bits, the coarse second it parked in bits
  /// 8-31 (the debug word it parked with, sched/detail/debug_word.hpp). Written by the task as it
  /// parks and by the M that runs it (running); read by task dumps and the block profile.
  std::atomic<uint32_t> wait_word{0};
  bool is_root = false;
  /// While tracing: the traced run that last spawned, woke or handed off
  /// the task (trace_set_cause, sched/detail/trace_hooks.hpp), a
  /// trace_flow, the run's P + 1 and its index in that P's ring. Written by
  /// that run's M before the task is made runnable (a hand-off: by the task
  /// itself, before the call is queued); read by the M that runs it next
  /// (a hand-off: by the thread that runs the call), which replaces it with
  /// the identity of the task's own run (trace_flow::run, trace_run_begin)
  /// for what that run readies. In the padding after is_root: the header
  /// does not grow.
  uint8_t trace_cause_kind = 0;
  uint16_t trace_cause_p = 0;
  uint32_t trace_cause_run = 0;
  /// The exception a task body ended with, if any.
  std::exception_ptr exception;
  /// The sync primitive queue node this task is parked on (mutex, rw_mutex,
  /// semaphore, wait_group, once), or null. Written only by the task itself
  /// (when it parks and when it resumes); read at shutdown, after every
  /// worker has stopped, to unlink it before any frame is destroyed
  /// (sched/detail/wait_queue.hpp).
  sync_waiter* parked = nullptr;
};
static_assert(sizeof(task_header) == 104, "task_header: the trace cause fills is_root's padding");

/// The trace cause's fields with is_root before them, as one aligned word
/// (a traced run copies it into its record in one load: trace_record::cause
/// decodes it, ignoring is_root's byte).
static_assert(offsetof(task_header, is_root) % 8 == 0 &&
                  offsetof(task_header, trace_cause_kind) == offsetof(task_header, is_root) + 1 &&
                  offsetof(task_header, trace_cause_p) == offsetof(task_header, is_root) + 2 &&
                  offsetof(task_header, trace_cause_run) == offsetof(task_header, is_root) + 4,
              "task_header: the trace cause is not one word with is_root");
inline uint64_t trace_cause_word(const task_header* t) noexcept {
  uint64_t w;
  std::memcpy(&w, reinterpret_cast<const char*>(t) + offsetof(task_header, is_root), sizeof w);
  return w;
}
/// Stores the word trace_cause_word reads (its low byte is is_root's: keep it).
inline void set_trace_cause_word(task_header* t, uint64_t w) noexcept {
  std::memcpy(reinterpret_cast<char*>(t) + offsetof(task_header, is_root), &w, sizeof w);
}

}  // namespace goro::detail
