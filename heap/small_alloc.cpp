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
// (scanned, pointer-free) and each size in 16-byte granules up to 2032 bytes,
// a chain of free objects linked through their first word. gc_new pops one
// inline (a TLS load, two loads and two stores). An empty chain is refilled
// with GC_generic_malloc_many, which sweeps one block of that size and kind
// and returns its free objects already chained (and cleared, for the scanned
// kind, except the link word, which the pop clears).
//
// Safety. Objects on a chain are allocated as far as Boehm knows, and each
// must stay marked at every collection until it is popped, or the sweep
// frees it while the chain still hands it out (two owners of one object).
// The chain heads live in an uncollectable Boehm block (scanned as a root;
// a thread_local array would not do: the main thread's TLS is not scanned,
// boehm-probe.md section 3, row J). For the scanned kind that is enough:
// the head is marked and each object's link word is scanned, so the whole
// chain is. A pointer-free (PTRFREE) object is never scanned, so its link
// word is invisible and only the head would survive (found under load: the
// HTTP /alloc handler's gc_new_noscan objects were handed out twice and it
// crashed). So every thread's block is on a list (prev/next, changed only
// under Boehm's allocation lock), and a push-other-roots hook, which Boehm
// calls with that lock held and the world stopped after clearing the mark
// bits, walks each pointer-free chain and sets every object's mark bit:
// what Boehm's own thread-local free lists get from
// GC_mark_thread_local_free_lists (goro never enables Boehm's incremental
// mode, so roots are always pushed with the world stopped; under
// GORO_GC_MODE=concurrent Boehm's incremental steps also push roots with
// the world running, while owners pop without the lock, so the hook then
// does nothing: every cycle ends in a stop that pushes the roots again,
// and that one marks the chains). A refill has
// GC_generic_malloc_many store the new chain straight into the head slot
// (its *result contract), so no chain is ever reachable only from a
// register. Each collection
// walks at most one block's objects per size per thread (about 900 for
// the pointer-free sizes); the inline pop is unchanged. When a thread
// detaches, its block leaves the list and is freed, and its cached objects
// become garbage. A collection keeps cached objects like live ones; that
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
#include "heap/detail/collection_events.hpp"
#include "heap/detail/driver.hpp"
#include "heap/detail/gc_stress.hpp"
#include "heap/gc_mode.hpp"
#include "heap/thread_attachment.hpp"

namespace goro::heap::detail {

constinit thread_local small_lists* tl_small_lists = nullptr;

// The scanned kind: its own free lists, a length descriptor to which Boehm
// adds the object size (so the whole object is scanned), cleared on
// allocation. Created once, after GC_INIT.
int scanned_kind() {
  static const int kind = static_cast<int>(GC_new_kind(GC_new_free_list(), GC_DS_LENGTH, 1, 1));
  return kind;
}

namespace {

// Every thread's small_lists, linked through prev/next. Read and changed
// only under Boehm's allocation lock: by the hook below (Boehm holds it)
// and by link_lists/unlink_lists (GC_call_with_alloc_lock).
small_lists* all_lists = nullptr;
GC_push_other_roots_proc previous_push_other_roots = nullptr;

void* GC_CALLBACK link_lists(void* arg) {
  auto* l = static_cast<small_lists*>(arg);
  l->prev = nullptr;
  l->next = all_lists;
  if (all_lists != nullptr) all_lists->prev = l;
  all_lists = l;
  return nullptr;
}

void* GC_CALLBACK unlink_lists(void* arg) {
  auto* l = static_cast<small_lists*>(arg);
  if (l->prev != nullptr)
    l->prev->next = l->next;
  else
    all_lists = l->next;
  if (l->next != nullptr) l->next->prev = l->prev;
  l->prev = l->next = nullptr;
  return nullptr;
}

// Boehm's push-other-roots hook: marks every cached pointer-free object
// (see "Safety"). Runs with the allocation lock held, the world stopped and
// the mark bits of this collection already cleared.
void GC_CALLBACK mark_pointer_free_chains() {
  if (previous_push_other_roots != nullptr) previous_push_other_roots();
  // A concurrent marking step (world running): the cycle's final stop marks
  // them. Only in that mode, so stop-the-world never depends on the event
  // callback that tracks the stops.
  if (current_gc_mode() == gc_mode::concurrent && !detail::world_stopped()) return;
  for (small_lists* l = all_lists; l != nullptr; l = l->next)
    for (void* head : l->head[1])
      for (void* p = head; p != nullptr; p = *static_cast<void**>(p)) GC_set_mark_bit(p);
}

// Installs the hook once, after GC_INIT (small_refill initialises first).
void install_hook() {
  static const bool installed = [] {
    previous_push_other_roots = GC_get_push_other_roots();
    GC_set_push_other_roots(mark_pointer_free_chains);
    return true;
  }();
  (void)installed;
}

}  // namespace

void* small_refill(std::size_t granules, bool pointer_free) {
  if (!initialized()) [[unlikely]]
    init();
  // gcstress: no free lists, so that every allocation reaches allocate()
  // and is counted (heap/gc_stress.cpp).
  if (gc_stress_enabled()) [[unlikely]]
    return allocate(granules * kSmallGranule, pointer_free);
  small_lists* l = tl_small_lists;
  if (l == nullptr) {
    require_attached();  // this thread's first small object: may it allocate?
    // Uncollectable: scanned as a root, never collected; zeroed by Boehm.
    l = static_cast<small_lists*>(GC_MALLOC_UNCOLLECTABLE(sizeof(small_lists)));
    if (l == nullptr) return allocate(granules * kSmallGranule, pointer_free);
    install_hook();
    GC_call_with_alloc_lock(link_lists, l);
    tl_small_lists = l;
  }
  void*& head = l->head[pointer_free ? 1 : 0][granules];
  // Stored straight into the head slot, where a collection finds it (see
  // "Safety"); a local would hold the only pointer to a pointer-free chain.
  GC_generic_malloc_many(granules * kSmallGranule, pointer_free ? GC_I_PTRFREE : scanned_kind(),
                         &head);
  if (head == nullptr) return allocate(granules * kSmallGranule, pointer_free);  // OOM path
  std::size_t count = 0;
  for (void* p = head; p != nullptr; p = *static_cast<void**>(p)) ++count;
  charge_allocation(static_cast<int64_t>(count * granules * kSmallGranule));  // may collect
  // A collection inside charge_allocation keeps the chain (see "Safety"),
  // so pop as usual.
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
  GC_call_with_alloc_lock(unlink_lists, l);
  GC_FREE(l);
}

}  // namespace goro::heap::detail
