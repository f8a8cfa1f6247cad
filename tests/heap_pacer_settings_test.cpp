// set_gc_percent / set_memory_limit semantics, their effect at the next
// allocation check, and the pressure subscription API.

#include <gtest/gtest.h>

#include <cstdint>

#include "heap/collector.hpp"
#include "heap/gc.hpp"
#include "heap/gc_new.hpp"
#include "heap/gc_pressure.hpp"
#include "heap/gc_settings.hpp"
#include "heap/heap_stats.hpp"
#include "tests/heap_test_support.hpp"

namespace {

using goro::test::allocate_garbage;
using goro::test::blob;

constexpr uint64_t kMiB = uint64_t{1} << 20;

// Restores the defaults whatever a test did.
struct restore_settings {
  ~restore_settings() {
    goro::set_gc_percent(100);
    goro::set_memory_limit(goro::no_memory_limit);
  }
};

TEST(HeapPacerSettings, SettersReturnThePreviousValue) {
  restore_settings r;
  EXPECT_EQ(goro::set_gc_percent(50), 100);
  EXPECT_EQ(goro::set_gc_percent(200), 50);
  EXPECT_EQ(goro::set_gc_percent(-7), 200);
  EXPECT_EQ(goro::set_gc_percent(100), -1);  // any negative is stored as -1 (off)

  EXPECT_EQ(goro::set_memory_limit(-1), goro::no_memory_limit);  // negative only reads
  EXPECT_EQ(goro::set_memory_limit(512 * kMiB), goro::no_memory_limit);
  EXPECT_EQ(goro::set_memory_limit(-1), static_cast<int64_t>(512 * kMiB));
  EXPECT_EQ(goro::set_memory_limit(INT64_MIN), static_cast<int64_t>(512 * kMiB));
  EXPECT_EQ(goro::set_memory_limit(goro::no_memory_limit), static_cast<int64_t>(512 * kMiB));

  const goro::heap_stats s = goro::read_heap_stats();
  EXPECT_EQ(s.gc_percent, 100);
  EXPECT_EQ(s.memory_limit, goro::no_memory_limit);
}

TEST(HeapPacerSettings, GcPercentOffWithoutLimitNeverCollectsOnItsOwn) {
  restore_settings r;
  goro::gc();
  goro::set_gc_percent(-1);
  EXPECT_EQ(goro::heap::current_trigger(), goro::heap::collection_policy::never);
  const uint64_t before = goro::read_heap_stats().collections;
  allocate_garbage(24 * kMiB);
  EXPECT_EQ(goro::read_heap_stats().collections, before);
}

TEST(HeapPacerSettings, RaisingGcPercentTakesEffectAtTheNextCheck) {
  restore_settings r;
  goro::gc();
  goro::set_gc_percent(-1);
  allocate_garbage(24 * kMiB);  // far past any gc_percent=100 trigger
  const uint64_t before = goro::read_heap_stats().collections;
  goro::set_gc_percent(100);
  // The setter recomputed the trigger, so the next flush (32 KiB) collects:
  // not the next cycle, which with collection off would never come.
  allocate_garbage(128 << 10);
  goro::test::wait_for_triggered_collections();
  EXPECT_GT(goro::read_heap_stats().collections, before);
}

TEST(HeapPacerSettings, LoweringGcPercentTakesEffectAtTheNextCheck) {
  restore_settings r;
  goro::gc();
  goro::set_gc_percent(1000);  // goal 11x live, at least 40 MiB
  allocate_garbage(16 * kMiB);
  const uint64_t before = goro::read_heap_stats().collections;
  EXPECT_EQ(goro::set_gc_percent(10), 1000);  // goal now live + 10%, floor 0.4 MiB
  allocate_garbage(128 << 10);
  goro::test::wait_for_triggered_collections();
  EXPECT_GT(goro::read_heap_stats().collections, before);
}

TEST(HeapPacerSettings, LoweringTheLimitTakesEffectAtTheNextCheck) {
  restore_settings r;
  goro::gc();
  goro::set_gc_percent(-1);
  allocate_garbage(32 * kMiB);
  const goro::heap_stats s = goro::read_heap_stats();
  const uint64_t before = s.collections;
  // A limit just above what is mapped now: the heap (live + 32 MiB of
  // garbage) is past the limit goal, so the next check collects.
  const uint64_t now = s.heap_mapped_bytes + s.process_malloc_bytes + s.thread_stack_bytes;
  goro::set_memory_limit(static_cast<int64_t>(now + 2 * kMiB));
  allocate_garbage(2 * kMiB);
  goro::test::wait_for_triggered_collections();
  EXPECT_GT(goro::read_heap_stats().collections, before);
}

TEST(HeapPacerSettings, PressureSubscriptionsHaveDistinctIdsAndUnsubscribe) {
  int calls = 0;
  const auto a = goro::on_gc_pressure([&](const goro::gc_pressure_event&) { ++calls; });
  const auto b = goro::on_gc_pressure([&](const goro::gc_pressure_event&) { ++calls; });
  EXPECT_NE(a, 0u);
  EXPECT_NE(a, b);
  EXPECT_TRUE(goro::remove_gc_pressure_callback(a));
  EXPECT_FALSE(goro::remove_gc_pressure_callback(a));
  EXPECT_TRUE(goro::remove_gc_pressure_callback(b));
  goro::gc();
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(goro::gc_pressure(), goro::gc_pressure_state::normal);
  EXPECT_EQ(goro::read_heap_stats().gc_pressure, goro::gc_pressure_state::normal);
}

}  // namespace
