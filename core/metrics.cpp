// The catalog (see core/metrics.hpp): the table, lookup, read's dispatch to
// the registered sources, and the time histogram's bucket arithmetic.

#include "core/metrics.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>

#include "core/metrics_catalog.hpp"

namespace goro::metrics {
namespace {

// One entry per metric, sorted by name (find() bisects; a test checks the
// order). ids match core/metrics_catalog.hpp.
constexpr description kCatalog[] = {
    {"/cpu/classes/gc/mark/assist:cpu-seconds",
     "CPU time allocating threads spent marking for concurrent cycles (GORO_GC_MODE=concurrent: "
     "the collector's mark steps in allocation slow paths), as Go's mark assists. 0 in stw mode.",
     kind::counter, value_kind::float64, true, false, source::heap,
     id::cpu_classes_gc_mark_assist_cpu_seconds},
    {"/cpu/classes/gc/mark/dedicated:cpu-seconds",
     "CPU time the background marker thread spent marking concurrent cycles with the world "
     "running, and finishing them, as Go's dedicated mark workers. 0 in stw mode.",
     kind::counter, value_kind::float64, true, false, source::heap,
     id::cpu_classes_gc_mark_dedicated_cpu_seconds},
    {"/cpu/classes/gc/pause:cpu-seconds",
     "Estimated CPU time lost to stop-the-world pauses: each pause times the CPUs the GC CPU "
     "limiter assumes (GOMAXPROCS), as Go counts it.",
     kind::counter, value_kind::float64, true, false, source::heap,
     id::cpu_classes_gc_pause_cpu_seconds},
    {"/cpu/classes/gc/total:cpu-seconds",
     "Estimated CPU time spent on garbage collection; sum of /cpu/classes/gc (in stw mode, "
     "where goro marks only while the world is stopped, the pause class).",
     kind::counter, value_kind::float64, true, false, source::heap,
     id::cpu_classes_gc_total_cpu_seconds},
    {"/gc/cpu/process:cpu-seconds",
     "Process CPU time measured inside the driver's collections, all threads (goro's own: what the "
     "marker threads really used).",
     kind::counter, value_kind::float64, true, false, source::heap, id::gc_cpu_process_cpu_seconds},
    {"/gc/cycles/total:gc-cycles", "Count of all completed GC cycles, whoever started them.",
     kind::counter, value_kind::uint64, true, false, source::heap, id::gc_cycles_total_gc_cycles},
    {"/gc/gogc:percent",
     "Heap size target percentage (GORO_GC, set_gc_percent); 100 by default, 18446744073709551615 "
     "when off (Go's uint64 of -1).",
     kind::gauge, value_kind::uint64, false, false, source::heap, id::gc_gogc_percent},
    {"/gc/gomemlimit/cgroup:bytes",
     "The cgroup memory limit found at the last check (the tightest of memory.max or "
     "memory.limit_in_bytes up the hierarchy), 0 when there is none or it was not read.",
     kind::gauge, value_kind::uint64, false, false, source::heap, id::gc_gomemlimit_cgroup_bytes},
    {"/gc/gomemlimit/source:source",
     "Where the soft memory limit came from: 0 default (none), 1 GORO_MEMLIMIT, 2 "
     "set_memory_limit, 3 the cgroup memory limit.",
     kind::gauge, value_kind::uint64, false, false, source::heap, id::gc_gomemlimit_source_source},
    {"/gc/gomemlimit:bytes",
     "The soft memory limit (GORO_MEMLIMIT, set_memory_limit, or a share of the cgroup limit); "
     "9223372036854775807 when there is none.",
     kind::gauge, value_kind::uint64, false, false, source::heap, id::gc_gomemlimit_bytes},
    {"/gc/heap/allocs:bytes",
     "Cumulative bytes allocated on the collected heap, as Boehm counts them.", kind::counter,
     value_kind::uint64, true, false, source::heap, id::gc_heap_allocs_bytes},
    {"/gc/heap/goal:bytes",
     "Heap size target the pacer computed at its last check; 18446744073709551615 when there is "
     "none (gc_percent off and no limit).",
     kind::gauge, value_kind::uint64, false, false, source::heap, id::gc_heap_goal_bytes},
    {"/gc/heap/live:bytes",
     "Heap in use after the last collection, block-granular, coroutine frames excluded.",
     kind::gauge, value_kind::uint64, false, false, source::heap, id::gc_heap_live_bytes},
    {"/gc/heap/trigger:bytes",
     "Heap size at which the next collection starts; 18446744073709551615 when none is planned.",
     kind::gauge, value_kind::uint64, false, false, source::heap, id::gc_heap_trigger_bytes},
    {"/gc/limiter/engaged:bool", "1 while the GC CPU limiter holds collections back, else 0.",
     kind::gauge, value_kind::uint64, false, false, source::heap, id::gc_limiter_engaged_bool},
    {"/gc/limiter/engagements:events", "Times the GC CPU limiter started holding collections back.",
     kind::counter, value_kind::uint64, true, false, source::heap,
     id::gc_limiter_engagements_events},
    {"/gc/limiter/gc-share:ratio",
     "GC share of the non-idle CPU over the limiter's last 1 s window, at its last check (the "
     "limiter keeps it near 0.5 at most).",
     kind::gauge, value_kind::float64, false, false, source::heap, id::gc_limiter_gc_share_ratio},
    {"/gc/limiter/last-enabled:gc-cycle",
     "GC cycle in which the GC CPU limiter was last enabled; 0 if never.", kind::gauge,
     value_kind::uint64, false, false, source::heap, id::gc_limiter_last_enabled_gc_cycle},
    {"/gc/mode/reason:reason",
     "Why the collection mode is what it is: 0 default (stw), 1 GORO_GC_MODE=stw, 2 "
     "GORO_GC_MODE=concurrent, and concurrent asked for but not possible, so stw: 3 goro built "
     "with the packaged libgc, 4 userfaultfd() refused, 5 no asynchronous userfaultfd "
     "write-protection (Linux before 6.7).",
     kind::gauge, value_kind::uint64, false, false, source::heap, id::gc_mode_reason_reason},
    {"/gc/mode:mode",
     "How triggered collections run: 0 stop-the-world, 1 mostly-concurrent marking "
     "(GORO_GC_MODE=concurrent on the patched libgc). Explicit, out-of-memory and "
     "memory-returning collections always stop the world.",
     kind::gauge, value_kind::uint64, false, false, source::heap, id::gc_mode_mode},
    {"/gc/pauses:seconds",
     "Distribution of stop-the-world pause latencies of collections, stopping the world to "
     "restarting it.",
     kind::histogram, value_kind::float64_histogram, true, false, source::heap,
     id::gc_pauses_seconds},
    {"/gc/pressure/state:state",
     "The pacer's memory pressure verdict after the last collection: 0 normal, 1 pressure (the "
     "limit sets the goal), 2 spiral (the limit sets the goal, the limiter is engaged, collections "
     "reclaim little).",
     kind::gauge, value_kind::uint64, false, false, source::heap, id::gc_pressure_state_state},
    {"/gc/pressure/transitions:transitions", "Pressure state transitions, in any direction.",
     kind::counter, value_kind::uint64, true, false, source::heap,
     id::gc_pressure_transitions_transitions},
    {"/memory/classes/heap/free:bytes",
     "Free GC heap blocks still backed by memory (a lower bound: lazily swept free slots are not "
     "counted).",
     kind::gauge, value_kind::uint64, false, false, source::heap,
     id::memory_classes_heap_free_bytes},
    {"/memory/classes/heap/objects:bytes",
     "GC heap occupied by objects, live or not yet swept (blocks holding objects, coroutine frames "
     "excluded).",
     kind::gauge, value_kind::uint64, false, false, source::heap,
     id::memory_classes_heap_objects_bytes},
    {"/memory/classes/heap/released:bytes",
     "GC heap returned to the OS and not reused; reserved address space, not memory.", kind::gauge,
     value_kind::uint64, false, false, source::heap, id::memory_classes_heap_released_bytes},
    {"/memory/classes/heap/stacks:bytes",
     "GC heap holding coroutine frames, in use or cached for reuse (goro's goroutine stacks).",
     kind::gauge, value_kind::uint64, false, false, source::heap,
     id::memory_classes_heap_stacks_bytes},
    {"/memory/classes/metadata/gc:bytes",
     "The collector's bookkeeping outside the heap: block headers, mark bits, the block index.",
     kind::gauge, value_kind::uint64, false, false, source::heap,
     id::memory_classes_metadata_gc_bytes},
    {"/memory/classes/metadata/other:bytes",
     "goro's runtime metadata in internal memory: the scheduler, Ps, Ms, run queues, timers.",
     kind::gauge, value_kind::uint64, false, false, source::heap,
     id::memory_classes_metadata_other_bytes},
    {"/memory/classes/os-stacks:bytes",
     "Resident pages of the stacks of threads attached to the runtime.", kind::gauge,
     value_kind::uint64, false, false, source::heap, id::memory_classes_os_stacks_bytes},
    {"/memory/classes/other:bytes",
     "The rest of what the process's malloc has committed: the program's own malloc and new (the "
     "memory limit counts it).",
     kind::gauge, value_kind::uint64, false, false, source::heap, id::memory_classes_other_bytes},
    {"/memory/classes/total:bytes",
     "All memory goro maps, sum of /memory/classes; the memory limit bounds this minus "
     "/memory/classes/heap/released.",
     kind::gauge, value_kind::uint64, false, false, source::heap, id::memory_classes_total_bytes},
    {"/net/conns/accepted:conns",
     "Connections accepted by goro::net listeners (the rate of this is accepted/s).", kind::counter,
     value_kind::uint64, true, false, source::net, id::net_conns_accepted_conns},
    {"/net/conns/dialed:conns", "Connections goro::net::connect established.", kind::counter,
     value_kind::uint64, true, false, source::net, id::net_conns_dialed_conns},
    {"/net/conns/open:conns",
     "goro::net TCP streams holding a socket: accepted, dialed or wrapped, and not yet closed or "
     "destroyed.",
     kind::gauge, value_kind::uint64, false, false, source::net, id::net_conns_open_conns},
    {"/net/http/requests:requests",
     "Requests goro::http servers answered (a handler's response or its failure's 500; not "
     "requests refused as malformed).",
     kind::counter, value_kind::uint64, true, false, source::net, id::net_http_requests_requests},
    {"/sched/busy:seconds",
     "Wall time each P was held by a worker (not idle): running tasks, polling, spinning.",
     kind::counter, value_kind::float64, true, true, source::sched, id::sched_busy_seconds},
    {"/sched/gomaxprocs:threads", "The current maxprocs (Ps); 0 when no runtime runs.", kind::gauge,
     value_kind::uint64, false, false, source::sched, id::sched_gomaxprocs_threads},
    {"/sched/latencies:seconds",
     "Distribution of the time tasks spend runnable before running (spawned, woken or yielded "
     "until resumed). One in 64 transitions per thread is timed.",
     kind::histogram, value_kind::float64_histogram, true, false, source::sched,
     id::sched_latencies_seconds},
    {"/sched/overflows:events",
     "Times a P's full run queue moved half of itself to the global queue.", kind::counter,
     value_kind::uint64, true, true, source::sched, id::sched_overflows_events},
    {"/sched/parks:events", "Times a P went idle (its worker found no work and parked).",
     kind::counter, value_kind::uint64, true, true, source::sched, id::sched_parks_events},
    {"/sched/polls:tasks", "Tasks resumed by each P (Tokio's poll count).", kind::counter,
     value_kind::uint64, true, true, source::sched, id::sched_polls_tasks},
    {"/sched/queue/global:tasks", "Tasks in the global run queue.", kind::gauge, value_kind::uint64,
     false, false, source::sched, id::sched_queue_global_tasks},
    {"/sched/steals:steals", "Successful steal operations by each P.", kind::counter,
     value_kind::uint64, true, true, source::sched, id::sched_steals_steals},
    {"/sched/stolen:tasks", "Tasks taken by each P's steals.", kind::counter, value_kind::uint64,
     true, true, source::sched, id::sched_stolen_tasks},
    {"/sched/tasks/spawned:tasks", "Tasks spawned since the runtime started.", kind::counter,
     value_kind::uint64, true, false, source::sched, id::sched_tasks_spawned_tasks},
    {"/sched/tasks:tasks", "Live tasks: spawned and not yet complete (Go's /sched/goroutines).",
     kind::gauge, value_kind::uint64, false, false, source::sched, id::sched_tasks_tasks},
    {"/sched/threads/blocking:threads", "Blocking-pool threads, running a blocking call or idle.",
     kind::gauge, value_kind::uint64, false, false, source::sched,
     id::sched_threads_blocking_threads},
    {"/sched/threads/total:threads",
     "Threads the runtime made (workers, blocking pool, pinned, sysmon) plus the one in goro::run.",
     kind::gauge, value_kind::uint64, false, false, source::sched, id::sched_threads_total_threads},
    {"/sched/timers/fired:timers", "Timers that fired.", kind::counter, value_kind::uint64, true,
     false, source::sched, id::sched_timers_fired_timers},
    {"/sched/timers/pending:timers", "Timers waiting to fire.", kind::gauge, value_kind::uint64,
     false, false, source::sched, id::sched_timers_pending_timers},
};
static_assert(std::size(kCatalog) == id::count_);

// The sources' readers. Written by static initialisers (which may run in
// any order, hence constant-initialised atomics), read by read().
constinit std::atomic<detail::source_reader> g_sources[static_cast<int>(source::count_)] = {};

// Boundaries of the time histogram in seconds, built once.
std::array<double, time_histogram::kCounts + 1> make_time_buckets() {
  std::array<double, time_histogram::kCounts + 1> b{};
  int k = 0;
  for (int bucket = 0; bucket < time_histogram::kBuckets; ++bucket) {
    for (int sub = 0; sub < time_histogram::kSubBuckets; ++sub) {
      // Bucket 0 is [0, 2^kMinBucketBits) cut in equal parts; bucket i >= 1
      // is [2^(min+i-1), 2^(min+i)), also cut in kSubBuckets equal parts.
      uint64_t lo;
      if (bucket == 0) {
        lo = (uint64_t{1} << (time_histogram::kMinBucketBits - time_histogram::kSubBucketBits)) *
             static_cast<uint64_t>(sub);
      } else {
        const int top = time_histogram::kMinBucketBits + bucket - 1;
        lo = (uint64_t{1} << top) +
             (uint64_t{1} << (top - time_histogram::kSubBucketBits)) * static_cast<uint64_t>(sub);
      }
      b[k++] = static_cast<double>(lo) / 1e9;
    }
  }
  b[k++] = static_cast<double>(uint64_t{1} << time_histogram::kMaxBucketBits) / 1e9;  // overflow
  b[k] = std::numeric_limits<double>::infinity();
  return b;
}

void zero_of_kind(const description& d, value& v) {
  switch (d.value_kind) {
    case value_kind::uint64:
      v.set_uint64(0);
      break;
    case value_kind::float64:
      v.set_float64(0);
      break;
    case value_kind::float64_histogram: {
      float64_histogram& h = v.set_histogram();
      h.buckets = time_histogram::buckets_seconds();
      h.counts.assign(h.buckets.size() - 1, 0);
      h.sum = 0;
      break;
    }
    case value_kind::bad:
      v.set_bad();
      break;
  }
  v.workers().clear();
}

}  // namespace

const char* to_string(kind k) noexcept {
  switch (k) {
    case kind::counter:
      return "counter";
    case kind::gauge:
      return "gauge";
    case kind::histogram:
      return "histogram";
  }
  return "?";
}

const char* to_string(value_kind k) noexcept {
  switch (k) {
    case value_kind::bad:
      return "bad";
    case value_kind::uint64:
      return "uint64";
    case value_kind::float64:
      return "float64";
    case value_kind::float64_histogram:
      return "float64_histogram";
  }
  return "?";
}

std::span<const description> all() noexcept {
  return kCatalog;
}

const description* find(std::string_view name) noexcept {
  const auto* it =
      std::lower_bound(std::begin(kCatalog), std::end(kCatalog), name,
                       [](const description& d, std::string_view n) { return d.name < n; });
  return it != std::end(kCatalog) && it->name == name ? it : nullptr;
}

uint64_t value::uint64() const {
  if (kind_ != value_kind::uint64) throw std::logic_error("goro::metrics::value: not a uint64");
  return u_;
}

double value::float64() const {
  if (kind_ != value_kind::float64) throw std::logic_error("goro::metrics::value: not a float64");
  return f_;
}

const float64_histogram& value::histogram() const {
  if (kind_ != value_kind::float64_histogram)
    throw std::logic_error("goro::metrics::value: not a float64_histogram");
  return h_;
}

void read(std::span<sample> samples) {
  // Requests grouped by source, in chunks so no allocation is needed.
  constexpr std::size_t kChunk = 64;
  for (int src = 0; src < static_cast<int>(source::count_); ++src) {
    const detail::source_reader r = g_sources[src].load(std::memory_order_acquire);
    detail::request reqs[kChunk];
    std::size_t n = 0;
    for (sample& s : samples) {
      const description* d = find(s.name);
      if (src == 0 && d == nullptr) s.value.set_bad();
      if (d == nullptr || static_cast<int>(d->source) != src) continue;
      zero_of_kind(*d, s.value);
      reqs[n++] = {d->id, &s.value};
      if (n == kChunk) {
        if (r) r({reqs, n});
        n = 0;
      }
    }
    if (n > 0 && r) r({reqs, n});
  }
}

std::vector<sample> make_samples() {
  std::vector<sample> out(std::size(kCatalog));
  for (std::size_t i = 0; i < out.size(); ++i) out[i].name = kCatalog[i].name;
  return out;
}

int time_histogram::index(int64_t ns) noexcept {
  if (ns <= 0) return 0;
  const auto u = static_cast<uint64_t>(ns);
  if (u >= (uint64_t{1} << kMaxBucketBits)) return kCounts - 1;
  if (u < (uint64_t{1} << kMinBucketBits))
    return static_cast<int>(u >> (kMinBucketBits - kSubBucketBits));
  const int top = 63 - std::countl_zero(u);  // kMinBucketBits .. kMaxBucketBits-1
  const int bucket = top - kMinBucketBits + 1;
  const int sub = static_cast<int>((u >> (top - kSubBucketBits)) & (kSubBuckets - 1));
  return bucket * kSubBuckets + sub;
}

std::span<const double> time_histogram::buckets_seconds() noexcept {
  static const std::array<double, kCounts + 1> b = make_time_buckets();
  return b;
}

void time_histogram::read(float64_histogram& h) const {
  h.buckets = buckets_seconds();
  h.counts.resize(kCounts);
  for (int i = 0; i < kCounts; ++i) h.counts[i] = counts_[i].load(std::memory_order_relaxed);
  h.sum = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
}

uint64_t time_histogram::total() const noexcept {
  uint64_t n = 0;
  for (const auto& c : counts_) n += c.load(std::memory_order_relaxed);
  return n;
}

namespace detail {

void register_source(source s, source_reader r) noexcept {
  g_sources[static_cast<int>(s)].store(r, std::memory_order_release);
}

}  // namespace detail
}  // namespace goro::metrics
