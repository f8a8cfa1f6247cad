// End to end in a real process: the soft memory limit holds what goro has
// mapped (goro::heap_stats::managed_bytes(): GC heap mapped, collector
// metadata, runtime malloc, thread stacks) while the live set steps up, a
// limit lowered at run time binds at the next collection, and gc_percent
// off with a limit collects only for the limit. This is Go's own end-to-end
// check (runtime TestMemoryLimit: peak <= limit + 16 MiB), with the limit
// and the live-set curve as parameters.
//
// Sampling: the allocating thread reads the total after every 64 KiB batch
// and a poller thread every millisecond; the poller blocks while the world
// is stopped, so it also samples right after every collection.
//
// The GC CPU limiter is off here (tests/heap_test_support.hpp,
// without_gc_cpu_limiter, says why): these tests measure the goal, the
// trigger and the heap cap holding the limit; on a loaded machine the
// limiter let up_then_down peak at 151-174 MiB of its 128 MiB limit. The
// live set is pointer-free chunks, so marking is cheap. Sizes shrink under
// AddressSanitizer.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <vector>

#include "heap/detail/mark_worker.hpp"
#include "heap/gc.hpp"
#include "heap/gc_mode.hpp"
#include "heap/gc_new.hpp"
#include "heap/gc_settings.hpp"
#include "heap/heap_stats.hpp"
#include "tests/heap_test_support.hpp"

namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;
#if defined(__SANITIZE_ADDRESS__)
constexpr uint64_t kChurnScale = 8;  // ASan allocation is ~10x slower
#else
constexpr uint64_t kChurnScale = 1;
#endif
constexpr uint64_t kChunk = 64 << 10;  // a live-set chunk, pointer-free
// Go's end-to-end allowance over the limit (runtime/testdata/testprog/gc.go).
constexpr uint64_t kSlack = 16 * kMiB;

struct blob {
  uint64_t words[6];  // 48 bytes: a 64-byte object with interior pointers
};

// The live set: a GC array of chunk pointers, reachable from this global
// (Boehm scans the data segment).
char** volatile g_live = nullptr;
uint64_t g_live_chunks = 0, g_live_capacity = 0;

void set_live_bytes(uint64_t bytes) {
  const uint64_t want = bytes / kChunk;
  if (g_live == nullptr || want > g_live_capacity) {
    const uint64_t cap = std::max<uint64_t>(want, 1);
    char** fresh = goro::gc_new_array<char*>(cap);
    for (uint64_t i = 0; i < g_live_chunks; ++i) fresh[i] = g_live[i];
    g_live = fresh;
    g_live_capacity = cap;
  }
  while (g_live_chunks < want) g_live[g_live_chunks++] = goro::gc_new_array_noscan<char>(kChunk);
  while (g_live_chunks > want) g_live[--g_live_chunks] = nullptr;
}

void drop_live() {
  g_live = nullptr;
  g_live_chunks = g_live_capacity = 0;
}

using goro::test::peak_sampler;

// Allocates `bytes` of short-lived 64-byte objects, sampling every 64 KiB.
__attribute__((noinline)) void churn(uint64_t bytes, peak_sampler& s) {
  constexpr uint64_t kBatch = 64 << 10;
  for (uint64_t done = 0; done < bytes; done += kBatch) {
    for (uint64_t b = 0; b < kBatch; b += 64) {
      blob* x = goro::gc_new<blob>();
      x->words[0] = b;
    }
    s.sample();
  }
}

struct restore_settings {
  ~restore_settings() {
    drop_live();
    goro::set_gc_percent(100);
    goro::set_memory_limit(goro::no_memory_limit);
    goro::free_os_memory();
  }
};

std::string mib(uint64_t b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(b) / kMiB);
  return buf;
}

using goro::test::in_fresh_process;

using goro::test::without_gc_cpu_limiter;

// A live-set curve: fractions of the limit, one per step.
struct curve {
  const char* name;
  std::vector<double> steps;
};

struct limit_case {
  uint64_t limit;
  curve live;
};

class HeapPacerE2E : public testing::TestWithParam<limit_case> {};

// The scenario for each parameter: the live set follows the curve
// (by default +10% of the limit per step up to 80%); at every step 2x the
// limit of garbage is churned through. managed - released must stay within
// limit + 16 MiB the whole time.
void live_set_steps(const limit_case& c);

