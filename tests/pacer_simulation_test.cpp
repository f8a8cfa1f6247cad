// Go's TestGcPacer scenarios (reference/go-pacer.md §4.2) run on goro's
// stop-the-world model through tests/pacer_sim.hpp. Each asserts the goal
// ratio (peak heap / goal), the trigger ratio ((trigger - live) / (goal -
// live)) and the pressure state, as Go's do. Where goro's model differs from
// Go's assist model the assertion follows goro's and says so:
//
//  * goal ratio: Go allows [0.95, 1.05] because allocation continues during
//    a concurrent mark; goro's mutator is stopped while marking, so the peak
//    is the heap at the trigger plus one check's allocation: [0.95, 1.0].
//  * trigger: Go's moves with the allocation rate (runway = cons/mark ×
//    scan work); goro's sits at the upper clamp (61/64 of the way, or goal -
//    4 MiB for big heaps) whatever the rate, see pacer/trigger.hpp.
//  * GC CPU: Go asserts its 25% mark utilisation; goro's GC share is
//    pause / (pause + time to allocate trigger - live), asserted exactly.
//  * Past the limit Go asserts utilisation -> 100% ("it's not the pacer's
//    job to limit CPU usage"); goro's pacer includes the limiter, so it
//    asserts <= 55% in every 1 s window instead.

#include <gtest/gtest.h>

#include <cmath>

#include "pacer_sim.hpp"

