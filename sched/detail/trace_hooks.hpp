#pragma once
// The execution tracer's hooks in the scheduler (the tracer is
// debug/trace.cpp). Off: nothing beyond the latency sample's tests, which
// runs, spawns and wake-ups pay anyway (g_observe_mask and kObserveRun in
// sched_stats.hpp; execute_observed in scheduler.cpp tests kTracingBit of
// the debug word, sched/detail/debug_word.hpp, only on that branch), and a
// test of the debug word where a P stops running tasks (trace_close_run).
// On: every transition takes that branch, and each run writes one record
// into its P's ring as it starts (trace_run_begin): no call, no lock, no
// fence, one TSC read, and nothing after the run (the scheduler tail-calls
// the task). A run ends where its P's next record starts: the next run, or
// a gap record that trace_close_run writes where the P stops running tasks
// (it waits for work, polls, runs timers, hands itself to a pinned M). A
// spawn or a wake-up writes no event and reads no clock: it copies the
// identity of the run it is made in (the running task's header holds it,
// trace_run_begin) into the task it readies (task_header::trace_cause_*,
// trace_set_cause), and that task's next run record carries it, so the
// arrow joins two records by identity (the run's index in its P's ring),
// not by time. A blocking call (goro::blocking) is timed on the thread
// that runs it, holding no P, when tracing is on as it starts: one
// debug-word load per call while off.

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
/// `run`: the run named beside it is the task's own, going on (or, once it
/// ended, its last traced run): what a spawn, wake-up or hand-off made in
/// it copies (trace_run_begin writes it, trace_set_cause reads it).
enum class trace_flow : uint8_t { none, spawn, wake, handoff, run };

