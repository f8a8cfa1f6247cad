// skynet: every node spawns `div` children and sums what they send back on
// one channel of capacity `buf` (0 = unbuffered, the classic Go version);
// a leaf sends its own index. 1M leaves and div 10 make 1,111,111 tasks and
// the sum 499999500000. Each node is a spawned (detached) task holding its
// own handle to its parent's channel, as each Go goroutine holds the
// channel value and each Tokio task a cloned Sender.

#include "bench/peers/workloads.hpp"
#include "sched/chan.hpp"

namespace goro_peers {
namespace {

goro::task<void> skynet(goro::chan<int64_t> out, int64_t num, int64_t size, int64_t div,
                        int64_t buf) {
  if (size == 1) {
    co_await out.send(num);
    co_return;
  }
  goro::chan<int64_t> sums(static_cast<std::size_t>(buf));
  const int64_t sub = size / div;
  for (int64_t i = 0; i < div; ++i)
    goro::spawn(skynet(sums, num + i * sub, sub, div, buf)).detach();
  int64_t sum = 0;
  for (int64_t i = 0; i < div; ++i) sum += (co_await sums.recv()).value_or(0);
  co_await out.send(sum);
}

goro::task<run_report> skynet_root(int64_t size, int64_t div, int64_t buf, const invocation* inv) {
  // Tasks created: size + size/div + ... + 1.
  int64_t nodes = 0;
  for (int64_t s = size; s >= 1; s /= div) {
    nodes += s;
    if (s == 1) break;
  }
  run_report r("skynet", inv->label, inv->params, current_procs());
  r.begin();
  goro::chan<int64_t> result(1);
  goro::spawn(skynet(result, 0, size, div, buf)).detach();
  const int64_t sum = (co_await result.recv()).value_or(-1);
  const int64_t want = (size - 1) * size / 2;
  r.end(static_cast<double>(nodes), "goroutines",
        verdict(sum == want, "sum=" + std::to_string(sum)));
  co_return r;
}

}  // namespace

void run_skynet(const args_t& args) {
  flag_set fs("skynet");
  const int64_t* size = fs.add_int("size", 1000000, "number of leaves (a power of div)");
  const int64_t* div = fs.add_int("div", 10, "children per node");
  const int64_t* buf =
      fs.add_int("buf", 0, "channel buffer per node (0 = unbuffered, the classic skynet)");
  invocation inv = parse_common(fs, args);
  if (*size < 1 || *div < 2 || *buf < 0) fs.fail("want -size >= 1, -div >= 2, -buf >= 0");
  print_report(goro::run(skynet_root(*size, *div, *buf, &inv), inv.opts));
}

}  // namespace goro_peers
