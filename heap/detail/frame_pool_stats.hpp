#pragma once
// The frame pool's counters and knobs, for the driver, the statistics, tests
// and benchmarks (an export header: not public API).

#include <cstddef>
#include <cstdint>

namespace goro::heap::detail {

/// Bytes the pool holds from the GC heap: frames in use plus cached ones.
uint64_t frames_bytes() noexcept;

/// Bytes of frames parked on the central (shared) lists.
uint64_t frames_central_bytes() noexcept;

/// Frames cached on the calling thread's own lists, all size classes.
std::size_t frames_cached_here() noexcept;

/// Whether freed frames are zeroed before they are cached (default on).
/// Benchmarks turn it off to measure what the clearing costs. Not for
/// production use: a cached frame's stale words then keep garbage alive.
void set_frame_clearing(bool on) noexcept;

/// The largest frame the pool recycles; bigger ones go straight to Boehm.
inline constexpr std::size_t kMaxPooledFrame = 4096;

}  // namespace goro::heap::detail
