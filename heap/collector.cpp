// The collection driver.
//
// Model. Boehm's own trigger is off (GC_set_disable_automatic_collection, see
// collector_init.cpp). Every allocation through goro adds its size, rounded
// the way Boehm rounds it, to a counter private to the allocating thread;
// every kFlushBytes the thread adds its count to one shared atomic and
// compares the heap estimate (live after the last collection + allocated
// since it started) with the trigger the policy chose. At or above the
// trigger, that thread tries to become the collector: one collection at a
// time (collect_mu), and a thread that finds a collection in progress does
// not wait for it but keeps allocating until Boehm stops the world. The
// collecting thread re-checks the estimate under the lock (the collection it
// raced with may have just reset it), runs GC_gcollect, samples the heap,
// and asks the policy for the next trigger.
//
// Between collections the policy is asked again every kRecheckBytes of
// allocation (any thread, try-lock: a thread that finds the policy busy just
// goes on), so a memory-limit policy sees non-heap overhead change within a
// cycle. Calls into the policy are serialised by policy_mu.
//
// Lock order: collect_mu, then policy_mu. Neither is held while allocating
// from the collected heap. Boehm's allocation lock is taken inside
// GC_gcollect and GC_get_heap_usage_safe only.
//
// Live heap. Boehm does not export its marked-byte count, and its sweep is
// lazy, so right after a collection the exact live size is unknown without
// walking every object (GC_enumerate_reachable_objects_inner, O(objects)).
// The driver uses heap mapped minus free blocks instead: Boehm frees empty
// blocks eagerly during the collection, so this counts every block holding at
// least one survivor, whole. It overestimates live by partly-used blocks
// (fragmentation), which makes the trigger a little later, never earlier.
// Frame-pool memory (uncollectable, in its own blocks) is subtracted.
//
// Returning memory. When the mapped heap after a collection exceeds what the
// policy wants retained, the next two driver collections unmap free blocks
// (GC_gcollect_and_unmap): Boehm unmaps only blocks that have been free since
// before the previous collection (boehm-probe.md section 1), so one is not
// enough. Released bytes are Boehm's unmapped bytes.
//
// Holding a memory limit. The pacer's trigger compares the heap *estimate*
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
// its churn objects 48 bytes instead of 64 and moved the phase).
//
// Rejected: a pacer thread polling GC_get_bytes_since_gc (the probe's
// section 2 did this): it costs a thread and a wake-up per poll, reacts a
// poll period late, and that getter is unsynchronised. Collecting on the
// allocating thread is what Go does when a goroutine is asked to assist.

#include "heap/collector.hpp"

#include <gc.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>

#include "core/clock.hpp"
#include "core/fatal.hpp"
#include "heap/alloc_sample.hpp"
#include "heap/collector_init.hpp"
#include "heap/detail/collection_events.hpp"
#include "heap/detail/driver.hpp"
#include "heap/detail/frame_pool_stats.hpp"
#include "heap/detail/gc_knobs.hpp"
#include "heap/finalizer_thread.hpp"
#include "heap/internal_memory.hpp"
#include "heap/pacer_policy.hpp"