/// One run of a task on a P, or a gap (task 0: the P ran no task from
/// `start` on), as its P's ring holds it: 32 bytes, written by the M
/// holding the P as the run starts (scheduler.cpp, trace_run_begin) or the
/// gap begins (trace_close_run_slow), read by stop_trace once tracing is
/// off. A record ends where the P's next one starts, or at the stop.
struct trace_record {
  uint64_t start;  // TSC
  uint64_t task;   // id; 0: a gap
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
static_assert(sizeof(trace_record) == 32);

/// The most Ps a trace records (a P with a higher id has no ring): every
/// P (cpu_limit.hpp's kMaxProcs, which scheduler.cpp asserts is no more),
/// so that a run indexes g_trace_p by its P's id unchecked.
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

/// A P's records, oldest overwritten first: records n - cap .. n - 1 are in
/// ev[index & (cap - 1)] (cap is a power of two). Owned by debug/trace.cpp
/// (allocated by start_trace); written only by the M that holds the P. A
/// cache line of its own: two Ps' counters on one line made tracing skynet
/// on 2 Ps 3.3x slower instead of 1.5x.
struct alignas(64) trace_ring {
  trace_record* ev = nullptr;
  uint64_t mask = 0;  // cap - 1
  /// Records written (runs started and gaps). The owner's M stores it
  /// (release, a plain store on x86) after the record; stop_trace reads it.
  std::atomic<uint64_t> n{0};
  /// The identity a run of this P names itself by in its task's header
  /// (trace_cause_word's layout): trace_flow::run in bits 8-15 and
  /// trace_cause_p of this P in the trace the ring was published for in
  /// bits 16-31, so that a run names itself with one OR of its index.
  uint64_t cause_base = 0;
};

/// Moved by every start_trace: a cause made in an earlier trace (kept in a
/// task's header, trace_cause_p's high bits) names no run of a later one.
inline constinit std::atomic<uint32_t> g_trace_epoch{0};

/// What the tracer publishes per P (index: the P's id), a cache line each:
/// only the M holding the P writes `writes`.
/// - `ring`: the P's ring while tracing, else null. start_trace sets it
///   before the tracing bit goes up; stop_trace clears it.
/// - `writes`: odd while the M holding the P writes a record
///   (trace_write_enter to trace_write_exit, always in pairs). stop_trace
///   clears the rings, then waits for every odd count to move, so that no
///   record is written once it reads the rings, and none into a ring that
///   a later start_trace resets or frees. The writer pays no fence: its
///   count's store and its load of `ring` are ordered by stop_trace's
///   membarrier(2) (an asymmetric fence, as userspace RCU uses), a full
///   barrier on every CPU that runs a thread of the process: an M whose
///   odd count that did not make visible loads `ring` after the barrier,
///   null.
struct alignas(64) trace_p_slot {
  std::atomic<trace_ring*> ring{nullptr};
  std::atomic<uint32_t> writes{0};
};
inline constinit trace_p_slot g_trace_p[kMaxTraceP]{};

/// A write into P `p`'s ring (trace_write_enter): `ring` null when the P
/// has none or tracing is off.
struct trace_write {
  trace_p_slot* slot;
  uint32_t count;
  trace_ring* ring;
};

/// On the M holding P `p`, before writing into its ring; trace_write_exit
/// must follow whether or not it returns a ring.
inline trace_write trace_write_enter(int p) noexcept {
  trace_p_slot& s = g_trace_p[p];
  const uint32_t c = s.writes.load(std::memory_order_relaxed) + 1;
  s.writes.store(c, std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);  // the compiler's half; membarrier the CPU's
  return {&s, c, s.ring.load(std::memory_order_acquire)};
}
/// Ends the write that trace_write_enter began: the record is published to
/// stop_trace (its acquire load of the count).
inline void trace_write_exit(const trace_write& w) noexcept {
  w.slot->writes.store(w.count + 1, std::memory_order_release);
}

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
/// a P, the poller's batches, yields, timers).
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

/// While tracing, as P `p` starts running `t` (scheduler.cpp,
/// execute_observed): the run's record, with the cause `t` holds, and the
/// run's identity in `t`'s header for what it spawns, wakes or hands off
/// (trace_set_cause). All of it before the run: nothing is kept across it
/// and nothing follows it (its end is the P's next record's start), so the
/// scheduler resumes the task with a jump. A P with no ring (start_trace)
/// records nothing and its runs name no cause, and so does a run whose M
/// finds its P's ring unpublished (stop_trace may have passed: trace_p_slot).
inline void trace_run_begin(int p, task_header* t) noexcept {
  const trace_write w = trace_write_enter(p);
  trace_ring* const r = w.ring;
  const uint64_t cause = trace_cause_word(t);
  if (r == nullptr) [[unlikely]] {
    t->trace_cause_kind = static_cast<uint8_t>(trace_flow::none);
    trace_write_exit(w);
    return;
  }
  const uint64_t n = r->n.load(std::memory_order_relaxed);
  trace_record* const rec = &r->ev[n & r->mask];
  rec->start = trace_clock();
  rec->task = t->id;
  rec->fn = trace_root_fn(t);
  rec->cause = cause;
  // is_root's byte kept, the run's kind, P and index in place of the cause.
  set_trace_cause_word(t, (cause & 0xff) | r->cause_base | n << 32);
  r->n.store(n + 1, std::memory_order_release);
  trace_write_exit(w);
}

/// While tracing, on the thread of the running task `t` (holding a P): `t`
/// hands a blocking call off (the arrow into its blocking slice).
/// Out of line (ready.cpp): `t`'s header names its run if the run is
/// traced (trace_run_begin); the hand-off keeps that name.
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

/// Where a P stops running tasks (it waits for work, polls, runs timers,
/// hands itself to another M): while tracing, the run it ran last ends
/// here, with a gap record (scheduler.cpp). Off: one test of the debug word.
void trace_close_run_slow(int p) noexcept;
inline void trace_close_run(int p) noexcept {
  if (g_debug_word.load(std::memory_order_relaxed) & kTracingBit) [[unlikely]]
    trace_close_run_slow(p);
}

/// While tracing, on a thread holding a P, whose running task (if any) is
/// `cur`: the run going on there (if traced: `cur`'s header names it,
/// trace_flow::run) spawned or woke `t`, which is not running; `t`'s next
/// run draws its arrow from that run. A later cause replaces an earlier one
/// not yet used, and a transition made outside a traced run clears it. Not
/// a thread-local: a run's identity is in its task's header, where a wake
/// that races with the task's own park (it readies the task before the run
/// that parked it has returned) overwrites it, and the run then names no
/// cause instead of a wrong one.
inline void trace_set_cause(const task_header* cur, task_header* t, trace_flow kind) noexcept {
  if (cur != nullptr && cur->trace_cause_kind == static_cast<uint8_t>(trace_flow::run)) {
    t->trace_cause_kind = static_cast<uint8_t>(kind);
    t->trace_cause_p = cur->trace_cause_p;
    t->trace_cause_run = cur->trace_cause_run;
  } else {
    t->trace_cause_kind = static_cast<uint8_t>(trace_flow::none);
  }
}

/// The observed path of a runnable transition made on a thread holding a P
/// (ready or, with `spawn`, spawn; observed_transition(ticks) chose it)
/// while `cur` runs there: the latency stamp, and while tracing the task's
/// run slice and the cause its arrow is drawn from. Inline in the caller's
/// cold part: as a call it cost a traced transition some 30 instructions,
/// half of them the call's.
inline void observed_transition_slow(const task_header* cur, task_header* t, uint64_t ticks,
                                     bool spawn) noexcept {
  // The tracer's part first: `cur` is not kept across the stamp's call
  // (kept, it cost ready one saved register while not tracing). A stamp
  // replaces kObserveRun; the run is observed all the same.
  if (g_debug_word.load(std::memory_order_relaxed) & kTracingBit) {
    // Its run slice (scheduler.cpp, trace_run_begin). Not observe_next_run:
    // a task made runnable holds 0 or kObserveRun (the block profile's),
    // never a stamp, so one store does.
    t->runnable_since = kObserveRun;
    // The arrow from the run going on here, if traced (debug/trace.cpp).
    trace_set_cause(cur, t, spawn ? trace_flow::spawn : trace_flow::wake);
  }
  stamp_runnable(t, ticks);
}

}  // namespace goro::detail
