#pragma once
// Knobs for one goro::run. Defaults are Go's; tests shrink them to reach
// the overflow, steal and fairness paths quickly.

#include <chrono>
#include <cstdint>

namespace goro {

struct runtime_options {
  /// Number of Ps (workers running tasks). 0 = GORO_MAXPROCS if set, else
  /// the default from the CPU affinity mask and the cgroup quota.
  int max_procs = 0;
  /// Local run-queue capacity per P: a power of two in [2, 256]. Go: 256.
  uint32_t run_queue_size = 256;
  /// Every Nth schedule a P takes from the global queue first. Go: 61
  /// ("61 is fairly arbitrary", proc.go schedule/findRunnable).
  uint32_t global_queue_interval = 61;
  /// Capacity of each P's run stack of spawned tasks that have not run yet
  /// (sched/detail/run_stack.hpp): a power of two in [2, 1024]. A spawn that finds
  /// it full goes to the local ring instead. 1024: room for a spawn tree's
  /// frontier (depth x fan-out) with some subtrees started beside it.
  uint32_t run_stack_size = 1024;
  /// How many times in a row the runnext slot (and the run stack of spawned
  /// tasks) may be used before the ring's head runs first, so that two tasks
  /// waking each other, or a chain of spawns, cannot starve a third; a task
  /// readied past the limit goes to the back of the queue. Tokio:
  /// MAX_LIFO_POLLS_PER_TICK = 3 ("picked out of thin air"); Go bounds it by
  /// time-slice inheritance.
  uint32_t runnext_limit = 3;
  /// Passes over the victims when stealing; runnext (and the newest task of
  /// a run stack) is stolen only on the last. Go: stealTries = 4.
  uint32_t steal_passes = 4;
  /// How long an idle goro::blocking thread waits for another call before
  /// it exits; >= 0. Tokio's blocking pool: 10 s (Go has no pool: a thread
  /// blocked in a syscall returns to the idle M list and stays forever).
  std::chrono::nanoseconds blocking_keep_alive = std::chrono::seconds(10);
  /// Read GORO_* environment variables (GORO_MAXPROCS, GORO_DEBUG). A
  /// malformed value ends start-up with one line on stderr and exit code 2.
  bool read_environment = true;
};

}  // namespace goro
