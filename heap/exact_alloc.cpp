// Single objects above the small-object path (gc_new, gc_new_noscan of
// more than 2032 bytes, heap/detail/small_alloc.hpp) at their exact size.
//
// Why. With interior pointers on, Boehm adds one byte to every request, so
// that a pointer one past the end of an array keeps the array alive
// (reference/boehm-probe.md section 1). For objects of a power-of-two size
// that byte costs far more than a byte: 2048 + 1 no longer fits two to a
// 4 KiB block and takes a whole one, 4096 + 1 takes two blocks, 8192 + 1
// three. Measured before this (/tmp repro, 256 MiB limit, a live set of half the
// limit replaced at random): live sets of 2 and 4 KiB objects occupied
// twice their bytes, so a live set of 50% of the limit was 100% of it in
// the heap and the heap ran to 1.7-2.4x the limit. Go stores such objects
// in size classes of exactly 2048 and 4096 bytes.
//
// Why a single object may skip the byte: the small path's reasoning
// (heap/small_alloc.cpp, "No extra byte"): a pointer one past a single
// object is never the only way a program reaches it. Arrays (gc_new_array,
// gc_allocator) keep the byte: there an end iterator may be what is held.
//
// How. Asking Boehm for n - 1 bytes gives an object of exactly n bytes
// rounded to granules (its own added byte is the n-th). Boehm's NORMAL
// kind assumes that last word is the padding and does not scan it, so a
// scanned object uses goro's whole-object kind (scanned_kind(), as the
// small path does); a pointer-free one is PTRFREE, never scanned. Boehm
// still calls the out-of-memory hook on failure, whose retry uses the
// whole-object kind too (out_of_memory.cpp).

#include <gc.h>
#include <gc/gc_mark.h>

#include "core/fatal.hpp"
#include "heap/alloc_sample.hpp"
#include "heap/collector.hpp"
#include "heap/collector_init.hpp"
#include "heap/detail/allocate.hpp"
#include "heap/detail/driver.hpp"
#include "heap/detail/gc_stress.hpp"
#include "heap/thread_attachment.hpp"

namespace goro::heap::detail {

void* allocate_object(std::size_t n, bool pointer_free) {
  if (n == 0) return allocate(n, pointer_free);
  if (!initialized()) [[unlikely]]
    init();
  require_attached();  // heap/thread_attachment.cpp
  gc_stress_point();   // GORO_DEBUG=gcstress (heap/gc_stress.cpp)
  void* p = pointer_free ? GC_MALLOC_ATOMIC(n - 1) : GC_generic_malloc(n - 1, scanned_kind());
  if (p == nullptr) fatal("collector: GC_MALLOC returned null after the out-of-memory hook");
  charge_allocation(occupied_bytes(p));  // may collect
  note_handout(p, n, n);                 // heap profile (heap/alloc_sample.hpp)
  return p;
}

}  // namespace goro::heap::detail