TEST_P(HeapPacerE2E, ManagedMemoryStaysUnderTheLimitAsTheLiveSetSteps) {
  in_fresh_process([this] { live_set_steps(GetParam()); });
}

void live_set_steps(const limit_case& c) {
  without_gc_cpu_limiter();
  goro::free_os_memory();
  goro::set_memory_limit(static_cast<int64_t>(c.limit));
  peak_sampler s;
  const goro::heap_stats s0 = goro::read_heap_stats();
  for (double f : c.live.steps) {
    set_live_bytes(static_cast<uint64_t>(f * static_cast<double>(c.limit)));
    s.sample();
    churn(2 * c.limit / kChurnScale, s);
    const goro::heap_stats h = goro::read_heap_stats();
    std::printf(
        "limit %s, live %.0f%%: peak %s, now %s (heap %s, metadata %s, malloc %s, "
        "stacks %s, released %s), collections %llu\n",
        mib(c.limit).c_str(), f * 100, mib(s.peak()).c_str(), mib(h.managed_bytes()).c_str(),
        mib(h.heap_mapped_bytes).c_str(), mib(h.collector_metadata_bytes).c_str(),
        mib(h.mimalloc_bytes).c_str(), mib(h.thread_stack_bytes).c_str(),
        mib(h.released_bytes).c_str(),
        static_cast<unsigned long long>(h.collections - s0.collections));
    ASSERT_LE(s.peak(), c.limit + kSlack) << "live " << f * 100 << "% of the limit";
  }
  s.stop();
  const goro::heap_stats s1 = goro::read_heap_stats();
  EXPECT_GT(s1.collections - s0.collections, c.live.steps.size());  // the limit drove them
}

const curve kStepUp{"step_up_10pct_to_80pct", {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}};
const curve kUpDown{"up_then_down", {0.7, 0.2, 0.75, 0.4, 0.8, 0.05}};

INSTANTIATE_TEST_SUITE_P(Limits, HeapPacerE2E,
                         testing::Values(limit_case{256 * kMiB, kStepUp},
                                         limit_case{64 * kMiB, kStepUp},
                                         limit_case{128 * kMiB, kUpDown}),
                         [](const testing::TestParamInfo<limit_case>& i) {
                           return std::to_string(i.param.limit / kMiB) + "MiB_" + i.param.live.name;
                         });

// Lowering the limit at run time: the next collection already aims at the
// new limit (the goal is recomputed at the next allocation check, not the
// next cycle), and once that collection has run the total falls to the new
// limit + 16 MiB by the end of the cycle after (Boehm unmaps a block once it
// has stayed free across a collection: a block freed by collection N is
// unmapped by N + 2 at the earliest, so it takes the collection and two
// unmapping ones after it). In the concurrent mode those run on the
// background marker while this thread allocates: read before they had
// (the count had risen by two, the last unmapping collection was still to
// come), the total was the high limit's free blocks still mapped, 190-207
// MiB in 5 runs of 8, with the heap itself below its goal.
void lower_the_limit();
TEST(HeapPacerE2ESettings, LoweringTheLimitTakesEffectWithinOneCycle) {
  in_fresh_process(lower_the_limit);
}

