#pragma once
// Counters of the background release (heap/background_release.cpp), for the
// heap statistics (an export header: not public API).

#include <cstdint>

namespace goro::heap::detail {

/// Collections the background release has run.
uint64_t background_release_passes() noexcept;

/// Bytes those collections unmapped (growth of Boehm's unmapped total across
/// each release; address space later reused is not subtracted).
uint64_t background_released_bytes() noexcept;

}  // namespace goro::heap::detail
