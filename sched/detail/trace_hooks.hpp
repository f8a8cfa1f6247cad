#pragma once
// The execution tracer's hooks in the scheduler (the tracer is
// debug/trace.cpp). Off: nothing beyond the latency sample's tests, which
// runs, spawns and wake-ups pay anyway (g_observe_mask and kObserveRun in
// sched_stats.hpp; execute_observed in scheduler.cpp tests kTracingBit of
// the debug word, sched/detail/debug_word.hpp, only on that branch). On:
// every transition takes that branch, and each run writes one record
// straight into its P's ring (trace_ring): no call, no lock, no fence, one
// TSC read at its end (its start is the previous run's end when it follows
// that run on the same P, tl_trace_last_run). A spawn or a wake-up writes
// no event and reads no clock: it names the run that made it in the task
// it readies (task_header::trace_cause_*, trace_set_cause), and the task's
// next run record carries that name, so the arrow joins two records by
// identity (the run's index in its P's ring), not by time. A blocking call
// (goro::blocking) is timed on the thread that runs it, holding no P, when
// tracing is on as it starts: one debug-word load per call while off.

#include <x86intrin.h>

#include <atomic>
#include <cstdint>

#include "sched/detail/debug_word.hpp"
#include "sched/detail/sched_stats.hpp"
#include "sched/detail/task_header.hpp"

