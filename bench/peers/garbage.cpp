// garbage: a service-shaped heap at a fixed request rate.
//
// The "old generation" is -old-mb MiB of entries that live for the whole
// run: each entry is a chain of 16 pointer-rich 56-byte nodes (64 bytes
// each in Go's size classes and in Boehm's granules: 1 KiB an entry),
// reached from one table of atomic pointers. Requests arrive at -rate per
// second for -duration-s seconds over -concurrency connections (wrk2's
// model: connection c owns requests c, c + n, c + 2n, ..., each scheduled
// at start + i / rate). A request:
//   1. builds a balanced binary tree of -req-kb KiB of 40-byte nodes (48
//      bytes allocated each), every node pointing at a random old entry;
//   2. yields, with the tree still live (a service awaiting a backend);
//   3. walks the tree and checks it (index sum, node count, that each old
//      entry it points at is the one its slot held);
//   4. replaces -replace random old entries with new ones (the old ones
//      become garbage: the old generation mostly, but not entirely, survives).
// A request's latency runs from its scheduled start to its end, so a
// pause or a backlog counts in every request it delayed (no coordinated
// omission). The JSON line adds "latency", "gc_pauses", the live heap
// after the run and the pause per live MiB.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/peers/distribution.hpp"
#include "bench/peers/gc_window.hpp"
#include "bench/peers/pace.hpp"
#include "bench/peers/workloads.hpp"

namespace goro_peers {
namespace {

struct old_node {
  old_node* next;
  old_node* peer;  // the entry's middle node, from the nodes after it
  uint64_t slot;
  uint64_t version;
  uint64_t payload[3];
};
static_assert(sizeof(old_node) == 56);
constexpr int kEntryNodes = 16;
constexpr int64_t kEntryBytes = kEntryNodes * 64;

struct req_node {
  req_node* left;
  req_node* right;
  const old_node* ref;
  uint64_t index;
  uint64_t slot;
};
static_assert(sizeof(req_node) == 40);
constexpr int64_t kReqNodeBytes = 48;  // allocated per node by Go and by Boehm

using old_table = std::atomic<old_node*>;

// xorshift64 (Marsaglia), as the Go version: the same seeds pick the same
// slots in both.
struct xorshift {
  uint64_t s;
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
};

old_node* new_entry(uint64_t slot, uint64_t version) {
  old_node* head = nullptr;
  old_node* mid = nullptr;
  for (int k = 0; k < kEntryNodes; ++k) {
    head = goro::gc_new<old_node>(head, mid, slot, version);
    head->payload[0] = static_cast<uint64_t>(k);
    head->payload[1] = slot ^ version;
    if (k == kEntryNodes / 2) mid = head;
  }
  return head;
}

struct shared {
  old_table* table;
  uint64_t entries;
  int64_t req_nodes;
  int64_t replace;
  int64_t rate;
  int64_t total;
  int conns;
  steady::time_point start;
};

req_node* build(uint64_t lo, uint64_t hi, const shared& sh, xorshift& rng) {
  if (lo >= hi) return nullptr;
  const uint64_t mid = lo + (hi - lo) / 2;
  const uint64_t slot = rng.next() % sh.entries;
  req_node* n = goro::gc_new<req_node>(nullptr, nullptr,
                                       sh.table[slot].load(std::memory_order_acquire), mid, slot);
  n->left = build(lo, mid, sh, rng);
  n->right = build(mid + 1, hi, sh, rng);
  return n;
}

struct tree_sum {
  uint64_t index_sum = 0;
  int64_t nodes = 0;
  int64_t bad_refs = 0;
};

void walk(const req_node* n, tree_sum& s) {
  for (; n != nullptr; n = n->right) {
    s.index_sum += n->index;
    ++s.nodes;
    const old_node* e = n->ref;
    if (e == nullptr || e->slot != n->slot || e->next == nullptr || e->next->slot != n->slot)
      ++s.bad_refs;
    walk(n->left, s);
  }
}

goro::task<bool> handle(const shared* sh, xorshift* rng, uint64_t* version) {
  const uint64_t n = static_cast<uint64_t>(sh->req_nodes);
  req_node* root = build(0, n, *sh, *rng);
  co_await goro::yield();  // the request waits on something, its tree live
  tree_sum s;
  walk(root, s);
  root = nullptr;
  for (int64_t k = 0; k < sh->replace; ++k) {
    const uint64_t slot = rng->next() % sh->entries;
    sh->table[slot].store(new_entry(slot, ++*version), std::memory_order_release);
  }
  co_return s.index_sum == n*(n - 1) / 2 && s.nodes == sh->req_nodes&& s.bad_refs == 0;
}

struct conn_result {
  std::vector<int64_t> latencies_ns;
  int64_t failed = 0;
};

goro::task<conn_result> connection(int c, const shared* sh) {
  conn_result res;
  res.latencies_ns.reserve(static_cast<std::size_t>(sh->total / sh->conns + 1));
  xorshift rng{0x9E3779B97F4A7C15ull * static_cast<uint64_t>(c + 1)};
  uint64_t version = static_cast<uint64_t>(c) << 40;
  for (int64_t i = c; i < sh->total; i += sh->conns) {
    const steady::time_point due = sh->start + schedule_offset(i, sh->rate);
    co_await pace_until(due);
    if (!co_await handle(sh, &rng, &version)) ++res.failed;
    res.latencies_ns.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now() - due).count());
  }
  co_return res;
}

