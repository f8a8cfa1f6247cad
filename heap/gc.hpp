#pragma once
// Explicit collection, as Go's runtime.GC and debug.FreeOSMemory.

namespace goro {

/// Runs a full stop-the-world collection and returns when it is done (Go's
/// runtime.GC). Waits first for a collection already running elsewhere.
/// Finalizers of objects it found unreachable run afterwards, on the
/// finalizer thread, not before gc() returns.
void gc();

/// Collects and returns as much free heap memory to the OS as it can (Go's
/// debug.FreeOSMemory): three collections that unmap free blocks, because
/// Boehm unmaps a block only once it has stayed free across collections.
/// Costs three marks of the live heap.
void free_os_memory();

}  // namespace goro
