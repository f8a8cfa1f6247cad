// Holding a memory limit: the heap cap, hitting it, relief collections.
//
// The pacer's trigger compares the heap *estimate*
// (live blocks + bytes allocated since) with a goal below the limit, but
// the limit bounds what is *mapped*, and with automatic collection off
// Boehm maps more whenever an allocation finds no free block of its size,
// whatever the trigger says: partly-used blocks serve only their own size
// class (reference/boehm-probe.md section 10: heap 2-4x live + trigger with
// mixed sizes), blacklisted blocks are skipped, and each expansion takes
// up to heapsize / GC_free_space_divisor at once (MAXHINCR, 16 MiB, per
// step). Measured before this: peaks of limit + 30-100% with the trigger
// never reached. So the driver also caps Boehm's heap: GC_set_max_heap_size
// gets the room the policy computes (pacer_policy: limit - runtime malloc -
// stacks - collector metadata - a margin), refreshed at every check. An
// allocation that would expand past it fails inside Boehm and reaches the
// out-of-memory hook (out_of_memory.cpp), which calls make_room(): the
// pacer decides, as for a trigger, whether a limit-driven collection may
// run now (the GC CPU limiter may say no); if yes the driver collects and
// the allocation retries, if no (or the collection freed nothing usable)
// the cap is raised a step (1/32 of the heap, at least 1 MiB) and the
// allocation retries: the limit stays soft, as GOMEMLIMIT is. A raised cap
// falls back to the room at the next collection. GC_set_max_heap_size alone
// is not a soft limit: without the hook Boehm returns null at the cap
// (boehm-probe.md section 2).
//   The cap bounds the heap's address space, which includes blocks already
// returned to the OS; Boehm remaps those without expanding. After a spike
// or a lowered limit the address space can exceed the room, so every
// recheck and every paced collection also compares what is mapped with the
// cap, and when over it runs limit-driven collections that unmap
// (relieve_over_room), each only if the limiter admits it. They run back to
// back, up to two: Boehm unmaps a block only in the second collection after
// the one that freed it (boehm-probe.md section 1: drop, collect, then the
// first GC_gcollect_and_unmap unmaps almost nothing and the second all of
// it). Spaced a recheck apart instead, a limit lowered just before a
// collection took one collection longer to hold than one lowered just
// after it (the end-to-end test caught it when the small-object path made
// its churn objects 48 bytes instead of 64 and moved the phase). In the
// concurrent mode a heap less than one margin over the cap after a
// concurrent cycle is left alone (relief_tolerance below).
//
// Where the numbers come from: the room is the policy's heap_room()
// (heap/pacer_policy.cpp: limit - runtime malloc - stacks - metadata - a
// margin), and whether a limit-driven collection may run now is its
// collect_when_full() (the pacer's GC CPU limiter). The driver's paced
// collections and accounting are in heap/collector.cpp.

#include <gc.h>

#include <algorithm>
#include <mutex>

#include "heap/collector.hpp"
#include "heap/collector_init.hpp"
#include "heap/detail/collection_events.hpp"
#include "heap/detail/driver.hpp"
#include "heap/detail/driver_state.hpp"
#include "heap/detail/gc_knobs.hpp"
#include "heap/gc_mode.hpp"
#include "heap/gc_settings.hpp"
#include "pacer/trigger.hpp"

