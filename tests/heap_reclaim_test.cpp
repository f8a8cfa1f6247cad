// Garbage is reclaimed and memory goes back to the OS.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>

#include "heap/collector_init.hpp"
#include "heap/gc.hpp"
#include "heap/gc_containers.hpp"
#include "heap/gc_new.hpp"
#include "heap/heap_stats.hpp"
#include "tests/heap_test_support.hpp"

namespace {

using goro::test::clear_stack;
using goro::test::kGiB;
using goro::test::kMiB;
using goro::test::rss_bytes;
constexpr uint64_t kScale = goro::test::kAsanScale;

struct item {
  item* next;
  uint64_t payload[6];
};

// 2 GiB of short-lived objects with a small live ring (1024 slots): the
// driver must keep collecting, and the mapped heap must stay near the
// 4 MiB minimum trigger. Boehm's heap runs at about 1.5x its trigger when
// nothing survives (boehm-probe.md section 2: "manual every 4 MB", 6 MB), so
// 64 MiB above the starting heap is a generous bound that still catches a
// driver that stops collecting (that heap would reach gigabytes).
TEST(HeapReclaim, ShortLivedGarbageKeepsTheHeapBounded) {
  goro::heap::init();
  goro::gc();
  const goro::heap_stats start = goro::read_heap_stats();
  const uint64_t bound = start.heap_mapped_bytes + 64 * kMiB;
  const uint64_t total = 2 * kGiB / kScale;

  goro::gc_vector<item*> ring(1024, nullptr);
  uint64_t max_mapped = 0, allocated = 0, sum = 0;
  std::size_t slot = 0;
  while (allocated < total) {
    for (int i = 0; i < 4096; ++i) {
      item* it = goro::gc_new<item>();
      it->payload[0] = allocated;
      it->next = ring[slot];
      if (it->next != nullptr) it->next->next = nullptr;  // keep chains short
      ring[slot] = it;
      slot = (slot + 1) % ring.size();
      allocated += sizeof(item);
    }
    if ((allocated & (16 * kMiB - 1)) < 4096 * sizeof(item)) {
      const goro::heap_stats s = goro::read_heap_stats();
      max_mapped = std::max(max_mapped, s.heap_mapped_bytes);
    }
  }
  for (item* it : ring) sum += it->payload[0];
  const goro::heap_stats end = goro::read_heap_stats();
  max_mapped = std::max(max_mapped, end.heap_mapped_bytes);
  EXPECT_GT(sum, 0u);
  // At least one collection per 2 x 4 MiB allocated: the driver is collecting.
  EXPECT_GE(end.collections - start.collections, total / (8 * kMiB));
  EXPECT_LE(max_mapped, bound) << "heap mapped grew to " << max_mapped / kMiB << " MiB";
  std::printf("heap mapped: start %llu MiB, max %llu MiB; %llu collections\n",
              static_cast<unsigned long long>(start.heap_mapped_bytes / kMiB),
              static_cast<unsigned long long>(max_mapped / kMiB),
              static_cast<unsigned long long>(end.collections - start.collections));
  RecordProperty("max_heap_mapped_mib", static_cast<int>(max_mapped / kMiB));
  RecordProperty("collections", static_cast<int>(end.collections - start.collections));
}

// Builds ~1 GiB of pointer-free 32 KiB chunks held from a gc_vector.
__attribute__((noinline)) void build(goro::gc_vector<uint64_t*>& chunks, uint64_t bytes) {
  constexpr std::size_t kWords = 4096;
  for (uint64_t done = 0; done < bytes; done += kWords * sizeof(uint64_t)) {
    uint64_t* c = goro::gc_new_array<uint64_t>(kWords);
    for (std::size_t i = 0; i < kWords; i += 512) c[i] = done + i;
    chunks.push_back(c);
  }
}

__attribute__((noinline)) void drop(goro::gc_vector<uint64_t*>& chunks) {
  chunks.clear();
  chunks.shrink_to_fit();
}

TEST(HeapReclaim, DroppedStructureIsReturnedToTheOs) {
  goro::heap::init();
  const uint64_t size = kGiB / kScale;
  goro::gc_vector<uint64_t*> chunks;
  build(chunks, size);
  goro::gc();
  const goro::heap_stats full = goro::read_heap_stats();
  const uint64_t rss_full = rss_bytes();
  EXPECT_GE(full.live_bytes, size * 9 / 10);

  drop(chunks);
  clear_stack();
  // The first collection finds the structure dead and frees its blocks; the
  // driver sees the heap shrink and unmaps free blocks in the next two.
  for (int i = 0; i < 3; ++i) goro::gc();
#if defined(__SANITIZE_ADDRESS__)
  // Under ASan the third collection sometimes unmaps almost nothing
  // ("released 0 -> 5 MiB" in ~40% of runs, at the merge commit too), though
  // the driver asked for unmapping in the last two and the structure was
  // freed in the first. Likely cause (not proven): a block next to the freed
  // region, kept one collection longer by ASan's stack bookkeeping, is freed
  // late and Boehm's coalescing restamps the merged free region as freed
  // then. The driver re-arms its unmapping collections while the heap is
  // over what it keeps, so more collections must release it. Two were
  // not always enough: CI failed once at 188 of the 192 MiB after two, and
  // of 30 runs here 27 needed none, one needed one, one two and two needed
  // three (none more); six leave room without hiding a driver that never
  // unmaps (the assertions below are the same in every build).
  for (int i = 0;
       i < 6 && goro::read_heap_stats().released_bytes < full.released_bytes + size * 3 / 4; ++i)
    goro::gc();
#endif
  const goro::heap_stats after = goro::read_heap_stats();
  const uint64_t rss_after = rss_bytes();
  std::printf("live %llu -> %llu MiB, released %llu -> %llu MiB, RSS %llu -> %llu MiB\n",
              static_cast<unsigned long long>(full.live_bytes / kMiB),
              static_cast<unsigned long long>(after.live_bytes / kMiB),
              static_cast<unsigned long long>(full.released_bytes / kMiB),
              static_cast<unsigned long long>(after.released_bytes / kMiB),
              static_cast<unsigned long long>(rss_full / kMiB),
              static_cast<unsigned long long>(rss_after / kMiB));
  EXPECT_LE(after.live_bytes, size / 10);
  EXPECT_GE(after.released_bytes, full.released_bytes + size * 3 / 4);
  EXPECT_LE(after.heap_mapped_bytes, full.heap_mapped_bytes - size * 3 / 4);
  EXPECT_LE(rss_after + size * 3 / 4, rss_full);
}

TEST(HeapReclaim, FreeOsMemoryReleasesFreeBlocks) {
#if defined(__SANITIZE_ADDRESS__)
  // Under ASan the dropped structure is sometimes still reachable from
  // ASan's own bookkeeping on the scanned stacks, so how much comes back
  // varies run to run; the release build asserts it.
  GTEST_SKIP() << "conservative retention under ASan makes this bound flaky";
#endif
  goro::heap::init();
  const uint64_t size = 256 * kMiB / kScale;
  goro::gc_vector<uint64_t*> chunks;
  build(chunks, size);
  drop(chunks);
  clear_stack();
  const goro::heap_stats before = goro::read_heap_stats();
  goro::free_os_memory();
  const goro::heap_stats after = goro::read_heap_stats();
  // Building may have reused address space released earlier, so compare
  // what is mapped rather than the released total.
  EXPECT_LE(after.heap_mapped_bytes + size / 2, before.heap_mapped_bytes);
}

}  // namespace
