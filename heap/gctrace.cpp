// gctrace (GORO_DEBUG=gctrace=1): formatting the line printed for each
// collection. The pacer policy (heap/pacer_policy.cpp) formats it after
// every collection and stages it (heap/gc_pressure.cpp), to be printed once
// the driver's locks are released. Go's shape with goro's reason and state
// appended:
//
//   gc 12 @3.214s 41%: 0.012+38+0.009 ms clock, 76 ms cpu, 410->433->402 MB,
//   475 MB goal, 512 MB limit, 2 P, trigger=limit, state=pressure, mode=stw
//
//   gc 12          the collection number, 1-based, every driver collection
//   @3.214s        seconds since the heap started (first allocation)
//   41%            share of wall time since then spent with the world stopped
//                  (with procs x pause as GC CPU, also GC's share of the
//                  available CPU, as Go's field)
//   A+B+C ms clock wall time of the pause's phases: A stopping the world
//                  (until marking starts), B marking, C the rest of the
//                  pause (finishing, restarting the world). Go's are sweep
//                  termination + concurrent mark + mark termination.
//   76 ms cpu      process CPU used during the collection, all threads
//                  (parallel markers included); Go splits it five ways
//   X->Y->Z MB     heap (live + allocated since the last collection) at the
//                  check that decided to collect, when the world stopped, and
//                  live after it (block-granular); MB = 2^20 bytes, truncated
//   475 MB goal    the goal the collection aimed at; "no goal" with
//                  gc_percent off and no limit
//   512 MB limit   the soft memory limit; "no limit" without one; followed
//                  by " (cgroup)" when it is the cgroup default
//   2 P            the procs the limiter assumes
//   trigger=...    why it ran: gc_percent or limit (the rule whose trigger the
//                  heap reached), forced (goro::gc), release
//                  (free_os_memory), oom (an allocation failed), none (the
//                  driver collected without the pacer's admission)
//   state=...      the pressure state after it: normal, pressure or spiral
//   mode=...       stw, or concurrent for an incremental cycle
//                  (GORO_GC_MODE=concurrent, heap/gc_mode.cpp): its A+B+C
//                  then sum the cycle's stops, and its cpu is each stop
//                  times the procs plus the CPU of the marking done with
//                  the world running (the background marker's and the
//                  allocating threads' assists). In a concurrent process
//                  forced, oom and release collections say mode=stw: they
//                  stop the world. Why the process runs in its mode:
//                  /gc/mode/reason:reason (heap/gc_mode.hpp)

#include "heap/gctrace.hpp"

#include <algorithm>
#include <cstdio>

#include "heap/detail/gc_knobs.hpp"
#include "heap/memory_limit_default.hpp"

namespace goro::heap {
namespace {

constexpr uint64_t mb(uint64_t bytes) noexcept {
  return bytes >> 20;
}

const char* reason_name(const collection_record& r, const pacer::cycle_report& rep) noexcept {
  switch (r.reason) {
    case collection_reason::trigger:
      return pacer::to_string(rep.reason);
    case collection_reason::explicit_call:
      return "forced";
    case collection_reason::out_of_memory:
      return "oom";
    case collection_reason::release:
      return "release";
  }
  return "?";
}

}  // namespace

int format_gctrace(char* buf, std::size_t size, const collection_record& r,
                   const pacer::cycle_report& rep, uint64_t heap_at_check, int64_t memory_limit,
                   int procs, pacer::pressure_state state) noexcept {
  const int64_t since = r.end_ns - detail::heap_start_ns();
  const double pct =
      since > 0 ? 100.0 * static_cast<double>(r.after.total_pause_ns) / static_cast<double>(since)
                : 0.0;
  const int64_t rest = std::max<int64_t>(r.pause_ns - r.stop_ns - r.mark_ns, 0);
  char goal[32], limit[48];
  if (rep.goal.bytes == pacer::no_goal)
    std::snprintf(goal, sizeof goal, "no goal");
  else
    std::snprintf(goal, sizeof goal, "%llu MB goal",
                  static_cast<unsigned long long>(mb(rep.goal.bytes)));
  if (memory_limit == pacer::no_limit)
    std::snprintf(limit, sizeof limit, "no limit");
  else
    std::snprintf(
        limit, sizeof limit, "%llu MB limit%s",
        static_cast<unsigned long long>(mb(static_cast<uint64_t>(memory_limit))),
        detail::memory_limit_source_setting() == memory_limit_source::cgroup ? " (cgroup)" : "");
  return std::snprintf(
      buf, size,
      "gc %llu @%.3fs %.0f%%: %.3f+%.3f+%.3f ms clock, %.0f ms cpu, %llu->%llu->%llu MB, %s, "
      "%s, %d P, trigger=%s, state=%s, mode=%s",
      static_cast<unsigned long long>(rep.cycle), static_cast<double>(since) / 1e9, pct,
      static_cast<double>(r.stop_ns) / 1e6, static_cast<double>(r.mark_ns) / 1e6,
      static_cast<double>(rest) / 1e6, static_cast<double>(r.cpu_ns) / 1e6,
      static_cast<unsigned long long>(mb(heap_at_check)),
      static_cast<unsigned long long>(mb(r.heap_live_before)),
      static_cast<unsigned long long>(mb(r.live_after)), goal, limit, procs, reason_name(r, rep),
      pacer::to_string(state), r.concurrent ? "concurrent" : "stw");
}

}  // namespace goro::heap
