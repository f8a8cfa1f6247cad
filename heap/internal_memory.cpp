// Runtime-internal memory and its accounting. See internal_memory.hpp.

#include "heap/internal_memory.hpp"

#include <malloc.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
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

#if defined(GORO_HAVE_MIMALLOC)
namespace {

// mimalloc's committed bytes are what it mapped read-write, the honest
// "internal memory" figure, with one exception measured here: the main
// thread's first segment (32 MiB in mimalloc 2.x, MI_SEGMENT_SHIFT 25) is
// committed eagerly before main() runs, when MIMALLOC_EAGER_COMMIT is on
// (the default). On Linux that commit is only address space until touched
// (a small program showed commit 32 MiB, RSS 3 MiB), yet it took half of a
// 64 MiB memory limit. goro counts that segment by its resident pages
// instead (mincore, at most every 10 ms), and turns eager commit off for
// segments made later (they are committed as their pages are handed out;
// on Linux commit is nearly free, so this costs nothing measurable).
constexpr uintptr_t kSegment = uintptr_t{32} << 20;
constexpr std::size_t kPage = 4096;

std::size_t committed_now() noexcept {
  std::size_t elapsed, user, sys, rss, peak_rss, commit = 0, peak_commit, faults;
  mi_process_info(&elapsed, &user, &sys, &rss, &peak_rss, &commit, &peak_commit, &faults);
  return commit;
}

struct eager_segment {
  uintptr_t base = 0;                  // 0: none found
  std::atomic<int64_t> checked_ns{0};  // atomic: any thread may refresh; 0: never
  std::atomic<uint64_t> untouched{0};  // atomic
};
eager_segment g_eager;

// Static initialisation runs on the main thread: a block it allocates now
// lies in that first segment; the block is kept so the segment stays.
[[maybe_unused]] const bool g_eager_found = [] {
  if (sysconf(_SC_PAGESIZE) != static_cast<long>(kPage)) return false;
  void* pin = mi_malloc(16);  // first, so that the segment exists
  if (pin == nullptr) return false;
  if (!mi_option_is_enabled(mi_option_eager_commit) || committed_now() < kSegment) return false;
  g_eager.base = reinterpret_cast<uintptr_t>(pin) & ~(kSegment - 1);
  mi_option_set(mi_option_eager_commit, 0);
  return true;
}();

uint64_t untouched_eager_bytes() noexcept {
  if (g_eager.base == 0) return 0;
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const int64_t now = static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
  const int64_t last = g_eager.checked_ns.load(std::memory_order_relaxed);
  if (last != 0 && now - last < 10'000'000)
    return g_eager.untouched.load(std::memory_order_relaxed);
  unsigned char vec[kSegment / kPage];
  uint64_t untouched = 0;
  if (mincore(reinterpret_cast<void*>(g_eager.base), kSegment, vec) == 0) {
    for (unsigned char v : vec)
      if ((v & 1) == 0) untouched += kPage;
  }
  g_eager.untouched.store(untouched, std::memory_order_relaxed);
  g_eager.checked_ns.store(now, std::memory_order_relaxed);
  return untouched;
}

}  // namespace
#endif

uint64_t process_malloc_bytes() noexcept {
#if defined(GORO_HAVE_MIMALLOC)
  const uint64_t commit = committed_now();
  const uint64_t untouched = untouched_eager_bytes();
  return commit > untouched ? commit - untouched : 0;
#else
  const struct mallinfo2 m = mallinfo2();
  return m.arena + m.hblkhd;
#endif
}

}  // namespace goro::heap