void lower_the_limit() {
  restore_settings r;
  without_gc_cpu_limiter();
  const uint64_t high = 256 * kMiB, low = 160 * kMiB;
  goro::free_os_memory();
  goro::set_memory_limit(static_cast<int64_t>(high));
  set_live_bytes(96 * kMiB);  // gc_percent 100 would allow ~190 MiB: the limit binds
  peak_sampler s;
  churn(2 * high, s);  // settle at the high limit (not scaled: it must get there)
  // A concurrent cycle still running on the background marker (GORO_GC_MODE=
  // concurrent) began before the lowering: it is not one of the two below.
  ASSERT_TRUE(goro::heap::detail::wait_for_mark_worker(int64_t{60} * 1'000'000'000));
  const goro::heap_stats before = goro::read_heap_stats();
  ASSERT_GT(before.managed_bytes(), low + kSlack) << "the high limit let the heap grow";

  goro::set_memory_limit(static_cast<int64_t>(low));
  const goro::heap_stats now = goro::read_heap_stats();
  EXPECT_LE(now.heap_goal_bytes, low) << "the goal follows the new limit at once";
  EXPECT_LE(now.next_trigger_bytes, low);
  // Allocate until two collections have run, then check the total.
  uint64_t churned = 0;
  while (goro::read_heap_stats().collections < before.collections + 2 && churned < 4 * high) {
    churn(kMiB, s);
    churned += kMiB;
  }
  ASSERT_GE(goro::read_heap_stats().collections, before.collections + 2);
  // In the concurrent mode those collections ran on the background marker,
  // and the unmapping ones that follow a collection leaving more mapped than
  // the cap (heap/memory_limit.cpp's relieve_over_room) run there after it:
  // wait for them, as the stop-the-world mode's allocating thread does.
  ASSERT_TRUE(goro::heap::detail::wait_for_mark_worker(int64_t{60} * 1'000'000'000));
  s.reset();
  churn(low / kChurnScale, s);
  const goro::heap_stats after = goro::read_heap_stats();
  std::printf("lowered %s -> %s: before %s, after %s (released %s), peak since %s\n",
              mib(high).c_str(), mib(low).c_str(), mib(before.managed_bytes()).c_str(),
              mib(after.managed_bytes()).c_str(), mib(after.released_bytes).c_str(),
              mib(s.peak()).c_str());
  EXPECT_LE(after.managed_bytes(), low + kSlack) << "the total fell to the new limit";
  // While the churn runs, collections keep it there. Stop-the-world: within
  // Go's slack. Concurrent: the heap grows while a cycle marks, and when the
  // cycle frees too little for an allocation waiting at the cap the cap is
  // raised (the limit is soft, as in stw, but a cycle's growth comes on
  // top): the peak since was 134-168 MiB in 8 runs at load 4 here and 179.3
  // MiB once in a loaded CI run, against 176 (the README's steady rows go
  // to 1.08x their limit in this mode). Twice the slack is still far below
  // the 214-223 MiB the high limit left, so a lowering that did not take
  // effect fails either way.
  const uint64_t slack =
      goro::heap::current_gc_mode() == goro::heap::gc_mode::concurrent ? 2 * kSlack : kSlack;
  EXPECT_LE(s.peak(), low + slack);
}

// gc_percent off with a limit: no collection while the heap is far below
// the limit, and collections as the limit needs them once it binds.
void limit_only();
TEST(HeapPacerE2ESettings, GcPercentOffWithALimitCollectsOnlyForTheLimit) {
  in_fresh_process(limit_only);
}

void limit_only() {
  restore_settings r;
  without_gc_cpu_limiter();
  const uint64_t limit = 128 * kMiB;
  goro::gc();
  goro::set_gc_percent(-1);
  goro::set_memory_limit(static_cast<int64_t>(limit));
  set_live_bytes(8 * kMiB);
  peak_sampler s;
  const goro::heap_stats s0 = goro::read_heap_stats();
  // Well below the limit: gc_percent=100 would collect every ~8-16 MiB here.
  churn(limit / 4, s);
  const goro::heap_stats s1 = goro::read_heap_stats();
  EXPECT_EQ(s1.collections, s0.collections) << "no collection while the limit is far";
  // Past it: the limit alone drives collections, each after about
  // (limit - live - other memory) of allocation.
  churn(4 * limit, s);  // not scaled: it must pass the limit several times
  const goro::heap_stats s2 = goro::read_heap_stats();
  const uint64_t n = s2.collections - s1.collections;
  std::printf("gc_percent off, limit %s: %llu collections for %s churned, peak %s, goal %s\n",
              mib(limit).c_str(), static_cast<unsigned long long>(n), mib(4 * limit).c_str(),
              mib(s.peak()).c_str(), mib(s2.heap_goal_bytes).c_str());
  EXPECT_GE(n, 3u);
  EXPECT_LE(n, 4 * limit / (limit / 4) + 2) << "collections are limit-spaced";
  EXPECT_LE(s.peak(), limit + kSlack);
  EXPECT_GT(s2.heap_goal_bytes, limit / 2) << "the goal is the limit's, not a ratio's";
  // Without the limit nothing collects at all.
  goro::set_memory_limit(goro::no_memory_limit);
  const goro::heap_stats s3 = goro::read_heap_stats();
  churn(limit / 2, s);
  EXPECT_EQ(goro::read_heap_stats().collections, s3.collections);
  EXPECT_EQ(s3.heap_goal_bytes, UINT64_MAX);
}

}  // namespace
