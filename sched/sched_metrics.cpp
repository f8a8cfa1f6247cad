// The scheduler's part of the metrics catalog (core/metrics.hpp): gomaxprocs,
// live tasks, the scheduling-latency histogram, per-P (per-worker) counters,
// threads and timers. Values read as zero (and per-worker lists as empty)
// while no runtime runs.
//
// The reader holds metrics_reader_lock() for the whole read, and goro::run
// takes it around unpublishing the scheduler, so the scheduler and its Ps
// outlive every read that found them. Per-P idle time is read under the
// sched lock (it changes only there), so busy time never appears to go
// backwards; the rest are single atomic loads.

#include <mutex>

#include "core/metrics.hpp"
#include "core/metrics_catalog.hpp"
#include "sched/detail/registry.hpp"
#include "sched/detail/scheduler.hpp"

namespace goro::detail {
namespace {

constinit metrics::time_histogram g_latency;

struct p_snapshot {
  uint64_t polls, steals, stolen, overflows, parks, spawned;
  double busy_s;
};

void fill_workers(metrics::value& out, const p_snapshot* ps, int n, double p_snapshot::*f) {
  double total = 0;
  out.workers().resize(n);
  for (int i = 0; i < n; ++i) total += out.workers()[i] = ps[i].*f;
  out.set_float64(total);
}

void fill_workers(metrics::value& out, const p_snapshot* ps, int n, uint64_t p_snapshot::*f) {
  uint64_t total = 0;
  out.workers().resize(n);
  for (int i = 0; i < n; ++i) {
    total += ps[i].*f;
    out.workers()[i] = static_cast<double>(ps[i].*f);
  }
  out.set_uint64(total);
}

void read_sched_metrics(std::span<const metrics::detail::request> reqs) {
  namespace id = metrics::id;
  std::lock_guard rlk(metrics_reader_lock());
  scheduler* s = sched();
  // Under metrics_reader_lock: one buffer for every reader, off the stack
  // (a reader may run on a thread with a small stack).
  static p_snapshot ps[kMaxProcs];
  int np = 0;
  uint64_t spawned = 0, completed = 0, timers_pending = 0, timers_fired = 0;
  if (s) {
    for (; np < kMaxProcs; ++np) {
      processor* p = s->all_p[np].load(std::memory_order_acquire);
      if (!p) break;
      p_snapshot& o = ps[np];
      const p_stats& st = p->stats;
      o.polls = p->schedticks_total.load(std::memory_order_relaxed);
      o.steals = p->steals.load(std::memory_order_relaxed);
      o.stolen = p->stolen_tasks.load(std::memory_order_relaxed);
      o.overflows = p->overflows.load(std::memory_order_relaxed);
      o.parks = st.parks.load(std::memory_order_relaxed);
      o.spawned = p->tasks_spawned.load(std::memory_order_relaxed);
      spawned += o.spawned;
      timers_fired += p->timers.fired_total.load(std::memory_order_relaxed);
      {
        std::lock_guard tlk(p->timers.lock);
        timers_pending += p->timers.heap.size();
      }
    }
    spawned += s->spawned_without_p.load(std::memory_order_relaxed);
    // Idle time changes only under the sched lock (pidleput / pidleget),
    // and the shard list is protected by it.
    const int64_t now = nanotime();
    std::lock_guard lk(s->lock);
    for (const auto& r : s->synced.shards)
      completed += r->local_freed.load(std::memory_order_relaxed) +
                   r->remote_freed.load(std::memory_order_relaxed);
    for (int i = 0; i < np; ++i) {
      const p_stats& st = s->all_p[i].load(std::memory_order_acquire)->stats;
      const int64_t since = st.idle_since.load(std::memory_order_relaxed);
      const int64_t idle = st.idle_ns.load(std::memory_order_relaxed) + (since ? now - since : 0);
      const int64_t busy = now - st.created_ns - idle;
      ps[i].busy_s = busy > 0 ? static_cast<double>(busy) / 1e9 : 0.0;
    }
  }
  for (const metrics::detail::request& r : reqs) {
    metrics::value& out = *r.out;
    switch (r.id) {
      case id::sched_gomaxprocs_threads:
        out.set_uint64(s ? static_cast<uint64_t>(s->gomaxprocs.load(std::memory_order_relaxed))
                         : 0);
        break;
      case id::sched_latencies_seconds:
        g_latency.read(out.set_histogram());
        break;
      case id::sched_overflows_events:
        fill_workers(out, ps, np, &p_snapshot::overflows);
        break;
      case id::sched_parks_events:
        fill_workers(out, ps, np, &p_snapshot::parks);
        break;
      case id::sched_polls_tasks:
        fill_workers(out, ps, np, &p_snapshot::polls);
        break;
      case id::sched_busy_seconds:
        fill_workers(out, ps, np, &p_snapshot::busy_s);
        break;
      case id::sched_steals_steals:
        fill_workers(out, ps, np, &p_snapshot::steals);
        break;
      case id::sched_stolen_tasks:
        fill_workers(out, ps, np, &p_snapshot::stolen);
        break;
      case id::sched_queue_global_tasks:
        out.set_uint64(s ? s->global.size() : 0);
        break;
      case id::sched_tasks_spawned_tasks:
        out.set_uint64(spawned);
        break;
      case id::sched_tasks_tasks:
        out.set_uint64(spawned > completed ? spawned - completed : 0);
        break;
      case id::sched_threads_blocking_threads:
        out.set_uint64(s ? static_cast<uint64_t>(s->nblocking.load(std::memory_order_relaxed)) : 0);
        break;
      case id::sched_threads_total_threads:
        out.set_uint64(s ? static_cast<uint64_t>(s->nthreads.load(std::memory_order_relaxed)) : 0);
        break;
      case id::sched_timers_fired_timers:
        out.set_uint64(timers_fired);
        break;
      case id::sched_timers_pending_timers:
        out.set_uint64(timers_pending);
        break;
      default:
        break;
    }
  }
}

// Registered while the program starts; this file is always linked with the
// scheduler, whose execute() records into g_latency.
[[maybe_unused]] const bool g_registered =
    (metrics::detail::register_source(metrics::source::sched, read_sched_metrics), true);

}  // namespace

std::mutex& metrics_reader_lock() noexcept {
  static std::mutex mu;
  return mu;
}

void record_sched_latency(int64_t ns) noexcept {
  g_latency.record(ns);
}

}  // namespace goro::detail
