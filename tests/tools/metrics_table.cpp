// Prints the README's metrics table from the catalog (one source of truth):
//   build/release/tests/tools/goro-metrics-table > table.md
// tests/readme_metrics_check.py fails when README.md's table differs.

#include <cstdio>
#include <string>

#include "core/metrics.hpp"
#include "debug/prometheus/runtime_collector.hpp"

int main() {
  namespace m = goro::metrics;
  std::printf("| name | kind | value | Prometheus family | description |\n");
  std::printf("| --- | --- | --- | --- | --- |\n");
  for (const m::description& d : m::all()) {
    std::string kind = m::to_string(d.kind);
    if (d.per_worker) kind += ", per worker";
    std::printf("| `%.*s` | %s | %s | `%s` | %.*s |\n", static_cast<int>(d.name.size()),
                d.name.data(), kind.c_str(), m::to_string(d.value_kind),
                goro::prometheus::family_name(d).c_str(), static_cast<int>(d.text.size()),
                d.text.data());
  }
}
