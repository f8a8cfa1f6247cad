#include "heap/gc.hpp"

#include "heap/collector.hpp"

namespace goro {

void gc() {
  heap::collect(heap::collection_reason::explicit_call);
}

// Three collections: the first frees the blocks of whatever just died; Boehm
// unmaps a free block only when a forced-unmap collection finds it free
// since before the previous collection, which takes two more (measured:
// the probe's table in boehm-probe.md section 1, and tests/heap_reclaim_test).
void free_os_memory() {
  for (int i = 0; i < 3; ++i) heap::collect(heap::collection_reason::release);
}

}  // namespace goro
