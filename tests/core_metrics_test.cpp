// The metrics catalog itself: names, kinds, ids, lookup, the value type and
// the time histogram's bucket shape. Values after real work are checked in
// heap_metrics_test.cpp.

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>

#include "core/metrics.hpp"
#include "core/metrics_catalog.hpp"

namespace m = goro::metrics;

namespace {

// Go's key format (runtime/metrics/description.go): a rooted path of
// [a-z0-9-] words, ':', a unit of such words joined by '*' or '/'. (Not
// std::regex: GCC 12's <regex> warns under the ASan build.)
bool well_formed(std::string_view n) {
  const std::size_t colon = n.find(':');
  if (colon == std::string_view::npos || n.rfind(':') != colon || n.empty() || n[0] != '/')
    return false;
  auto word = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; };
  for (std::size_t i = 0; i < colon; ++i) {
    if (n[i] == '/') {
      if (i + 1 >= colon || n[i + 1] == '/') return false;  // empty path element
    } else if (!word(n[i])) {
      return false;
    }
  }
  const std::string_view unit = n.substr(colon + 1);
  if (unit.empty() || !word(unit.front()) || !word(unit.back())) return false;
  for (std::size_t i = 0; i < unit.size(); ++i) {
    if (unit[i] == '*' || unit[i] == '/') {
      if (!word(unit[i + 1])) return false;
    } else if (!word(unit[i])) {
      return false;
    }
  }
  return true;
}

TEST(MetricsCatalog, KeyCheckRejectsMalformedNames) {
  EXPECT_TRUE(well_formed("/gc/cycles/total:gc-cycles"));
  EXPECT_TRUE(well_formed("/a:bytes/second"));
  for (const char* bad : {"gc:bytes", "/gc//x:bytes", "/gc/:bytes", "/gc:", "/gc:a:b", "/Gc:bytes",
                          "/gc:bytes/", "/gc bytes:x"})
    EXPECT_FALSE(well_formed(bad)) << bad;
}

TEST(MetricsCatalog, NamesAreUniqueSortedAndWellFormed) {
  std::set<std::string_view> seen;
  std::string_view prev;
  ASSERT_GT(m::all().size(), 30u);
  for (const m::description& d : m::all()) {
    EXPECT_TRUE(well_formed(d.name)) << d.name;
    EXPECT_TRUE(seen.insert(d.name).second) << "duplicate " << d.name;
    EXPECT_LT(prev, d.name) << "catalog not sorted at " << d.name;
    prev = d.name;
    EXPECT_FALSE(d.text.empty()) << d.name;
    EXPECT_EQ(d.text.back(), '.') << d.name << ": descriptions are sentences";
    EXPECT_FALSE(d.unit().empty()) << d.name;
  }
}

TEST(MetricsCatalog, IdsMatchPositions) {
  for (std::size_t i = 0; i < m::all().size(); ++i)
    EXPECT_EQ(m::all()[i].id, i) << m::all()[i].name;
  EXPECT_EQ(m::all().size(), static_cast<std::size_t>(m::id::count_));
}

TEST(MetricsCatalog, KindsAreConsistent) {
  for (const m::description& d : m::all()) {
    switch (d.kind) {
      case m::kind::histogram:
        EXPECT_EQ(d.value_kind, m::value_kind::float64_histogram) << d.name;
        EXPECT_TRUE(d.cumulative) << d.name;
        EXPECT_EQ(d.unit(), "seconds") << d.name;
        break;
      case m::kind::counter:
        EXPECT_NE(d.value_kind, m::value_kind::float64_histogram) << d.name;
        EXPECT_TRUE(d.cumulative) << d.name;
        break;
      case m::kind::gauge:
        EXPECT_NE(d.value_kind, m::value_kind::float64_histogram) << d.name;
        EXPECT_FALSE(d.cumulative) << d.name;
        EXPECT_FALSE(d.per_worker) << d.name << ": per-worker metrics are counters";
        break;
    }
  }
}

