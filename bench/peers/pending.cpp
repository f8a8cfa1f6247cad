// Workloads that need channels. goro::chan (sched/chan.hpp) is being written;
// until it lands these say so and exit 2, and run.sh reports the row as
// failed for goro instead of printing a made-up number.

#include <cstdio>
#include <cstdlib>

#include "bench/peers/workloads.hpp"

namespace goro_peers {
namespace {
[[noreturn]] void needs_channels(const char* workload) {
  std::fprintf(stderr, "goro-peers %s: needs goro::chan, not in this build yet\n", workload);
  std::exit(2);
}
}  // namespace

void run_skynet(const args_t&) {
  needs_channels("skynet");
}
void run_pingpong(const args_t&) {
  needs_channels("pingpong");
}
void run_chain(const args_t&) {
  needs_channels("chain");
}

}  // namespace goro_peers
