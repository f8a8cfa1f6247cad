#include "bench/peers/distribution.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "bench/peers/report.hpp"

namespace goro_peers {

int64_t percentile(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  const double rank = std::ceil(q * static_cast<double>(sorted.size()));
  const std::size_t i = rank < 1 ? 0 : static_cast<std::size_t>(rank) - 1;
  return sorted[std::min(i, sorted.size() - 1)];
}

double ns_to_ms(double ns) {
  return std::round(ns / 1e3) / 1e3;
}

std::string latency_json(std::vector<int64_t> ns) {
  std::sort(ns.begin(), ns.end());
  const double sum = std::accumulate(ns.begin(), ns.end(), 0.0);
  json_writer w;
  w.begin_object()
      .field("count", static_cast<uint64_t>(ns.size()))
      .field("mean_ms", ns.empty() ? 0.0 : ns_to_ms(sum / static_cast<double>(ns.size())))
      .field("p50_ms", ns_to_ms(static_cast<double>(percentile(ns, 0.50))))
      .field("p99_ms", ns_to_ms(static_cast<double>(percentile(ns, 0.99))))
      .field("p999_ms", ns_to_ms(static_cast<double>(percentile(ns, 0.999))))
      .field("max_ms", ns.empty() ? 0.0 : ns_to_ms(static_cast<double>(ns.back())))
      .end_object();
  return w.str();
}

std::string pauses_json(std::vector<int64_t> ns, uint64_t dropped) {
  std::sort(ns.begin(), ns.end());
  const double sum = std::accumulate(ns.begin(), ns.end(), 0.0);
  json_writer w;
  w.begin_object()
      .field("count", static_cast<uint64_t>(ns.size()))
      .field("total_ms", ns_to_ms(sum))
      .field("max_ms", ns.empty() ? 0.0 : ns_to_ms(static_cast<double>(ns.back())))
      .field("p50_ms", ns_to_ms(static_cast<double>(percentile(ns, 0.50))))
      .field("p99_ms", ns_to_ms(static_cast<double>(percentile(ns, 0.99))))
      .field("dropped", dropped)
      .end_object();
  return w.str();
}

}  // namespace goro_peers
