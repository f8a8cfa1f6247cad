// The scheduler's start-up settings: GORO_MAXPROCS and its GORO_DEBUG keys,
// read through core/settings (which holds every GORO_* variable).

#include "sched/detail/startup.hpp"

#include "core/settings.hpp"
#include "sched/detail/cpu_limit.hpp"

namespace goro::detail {

startup_config read_startup_config() {
  startup_config c;
  c.max_procs = max_procs_from_env();
  if (auto v = settings::integer("GORO_DEBUG=schedtrace")) c.schedtrace_ms = *v;
  if (auto v = settings::integer("GORO_DEBUG=scheddetail")) c.scheddetail = *v == 1;
  return c;
}

int default_procs() {
  return default_max_procs();
}

}  // namespace goro::detail
