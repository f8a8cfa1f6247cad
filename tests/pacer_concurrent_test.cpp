// The concurrent mode's cap trigger (pacer/trigger.hpp): a mostly-concurrent
// cycle lets the heap grow while it marks, so under a memory limit it must
// start early enough that the memory the limit counts is still below the
// heap cap (limit - heap_cap_margin) when it ends; the growth is measured
// from the previous cycles (rate over the cycle's duration), not assumed.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "pacer/pacer.hpp"
#include "pacer_sim.hpp"

namespace {

using namespace goro::pacer;
using sim::MiB;
using sim::ms;

constexpr int64_t kLimit = 512 * static_cast<int64_t>(MiB);

// A program with `live` live bytes and `non_heap` other memory, allocating
// `alloc_mib_s` MiB per second of wall time, and cycles that take
// `cycle_ms` (marking with the world running while the program goes on
// allocating at the same rate). The heap is what was allocated (no free
// mapped heap: what the limit counts at a cycle's end is the heap when its
// marking ended plus the rest). Returns that for each cycle.
struct concurrent_program {
  bool concurrent = true;
  uint64_t live = 256 * MiB;
  uint64_t non_heap = 48 * MiB;
  double alloc_mib_s = 200;
  int64_t cycle_ms = 400;
  int cycles = 12;
};

struct concurrent_run {
  std::vector<uint64_t> total_at_end;  // memory_sample::total() when each cycle ended
  int deferrals = 0;
};

concurrent_run run(const concurrent_program& prog) {
  pacer_tuning tuning;
  tuning.limiter.enabled = false;  // the trigger alone
  pacer p(2, {100, kLimit}, tuning);
  p.set_concurrent(prog.concurrent);
  // A first full collection finds the live heap.
  int64_t t = 0;
  cycle_sample first;
  first.live = prog.live;
  first.roots = 1 * MiB;
  first.memory_after = {prog.live, 0, prog.non_heap};
  first.forced = true;
  p.end_cycle(first);

  const double bytes_per_ns = prog.alloc_mib_s * static_cast<double>(MiB) / 1e9;
  const auto step_ns = static_cast<int64_t>(static_cast<double>(MiB) / bytes_per_ns);
  uint64_t heap = prog.live;  // live + allocated since the last cycle
  concurrent_run r;
  while (static_cast<int>(r.total_at_end.size()) < prog.cycles) {
    t += step_ns;
    heap += MiB;
    const decision d = p.check({t, {heap, 0, prog.non_heap}, t});
    if (d.deferred) ++r.deferrals;
    if (!d.collect) continue;
    // The cycle: the program allocates while it marks.
    const int64_t end = t + prog.cycle_ms * ms;
    heap += static_cast<uint64_t>(bytes_per_ns * static_cast<double>(end - t));
    cycle_sample c;
    c.start_ns = t;
    c.end_ns = end;
    c.mutator_cpu_ns = t;
    c.mutator_cpu_end_ns = end;
    c.stopped_ns = 5 * ms;
    c.gc_cpu_outside_pause_ns = (end - t) / 2;
    c.heap_before = heap;  // a concurrent cycle: the heap when marking ended
    c.live = prog.live;
    c.roots = 1 * MiB;
    c.memory_after = {prog.live, 0, prog.non_heap};
    r.total_at_end.push_back(heap + prog.non_heap);
    p.end_cycle(c);
    t = end;
    heap = prog.live;
  }
  return r;
}

// 80 MiB allocated while a cycle marks (200 MiB/s for 400 ms), 256 MiB live
// under 512 MiB: the goal's trigger cannot start the cycle that early (Go's
// lower clamp keeps it 45/64 of the way from live to the goal, 392 MiB), so
// every cycle started there ended at 472 MiB of heap, 520 MiB with the rest,
// past the 504 MiB cap: each would set off the driver's full collections
// that relieve the cap. Once one cycle has been measured, the cap trigger
// starts them so that they end one margin below the cap.
TEST(PacerConcurrent, ACycleThatWouldCrossTheCapStartsEarlyEnoughNotTo) {
  const concurrent_run r = run({});
  ASSERT_EQ(r.total_at_end.size(), 12u);
  EXPECT_EQ(r.deferrals, 0);
  const uint64_t cap = static_cast<uint64_t>(kLimit) - heap_cap_margin(kLimit);
  EXPECT_GT(r.total_at_end[0], cap);  // the first cycle had nothing measured
  for (size_t i = 1; i < r.total_at_end.size(); ++i) {
    // One margin below the cap, give or take a check's 1 MiB.
    EXPECT_LE(r.total_at_end[i], cap - heap_cap_margin(kLimit) + MiB) << "cycle " << i;
    // And not absurdly early: within two margins of that aim.
    EXPECT_GE(r.total_at_end[i], cap - 3 * heap_cap_margin(kLimit)) << "cycle " << i;
  }
}

// The trigger follows the measured growth: a faster allocator, or a
// slower cycle, starts the next cycles earlier.
TEST(PacerConcurrent, TheCapTriggerFollowsTheMeasuredGrowth) {
  concurrent_program fast;
  fast.alloc_mib_s = 300;  // 120 MiB per 400 ms cycle
  concurrent_program slow;
  slow.cycle_ms = 600;  // 120 MiB per cycle at 200 MiB/s
  const uint64_t cap = static_cast<uint64_t>(kLimit) - heap_cap_margin(kLimit);
  for (const concurrent_program& prog : {fast, slow}) {
    const concurrent_run r = run(prog);
    for (size_t i = 1; i < r.total_at_end.size(); ++i)
      EXPECT_LE(r.total_at_end[i], cap - heap_cap_margin(kLimit) + MiB) << "cycle " << i;
  }
}

// Stop-the-world pacing is unchanged: with the same history the trigger is
// the goal's (trigger_for), and set_concurrent(false) is the default.
TEST(PacerConcurrent, StopTheWorldPacingIsUnchanged) {
  concurrent_program stw;
  stw.concurrent = false;
  const concurrent_run r = run(stw);
  // Every cycle started at the goal's trigger (cycles reported as
  // concurrent ones, so that only the mode differs) and crossed the cap.
  const uint64_t cap = static_cast<uint64_t>(kLimit) - heap_cap_margin(kLimit);
  for (const uint64_t total : r.total_at_end) EXPECT_GT(total, cap);
  pacer p(2, {100, kLimit});
  EXPECT_FALSE(p.concurrent());
  const decision d = p.check({0, {300 * MiB, 0, 48 * MiB}, 0});
  EXPECT_EQ(d.trigger, p.trigger_for(p.last_goal()));
}

// Without a memory limit there is no cap: the concurrent trigger is the
// goal's.
TEST(PacerConcurrent, NoLimitNoCapTrigger) {
  pacer p(2, {100, no_limit});
  p.set_concurrent(true);
  const decision d = p.check({0, {3 * MiB, 0, 48 * MiB}, 0});
  EXPECT_EQ(d.trigger, p.trigger_for(p.last_goal()));
  EXPECT_EQ(cap_trigger(no_limit, 0, 0, 0), no_goal);
}

TEST(PacerConcurrent, CapTriggerArithmetic) {
  // 512 MiB - 2 x 8 MiB - 48 MiB - 80 MiB.
  EXPECT_EQ(cap_trigger(kLimit, 256 * MiB, 48 * MiB, 80 * MiB), 368 * MiB);
  // Never below live: a cycle at every check, the limiter decides.
  EXPECT_EQ(cap_trigger(kLimit, 256 * MiB, 48 * MiB, 300 * MiB), 256 * MiB);
  EXPECT_EQ(cap_trigger(kLimit, 0, 600 * MiB, 0), 0u);
  EXPECT_EQ(heap_cap_margin(512 * MiB), 8 * MiB);
  EXPECT_EQ(heap_cap_margin(16 * MiB), 1 * MiB);  // at least 1 MiB
}

TEST(PacerConcurrent, GrowthPredictionScalesWithRateAndScan) {
  cycle_growth_estimator g;
  EXPECT_EQ(g.predict(256 * MiB), 0u);  // nothing measured
  g.observe(80 * MiB, 400 * ms, 256 * MiB);
  EXPECT_NEAR(static_cast<double>(g.predict(256 * MiB)), 80.0 * MiB, 1.0 * MiB / 1024);
  // Twice the scan: twice as long a cycle at the same rate.
  EXPECT_NEAR(static_cast<double>(g.predict(512 * MiB)), 160.0 * MiB, 1.0 * MiB / 1024);
  // At most 8x the measured cycle.
  EXPECT_NEAR(static_cast<double>(g.predict(64 * 256 * MiB)), 640.0 * MiB, 1.0 * MiB / 1024);
  // A faster, shorter cycle: the fastest rate over the longest duration.
  g.observe(40 * MiB, 100 * ms, 256 * MiB);  // 400 MiB/s
  EXPECT_NEAR(static_cast<double>(g.predict(256 * MiB)), 160.0 * MiB, 1.0 * MiB / 1024);
  // Zero-length cycles are not samples.
  g.observe(1 * MiB, 0, 256 * MiB);
  EXPECT_NEAR(static_cast<double>(g.predict(256 * MiB)), 160.0 * MiB, 1.0 * MiB / 1024);
}

}  // namespace
