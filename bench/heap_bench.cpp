// The collected heap: allocation cost and pause time.
//
//   build/release/bench/heap_bench                       # short default run
//   build/release/bench/heap_bench --live_mb=64,256,1024  # pause sizes to build
//
// Allocation: ns per goro::gc_new of a 16/32/64/128-byte object (scanned
// kind, pointer-sized words), on 1 and 2 threads, beside mi_malloc+mi_free
// and malloc+free of the same size. Each thread keeps the last 1024 objects
// in a ring (the probe's pattern, reference/boehm-probe.md section 5): the
// GC variants let the evicted one die, the malloc variants free it. The GC
// figure includes goro's driver (allocation counting, collections every
// few MiB of a nearly empty heap), i.e. the steady cost a program pays.
//
// Pause: a binary-tree forest of 16-byte gc_new nodes (exact 16-byte
// objects on the small-object path) with the given live size is built once,
// then each iteration runs goro::gc() and reports the stop-the-world pause
// it measured (manual time), and ms per live GiB of the heap in use.

#include <benchmark/benchmark.h>
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#if defined(GORO_HAVE_MIMALLOC)
#include <mimalloc.h>
#endif

#include "heap/collector_init.hpp"
#include "heap/detail/allocate.hpp"
#include "heap/gc.hpp"
#include "heap/gc_containers.hpp"
#include "heap/gc_mode.hpp"
#include "heap/gc_new.hpp"
#include "heap/heap_stats.hpp"
#include "heap/thread_attachment.hpp"

