// gc_pause_log: every pause while a log exists, in order, beside the totals
// that read_heap_stats() keeps.

#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "heap/gc.hpp"
#include "heap/gc_new.hpp"
#include "heap/gc_pause_log.hpp"
#include "heap/heap_stats.hpp"

namespace {

struct cell {
  cell* next;
  int64_t value;
};

// A list that survives the collections, so each one has something to mark.
cell* build_list(int n) {
  cell* head = nullptr;
  for (int i = 0; i < n; ++i) head = goro::gc_new<cell>(head, i);
  return head;
}

TEST(HeapGcPauseLog, RecordsOnePausePerCollectionMatchingTheTotals) {
  cell* volatile keep = build_list(100000);
  goro::gc_pause_log log;
  const goro::heap_stats before = goro::read_heap_stats();
  for (int i = 0; i < 3; ++i) goro::gc();
  const goro::heap_stats after = goro::read_heap_stats();
  const std::vector<int64_t> p = log.pauses_ns();
  ASSERT_GE(after.collections - before.collections, 3u);
  EXPECT_EQ(p.size(), after.collections - before.collections);
  for (int64_t ns : p) EXPECT_GT(ns, 0);
  // The log and the totals time the same interval with their own clock reads.
  const double sum = static_cast<double>(std::accumulate(p.begin(), p.end(), int64_t{0}));
  const double total = static_cast<double>(after.total_pause_ns - before.total_pause_ns);
  EXPECT_NEAR(sum, total, 0.1 * total + 10e6);
  EXPECT_EQ(log.dropped(), 0u);
  EXPECT_NE(keep, nullptr);
}

TEST(HeapGcPauseLog, RecordsOnlyWhileItExists) {
  { goro::gc_pause_log earlier; }
  goro::gc();  // no log: not recorded anywhere
  goro::gc_pause_log log;
  EXPECT_TRUE(log.pauses_ns().empty());
  const uint64_t c0 = goro::read_heap_stats().collections;
  goro::gc();
  EXPECT_EQ(log.pauses_ns().size(), goro::read_heap_stats().collections - c0);
}

TEST(HeapGcPauseLog, CountsPausesPastItsCapacityAsDropped) {
  goro::gc_pause_log log(2);
  const uint64_t c0 = goro::read_heap_stats().collections;
  for (int i = 0; i < 3; ++i) goro::gc();
  const uint64_t n = goro::read_heap_stats().collections - c0;
  EXPECT_EQ(log.pauses_ns().size(), 2u);
  EXPECT_EQ(log.dropped(), n - 2);
}

TEST(HeapGcPauseLog, OneLogAtATime) {
  goro::gc_pause_log log;
  EXPECT_THROW(goro::gc_pause_log second, std::logic_error);
  EXPECT_THROW(goro::gc_pause_log zero(0), std::invalid_argument);
}

TEST(HeapGcPauseLog, ASecondLogCanStartAfterTheFirstEnds) {
  { goro::gc_pause_log first; }
  goro::gc_pause_log second;
  goro::gc();
  EXPECT_GE(second.pauses_ns().size(), 1u);
}

}  // namespace