struct params {
  int64_t old_mb, rate, duration_s, concurrency, req_kb, replace;
};

goro::task<run_report> garbage_root(params p, const invocation* inv) {
  const int procs = current_procs();
  shared sh{};
  sh.entries = static_cast<uint64_t>(p.old_mb * (int64_t{1} << 20) / kEntryBytes);
  sh.req_nodes = p.req_kb * 1024 / kReqNodeBytes;
  sh.replace = p.replace;
  sh.rate = p.rate;
  sh.total = p.rate * p.duration_s;
  sh.conns = static_cast<int>(p.concurrency);
  sh.table = goro::gc_new_array<old_table>(sh.entries);
  for (uint64_t s = 0; s < sh.entries; ++s)
    sh.table[s].store(new_entry(s, 0), std::memory_order_relaxed);

  run_report r("garbage", inv->label, inv->params, procs);
  goro::gc();  // start from a collected heap, as the Go version's runtime.GC()
  r.begin();
  gc_window gcw;
  sh.start = steady::now();
  std::vector<goro::join_handle<conn_result>> conns;
  conns.reserve(static_cast<std::size_t>(sh.conns));
  for (int c = 0; c < sh.conns; ++c) conns.push_back(goro::spawn(connection(c, &sh)));
  std::vector<int64_t> latencies;
  latencies.reserve(static_cast<std::size_t>(sh.total));
  int64_t failed = 0;
  for (auto& h : conns) {
    conn_result cr = co_await h;
    latencies.insert(latencies.end(), cr.latencies_ns.begin(), cr.latencies_ns.end());
    failed += cr.failed;
  }
  const int64_t done = static_cast<int64_t>(latencies.size());
  r.end(static_cast<double>(done), "requests",
        verdict(failed == 0 && done == sh.total,
                "requests=" + std::to_string(done) + " failed=" + std::to_string(failed)));
  const std::vector<int64_t> pauses = gcw.finish(r, procs);

  // The live heap the pauses had to mark: collected once more after the run.
  goro::gc();
  const double live_mb = static_cast<double>(goro::read_heap_stats().live_bytes) / (1 << 20);
  double pause_sum = 0, pause_max = 0;
  for (int64_t ns : pauses) {
    pause_sum += static_cast<double>(ns);
    pause_max = std::max(pause_max, static_cast<double>(ns));
  }
  const double mean_ms = pauses.empty() ? 0.0 : pause_sum / pauses.size() / 1e6;
  r.add_field("latency", latency_json(std::move(latencies)));
  r.add_field("offered_rate", json_writer().value(p.rate).str());
  r.add_field("live_mb", json_writer().value(std::round(live_mb * 10) / 10).str());
  r.add_field(
      "pause_ms_per_live_mb",
      json_writer().value(live_mb > 0 ? std::round(mean_ms / live_mb * 1e4) / 1e4 : 0.0).str());
  r.add_field("max_pause_ms_per_live_mb",
              json_writer()
                  .value(live_mb > 0 ? std::round(pause_max / 1e6 / live_mb * 1e4) / 1e4 : 0.0)
                  .str());
  co_return r;
}

}  // namespace

void run_garbage(const args_t& args) {
  flag_set fs("garbage");
  const int64_t* old_mb =
      fs.add_int("old-mb", 64, "old generation in MiB (1 KiB entries of 16 nodes)");
  const int64_t* rate = fs.add_int("rate", 2000, "offered load, requests per second");
  const int64_t* duration =
      fs.add_int("duration-s", 3, "seconds of requests (rate x duration requests)");
  const int64_t* concurrency =
      fs.add_int("concurrency", 16, "connections, each with its share of the schedule");
  const int64_t* req_kb = fs.add_int("req-kb", 64, "KiB each request allocates as one tree");
  const int64_t* replace = fs.add_int("replace", 1, "old-generation entries each request replaces");
  invocation inv = parse_common(fs, args);
  if (*old_mb < 1 || *old_mb > (int64_t{1} << 20))
    fs.fail("want 1 <= -old-mb <= 1048576, got " + std::to_string(*old_mb));
  if (*rate < 1 || *rate > 10'000'000)
    fs.fail("want 1 <= -rate <= 10000000, got " + std::to_string(*rate));
  if (*duration < 1 || *duration > 3600)
    fs.fail("want 1 <= -duration-s <= 3600, got " + std::to_string(*duration));
  if (*concurrency < 1 || *concurrency > 100000)
    fs.fail("want 1 <= -concurrency <= 100000, got " + std::to_string(*concurrency));
  if (*req_kb < 1 || *req_kb > (int64_t{1} << 20))
    fs.fail("want 1 <= -req-kb <= 1048576, got " + std::to_string(*req_kb));
  if (*replace < 0 || *replace > 1'000'000)
    fs.fail("want 0 <= -replace <= 1000000, got " + std::to_string(*replace));
  params p{*old_mb, *rate, *duration, *concurrency, *req_kb, *replace};
  print_report(goro::run(garbage_root(p, &inv), inv.opts));
}

}  // namespace goro_peers