namespace goro::heap {
namespace {

// "Every few tens of KiB" (DESIGN.md). At ~10 ns per small object this is a
// flush every few microseconds of allocation, and with N threads at most
// N x 32 KiB goes uncounted, noise against the 4 MiB minimum trigger.
constexpr int64_t kFlushBytes = 32 << 10;

// Ask the policy again every 1 MiB of allocation between collections: a
// quarter of the smallest cycle (the 4 MiB floor). Picked, not measured.
constexpr int64_t kRecheckBytes = 1 << 20;

// Explicit frees below this go to the collector instead of GC_FREE:
// GC_FREE takes Boehm's global lock (30 ns alone, 60-240 ns with two threads
// contending, boehm-probe.md section 4), a 512-byte block is 1/8192 of the
// smallest cycle. Picked from those numbers, not tuned.
constexpr std::size_t kExplicitFreeMin = 512;

// Boehm's size rounding with interior pointers on: one extra byte, then up
// to the 16-byte granule for small objects (boehm-probe.md section 1),
// whole 4 KiB blocks for objects above half a block (MAXOBJBYTES).
constexpr std::size_t kGranule = 16;
constexpr std::size_t kBlock = 4096;
constexpr int64_t charged_bytes(std::size_t n) noexcept {
  const std::size_t m = n + 1;
  if (m <= kBlock / 2) return static_cast<int64_t>((m + kGranule - 1) & ~(kGranule - 1));
  return static_cast<int64_t>((m + kBlock - 1) & ~(kBlock - 1));
}

// This thread's allocation not yet added to allocated_total. Owner thread
// only. Plain integer, so a main-thread thread_local is fine here (it holds
// no GC pointer).
constinit thread_local int64_t tl_pending = 0;
// Set while this thread runs a collection; the out-of-memory hook must not
// try to start another one from inside it. Owner thread only.
constinit thread_local bool tl_collecting = false;

struct driver_shared {
  // Sum of all flushed per-thread counts (explicit frees subtracted).
  // Atomic (relaxed): it is a statistic, not a synchronisation point.
  std::atomic<int64_t> allocated_total{0};
  // allocated_total when the last collection started. Written by the
  // collecting thread under collect_mu; read anywhere.
  std::atomic<int64_t> allocated_at_gc{0};
  // Heap in use after the last collection (see "Live heap" above). Written
  // under collect_mu.
  std::atomic<uint64_t> live{0};
  // The policy's answer. Written under policy_mu.
  std::atomic<uint64_t> trigger{collection_policy::never};
  // allocated_total at which to ask the policy again. Written under
  // policy_mu; a stale read only moves a recheck by one flush.
  std::atomic<int64_t> next_recheck{kRecheckBytes};
  // Samples of the GC heap, from the last collection or recheck. Written
  // under policy_mu or collect_mu (both sample points hold one of them).
  std::atomic<uint64_t> mapped{0};
  std::atomic<uint64_t> free{0};
  std::atomic<uint64_t> released{0};
  std::atomic<uint64_t> internal{0};
  std::atomic<uint64_t> metadata{0};
  std::atomic<uint64_t> heapsize{0};  // Boehm's heap address space, unmapped part included
  // The heap cap in force (GC_set_max_heap_size; 0: none) and how far the
  // out-of-memory path raised it above the policy's room since the last
  // collection. Written under policy_mu.
  std::atomic<uint64_t> cap{0};
  std::atomic<uint64_t> raised_cap{0};
  // Process CPU spent inside driver collections. Written under collect_mu.
  std::atomic<int64_t> gc_cpu{0};
};
driver_shared g;

// One collection at a time. Guards `release_cycles_left`.
std::mutex collect_mu;
int release_cycles_left = 0;  // protected by collect_mu

// Guards the policy pointer and every call into the policy.
std::mutex policy_mu;
std::unique_ptr<collection_policy>& policy_slot() {  // protected by policy_mu
  static auto* p = new std::unique_ptr<collection_policy>(std::make_unique<pacer_policy>());
  return *p;
}

int64_t allocated_since_gc() noexcept {
  const int64_t d = g.allocated_total.load(std::memory_order_relaxed) -
                    g.allocated_at_gc.load(std::memory_order_relaxed);
  return d > 0 ? d : 0;
}

uint64_t heap_estimate() noexcept {
  return g.live.load(std::memory_order_relaxed) + static_cast<uint64_t>(allocated_since_gc());
}

// One read of Boehm's counters under its lock. heapsize_full and
// free_bytes_full include the unmapped blocks; obtained_from_os counts the
// heap (unmapped part included) plus the collector's own metadata.
void sample_gc_heap() noexcept {
  GC_prof_stats_s st{};
  GC_get_prof_stats(&st, sizeof st);
  const uint64_t unmapped = st.unmapped_bytes;
  g.mapped.store(st.heapsize_full - unmapped, std::memory_order_relaxed);
  g.free.store(st.free_bytes_full > unmapped ? st.free_bytes_full - unmapped : 0,
               std::memory_order_relaxed);
  g.released.store(unmapped, std::memory_order_relaxed);
  g.heapsize.store(st.heapsize_full, std::memory_order_relaxed);
  g.metadata.store(st.obtained_from_os_bytes > st.heapsize_full
                       ? st.obtained_from_os_bytes - st.heapsize_full
                       : 0,
                   std::memory_order_relaxed);
}

// CPU time of the whole process (every thread), ns. A syscall-free vDSO read
// on current kernels; asked once per recheck and twice per collection.
int64_t process_cpu_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

heap_observation observation_from_samples() noexcept {
  heap_observation o;
  const detail::pause_totals p = detail::read_pause_totals();
  o.now_ns = nanotime();
  o.live_bytes = g.live.load(std::memory_order_relaxed);
  o.allocated_since_gc = static_cast<uint64_t>(allocated_since_gc());
  o.heap_mapped_bytes = g.mapped.load(std::memory_order_relaxed);
  o.heap_free_bytes = g.free.load(std::memory_order_relaxed);
  o.released_bytes = g.released.load(std::memory_order_relaxed);
  o.frames_bytes = detail::frames_bytes();
  o.internal_bytes = g.internal.load(std::memory_order_relaxed);
  o.metadata_bytes = g.metadata.load(std::memory_order_relaxed);
  o.stack_bytes = detail::stack_bytes();
  o.collections = p.collections;
  o.last_pause_ns = p.last_pause_ns;
  o.total_pause_ns = p.total_pause_ns;
  o.process_cpu_ns = process_cpu_ns();
  o.gc_cpu_ns = g.gc_cpu.load(std::memory_order_relaxed);
  return o;
}

// Sets Boehm's heap cap to the policy's room (or what the out-of-memory
// path raised it to since the last collection, if more); caller holds
// policy_mu.
void apply_cap_locked(const heap_observation& o) {
  const uint64_t room = policy_slot()->heap_room(o);
  const uint64_t cap = room == collection_policy::never
                           ? 0
                           : std::max(room, g.raised_cap.load(std::memory_order_relaxed));
  if (cap != g.cap.load(std::memory_order_relaxed)) {
    g.cap.store(cap, std::memory_order_relaxed);
    GC_set_max_heap_size(static_cast<GC_word>(cap));
  }
}

// Asks the policy for the trigger and the heap cap; caller holds policy_mu.
uint64_t retrigger_locked(const heap_observation& o) {
  apply_cap_locked(o);
  const uint64_t t = policy_slot()->trigger(o);
  g.trigger.store(t, std::memory_order_relaxed);
  g.next_recheck.store(g.allocated_total.load(std::memory_order_relaxed) + kRecheckBytes,
                       std::memory_order_relaxed);
  return t;
}

// Between collections: refresh the samples and the trigger, unless another
// thread is already doing so.
void relieve_over_room();

void recheck() {
  bool over_room = false;
  {
    std::unique_lock lk(policy_mu, std::try_to_lock);
    if (!lk.owns_lock()) return;
    if (g.allocated_total.load(std::memory_order_relaxed) <
        g.next_recheck.load(std::memory_order_relaxed))
      return;  // another thread just did it
    sample_gc_heap();
    g.internal.store(internal_bytes(), std::memory_order_relaxed);  // non-heap, at every check
    const heap_observation o = observation_from_samples();
    retrigger_locked(o);
    // The cap bounds growth of the address space only; unmapped blocks
    // inside it are remapped without asking. See "Holding a memory limit".
    const uint64_t cap = g.cap.load(std::memory_order_relaxed);
    over_room = cap != 0 && o.heap_mapped_bytes > cap;
  }
  if (over_room) relieve_over_room();
}

// Runs one collection; caller holds collect_mu.
void collect_locked(collection_reason why) {
  collection_record r;
  r.reason = why;
  r.start_ns = nanotime();
  r.heap_live_before = heap_estimate();
  r.process_cpu_before_ns = process_cpu_ns();
  r.gc_cpu_before_ns = g.gc_cpu.load(std::memory_order_relaxed);
  g.allocated_at_gc.store(g.allocated_total.load(std::memory_order_relaxed),
                          std::memory_order_relaxed);
  const bool unmap = why == collection_reason::release || release_cycles_left > 0;
  if (release_cycles_left > 0) --release_cycles_left;

  const uint64_t before = detail::read_pause_totals().collections;
  tl_collecting = true;
  if (unmap) {
    GC_gcollect_and_unmap();
  } else {
    GC_gcollect();
  }
  tl_collecting = false;
  r.end_ns = nanotime();
  r.cpu_ns = std::max<int64_t>(process_cpu_ns() - r.process_cpu_before_ns, 0);
  g.gc_cpu.fetch_add(r.cpu_ns, std::memory_order_relaxed);
  const detail::pause_totals p = detail::read_pause_totals();
  if (p.collections == before)
    fatal("collector: GC_gcollect returned without a collection event (GC_disable in effect?)");
  r.pause_ns = p.last_pause_ns;
  r.mark_ns = p.last_mark_ns;
  r.stop_ns = p.last_stop_ns;
  r.returned_memory = unmap;

  sample_gc_heap();
  g.internal.store(internal_bytes(), std::memory_order_relaxed);
  const uint64_t used =
      g.mapped.load(std::memory_order_relaxed) - g.free.load(std::memory_order_relaxed);
  const uint64_t frames = detail::frames_bytes();
  r.live_after = used > frames ? used - frames : 0;
  g.live.store(r.live_after, std::memory_order_relaxed);
  r.roots_bytes = frames + detail::stack_bytes();

  uint64_t keep = 0;
  heap_observation o;
  {
    std::lock_guard lk(policy_mu);
    g.raised_cap.store(0, std::memory_order_relaxed);  // a new cycle starts at the room
    r.after = observation_from_samples();
    policy_slot()->collected(r);
    o = observation_from_samples();
    const uint64_t t = retrigger_locked(o);
    keep = policy_slot()->retained_heap(o, t);
  }
  // Shrink: more is mapped than the policy wants kept and at least 1 MiB of
  // it is free. 1 MiB: below that an unmap saves less than it costs to
  // fault the pages back in. Picked, not measured.
  if (release_cycles_left == 0 && o.heap_mapped_bytes > keep &&
      std::min(o.heap_free_bytes, o.heap_mapped_bytes - keep) >= (uint64_t{1} << 20))
    release_cycles_left = 2;

  notify_finalizers_if_ready();
}

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
        sample_gc_heap();
        g.internal.store(internal_bytes(), std::memory_order_relaxed);
        const heap_observation o = observation_from_samples();
        const uint64_t cap = g.cap.load(std::memory_order_relaxed);
        if (cap == 0 || o.heap_mapped_bytes <= cap || o.heap_free_bytes == 0) return;
        collect_now = policy_slot()->collect_when_full(o);
      }
      if (!collect_now) return;
      release_cycles_left = std::max(release_cycles_left, 2);
      collect_locked(collection_reason::trigger);
    }
    detail::deliver_staged_news();
  }
}

