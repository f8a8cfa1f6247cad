// fanout: requests arrive on a channel and each fans out to -fanout tasks
// that allocate; the handler joins their results.
//
// A generator task sends request i, scheduled at start + i / -rate, on a
// channel of capacity -buf for -duration-s seconds (if it falls behind, it
// sends at once and the request keeps its scheduled time). The server loop
// receives and spawns one handler per request (Go's `go handle(r)`); the
// handler spawns -fanout tasks, each building a list of -work 40-byte nodes
// on the collected heap (48 bytes allocated each, by Go and by Boehm) and
// returning its sum, then awaits them all and checks the total against the
// closed form. A request's latency runs from its scheduled time to the end
// of its handler. Reported: requests/s at the offered load, "latency"
// percentiles and "gc_pauses".

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/peers/distribution.hpp"
#include "bench/peers/gc_window.hpp"
#include "bench/peers/pace.hpp"
#include "bench/peers/workloads.hpp"

namespace goro_peers {
namespace {

struct item {
  item* next;
  int64_t value;
  uint64_t pad[3];
};
static_assert(sizeof(item) == 40);

struct request {
  int64_t id;
  steady::time_point due;
};

struct server_state {
  int64_t fanout;
  int64_t work;
  std::vector<int64_t> latency_ns;  // one slot per request, written by its handler
  std::atomic<int64_t> failed{0};
  goro::wait_group handlers;
};

goro::task<int64_t> part(int64_t id, int64_t k, int64_t work) {
  item* list = nullptr;
  for (int64_t i = 0; i < work; ++i) {
    list = goro::gc_new<item>(list, id + k + i);
    list->pad[0] = static_cast<uint64_t>(i);
  }
  int64_t sum = 0;
  for (const item* it = list; it != nullptr; it = it->next) sum += it->value;
  co_return sum;
}

int64_t expected_total(int64_t id, int64_t fanout, int64_t work) {
  return fanout * work * id + work * fanout * (fanout - 1) / 2 + fanout * work * (work - 1) / 2;
}

goro::task<void> handle(request q, server_state* st) {
  std::vector<goro::join_handle<int64_t>> parts;
  parts.reserve(static_cast<std::size_t>(st->fanout));
  for (int64_t k = 0; k < st->fanout; ++k) parts.push_back(goro::spawn(part(q.id, k, st->work)));
  int64_t total = 0;
  for (auto& p : parts) total += co_await p;
  if (total != expected_total(q.id, st->fanout, st->work))
    st->failed.fetch_add(1, std::memory_order_relaxed);
  st->latency_ns[static_cast<std::size_t>(q.id)] =
      std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now() - q.due).count();
  st->handlers.done();
}

goro::task<void> generate(goro::chan<request> out, int64_t total, int64_t rate,
                          steady::time_point start) {
  for (int64_t i = 0; i < total; ++i) {
    const steady::time_point due = start + schedule_offset(i, rate);
    co_await pace_until(due);
    request q{i, due};  // named: see pingpong.cpp on braced temporaries in co_await
    co_await out.send(std::move(q));
  }
  out.close();
}

struct params {
  int64_t rate, duration_s, fanout, work, buf;
};

goro::task<run_report> fanout_root(params p, const invocation* inv) {
  const int procs = current_procs();
  const int64_t total = p.rate * p.duration_s;
  server_state st;
  st.fanout = p.fanout;
  st.work = p.work;
  st.latency_ns.assign(static_cast<std::size_t>(total), -1);

  run_report r("fanout", inv->label, inv->params, procs);
  goro::gc();  // start from a collected heap, as the Go version's runtime.GC()
  r.begin();
  gc_window gcw;
  goro::chan<request> incoming(static_cast<std::size_t>(p.buf));
  goro::join_handle<void> gen = goro::spawn(generate(incoming, total, p.rate, steady::now()));
  int64_t received = 0;
  while (std::optional<request> q = co_await incoming.recv()) {
    st.handlers.add(1);
    goro::spawn(handle(*q, &st)).detach();
    ++received;
  }
  co_await gen;
  co_await st.handlers.wait();
  int64_t unanswered = 0;
  for (int64_t ns : st.latency_ns) unanswered += ns < 0 ? 1 : 0;
  const int64_t failed = st.failed.load(std::memory_order_relaxed);
  r.end(static_cast<double>(received), "requests",
        verdict(received == total && failed == 0 && unanswered == 0,
                "requests=" + std::to_string(received) + " failed=" + std::to_string(failed)));
  gcw.finish(r, procs);
  r.add_field("latency", latency_json(std::move(st.latency_ns)));
  r.add_field("offered_rate", json_writer().value(p.rate).str());
  r.add_field("tasks", json_writer().value(received * (p.fanout + 1)).str());
  co_return r;
}

}  // namespace

void run_fanout(const args_t& args) {
  flag_set fs("fanout");
  const int64_t* rate = fs.add_int("rate", 4000, "offered load, requests per second");
  const int64_t* duration =
      fs.add_int("duration-s", 3, "seconds of requests (rate x duration requests)");
  const int64_t* fanout = fs.add_int("fanout", 16, "tasks each request fans out to");
  const int64_t* work = fs.add_int("work", 64, "nodes each fan-out task allocates (48 B each)");
  const int64_t* buf = fs.add_int("buf", 128, "capacity of the request channel");
  invocation inv = parse_common(fs, args);
  if (*rate < 1 || *rate > 10'000'000)
    fs.fail("want 1 <= -rate <= 10000000, got " + std::to_string(*rate));
  if (*duration < 1 || *duration > 3600)
    fs.fail("want 1 <= -duration-s <= 3600, got " + std::to_string(*duration));
  if (*fanout < 1 || *fanout > 100000)
    fs.fail("want 1 <= -fanout <= 100000, got " + std::to_string(*fanout));
  if (*work < 1 || *work > 100'000'000)
    fs.fail("want 1 <= -work <= 100000000, got " + std::to_string(*work));
  if (*buf < 0 || *buf > 1'000'000)
    fs.fail("want 0 <= -buf <= 1000000, got " + std::to_string(*buf));
  params p{*rate, *duration, *fanout, *work, *buf};
  print_report(goro::run(fanout_root(p, &inv), inv.opts));
}

}  // namespace goro_peers
