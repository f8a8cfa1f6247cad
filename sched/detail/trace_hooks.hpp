#pragma once
// The execution tracer's hooks in the scheduler (the tracer is
// debug/trace.cpp). Off: nothing beyond the latency sample's tests, which
// runs, spawns and wake-ups pay anyway (g_observe_mask and kObserveRun in
// sched_stats.hpp; execute_observed in scheduler.cpp tests kTracingBit of
// the debug word, sched/detail/debug_word.hpp, only on that branch). On:
// every transition takes that branch, a TSC read before and after each run
// and a call per event into the tracer, which appends to a ring owned by
// the P. A blocking call (goro::blocking) is timed on the thread that runs
// it, holding no P, when tracing is on as it starts: one debug-word load
// per call while off.

#include <x86intrin.h>

#include <atomic>
#include <cstdint>

#include "sched/detail/debug_word.hpp"
#include "sched/detail/sched_stats.hpp"
#include "sched/detail/task_header.hpp"

namespace goro::detail {

/// What a flow event on a P records: the running task spawned `t`, woke
/// it, or (`handoff`: t is the running task itself) handed a blocking call
/// off to a thread without a P.
enum class trace_flow : uint8_t { spawn, wake, handoff };

struct trace_hooks {
  /// Task `id`, whose root coroutine's resume function is `fn`, ran on P
  /// `p` from TSC `start` to `end` (called by the P's M; the task may be
  /// gone by then, so it is not passed).
  void (*run)(int p, uint64_t id, const void* fn, uint64_t start, uint64_t end) noexcept;
  /// The task running on P `p` spawned, woke or handed off `t`.
  void (*flow)(int p, const task_header* t, trace_flow kind) noexcept;
  /// A blocking call of task `id` (root resume function `fn`) ran from TSC
  /// `start` to `end` on `thread`, which held no P: blocking-pool thread
  /// number `thread` (from 1), or for a task pinned by lock_os_thread its
  /// own M, id -thread-1. Called before the task is made ready again.
  void (*blocking)(int thread, uint64_t id, const void* fn, uint64_t start, uint64_t end) noexcept;
};

inline constinit std::atomic<const trace_hooks*> g_trace_hooks{nullptr};

struct machine;
/// The observed path of a runnable transition made on `m`'s P (ready or,
/// with `spawn`, spawn; observed_transition(ticks) chose it): the latency
/// stamp, and while tracing the task's run slice and its arrow (ready.cpp).
[[gnu::noinline, gnu::cold]] void observed_transition_slow(machine* m, task_header* t,
                                                           uint64_t ticks, bool spawn) noexcept;

/// Turns the scheduler's trace events on or off (debug/trace.cpp, with
/// g_trace_hooks set): the switch in the debug word for runs, and every
/// runnable transition observed for the spawn and wake arrows.
inline void set_tracing(bool on) noexcept {
  g_observe_mask.store(on ? 0 : kLatencySamplePeriod - 1, std::memory_order_relaxed);
  set_debug_bit(kTracingBit, on);
}

/// While tracing, marks `t` (runnable, not running) for an observed run:
/// for the transitions that do not take the observed path (threads without
/// a P, the poller's batches, yields).
inline void trace_observe(task_header* t) noexcept {
  if (g_debug_word.load(std::memory_order_relaxed) & kTracingBit) [[unlikely]]
    observe_next_run(t);
}

inline uint64_t trace_clock() noexcept {
  return __rdtsc();
}

/// The function a task's run and blocking slices are named by: its root
/// coroutine's resume function (the first word of a GCC or Clang frame).
inline const void* trace_root_fn(const task_header* t) noexcept {
  return *static_cast<void* const*>(t->self.address());
}

/// While tracing, on the thread of the running task `t` (holding a P): `t`
/// hands a blocking call off (the arrow into its blocking slice).
void trace_handoff_slow(task_header* t) noexcept;
inline void trace_handoff(task_header* t) noexcept {
  if (g_debug_word.load(std::memory_order_relaxed) & kTracingBit) [[unlikely]]
    trace_handoff_slow(t);
}

/// The start of a blocking call run for a suspended task on a thread that
/// holds no P: its TSC while tracing, else 0 (then trace_blocking_end does
/// nothing).
inline uint64_t trace_blocking_begin() noexcept {
  if (g_debug_word.load(std::memory_order_relaxed) & kTracingBit) [[unlikely]]
    return trace_clock();
  return 0;
}
/// Reports the call trace_blocking_begin timed as a slice on `thread`'s
/// track (trace_hooks::blocking). `t` is still suspended: call it before
/// making `t` ready.
inline void trace_blocking_end(int thread, const task_header* t, uint64_t start) noexcept {
  if (start != 0) [[unlikely]]
    if (const trace_hooks* h = g_trace_hooks.load(std::memory_order_acquire))
      h->blocking(thread, t->id, trace_root_fn(t), start, trace_clock());
}

/// The end of the last traced run on this thread, and the P and schedule
/// count it ran at: the next run starts there when it is the next one the
/// same P executes with no wait for work between, one clock read per run
/// instead of two. find_runnable clears it when its P's own queue is empty
/// and before the P runs timers, polls or takes from the global queue: a
/// task made ready there or by a thread without a P (a blocking call's
/// return) may have become ready after that end, and its run must not
/// start before the arrow into it.
struct trace_last_run {
  uint64_t end = 0;
  const void* p = nullptr;
  uint64_t ticks = 0;
};
inline thread_local trace_last_run tl_trace_last_run;

}  // namespace goro::detail
