// Small single objects: per-thread free lists refilled from Boehm a block at
// a time (what Boehm's gc_inline.h GC_MALLOC_WORDS does, and Go's mcache).
//
// Why. GC_MALLOC is an out-of-line call that looks up Boehm's own
// thread-local lists by size, and with interior pointers on it adds one byte
// to every request, so a 16-byte node becomes a 32-byte object and a 32-byte
// one 48 (reference/boehm-probe.md sections 1 and 5: the inline path is ~2x
// faster and gives exact granule sizes). goro's allocation-heavy programs
// (trees, lists, small structs) pay both on every object.
//
// Model. Each thread has small_lists (small_alloc.hpp): for each kind
// (scanned, pointer-free) and each size in 16-byte granules up to 256 bytes,
// a chain of free objects linked through their first word. gc_new pops one
// inline (a TLS load, two loads and two stores). An empty chain is refilled
// with GC_generic_malloc_many, which sweeps one block of that size and kind
// and returns its free objects already chained (and cleared, for the scanned
// kind, except the link word, which the pop clears).
//
// Safety. Objects on a chain are allocated as far as Boehm knows; they are
// kept from being collected by the chain itself, whose head lives in an
// uncollectable Boehm block (scanned as a root). A thread_local array would
// not do: the main thread's TLS is not scanned (boehm-probe.md section 3,
// row J). When a thread detaches, its block is freed and its cached objects
// become garbage. A collection marks cached objects like live ones; that
// retains at most one block per size and kind per thread.
//
// No extra byte. Boehm adds a byte so that a pointer one past the end of an
// object still keeps that object alive (arrays, end iterators). A single
// object from gc_new is not an array, and a pointer one past it is never
// the only way a program reaches it, so the fast path rounds to granules
// only; gc_new_array and gc_allocator keep the extra byte (allocate()).
// Boehm's NORMAL kind cannot hold such objects: with interior pointers on,
// its descriptor skips each object's last word (assumed to be the padding
// that holds the extra byte), so the last pointer of an exact-size object
// would not be scanned (found the hard way: binary trees lost their right
// subtrees). Scanned objects therefore use a kind of goro's own
// (GC_new_kind) whose descriptor covers the whole object; pointer-free ones
// use Boehm's PTRFREE kind, which is never scanned.
//
// Accounting. A refill counts the whole chain's bytes toward the driver's
// trigger at once (as Boehm counts its own refills), so the inline path
// has no counter at all.

#include "heap/detail/small_alloc.hpp"

#include <gc.h>
#include <gc/gc_inline.h>
#include <gc/gc_mark.h>

#include "heap/alloc_sample.hpp"
#include "heap/collector.hpp"
#include "heap/collector_init.hpp"
#include "heap/detail/allocate.hpp"
#include "heap/detail/driver.hpp"

namespace goro::heap::detail {

constinit thread_local small_lists* tl_small_lists = nullptr;

namespace {

// The scanned kind: its own free lists, a length descriptor to which Boehm
// adds the object size (so the whole object is scanned), cleared on
// allocation. Created once, after GC_INIT.
int scanned_kind() {
  static const int kind = static_cast<int>(GC_new_kind(GC_new_free_list(), GC_DS_LENGTH, 1, 1));
  return kind;
}

}  // namespace

void* small_refill(std::size_t granules, bool pointer_free) {
  if (!initialized()) [[unlikely]]
    init();
  small_lists* l = tl_small_lists;
  if (l == nullptr) {
    // Uncollectable: scanned as a root, never collected; zeroed by Boehm.
    l = static_cast<small_lists*>(GC_MALLOC_UNCOLLECTABLE(sizeof(small_lists)));
    if (l == nullptr) return allocate(granules * kSmallGranule, pointer_free);
    tl_small_lists = l;
  }
  void*& head = l->head[pointer_free ? 1 : 0][granules];
  void* chain = nullptr;
  GC_generic_malloc_many(granules * kSmallGranule, pointer_free ? GC_I_PTRFREE : scanned_kind(),
                         &chain);
  if (chain == nullptr) return allocate(granules * kSmallGranule, pointer_free);  // OOM path
  head = chain;  // reachable from the root block before anything can collect
  std::size_t count = 0;
  for (void* p = chain; p != nullptr; p = *static_cast<void**>(p)) ++count;
  charge_allocation(static_cast<int64_t>(count * granules * kSmallGranule));  // may collect
  // A collection inside charge_allocation leaves the chain alone (it is
  // reachable), so pop as usual.
  void* p = head;
  head = *static_cast<void**>(p);
  *static_cast<void**>(p) = nullptr;
  note_handout(p, granules * kSmallGranule, count * granules * kSmallGranule);  // heap profile
  return p;
}

void drop_small_lists() noexcept {
  small_lists* l = tl_small_lists;
  if (l == nullptr) return;
  tl_small_lists = nullptr;
  GC_FREE(l);
}

}  // namespace goro::heap::detail
