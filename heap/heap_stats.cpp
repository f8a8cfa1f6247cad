#include "heap/heap_stats.hpp"

#include <gc.h>

#include "heap/collector.hpp"
#include "heap/collector_init.hpp"
#include "heap/detail/collection_events.hpp"
#include "heap/detail/frame_pool_stats.hpp"
#include "heap/detail/gc_knobs.hpp"
#include "heap/detail/release_stats.hpp"
#include "heap/gc_pressure.hpp"
#include "heap/internal_memory.hpp"

namespace goro {

heap_stats read_heap_stats() {
  heap::init();
  heap_stats s;
  const heap::heap_observation o = heap::observe();
  GC_word since = 0, total = 0;
  GC_get_heap_usage_safe(nullptr, nullptr, nullptr, &since, &total);
  const heap::detail::pause_totals p = heap::detail::read_pause_totals();
  s.live_bytes = o.live_bytes;
  s.heap_mapped_bytes = o.heap_mapped_bytes;
  s.heap_free_bytes = o.heap_free_bytes;
  s.released_bytes = o.released_bytes;
  s.background_release_cycles = heap::detail::background_release_passes();
  s.background_released_bytes = heap::detail::background_released_bytes();
  s.allocated_since_gc_bytes = since;
  s.total_allocated_bytes = total;
  s.collections = p.collections;
  s.total_pause_ns = p.total_pause_ns;
  s.last_pause_ns = p.last_pause_ns;
  s.max_pause_ns = p.max_pause_ns;
  s.total_mark_ns = p.total_mark_ns;
  s.last_mark_ns = p.last_mark_ns;
  s.frames_bytes = o.frames_bytes;
  s.mimalloc_bytes = heap::internal_bytes_in_use();
  s.process_malloc_bytes = o.internal_bytes;
  s.thread_stack_bytes = o.stack_bytes;
  s.collector_metadata_bytes = o.metadata_bytes;
  const heap::detail::pacer_view v = heap::detail::read_pacer_view();
  s.heap_goal_bytes = v.goal;
  s.gc_limiter_engaged = v.limiter_engaged;
  s.gc_limiter_engagements = v.limiter_engagements;
  s.gc_limiter_last_engaged_cycle = v.limiter_last_engaged_cycle;
  s.next_trigger_bytes = heap::current_trigger();
  s.gc_cpu_ns = o.gc_cpu_ns;
  s.gc_percent = heap::detail::gc_percent_setting();
  s.memory_limit = heap::detail::memory_limit_setting();
  s.gc_pressure = gc_pressure();
  s.gc_pressure_transitions = gc_pressure_transitions();
  return s;
}

}  // namespace goro
