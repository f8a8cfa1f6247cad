#pragma once
// Choosing the collection mode at start-up (heap/gc_mode.cpp). Not public API.

namespace goro::heap::detail {

/// Reads GORO_GC_MODE and, for concurrent, switches Boehm's incremental mode
/// on where the kernel's write tracking is usable. Called by init() after
/// GC_INIT and before the first collection and thread registration.
void choose_gc_mode();

}  // namespace goro::heap::detail