// The heap reached the trigger: ask the policy again with fresh samples (the
// pacer's limiter may defer, or a collection that just finished may have
// moved the trigger), then collect if it still says so. The gctrace line and
// pressure callbacks go out after the locks are released.
void collect_if_due() {
  {
    std::unique_lock lk(collect_mu, std::try_to_lock);
    if (!lk.owns_lock()) return;  // a collection is running: keep allocating
    if (heap_estimate() < g.trigger.load(std::memory_order_relaxed)) return;
    {
      std::lock_guard plk(policy_mu);
      sample_gc_heap();
      g.internal.store(internal_bytes(), std::memory_order_relaxed);
      if (heap_estimate() < retrigger_locked(observation_from_samples())) return;
    }
    collect_locked(collection_reason::trigger);
  }
  detail::deliver_staged_news();
  // A collection that left more mapped than the cap (the limit was lowered)
  // starts the unmapping ones now rather than a recheck later.
  relieve_over_room();
}

void flush_and_check() {
  const int64_t p = tl_pending;
  tl_pending = 0;
  const int64_t total = g.allocated_total.fetch_add(p, std::memory_order_relaxed) + p;
  if (heap_estimate() >= g.trigger.load(std::memory_order_relaxed)) {
    collect_if_due();
  } else if (total >= g.next_recheck.load(std::memory_order_relaxed)) {
    recheck();
  }
}

}  // namespace