namespace {

constexpr int kRing = 1024;

template <std::size_t N>
struct object {
  void* words[N / sizeof(void*)];
};

template <std::size_t N>
void BM_gc_new(benchmark::State& state) {
  goro::heap::thread_attachment attach;
  void* ring[kRing] = {};  // on this registered thread's stack: scanned
  int slot = 0;
  for (auto _ : state) {
    object<N>* o = goro::gc_new<object<N>>();
    ring[slot] = o;
    slot = (slot + 1) & (kRing - 1);
    benchmark::DoNotOptimize(o);
  }
  benchmark::DoNotOptimize(ring);
  state.SetItemsProcessed(state.iterations());
}

// The same for pointer-free objects (gc_new_noscan): the other kind's
// chains, which a collection must mark explicitly (heap/small_alloc.cpp).
template <std::size_t N>
struct bytes {
  unsigned char b[N];
};

template <std::size_t N>
void BM_gc_new_noscan(benchmark::State& state) {
  goro::heap::thread_attachment attach;
  void* ring[kRing] = {};
  int slot = 0;
  for (auto _ : state) {
    bytes<N>* o = goro::gc_new_noscan<bytes<N>>();
    ring[slot] = o;
    slot = (slot + 1) & (kRing - 1);
    benchmark::DoNotOptimize(o);
  }
  benchmark::DoNotOptimize(ring);
  state.SetItemsProcessed(state.iterations());
}

// The general path (heap::detail::allocate: GC_MALLOC plus the driver's
// counter), which arrays, containers and objects over 256 bytes take; the
// gap to BM_gc_new is what the inline free lists save.
template <std::size_t N>
void BM_gc_general_path(benchmark::State& state) {
  goro::heap::thread_attachment attach;
  void* ring[kRing] = {};
  int slot = 0;
  for (auto _ : state) {
    void* o = goro::heap::detail::allocate(N, false);
    ring[slot] = o;
    slot = (slot + 1) & (kRing - 1);
    benchmark::DoNotOptimize(o);
  }
  benchmark::DoNotOptimize(ring);
  state.SetItemsProcessed(state.iterations());
}

#if defined(GORO_HAVE_MIMALLOC)
template <std::size_t N>
void BM_mi_malloc_free(benchmark::State& state) {
  void* ring[kRing] = {};
  int slot = 0;
  for (auto _ : state) {
    void* p = mi_malloc(N);
    benchmark::DoNotOptimize(p);
    mi_free(ring[slot]);
    ring[slot] = p;
    slot = (slot + 1) & (kRing - 1);
  }
  for (void* p : ring) mi_free(p);
  state.SetItemsProcessed(state.iterations());
}
#endif

template <std::size_t N>
void BM_malloc_free(benchmark::State& state) {
  void* ring[kRing] = {};
  int slot = 0;
  for (auto _ : state) {
    void* p = std::malloc(N);
    benchmark::DoNotOptimize(p);
    std::free(ring[slot]);
    ring[slot] = p;
    slot = (slot + 1) & (kRing - 1);
  }
  for (void* p : ring) std::free(p);
  state.SetItemsProcessed(state.iterations());
}

#define GORO_ALLOC_BENCH(fn)                                         \
  BENCHMARK_TEMPLATE(fn, 16)->Threads(1)->Threads(2)->UseRealTime(); \
  BENCHMARK_TEMPLATE(fn, 32)->Threads(1)->Threads(2)->UseRealTime(); \
  BENCHMARK_TEMPLATE(fn, 64)->Threads(1)->Threads(2)->UseRealTime(); \
  BENCHMARK_TEMPLATE(fn, 128)->Threads(1)->Threads(2)->UseRealTime()

GORO_ALLOC_BENCH(BM_gc_new);
GORO_ALLOC_BENCH(BM_gc_new_noscan);
GORO_ALLOC_BENCH(BM_gc_general_path);
#if defined(GORO_HAVE_MIMALLOC)
GORO_ALLOC_BENCH(BM_mi_malloc_free);
#endif
GORO_ALLOC_BENCH(BM_malloc_free);

// ----------------------------------------------------------------- pause --

struct tnode {
  tnode* left;
  tnode* right;
};

tnode* build(int depth) {
  if (depth == 0) return goro::gc_new<tnode>(nullptr, nullptr);
  tnode* l = build(depth - 1);
  tnode* r = build(depth - 1);
  return goro::gc_new<tnode>(l, r);
}

// A forest of full trees of depth 15 (64 K 16-byte nodes, 1 MiB each)
// until `mib` MiB of payload: the tree shape of the probe's section 6 without
// one recursion deep enough to matter.
void BM_pause_live_tree(benchmark::State& state) {
  const auto mib = static_cast<std::size_t>(state.range(0));
  goro::heap::thread_attachment attach;
  goro::gc_vector<tnode*> forest;
  for (std::size_t i = 0; i < mib; ++i) forest.push_back(build(15));
  goro::gc();
  double pause_sum = 0;
  for (auto _ : state) {
    goro::gc();
    const goro::heap_stats s = goro::read_heap_stats();
    state.SetIterationTime(static_cast<double>(s.last_pause_ns) / 1e9);
    pause_sum += static_cast<double>(s.last_pause_ns);
  }
  const goro::heap_stats s = goro::read_heap_stats();
  const double live_gib = static_cast<double>(s.live_bytes) / (1 << 30);
  const double pause_ms = pause_sum / 1e6 / static_cast<double>(state.iterations());
  state.counters["live_MiB"] = static_cast<double>(s.live_bytes) / (1 << 20);
  state.counters["pause_ms"] = pause_ms;
  state.counters["ms_per_live_GiB"] = live_gib > 0 ? pause_ms / live_gib : 0;
  benchmark::DoNotOptimize(forest.data());
  forest.clear();
  forest.shrink_to_fit();
  goro::free_os_memory();
}

// --live_mb=64,256: comma-separated live sizes in MiB (taken out of argv
// before Google Benchmark sees it).
std::vector<int64_t> take_live_sizes(int* argc, char** argv) {
  std::vector<int64_t> sizes = {64, 256};
  const std::string flag = "--live_mb=";
  for (int i = 1; i < *argc; ++i) {
    if (std::strncmp(argv[i], flag.c_str(), flag.size()) != 0) continue;
    sizes.clear();
    const std::string list = argv[i] + flag.size();
    std::size_t pos = 0;
    while (pos <= list.size()) {
      const std::size_t comma = std::min(list.find(',', pos), list.size());
      const std::string item = list.substr(pos, comma - pos);
      char* end = nullptr;
      const long long v = std::strtoll(item.c_str(), &end, 10);
      if (item.empty() || *end != '\0' || v <= 0) {
        std::fprintf(stderr,
                     "heap_bench: bad --live_mb item \"%s\": want MiB > 0, e.g. 64,256,1024\n",
                     item.c_str());
        std::exit(2);
      }
      sizes.push_back(v);
      pos = comma + 1;
    }
    for (int j = i; j + 1 < *argc; ++j) argv[j] = argv[j + 1];
    --*argc;
    break;
  }
  return sizes;
}

}  // namespace

int main(int argc, char** argv) {
  goro::heap::init();
  // The collector mode in the JSON/console context (bench/gc-modes checks
  // that GORO_GC_MODE=concurrent really ran concurrent).
  benchmark::AddCustomContext("gc_mode", goro::heap::to_string(goro::heap::current_gc_mode()));
  benchmark::AddCustomContext("gc_mode_reason", goro::heap::gc_mode_reason());
  for (int64_t mib : take_live_sizes(&argc, argv))
    benchmark::RegisterBenchmark("BM_pause_live_tree", BM_pause_live_tree)
        ->Arg(mib)
        ->Iterations(5)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
