// goro-peers: goro's side of the peer benchmarks in bench/peers.
//
//   goro-peers <workload> [-flag value ...] [-procs N] [-label L]
//   goro-peers list
//
// It takes the Go peer's command line (run.sh hands every implementation the
// same one) and prints the same JSON line, with impl "goro". See
// bench/README.md for running it beside the Go and Tokio peers.

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "bench/peers/workloads.hpp"

namespace goro_peers {

namespace {

struct workload {
  const char* name;
  const char* desc;
  void (*run)(const args_t&);
};

constexpr workload kWorkloads[] = {
    {"skynet", "1M-leaf task tree (div-ary), sums leaf indices over channels", run_skynet},
    {"spawn", "spawn N tasks doing trivial work; a latch", run_spawn},
    {"yield", "N tasks x K goro::yield", run_yield},
    {"pingpong", "two tasks bounce a message M times (buf=0 unbuffered, >0 buffered)",
     run_pingpong},
    {"chain", "chain of N tasks passing a token R rounds", run_chain},
    {"timers", "N tasks sleep 1-10 ms in a loop: sleeps/s and wake-up lateness", run_timers},
    {"binarytrees", "benchmarks-game binary-trees on the collected heap (a task per depth)",
     run_binarytrees},
    {"gcbench",
     "Ellis/Kovac/Boehm GCBench: trees of depth 4-20 top-down and bottom-up, long-lived tree",
     run_gcbench},
    {"garbage", "service heap: old generation + request trees at a fixed rate; latency and pauses",
     run_garbage},
    {"fanout", "requests on a channel fan out to 16 allocating tasks at a fixed rate; latency",
     run_fanout},
    {"gcbench-limit", "live set + fixed-rate churn under gc_percent / the memory limit, timeline",
     run_gcbench_limit},
    {"http", "server: HTTP/1.1 on -addr HOST:PORT, GET /hello, GET /alloc?n=K, POST /echo",
     run_http},
    {"echo", "server: TCP echo on -addr HOST:PORT, 4 KiB buffer per connection, until SIGTERM",
     run_echo},
    {"calib", "not a peer workload: measures available parallel CPU (speedup over 1 task)",
     run_calib},
};

[[noreturn]] void usage() {
  std::fprintf(stderr, "usage: goro-peers <workload> [flags] | list\n");
  for (const workload& w : kWorkloads) std::fprintf(stderr, "  %-14s %s\n", w.name, w.desc);
  std::exit(2);
}

}  // namespace

invocation parse_common(flag_set& fs, const args_t& args) {
  const std::string* label =
      fs.add_string("label", "", "free-form label echoed in the JSON (used by summarize)");
  const int64_t* procs = fs.add_int("procs", 0, "GOMAXPROCS (0 = goro's default)");
  fs.parse(args);
  if (*procs < 0) fs.fail("-procs must be >= 0");
  invocation inv;
  inv.label = *label;
  inv.opts.max_procs = static_cast<int>(std::min<int64_t>(*procs, 1 << 20));
  inv.params = fs.values();
  inv.params.erase("label");
  inv.params.erase("procs");
  return inv;
}

void print_report(const run_report& r) {
  std::cout << r.json() << '\n' << std::flush;
}

int current_procs() {
  return goro::set_max_procs(0);
}

}  // namespace goro_peers

int main(int argc, char** argv) {
  using namespace goro_peers;
  if (argc < 2) usage();
  const std::string cmd = argv[1];
  if (cmd == "list") {
    for (const workload& w : kWorkloads) std::printf("%-14s %s\n", w.name, w.desc);
    return 0;
  }
  if (cmd == "-h" || cmd == "--help" || cmd == "help") usage();
  const args_t args(argv + 2, argv + argc);
  for (const workload& w : kWorkloads) {
    if (cmd == w.name) {
      w.run(args);
      return 0;
    }
  }
  std::fprintf(stderr, "unknown workload \"%s\"\n", cmd.c_str());
  usage();
}
