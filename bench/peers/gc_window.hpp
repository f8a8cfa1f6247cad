#pragma once
// gc_window: what the collector did during one measured interval, for the
// allocation workloads' JSON line: cycles and GC CPU fraction (the Go peer's
// gc_cycles / gc_cpu_fraction) and every stop-the-world pause ("gc_pauses").
//
// Construct it right after run_report::begin() and call finish() right after
// run_report::end(), both inside the root task.
//
// gc_cpu_fraction is counted as Go counts it (/cpu/classes/gc/total, and
// MemStats.GCCPUFraction in Go 1.19): a stop-the-world pause of t costs
// procs x t, over procs x wall; goro does all its GC work inside the pause,
// so that is the pauses' share of the wall time. The CPU the process really
// spent inside collections (heap_stats' gc_cpu_ns, all threads: the markers'
// work, less whatever the OS gave to other processes meanwhile) is the extra
// field "gc_cpu_measured_fraction", over procs x wall.

#include <cstdint>
#include <vector>

#include "bench/peers/report.hpp"
#include "goro.hpp"

namespace goro_peers {

class gc_window {
 public:
  gc_window();

  /// Stops the window, records gc_cycles/gc_cpu_fraction and the
  /// "gc_pauses" field in `r`, and returns the pauses (ns, in order).
  std::vector<int64_t> finish(run_report& r, int procs);

 private:
  goro::gc_pause_log log_;
  goro::heap_stats s0_;
  int64_t t0_ns_;
};

}  // namespace goro_peers
