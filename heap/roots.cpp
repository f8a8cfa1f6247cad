// Roots the collector would not find by itself (see detail/roots.hpp).

#include "heap/detail/roots.hpp"

#include <gc.h>

#include "core/fatal.hpp"
#include "heap/collector_init.hpp"

namespace goro::heap::detail {

void* root_alloc(std::size_t n) {
  init();
  void* p = GC_MALLOC_UNCOLLECTABLE(n == 0 ? 1 : n);
  if (p == nullptr) fatal("root_alloc: out of memory");
  return p;
}

void root_free(void* p) noexcept {
  if (p) GC_FREE(p);
}

}  // namespace goro::heap::detail