namespace {

using namespace goro::pacer;
using namespace goro::pacer::sim;

constexpr uint64_t limit_512 = 512 * MiB;
constexpr uint64_t limit_512_goal = 520'764'785;  // Go's number: 512 MiB less 3%

// Go's common defaults, scaled to goro's 2 procs: GOGC 100, roots 40 KiB,
// the heap doubling then settling by cycle 12, 50 cycles.
program base() {
  program p;
  p.procs = 2;
  p.settings.gc_percent = 100;
  p.growth = sum(constant(2.0), ramp(-1.0, 12));
  p.alloc_mib_s = constant(64);
  p.cycles = 50;
  return p;
}

double mib_s(const program& p, int n) {
  return p.alloc_mib_s(n) * static_cast<double>(MiB);
}

// goro's GC share for a cycle: pause / (pause + time to allocate from the
// previous live heap to this peak).
double expected_share(const program& p, const result& r, const cycle& c) {
  const double gap = static_cast<double>(c.heap_peak - c.live_before) / mib_s(p, c.n);
  (void)r;
  return c.pause_s / (c.pause_s + gap);
}

// The trigger goro's model must choose: the upper clamp (the measured runway
// is one check's allocation, far below the clamp range).
void expect_upper_trigger(const cycle& c) {
  ASSERT_LT(c.live_before, c.goal) << "cycle " << c.n;
  EXPECT_EQ(c.trigger, bounds_for(c.live_before, c.goal).upper) << "cycle " << c.n;
}

void expect_goal_ratio(const cycle& c, double lo, double hi) {
  EXPECT_GE(c.goal_ratio(), lo) << "cycle " << c.n;
  EXPECT_LE(c.goal_ratio(), hi) << "cycle " << c.n;
}

// Checks shared by the gc_percent scenarios after the heap settled.
void expect_settled_gc_percent(const program& p, const result& r, int from) {
  ASSERT_EQ(static_cast<int>(r.cycles.size()), p.cycles);
  for (const cycle& c : r.cycles) {
    EXPECT_EQ(c.state, pressure_state::normal) << "cycle " << c.n;
    EXPECT_FALSE(c.limited) << "cycle " << c.n;
    if (c.n < from) continue;
    EXPECT_EQ(c.reason, gc_reason::gc_percent);
    expect_goal_ratio(c, 0.95, 1.0);
    expect_upper_trigger(c);
    EXPECT_NEAR(c.gc_share, expected_share(p, r, c), 1e-3) << "cycle " << c.n;
  }
}

TEST(PacerSimulation, Steady) {
  const program p = base();
  const result r = run(p);
  expect_settled_gc_percent(p, r, 13);
  for (int n = 25; n < p.cycles; ++n) {
    // Settled: Go's |u[n] - u[n-1]| <= 0.005, and small heaps trigger at 61/64.
    EXPECT_NEAR(r.cycles[n].gc_share, r.cycles[n - 1].gc_share, 0.005);
    EXPECT_NEAR(r.cycles[n].trigger_ratio(), 61.0 / 64, 0.002);
  }
}

void step_alloc(double factor) {
  program p = base();
  p.alloc_mib_s = sum(constant(64), delay(ramp(64 * (factor - 1), 1), 50));
  p.cycles = 100;
  const result r = run(p);
  expect_settled_gc_percent(p, r, 13);
  const cycle& before = r.cycles[49];
  for (int n = 75; n < 100; ++n) {
    const cycle& c = r.cycles[n];
    // goro: the rate does not move the trigger (Go's would move earlier).
    EXPECT_NEAR(c.trigger_ratio(), before.trigger_ratio(), 1e-3) << n;
    // It only makes cycles more frequent: the share grows with the rate.
    const double gap_ratio = (1 / c.gc_share - 1) / (1 / before.gc_share - 1);
    EXPECT_NEAR(gap_ratio, 1 / factor, 0.02) << n;
  }
}

TEST(PacerSimulation, StepAllocTimes3) {
  step_alloc(3);
}
TEST(PacerSimulation, HeavyStepAllocTimes11) {
  step_alloc(11);
}

TEST(PacerSimulation, OscillatingAlloc) {
  program p = base();
  p.alloc_mib_s = sum(constant(67), oscillate(13, 0, 8));
  const result r = run(p);
  expect_settled_gc_percent(p, r, 13);
}

TEST(PacerSimulation, JitterAlloc) {
  program p = base();
  p.alloc_mib_s = sum(constant(132), random(13, 0xf));
  p.growth = sum(p.growth, random(0.01, 0xe));
  const result r = run(p);
  expect_settled_gc_percent(p, r, 13);
}

TEST(PacerSimulation, HeavyJitterAlloc) {
  program p = base();
  p.alloc_mib_s = sum(constant(330), random(33, 0x0));
  p.growth = sum(p.growth, random(0.01, 0x152));
  const result r = run(p);
  expect_settled_gc_percent(p, r, 14);
}

TEST(PacerSimulation, HighGcPercentWithLiveHeapJump) {
  program p = base();
  p.settings.gc_percent = 1500;
  p.alloc_mib_s = sum(constant(165), random(7, 0x53));
  // A one-cycle 15x jump of the live heap at cycle 26 (growth index 25).
  p.growth = sum(sum(p.growth, random(0.01, 0x1)), delay(unit(14), 25));
  const result r = run(p);
  ASSERT_EQ(static_cast<int>(r.cycles.size()), p.cycles);
  EXPECT_GT(r.cycles[26].live_after, 10 * r.cycles[25].live_after);
  for (const cycle& c : r.cycles) {
    EXPECT_EQ(c.state, pressure_state::normal);
    if (c.n <= 12) continue;
    // Go allows a goal ratio up to 15 at the jump, because its mutator
    // keeps allocating the new live set during the mark. A stopped world
    // cannot overshoot: goro asserts [0.90, 1.0] at every cycle, the jump
    // included (the new live set is built before the trigger is reached).
    expect_goal_ratio(c, 0.90, 1.0);
    expect_upper_trigger(c);
    // gc_percent 1500 leaves > 80 MiB between live and goal: goal - 4 MiB.
    if (c.goal - c.live_before > 80 * MiB) {
      EXPECT_EQ(c.goal - c.trigger, 4 * MiB);
    }
  }
}

void slow_alloc(stream growth, uint64_t initial, double rate, int settle) {
  program p = base();
  p.initial_live = initial;
  p.alloc_mib_s = constant(rate);
  p.growth = growth;
  const result r = run(p);
  ASSERT_EQ(static_cast<int>(r.cycles.size()), p.cycles);
  for (const cycle& c : r.cycles) {
    EXPECT_EQ(c.state, pressure_state::normal);
    if (c.n <= settle) continue;
    // Go's bounds for its slow-allocation scenarios hold unchanged.
    expect_goal_ratio(c, 0.925, 1.0);
    expect_upper_trigger(c);
    if (c.goal - c.live_before <= 80 * MiB) {
      EXPECT_GE(c.trigger_ratio(), 0.925);
      EXPECT_LE(c.trigger_ratio(), 0.975);
    } else {
      EXPECT_EQ(c.goal - c.trigger, 4 * MiB);  // Go: runway == DefaultHeapMinimum
    }
  }
}

TEST(PacerSimulation, SmallHeapSlowAlloc) {
  slow_alloc(sum(constant(2.0), ramp(-1.0, 3)), 256 * KiB, 1.0, 4);
}
TEST(PacerSimulation, MediumHeapSlowAlloc) {
  slow_alloc(sum(constant(2.0), ramp(-1.0, 8)), 256 * KiB, 4.0, 9);
}
TEST(PacerSimulation, LargeHeapSlowAlloc) {
  slow_alloc(sum(constant(2.0), ramp(-1.0, 12)), 4 * MiB, 256.0, 13);
}

TEST(PacerSimulation, SmallHeapUsesTheFourMiBMinimum) {
  program p = base();
  p.growth = sum(constant(2.0), ramp(-1.0, 3));
  p.alloc_mib_s = constant(1.0);
  p.cycles = 20;
  const result r = run(p);
  for (int n = 5; n < p.cycles; ++n) EXPECT_EQ(r.cycles[n].goal, heap_minimum);
}

TEST(PacerSimulation, SteadyMemoryLimit) {
  program p = base();
  p.settings.memory_limit = limit_512;
  const result r = run(p);
  expect_settled_gc_percent(p, r, 13);
  for (const cycle& c : r.cycles) {
    EXPECT_LT(c.total_peak, limit_512_goal);  // the limit never binds
    EXPECT_EQ(c.limit_goal, limit_512_goal);
  }
}

void limit_only(std::function<uint64_t(double)> non_heap) {
  program p = base();
  p.settings.gc_percent = -1;
  p.settings.memory_limit = limit_512;
  p.non_heap = non_heap;
  p.cycles = 30;
  const result r = run(p);
  ASSERT_EQ(static_cast<int>(r.cycles.size()), p.cycles);
  for (const cycle& c : r.cycles) {
    // Go's SteadyMemoryLimitNoGCPercent: every cycle, goal == limit less
    // headroom, here also less the non-heap overhead read at that check.
    const uint64_t nh = non_heap ? non_heap(c.start_s) : 0;
    EXPECT_EQ(c.goal, apply_limit_headroom(limit_512 - nh)) << "cycle " << c.n;
    EXPECT_EQ(c.reason, gc_reason::limit);
    EXPECT_FALSE(c.limited);
    expect_upper_trigger(c);
    EXPECT_EQ(c.goal - c.trigger, 4 * MiB);
    expect_goal_ratio(c, 0.95, 1.0);
    EXPECT_LE(c.total_peak, limit_512);
    // The limit sets the goal and collections keep up: pressure from the
    // second cycle (pressure_enter_cycles = 2), never spiral.
    EXPECT_EQ(c.state, c.n == 0 ? pressure_state::normal : pressure_state::pressure);
  }
}

TEST(PacerSimulation, SteadyMemoryLimitNoGcPercent) {
  limit_only(nullptr);
}

TEST(PacerSimulation, SteadyMemoryLimitNoGcPercentWithMovingNonHeap) {
  limit_only(
      [](double t) { return static_cast<uint64_t>(24.0 * MiB + 16.0 * MiB * std::sin(t / 3)); });
}

void maintain_limit(int gc_percent) {
  program p = base();
  p.settings.gc_percent = gc_percent;
  p.settings.memory_limit = limit_512;
  p.initial_live = 2 * MiB;  // settles near 280 MiB: GOGC alone would want ~560
  const result r = run(p);
  ASSERT_EQ(static_cast<int>(r.cycles.size()), p.cycles);
  EXPECT_GT(r.cycles.back().live_after, 200 * MiB);
  for (const cycle& c : r.cycles) {
    EXPECT_NE(c.state, pressure_state::spiral) << "cycle " << c.n;
    EXPECT_FALSE(c.limited);
    EXPECT_LE(c.total_peak, limit_512);
    if (c.n <= 13) continue;
    // Go's MaintainMemoryLimit: n > 12, goal == limit - headroom.
    EXPECT_EQ(c.goal, limit_512_goal) << "cycle " << c.n;
    EXPECT_EQ(c.reason, gc_reason::limit);
    expect_goal_ratio(c, 0.95, 1.0);
    expect_upper_trigger(c);
    EXPECT_EQ(c.state, pressure_state::pressure) << "cycle " << c.n;
    EXPECT_NEAR(c.gc_share, expected_share(p, r, c), 1e-3);
    EXPECT_LT(c.gc_share, 0.25);
  }
}

TEST(PacerSimulation, MaintainMemoryLimit) {
  maintain_limit(100);
}
TEST(PacerSimulation, MaintainMemoryLimitNoGcPercent) {
  maintain_limit(-1);
}

void exceed_limit(int gc_percent) {
  program p = base();
  p.settings.gc_percent = gc_percent;
  p.settings.memory_limit = limit_512;
  p.initial_live = limit_512 / 2;
  p.live_at = [](double t) {
    return static_cast<double>(limit_512) * (0.5 + 0.7 * std::min(t / 6.0, 1.0));
  };
  p.alloc_mib_s = constant(272);
  p.cycles = 100000;
  p.seconds = 12;
  const result r = run(p);
  bool pinned = false;
  for (const cycle& c : r.cycles) {
    // Go's ExceedMemoryLimit: once the live heap cannot fit under the
    // limit, the goal is pinned to it (collect continuously)...
    if (c.n > 0 && static_cast<double>(c.live_before) > 1.0 * limit_512) {
      pinned = true;
      EXPECT_EQ(c.goal, c.live_before) << "cycle " << c.n;
      EXPECT_EQ(c.reason, gc_reason::limit);
      EXPECT_DOUBLE_EQ(c.trigger_ratio(), 1.0);
    }
  }
  ASSERT_TRUE(pinned);
  // ...but where Go's pacer-only test asserts 100% GC CPU, goro's limiter
  // holds every 1 s window to 55% and the program spirals visibly.
  ASSERT_GE(r.first_deferral_s, 0);
  EXPECT_LE(r.max_gc_share(0, 1.0), 0.55);
  EXPECT_GE(r.pause_in(7, r.end_s) / (r.end_s - 7), 0.40);
  EXPECT_EQ(r.cycles.back().state, pressure_state::spiral);
  // The mutator still gets about half the machine, so the heap overshoots.
  EXPECT_GT(r.cycles.back().total_peak, limit_512);
}

TEST(PacerSimulation, ExceedMemoryLimit) {
  exceed_limit(100);
}
TEST(PacerSimulation, ExceedMemoryLimitNoGcPercent) {
  exceed_limit(-1);
}

TEST(PacerSimulation, DeterministicForAFixedSeed) {
  program p = base();
  p.alloc_mib_s = sum(constant(330), random(33, 7));
  const result a = run(p), b = run(p);
  ASSERT_EQ(a.cycles.size(), b.cycles.size());
  for (size_t i = 0; i < a.cycles.size(); ++i) {
    EXPECT_EQ(a.cycles[i].heap_peak, b.cycles[i].heap_peak);
    EXPECT_EQ(a.cycles[i].goal, b.cycles[i].goal);
  }
}

}  // namespace
