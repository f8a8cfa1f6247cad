#include "heap/frame_pool.hpp"

#include <gc.h>

#include <cstdlib>

#include "core/fatal.hpp"

namespace goro::heap {

// TODO(heap issue): per-worker free lists by size class; this first version
// goes straight to Boehm's uncollectable allocator (scanned, never collected).
void* frame_alloc(std::size_t n) {
#if defined(GORO_FRAMES_MALLOC)
  void* p = std::malloc(n);
#else
  void* p = GC_MALLOC_UNCOLLECTABLE(n);
#endif
  if (p == nullptr) fatal("frame_alloc: out of memory for a coroutine frame");
  return p;
}

void frame_free(void* p, std::size_t) noexcept {
#if defined(GORO_FRAMES_MALLOC)
  std::free(p);
#else
  GC_FREE(p);
#endif
}

}  // namespace goro::heap
