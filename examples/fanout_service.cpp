// A service-shaped goro program: requests arrive on a channel, each is
// handled by its own task that fans out to 16 workers allocating on the
// collected heap, and a collector task sums the replies. Try
//   GORO_DEBUG=gctrace=1 GORO_MEMLIMIT=64MiB build/release/examples/example_fanout_service
#include <cstdio>
#include <vector>

#include "goro.hpp"

struct node {  // a collected object: trivially destructible, never freed by hand
  node* next;
  long value;
};

goro::task<long> work(long id) {
  node* list = nullptr;
  for (long i = 0; i < 1000; ++i) list = goro::gc_new<node>(list, id * i);
  long sum = 0;
  for (node* n = list; n; n = n->next) sum += n->value;
  co_return sum;
}

goro::task<void> handle(long request, goro::chan<long> replies, goro::wait_group* wg) {
  std::vector<goro::join_handle<long>> parts;
  for (long i = 0; i < 16; ++i) parts.push_back(goro::spawn(work(request + i)));
  long total = 0;
  for (auto& p : parts) total += co_await p;
  co_await replies.send(total);
  wg->done();
}

goro::task<long> sum_replies(goro::chan<long> replies) {
  long sum = 0;
  while (auto v = co_await replies.recv()) sum += *v;
  co_return sum;
}

goro::task<int> serve(long requests) {
  goro::chan<long> incoming(64), replies(64);
  auto producer = goro::spawn([](goro::chan<long> in, long n) -> goro::task<void> {
    for (long r = 0; r < n; ++r) co_await in.send(r);
    in.close();
  }(incoming, requests));
  auto total = goro::spawn(sum_replies(replies));
  goro::wait_group wg;
  while (auto r = co_await incoming.recv()) {
    wg.add(1);
    goro::spawn(handle(*r, replies, &wg));  // dropped handle: detached, like `go f()`
  }
  co_await producer;
  co_await wg.wait();
  replies.close();
  long sum = co_await total;
  auto st = goro::read_heap_stats();
  std::printf(
      "served %ld requests (checksum %ld): %llu collections, %.1f MiB live, %.1f ms pauses\n",
      requests, sum, static_cast<unsigned long long>(st.collections), st.live_bytes / 1048576.0,
      st.total_pause_ns / 1e6);
  co_return 0;
}

int main() {
  return goro::run(serve(2000));
}
