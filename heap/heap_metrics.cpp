// The heap's part of the metrics catalog (core/metrics.hpp): one snapshot
// of read_heap_stats() per read, mapped onto Go's names, and the GC pause
// histogram, recorded by the collection events (collection_events.cpp).
//
// Memory classes. Every leaf comes from the same snapshot and the total is
// their sum, so they add up exactly (Go's invariant):
//   heap/objects   GC heap mapped - free blocks - frames
//   heap/free      free blocks still mapped
//   heap/released  unmapped blocks (address space, no memory; Go counts them
//                  in total too)
//   heap/stacks    coroutine frames (goro's goroutine stacks)
//   metadata/gc    Boehm's block headers, mark bits, block index
//   metadata/other goro's runtime-internal memory
//   os-stacks      attached threads' stacks, resident pages
//   other          the rest of the process's malloc
// so total - heap/released == heap_stats::managed_bytes(), what the memory
// limit bounds (with ASan, whose malloc reports nothing, "other" is 0 and
// metadata/other is goro's own count).

#include <algorithm>

#include "core/metrics.hpp"
#include "core/metrics_catalog.hpp"
#include "heap/detail/collection_events.hpp"
#include "heap/detail/gc_knobs.hpp"
#include "heap/detail/gc_mode.hpp"
#include "heap/gc_mode.hpp"
#include "heap/heap_stats.hpp"
#include "heap/memory_limit_default.hpp"

namespace goro::heap::detail {
namespace {

constinit metrics::time_histogram g_pauses;

void read_heap_metrics(std::span<const metrics::detail::request> reqs) {
  namespace id = metrics::id;
  const heap_stats s = read_heap_stats();
  const uint64_t frames = std::min(s.frames_bytes, s.heap_mapped_bytes);
  const uint64_t used =
      s.heap_mapped_bytes > s.heap_free_bytes ? s.heap_mapped_bytes - s.heap_free_bytes : 0;
  const uint64_t objects = used > frames ? used - frames : 0;
  const uint64_t free = s.heap_mapped_bytes - frames - objects;
  const uint64_t internal = s.mimalloc_bytes;
  const uint64_t other = s.process_malloc_bytes > internal ? s.process_malloc_bytes - internal : 0;
  const uint64_t total = objects + free + s.released_bytes + frames + s.collector_metadata_bytes +
                         internal + s.thread_stack_bytes + other;
  const double procs = static_cast<double>(gc_procs());
  const double pause_cpu = static_cast<double>(s.total_pause_ns) * procs / 1e9;
  const mark_cpu mark = concurrent_mark_cpu();
  const double assist_cpu = static_cast<double>(mark.assist_ns) / 1e9;
  const double dedicated_cpu = static_cast<double>(mark.dedicated_ns) / 1e9;
  const pacer_view v = read_pacer_view();
  for (const metrics::detail::request& r : reqs) {
    metrics::value& out = *r.out;
    switch (r.id) {
      case id::cpu_classes_gc_mark_assist_cpu_seconds:
        out.set_float64(assist_cpu);
        break;
      case id::cpu_classes_gc_mark_dedicated_cpu_seconds:
        out.set_float64(dedicated_cpu);
        break;
      case id::cpu_classes_gc_pause_cpu_seconds:
        out.set_float64(pause_cpu);
        break;
      case id::cpu_classes_gc_total_cpu_seconds:
        out.set_float64(pause_cpu + assist_cpu + dedicated_cpu);
        break;
      case id::gc_cpu_process_cpu_seconds:
        out.set_float64(static_cast<double>(s.gc_cpu_ns) / 1e9);
        break;
      case id::gc_cycles_total_gc_cycles:
        out.set_uint64(s.collections);
        break;
      case id::gc_gogc_percent:
        out.set_uint64(static_cast<uint64_t>(static_cast<int64_t>(s.gc_percent)));
        break;
      case id::gc_gomemlimit_cgroup_bytes:
        out.set_uint64(cgroup_memory_limit_seen());
        break;
      case id::gc_gomemlimit_source_source:
        out.set_uint64(static_cast<uint64_t>(memory_limit_source_now()));
        break;
      case id::gc_gomemlimit_bytes:
        out.set_uint64(static_cast<uint64_t>(s.memory_limit));
        break;
      case id::gc_heap_allocs_bytes:
        out.set_uint64(s.total_allocated_bytes);
        break;
      case id::gc_heap_goal_bytes:
        out.set_uint64(s.heap_goal_bytes);
        break;
      case id::gc_heap_live_bytes:
        out.set_uint64(s.live_bytes);
        break;
      case id::gc_heap_trigger_bytes:
        out.set_uint64(s.next_trigger_bytes);
        break;
      case id::gc_limiter_engaged_bool:
        out.set_uint64(s.gc_limiter_engaged ? 1 : 0);
        break;
      case id::gc_limiter_engagements_events:
        out.set_uint64(s.gc_limiter_engagements);
        break;
      case id::gc_limiter_gc_share_ratio:
        out.set_float64(v.limiter_gc_share);
        break;
      case id::gc_limiter_last_enabled_gc_cycle:
        out.set_uint64(s.gc_limiter_last_engaged_cycle);
        break;
      case id::gc_mode_mode:
        out.set_uint64(current_gc_mode() == gc_mode::concurrent ? 1 : 0);
        break;
      case id::gc_mode_reason_reason:
        out.set_uint64(static_cast<uint64_t>(gc_mode_reason_code()));
        break;
      case id::gc_pauses_seconds:
        g_pauses.read(out.set_histogram());
        break;
      case id::gc_pressure_state_state:
        out.set_uint64(static_cast<uint64_t>(s.gc_pressure));
        break;
      case id::gc_pressure_transitions_transitions:
        out.set_uint64(s.gc_pressure_transitions);
        break;
      case id::memory_classes_heap_free_bytes:
        out.set_uint64(free);
        break;
      case id::memory_classes_heap_objects_bytes:
        out.set_uint64(objects);
        break;
      case id::memory_classes_heap_released_bytes:
        out.set_uint64(s.released_bytes);
        break;
      case id::memory_classes_heap_stacks_bytes:
        out.set_uint64(frames);
        break;
      case id::memory_classes_metadata_gc_bytes:
        out.set_uint64(s.collector_metadata_bytes);
        break;
      case id::memory_classes_metadata_other_bytes:
        out.set_uint64(internal);
        break;
      case id::memory_classes_os_stacks_bytes:
        out.set_uint64(s.thread_stack_bytes);
        break;
      case id::memory_classes_other_bytes:
        out.set_uint64(other);
        break;
      case id::memory_classes_total_bytes:
        out.set_uint64(total);
        break;
      default:
        break;
    }
  }
}

// Registered while the program starts; this file is always linked because
// the collection events record into g_pauses through record_pause().
[[maybe_unused]] const bool g_registered =
    (metrics::detail::register_source(metrics::source::heap, read_heap_metrics), true);

}  // namespace

void record_pause(int64_t ns) noexcept {
  g_pauses.record(ns);
}

}  // namespace goro::heap::detail