TEST(MetricsCatalog, GoNamesArePresentWithGosKinds) {
  struct want {
    const char* name;
    m::value_kind vk;
    bool cumulative;
  };
  // Go's runtime/metrics entries goro implements, with Go's kind.
  const want go[] = {
      {"/sched/latencies:seconds", m::value_kind::float64_histogram, true},
      {"/gc/pauses:seconds", m::value_kind::float64_histogram, true},
      {"/gc/cycles/total:gc-cycles", m::value_kind::uint64, true},
      {"/gc/heap/goal:bytes", m::value_kind::uint64, false},
      {"/gc/heap/live:bytes", m::value_kind::uint64, false},
      {"/gc/heap/allocs:bytes", m::value_kind::uint64, true},
      {"/gc/gogc:percent", m::value_kind::uint64, false},
      {"/gc/gomemlimit:bytes", m::value_kind::uint64, false},
      {"/gc/limiter/last-enabled:gc-cycle", m::value_kind::uint64, false},
      {"/memory/classes/total:bytes", m::value_kind::uint64, false},
      {"/memory/classes/heap/released:bytes", m::value_kind::uint64, false},
      {"/cpu/classes/gc/total:cpu-seconds", m::value_kind::float64, true},
      {"/cpu/classes/gc/pause:cpu-seconds", m::value_kind::float64, true},
      {"/sched/gomaxprocs:threads", m::value_kind::uint64, false},
  };
  for (const want& w : go) {
    const m::description* d = m::find(w.name);
    ASSERT_NE(d, nullptr) << w.name;
    EXPECT_EQ(d->value_kind, w.vk) << w.name;
    EXPECT_EQ(d->cumulative, w.cumulative) << w.name;
  }
  EXPECT_NE(m::find("/sched/tasks:tasks"), nullptr);  // Go's /sched/goroutines:goroutines
  EXPECT_EQ(m::find("/sched/goroutines:goroutines"), nullptr);
  EXPECT_EQ(m::find(""), nullptr);
  EXPECT_EQ(m::find("/gc/cycles/total"), nullptr);
}

TEST(MetricsCatalog, UnknownNamesReadAsBad) {
  m::sample s[2];
  s[0].name = "/no/such:thing";
  s[1].name = "/gc/gogc:percent";
  m::read(s);
  EXPECT_EQ(s[0].value.kind(), m::value_kind::bad);
  EXPECT_THROW(s[0].value.uint64(), std::logic_error);
  EXPECT_EQ(s[1].value.kind(), m::value_kind::uint64);
  EXPECT_THROW(s[1].value.float64(), std::logic_error);
  EXPECT_THROW(s[1].value.histogram(), std::logic_error);
}

TEST(TimeHistogram, BucketsHaveGosShape) {
  const auto b = m::time_histogram::buckets_seconds();
  ASSERT_EQ(b.size(), static_cast<std::size_t>(m::time_histogram::kCounts) + 1);
  EXPECT_EQ(b.front(), 0.0);
  EXPECT_TRUE(std::isinf(b.back()) && b.back() > 0);
  for (std::size_t i = 1; i < b.size(); ++i) EXPECT_LT(b[i - 1], b[i]) << i;
  // [0, 512 ns) in four, then four per power of two (Go's layout).
  EXPECT_DOUBLE_EQ(b[1], 128e-9);
  EXPECT_DOUBLE_EQ(b[4], 512e-9);
  EXPECT_DOUBLE_EQ(b[5], 640e-9);
  EXPECT_DOUBLE_EQ(b[8], 1024e-9);
  EXPECT_DOUBLE_EQ(b[b.size() - 2], static_cast<double>(uint64_t{1} << 48) / 1e9);
}

TEST(TimeHistogram, EveryDurationLandsInTheBucketThatHoldsIt) {
  const auto b = m::time_histogram::buckets_seconds();
  for (int64_t ns : {int64_t{0}, int64_t{1}, int64_t{127}, int64_t{128}, int64_t{511}, int64_t{512},
                     int64_t{639}, int64_t{640}, int64_t{1023}, int64_t{1024}, int64_t{1'000'000},
                     int64_t{123'456'789}, int64_t{1} << 47, (int64_t{1} << 48) - 1,
                     int64_t{1} << 48, INT64_MAX}) {
    const int i = m::time_histogram::index(ns);
    ASSERT_GE(i, 0);
    ASSERT_LT(i, m::time_histogram::kCounts);
    const double s = static_cast<double>(ns) / 1e9;
    EXPECT_LE(b[i], s) << ns;
    EXPECT_LT(s, b[i + 1]) << ns;
  }
  EXPECT_EQ(m::time_histogram::index(-5), 0);
}

TEST(TimeHistogram, RecordsCountsAndSum) {
  static m::time_histogram h;  // static: the counts are 1.3 KiB of atomics
  h.record(100);
  h.record(1'000);
  h.record(1'000);
  h.record(2'000'000'000);
  m::float64_histogram out;
  h.read(out);
  ASSERT_EQ(out.counts.size() + 1, out.buckets.size());
  uint64_t n = 0;
  for (uint64_t c : out.counts) n += c;
  EXPECT_EQ(n, 4u);
  EXPECT_EQ(h.total(), 4u);
  EXPECT_EQ(out.counts[m::time_histogram::index(1'000)], 2u);
  EXPECT_NEAR(out.sum, 2.0000021, 1e-12);
}

}  // namespace
