// binarytrees: the benchmarks-game binary-trees on the collected heap, with
// the Go peer's flags, output and JSON (bench/peers/go/binarytrees.go).
//
// A stretch tree of depth D+1, a long-lived tree of depth D, then for each
// depth d = 4, 6, ..., D one task builds and checks 2^(D-d+4) trees of depth
// d (the Go peer's goroutine per depth, so depths run in parallel); the
// lines print in depth order. Nodes come from goro::gc_new and are never
// freed: the collector reclaims each tree after its check, as Go's does.
// -v prints the benchmarks-game output to stderr (byte-for-byte the
// reference's); ops = nodes allocated. gc_cycles and gc_cpu_fraction come
// from goro::read_heap_stats (collections, and GC CPU over procs x wall).

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "bench/peers/workloads.hpp"
#include "heap/gc_new.hpp"
#include "heap/gc_settings.hpp"
#include "heap/heap_stats.hpp"
#include "sched/wait_group.hpp"

namespace goro_peers {
namespace {

constexpr int kMinDepth = 4;

struct node {
  node* left;
  node* right;
};

node* bottom_up(int d) {
  if (d <= 0) return goro::gc_new<node>(nullptr, nullptr);
  node* l = bottom_up(d - 1);
  node* r = bottom_up(d - 1);
  return goro::gc_new<node>(l, r);
}

int64_t check(const node* n) {
  if (n->left == nullptr) return 1;
  return 1 + check(n->left) + check(n->right);
}

goro::task<void> depth_worker(int d, int64_t iters, std::string* line, goro::wait_group* wg) {
  int64_t chk = 0;
  for (int64_t j = 0; j < iters; ++j) chk += check(bottom_up(d));
  char buf[128];
  std::snprintf(buf, sizeof buf, "%lld\t trees of depth %d\t check: %lld\n",
                static_cast<long long>(iters), d, static_cast<long long>(chk));
  *line = buf;
  wg->done();
  co_return;
}

// Peak heap figures, sampled every 5 ms as the Go peer's sampler does.
class heap_sampler {
 public:
  heap_sampler() : thread_([this] { loop(); }) {}
  ~heap_sampler() { stop(); }
  void stop() {
    if (!thread_.joinable()) return;
    quit_.store(true, std::memory_order_relaxed);
    thread_.join();
  }
  uint64_t peak_heap_objects() const { return peak_objects_; }
  uint64_t peak_mem() const { return peak_mem_; }

 private:
  void sample() {
    const goro::heap_stats s = goro::read_heap_stats();
    const uint64_t objects = s.heap_mapped_bytes - s.heap_free_bytes;
    const uint64_t mem = s.heap_mapped_bytes + s.mimalloc_bytes + s.collector_metadata_bytes;
    if (objects > peak_objects_) peak_objects_ = objects;
    if (mem > peak_mem_) peak_mem_ = mem;
  }
  void loop() {
    while (!quit_.load(std::memory_order_relaxed)) {
      sample();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    sample();
  }
  std::atomic<bool> quit_{false};
  uint64_t peak_objects_ = 0, peak_mem_ = 0;  // sampler thread only until stop()
  std::thread thread_;
};

goro::task<run_report> binarytrees_root(int depth, bool verbose, const invocation* inv) {
  run_report r("binarytrees", inv->label, inv->params, current_procs());
  const int max_depth = depth < kMinDepth + 2 ? kMinDepth + 2 : depth;
  goro::gc();  // start from a clean heap, as the Go peer; not measured
  const goro::heap_stats s0 = goro::read_heap_stats();
  heap_sampler sampler;
  r.begin();

  std::string out;
  char buf[128];
  double nodes = 0;
  const int stretch = max_depth + 1;
  std::snprintf(buf, sizeof buf, "stretch tree of depth %d\t check: %lld\n", stretch,
                static_cast<long long>(check(bottom_up(stretch))));
  out += buf;
  nodes += static_cast<double>((int64_t{1} << (stretch + 1)) - 1);

  node* long_lived = bottom_up(max_depth);
  nodes += static_cast<double>((int64_t{1} << (max_depth + 1)) - 1);

  const int nd = (max_depth - kMinDepth) / 2 + 1;
  std::vector<std::string> lines(nd);
  goro::wait_group wg;
  wg.add(nd);
  for (int i = 0; i < nd; ++i) {
    const int d = kMinDepth + 2 * i;
    const int64_t iters = int64_t{1} << (max_depth - d + kMinDepth);
    nodes += static_cast<double>(iters) * static_cast<double>((int64_t{1} << (d + 1)) - 1);
    goro::spawn(depth_worker(d, iters, &lines[i], &wg)).detach();
  }
  co_await wg.wait();
  for (const std::string& l : lines) out += l;
  const int64_t llc = check(long_lived);
  std::snprintf(buf, sizeof buf, "long lived tree of depth %d\t check: %lld\n", max_depth,
                static_cast<long long>(llc));
  out += buf;
  if (verbose) std::fputs(out.c_str(), stderr);

  const int64_t want = (int64_t{1} << (max_depth + 1)) - 1;
  r.end(nodes, "nodes", verdict(llc == want, "longlived=" + std::to_string(llc)));
  sampler.stop();
  const goro::heap_stats s1 = goro::read_heap_stats();
  const int procs = current_procs();
  r.set_gc(s1.collections - s0.collections,
           static_cast<double>(s1.gc_cpu_ns - s0.gc_cpu_ns) / 1e9 / (procs * r.wall_s()),
           "heap_stats");
  json_writer h;
  h.begin_object();
  h.field("peak_heap_objects_bytes", sampler.peak_heap_objects());
  h.field("peak_go_mem_bytes", sampler.peak_mem());
  h.field("mem_limit_bytes",
          s1.memory_limit == goro::no_memory_limit ? -1.0 : static_cast<double>(s1.memory_limit));
  h.field("gogc", s1.gc_percent);
  h.field("alloc_bytes", s1.total_allocated_bytes - s0.total_allocated_bytes);
  h.field("alloc_mb_per_s",
          static_cast<double>(s1.total_allocated_bytes - s0.total_allocated_bytes) / (1 << 20) /
              r.wall_s());
  h.field("limiter_last_enabled_cycle", uint64_t{0});
  h.end_object();
  r.add_field("heap", h.str());
  co_return r;
}

}  // namespace

void run_binarytrees(const args_t& args) {
  flag_set fs("binarytrees");
  const int64_t* depth = fs.add_int("depth", 21, "max depth (benchmarks game uses 21)");
  const bool* verbose = fs.add_bool("v", false, "print the benchmarks-game output to stderr");
  invocation inv = parse_common(fs, args);
  // Below 6 the Go peer clamps to 6; past 40 the trees (2^41 nodes) cannot fit.
  if (*depth > 40) fs.fail("-depth " + std::to_string(*depth) + ": must be at most 40");
  print_report(goro::run(binarytrees_root(static_cast<int>(*depth), *verbose, &inv), inv.opts));
}

}  // namespace goro_peers
