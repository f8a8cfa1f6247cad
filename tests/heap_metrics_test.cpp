// The metrics catalog's values after real work: a runtime that spawned,
// yielded, slept and collected. Checks the invariants Go documents
// (memory classes sum to the total, histogram shape, cumulative counts
// never fall) and that each value moved the way the work says it must.

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "core/metrics.hpp"
#include "goro.hpp"
#include "heap/heap_stats.hpp"
#include "heap/memory_limit_default.hpp"

namespace m = goro::metrics;

namespace {

struct node {
  node* next;
  long v;
};

std::map<std::string, m::value> read_all() {
  std::vector<m::sample> s = m::make_samples();
  m::read(s);
  std::map<std::string, m::value> out;
  for (auto& x : s) out[std::string(x.name)] = x.value;
  return out;
}

uint64_t u(const std::map<std::string, m::value>& v, const char* name) {
  return v.at(name).uint64();
}

uint64_t hist_count(const m::value& v) {
  uint64_t n = 0;
  for (uint64_t c : v.histogram().counts) n += c;
  return n;
}

goro::task<long> leaf(long i) {
  node* list = nullptr;
  for (long k = 0; k < 200; ++k) list = goro::gc_new<node>(list, i + k);
  co_await goro::yield();
  long sum = 0;
  for (node* n = list; n; n = n->next) sum += n->v;
  co_return sum;
}

goro::task<int> workload() {
  std::vector<goro::join_handle<long>> hs;
  for (long i = 0; i < 2000; ++i) hs.push_back(goro::spawn(leaf(i)));
  long total = 0;
  for (auto& h : hs) total += co_await h;
  co_await goro::sleep_for(std::chrono::milliseconds(5));
  goro::gc();
  goro::gc();
  // Read while the runtime runs: per-worker values are there.
  std::vector<m::sample> s = m::make_samples();
  m::read(s);
  for (auto& x : s) {
    if (x.name == "/sched/gomaxprocs:threads") {
      EXPECT_EQ(x.value.uint64(), 2u);
    }
    if (x.name == "/sched/tasks:tasks") {
      EXPECT_GE(x.value.uint64(), 1u);
    }  // this one
    if (x.name == "/sched/tasks/spawned:tasks") {
      EXPECT_GE(x.value.uint64(), 2001u);
    }
    if (x.name == "/sched/polls:tasks") {
      EXPECT_EQ(x.value.per_worker().size(), 2u);
      double sum = 0;
      for (double w : x.value.per_worker()) sum += w;
      EXPECT_EQ(sum, static_cast<double>(x.value.uint64()));
      EXPECT_GE(x.value.uint64(), 4000u);  // each leaf ran at least twice
    }
    if (x.name == "/sched/busy:seconds") {
      EXPECT_EQ(x.value.per_worker().size(), 2u);
      EXPECT_GT(x.value.float64(), 0.0);
    }
    if (x.name == "/sched/threads/total:threads") {
      EXPECT_GE(x.value.uint64(), 3u);
    }
  }
  co_return total > 0 ? 0 : 1;
}

TEST(HeapMetrics, ValuesAfterWorkAndCollections) {
  const auto before = read_all();
  goro::runtime_options o;
  o.max_procs = 2;
  ASSERT_EQ(goro::run(workload(), o), 0);
  const auto after = read_all();

  EXPECT_GE(u(after, "/gc/cycles/total:gc-cycles"), u(before, "/gc/cycles/total:gc-cycles") + 2);
  EXPECT_GE(u(after, "/gc/heap/allocs:bytes"),
            u(before, "/gc/heap/allocs:bytes") + 2000 * 200 * sizeof(node));
  EXPECT_EQ(u(after, "/gc/gogc:percent"), 100u);
  EXPECT_GT(after.at("/cpu/classes/gc/total:cpu-seconds").float64(), 0.0);
  // The pauses, plus concurrent marking under GORO_GC_MODE=concurrent.
  EXPECT_DOUBLE_EQ(after.at("/cpu/classes/gc/total:cpu-seconds").float64(),
                   after.at("/cpu/classes/gc/pause:cpu-seconds").float64() +
                       after.at("/cpu/classes/gc/mark/assist:cpu-seconds").float64() +
                       after.at("/cpu/classes/gc/mark/dedicated:cpu-seconds").float64());
  // No runtime now: scheduler gauges read zero, counters of the run are gone.
  EXPECT_EQ(u(after, "/sched/gomaxprocs:threads"), 0u);
  EXPECT_TRUE(after.at("/sched/polls:tasks").per_worker().empty());

  // Histograms: Go's shape; the two collections are in /gc/pauses, and the
  // sampled latencies saw some of the ~6000 transitions (1 in 64 per thread).
  for (const char* h : {"/gc/pauses:seconds", "/sched/latencies:seconds"}) {
    const m::float64_histogram& x = after.at(h).histogram();
    ASSERT_EQ(x.buckets.size(), x.counts.size() + 1) << h;
    const auto& b = before.at(h).histogram();
    for (std::size_t i = 0; i < x.counts.size(); ++i) EXPECT_GE(x.counts[i], b.counts[i]) << h;
    EXPECT_GE(x.sum, b.sum);
  }
  EXPECT_GE(hist_count(after.at("/gc/pauses:seconds")),
            hist_count(before.at("/gc/pauses:seconds")) + 2);
  EXPECT_GE(hist_count(after.at("/sched/latencies:seconds")),
            hist_count(before.at("/sched/latencies:seconds")) + 20);
  EXPECT_GT(after.at("/gc/pauses:seconds").histogram().sum, 0.0);
}

TEST(HeapMetrics, MemoryClassesSumToTheTotal) {
  // 4 MiB the collector must keep: the total cannot be smaller.
  constexpr std::size_t kLive = 4u << 20;
  std::byte* volatile live = goro::gc_new_array_noscan<std::byte>(kLive);
  goro::gc();
  std::vector<m::sample> s = m::make_samples();
  m::read(s);
  uint64_t leaves = 0, total = 0;
  [[maybe_unused]] uint64_t released = 0;  // read only outside ASan
  int n = 0;
  for (auto& x : s) {
    if (x.name.substr(0, 16) != "/memory/classes/") continue;
    if (x.name == "/memory/classes/total:bytes") {
      total = x.value.uint64();
    } else {
      leaves += x.value.uint64();
      ++n;
    }
    if (x.name == "/memory/classes/heap/released:bytes") released = x.value.uint64();
  }
  EXPECT_GE(n, 7);
  EXPECT_EQ(leaves, total);
  EXPECT_GT(total, kLive);
  EXPECT_NE(live, nullptr);
#if !defined(__SANITIZE_ADDRESS__)
  // total - released is what the memory limit bounds: heap_stats' figure.
  // (Not under ASan, whose malloc reports nothing, so "other" reads 0.)
  const goro::heap_stats hs = goro::read_heap_stats();
  const double managed = static_cast<double>(hs.managed_bytes());
  EXPECT_NEAR(static_cast<double>(total - released), managed, managed * 0.05 + (1 << 20));
#endif
}

TEST(HeapMetrics, LimitSettingsAndTheirSource) {
  std::vector<m::sample> s(3);
  s[0].name = "/gc/gomemlimit:bytes";
  s[1].name = "/gc/gomemlimit/source:source";
  s[2].name = "/gc/gogc:percent";
  const int64_t old_limit = goro::set_memory_limit(512 << 20);
  const int old_pct = goro::set_gc_percent(-1);
  m::read(s);
  EXPECT_EQ(s[0].value.uint64(), 512u << 20);
  EXPECT_EQ(s[1].value.uint64(), static_cast<uint64_t>(goro::heap::memory_limit_source::code));
  EXPECT_EQ(s[2].value.uint64(), UINT64_MAX);  // Go's uint64(-1) for off
  goro::set_memory_limit(old_limit);
  goro::set_gc_percent(old_pct);
}

TEST(HeapMetrics, ReadingAgainDoesNotAllocateNewStorage) {
  std::vector<m::sample> s = m::make_samples();
  m::read(s);
  std::vector<const void*> storage;
  for (auto& x : s)
    if (x.value.kind() == m::value_kind::float64_histogram)
      storage.push_back(x.value.histogram().counts.data());
  m::read(s);
  std::size_t i = 0;
  for (auto& x : s)
    if (x.value.kind() == m::value_kind::float64_histogram) {
      EXPECT_EQ(x.value.histogram().counts.data(), storage[i++]);
    }
}

}  // namespace
