// The pressure classifier: its documented criteria on synthetic cycles, and
// on simulated programs: steady pressure never reads as a spiral, a live heap
// growing past the limit does within 5 cycles of reaching 95% of it,
// recovery goes back through the hysteresis, and jitter does not flap.

#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

#include "pacer/pressure.hpp"
#include "pacer_sim.hpp"

namespace {

using namespace goro::pacer;
using namespace goro::pacer::sim;

cycle_facts gc_cycle() {
  return {false, true, false, 0.5, 0.02};
}
cycle_facts pressure_cycle() {
  return {true, false, false, 0.6, 0.1};
}
cycle_facts spiral_cycle() {
  return {true, false, true, 0.97, 0.5};
}
cycle_facts band_cycle() {
  return {false, false, false, 0.5, 0.02};
}  // goals within 10%

TEST(PacerPressure, Names) {
  EXPECT_STREQ(to_string(pressure_state::normal), "normal");
  EXPECT_STREQ(to_string(pressure_state::pressure), "pressure");
  EXPECT_STREQ(to_string(pressure_state::spiral), "spiral");
}

TEST(PacerPressure, NormalToPressureAfterTwoLimitBoundCycles) {
  pressure_classifier c;
  EXPECT_FALSE(c.observe(pressure_cycle()).changed());
  const pressure_change ch = c.observe(pressure_cycle());
  EXPECT_TRUE(ch.changed());
  EXPECT_EQ(ch.from, pressure_state::normal);
  EXPECT_EQ(ch.to, pressure_state::pressure);
  EXPECT_EQ(c.transitions(), 1u);
  EXPECT_EQ(c.last_transition_cycle(), 2u);
}

TEST(PacerPressure, PressureToNormalAfterThreeClearlyGcBoundCycles) {
  pressure_classifier c;
  c.observe(pressure_cycle());
  c.observe(pressure_cycle());
  ASSERT_EQ(c.state(), pressure_state::pressure);
  // Cycles in the 10% band between the goals keep the state.
  for (int i = 0; i < 10; ++i) c.observe(band_cycle());
  EXPECT_EQ(c.state(), pressure_state::pressure);
  c.observe(gc_cycle());
  c.observe(gc_cycle());
  EXPECT_EQ(c.state(), pressure_state::pressure);
  c.observe(gc_cycle());
  EXPECT_EQ(c.state(), pressure_state::normal);
  EXPECT_EQ(c.transitions(), 2u);
}

TEST(PacerPressure, SpiralNeedsThreeConsecutiveSpiralLikeCycles) {
  pressure_classifier c;
  c.observe(spiral_cycle());
  c.observe(spiral_cycle());
  EXPECT_NE(c.state(), pressure_state::spiral);
  c.observe(pressure_cycle());  // breaks the streak
  c.observe(spiral_cycle());
  c.observe(spiral_cycle());
  EXPECT_NE(c.state(), pressure_state::spiral);
  c.observe(spiral_cycle());
  EXPECT_EQ(c.state(), pressure_state::spiral);
}

TEST(PacerPressure, EachSpiralCriterionIsNecessary) {
  pressure_classifier c;
  cycle_facts f = spiral_cycle();
  EXPECT_TRUE(c.spiral_like(f));
  f.limited = false;  // the cycle alone at the cap still counts...
  EXPECT_TRUE(c.spiral_like(f));
  f.gc_share = 0.49;  // ...below it, and no refusal: steady pressure
  EXPECT_FALSE(c.spiral_like(f));
  f = spiral_cycle();
  f.fill = 0.89;  // reclaims enough
  EXPECT_FALSE(c.spiral_like(f));
  f = spiral_cycle();
  f.limit_bound = false;  // gc_percent sets the goal
  EXPECT_FALSE(c.spiral_like(f));
}

TEST(PacerPressure, LeavingSpiralNeedsThreeNonHoldingCycles) {
  pressure_classifier c;
  for (int i = 0; i < 3; ++i) c.observe(spiral_cycle());
  ASSERT_EQ(c.state(), pressure_state::spiral);
  // Holding without a refusal: fill >= 0.80 and GC share >= 40%.
  cycle_facts hold{true, false, false, 0.85, 0.45};
  for (int i = 0; i < 10; ++i) c.observe(hold);
  EXPECT_EQ(c.state(), pressure_state::spiral);
  c.observe(pressure_cycle());
  c.observe(pressure_cycle());
  c.observe(spiral_cycle());  // resets the calm streak
  c.observe(pressure_cycle());
  c.observe(pressure_cycle());
  EXPECT_EQ(c.state(), pressure_state::spiral);
  const pressure_change ch = c.observe(pressure_cycle());
  EXPECT_EQ(ch.from, pressure_state::spiral);
  EXPECT_EQ(ch.to, pressure_state::pressure);
}

TEST(PacerPressure, SpiralEndsInNormalWhenTheLimitNoLongerBinds) {
  pressure_classifier c;
  for (int i = 0; i < 3; ++i) c.observe(spiral_cycle());
  for (int i = 0; i < 3; ++i) c.observe(gc_cycle());
  EXPECT_EQ(c.state(), pressure_state::normal);
}

TEST(PacerPressure, AlternatingEvidenceNeverFlaps) {
  pressure_classifier a, b;
  for (int i = 0; i < 200; ++i) {
    a.observe(i % 2 ? spiral_cycle() : pressure_cycle());
    b.observe(i % 2 ? pressure_cycle() : gc_cycle());
  }
  EXPECT_EQ(a.state(), pressure_state::pressure);
  EXPECT_EQ(a.transitions(), 1u);  // normal -> pressure only
  EXPECT_EQ(b.state(), pressure_state::normal);
  EXPECT_EQ(b.transitions(), 0u);
}

// ---- Simulated programs. ---------------------------------------------------

program limit_program(uint64_t limit, int gc_percent, double alloc_mib_s, double seconds) {
  program p;
  p.settings.gc_percent = gc_percent;
  p.settings.memory_limit = static_cast<int64_t>(limit);
  p.initial_live = limit / 2;
  p.alloc_mib_s = constant(alloc_mib_s);
  p.non_heap = [limit](double) { return limit / 64; };
  p.cycles = 1000000;
  p.seconds = seconds;
  return p;
}

// Steady pressure (the peers' gc-steady rows and harder ones): the classifier
// may say pressure, never spiral.
class SteadyPressure
    : public ::testing::TestWithParam<std::tuple<uint64_t, int, double, double, double>> {};

TEST_P(SteadyPressure, NeverSpirals) {
  const auto [limit, gc_percent, live_frac, alloc, jitter] = GetParam();
  program p = limit_program(limit, gc_percent, alloc, 30);
  p.initial_live = static_cast<uint64_t>(static_cast<double>(limit) * live_frac);
  const stream noise = random(jitter, limit + static_cast<uint64_t>(alloc));
  p.live_at = [=](double t) {
    return static_cast<double>(limit) * live_frac * (1 + noise(static_cast<int>(t * 4)));
  };
  const result r = run(p);
  ASSERT_GT(r.cycles.size(), 10u);
  EXPECT_EQ(r.cycles_in(pressure_state::spiral), 0);
  EXPECT_LE(r.max_gc_share(0, 1.0), 0.55);
}

INSTANTIATE_TEST_SUITE_P(
    Rows, SteadyPressure,
    ::testing::Values(std::make_tuple(512 * MiB, 100, 0.50, 137.0, 0.0),   // gc-steady-1M
                      std::make_tuple(512 * MiB, 100, 0.50, 275.0, 0.0),   // gc-steady-2M
                      std::make_tuple(512 * MiB, -1, 0.50, 137.0, 0.0),    // gc-steady-gogcoff
                      std::make_tuple(512 * MiB, 100, 0.80, 275.0, 0.02),  // closer, jittery
                      std::make_tuple(256 * MiB, -1, 0.90, 40.0, 0.01),  // 90% live, slow allocator
                      std::make_tuple(1024 * MiB, 100, 0.70, 500.0, 0.03)));

// A live heap ramping from 50% to `to` of the limit over 6 s and holding.
class GrowingPastLimit
    : public ::testing::TestWithParam<std::tuple<uint64_t, int, double, double>> {};

TEST_P(GrowingPastLimit, SpiralsWithinFiveCyclesOfNinetyFivePercent) {
  const auto [limit, gc_percent, to, alloc] = GetParam();
  program p = limit_program(limit, gc_percent, alloc, 10);
  p.live_at = [=](double t) {
    return static_cast<double>(limit) * (0.5 + (to - 0.5) * std::min(t / 6.0, 1.0));
  };
  const result r = run(p);
  const int k = r.first_cycle_live_at_least(0.95 * static_cast<double>(limit));
  ASSERT_GE(k, 0);
  int spiral_at = -1;
  for (const cycle& c : r.cycles) {
    if (c.state == pressure_state::spiral) {
      spiral_at = c.n;
      break;
    }
  }
  ASSERT_GE(spiral_at, 0);
  EXPECT_LE(spiral_at, k + 5) << "live reached 95% of the limit at cycle " << k;
  // It was pressure before it was a spiral, and once there it stays while
  // the live heap stays past the limit.
  EXPECT_GT(r.cycles_in(pressure_state::pressure), 0);
  for (int n = spiral_at; n < static_cast<int>(r.cycles.size()); ++n) {
    EXPECT_EQ(r.cycles[n].state, pressure_state::spiral) << "cycle " << n;
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, GrowingPastLimit,
                         ::testing::Values(std::make_tuple(512 * MiB, 100, 1.10, 272.0),
                                           std::make_tuple(512 * MiB, -1, 1.10, 272.0),
                                           std::make_tuple(256 * MiB, 100, 1.20, 150.0),
                                           std::make_tuple(1024 * MiB, 100, 1.05, 400.0),
                                           std::make_tuple(128 * MiB, 50, 1.30, 100.0)));

TEST(PacerPressureSim, RecoveryGoesBackThroughTheHysteresis) {
  const uint64_t limit = 512 * MiB;
  program p = limit_program(limit, 100, 272, 16);
  p.live_at = [=](double t) {
    const double frac = t < 8 ? 0.5 + 0.65 * std::min(t / 5.0, 1.0) : 0.5;  // drop at 8 s
    return static_cast<double>(limit) * frac;
  };
  const result r = run(p);
  int entered = -1, left = -1, drop = -1;
  for (const cycle& c : r.cycles) {
    if (drop < 0 && c.start_s >= 8) drop = c.n;
    if (c.change.changed() && c.change.to == pressure_state::spiral) entered = c.n;
    if (c.change.changed() && c.change.from == pressure_state::spiral) left = c.n;
  }
  ASSERT_GE(entered, 0);
  ASSERT_GE(drop, 0);
  ASSERT_GE(left, 0);
  EXPECT_LT(entered, drop);
  // Three non-holding cycles after the live heap fell back, not one.
  EXPECT_EQ(left, drop + 2);
  EXPECT_NE(r.cycles.back().state, pressure_state::spiral);
  // normal -> pressure -> spiral -> pressure: no other transitions.
  int transitions = 0;
  for (const cycle& c : r.cycles) transitions += c.change.changed();
  EXPECT_EQ(transitions, 3);
  EXPECT_EQ(r.cycles.back().state, pressure_state::pressure);
}

// A program sitting on the spiral's edge: the live heap wanders around 89%
// of the limit (±3%, a new value every 0.5 s or every 50 ms), so GC demand
// crosses the 50% cap back and forth.
sim::result edge_run(uint64_t seed, double period_s, pressure_tuning tuning) {
  const uint64_t limit = 512 * MiB;
  program p = limit_program(limit, 100, 200, 60);
  p.tuning.pressure = tuning;
  const stream noise = random(0.03, seed);
  p.live_at = [=](double t) {
    return static_cast<double>(limit) * (0.89 + noise(static_cast<int>(t / period_s)));
  };
  return run(p);
}

int transitions(const sim::result& r) {
  int n = 0;
  for (const cycle& c : r.cycles) n += c.change.changed();
  return n;
}

TEST(PacerPressureSim, NoFlappingWhenLiveJittersAroundTheThreshold) {
  pressure_tuning none;  // the same criteria without hysteresis
  none.spiral_hold_fill = none.spiral_enter_fill;
  none.spiral_hold_gc_share = none.spiral_enter_gc_share;
  none.gc_bound_ratio = 1.0;
  none.spiral_enter_cycles = none.spiral_exit_cycles = 1;
  none.pressure_enter_cycles = none.pressure_exit_cycles = 1;
  for (uint64_t seed : {1u, 2u, 3u}) {
    for (double period : {0.5, 0.05}) {
      const sim::result r = edge_run(seed, period, {});
      ASSERT_GT(r.cycles.size(), 100u);
      EXPECT_GT(r.cycles_in(pressure_state::spiral), 0) << "the scenario must be on the edge";
      // Every state, once entered, lasts at least 3 cycles (2 for the
      // first normal), and on average at least 15.
      int since = 0;
      for (const cycle& c : r.cycles) {
        ++since;
        if (!c.change.changed()) continue;
        if (c.change.from != pressure_state::normal) {
          EXPECT_GE(since, 3) << "seed " << seed << " cycle " << c.n;
        }
        since = 0;
      }
      const int t = transitions(r);
      EXPECT_LE(t * 15, static_cast<int>(r.cycles.size())) << "seed " << seed;
      // Without hysteresis the same program flaps several times as often.
      EXPECT_GE(transitions(edge_run(seed, period, none)), 3 * std::max(t, 1)) << "seed " << seed;
    }
  }
}

}  // namespace

namespace {

// A live heap over what the limit leaves (fill >= 1) with the limiter
// refusing is spiral-certain: two in a row are enough (pressure.hpp), one
// alone is not.
TEST(PacerPressure, TwoSpiralCertainCyclesEnterSpiral) {
  goro::pacer::cycle_facts certain;
  certain.limit_bound = true;
  certain.gc_bound = false;
  certain.limited = true;
  certain.fill = 1.05;
  goro::pacer::cycle_facts calm = certain;
  calm.limited = false;
  calm.fill = 0.5;
  calm.gc_share = 0.1;
  goro::pacer::pressure_classifier c;
  EXPECT_FALSE(c.observe(certain).changed());
  c.observe(calm);
  EXPECT_FALSE(c.observe(certain).changed()) << "the streak restarted";
  EXPECT_NE(c.state(), goro::pacer::pressure_state::spiral);
  const goro::pacer::pressure_change ch = c.observe(certain);
  EXPECT_TRUE(ch.changed());
  EXPECT_EQ(ch.to, goro::pacer::pressure_state::spiral);
  // Without the refusal the same fill takes the 3-cycle path.
  goro::pacer::pressure_classifier d;
  goro::pacer::cycle_facts unlimited = certain;
  unlimited.limited = false;
  unlimited.gc_share = 0.6;
  d.observe(unlimited);
  d.observe(unlimited);
  EXPECT_NE(d.state(), goro::pacer::pressure_state::spiral);
  d.observe(unlimited);
  EXPECT_EQ(d.state(), goro::pacer::pressure_state::spiral);
}

}  // namespace
