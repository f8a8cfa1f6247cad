#pragma once
// goro's runtime metrics for Prometheus, through prometheus-cpp (the C++
// ecosystem's client, Debian's prometheus-cpp-dev): a Collectable that
// turns the metrics catalog (core/metrics.hpp) into metric families, served
// beside the service's own registry on the same endpoint:
//
//   auto registry = std::make_shared<prometheus::Registry>();   // the service's
//   auto& requests = prometheus::BuildCounter().Name("requests_total")...Register(*registry);
//   auto runtime = goro::prometheus::make_runtime_collector();
//   prometheus::Exposer exposer{"127.0.0.1:9464"};
//   exposer.RegisterCollectable(registry);    // one /metrics, both sets
//   exposer.RegisterCollectable(runtime);
//
// (prometheus-cpp 1.0's Registry holds only families it built itself; a
// foreign Collectable joins it at the exposer, or by concatenating
// registry->Collect() and runtime->Collect() before TextSerializer.)
//
// This is its own library target (goro::prometheus); goro's core does not
// depend on prometheus-cpp.
//
// Names follow client_golang's mapping of Go's runtime/metrics
// (prometheus/internal/go_runtime_metrics.go, RuntimeMetricsToProm) with the
// namespace "goro" instead of "go", and Prometheus' naming rules where the
// two differ: "/a/b/c:unit" becomes goro_a_b_c, '-' and '/' becoming '_';
// the unit is appended only when it is a unit Prometheus names (bytes,
// seconds, cpu-seconds, ratio, percent), not when it names what a count
// counts (gc-cycles, tasks, events: go_goroutines, not
// go_goroutines_goroutines) or a code (state, bool); counters end in
// "_total", added unless the path already ends so; a gauge whose path ends
// in "total" keeps its unit, so only counters end in "_total". So
// /sched/latencies:seconds is the histogram goro_sched_latencies_seconds,
// /gc/cycles/total:gc-cycles the counter goro_gc_cycles_total (client_golang:
// go_gc_cycles_total_gc_cycles_total), /memory/classes/total:bytes the gauge
// goro_memory_classes_total_bytes, /sched/tasks:tasks the gauge
// goro_sched_tasks and /sched/threads/total:threads the gauge
// goro_sched_threads_total_threads.
// HELP is the catalog's description and "Sourced from <name>.", as there.
// Cumulative scalars are counters, the others gauges, histograms
// histograms. Per-worker metrics become one series per P, label worker="N".
//
// Histograms are re-bucketed as client_golang does
// (RuntimeMetricsBucketsForUnit): for seconds, boundaries at least 10x
// apart, and everything above 1 s folded into +Inf; the runtime's bucket
// [b_i, b_{i+1}) is reported under le = b_{i+1} (client_golang uses the
// float just below b_{i+1}, which prometheus-cpp's 16-digit printing would
// round back up). _sum is the exact sum goro keeps (client_golang can only
// estimate it).

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics.hpp"

namespace goro::prometheus {

/// The Prometheus family name of a catalog entry (the rule above).
std::string family_name(const metrics::description& d, std::string_view ns = "goro");

/// client_golang's re-bucketing for `unit` (seconds: 10x apart, capped at
/// 1 s then +Inf; bytes: 2x apart; otherwise unchanged). The result starts
/// with the first boundary of `buckets` and ends with +Inf.
std::vector<double> prometheus_buckets(std::span<const double> buckets, std::string_view unit);

/// The Collectable. Thread-safe: Collect() may run on several threads.
class runtime_collector : public ::prometheus::Collectable {
 public:
  explicit runtime_collector(std::string ns = "goro");
  ~runtime_collector() override;
  std::vector<::prometheus::MetricFamily> Collect() const override;

 private:
  struct state;
  std::unique_ptr<state> s_;
};

/// A collector to register (Registry::Register takes Collectables through
/// the Exposer's RegisterCollectable, which wants a shared_ptr).
std::shared_ptr<runtime_collector> make_runtime_collector(std::string ns = "goro");

/// The text exposition (format 0.0.4) of goro's runtime metrics alone,
/// rendered by prometheus-cpp's TextSerializer.
std::string render_text(std::string_view ns = "goro");

}  // namespace goro::prometheus