namespace goro::heap::detail {

// Sets Boehm's heap cap to the policy's room (or what the out-of-memory
// path raised it to since the last collection, if more); caller holds
// policy_mu.
void apply_cap_locked(const heap_observation& o) {
  const uint64_t room = policy_locked().heap_room(o);
  const uint64_t cap = room == collection_policy::never
                           ? 0
                           : std::max(room, g_driver.raised_cap.load(std::memory_order_relaxed));
  if (cap != g_driver.cap.load(std::memory_order_relaxed)) {
    g_driver.cap.store(cap, std::memory_order_relaxed);
    GC_set_max_heap_size(static_cast<GC_word>(cap));
  }
}

// How far the mapped heap may be over the cap before relief collections
// run. Stop-the-world mode: not at all. Concurrent mode, after a concurrent
// cycle: one cap margin (pacer::heap_cap_margin), so the heap stays under
// the limit itself (after any other collection, as relief goes on: none).
// The pacer aims each concurrent cycle one margin below the cap (pacer/
// trigger.hpp, cap_trigger), from the growth measured in earlier cycles,
// and the first limit-driven cycle has only smaller ones to go by: in
// gcbench-limit steady-1M (258 MiB live) it was predicted 6 MiB of growth
// and took 21, of which 6 MiB memory other than the heap, so the cap (the
// limit less that memory) fell under a heap that had stopped at it. With
// no tolerance that one cycle set off the relief and memory-returning full
// collections (0.3-1 s stopped each there), and then every collection was
// one of them. In heap_gc_mode_test's steady case (128 MiB limit) the heap
// then sat just over the cap, and relief ran at every recheck: about 200
// full collections per 10 concurrent cycles.
namespace {
uint64_t relief_tolerance() noexcept {
  if (current_gc_mode() != gc_mode::concurrent || !last_collection_concurrent) return 0;
  const int64_t limit = memory_limit_setting();
  if (limit == no_memory_limit || limit <= 0) return 0;
  return pacer::heap_cap_margin(static_cast<uint64_t>(limit));
}
}  // namespace

// Collections in a row that relieving the cap may take: the first may only
// age the blocks the previous collection freed, the second unmaps them.
constexpr int kReliefCollections = 2;

// More heap is mapped than the cap allows (a lowered limit, or released
// blocks remapped): limit-driven collections that also unmap, back to back
// while the heap is still over the cap and holds free blocks, each if the
// limiter admits it. The locks are dropped between them so that each one's
// gctrace line and pressure change are delivered.
void relieve_over_room() {
  for (int round = 0; round < kReliefCollections; ++round) {
    {
      std::unique_lock lk(collect_mu, std::try_to_lock);
      if (!lk.owns_lock()) return;  // a collection is running
      bool collect_now = false;
      {
        std::lock_guard plk(policy_mu);
        const heap_observation o = fresh_observation();
        const uint64_t cap = g_driver.cap.load(std::memory_order_relaxed);
        if (cap == 0 || o.heap_mapped_bytes <= cap + relief_tolerance() || o.heap_free_bytes == 0)
          return;
        collect_now = policy_locked().collect_when_full(o);
      }
      if (!collect_now) return;
      release_cycles_left = std::max(release_cycles_left, kReliefCollections);
      collect_locked(collection_reason::trigger);
    }
    deliver_staged_news();
  }
}

bool make_room(std::size_t request, bool must_grow) {
  init();
  flush_allocation_count();
  const GC_word gc_before = GC_get_gc_no();
  bool collected = false;
  {
    std::unique_lock lk(collect_mu);  // waits for a collection in progress
    if (g_driver.cap.load(std::memory_order_relaxed) == 0) return false;  // no cap: the OS refused
    // Someone collected while this thread waited: retry against that.
    if (!must_grow && GC_get_gc_no() != gc_before) return true;
    bool collect_now = false;
    {
      std::lock_guard plk(policy_mu);
      const heap_observation o = fresh_observation();
      if (!must_grow) collect_now = policy_locked().collect_when_full(o);
      if (!collect_now) {
        // Let the heap pass its room by one step: what Boehm would expand
        // by at most (MAXHINCR, 16 MiB) is too coarse near a limit, so a
        // 32nd of the heap, at least 1 MiB, and always the request.
        const uint64_t heap = g_driver.heapsize.load(std::memory_order_relaxed);
        const uint64_t need = (static_cast<uint64_t>(request) + 2 * kBlock) & ~uint64_t{kBlock - 1};
        const uint64_t step = std::max({need, heap / 32, uint64_t{1} << 20});
        const uint64_t base = std::max(g_driver.cap.load(std::memory_order_relaxed), heap);
        g_driver.raised_cap.store(base + step, std::memory_order_relaxed);
        apply_cap_locked(o);
      }
    }
    if (collect_now) {
      collect_locked(collection_reason::trigger, /*at_cap=*/true);
      collected = true;
    }
  }
  if (collected) deliver_staged_news();
  return true;
}

}  // namespace goro::heap::detail
