// See debug/prometheus/runtime_collector.hpp.

#include "debug/prometheus/runtime_collector.hpp"

#include <prometheus/text_serializer.h>

#include <cmath>
#include <limits>
#include <mutex>
#include <sstream>

namespace goro::prometheus {
namespace {

std::string underscored(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c == '-' || c == '*' || c == '/') c = '_';
  return out;
}

// Units Prometheus puts in a name (its base units, client_golang's percent,
// and process_cpu_seconds_total's cpu-seconds); anything else in the
// catalog is what a count counts, or a code.
bool is_unit_suffix(std::string_view unit) {
  for (std::string_view u : {"bytes", "seconds", "cpu-seconds", "ratio", "percent"})
    if (unit == u) return true;
  return false;
}

// client_golang's reBucketExp: keep a boundary only when it is at least
// `base` times the last kept one (for positive boundaries).
std::vector<double> rebucket_exp(std::span<const double> b, double base) {
  std::vector<double> out;
  if (b.empty()) return out;
  std::size_t i = 0;
  if (std::isinf(b[0]) && b[0] < 0) {
    out.push_back(b[0]);
    ++i;
  }
  if (i >= b.size()) return out;
  double cur = b[i];
  for (std::size_t k = i + 1; k < b.size(); ++k) {
    if (cur >= 0 && b[k] < cur * base) continue;
    if (cur < 0 && b[k] < cur / base) continue;
    out.push_back(cur);
    cur = b[k];
  }
  out.push_back(cur);
  return out;
}

::prometheus::MetricType type_of(const metrics::description& d) {
  switch (d.kind) {
    case metrics::kind::counter:
      return ::prometheus::MetricType::Counter;
    case metrics::kind::gauge:
      return ::prometheus::MetricType::Gauge;
    case metrics::kind::histogram:
      return ::prometheus::MetricType::Histogram;
  }
  return ::prometheus::MetricType::Untyped;
}

double scalar(const metrics::value& v) {
  return v.kind() == metrics::value_kind::uint64 ? static_cast<double>(v.uint64()) : v.float64();
}

void set_scalar(::prometheus::ClientMetric& m, ::prometheus::MetricType t, double x) {
  if (t == ::prometheus::MetricType::Counter)
    m.counter.value = x;
  else
    m.gauge.value = x;
}

}  // namespace

std::string family_name(const metrics::description& d, std::string_view ns) {
  const std::string_view name = d.name;
  const std::size_t colon = name.rfind(':');
  std::string_view path = name.substr(0, colon);
  const std::string_view unit = name.substr(colon + 1);
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  // The path, '/' and '-' to '_' (client_golang's subsystem + name).
  std::string out = std::string(ns) + "_" + underscored(path);
  const bool counter = d.cumulative && d.kind != metrics::kind::histogram;
  const auto ends_total = [&out] {
    return out.size() >= 6 && out.compare(out.size() - 6, 6, "_total") == 0;
  };
  // The unit is a suffix when it is a Prometheus unit; a count's unit (what
  // is counted: gc-cycles, tasks, events) or a code's (state, bool) is not
  // one, as in go_goroutines or process_open_fds; a gauge whose path ends
  // in "total" keeps it all the same, since "_total" is the counters' mark.
  if (is_unit_suffix(unit) || (!counter && ends_total())) out += "_" + underscored(unit);
  if (counter && !ends_total()) out += "_total";
  return out;
}

std::vector<double> prometheus_buckets(std::span<const double> buckets, std::string_view unit) {
  if (unit == "bytes") return rebucket_exp(buckets, 2);
  if (unit == "seconds") {
    std::vector<double> b = rebucket_exp(buckets, 10);
    for (std::size_t i = 0; i < b.size(); ++i) {
      if (b[i] <= 1) continue;
      b[i] = std::numeric_limits<double>::infinity();
      b.resize(i + 1);
      break;
    }
    return b;
  }
  return {buckets.begin(), buckets.end()};
}

struct runtime_collector::state {
  std::string ns;
  std::vector<std::string> names;                 // family name per catalog entry
  std::vector<std::string> helps;                 // HELP per catalog entry
  std::vector<std::vector<double>> prom_buckets;  // per histogram entry (else empty)
  mutable std::mutex mu;                          // guards samples
  mutable std::vector<metrics::sample> samples;   // reused by every Collect
};

runtime_collector::runtime_collector(std::string ns) : s_(std::make_unique<state>()) {
  s_->ns = std::move(ns);
  s_->samples = metrics::make_samples();
  for (const metrics::description& d : metrics::all()) {
    s_->names.push_back(family_name(d, s_->ns));
    s_->helps.push_back(std::string(d.text) + " Sourced from " + std::string(d.name) + ".");
    s_->prom_buckets.push_back(
        d.kind == metrics::kind::histogram
            ? prometheus_buckets(metrics::time_histogram::buckets_seconds(), d.unit())
            : std::vector<double>{});
  }
}

runtime_collector::~runtime_collector() = default;

std::vector<::prometheus::MetricFamily> runtime_collector::Collect() const {
  std::lock_guard lk(s_->mu);
  metrics::read(s_->samples);
  const auto cat = metrics::all();
  std::vector<::prometheus::MetricFamily> out;
  out.reserve(cat.size());
  for (std::size_t i = 0; i < cat.size(); ++i) {
    const metrics::description& d = cat[i];
    const metrics::value& v = s_->samples[i].value;
    ::prometheus::MetricFamily f;
    f.name = s_->names[i];
    f.help = s_->helps[i];
    f.type = type_of(d);
    if (d.kind == metrics::kind::histogram) {
      const metrics::float64_histogram& h = v.histogram();
      const std::vector<double>& pb = s_->prom_buckets[i];
      ::prometheus::ClientMetric m;
      // Runtime bucket [b_k, b_{k+1}) goes under the first Prometheus bound
      // >= b_{k+1}; the +Inf bound takes the rest.
      std::vector<uint64_t> per(pb.size(), 0);
      std::size_t j = 1;  // pb[0] is the lowest boundary (0): nothing is below it
      uint64_t total = 0;
      for (std::size_t k = 0; k < h.counts.size(); ++k) {
        while (j + 1 < pb.size() && pb[j] < h.buckets[k + 1]) ++j;
        per[j] += h.counts[k];
        total += h.counts[k];
      }
      uint64_t cum = 0;
      for (std::size_t k = 1; k < pb.size(); ++k) {
        cum += per[k];
        m.histogram.bucket.push_back({cum, pb[k]});
      }
      m.histogram.sample_count = total;
      m.histogram.sample_sum = h.sum;
      f.metric.push_back(std::move(m));
    } else if (d.per_worker) {
      const auto w = v.per_worker();
      for (std::size_t k = 0; k < w.size(); ++k) {
        ::prometheus::ClientMetric m;
        m.label.push_back({"worker", std::to_string(k)});
        set_scalar(m, f.type, w[k]);
        f.metric.push_back(std::move(m));
      }
      if (w.empty()) continue;  // no runtime: no workers, no series
    } else {
      ::prometheus::ClientMetric m;
      set_scalar(m, f.type, scalar(v));
      f.metric.push_back(std::move(m));
    }
    out.push_back(std::move(f));
  }
  return out;
}

std::shared_ptr<runtime_collector> make_runtime_collector(std::string ns) {
  return std::make_shared<runtime_collector>(std::move(ns));
}

std::string render_text(std::string_view ns) {
  const runtime_collector c{std::string(ns)};
  std::ostringstream out;
  ::prometheus::TextSerializer().Serialize(out, c.Collect());
  return out.str();
}

}  // namespace goro::prometheus
