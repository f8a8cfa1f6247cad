// Runtime-internal memory and its accounting. See internal_memory.hpp.

#include "heap/internal_memory.hpp"

#include <malloc.h>

#include <atomic>
#include <cstdlib>

#if defined(GORO_HAVE_MIMALLOC)
#include <mimalloc.h>
#endif

namespace goro::heap {
namespace {

// Usable bytes handed out by internal_alloc and not yet freed. Relaxed: a
// statistic.
std::atomic<int64_t> g_in_use{0};

std::size_t usable(void* p) noexcept {
#if defined(GORO_HAVE_MIMALLOC)
  return mi_usable_size(p);
#else
  return malloc_usable_size(p);
#endif
}

}  // namespace

void* internal_alloc(std::size_t n, std::size_t align) {
  if (align == 0 || (align & (align - 1)) != 0) throw std::bad_alloc();
  void* p;
#if defined(GORO_HAVE_MIMALLOC)
  p = align <= alignof(std::max_align_t) ? mi_malloc(n) : mi_malloc_aligned(n, align);
#else
  if (align <= alignof(std::max_align_t)) {
    p = std::malloc(n);
  } else {
    p = nullptr;
    if (posix_memalign(&p, align, n) != 0) p = nullptr;
  }
#endif
  if (p == nullptr) throw std::bad_alloc();
  g_in_use.fetch_add(static_cast<int64_t>(usable(p)), std::memory_order_relaxed);
  return p;
}

void internal_free(void* p) noexcept {
  if (p == nullptr) return;
  g_in_use.fetch_sub(static_cast<int64_t>(usable(p)), std::memory_order_relaxed);
#if defined(GORO_HAVE_MIMALLOC)
  mi_free(p);
#else
  std::free(p);
#endif
}

uint64_t internal_bytes_in_use() noexcept {
  const int64_t n = g_in_use.load(std::memory_order_relaxed);
  return n > 0 ? static_cast<uint64_t>(n) : 0;
}

uint64_t process_malloc_bytes() noexcept {
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
