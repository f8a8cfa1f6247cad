#pragma once
// Choosing the collection mode at start-up (heap/gc_mode.cpp). Not public API.

#include <cstdint>

namespace goro::heap::detail {

/// Reads GORO_GC_MODE and, for concurrent, switches Boehm's incremental mode
/// on where the kernel's write tracking is usable. Called by init() after
/// GC_INIT and before the first collection and thread registration.
void choose_gc_mode();

/// CPU time spent marking concurrent cycles with the world running, all
/// cycles so far: by allocating threads in their allocation slow paths
/// (Boehm's GC_rate steps: Go's assists) and by GC_collect_a_little calls
/// (the collecting thread: Go's dedicated worker). From the patched
/// libgc's per-step thread CPU clock (patch 0003); zeros in stw mode.
struct mark_cpu {
  int64_t assist_ns = 0;
  int64_t dedicated_ns = 0;
  int64_t total() const noexcept { return assist_ns + dedicated_ns; }
};
mark_cpu concurrent_mark_cpu() noexcept;

}  // namespace goro::heap::detail
