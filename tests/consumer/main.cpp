// A consumer of goro: spawns tasks that talk over a channel and allocate in
// the collected heap, and prints the sum, which check compares.
#include <cstdio>

#include "goro.hpp"

struct node {
  node* next;
  long value;
};

goro::task<void> produce(long id, goro::chan<long> out) {
  node* list = nullptr;
  for (long i = 1; i <= 100; ++i) list = goro::gc_new<node>(list, id * i);
  long sum = 0;
  for (node* n = list; n; n = n->next) sum += n->value;
  co_await out.send(sum);
}

int main() {
  const long total = goro::run([]() -> goro::task<long> {
    goro::chan<long> sums(8);
    for (long id = 1; id <= 10; ++id) goro::spawn(produce(id, sums));
    long total = 0;
    for (int i = 0; i < 10; ++i) total += *co_await sums.recv();
    co_return total;
  }());
  std::printf("consumer total %ld\n", total);  // 5050 * 55 = 277750
  return total == 277750 ? 0 : 1;
}
