#pragma once
// goro's runtime metrics catalog: Go's runtime/metrics, for goro.
//
//   std::vector<goro::metrics::sample> s(goro::metrics::all().size());
//   for (size_t i = 0; i < s.size(); ++i) s[i].name = goro::metrics::all()[i].name;
//   goro::metrics::read(s);          // no stop-the-world; reuse `s` to read again
//   s[i].value.uint64() / .float64() / .histogram()
//
// Shape (Go's, src/runtime/metrics): a fixed list of descriptions, each a
// name "/path:unit", a kind, whether it is cumulative, and a sentence; and
// read(samples), which fills the values of the names asked for. A name goro
// does not have reads as value_kind::bad, as in Go. Names are Go's where Go
// has the metric (/sched/latencies:seconds, /gc/pauses:seconds,
// /memory/classes/total:bytes, ...) with Go's meaning; goro's own go beyond
// (the pressure state, the limiter's window, per-worker counters).
// README.md "Metrics" has the table (generated from all(), checked by a
// test).
//
// Layering. The catalog, its descriptions and the histogram type live here
// in core/; the values live in heap/, sched/ and net/, which register one
// reader each (detail::register_source) from a static initialiser in a file
// the runtime always links (net/'s: the one its sockets count in, so a
// program without goro::net reads its metrics as zero). A reader fills every sample of its source
// from one snapshot, so values of one source read in one call are consistent with each other (the
// memory classes sum to the total exactly).
//
// Cost. read() allocates only the first time a sample is used (a histogram's
// counts, a per-worker vector); reading again into the same samples reuses
// that storage. It never stops the world: counters are atomics, the heap
// figures are one read of Boehm's statistics under its allocation lock.
//
// Per-worker metrics (per_worker = true) are counters whose value is the
// sum over workers (Ps) and whose value.per_worker() has one entry per P,
// index = P id (what tokio-metrics reports per worker).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace goro::metrics {

/// How a metric behaves over time (Prometheus' type).
enum class kind : uint8_t {
  counter,    ///< only grows (cumulative scalars)
  gauge,      ///< goes up and down
  histogram,  ///< float64 histogram; counts only grow
};

/// How a value is represented (Go's metrics.ValueKind).
enum class value_kind : uint8_t {
  bad,                ///< the name is not in the catalog
  uint64,             ///< Value.Uint64
  float64,            ///< Value.Float64
  float64_histogram,  ///< Value.Float64Histogram
};

const char* to_string(kind k) noexcept;
const char* to_string(value_kind k) noexcept;

/// Which part of the runtime supplies a metric's value.
enum class source : uint8_t { heap, sched, net, count_ };

/// One catalog entry (Go's metrics.Description).
struct description {
  std::string_view name;  ///< "/gc/cycles/total:gc-cycles"
  std::string_view text;  ///< what it measures, one or two sentences
  metrics::kind kind = kind::gauge;
  metrics::value_kind value_kind = value_kind::uint64;
  bool cumulative = false;  ///< monotonic (for histograms: every bucket count)
  bool per_worker = false;  ///< also one value per worker (see the file comment)
  metrics::source source = source::heap;
  uint16_t id = 0;  ///< index in all(); readers switch on it

  /// The unit: the part of the name after ':' ("gc-cycles").
  std::string_view unit() const noexcept { return name.substr(name.rfind(':') + 1); }
};

/// Every metric goro has, sorted by name. The storage is static.
std::span<const description> all() noexcept;

/// The entry for `name`, or null.
const description* find(std::string_view name) noexcept;

/// Go's Float64Histogram: counts[i] weighs [buckets[i], buckets[i+1]);
/// buckets.size() == counts.size() + 1; buckets are fixed for the process.
struct float64_histogram {
  std::vector<uint64_t> counts;
  std::span<const double> buckets;
  /// goro's addition: the exact sum of the recorded values, in the unit
  /// (Go does not keep it; Prometheus' _sum wants it).
  double sum = 0;
};

