#pragma once
// gc_pause_log: every stop-the-world pause, one by one, while the log exists.
//
// read_heap_stats() gives pause totals (count, sum, max, last); a benchmark
// or a latency test needs the distribution (p50, p99) of the pauses inside
// one measured interval, however many collections it had. Go's counterpart
// is debug.ReadGCStats' Pause ring, which keeps the last 256; this log keeps
// every pause up to its capacity, in order, and counts the ones past it.
//
//   goro::gc_pause_log log;            // starts recording
//   ... the measured work ...
//   std::vector<int64_t> ns = log.pauses_ns();
//
// A pause is what mutators lose: Boehm's PRE_STOP_WORLD to POST_START_WORLD,
// the same interval read_heap_stats() sums into total_pause_ns.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace goro {

class gc_pause_log {
 public:
  /// Starts recording. The buffer (8 bytes a pause, runtime-internal
  /// memory) is allocated here, so recording never allocates. One log at a
  /// time per process: constructing a second while one exists throws
  /// std::logic_error; capacity 0 throws std::invalid_argument.
  explicit gc_pause_log(std::size_t capacity = 1 << 16);
  ~gc_pause_log();
  gc_pause_log(const gc_pause_log&) = delete;
  gc_pause_log& operator=(const gc_pause_log&) = delete;

  /// The pauses recorded so far, oldest first, in nanoseconds. Safe to call
  /// while collections run.
  std::vector<int64_t> pauses_ns() const;

  /// Pauses that ended after the buffer was full (not in pauses_ns()).
  uint64_t dropped() const noexcept;

  struct state;

 private:
  std::unique_ptr<state> s_;
};

}  // namespace goro
