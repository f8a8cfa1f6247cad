#pragma once
// The knobs' shared state and the hand-off of what a collection has to say
// (gctrace line, pressure transition) from inside the driver's locks to the
// collecting thread after it has released them. Not public API.

#include <cstddef>
#include <cstdint>

#include "pacer/pressure.hpp"

namespace goro::heap {
enum class memory_limit_source : uint8_t;
}

namespace goro::heap::detail {

/// Reads GORO_GC, GORO_MEMLIMIT and GORO_DEBUG's gctrace once; dies with exit
/// code 2 on a malformed value. init() calls it before Boehm starts.
void read_gc_environment();

/// The settings now (atomic reads).
int gc_percent_setting() noexcept;
int64_t memory_limit_setting() noexcept;
bool gctrace_enabled() noexcept;
/// Where the memory limit in force came from (heap/memory_limit_default.hpp).
memory_limit_source memory_limit_source_setting() noexcept;
/// The cgroup default: sets the limit to `bytes` (source cgroup), or to none
/// when `bytes` < 0 (source none), unless GORO_MEMLIMIT or set_memory_limit
/// set it (then nothing changes). Serialised with set_memory_limit.
void apply_default_memory_limit(int64_t bytes);
/// The CPUs a stop-the-world pause takes, for the limiter.
int gc_procs() noexcept;
/// nanotime() when the heap started (gctrace's @time).
int64_t heap_start_ns() noexcept;

/// Recomputes the trigger now (collector.cpp): the setters call it.
void settings_changed();

/// Staging, on the collecting thread, under the driver's locks: no
/// allocation, no lock, no I/O. The line is copied (truncated to 255 bytes).
void stage_trace_line(const char* line, std::size_t n) noexcept;
void stage_pressure_change(pacer::pressure_change c, uint64_t cycle, uint64_t transitions) noexcept;
/// The classifier's state after each collection (atomics for readers).
void publish_pressure_state(pacer::pressure_state s, uint64_t transitions) noexcept;

/// What the pacer decided last (heap_stats, metrics), published by the
/// default policy at every check and collection; relaxed atomics.
struct pacer_view {
  uint64_t goal = UINT64_MAX;
  bool limiter_engaged = false;
  uint64_t limiter_engagements = 0;
  uint64_t limiter_last_engaged_cycle = 0;
  double limiter_gc_share = 0;  ///< GC share of the limiter's last window, at the last check
};
pacer_view read_pacer_view() noexcept;

/// After the locks are released, on the same thread: prints the staged
/// gctrace line to stderr and calls the pressure subscribers.
void deliver_staged_news();

}  // namespace goro::heap::detail

namespace goro::heap {

/// Sets the CPU count the GC CPU limiter assumes (GOMAXPROCS). The default is
/// the CPUs in the process's affinity mask; the scheduler should call this
/// when goro::run starts and on set_max_procs.
void set_gc_procs(int procs) noexcept;

}  // namespace goro::heap
