#pragma once
// Start-up configuration from the environment: GORO_MAXPROCS and the
// scheduler's GORO_DEBUG keys (core/settings.hpp holds every GORO_*
// variable). Malformed values throw goro::config_error; goro::run validates
// the whole environment first (settings::validate_environment_or_exit), so
// a bad value ends the process with one line on stderr and exit code 2.

#include <cstdint>
#include <optional>

namespace goro::detail {

struct startup_config {
  std::optional<int> max_procs;  // GORO_MAXPROCS
  int64_t schedtrace_ms = 0;     // GORO_DEBUG=schedtrace=MS (0 = off)
  bool scheddetail = false;      // GORO_DEBUG=scheddetail=1
};

startup_config read_startup_config();

/// The default number of Ps: min(affinity CPUs, max(2, ceil(cgroup quota)))
/// when the process's cgroup limits CPU, else the affinity CPUs.
int default_procs();

}  // namespace goro::detail
