// The live heap as Go counts it: bytes of the objects the last collection
// marked.
//
// Why. The driver's cheap live figure is every block holding a survivor,
// whole (heap/collector.cpp, "Live heap"). When survivors are scattered,
// as in a live set whose entries are replaced at random, nearly every block
// holds one, and that figure approaches the whole mapped heap however
// little is live: measured (256 MiB limit, 144 MiB of 64-byte objects
// replaced at random), it read 219-291 MiB. Boehm refills the free slots
// of those blocks before it maps more, so the heap does not grow while
// the program allocates into them, but the pacer, shown "live" = heap,
// set the goal at the live heap, collected on every check, and the GC CPU
// limiter then held collections back while the heap grew to 1.15-1.25x
// the limit with its state `spiral`. With the marked bytes as live, the
// goal leaves the free slots to be reused, as Go's heapMarked does.
//
// How. Boehm keeps the mark bits of the last collection until it sweeps
// a block again (lazily, when the block is next allocated from, where it
// builds a free list of the unmarked objects and leaves the bits), and
// GC_enumerate_reachable_objects_inner visits every marked object. Called
// under the allocation lock right after the collection, before any block
// is reused, so the bits are the collection's. It costs a bit test per
// object slot and a call per marked object: 10-13 ms of one thread's CPU
// for 4M 64-byte objects, against 69-83 ms of process CPU to collect them
// (~15%). So the driver asks for it only while a memory limit is set and
// the blocks in use fill at least half of it, where the figure decides how
// close to the limit the heap may grow; otherwise the block figure only
// makes the gc_percent goal a little larger, never earlier.

#include <gc.h>
#include <gc/gc_mark.h>

#include <cstdint>

#include "heap/detail/driver_state.hpp"

namespace goro::heap::detail {
namespace {

// Large objects (above half a block) occupy whole blocks, as the driver
// charges them (occupied_bytes).
void GC_CALLBACK add_object(void*, std::size_t bytes, void* sum) {
  if (bytes > kBlock / 2) bytes = (bytes + kBlock - 1) & ~(kBlock - 1);
  *static_cast<uint64_t*>(sum) += bytes;
}

void* GC_CALLBACK enumerate_marked(void* sum) {
  GC_enumerate_reachable_objects_inner(add_object, sum);
  return nullptr;
}

}  // namespace

uint64_t marked_bytes() {
  uint64_t sum = 0;
  GC_call_with_alloc_lock(enumerate_marked, &sum);
  return sum;
}

}  // namespace goro::heap::detail
