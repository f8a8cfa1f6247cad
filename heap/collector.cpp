// The collection driver.
//
// Model. Boehm's own trigger is off (GC_set_disable_automatic_collection, see
// collector_init.cpp). Every allocation through goro adds the bytes it
// occupies (its Boehm size, whole blocks for large objects: occupied_bytes)
// to a counter private to the allocating thread;
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
// With a memory limit set that overestimate is not harmless: scattered
// survivors make it the whole heap, and the limit's goal collapses onto
// it. There the driver counts the marked objects' bytes instead
// (heap/marked_bytes.cpp: O(objects) after each collection), as Go's
// heapMarked.
//
// Returning memory. When the mapped heap after a collection exceeds what the
// policy wants retained, the next two driver collections unmap free blocks
// (GC_gcollect_and_unmap): Boehm unmaps only blocks that have been free since
// before the previous collection (boehm-probe.md section 1), so one is not
// enough. Released bytes are Boehm's unmapped bytes.
//
// Holding a memory limit: the heap cap, what happens when an allocation hits
// it, and the relief collections that unmap when too much is mapped, are in
// heap/memory_limit.cpp, whose opening comment explains them.
//
// Concurrent mode (GORO_GC_MODE=concurrent, heap/gc_mode.cpp): a triggered
// collection is one of Boehm's incremental cycles instead of GC_gcollect,
// and it runs on the background marker (heap/mark_worker.cpp): the
// allocating thread that reaches the trigger wakes it and goes on.
// GC_start_incremental_collection makes the first, time-limited stop;
// the marker then marks with the world running (short steps under Boehm's
// allocation lock; other threads' allocation slow paths take steps too,
// the assists) until Boehm's final stop. The cycle's pause is the sum of
// its stops; its GC CPU is every stop times the GC procs plus the CPU of
// the marking done with the world running, by the marker and by the
// allocating threads' assists (the patched libgc clocks each mark step:
// heap/gc_mode.cpp's concurrent_mark_cpu), which the pacer's limiter
// counts. goro::gc, out-of-memory, memory-returning and heap-cap
// (make_room) collections stay full and stop-the-world.
//
// Rejected: a pacer thread polling GC_get_bytes_since_gc (the probe's
// section 2 did this): it costs a thread and a wake-up per poll, reacts a
// poll period late, and that getter is unsynchronised. Collecting on the
// allocating thread is what Go does when a goroutine is asked to assist;
// the concurrent mode's marker thread is woken by that thread, never polls.

#include "heap/collector.hpp"

#include <gc.h>
#include <pthread.h>
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
#include "heap/detail/driver_state.hpp"
#include "heap/detail/frame_pool_stats.hpp"
#include "heap/detail/gc_knobs.hpp"
#include "heap/detail/gc_mode.hpp"
#include "heap/detail/gc_stress.hpp"
#include "heap/detail/mark_worker.hpp"
#include "heap/finalizer_thread.hpp"
#include "heap/gc_mode.hpp"
#include "heap/gc_settings.hpp"
#include "heap/internal_memory.hpp"
#include "heap/pacer_policy.hpp"
#include "heap/thread_attachment.hpp"

