#include "heap/gc.hpp"

#include "heap/collector.hpp"

namespace goro {

void gc() {
  heap::collect(heap::collection_reason::explicit_call);
}

void free_os_memory() {
  heap::collect(heap::collection_reason::release);
  heap::collect(heap::collection_reason::release);
}

}  // namespace goro
