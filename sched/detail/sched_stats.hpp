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
// execute() one load and a branch on a line it touches anyway.
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
inline void stamp_runnable(task_header* t, uint64_t ticks) noexcept {
  if (ticks % kLatencySamplePeriod == 0) [[unlikely]]
    t->runnable_since = nanotime();
}

/// `t` is about to run: record its latency if it was stamped.
inline void record_running(task_header* t) noexcept {
  if (const int64_t since = t->runnable_since; since != 0) [[unlikely]] {
    t->runnable_since = 0;
    record_sched_latency(nanotime() - since);
  }
}

}  // namespace goro::detail