namespace goro::heap::detail {
namespace {

// "Every few tens of KiB" (DESIGN.md). At ~10 ns per small object this is a
// flush every few microseconds of allocation, and with N threads at most
// N x 32 KiB goes uncounted, noise against the 4 MiB minimum trigger.
constexpr int64_t kFlushBytes = 32 << 10;

// Explicit frees below this go to the collector instead of GC_FREE:
// GC_FREE takes Boehm's global lock (30 ns alone, 60-240 ns with two threads
// contending, boehm-probe.md section 4), a 512-byte block is 1/8192 of the
// smallest cycle. Picked from those numbers, not tuned.
constexpr std::size_t kExplicitFreeMin = 512;

// This thread's allocation not yet added to allocated_total. Owner thread
// only. Plain integer, so a main-thread thread_local is fine here (it holds
// no GC pointer).
constinit thread_local int64_t tl_pending = 0;
// Set while this thread runs a collection; the out-of-memory hook must not
// try to start another one from inside it. Owner thread only.
constinit thread_local bool tl_collecting = false;

std::unique_ptr<collection_policy>& policy_slot() {  // protected by policy_mu
  static auto* p = new std::unique_ptr<collection_policy>(std::make_unique<pacer_policy>());
  return *p;
}

int64_t allocated_since_gc() noexcept {
  const int64_t d = g_driver.allocated_total.load(std::memory_order_relaxed) -
                    g_driver.allocated_at_gc.load(std::memory_order_relaxed);
  return d > 0 ? d : 0;
}

uint64_t heap_estimate() noexcept {
  return g_driver.live.load(std::memory_order_relaxed) +
         static_cast<uint64_t>(allocated_since_gc());
}

// One read of Boehm's counters under its lock. heapsize_full and
// free_bytes_full include the unmapped blocks; obtained_from_os counts the
// heap (unmapped part included) plus the collector's own metadata.
void sample_gc_heap() noexcept {
  GC_prof_stats_s st{};
  GC_get_prof_stats(&st, sizeof st);
  const uint64_t unmapped = st.unmapped_bytes;
  g_driver.mapped.store(st.heapsize_full - unmapped, std::memory_order_relaxed);
  g_driver.free.store(st.free_bytes_full > unmapped ? st.free_bytes_full - unmapped : 0,
                      std::memory_order_relaxed);
  g_driver.released.store(unmapped, std::memory_order_relaxed);
  g_driver.heapsize.store(st.heapsize_full, std::memory_order_relaxed);
  g_driver.metadata.store(st.obtained_from_os_bytes > st.heapsize_full
                              ? st.obtained_from_os_bytes - st.heapsize_full
                              : 0,
                          std::memory_order_relaxed);
}

}  // namespace

driver_shared g_driver;
std::mutex collect_mu;
int release_cycles_left = 0;
bool last_collection_concurrent = false;
std::mutex policy_mu;

collection_policy& policy_locked() {
  return *policy_slot();
}

heap_observation observation_from_samples() noexcept {
  heap_observation o;
  const detail::pause_totals p = detail::read_pause_totals();
  o.now_ns = nanotime();
  o.live_bytes = g_driver.live.load(std::memory_order_relaxed);
  o.allocated_since_gc = static_cast<uint64_t>(allocated_since_gc());
  o.heap_mapped_bytes = g_driver.mapped.load(std::memory_order_relaxed);
  o.heap_free_bytes = g_driver.free.load(std::memory_order_relaxed);
  o.released_bytes = g_driver.released.load(std::memory_order_relaxed);
  o.frames_bytes = detail::frames_bytes();
  o.internal_bytes = g_driver.internal.load(std::memory_order_relaxed);
  o.metadata_bytes = g_driver.metadata.load(std::memory_order_relaxed);
  o.stack_bytes = detail::stack_bytes();
  o.collections = p.collections;
  o.last_pause_ns = p.last_pause_ns;
  o.total_pause_ns = p.total_pause_ns;
  o.process_cpu_ns = process_cputime();
  o.gc_cpu_ns = g_driver.gc_cpu.load(std::memory_order_relaxed);
  return o;
}

trigger_decision retrigger_locked(const heap_observation& o) {
  apply_cap_locked(o);
  const uint64_t t = policy_locked().trigger(o);
  g_driver.trigger.store(t, std::memory_order_relaxed);
  g_driver.next_recheck.store(
      g_driver.allocated_total.load(std::memory_order_relaxed) + kRecheckBytes,
      std::memory_order_relaxed);
  return {t, o.heap_live_estimate() >= t};
}

namespace {
// Boehm's heap and goro's internal memory (non-heap, sampled at every check).
void sample_all() noexcept {
  sample_gc_heap();
  g_driver.internal.store(internal_bytes(), std::memory_order_relaxed);
}
}  // namespace

heap_observation fresh_observation() {
  sample_all();
  return observation_from_samples();
}

void collect_locked(collection_reason why, bool at_cap) {
  collection_record r;
  r.reason = why;
  r.start_ns = nanotime();
  r.heap_live_before = heap_estimate();
  r.process_cpu_before_ns = process_cputime();
  r.gc_cpu_before_ns = g_driver.gc_cpu.load(std::memory_order_relaxed);
  g_driver.allocated_at_gc.store(g_driver.allocated_total.load(std::memory_order_relaxed),
                                 std::memory_order_relaxed);
  const bool unmap = why == collection_reason::release || release_cycles_left > 0;
  if (release_cycles_left > 0) --release_cycles_left;

  // At the heap cap (make_room) the allocation that hit it waits for the
  // collection either way: a concurrent cycle would only add its stops.
  const bool concurrent = !unmap && !at_cap && why == collection_reason::trigger &&
                          current_gc_mode() == gc_mode::concurrent;
  const detail::pause_totals p0 = detail::read_pause_totals();
  const mark_cpu mark_before = concurrent ? concurrent_mark_cpu() : mark_cpu{};
  tl_collecting = true;
  if (unmap) {
    GC_gcollect_and_unmap();
  } else if (concurrent) {
    mark_concurrent_cycle();  // heap/mark_worker.cpp
    detail::count_collection();
  } else {
    GC_gcollect();
  }
  tl_collecting = false;
  r.end_ns = nanotime();
  const detail::pause_totals p = detail::read_pause_totals();
  if (p.collections == p0.collections)
    fatal("collector: GC_gcollect returned without a collection event (GC_disable in effect?)");
  r.concurrent = concurrent;
  last_collection_concurrent = concurrent;
  if (concurrent) {
    // The heap when marking ended, not when it started: the pacer takes
    // the heap at the cycle's end minus the trigger as the runway the next
    // triggers keep below the goal (pacer/trigger.hpp), so cycles start
    // early enough for what the tasks allocate while one marks (Go's
    // trigger model; the assists are Boehm's mark steps in allocation slow
    // paths, GC_rate, set in heap/gc_mode.cpp).
    r.heap_live_before += static_cast<uint64_t>(allocated_since_gc());  // since the cycle began
    r.pause_ns = p.total_pause_ns - p0.total_pause_ns;
    r.mark_ns = p.total_mark_ns - p0.total_mark_ns;
    r.mark_cpu_ns = std::max<int64_t>(concurrent_mark_cpu().total() - mark_before.total(), 0);
    r.cpu_ns = r.mark_cpu_ns + r.pause_ns * detail::gc_procs();
  } else {
    r.pause_ns = p.last_pause_ns;
    r.mark_ns = p.last_mark_ns;
    r.cpu_ns = std::max<int64_t>(process_cputime() - r.process_cpu_before_ns, 0);
  }
  g_driver.gc_cpu.fetch_add(r.cpu_ns, std::memory_order_relaxed);
  r.stop_ns = p.last_stop_ns;
  r.returned_memory = unmap;

  sample_all();
  // Live: the blocks in use (see "Live heap"), or, once they fill half the
  // memory limit, the marked bytes (heap/marked_bytes.cpp). Below half the
  // limit the block figure cannot pull the limit's goal down onto itself,
  // and the count's cost (~2.7 ns per object) is not worth paying.
  uint64_t used = g_driver.mapped.load(std::memory_order_relaxed) -
                  g_driver.free.load(std::memory_order_relaxed);
  const int64_t limit = memory_limit_setting();
  if (limit != no_memory_limit && used >= static_cast<uint64_t>(limit) / 2) used = marked_bytes();
  const uint64_t frames = detail::frames_bytes();
  r.live_after = used > frames ? used - frames : 0;
  g_driver.live.store(r.live_after, std::memory_order_relaxed);
  r.roots_bytes = frames + detail::stack_bytes();

  uint64_t keep = 0;
  heap_observation o;
  {
    std::lock_guard lk(policy_mu);
    g_driver.raised_cap.store(0, std::memory_order_relaxed);  // a new cycle starts at the room
    r.after = observation_from_samples();
    policy_locked().collected(r);
    o = observation_from_samples();
    keep = policy_locked().retained_heap(o, retrigger_locked(o).trigger);
  }
  // Shrink: more is mapped than the policy wants kept and at least 1 MiB of
  // it is free. 1 MiB: below that an unmap saves less than it costs to
  // fault the pages back in. Picked, not measured.
  if (release_cycles_left == 0 && o.heap_mapped_bytes > keep &&
      std::min(o.heap_free_bytes, o.heap_mapped_bytes - keep) >= (uint64_t{1} << 20))
    release_cycles_left = 2;

  notify_finalizers_if_ready();
}

namespace {

// Between collections: refresh the samples and the trigger, unless another
// thread is already doing so.
void recheck() {
  bool over_room = false;
  {
    std::unique_lock lk(policy_mu, std::try_to_lock);
    if (!lk.owns_lock()) return;
    if (g_driver.allocated_total.load(std::memory_order_relaxed) <
        g_driver.next_recheck.load(std::memory_order_relaxed))
      return;  // another thread just did it
    const heap_observation o = fresh_observation();
    retrigger_locked(o);
    // The cap bounds growth of the address space only; unmapped blocks
    // inside it are remapped without asking. See heap/memory_limit.cpp.
    const uint64_t cap = g_driver.cap.load(std::memory_order_relaxed);
    over_room = cap != 0 && o.heap_mapped_bytes > cap;
  }
  if (over_room) relieve_over_room();
}

// The heap reached the trigger: ask the policy again with fresh samples (the
// pacer's limiter may defer, or a collection that just finished may have
// moved the trigger), then collect if it still says so. The gctrace line and
// pressure callbacks go out after the locks are released.
// In the concurrent mode the marker thread does this instead
// (collect_in_background), and the allocating thread only wakes it.
void collect_if_due(bool wait_for_collection = false) {
  if (!wait_for_collection && current_gc_mode() == gc_mode::concurrent) {
    wake_mark_worker();
    return;
  }
  {
    std::unique_lock lk(collect_mu, std::defer_lock);
    if (wait_for_collection) {
      lk.lock();
    } else if (!lk.try_lock()) {
      return;  // a collection is running: keep allocating
    }
    if (heap_estimate() < g_driver.trigger.load(std::memory_order_relaxed)) return;
    {
      std::lock_guard plk(policy_mu);
      if (!retrigger_locked(fresh_observation()).collect_now) return;
    }
    collect_locked(collection_reason::trigger);
  }
  detail::deliver_staged_news();
  // A collection that left more mapped than the cap (the limit was lowered)
  // starts the unmapping ones now rather than a recheck later.
  relieve_over_room();
}

// A setting changed, or the driver starts: the trigger and the cap from
// fresh samples.
void retrigger_now() {
  std::lock_guard lk(policy_mu);
  retrigger_locked(fresh_observation());
}

void flush_and_check() {
  const int64_t p = tl_pending;
  tl_pending = 0;
  const int64_t total = g_driver.allocated_total.fetch_add(p, std::memory_order_relaxed) + p;
  if (heap_estimate() >= g_driver.trigger.load(std::memory_order_relaxed)) {
    collect_if_due();
  } else if (total >= g_driver.next_recheck.load(std::memory_order_relaxed)) {
    recheck();
  }
}

}  // namespace

void collect_in_background() {
  collect_if_due(/*wait_for_collection=*/true);
}

void settings_changed() {
  init();
  flush_allocation_count();
  retrigger_now();
}

namespace {
// fork() copies the forking thread only: a driver lock held by another
// thread (the background marker holds collect_mu for a whole cycle) would
// stay locked in the child, and its collections would wait for it forever.
// So a fork waits for the collection in progress and takes both locks
// across the fork. Registered after Boehm's own fork handlers (GC_INIT
// registers them), so these run first in the parent before the fork,
// while Boehm's allocation lock, which a collection needs, is still free.
void lock_driver_for_fork() {
  collect_mu.lock();
  policy_mu.lock();
}
void unlock_driver_after_fork() {
  policy_mu.unlock();
  collect_mu.unlock();
}
}  // namespace

void start_driver() {
  // Called once from init(), after Boehm is set up.
  if (pthread_atfork(lock_driver_for_fork, unlock_driver_after_fork, unlock_driver_after_fork) != 0)
    fatal("collector: pthread_atfork failed");
  retrigger_now();
}

bool collecting_on_this_thread() noexcept {
  return tl_collecting;
}

void* allocate(std::size_t n, bool pointer_free) {
  if (!initialized()) [[unlikely]]
    init();
  require_attached();  // heap/thread_attachment.cpp
  gc_stress_point();   // GORO_DEBUG=gcstress (heap/gc_stress.cpp)
  void* p = pointer_free ? GC_MALLOC_ATOMIC(n) : GC_MALLOC(n);
  // The out-of-memory hook collects, retries, and dies with the statistics
  // if that fails too; it returns null only to a nested allocation.
  if (p == nullptr) fatal("collector: GC_MALLOC returned null after the out-of-memory hook");
  tl_pending += occupied_bytes(p);
  if (tl_pending >= kFlushBytes) [[unlikely]]
    flush_and_check();
  note_handout(p, n, n);  // heap profile (heap/alloc_sample.hpp)
  return p;
}

int64_t occupied_bytes(const void* p) noexcept {
  const std::size_t sz = GC_size(p);
  if (sz <= kBlock / 2) return static_cast<int64_t>(sz);
  return static_cast<int64_t>((sz + kBlock - 1) & ~(kBlock - 1));
}

void charge_allocation(int64_t bytes) {
  tl_pending += bytes;
  if (tl_pending >= kFlushBytes) flush_and_check();
}

void release(void* p, std::size_t n) noexcept {
  if (p == nullptr) return;
  if (n < kExplicitFreeMin) return;  // let the collector have it
  note_free(p);                      // a heap-profile sample: unwatch it first
  tl_pending -= occupied_bytes(p);
  GC_FREE(p);
}

void flush_allocation_count() noexcept {
  if (tl_pending == 0) return;
  g_driver.allocated_total.fetch_add(tl_pending, std::memory_order_relaxed);
  tl_pending = 0;
}

}  // namespace goro::heap::detail

namespace goro::heap {

std::unique_ptr<collection_policy> set_collection_policy(std::unique_ptr<collection_policy> p) {
  if (!p) throw std::invalid_argument("goro::heap::set_collection_policy: policy is null");
  init();
  std::lock_guard lk(detail::policy_mu);
  std::swap(detail::policy_slot(), p);
  detail::sample_gc_heap();
  detail::retrigger_locked(detail::observation_from_samples());
  return p;
}

heap_observation observe() {
  init();
  detail::sample_gc_heap();
  heap_observation o = detail::observation_from_samples();
  o.internal_bytes = internal_bytes();
  return o;
}

void collect(collection_reason why) {
  init();
  if (detail::collecting_on_this_thread())
    fatal("collector: collect() called from inside a collection");
  detail::flush_allocation_count();
  {
    std::lock_guard lk(detail::collect_mu);
    detail::collect_locked(why);
  }
  detail::deliver_staged_news();
}

uint64_t current_trigger() noexcept {
  return detail::g_driver.trigger.load(std::memory_order_relaxed);
}

}  // namespace goro::heap