/// A metric value (Go's metrics.Value). Reading it as the wrong kind throws
/// std::logic_error (Go panics).
class value {
 public:
  value_kind kind() const noexcept { return kind_; }
  uint64_t uint64() const;
  double float64() const;
  const float64_histogram& histogram() const;
  /// Per-worker metrics: one value per P, index = P id (empty when no
  /// runtime runs); uint64 metrics' entries are whole numbers.
  std::span<const double> per_worker() const noexcept { return workers_; }

  // Writers, for the sources.
  void set_bad() noexcept { kind_ = value_kind::bad; }
  void set_uint64(uint64_t v) noexcept {
    kind_ = value_kind::uint64;
    u_ = v;
  }
  void set_float64(double v) noexcept {
    kind_ = value_kind::float64;
    f_ = v;
  }
  /// Marks the value as a histogram and returns it for filling.
  float64_histogram& set_histogram() noexcept {
    kind_ = value_kind::float64_histogram;
    return h_;
  }
  std::vector<double>& workers() noexcept { return workers_; }

 private:
  value_kind kind_ = value_kind::bad;
  uint64_t u_ = 0;
  double f_ = 0;
  float64_histogram h_;
  std::vector<double> workers_;
};

/// Go's metrics.Sample: set `name`, read() fills `value`.
struct sample {
  std::string_view name;
  metrics::value value;
};

/// Fills each sample's value; unknown names get value_kind::bad. Safe from
/// any thread, with or without a running runtime, and concurrently.
void read(std::span<sample> samples);

/// Samples for every metric of all(), in that order (a convenience; the
/// vector and the names are allocated here, once).
std::vector<sample> make_samples();

/// A fixed-bucket histogram of durations with Go's time-histogram shape
/// (runtime/histogram.go: 4 sub-buckets per power of two, from [0, 512 ns)
/// up to 2^48 ns, then an overflow bucket; Go 1.21's layout less its
/// negative-duration underflow bucket). Recording is one relaxed atomic add
/// on the bucket and one on the sum: callers that record very often sample.
class time_histogram {
 public:
  static constexpr int kSubBucketBits = 2;  // Go: timeHistSubBucketBits
  static constexpr int kSubBuckets = 1 << kSubBucketBits;
  static constexpr int kMinBucketBits = 9;   // Go: timeHistMinBucketBits (512 ns)
  static constexpr int kMaxBucketBits = 48;  // Go: timeHistMaxBucketBits (~78 hours)
  static constexpr int kBuckets = kMaxBucketBits - kMinBucketBits + 1;
  static constexpr int kCounts = kBuckets * kSubBuckets + 1;  // + overflow

  constexpr time_histogram() = default;

  /// Records one duration in nanoseconds (negative counts as 0).
  void record(int64_t ns) noexcept {
    counts_[index(ns)].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(ns > 0 ? static_cast<uint64_t>(ns) : 0, std::memory_order_relaxed);
  }

  /// The bucket of a duration: counts index.
  static int index(int64_t ns) noexcept;

  /// Boundaries in seconds: kCounts + 1 values, 0 first, +Inf last.
  static std::span<const double> buckets_seconds() noexcept;

  /// Copies the counts (size kCounts) and the sum into `h` (buckets in
  /// seconds). Counts are read one by one without a lock, so a concurrent
  /// record may be seen in the sum and not in its bucket or the reverse.
  void read(float64_histogram& h) const;

  uint64_t total() const noexcept;

 private:
  std::atomic<uint64_t> counts_[kCounts] = {};
  std::atomic<uint64_t> sum_ns_{0};
};

namespace detail {

/// A request to a source: fill `out` with the value of catalog entry `id`.
struct request {
  uint16_t id;
  value* out;
};

/// A source's reader: fills every request from one snapshot.
using source_reader = void (*)(std::span<const request> requests);

/// Installs the reader for `s` (static initialisers in heap/, sched/, net/).
/// Until a source is registered its metrics read as zero of their kind.
void register_source(source s, source_reader r) noexcept;

}  // namespace detail
}  // namespace goro::metrics
