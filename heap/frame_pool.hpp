#pragma once
// Coroutine-frame memory. Frames must be scanned by the collector (a GC
// pointer in a suspended task's locals keeps its object alive) but are freed
// explicitly when the coroutine is destroyed, never collected.

#include <cstddef>

namespace goro::heap {

/// Never returns null: running out of memory is fatal.
void* frame_alloc(std::size_t n);
void frame_free(void* p, std::size_t n) noexcept;

}  // namespace goro::heap
