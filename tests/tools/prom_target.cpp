// A goro program that serves its runtime metrics to Prometheus on loopback,
// for tests/prometheus_scrape_check.py (and by hand):
//   goro-prom-target --addr 127.0.0.1:0 --seconds 20   # prints "port N", then serves
//   goro-prom-target --dump                            # prints the text once
// While it serves, tasks keep spawning, messaging over channels and
// allocating garbage, so collections happen and the scheduling-latency
// histogram fills. Served with prometheus-cpp's Exposer for now (the
// example HTTP service will serve the same text).

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "debug/prometheus/runtime_collector.hpp"
#include "goro.hpp"

namespace {

struct node {
  node* next;
  long v;
};

goro::task<long> churn(long i) {
  node* list = nullptr;
  for (long k = 0; k < 2000; ++k) list = goro::gc_new<node>(list, i + k);
  co_await goro::yield();
  co_return list->v;
}

goro::task<int> serve(double seconds, prometheus::Counter* batches) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  goro::chan<long> ch(16);
  auto consumer = goro::spawn([](goro::chan<long> c) -> goro::task<void> {
    while (co_await c.recv()) {
    }
  }(ch));
  long i = 0;
  while (std::chrono::steady_clock::now() < end) {
    std::vector<goro::join_handle<long>> hs;
    for (int k = 0; k < 64; ++k) hs.push_back(goro::spawn(churn(i++)));
    for (auto& h : hs) co_await ch.send(co_await h);
    batches->Increment();
    co_await goro::sleep_for(std::chrono::milliseconds(2));
  }
  ch.close();
  co_await consumer;
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string addr = "127.0.0.1:0";
  double seconds = 20;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--dump")) {
      goro::gc();
      std::fputs(goro::prometheus::render_text().c_str(), stdout);
      return 0;
    }
    if (!std::strcmp(argv[i], "--addr") && i + 1 < argc) {
      addr = argv[++i];
    } else if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) {
      seconds = std::stod(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--addr HOST:PORT] [--seconds S] | --dump\n", argv[0]);
      return 2;
    }
  }
  // The service's own registry and goro's runtime collector, one endpoint.
  auto registry = std::make_shared<prometheus::Registry>();
  auto& batches = prometheus::BuildCounter()
                      .Name("prom_target_batches_total")
                      .Help("Batches of 64 tasks run.")
                      .Register(*registry)
                      .Add({});
  auto runtime = goro::prometheus::make_runtime_collector();
  prometheus::Exposer exposer{addr, 2};
  exposer.RegisterCollectable(registry);
  exposer.RegisterCollectable(runtime);
  std::printf("port %d\n", exposer.GetListeningPorts().at(0));
  std::fflush(stdout);
  return goro::run(serve(seconds, &batches));
}
