#pragma once
// Timing of every collection, taken from Boehm's collection events. See
// heap/collection_events.cpp.

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace goro::heap::detail {

struct pause_totals {
  uint64_t collections = 0;  ///< completed collections (any cause)
  int64_t last_pause_ns = 0;
  int64_t total_pause_ns = 0;
  int64_t max_pause_ns = 0;
  int64_t last_mark_ns = 0;
  int64_t total_mark_ns = 0;
  int64_t last_stop_ns = 0;  ///< stopping the world, up to the start of marking
};

/// Adds one pause to /gc/pauses:seconds (heap/heap_metrics.cpp); called by
/// the event callback, so async-signal-safe: two relaxed atomic adds.
void record_pause(int64_t ns) noexcept;

/// Installs the event callback (once, from init()).
void install_collection_events() noexcept;

pause_totals read_pause_totals() noexcept;

/// Called on the collecting thread after each stop-the-world pause with its
/// nanotime bounds (the execution tracer, debug/trace.cpp). Must not
/// allocate or take the collector's lock.
using pause_hook = void (*)(int64_t begin_ns, int64_t end_ns) noexcept;
inline constinit std::atomic<pause_hook> g_pause_hook{nullptr};
/// Whether the world is stopped for a collection now (POST_STOP_WORLD to
/// PRE_START_WORLD). Boehm's push-other-roots hooks run inside stops only
/// in stop-the-world mode; in the concurrent mode they also run in marking
/// steps with the world running, and a hook that walks memory mutators
/// change without the allocation lock must wait for a stop.
bool world_stopped() noexcept;

/// Counts a collection Boehm ran without its START/END events: the
/// incremental cycles of the concurrent mode (collector.cpp) end in
/// GC_finish_collection, which sends none.
void count_collection() noexcept;

/// Copies up to `max` of the most recent pauses (newest first) into `out`
/// and returns how many it copied; at most kRecentPauses are kept.
inline constexpr std::size_t kRecentPauses = 256;
std::size_t recent_pauses(int64_t* out, std::size_t max) noexcept;

}  // namespace goro::heap::detail
