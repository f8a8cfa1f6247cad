#pragma once
// Latency and pause distributions as the JSON objects the allocation
// workloads add to their line (and bench/peers/go writes the same way):
//
//   "latency":   {"count", "mean_ms", "p50_ms", "p99_ms", "p999_ms", "max_ms"}
//   "gc_pauses": {"count", "total_ms", "max_ms", "p50_ms", "p99_ms", "dropped"}
//
// Percentiles are nearest-rank (the smallest value with at least q of the
// values at or below it), in milliseconds rounded to the microsecond.

#include <cstdint>
#include <string>
#include <vector>

namespace goro_peers {

/// Nearest-rank percentile of sorted values; 0 for an empty set.
int64_t percentile(const std::vector<int64_t>& sorted, double q);

/// Nanoseconds as milliseconds rounded to 3 decimals.
double ns_to_ms(double ns);

/// The "latency" object of per-request latencies in nanoseconds (sorted here).
std::string latency_json(std::vector<int64_t> ns);

/// The "gc_pauses" object of pauses in nanoseconds (sorted here); `dropped`
/// counts pauses that were not recorded (they are missing from count).
std::string pauses_json(std::vector<int64_t> ns, uint64_t dropped);

}  // namespace goro_peers