std::unique_ptr<collection_policy> set_collection_policy(std::unique_ptr<collection_policy> p) {
  if (!p) throw std::invalid_argument("goro::heap::set_collection_policy: policy is null");
  init();
  std::lock_guard lk(policy_mu);
  std::swap(policy_slot(), p);
  sample_gc_heap();
  retrigger_locked(observation_from_samples());
  return p;
}

heap_observation observe() {
  init();
  sample_gc_heap();
  heap_observation o = observation_from_samples();
  o.internal_bytes = internal_bytes();
  return o;
}

void collect(collection_reason why) {
  init();
  if (tl_collecting) fatal("collector: collect() called from inside a collection");
  detail::flush_allocation_count();
  {
    std::lock_guard lk(collect_mu);
    collect_locked(why);
  }
  detail::deliver_staged_news();
}

namespace detail {

bool make_room(std::size_t request, bool must_grow) {
  init();
  flush_allocation_count();
  const GC_word gc_before = GC_get_gc_no();
  bool collected = false;
  {
    std::unique_lock lk(collect_mu);  // waits for a collection in progress
    if (g.cap.load(std::memory_order_relaxed) == 0) return false;  // no cap: the OS refused
    // Someone collected while this thread waited: retry against that.
    if (!must_grow && GC_get_gc_no() != gc_before) return true;
    bool collect_now = false;
    {
      std::lock_guard plk(policy_mu);
      sample_gc_heap();
      g.internal.store(internal_bytes(), std::memory_order_relaxed);
      const heap_observation o = observation_from_samples();
      if (!must_grow) collect_now = policy_slot()->collect_when_full(o);
      if (!collect_now) {
        // Let the heap pass its room by one step: what Boehm would expand
        // by at most (MAXHINCR, 16 MiB) is too coarse near a limit, so a
        // 32nd of the heap, at least 1 MiB, and always the request.
        const uint64_t heap = g.heapsize.load(std::memory_order_relaxed);
        const uint64_t need = (static_cast<uint64_t>(request) + 2 * kBlock) & ~uint64_t{kBlock - 1};
        const uint64_t step = std::max({need, heap / 32, uint64_t{1} << 20});
        const uint64_t base = std::max(g.cap.load(std::memory_order_relaxed), heap);
        g.raised_cap.store(base + step, std::memory_order_relaxed);
        apply_cap_locked(o);
      }
    }
    if (collect_now) {
      collect_locked(collection_reason::trigger);
      collected = true;
    }
  }
  if (collected) deliver_staged_news();
  return true;
}

}  // namespace detail

