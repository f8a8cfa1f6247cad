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
  /// How many times in a row the runnext slot may be used before a readied
  /// task goes to the back of the queue instead, so that two tasks waking
  /// each other cannot starve a third. Tokio: MAX_LIFO_POLLS_PER_TICK = 3
  /// ("picked out of thin air"); Go bounds it by time-slice inheritance.
  uint32_t runnext_limit = 3;
  /// Passes over the victims when stealing; runnext is stolen only on the
  /// last. Go: stealTries = 4.
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
