#pragma once
// The catalog's entries by number, for the sources (heap/, sched/) that fill
// them: metrics::all()[n].id == n, and id::x names entry x. The order is the
// catalog's (sorted by name); a test checks both. Not public API.

#include <cstdint>

namespace goro::metrics::id {

enum : uint16_t {
  cpu_classes_gc_pause_cpu_seconds = 0,
  cpu_classes_gc_total_cpu_seconds = 1,
  gc_cpu_process_cpu_seconds = 2,
  gc_cycles_total_gc_cycles = 3,
  gc_gogc_percent = 4,
  gc_gomemlimit_cgroup_bytes = 5,
  gc_gomemlimit_source_source = 6,
  gc_gomemlimit_bytes = 7,
  gc_heap_allocs_bytes = 8,
  gc_heap_goal_bytes = 9,
  gc_heap_live_bytes = 10,
  gc_heap_trigger_bytes = 11,
  gc_limiter_engaged_bool = 12,
  gc_limiter_engagements_events = 13,
  gc_limiter_gc_share_ratio = 14,
  gc_limiter_last_enabled_gc_cycle = 15,
  gc_pauses_seconds = 16,
  gc_pressure_state_state = 17,
  gc_pressure_transitions_transitions = 18,
  memory_classes_heap_free_bytes = 19,
  memory_classes_heap_objects_bytes = 20,
  memory_classes_heap_released_bytes = 21,
  memory_classes_heap_stacks_bytes = 22,
  memory_classes_metadata_gc_bytes = 23,
  memory_classes_metadata_other_bytes = 24,
  memory_classes_os_stacks_bytes = 25,
  memory_classes_other_bytes = 26,
  memory_classes_total_bytes = 27,
  net_conns_accepted_conns = 28,
  net_conns_dialed_conns = 29,
  net_conns_open_conns = 30,
  net_http_requests_requests = 31,
  sched_busy_seconds = 32,
  sched_gomaxprocs_threads = 33,
  sched_latencies_seconds = 34,
  sched_overflows_events = 35,
  sched_parks_events = 36,
  sched_polls_tasks = 37,
  sched_queue_global_tasks = 38,
  sched_steals_steals = 39,
  sched_stolen_tasks = 40,
  sched_tasks_spawned_tasks = 41,
  sched_tasks_tasks = 42,
  sched_threads_blocking_threads = 43,
  sched_threads_total_threads = 44,
  sched_timers_fired_timers = 45,
  sched_timers_pending_timers = 46,
  count_ = 47,
};

}  // namespace goro::metrics::id
