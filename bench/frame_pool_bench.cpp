// Coroutine-frame allocation: alloc + free of one frame, straight from
// Boehm's uncollectable allocator (what heap/frame_pool.cpp replaced) versus
// the per-thread pool, on 1 and 2 threads. The Boehm calls take its global
// allocation lock, which is what two threads contend on.
//
//   build/release/bench/frame_pool_bench --benchmark_repetitions=3

#include <benchmark/benchmark.h>
#include <gc.h>

#include <vector>

#include "heap/collector_init.hpp"
#include "heap/detail/frame_pool_stats.hpp"
#include "heap/frame_pool.hpp"
#include "heap/thread_attachment.hpp"

namespace {

void BM_frame_boehm_direct(benchmark::State& state) {
  goro::heap::thread_attachment attach;
  const auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    void* p = GC_MALLOC_UNCOLLECTABLE(n);
    benchmark::DoNotOptimize(p);
    GC_FREE(p);
  }
}

void BM_frame_pool(benchmark::State& state) {
  goro::heap::thread_attachment attach;
  const auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    void* p = goro::heap::frame_alloc(n);
    benchmark::DoNotOptimize(p);
    goro::heap::frame_free(p, n);
  }
}

// The same without zeroing freed frames: the difference is what clearing
// costs (see frame_pool.cpp, "Clearing").
void BM_frame_pool_no_clear(benchmark::State& state) {
  goro::heap::thread_attachment attach;
  goro::heap::detail::set_frame_clearing(false);
  const auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    void* p = goro::heap::frame_alloc(n);
    benchmark::DoNotOptimize(p);
    goro::heap::frame_free(p, n);
  }
  goro::heap::detail::set_frame_clearing(true);
}

// Waves of 1000 frames allocated then freed: past the per-thread cap, so
// batches move through the central lists. Reported per frame.
void BM_frame_pool_waves(benchmark::State& state) {
  goro::heap::thread_attachment attach;
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<void*> frames(1000);
  for (auto _ : state) {
    for (void*& f : frames) f = goro::heap::frame_alloc(n);
    for (void* f : frames) goro::heap::frame_free(f, n);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(frames.size()));
}

void BM_frame_boehm_waves(benchmark::State& state) {
  goro::heap::thread_attachment attach;
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<void*> frames(1000);
  for (auto _ : state) {
    for (void*& f : frames) f = GC_MALLOC_UNCOLLECTABLE(n);
    for (void* f : frames) GC_FREE(f);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(frames.size()));
}

// 160 B: the probe's frame (boehm-probe.md section 4); 1024 B: a frame
// with a few buffers in its locals.
BENCHMARK(BM_frame_boehm_direct)->Arg(160)->Arg(1024)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_frame_pool)->Arg(160)->Arg(1024)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_frame_pool_no_clear)->Arg(160)->Arg(1024)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_frame_boehm_waves)->Arg(160)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_frame_pool_waves)->Arg(160)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  goro::heap::init();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