uint64_t current_trigger() noexcept {
  return g.trigger.load(std::memory_order_relaxed);
}

namespace detail {

void settings_changed() {
  init();
  flush_allocation_count();
  std::lock_guard lk(policy_mu);
  sample_gc_heap();
  g.internal.store(internal_bytes(), std::memory_order_relaxed);
  retrigger_locked(observation_from_samples());
}

void start_driver() {
  // Called once from init(), after Boehm is set up.
  std::lock_guard lk(policy_mu);
  sample_gc_heap();
  g.internal.store(internal_bytes(), std::memory_order_relaxed);
  retrigger_locked(observation_from_samples());
}

bool collecting_on_this_thread() noexcept {
  return tl_collecting;
}

void* allocate(std::size_t n, bool pointer_free) {
  if (!initialized()) [[unlikely]]
    init();
  void* p = pointer_free ? GC_MALLOC_ATOMIC(n) : GC_MALLOC(n);
  // The out-of-memory hook collects, retries, and dies with the statistics
  // if that fails too; it returns null only to a nested allocation.
  if (p == nullptr) fatal("collector: GC_MALLOC returned null after the out-of-memory hook");
  tl_pending += charged_bytes(n);
  if (tl_pending >= kFlushBytes) [[unlikely]]
    flush_and_check();
  note_handout(p, n, n);  // heap profile (heap/alloc_sample.hpp)
  return p;
}

void charge_allocation(int64_t bytes) {
  tl_pending += bytes;
  if (tl_pending >= kFlushBytes) flush_and_check();
}

void release(void* p, std::size_t n) noexcept {
  if (p == nullptr) return;
  if (n < kExplicitFreeMin) return;  // let the collector have it
  GC_FREE(p);
  tl_pending -= charged_bytes(n);
}

void flush_allocation_count() noexcept {
  if (tl_pending == 0) return;
  g.allocated_total.fetch_add(tl_pending, std::memory_order_relaxed);
  tl_pending = 0;
}

}  // namespace detail
}  // namespace goro::heap
