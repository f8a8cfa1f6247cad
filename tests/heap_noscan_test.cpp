// Pointer-free single objects (gc_new_noscan) across collections: the
// per-thread free chains of heap/small_alloc.cpp must keep every cached
// object allocated until it is handed out, or a collection frees the cached
// objects behind the chain head and Boehm hands them to another owner
// (found under load: goro-peers' /alloc handler crashed in small_alloc).

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "heap/collector_init.hpp"
#include "heap/gc.hpp"
#include "heap/gc_new.hpp"
#include "heap/thread_attachment.hpp"

namespace {

uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return x;
}

template <std::size_t N>
struct payload {
  uint64_t w[N / 8];
};

// Each object's words hold a pattern derived from its id, so an object
// handed out twice (and written by its second owner) no longer matches.
template <std::size_t N>
void fill(payload<N>* p, uint64_t id) {
  for (std::size_t i = 0; i < N / 8; ++i) p->w[i] = mix(id * 64 + i + 1);
}

template <std::size_t N>
bool intact(const payload<N>* p, uint64_t id) {
  for (std::size_t i = 0; i < N / 8; ++i)
    if (p->w[i] != mix(id * 64 + i + 1)) return false;
  return true;
}

// Live objects of one size, kept reachable from a scanned array (the array
// pointer lives on the main thread's stack).
template <std::size_t N>
struct live_set {
  payload<N>** objs;
  std::size_t count = 0;
  std::size_t capacity;

  explicit live_set(std::size_t cap) : objs(goro::gc_new_array<payload<N>*>(cap)), capacity(cap) {}

  // Allocates `n` noscan objects (interleaved with scanned garbage of the
  // same size class) and records them with their ids (= their index).
  void allocate(std::size_t n) {
    for (std::size_t i = 0; i < n && count < capacity; ++i) {
      payload<N>* p = goro::gc_new_noscan<payload<N>>();
      fill(p, count);
      objs[count++] = p;
      // Scanned garbage of the same size: the other kind's chain, and a
      // reason for the collector to reuse memory in this size class.
      (void)goro::gc_new<payload<N>>();
    }
  }

  std::vector<uintptr_t> addresses() const {
    std::vector<uintptr_t> a;
    for (std::size_t i = 0; i < count; ++i) a.push_back(reinterpret_cast<uintptr_t>(objs[i]));
    return a;
  }

  // Every object still holds its pattern and no two share memory.
  void check(const char* when) const {
    std::size_t broken = 0;
    for (std::size_t i = 0; i < count; ++i)
      if (!intact(objs[i], i)) ++broken;
    EXPECT_EQ(broken, 0u) << N << "-byte noscan objects overwritten (" << when << "), of " << count;
    std::vector<uintptr_t> addrs = addresses();
    std::sort(addrs.begin(), addrs.end());
    std::size_t shared = 0;
    for (std::size_t i = 1; i < addrs.size(); ++i)
      if (addrs[i] - addrs[i - 1] < N) ++shared;
    EXPECT_EQ(shared, 0u) << N << "-byte noscan objects overlapping (" << when << ")";
  }
};

template <std::size_t N>
void collect_between_allocations() {
  goro::heap::init();
  constexpr std::size_t kRounds = 24;
  constexpr std::size_t kPerPhase = 40;  // well under one block's worth
  live_set<N> mine(kRounds * kPerPhase * 2);
  live_set<N> theirs(kRounds * kPerPhase);
  for (std::size_t r = 0; r < kRounds; ++r) {
    mine.allocate(kPerPhase);  // leaves the rest of a block cached on the chain
    goro::gc();
    // Another attached thread refills its own chain of this size from Boehm,
    // which hands out whatever the collection found free.
    std::thread t([&theirs] {
      goro::heap::thread_attachment attach;
      theirs.allocate(kPerPhase);
    });
    t.join();
    mine.allocate(kPerPhase);  // pops objects cached before the collection
    mine.check("main thread");
    theirs.check("other thread");
    if (::testing::Test::HasFailure()) return;
  }
  // The two threads' objects are distinct memory too.
  std::vector<uintptr_t> all = mine.addresses();
  const std::vector<uintptr_t> other = theirs.addresses();
  all.insert(all.end(), other.begin(), other.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end())
      << N << "-byte object handed to both threads";
}

TEST(HeapNoscan, Cached16ByteObjectsSurviveCollections) {
  collect_between_allocations<16>();
}
TEST(HeapNoscan, Cached48ByteObjectsSurviveCollections) {
  collect_between_allocations<48>();
}
TEST(HeapNoscan, Cached128ByteObjectsSurviveCollections) {
  collect_between_allocations<128>();
}
TEST(HeapNoscan, Cached256ByteObjectsSurviveCollections) {
  collect_between_allocations<256>();
}

}  // namespace
