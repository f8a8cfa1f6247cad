// The collection driver and its policy interface.

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "heap/collection_policy.hpp"
#include "heap/collector.hpp"
#include "heap/collector_init.hpp"
#include "heap/gc.hpp"
#include "heap/gc_new.hpp"
#include "heap/heap_stats.hpp"
#include "tests/heap_test_support.hpp"

namespace {

using goro::test::allocate_garbage;
using goro::test::blob;

using goro::test::kMiB;

TEST(HeapCollector, GcPercentPolicyFollowsGoFormula) {
  goro::heap::gc_percent_policy p100(100), p50(50), off(-1);
  goro::heap::heap_observation o;
  o.live_bytes = 0;
  EXPECT_EQ(p100.trigger(o), 4 * kMiB);  // Go's 4 MiB heap minimum
  EXPECT_EQ(p50.trigger(o), 2 * kMiB);   // scaled by GOGC/100
  o.live_bytes = 100 * kMiB;
  EXPECT_EQ(p100.trigger(o), 200 * kMiB);
  EXPECT_EQ(p50.trigger(o), 150 * kMiB);
  EXPECT_EQ(off.trigger(o), goro::heap::collection_policy::never);
  EXPECT_EQ(p100.retained_heap(o, 200 * kMiB), 508 * kMiB);
}

// A policy that collects every 8 MiB and records what it is told.
class recording_policy final : public goro::heap::collection_policy {
 public:
  uint64_t trigger(const goro::heap::heap_observation& o) override {
    ++asks;
    last = o;
    return o.live_bytes + 8 * kMiB;
  }
  void collected(const goro::heap::collection_record& r) override { records.push_back(r); }
  int asks = 0;
  goro::heap::heap_observation last;
  std::vector<goro::heap::collection_record> records;  // preallocated by the test
};

TEST(HeapCollector, AllocationPastTheTriggerRunsCollectionsThePolicyIsToldAbout) {
  goro::heap::init();
  auto owned = std::make_unique<recording_policy>();
  recording_policy* p = owned.get();
  p->records.reserve(1000);
  auto previous = goro::heap::set_collection_policy(std::move(owned));
  const uint64_t before = goro::read_heap_stats().collections;
  allocate_garbage(128 * kMiB);
  goro::test::wait_for_triggered_collections();
  const uint64_t collections = goro::read_heap_stats().collections - before;
  auto mine = goro::heap::set_collection_policy(std::move(previous));
  EXPECT_EQ(mine.get(), p);

  // 128 MiB requested (160 MiB as Boehm rounds 64-byte objects) at one
  // collection per 8 MiB: about 20.
  EXPECT_GE(collections, 12u);
  EXPECT_LE(collections, 24u);
  ASSERT_EQ(p->records.size(), collections);
  for (const auto& r : p->records) {
    EXPECT_EQ(r.reason, goro::heap::collection_reason::trigger);
    EXPECT_GE(r.heap_live_before, 8 * kMiB);
    EXPECT_GT(r.pause_ns, 0);
    EXPECT_LE(r.mark_ns, r.pause_ns);
    EXPECT_LE(r.start_ns + r.pause_ns, r.end_ns);
    // A concurrent cycle (GORO_GC_MODE=concurrent) also keeps what this
    // thread allocated while the background marker marked (1-2 MiB here).
    EXPECT_LT(r.live_after, (r.concurrent ? 16 : 8) * kMiB);
  }
  // Asked after every collection and at rechecks in between (every 1 MiB).
  EXPECT_GT(p->asks, static_cast<int>(collections) * 4);
  EXPECT_GT(p->last.heap_mapped_bytes, 0u);
  EXPECT_GT(p->last.collections, 0u);
}

TEST(HeapCollector, NegativeGcPercentSwitchesAutomaticCollectionOff) {
  goro::heap::init();
  auto previous =
      goro::heap::set_collection_policy(std::make_unique<goro::heap::gc_percent_policy>(-1));
  EXPECT_EQ(goro::heap::current_trigger(), goro::heap::collection_policy::never);
  const uint64_t before = goro::read_heap_stats().collections;
  allocate_garbage(64 * kMiB);
  EXPECT_EQ(goro::read_heap_stats().collections, before);
  goro::gc();  // explicit collection still works
  EXPECT_EQ(goro::read_heap_stats().collections, before + 1);
  goro::heap::set_collection_policy(std::move(previous));
  // Back to the default pacer: a trigger again, below its 4 MiB minimum goal
  // (the pacer starts at least 70% of the way from live to goal).
  EXPECT_NE(goro::heap::current_trigger(), goro::heap::collection_policy::never);
}

TEST(HeapCollector, NullPolicyIsRejected) {
  EXPECT_THROW(goro::heap::set_collection_policy(nullptr), std::invalid_argument);
}

}  // namespace
