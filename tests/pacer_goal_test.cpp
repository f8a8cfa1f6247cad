// Heap goal and trigger: Go's formulas, checked against Go's own numbers
// where Go's tests state them (reference/go-pacer.md §1, §4.1).

#include <gtest/gtest.h>

#include "pacer/heap_goal.hpp"
#include "pacer/trigger.hpp"

namespace {

using namespace goro::pacer;

constexpr uint64_t MiB = uint64_t{1} << 20;

TEST(PacerGoal, GcPercentGoalCountsLiveAndRoots) {
  // live + (live + roots) * p / 100
  EXPECT_EQ(gc_percent_goal(100, 100 * MiB, 10 * MiB), 210 * MiB);
  EXPECT_EQ(gc_percent_goal(50, 100 * MiB, 0), 150 * MiB);
  EXPECT_EQ(gc_percent_goal(200, 10 * MiB, 2 * MiB), 34 * MiB);
}

TEST(PacerGoal, GcPercentGoalHasScaledFourMiBFloor) {
  EXPECT_EQ(gc_percent_goal(100, 1 * MiB, 0), 4 * MiB);
  EXPECT_EQ(gc_percent_goal(50, 0, 0), 2 * MiB);
  EXPECT_EQ(gc_percent_goal(1500, 0, 0), 60 * MiB);
  // gc_percent = 0: goal is the live heap itself (continuous collection).
  EXPECT_EQ(gc_percent_goal(0, 7 * MiB, 1 * MiB), 7 * MiB);
}

TEST(PacerGoal, NegativeGcPercentMeansOff) {
  EXPECT_EQ(gc_percent_goal(-1, 100 * MiB, 0), no_goal);
  EXPECT_EQ(gc_percent_goal(-100, 0, 0), no_goal);
}

TEST(PacerGoal, GcPercentGoalSaturates) {
  EXPECT_EQ(gc_percent_goal(1'000'000, uint64_t{1} << 60, 0), no_goal);
  EXPECT_EQ(gc_percent_goal(100, no_goal - 5, 100), no_goal);
}

TEST(PacerGoal, LimitHeadroomMatchesGo) {
  // Go's pacer test: 512 MiB with no overheads -> 536870912 - 536870912/100*3.
  EXPECT_EQ(apply_limit_headroom(512 * MiB), 520'764'785u);
  // Below ~33 MiB the 1 MiB minimum wins.
  EXPECT_EQ(apply_limit_headroom(10 * MiB), 9 * MiB);
  // Tiny goals collapse to the headroom itself, as Go.
  EXPECT_EQ(apply_limit_headroom(MiB + MiB / 2), MiB);
  EXPECT_EQ(apply_limit_headroom(0), MiB);
}

TEST(PacerGoal, LimitGoalSubtractsNonHeapButNotFreeHeap) {
  memory_sample m;
  m.heap_alloc = 100 * MiB;
  m.heap_free = 50 * MiB;  // free but mapped: reusable, not overhead
  m.non_heap = 30 * MiB;
  EXPECT_EQ(limit_goal_unfloored(512 * MiB, m), apply_limit_headroom(482 * MiB));
}

TEST(PacerGoal, LimitGoalSubtractsOverage) {
  memory_sample m;
  m.heap_alloc = 500 * MiB;
  m.heap_free = 20 * MiB;
  m.non_heap = 12 * MiB;  // total 532 MiB, 20 MiB over a 512 MiB limit
  EXPECT_EQ(limit_goal_unfloored(512 * MiB, m),
            apply_limit_headroom(512 * MiB - 12 * MiB - 20 * MiB));
}

TEST(PacerGoal, OverheadsAtOrAboveLimitGiveZeroThenLive) {
  memory_sample m;
  m.non_heap = 600 * MiB;
  EXPECT_EQ(limit_goal_unfloored(512 * MiB, m), 0u);
  const heap_goal g = compute_goal(100, 512 * MiB, {40 * MiB, 0, m});
  EXPECT_EQ(g.limit_goal, 40 * MiB);  // never below live
  EXPECT_EQ(g.bytes, 40 * MiB);
  EXPECT_EQ(g.source, goal_source::limit);
}

TEST(PacerGoal, NoLimitAndNegativeLimit) {
  EXPECT_EQ(limit_goal_unfloored(no_limit, {}), no_goal);
  // A negative limit behaves as 0: collect continuously.
  EXPECT_EQ(limit_goal_unfloored(-5, {}), 0u);
}

TEST(PacerGoal, SmallerGoalWins) {
  memory_sample m;
  // gc_percent: 100 + 110 = 210 MiB; limit: 256 MiB less 3% = ~248 MiB.
  heap_goal g = compute_goal(100, 256 * MiB, {100 * MiB, 10 * MiB, m});
  EXPECT_EQ(g.source, goal_source::gc_percent);
  EXPECT_EQ(g.bytes, 210 * MiB);
  EXPECT_EQ(g.limit_goal, apply_limit_headroom(256 * MiB));
  // A lower limit takes over.
  g = compute_goal(100, 200 * MiB, {100 * MiB, 10 * MiB, m});
  EXPECT_EQ(g.source, goal_source::limit);
  EXPECT_EQ(g.bytes, apply_limit_headroom(200 * MiB));
  // gc_percent off: the limit alone.
  g = compute_goal(-1, 200 * MiB, {100 * MiB, 10 * MiB, m});
  EXPECT_EQ(g.source, goal_source::limit);
  EXPECT_EQ(g.gc_percent_goal, no_goal);
  // Neither: no goal.
  g = compute_goal(-1, no_limit, {100 * MiB, 10 * MiB, m});
  EXPECT_EQ(g.source, goal_source::none);
  EXPECT_EQ(g.bytes, no_goal);
}

TEST(PacerGoal, LiveAboveLimitPinsGoalToLive) {
  const heap_goal g = compute_goal(100, 512 * MiB, {600 * MiB, 0, {600 * MiB, 0, 0}});
  EXPECT_EQ(g.bytes, 600 * MiB);
  EXPECT_LT(g.limit_goal_unfloored, 600 * MiB);
}

TEST(PacerTrigger, BoundsAreGos) {
  const trigger_bounds b = bounds_for(64 * MiB, 128 * MiB);
  EXPECT_EQ(b.lower, 64 * MiB + 64 * MiB / 64 * 45);
  EXPECT_EQ(b.upper, 64 * MiB + 64 * MiB / 64 * 61);
}

TEST(PacerTrigger, BigHeapsMayTriggerFourMiBBeforeGoal) {
  // goal - live = 400 MiB: 95% would leave 20 MiB; Go allows goal - 4 MiB.
  const trigger_bounds b = bounds_for(400 * MiB, 800 * MiB);
  EXPECT_EQ(b.upper, 796 * MiB);
  EXPECT_EQ(compute_trigger(400 * MiB, 800 * MiB, 0), 796 * MiB);
}

TEST(PacerTrigger, RunwayIsClampedBetween70And95Percent) {
  const uint64_t live = 10 * MiB, goal = 20 * MiB;
  const trigger_bounds b = bounds_for(live, goal);
  EXPECT_EQ(compute_trigger(live, goal, 0), b.upper);               // tiny runway: latest trigger
  EXPECT_EQ(compute_trigger(live, goal, 2 * MiB), goal - 2 * MiB);  // inside the clamp
  EXPECT_EQ(compute_trigger(live, goal, 9 * MiB), b.lower);         // huge runway: earliest
  EXPECT_EQ(compute_trigger(live, goal, 30 * MiB), b.lower);
}

TEST(PacerTrigger, DegenerateGoals) {
  EXPECT_EQ(compute_trigger(10 * MiB, no_goal, 0), no_goal);
  EXPECT_EQ(compute_trigger(10 * MiB, 10 * MiB, 0), 10 * MiB);  // live == goal: at once
  EXPECT_EQ(compute_trigger(12 * MiB, 10 * MiB, 0), 10 * MiB);
  EXPECT_DOUBLE_EQ(trigger_ratio(12 * MiB, 10 * MiB, 10 * MiB), 1.0);
  EXPECT_NEAR(trigger_ratio(0, 64 * MiB, 32 * MiB), 0.5, 1e-12);
}

TEST(PacerTrigger, RunwayEstimatorKeepsMaxOfLastFive) {
  runway_estimator r;
  EXPECT_EQ(r.runway(), 0u);
  r.observe(5 * MiB);
  for (int i = 0; i < 4; ++i) r.observe(1 * MiB);
  EXPECT_EQ(r.runway(), 5 * MiB);
  r.observe(2 * MiB);  // the 5 MiB sample falls out
  EXPECT_EQ(r.runway(), 2 * MiB);
}

}  // namespace
