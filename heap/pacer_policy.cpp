// The pacer as the driver's collection policy.
//
// Mapping the driver's observations onto the pacer's (pacer/pacer.hpp shows
// the loop this implements):
//   heap_alloc = live after the last collection + allocated since (the
//                driver's heap estimate, what the trigger is compared with)
//   heap_free  = GC heap mapped - frames - heap_alloc (never below 0: the
//                estimate counts reused free slots, so it can exceed what is
//                mapped; memory_sample::total() then errs high, i.e. safe)
//   non_heap   = frames + runtime malloc (mimalloc commit) + thread stacks
//                + the collector's metadata,
//                re-read at every check, as DESIGN.md asks
//   mutator CPU = process CPU - process CPU spent inside collections
//   a collection = [start_ns, end_ns] of the driver's GC_gcollect call, whole
//                (Boehm restarts the world just before returning); the
//                limiter charges it at the mutator's rate (pacer/limiter.hpp).
//                A concurrent cycle: its stops (at that rate) and the
//                CPU of its marking with the world running, assists
//                included, spread over [start_ns, end_ns] (pacer.hpp)
//   roots      = frames + thread stacks (what marking scans besides the heap)
//
// Deciding. trigger() runs the pacer's check. "collect" returns a trigger
// at or below the current heap, so the driver collects at once (it asks
// again under its collection lock before collecting, and the second check
// admits too). "deferred" (the limiter is full) returns `never`: the driver
// asks again at its next recheck, 1 MiB of allocation later, by which time
// mutator CPU has drained the bucket a little. Otherwise the pacer's trigger.
//
// Returning memory. With a memory limit, the mapped GC heap should fit in
// what the limit leaves after the other memory: retained_heap() is the
// smaller of the default (2.5 x trigger + 8 MiB, collection_policy.hpp) and
// limit - runtime malloc - stacks, but never below what is in use. Above it,
// the driver unmaps free blocks during the next two collections.

#include "heap/pacer_policy.hpp"

#include <algorithm>
#include <atomic>

#include "heap/detail/gc_knobs.hpp"
#include "heap/gc_mode.hpp"

