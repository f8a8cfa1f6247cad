#include "heap/collection_policy.hpp"

namespace goro::heap {

uint64_t gc_percent_policy::trigger(const heap_observation& now) {
  if (gc_percent_ < 0) return never;
  const auto pct = static_cast<uint64_t>(gc_percent_);
  // Go's heapminimum: 4 MiB scaled by GOGC/100 (mgcpacer.go).
  const uint64_t floor = (uint64_t{4} << 20) * pct / 100;
  const uint64_t goal = now.live_bytes + now.live_bytes * pct / 100;
  return goal > floor ? goal : floor;
}

}  // namespace goro::heap
