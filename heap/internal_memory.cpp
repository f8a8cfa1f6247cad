#include "heap/internal_memory.hpp"

#include <malloc.h>

#include <cstdlib>

#if defined(GORO_HAVE_MIMALLOC)
#include <mimalloc.h>
#endif

namespace goro::heap {

void* internal_alloc(std::size_t n) {
#if defined(GORO_HAVE_MIMALLOC)
  void* p = mi_malloc(n);
#else
  void* p = std::malloc(n);
#endif
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void internal_free(void* p) noexcept {
#if defined(GORO_HAVE_MIMALLOC)
  mi_free(p);
#else
  std::free(p);
#endif
}

uint64_t internal_bytes() noexcept {
#if defined(GORO_HAVE_MIMALLOC)
  std::size_t elapsed, user, sys, rss, peak_rss, commit = 0, peak_commit, faults;
  mi_process_info(&elapsed, &user, &sys, &rss, &peak_rss, &commit, &peak_commit, &faults);
  return commit;
#else
  const struct mallinfo2 m = mallinfo2();
  return m.arena + m.hblkhd;
#endif
}

}  // namespace goro::heap
