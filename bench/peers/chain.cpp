// chain: N tasks in a line, each receiving a token from its left channel
// and sending token+1 to its right one; the root sends 0 into the first
// channel and reads N from the last, R times. All channels are unbuffered.
// Building the chain (N spawns, N+1 channels) is part of the measurement,
// as in the Go peer.

#include <vector>

#include "bench/peers/workloads.hpp"
#include "sched/chan.hpp"

namespace goro_peers {
namespace {

goro::task<void> link(goro::chan<int64_t> in, goro::chan<int64_t> out, int64_t rounds) {
  for (int64_t j = 0; j < rounds; ++j) co_await out.send((co_await in.recv()).value_or(-1) + 1);
}

goro::task<run_report> chain_root(int64_t n, int64_t rounds, const invocation* inv) {
  run_report r("chain", inv->label, inv->params, current_procs());
  r.begin();
  std::vector<goro::chan<int64_t>> chans(static_cast<std::size_t>(n) + 1);
  for (int64_t i = 0; i < n; ++i) goro::spawn(link(chans[i], chans[i + 1], rounds)).detach();
  bool ok = true;
  int64_t last = 0;
  for (int64_t j = 0; j < rounds; ++j) {
    co_await chans[0].send(0);
    last = (co_await chans[n].recv()).value_or(-1);
    ok = ok && last == n;
  }
  r.end(static_cast<double>(n) * static_cast<double>(rounds), "hops",
        verdict(ok, "token=" + std::to_string(last)));
  co_return r;
}

}  // namespace

void run_chain(const args_t& args) {
  flag_set fs("chain");
  const int64_t* n = fs.add_int("n", 10000, "goroutines in the chain");
  const int64_t* rounds = fs.add_int("rounds", 100, "times the token travels the whole chain");
  invocation inv = parse_common(fs, args);
  // With -n 0 the root would send to and receive from one unbuffered
  // channel itself: a deadlock, as in Go.
  if (*n < 1 || *rounds < 0) fs.fail("want -n >= 1 and -rounds >= 0");
  print_report(goro::run(chain_root(*n, *rounds, &inv), inv.opts));
}

}  // namespace goro_peers
