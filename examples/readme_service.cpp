// The example from README.md, built so it cannot rot.
#include <vector>

#include "goro.hpp"

struct node {
  node* next;
  long value;
};  // collected: never freed by hand

goro::task<long> work(long id) {
  node* list = nullptr;
  for (long i = 0; i < 1000; ++i) list = goro::gc_new<node>(list, id * i);
  long sum = 0;
  for (node* n = list; n; n = n->next) sum += n->value;
  co_return sum;
}

goro::task<long> handle(long request) {  // fan out to 16 tasks, join
  std::vector<goro::join_handle<long>> parts;
  for (long i = 0; i < 16; ++i) parts.push_back(goro::spawn(work(request + i)));
  long total = 0;
  for (auto& p : parts) total += co_await p;
  co_return total;
}

int main() {
  goro::set_memory_limit(256 << 20);          // GOMEMLIMIT; or GORO_MEMLIMIT=256MiB
  return goro::run([]() -> goro::task<int> {  // main runs as a task on a P
    goro::chan<long> replies(64);
    for (long r = 0; r < 100; ++r)
      goro::spawn([](long r, goro::chan<long> out) -> goro::task<void> {
        co_await out.send(co_await handle(r));
      }(r, replies));  // a dropped handle = `go f()`
    long sum = 0;
    for (int i = 0; i < 100; ++i) sum += *co_await replies.recv();
    co_return sum > 0 ? 0 : 1;
  }());
}
