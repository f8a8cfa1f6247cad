// Free heap memory goes back to the OS when the program goes quiet
// (heap/background_release.cpp), both when the release is called directly
// with a chosen clock and when the runtime's monitor thread drives it.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <thread>

#include "goro.hpp"
#include "heap/background_release.hpp"
#include "heap/collector_init.hpp"
#include "heap/gc.hpp"
#include "heap/gc_containers.hpp"
#include "heap/gc_new.hpp"
#include "heap/heap_stats.hpp"
#include "tests/heap_test_support.hpp"

namespace {

using goro::test::clear_stack;
using goro::test::kMiB;
using goro::test::rss_bytes;
constexpr uint64_t kScale = goro::test::kAsanScale;
constexpr int64_t kSecond = 1'000'000'000;

// Builds `bytes` of pointer-free 32 KiB chunks, touches them, and drops
// them when it returns; then collects once, as a program would have.
__attribute__((noinline)) void build_and_drop(uint64_t bytes) {
  constexpr std::size_t kWords = 4096;
  goro::gc_vector<uint64_t*> chunks;
  for (uint64_t done = 0; done < bytes; done += kWords * sizeof(uint64_t)) {
    uint64_t* c = goro::gc_new_array<uint64_t>(kWords);
    for (std::size_t i = 0; i < kWords; i += 512) c[i] = done + i;
    chunks.push_back(c);
  }
  chunks.clear();
  chunks.shrink_to_fit();
}

// Builds, drops, then collects: the collection frees the blocks, but a
// program that does nothing more would keep them mapped.
__attribute__((noinline)) void drop_a_structure(uint64_t bytes) {
  build_and_drop(bytes);
  clear_stack();
  goro::gc();
}

TEST(HeapBackgroundRelease, ReleasesOnlyAfterTheQuietPeriodAndThenStaysQuiet) {
  goro::heap::init();
  const uint64_t size = 256 * kMiB / kScale;
  drop_a_structure(size);
  const goro::heap_stats before = goro::read_heap_stats();
  const uint64_t rss_before = rss_bytes();
  ASSERT_GE(before.heap_free_bytes, size / 2) << "the dropped structure was not freed";

  const int64_t t0 = 1000 * kSecond;                  // any clock: the release only compares times
  EXPECT_EQ(goro::heap::background_release(t0), 0u);  // first look: activity since last
  EXPECT_EQ(goro::heap::background_release(t0 + goro::heap::kReleaseQuietNs / 2), 0u);
  EXPECT_EQ(goro::read_heap_stats().collections, before.collections) << "released too early";

  const uint64_t released = goro::heap::background_release(t0 + goro::heap::kReleaseQuietNs);
  const goro::heap_stats after = goro::read_heap_stats();
  const uint64_t rss_after = rss_bytes();
  std::printf("released %llu MiB; mapped %llu -> %llu MiB; RSS %llu -> %llu MiB; %llu passes\n",
              static_cast<unsigned long long>(released / kMiB),
              static_cast<unsigned long long>(before.heap_mapped_bytes / kMiB),
              static_cast<unsigned long long>(after.heap_mapped_bytes / kMiB),
              static_cast<unsigned long long>(rss_before / kMiB),
              static_cast<unsigned long long>(rss_after / kMiB),
              static_cast<unsigned long long>(after.background_release_cycles -
                                              before.background_release_cycles));
  EXPECT_GE(released, size / 2);
  EXPECT_GE(after.released_bytes, before.released_bytes + size / 2);
  EXPECT_GE(after.background_released_bytes, before.background_released_bytes + released);
  EXPECT_LE(after.heap_mapped_bytes + size / 2, before.heap_mapped_bytes);
  EXPECT_LE(rss_after + size / 2, rss_before);
  const uint64_t passes = after.background_release_cycles - before.background_release_cycles;
  EXPECT_GE(passes, 1u);
  EXPECT_LE(passes, 3u);

  // Still quiet: no further collections, however long it stays so.
  for (int i = 2; i < 10; ++i)
    EXPECT_EQ(goro::heap::background_release(t0 + i * goro::heap::kReleaseQuietNs), 0u);
  EXPECT_EQ(goro::read_heap_stats().collections, after.collections);
}

TEST(HeapBackgroundRelease, AllocationKeepsTheProgramFromCountingAsQuiet) {
  goro::heap::init();
  const int64_t t0 = 5000 * kSecond;
  drop_a_structure(64 * kMiB / kScale);
  goro::heap::background_release(t0);
  const uint64_t collections = goro::read_heap_stats().collections;
  // 2 MiB of allocation between looks: the program is busy, the driver's job.
  for (int i = 1; i <= 4; ++i) {
    for (int k = 0; k < 2048; ++k) (void)goro::gc_new_array<uint64_t>(128);
    EXPECT_EQ(goro::heap::background_release(t0 + i * goro::heap::kReleaseQuietNs), 0u);
  }
  const goro::heap_stats s = goro::read_heap_stats();
  // Collections here are the driver's (8 MiB allocated may trigger some),
  // never the background release's.
  EXPECT_GE(s.collections, collections);
  // Quiet only since the last look: not yet long enough.
  EXPECT_EQ(goro::heap::background_release(t0 + 4 * goro::heap::kReleaseQuietNs +
                                           goro::heap::kReleaseQuietNs / 2),
            0u);
}

// The whole path: a runtime whose root task drops a structure and then sits
// idle; the monitor thread notices and the heap shrinks. Bounded wait.
TEST(HeapBackgroundRelease, AnIdleRuntimeReturnsItsFreeHeap) {
  const uint64_t size = 256 * kMiB / kScale;
  goro::runtime_options opts;
  opts.max_procs = 2;
  opts.read_environment = false;
  struct result {
    goro::heap_stats before, after;
    uint64_t rss_before = 0, rss_after = 0;
    double waited_s = 0;
  };
  const result r = goro::run(
      [](uint64_t size) -> goro::task<result> {
        result r;
        drop_a_structure(size);
        r.before = goro::read_heap_stats();
        r.rss_before = rss_bytes();
        const auto start = std::chrono::steady_clock::now();
        // Idle: this worker sleeps (no allocation); the other has no work.
        // 60 s is far above the ~3 s the release needs (quiet period plus
        // one monitor tick), for loaded sanitizer runs.
        for (int i = 0; i < 600; ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          if (goro::read_heap_stats().background_release_cycles >
              r.before.background_release_cycles) {
            std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let it finish
            break;
          }
        }
        r.waited_s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        r.after = goro::read_heap_stats();
        r.rss_after = rss_bytes();
        co_return r;
      }(size),
      opts);
  std::printf(
      "after %.1f s idle: released %llu -> %llu MiB, mapped %llu -> %llu MiB, RSS %llu -> "
      "%llu MiB\n",
      r.waited_s, static_cast<unsigned long long>(r.before.released_bytes / kMiB),
      static_cast<unsigned long long>(r.after.released_bytes / kMiB),
      static_cast<unsigned long long>(r.before.heap_mapped_bytes / kMiB),
      static_cast<unsigned long long>(r.after.heap_mapped_bytes / kMiB),
      static_cast<unsigned long long>(r.rss_before / kMiB),
      static_cast<unsigned long long>(r.rss_after / kMiB));
  EXPECT_GT(r.after.background_release_cycles, r.before.background_release_cycles);
  EXPECT_GE(r.after.released_bytes, r.before.released_bytes + size / 2);
  EXPECT_LE(r.after.heap_mapped_bytes + size / 2, r.before.heap_mapped_bytes);
  EXPECT_LE(r.rss_after + size / 2, r.rss_before);
}

}  // namespace