namespace goro::detail {

/// Why a task runs (or, handoff, why a blocking call starts), as its
/// task_header::trace_cause_kind records it: the traced run named beside it
/// spawned it, woke it or (the task's own run) handed its blocking call off.
enum class trace_flow : uint8_t { none, spawn, wake, handoff };

/// One run of a task on a P, as its P's ring holds it: 40 bytes, written by
/// the M holding the P (scheduler.cpp, execute_observed), read by
/// stop_trace once tracing is off.
struct trace_record {
  uint64_t start;  // TSC
  /// TSC at the run's end; 0 while it runs (stop_trace closes a run still
  /// going at the stop there). Stored after the other fields, with release.
  std::atomic<uint64_t> end;
  uint64_t task;   // id
  const void* fn;  // the root coroutine's resume function: names the slice
  /// The run that caused this one, as the task held it (trace_cause_word):
  /// its trace_flow in bits 8-15 (none: no cause), its P and trace
  /// (trace_cause_p) in bits 16-31, its index in its P's ring (low bits)
  /// in bits 32-63. Bits 0-7 are junk. One load and one store per run.
  uint64_t cause;
  trace_flow cause_kind() const noexcept { return static_cast<trace_flow>(cause >> 8 & 0xff); }
  uint16_t cause_p() const noexcept { return static_cast<uint16_t>(cause >> 16); }
  uint32_t cause_run() const noexcept { return static_cast<uint32_t>(cause >> 32); }
};
static_assert(sizeof(trace_record) == 40);

/// The most Ps a trace records (a P with a higher id has no ring): every
/// P (cpu_limit.hpp's kMaxProcs, which scheduler.cpp asserts is no more),
/// so that a run indexes g_trace_rings by its P's id unchecked.
inline constexpr int kMaxTraceP = 1024;

/// How a cause names the P of its run: P + 1 in the low 11 bits, and above
/// them the low 5 bits of the trace's epoch (g_trace_epoch), so that a
/// cause left in a task by an earlier trace (a run that went on past a
/// stop and a start, a wake-up whose task ran only after the stop) names no
/// run of a later one.
inline constexpr int kTracePBits = 11;
static_assert(kMaxTraceP < (1 << kTracePBits));
inline uint16_t trace_cause_p(int p, uint32_t epoch) noexcept {
  return static_cast<uint16_t>((p + 1) | (epoch & 31) << kTracePBits);
}
/// The P a cause names (trace_cause_p's inverse), or -1 for none or for a
/// cause made in a trace other than the one of `epoch`.
inline int trace_cause_p_index(uint16_t cause_p, uint32_t epoch) noexcept {
  if ((cause_p >> kTracePBits) != (epoch & 31)) return -1;
  return (cause_p & ((1 << kTracePBits) - 1)) - 1;
}

/// A P's records, oldest overwritten first: runs n - cap .. n - 1 are in
/// ev[index & (cap - 1)] (cap is a power of two). Owned by debug/trace.cpp
/// (allocated by start_trace); written only by the M that holds the P. A
/// cache line of its own: two Ps' counters on one line made tracing skynet
/// on 2 Ps 3.3x slower instead of 1.5x.
struct alignas(64) trace_ring {
  trace_record* ev = nullptr;
  uint64_t mask = 0;  // cap - 1
  /// Runs completed. The owner's M stores it (release, a plain store on
  /// x86) after the record's end; stop_trace reads it.
  std::atomic<uint64_t> n{0};
  /// trace_cause_p of this P in the trace the ring was published for,
  /// shifted to its place in trace_last_run::current: a run names itself
  /// with one OR of its index.
  uint64_t cause_base = 0;
  /// g_trace_epoch of that trace.
  uint32_t epoch = 0;
};

/// Each P's ring while tracing (index: the P's id), else null. Set by
/// start_trace before the tracing bit goes up.
inline constinit std::atomic<trace_ring*> g_trace_rings[kMaxTraceP]{};
/// Moved by every start_trace: a run that began in an earlier trace does
/// not complete its record in the rings of a later one (which may reuse
/// the earlier trace's memory).
inline constinit std::atomic<uint32_t> g_trace_epoch{0};

struct trace_hooks {
  /// Task `t`'s blocking call ran from TSC `start` to `end` on `thread`,
  /// which held no P: blocking-pool thread number `thread` (from 1), or for
  /// a task pinned by lock_os_thread its own M, id -thread-1. Called before
  /// the task is made ready again (`t` is suspended; the callee reads and
  /// clears its hand-off cause).
  void (*blocking)(int thread, task_header* t, uint64_t start, uint64_t end) noexcept;
};

inline constinit std::atomic<const trace_hooks*> g_trace_hooks{nullptr};

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
inline void trace_blocking_end(int thread, task_header* t, uint64_t start) noexcept {
  if (start != 0) [[unlikely]]
    if (const trace_hooks* h = g_trace_hooks.load(std::memory_order_acquire))
      h->blocking(thread, t, start, trace_clock());
}

/// The end of the last traced run on this thread, and the P and schedule
/// count it ran at: the next run starts there when it is the next one the
/// same P executes with no wait for work between, one clock read per run
/// instead of two. find_runnable clears `p` (trace_break_run_chain) when
/// its P's own queue is empty and before the P runs timers, polls or takes
/// from the global queue: a task made ready there or by a thread without a
/// P (a blocking call's return) may have become ready after that end, and
/// its run must not start before the arrow into it.
struct trace_last_run {
  uint64_t end = 0;
  const void* p = nullptr;  // null: the next run reads the clock
  uint64_t next_ticks = 0;  // the schedule count after the run's
  /// The run going on on this thread, if traced: trace_cause_p of its P
  /// and trace << 32 | its index in the P's ring (low 32 bits); else 0.
  /// What a spawn, wake-up or hand-off made in it records as its cause
  /// (trace_set_cause).
  uint64_t current = 0;
};
inline thread_local trace_last_run tl_trace_last_run;

/// The next traced run on this thread reads the clock for its start.
inline void trace_break_run_chain() noexcept {
  tl_trace_last_run.p = nullptr;
}

/// While tracing, on a thread holding a P: the run going on there (if
/// traced) spawned, woke or handed off `t`, which is not running (or, for
/// a hand-off, is that run's task); `t`'s next run (or blocking slice)
/// draws its arrow from that run. A later cause replaces an earlier one
/// not yet used, and a transition made outside a traced run clears it.
inline void trace_set_cause(task_header* t, trace_flow kind) noexcept {
  const uint64_t run = tl_trace_last_run.current;
  t->trace_cause_kind = static_cast<uint8_t>(run != 0 ? kind : trace_flow::none);
  t->trace_cause_p = static_cast<uint16_t>(run >> 32);
  t->trace_cause_run = static_cast<uint32_t>(run);
}

/// The observed path of a runnable transition made on a thread holding a P
/// (ready or, with `spawn`, spawn; observed_transition(ticks) chose it):
/// the latency stamp, and while tracing the task's run slice and the cause
/// its arrow is drawn from. Inline in the caller's cold part: as a call it
/// cost a traced transition some 30 instructions, half of them the call's.
inline void observed_transition_slow(task_header* t, uint64_t ticks, bool spawn) noexcept {
  stamp_runnable(t, ticks);
  if (g_debug_word.load(std::memory_order_relaxed) & kTracingBit) {
    observe_next_run(t);  // its run slice (scheduler.cpp, execute_observed)
    // The arrow from the run going on here, if traced (debug/trace.cpp).
    trace_set_cause(t, spawn ? trace_flow::spawn : trace_flow::wake);
  }
}

}  // namespace goro::detail
