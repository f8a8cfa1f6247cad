#pragma once
// The catalog's entries by number, for the sources (heap/, sched/) that fill
// them: metrics::all()[n].id == n, and id::x names entry x. The order is the
// catalog's (sorted by name); a test checks both. Not public API.

#include <cstdint>

namespace goro::metrics::id {

enum : uint16_t {
  cpu_classes_gc_mark_assist_cpu_seconds = 0,
  cpu_classes_gc_mark_dedicated_cpu_seconds = 1,
  cpu_classes_gc_pause_cpu_seconds = 2,
  cpu_classes_gc_total_cpu_seconds = 3,
  gc_cpu_process_cpu_seconds = 4,
  gc_cycles_total_gc_cycles = 5,
  gc_gogc_percent = 6,
  gc_gomemlimit_cgroup_bytes = 7,
  gc_gomemlimit_source_source = 8,
  gc_gomemlimit_bytes = 9,
  gc_heap_allocs_bytes = 10,
  gc_heap_goal_bytes = 11,
  gc_heap_live_bytes = 12,
  gc_heap_trigger_bytes = 13,
  gc_limiter_engaged_bool = 14,
  gc_limiter_engagements_events = 15,
  gc_limiter_gc_share_ratio = 16,
  gc_limiter_last_enabled_gc_cycle = 17,
  gc_mode_reason_reason = 18,
  gc_mode_mode = 19,
  gc_pauses_seconds = 20,
  gc_pressure_state_state = 21,
  gc_pressure_transitions_transitions = 22,
  memory_classes_heap_free_bytes = 23,
  memory_classes_heap_objects_bytes = 24,
  memory_classes_heap_released_bytes = 25,
  memory_classes_heap_stacks_bytes = 26,
  memory_classes_metadata_gc_bytes = 27,
  memory_classes_metadata_other_bytes = 28,
  memory_classes_os_stacks_bytes = 29,
  memory_classes_other_bytes = 30,
  memory_classes_total_bytes = 31,
  net_conns_accepted_conns = 32,
  net_conns_dialed_conns = 33,
  net_conns_open_conns = 34,
  net_http_requests_requests = 35,
  sched_busy_seconds = 36,
  sched_gomaxprocs_threads = 37,
  sched_latencies_seconds = 38,
  sched_overflows_events = 39,
  sched_parks_events = 40,
  sched_polls_tasks = 41,
  sched_queue_global_tasks = 42,
  sched_steals_steals = 43,
  sched_stolen_tasks = 44,
  sched_tasks_spawned_tasks = 45,
  sched_tasks_tasks = 46,
  sched_threads_blocking_threads = 47,
  sched_threads_total_threads = 48,
  sched_timers_fired_timers = 49,
  sched_timers_pending_timers = 50,
  count_ = 51,
};

}  // namespace goro::metrics::id
