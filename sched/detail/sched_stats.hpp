#pragma once
// What the scheduler counts for the metrics catalog (sched/sched_metrics.cpp
// reads it): per-P idle time and parks, spawned and completed tasks, and
// the scheduling-latency sample (/sched/latencies:seconds).
//
// Scheduling latency is runnable -> running: ready(), yield and spawn stamp
// the task with nanotime() and execute() records now - stamp. Two clock
// reads per task would cost skynet and pingpong several percent (a task
// there lives ~70-130 ns), so only one transition in kLatencySamplePeriod
// is stamped (Go samples too: gTrackingPeriod = 8); an unstamped task costs
// execute() one load and a branch on a line it touches anyway. The same
// branch takes the runs the block profile and the tracer observe
// (kObserveRun), so they cost execute() nothing more while off.
// The stamp lives in the task header (runnable_since); only the M that
// dequeues the task reads and clears it, ordered after the stamp by the
// queue hand-off.

#include <atomic>
#include <cstdint>

#include "core/clock.hpp"
#include "sched/detail/task_header.hpp"

namespace goro::detail {

/// One transition in this many is timed. 64: two clock reads (~40 ns)
/// every 64 transitions is under 1 ns per transition, noise beside the
/// fixed tests (README "What recording costs"); Go times 1 in 8.
inline constexpr uint32_t kLatencySamplePeriod = 64;

/// Per-P counters. `parks`, `idle_ns`, `idle_since` change only under the
/// sched lock (pidleput / pidleget). All are atomics so the metrics reader
/// may load them at any time. Tasks spawned are the P's id-block cursor
/// (processor::tasks_spawned, free); tasks that ended are counted by the
/// registry shards (local_freed + remote_freed): counting them here cost
/// skynet 9 instructions per task, there one store on a line the removal
/// writes anyway.
struct p_stats {
  std::atomic<uint64_t> parks{0};
  std::atomic<int64_t> idle_ns{0};     // idle time before the current idle span
  std::atomic<int64_t> idle_since{0};  // nanotime() the P went idle; 0 while held
  const int64_t created_ns = nanotime();

  void went_idle() noexcept {
    parks.store(parks.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    idle_since.store(nanotime(), std::memory_order_relaxed);
  }
  void went_busy() noexcept {
    const int64_t since = idle_since.load(std::memory_order_relaxed);
    if (since == 0) return;
    idle_ns.store(idle_ns.load(std::memory_order_relaxed) + (nanotime() - since),
                  std::memory_order_relaxed);
    idle_since.store(0, std::memory_order_relaxed);
  }
  static void bump(std::atomic<uint64_t>& c) noexcept {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
};

/// Adds one runnable -> running latency (sched_metrics.cpp).
void record_sched_latency(int64_t ns) noexcept;

/// `t` became runnable on a thread that holds a P whose schedule count is
/// `ticks` (processor::schedticks_total, already in the owner's cache):
/// stamp it one time in kLatencySamplePeriod. The schedule count moves on
/// every task run, so successive transitions sample in turn, and the test
/// costs no store (a thread-local countdown cost two more instructions per
/// transition, measurable in pingpong). Transitions made from threads
/// holding no P are not sampled.
/// Stamps `t` now (ready.cpp): out of line, as the clock read is.
[[gnu::noinline, gnu::cold]] void stamp_runnable_now(task_header* t) noexcept;

inline void stamp_runnable(task_header* t, uint64_t ticks) noexcept {
  if (ticks % kLatencySamplePeriod == 0) [[unlikely]]
    stamp_runnable_now(t);
}

/// runnable_since's value for "observe this run, no latency stamp": a task
/// whose next run the block profile or the tracer wants to see
/// (scheduler.cpp, execute). nanotime() is never this small.
inline constexpr int64_t kObserveRun = 1;

/// Marks `t`, which is not running, for an observed next run unless it is
/// stamped already.
inline void observe_next_run(task_header* t) noexcept {
  if (t->runnable_since == 0) t->runnable_since = kObserveRun;
}

/// Which runnable transitions made on a P take the observed path (ready.cpp,
/// spawn.cpp): those whose schedule count has none of these bits set.
/// kLatencySamplePeriod - 1 (one in 64, stamped for the latency sample)
/// normally; 0 while the execution tracer runs, which draws an arrow from
/// every spawn and wake-up (trace_hooks.hpp, set_tracing). One test of the
/// mask in memory per transition, as many instructions as the test of a
/// constant mask it replaced (a test of the tracer's switch beside it cost
/// three more).
inline constinit std::atomic<uint64_t> g_observe_mask{kLatencySamplePeriod - 1};

inline bool observed_transition(uint64_t ticks) noexcept {
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
  // A relaxed load folded into the test (`test reg, mem`): GCC loads an
  // atomic into a register of its own first, one instruction more on every
  // wake-up and spawn. TSan builds take the plain load, which it sees.
  bool none;
  asm("testq %1, %2" : "=@ccz"(none) : "r"(ticks), "m"(g_observe_mask));
  return none;
#else
  return (ticks & g_observe_mask.load(std::memory_order_relaxed)) == 0;
#endif
}

}  // namespace goro::detail
