// The scheduler's start-up settings: GORO_MAXPROCS, its GORO_DEBUG keys and
// GORO_TRACEBACK, read through core/settings (which holds every GORO_* variable).

#include "sched/detail/startup.hpp"

#include "core/settings.hpp"
#include "sched/detail/cpu_limit.hpp"
#include "sched/detail/debug_hooks.hpp"

namespace goro::detail {

startup_config read_startup_config() {
  startup_config c;
  c.max_procs = max_procs_from_env();
  if (auto v = settings::integer("GORO_DEBUG=schedtrace")) c.schedtrace_ms = *v;
  if (auto v = settings::integer("GORO_DEBUG=scheddetail")) c.scheddetail = *v == 1;
  // Go's GOTRACEBACK (sched/detail/debug_hooks.hpp); the table's choices
  // are in traceback_level's order.
  if (auto v = settings::choice("GORO_TRACEBACK"))
    g_traceback.store(static_cast<traceback_level>(*v), std::memory_order_relaxed);
  return c;
}

int default_procs() {
  return default_max_procs();
}

}  // namespace goro::detail
