// pingpong: two tasks bounce an integer M times.
//   -mode pair:    a ping channel and a pong channel, both of capacity -buf
//                  (0 = unbuffered); the partner answers x with x+1.
//   -mode oneshot: every request carries a new reply channel of capacity 1
//                  (Go's make(chan int64, 1); Tokio's oneshot), requests go
//                  over a channel of capacity -buf.
// The partner is joined after the clock stops (Go leaves it to exit).

#include <cstdio>

#include "bench/peers/workloads.hpp"
#include "sched/chan.hpp"

namespace goro_peers {
namespace {

goro::task<void> answer_pairs(goro::chan<int64_t> ping, goro::chan<int64_t> pong) {
  while (std::optional<int64_t> x = co_await ping.recv()) co_await pong.send(*x + 1);
}

struct request {
  int64_t x;
  goro::chan<int64_t> reply;
};

goro::task<void> answer_requests(goro::chan<request> reqs) {
  while (std::optional<request> q = co_await reqs.recv()) co_await q->reply.send(q->x + 1);
}

goro::task<run_report> pingpong_root(int64_t m, int64_t buf, bool oneshot, const invocation* inv) {
  run_report r("pingpong", inv->label, inv->params, current_procs());
  r.begin();
  int64_t v = 0;
  goro::join_handle<void> partner;
  if (!oneshot) {
    goro::chan<int64_t> ping(static_cast<std::size_t>(buf)), pong(static_cast<std::size_t>(buf));
    partner = goro::spawn(answer_pairs(ping, pong));
    for (int64_t i = 0; i < m; ++i) {
      co_await ping.send(v);
      v = (co_await pong.recv()).value_or(-1);
    }
    ping.close();
  } else {
    goro::chan<request> reqs(static_cast<std::size_t>(buf));
    partner = goro::spawn(answer_requests(reqs));
    for (int64_t i = 0; i < m; ++i) {
      goro::chan<int64_t> reply(1);
      // Named, not `send(request{v, reply})`: g++ 12 destroys a braced
      // aggregate temporary in a co_await operand twice (the chan handle
      // inside is released twice and `reply` ends up dangling).
      request q{v, reply};
      co_await reqs.send(std::move(q));
      v = (co_await reply.recv()).value_or(-1);
    }
    reqs.close();
  }
  r.end(static_cast<double>(m), "round_trips", verdict(v == m, "v=" + std::to_string(v)));
  co_await partner;
  co_return r;
}

}  // namespace

void run_pingpong(const args_t& args) {
  flag_set fs("pingpong");
  const int64_t* m = fs.add_int("m", 1000000, "round trips");
  const int64_t* buf = fs.add_int("buf", 0, "channel capacity (0 = unbuffered)");
  const std::string* mode =
      fs.add_string("mode", "pair",
                    "pair: ping and pong channels; oneshot: each request carries a fresh reply "
                    "channel (cap 1)");
  invocation inv = parse_common(fs, args);
  if (*mode != "pair" && *mode != "oneshot") {
    std::fprintf(stderr, "pingpong -mode must be pair or oneshot\n");
    std::exit(2);
  }
  if (*m < 0 || *buf < 0) fs.fail("-m and -buf must be >= 0");
  print_report(goro::run(pingpong_root(*m, *buf, *mode == "oneshot", &inv), inv.opts));
}

}  // namespace goro_peers
