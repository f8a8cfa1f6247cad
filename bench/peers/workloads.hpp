#pragma once
// The workloads of goro-peers, one file each, with the shapes of the Go
// peer's (bench/peers/go/sched.go) and the Rust/Tokio peer's.
//
// Each workload declares its flags (same names, defaults and meaning as the
// Go peer), parses the command line with parse_common, runs its body as the
// root task of one goro::run — the clock starts inside the root task, as
// the Go peer's starts in main — checks its own result and prints one JSON
// line.

#include <string>
#include <string_view>
#include <vector>

#include "bench/peers/flags.hpp"
#include "bench/peers/report.hpp"
#include "goro.hpp"

namespace goro_peers {

using args_t = std::vector<std::string>;

/// The common part of every workload's command line.
struct invocation {
  std::string label;
  goro::runtime_options opts;                // max_procs from -procs (0 = goro's default)
  std::map<std::string, flag_value> params;  // every workload flag's value
};

/// Adds -label and -procs to `fs`, parses `args` (exiting with code 2 on a
/// bad command line, as the Go peer) and returns what was given.
invocation parse_common(flag_set& fs, const args_t& args);

/// Prints the report's JSON line on stdout.
void print_report(const run_report& r);

/// GOMAXPROCS as the running runtime has it (call inside goro::run).
int current_procs();

void run_skynet(const args_t& args);
void run_spawn(const args_t& args);
void run_yield(const args_t& args);
void run_pingpong(const args_t& args);
void run_chain(const args_t& args);
void run_calib(const args_t& args);
void run_timers(const args_t& args);
void run_binarytrees(const args_t& args);
void run_gcbench(const args_t& args);
void run_garbage(const args_t& args);
void run_fanout(const args_t& args);
void run_gcbench_limit(const args_t& args);
// Network servers (bench/run's network rows): run until SIGTERM; no JSON line.
void run_echo(const args_t& args);
void run_http(const args_t& args);
/// The Go peer's allocWork(n) (bench/peers/net/go/servers.go): the /alloc body.
std::string alloc_work(int64_t n);
/// The Go peer's queryInt: key's integer value in a raw query, 0 if absent
/// or malformed, clamped to [0, 1e6].
int64_t query_int(std::string_view raw, std::string_view key);

}  // namespace goro_peers
