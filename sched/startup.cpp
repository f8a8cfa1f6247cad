#include "sched/detail/startup.hpp"

#include <algorithm>
#include <iterator>
#include <string_view>

#include "core/env.hpp"
#include "sched/detail/debug_hooks.hpp"
#include "sched/maxprocs.hpp"

namespace goro::detail {

startup_config read_startup_config() {
  startup_config c;
  c.max_procs = max_procs_from_env();
  if (auto v = env::get("GORO_DEBUG")) {
    auto kv = env::parse_debug(*v);
    // Every key any layer understands; unknown keys are an error so a typo
    // does not silently switch nothing on.
    env::check_debug_keys(kv, {"schedtrace", "scheddetail", "gctrace"});
    if (auto it = kv.find("schedtrace"); it != kv.end())
      c.schedtrace_ms = env::parse_int("GORO_DEBUG schedtrace", it->second, 1, 3'600'000);
    if (auto it = kv.find("scheddetail"); it != kv.end())
      c.scheddetail = env::parse_int("GORO_DEBUG scheddetail", it->second, 0, 1) == 1;
  }
  if (auto v = env::get("GORO_TRACEBACK")) {  // Go's GOTRACEBACK (sched/detail/debug_hooks.hpp)
    static constexpr std::string_view kLevels[] = {"none", "single", "all", "crash"};
    const auto* it = std::find(std::begin(kLevels), std::end(kLevels), *v);
    if (it == std::end(kLevels))
      throw config_error("GORO_TRACEBACK=\"" + *v + "\": want none, single, all or crash");
    g_traceback.store(static_cast<traceback_level>(it - std::begin(kLevels)));
  }
  return c;
}

int default_procs() {
  return default_max_procs();
}

}  // namespace goro::detail