namespace goro::heap {
namespace {

// The published pacer_view (detail/gc_knobs.hpp). Written under the
// driver's policy lock, read anywhere.
struct published_view {
  std::atomic<uint64_t> goal{UINT64_MAX};
  std::atomic<bool> engaged{false};
  std::atomic<uint64_t> engagements{0};
  std::atomic<uint64_t> last_engaged_cycle{0};
  std::atomic<double> gc_share{0};
};
published_view g_view;

}  // namespace

namespace detail {
pacer_view read_pacer_view() noexcept {
  pacer_view v;
  v.goal = g_view.goal.load(std::memory_order_relaxed);
  v.limiter_engaged = g_view.engaged.load(std::memory_order_relaxed);
  v.limiter_engagements = g_view.engagements.load(std::memory_order_relaxed);
  v.limiter_last_engaged_cycle = g_view.last_engaged_cycle.load(std::memory_order_relaxed);
  v.limiter_gc_share = g_view.gc_share.load(std::memory_order_relaxed);
  return v;
}
}  // namespace detail

void pacer_policy::publish() noexcept {
  const pacer::limiter& l = pacer_.gc_limiter();
  g_view.goal.store(pacer_.last_goal().bytes, std::memory_order_relaxed);
  g_view.engaged.store(l.engaged(), std::memory_order_relaxed);
  if (l.engagements() != g_view.engagements.load(std::memory_order_relaxed)) {
    // Go's /gc/limiter/last-enabled:gc-cycle: the cycle it was enabled in.
    g_view.last_engaged_cycle.store(pacer_.cycles() + 1, std::memory_order_relaxed);
    g_view.engagements.store(l.engagements(), std::memory_order_relaxed);
  }
}

pacer::memory_sample memory_sample_of(const heap_observation& o) noexcept {
  pacer::memory_sample m;
  m.heap_alloc = o.heap_live_estimate();
  const uint64_t heap_space =
      o.heap_mapped_bytes > o.frames_bytes ? o.heap_mapped_bytes - o.frames_bytes : 0;
  m.heap_free = heap_space > m.heap_alloc ? heap_space - m.heap_alloc : 0;
  m.non_heap = o.non_heap_bytes();
  return m;
}

pacer_policy::pacer_policy() : pacer_policy(pacer::pacer_tuning{}) {}

pacer_policy::pacer_policy(const pacer::pacer_tuning& tuning)
    : pacer_(detail::gc_procs(), {detail::gc_percent_setting(), detail::memory_limit_setting()},
             tuning) {}

void pacer_policy::sync_settings() noexcept {
  const int pct = detail::gc_percent_setting();
  if (pct != pacer_.gc_percent()) pacer_.set_gc_percent(pct);
  const int64_t limit = detail::memory_limit_setting();
  if (limit != pacer_.memory_limit()) pacer_.set_memory_limit(limit);
  const int procs = detail::gc_procs();
  if (procs != pacer_.procs()) pacer_.set_procs(procs);
  // Triggered collections are concurrent cycles: the trigger also keeps
  // the heap cap clear of their growth (pacer/trigger.hpp, cap_trigger).
  pacer_.set_concurrent(current_gc_mode() == gc_mode::concurrent);
}

uint64_t pacer_policy::trigger(const heap_observation& now) {
  sync_settings();
  const pacer::memory_sample m = memory_sample_of(now);
  last_ = pacer_.check({now.now_ns, m, now.mutator_cpu_ns()});
  publish();
  g_view.gc_share.store(pacer_.gc_limiter().gc_share(now.now_ns), std::memory_order_relaxed);
  if (last_.collect) {
    admit_heap_ = m.heap_alloc;
    return std::min(last_.trigger, m.heap_alloc);
  }
  if (last_.deferred || last_.trigger == pacer::no_goal) return never;
  return last_.trigger;
}

void pacer_policy::collected(const collection_record& r) {
  sync_settings();
  pacer::cycle_sample c;
  c.start_ns = r.start_ns;
  c.end_ns = r.end_ns;
  c.mutator_cpu_ns = r.process_cpu_before_ns > r.gc_cpu_before_ns
                         ? r.process_cpu_before_ns - r.gc_cpu_before_ns
                         : 0;
  c.heap_before = r.heap_live_before;
  c.live = r.live_after;
  c.roots = r.roots_bytes;
  c.memory_after = memory_sample_of(r.after);
  if (r.concurrent) {
    c.stopped_ns = r.pause_ns;
    c.gc_cpu_outside_pause_ns = r.mark_cpu_ns;
    c.mutator_cpu_end_ns = r.after.mutator_cpu_ns();
  } else {
    c.gc_cpu_in_pause_ns = r.cpu_ns;
  }
  c.forced = r.reason != collection_reason::trigger;
  const pacer::cycle_report rep = pacer_.end_cycle(c);
  publish();

  const uint64_t transitions = pacer_.classifier().transitions();
  detail::publish_pressure_state(pacer_.state(), transitions);
  detail::stage_pressure_change(rep.pressure, rep.cycle, transitions);
  if (detail::gctrace_enabled()) {
    char line[256];
    const uint64_t at_check = c.forced ? r.heap_live_before : admit_heap_;
    const int n = format_gctrace(line, sizeof line, r, rep, at_check, pacer_.memory_limit(),
                                 pacer_.procs(), pacer_.state());
    if (n > 0) detail::stage_trace_line(line, std::min<std::size_t>(n, sizeof line - 1));
  }
  admit_heap_ = 0;
}

uint64_t pacer_policy::retained_heap(const heap_observation& now, uint64_t trigger) {
  const uint64_t base = collection_policy::retained_heap(now, trigger);
  const int64_t limit = pacer_.memory_limit();
  if (limit == pacer::no_limit) return base;
  const uint64_t other = now.internal_bytes + now.stack_bytes;
  const uint64_t room =
      static_cast<uint64_t>(limit) > other ? static_cast<uint64_t>(limit) - other : 0;
  const uint64_t in_use =
      now.heap_mapped_bytes > now.heap_free_bytes ? now.heap_mapped_bytes - now.heap_free_bytes : 0;
  return std::min(base, std::max(room, in_use));
}

// The heap cap (memory_limit.cpp): the GC heap's
// address space may take what the limit leaves after the other memory goro
// has mapped (runtime malloc, stacks, collector metadata), less a margin of
// 1/64 of the limit (at least 1 MiB: pacer::heap_cap_margin) for that other
// memory growing between two checks. Frames are heap blocks, so they are
// inside the room. In the concurrent mode the pacer aims each cycle's end
// one more margin below it (pacer/trigger.hpp, cap_trigger).
uint64_t pacer_policy::heap_room(const heap_observation& now) {
  const int64_t limit = pacer_.memory_limit();
  if (limit == pacer::no_limit) return never;
  const uint64_t l = static_cast<uint64_t>(limit);
  const uint64_t other =
      now.internal_bytes + now.stack_bytes + now.metadata_bytes + pacer::heap_cap_margin(l);
  // Never 0: Boehm reads a zero cap as "no cap". One block is a cap that
  // every expansion hits.
  return l > other + 4096 ? l - other : 4096;
}

bool pacer_policy::collect_when_full(const heap_observation& now) {
  sync_settings();
  last_ = pacer_.check_heap_full({now.now_ns, memory_sample_of(now), now.mutator_cpu_ns()});
  publish();
  if (last_.collect) admit_heap_ = memory_sample_of(now).heap_alloc;
  return last_.collect;
}

}  // namespace goro::heap
