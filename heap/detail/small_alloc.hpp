#pragma once
// The inline fast path for small single objects (gc_new, gc_new_noscan):
// per-thread free lists by 16-byte granule, refilled a block at a time from
// Boehm (heap/small_alloc.cpp explains the design). Not public API.

#include <cstddef>

namespace goro::heap::detail {

/// Objects up to this many bytes take the fast path; bigger ones go to
/// allocate_object(). 2032: the largest granule multiple Boehm still treats
/// as a small object when the request is exact (GC_generic_malloc_many
/// takes the size as given; 2048 would count as large there with interior
/// pointers on and take a whole block). Up to it an object's size is its
/// granules exactly, where Boehm's size map rounds a request up to divide
/// a block evenly depending on which sizes came first (1024-byte objects
/// took 1344 bytes in a run: a live set of them occupied 1.3x its bytes).
/// 2 kinds x 128 slots per thread.
inline constexpr std::size_t kSmallMaxBytes = 2032;
inline constexpr std::size_t kSmallGranule = 16;

/// One thread's free lists: heads of chains linked through each object's
/// first word, [pointer_free][granules]. Lives in an uncollectable (scanned)
/// Boehm block, which keeps the scanned chains alive; the pointer-free
/// chains are marked by the collector's root hook, which finds every block
/// through `prev`/`next` (small_alloc.cpp, "Safety").
struct small_lists {
  void* head[2][kSmallMaxBytes / kSmallGranule + 1];
  small_lists* prev;  // all threads' blocks, under Boehm's allocation lock
  small_lists* next;
};

/// This thread's lists; null until its first small allocation. Trivially
/// initialised (constinit), so reading it is a plain TLS load.
extern constinit thread_local small_lists* tl_small_lists;

/// Slow path: creates this thread's lists or refills one list, counts the
/// refill toward the collection trigger (which may collect), and returns
/// one object. Never null (falls back to allocate()).
void* small_refill(std::size_t granules, bool pointer_free);

/// Frees this thread's lists (the thread is detaching); what they held
/// becomes garbage.
void drop_small_lists() noexcept;

/// `n` (1..kSmallMaxBytes) bytes of collected memory, zeroed unless
/// pointer_free, rounded up to whole granules (no extra byte: see
/// small_alloc.cpp for why single objects do not need one).
inline void* small_alloc(std::size_t n, bool pointer_free) {
  const std::size_t g = (n + kSmallGranule - 1) / kSmallGranule;
  if (small_lists* l = tl_small_lists) [[likely]] {
    void*& head = l->head[pointer_free ? 1 : 0][g];
    if (void* p = head) [[likely]] {
      head = *static_cast<void**>(p);
      *static_cast<void**>(p) = nullptr;
      return p;
    }
  }
  return small_refill(g, pointer_free);
}

}  // namespace goro::heap::detail
