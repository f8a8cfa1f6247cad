#pragma once
// What the scheduler counts for the metrics catalog (sched/sched_metrics.cpp
// reads it): per-P idle time and parks, spawned and completed tasks, and
// the scheduling-latency sample (/sched/latencies:seconds).
//
// Scheduling latency is runnable -> running: ready(), yield and spawn stamp
// the task with nanotime() and execute() records now - stamp. Two clock
// reads per task would cost skynet and pingpong several percent (a task
// there lives ~70-130 ns), so only one transition in kLatencySamplePeriod
// per thread is stamped (Go samples too: gTrackingPeriod = 8); an unstamped
// task costs execute() one load and a branch on a line it touches anyway.
// The stamp lives in the task header (runnable_since); only the M that
// dequeues the task reads and clears it, ordered after the stamp by the
// queue hand-off.

#include <atomic>
#include <cstdint>

#include "core/clock.hpp"
#include "sched/detail/task_header.hpp"

namespace goro::detail {

/// One transition in this many per thread is timed. 64: measured to keep
/// skynet and pingpong within noise (README "Metrics"); Go's 8 cost ~4%.
inline constexpr uint32_t kLatencySamplePeriod = 64;

/// Per-P counters. `parks`, `idle_ns`, `idle_since` change only under the
/// sched lock (pidleput / pidleget); `spawned` and `completed` only on the
/// P's owner M (relaxed load + store, as schedticks_total). All are atomics
/// so the metrics reader may load them at any time.
struct p_stats {
  std::atomic<uint64_t> parks{0};
  std::atomic<int64_t> idle_ns{0};     // idle time before the current idle span
  std::atomic<int64_t> idle_since{0};  // nanotime() the P went idle; 0 while held
  std::atomic<uint64_t> spawned{0};
  std::atomic<uint64_t> completed{0};
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

// This thread's countdown to the next timed transition.
inline constinit thread_local uint32_t tl_latency_countdown = 0;

/// `t` became runnable: stamp it if this is the sampled transition.
inline void stamp_runnable(task_header* t) noexcept {
  if (tl_latency_countdown-- == 0) [[unlikely]] {
    tl_latency_countdown = kLatencySamplePeriod - 1;
    t->runnable_since = nanotime();
  }
}

/// `t` is about to run: record its latency if it was stamped.
inline void record_running(task_header* t) noexcept {
  if (const int64_t since = t->runnable_since; since != 0) [[unlikely]] {
    t->runnable_since = 0;
    record_sched_latency(nanotime() - since);
  }
}

}  // namespace goro::detail
