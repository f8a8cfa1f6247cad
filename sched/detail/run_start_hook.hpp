#pragma once
// What goro::run asks of the layers above the scheduler when a run starts:
// the debug server (debug/server/autostart.cpp) fills the hook in when the
// program links it (the goro::goro umbrella does), and starts itself there
// when GORO_DEBUG_ADDR is set. Not for users.

#include <atomic>

namespace goro::detail {

/// Called by goro::run on its own thread once the runtime is up (Ps, the
/// poller, sysmon) and before the root task is spawned, when the run reads
/// the environment (runtime_options::read_environment). It may spawn tasks;
/// they end with the run as every task does, so they never keep goro::run
/// from returning. A bad setting ends the process inside the hook (one line
/// on stderr, exit code 2), as every GORO_* error does.
using run_start_fn = void (*)();
inline constinit std::atomic<run_start_fn> g_run_start_hook{nullptr};

}  // namespace goro::detail
