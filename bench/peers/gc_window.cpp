#include "bench/peers/gc_window.hpp"

#include <utility>

#include "bench/peers/distribution.hpp"
#include "core/clock.hpp"

namespace goro_peers {

// Room for every pause of any run these workloads make (8 bytes each).
constexpr std::size_t kPauseCapacity = 1 << 18;

gc_window::gc_window()
    : log_(kPauseCapacity), s0_(goro::read_heap_stats()), t0_ns_(goro::nanotime()) {}

std::vector<int64_t> gc_window::finish(run_report& r, int procs) {
  const double wall_ns = static_cast<double>(goro::nanotime() - t0_ns_);
  const goro::heap_stats s1 = goro::read_heap_stats();
  std::vector<int64_t> pauses = log_.pauses_ns();
  const double pause_ns = static_cast<double>(s1.total_pause_ns - s0_.total_pause_ns);
  const double gc_ns = static_cast<double>(s1.gc_cpu_ns - s0_.gc_cpu_ns);
  const double procs_wall = procs > 0 ? procs * wall_ns : 0.0;
  r.set_gc(s1.collections - s0_.collections, procs_wall > 0 ? pause_ns * procs / procs_wall : 0.0,
           "pauses x procs");
  r.add_field("gc_cpu_measured_fraction",
              json_writer().value(procs_wall > 0 ? gc_ns / procs_wall : 0.0).str());
  r.add_field("gc_pauses", pauses_json(pauses, log_.dropped()));
  return pauses;
}

}  // namespace goro_peers
