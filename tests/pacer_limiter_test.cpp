// The GC CPU limiter: bucket accounting (Go's invariants), admission, and
// the two promises, checked on simulated programs:
//   GC CPU <= 55% in every 1 s window once engaged, and
//   engagement within 0.5 s of GC CPU passing 50%.

#include <gtest/gtest.h>

#include <algorithm>
#include <tuple>

#include "pacer/limiter.hpp"
#include "pacer_sim.hpp"

namespace {

using namespace goro::pacer;
using sim::ms;
using sim::sec;

TEST(PacerLimiter, CapacityIsProcsTimes25ms) {
  EXPECT_EQ(limiter(1).capacity(), 25 * ms);
  EXPECT_EQ(limiter(8).capacity(), 200 * ms);
  limiter l(2);
  l.set_procs(6);
  EXPECT_EQ(l.capacity(), 150 * ms);
}

TEST(PacerLimiter, PauseCountsProcsTimesWallTime) {
  limiter l(4);
  l.add_pause(0, 10 * ms);
  EXPECT_EQ(l.totals(0, sec).gc_ns, 40 * ms);
  EXPECT_EQ(l.level(sec / 2), 40 * ms);
  EXPECT_EQ(l.total_gc_ns(), 40 * ms);
}

TEST(PacerLimiter, ExactlyHalfGcLeavesBucketUnchanged) {
  const int procs = 4;
  limiter l(procs);
  // A burst first, so "unchanged" is not just "still zero".
  l.add_pause(0, 50 * ms);
  const int64_t before = l.level(50 * ms);
  ASSERT_EQ(before, 200 * ms);
  // Then exactly 50%: 10 ms stopped, 10 ms of all procs running, for 0.9 s.
  int64_t t = 50 * ms;
  for (int i = 0; i < 45; ++i) {
    l.add_pause(t, t + 10 * ms);
    l.add_mutator(t + 10 * ms, t + 20 * ms, procs * 10 * ms);
    t += 20 * ms;
    ASSERT_EQ(l.level(t), before) << "after " << i + 1 << " pairs";
  }
}

TEST(PacerLimiter, ExactlyHalfGcFromEmptyStaysAtZeroForever) {
  const int procs = 2;
  limiter l(procs);
  int64_t t = 0;
  for (int i = 0; i < 500; ++i) {  // 10 s
    l.add_pause(t, t + 10 * ms);
    l.add_mutator(t + 10 * ms, t + 20 * ms, procs * 10 * ms);
    t += 20 * ms;
    ASSERT_EQ(l.level(t), 0) << "t=" << t;
  }
  EXPECT_DOUBLE_EQ(l.gc_share(t), 0.5);
}

TEST(PacerLimiter, IdleTimeEarnsNoCredit) {
  const int procs = 2;
  limiter idle(procs), busy(procs);
  for (limiter* l : {&idle, &busy}) l->add_pause(0, 100 * ms);
  // 300 ms idle (nothing recorded) versus 300 ms of mutator work.
  busy.add_mutator(100 * ms, 400 * ms, procs * 300 * ms);
  EXPECT_EQ(idle.level(400 * ms), 200 * ms);  // idle drained nothing
  EXPECT_EQ(busy.level(400 * ms), -400 * ms);
  // So the next 100 ms pause fits after work but not after idleness.
  EXPECT_FALSE(idle.would_admit(400 * ms, 100 * ms));
  EXPECT_TRUE(busy.would_admit(400 * ms, 100 * ms));
}

// Demand 80% GC (40 ms pauses, 10 ms of mutator between): the time from the
// burst's start to the first refusal.
int64_t engagement_delay(limiter& l, int64_t start) {
  int64_t t = start;
  while (t < start + 10 * sec) {
    if (!l.admit(t, 40 * ms)) return t - start;
    l.add_pause(t, t + 40 * ms);
    l.add_mutator(t + 40 * ms, t + 50 * ms, l.procs() * 10 * ms);
    t += 50 * ms;
  }
  return -1;
}

TEST(PacerLimiter, AnIdleDayBuildsNoCreditAndABusyOneOnlyOneWindow) {
  const int procs = 2;
  limiter fresh(procs), after_idle(procs), after_work(procs), after_long_work(procs);
  const int64_t day = 24LL * 3600 * sec;
  after_work.add_mutator(day - sec, day, procs * sec);                 // 1 s busy
  after_long_work.add_mutator(day - 10 * sec, day, procs * 10 * sec);  // 10 s busy
  const int64_t d_fresh = engagement_delay(fresh, 0);
  ASSERT_GT(d_fresh, 0);
  EXPECT_EQ(engagement_delay(after_idle, day), d_fresh);
  const int64_t d_work = engagement_delay(after_work, day);
  EXPECT_GT(d_work, d_fresh);                                 // work earns credit...
  EXPECT_EQ(engagement_delay(after_long_work, day), d_work);  // ...but only the last second's
  EXPECT_LE(d_work, d_fresh + sec);
}

TEST(PacerLimiter, ContributionsLeakOutAfterTheWindow) {
  limiter l(2);
  l.add_pause(0, 100 * ms);
  EXPECT_EQ(l.level(900 * ms), 200 * ms);
  EXPECT_EQ(l.level(1100 * ms), 0);
  EXPECT_EQ(l.level(50 * sec), 0);
}

TEST(PacerLimiter, SpreadsLongSegmentsExactly) {
  limiter l(2);
  l.add_mutator(0, sec, 2 * sec);
  EXPECT_EQ(l.totals(0, sec).mutator_ns, 2 * sec);
  EXPECT_EQ(l.totals(0, sec / 2).mutator_ns, sec);
  EXPECT_EQ(l.totals(250 * ms, 260 * ms).mutator_ns, 20 * ms);
  // A segment far longer than the window keeps only its recent part.
  limiter m(2);
  m.add_mutator(0, 100 * sec, 200 * sec);
  EXPECT_EQ(m.totals(99 * sec, 100 * sec).mutator_ns, 2 * sec);
}

TEST(PacerLimiter, AdmitsWhatFitsRefusesWhatOverflows) {
  const int procs = 2;
  limiter_tuning one_second;  // the 1 s bucket alone (the short window is tested below)
  one_second.short_window_ns = 0;
  limiter l(procs, one_second);
  l.add_mutator(0, sec, procs * sec);  // a busy second: 2 CPU-s of credit
  // 0.4 s pause: its window [0.4, 1.4) holds 1.2 CPU-s credit vs 0.8 GC.
  EXPECT_TRUE(l.would_admit(sec, 400 * ms));
  l.add_pause(sec, 1400 * ms);
  // Right after: the window of another 0.4 s pause would hold 1.6 s GC
  // against 0.4 s of credit.
  EXPECT_FALSE(l.would_admit(1400 * ms, 400 * ms));
  // A 10 ms pause needs 20 ms GC in the window [0.41, 1.41) that holds
  // 0.8 s GC vs 1.18 s credit: fits.
  EXPECT_TRUE(l.would_admit(1400 * ms, 10 * ms));
}

TEST(PacerLimiter, ShortWindowSpacesPausesThatTheSecondWouldAllow) {
  const int procs = 2;
  limiter l(procs);
  l.add_mutator(0, sec, procs * sec);  // plenty of 1 s credit
  l.add_pause(sec, 1100 * ms);
  // A second 100 ms pause 50 ms later: 200 ms stopped of the 250 ms ending
  // with it. The 1 s bucket has room; the short window refuses.
  EXPECT_FALSE(l.would_admit(1150 * ms, 100 * ms));
  EXPECT_FALSE(l.would_admit(1200 * ms, 100 * ms));  // still 150 of 250
  // From 1.25 s on the 250 ms window ending with it holds 125 ms or less
  // (51.25% of 250 ms = 128 ms; the oldest 10 ms bin counts whole).
  EXPECT_TRUE(l.would_admit(1260 * ms, 100 * ms));
  // A 200 ms pause can never fit 128 ms: it runs once its own short window
  // (the 200 ms before it) is free of pauses.
  EXPECT_FALSE(l.would_admit(1250 * ms, 200 * ms));
  EXPECT_TRUE(l.would_admit(1310 * ms, 200 * ms));
  // Off when short_window_ns is 0.
  limiter_tuning off;
  off.short_window_ns = 0;
  limiter o(procs, off);
  o.add_mutator(0, sec, procs * sec);
  o.add_pause(sec, 1100 * ms);
  EXPECT_TRUE(o.would_admit(1150 * ms, 100 * ms));
}

TEST(PacerLimiter, LonePauseThatCannotFitRunsWhenItsWindowIsClean) {
  const int procs = 2;
  limiter l(procs);
  // After idleness there is no credit: a 300 ms pause can never "fit", but
  // nothing else is in its window, so it runs.
  EXPECT_TRUE(l.admit(5 * sec, 300 * ms));
  l.add_pause(5 * sec, 5300 * ms);
  // The next one waits until the 700 ms before it are free of GC.
  EXPECT_FALSE(l.would_admit(5300 * ms, 300 * ms));
  EXPECT_FALSE(l.would_admit(5990 * ms, 300 * ms));
  EXPECT_TRUE(l.would_admit(6000 * ms + 10 * ms, 300 * ms));
  // Pauses of half the window or more need a gap as long as themselves.
  limiter big(procs);
  big.add_pause(0, 600 * ms);
  EXPECT_FALSE(big.would_admit(1190 * ms, 600 * ms));
  EXPECT_TRUE(big.would_admit(1210 * ms, 600 * ms));
}

TEST(PacerLimiter, EngagementBookkeeping) {
  limiter l(1);
  EXPECT_FALSE(l.engaged());
  EXPECT_EQ(l.last_engaged_ns(), -1);
  l.add_pause(0, 500 * ms);
  EXPECT_FALSE(l.admit(600 * ms, 100 * ms));
  EXPECT_TRUE(l.engaged());
  EXPECT_FALSE(l.admit(700 * ms, 100 * ms));  // still the same engagement
  EXPECT_EQ(l.engagements(), 1u);
  EXPECT_EQ(l.last_engaged_ns(), 600 * ms);
  l.add_mutator(500 * ms, 2 * sec, 1500 * ms);
  EXPECT_TRUE(l.admit(2 * sec, 100 * ms));
  EXPECT_FALSE(l.engaged());
  l.add_pause(2 * sec, 2600 * ms);
  EXPECT_FALSE(l.admit(2600 * ms, 500 * ms));
  EXPECT_EQ(l.engagements(), 2u);
}

TEST(PacerLimiter, DisabledAdmitsEverything) {
  limiter_tuning t;
  t.enabled = false;
  limiter l(2, t);
  l.add_pause(0, 5 * sec);
  EXPECT_TRUE(l.admit(5 * sec, sec));
  EXPECT_FALSE(l.engaged());
}

// The window guarantee as a property: a greedy collector that starts every
// pause the limiter admits (demand is always there, pause lengths random up
// to 0.5 s, mutator busy a random share of the time, idle otherwise) never
// has more than 51.25% GC in any 1 s window, counting idle in the total as
// Go's /cpu/classes do, when pauses are as predicted.
TEST(PacerLimiter, GreedyCollectorNeverPassesTheBoundInAnyWindow) {
  for (uint64_t seed : {1u, 2u, 3u, 0x53u, 0xf00du}) {
    for (int procs : {1, 2, 8}) {
      limiter l(procs);
      sim::result r;  // reuse its window arithmetic
      r.procs = procs;
      const auto pause_len = sim::random(1.0, seed), busy = sim::random(1.0, seed + 7),
                 step = sim::random(1.0, seed + 13);
      int64_t t = 0;
      for (int i = 0; t < 60 * sec; ++i) {
        const auto p = static_cast<int64_t>((0.5 + 0.5 * pause_len(i)) * 500 * ms) + 1;
        if (l.admit(t, p)) {
          l.add_pause(t, t + p);
          r.pauses.push_back({t, t + p});
          t += p;
        }
        const auto d = static_cast<int64_t>((0.5 + 0.5 * step(i)) * 20 * ms) + 1;
        const double b = 0.5 + 0.5 * busy(i);
        l.add_mutator(t, t + d, static_cast<int64_t>(b * procs * static_cast<double>(d)));
        t += d;
      }
      r.end_s = static_cast<double>(t) / 1e9;
      EXPECT_LE(r.max_gc_share(0, 1.0), 0.5125 + 1e-9) << "seed " << seed << " procs " << procs;
      EXPECT_GT(r.pause_in(0, r.end_s) / r.end_s, 0.25) << "the limiter must not starve GC";
    }
  }
}

// ---- The promises on simulated programs. ---------------------------

// A program whose live heap ramps from 50% to `to` of the limit over `ramp_s`
// seconds and then holds (the peers' gc-spiral shape), 2 procs, 272 MiB/s
// (the Go peer's 2M allocs/s).
sim::program spiral_program(uint64_t limit, int gc_percent, double to, double ramp_s,
                            double alloc_mib_s, double mark_jitter, uint64_t seed) {
  sim::program p;
  p.settings.gc_percent = gc_percent;
  p.settings.memory_limit = static_cast<int64_t>(limit);
  p.initial_live = limit / 2;
  p.live_at = [=](double t) {
    return static_cast<double>(limit) * (0.5 + (to - 0.5) * std::min(t / ramp_s, 1.0));
  };
  p.alloc_mib_s = sim::constant(alloc_mib_s);
  p.non_heap = [limit](double) { return limit / 64; };
  p.mark_factor = sim::sum(sim::constant(1.0), sim::random(mark_jitter, seed));
  p.cycles = 100000;
  p.seconds = ramp_s + 3;
  return p;
}

// The 250 ms promise from `from` on: every 250 ms window holds at most 55%
// pause time where pauses are short enough to allow it (<= 125 ms); a longer
// pause has its own 250 ms to itself (the gap before it is at least
// min(its length, 250 ms - its length), less one 10 ms bin).
void expect_short_windows_bounded(const sim::result& r, double from) {
  double longest = 0;
  for (const auto& p : r.pauses)
    if (static_cast<double>(p.start) / 1e9 >= from - 0.25)
      longest = std::max(longest, static_cast<double>(p.end - p.start) / 1e9);
  if (longest <= 0.125) {
    EXPECT_LE(r.max_gc_share(from, 0.25), 0.55) << "longest pause " << longest;
    return;
  }
  for (size_t i = 1; i < r.pauses.size(); ++i) {
    if (static_cast<double>(r.pauses[i].start) / 1e9 < from) continue;
    const int64_t gap = r.pauses[i].start - r.pauses[i - 1].end;
    const int64_t len = r.pauses[i].end - r.pauses[i].start;
    if (len > 125 * ms) {
      EXPECT_GE(gap, std::min(len, 250 * ms - len) - 10 * ms) << "pause " << i;
    }
  }
}

class LimiterPromise
    : public ::testing::TestWithParam<std::tuple<uint64_t, int, double, double, double>> {};

TEST_P(LimiterPromise, CapsGcCpuAndEngagesPromptly) {
  const auto [limit, gc_percent, to, alloc, jitter] = GetParam();
  sim::program prog = spiral_program(limit, gc_percent, to, 6.0, alloc, jitter, limit ^ 0x5eed);
  const sim::result limited = sim::run(prog);
  prog.tuning.limiter.enabled = false;
  const sim::result unlimited = sim::run(prog);

  // Without the limiter GC passes 50% of the trailing second at t50...
  const double t50 = unlimited.first_exceeding(0.5, 1.0);
  ASSERT_GT(t50, 0) << "the scenario must be a real spiral";
  EXPECT_GT(unlimited.max_gc_share(t50, 1.0), 0.75) << "and a bad one";
  // ...the limiter engages no later than 0.5 s after that...
  ASSERT_GE(limited.first_deferral_s, 0);
  EXPECT_LE(limited.first_deferral_s, t50 + 0.5);
  // ...and from then on no 1 s window has more than 55% GC CPU.
  EXPECT_LE(limited.max_gc_share(limited.first_deferral_s, 1.0), 0.55);
  // Before engagement, too, since admission is predictive.
  EXPECT_LE(limited.max_gc_share(0, 1.0), 0.55);
  // And the collector keeps working: at least 35% GC in the held phase,
  // where it would take ~100% unlimited.
  EXPECT_GE(limited.pause_in(6.5, limited.end_s) / (limited.end_s - 6.5), 0.35);
  expect_short_windows_bounded(limited, limited.first_deferral_s + 1.0);
}

INSTANTIATE_TEST_SUITE_P(Sizes, LimiterPromise,
                         ::testing::Values(std::make_tuple(256 * sim::MiB, 100, 1.10, 272.0, 0.0),
                                           std::make_tuple(512 * sim::MiB, 100, 1.10, 272.0, 0.0),
                                           std::make_tuple(512 * sim::MiB, -1, 1.10, 272.0, 0.0),
                                           std::make_tuple(512 * sim::MiB, 100, 1.10, 272.0, 0.2),
                                           std::make_tuple(1024 * sim::MiB, 100, 1.20, 400.0, 0.2),
                                           std::make_tuple(128 * sim::MiB, 50, 1.50, 150.0, 0.1),
                                           std::make_tuple(768 * sim::MiB, -1, 0.99, 600.0, 0.1)));

TEST(PacerLimiterSim, IdleProgramsAreMeasuredOnWallTimeToo) {
  // Half the CPUs idle: idle earns no credit, so the limiter holds GC near
  // half of the *busy* CPU, well under half of all CPU.
  sim::program prog = spiral_program(512 * sim::MiB, 100, 1.1, 6.0, 136.0, 0.0, 9);
  prog.busy = 0.5;
  const sim::result r = sim::run(prog);
  ASSERT_GE(r.first_deferral_s, 0);
  EXPECT_LE(r.max_gc_share(0, 1.0), 0.55);
}

// The pacer charges a pause at the mutator's measured CPU rate (pacer.hpp).
// A mutator the machine starves of CPU (a few percent of a core while the
// markers get both) makes that charge tend to zero; the limiter must still
// keep the world stopped at most about half of every second once engaged,
// engage within 0.5 s of the stopped share passing 50%, and keep collecting.
class StarvedMutator : public ::testing::TestWithParam<double> {};

TEST_P(StarvedMutator, PausesStillCostWallTime) {
  sim::program prog = spiral_program(512 * sim::MiB, 100, 1.1, 6.0, 272.0, 0.1, 21);
  prog.busy = GetParam();
  prog.pause_cpus = 2.0;
  const sim::result limited = sim::run(prog);
  prog.tuning.limiter.enabled = false;
  const sim::result unlimited = sim::run(prog);
  const double t50 = unlimited.first_exceeding(0.5, 1.0);
  ASSERT_GT(t50, 0) << "the scenario must stop the world over half the time unlimited";
  ASSERT_GE(limited.first_deferral_s, 0);
  EXPECT_LE(limited.first_deferral_s, t50 + 0.5);
  EXPECT_LE(limited.max_gc_share(0, 1.0), 0.55);
  EXPECT_GE(limited.pause_in(6.5, limited.end_s) / (limited.end_s - 6.5), 0.35);
}

INSTANTIATE_TEST_SUITE_P(Busy, StarvedMutator, ::testing::Values(0.01, 0.05, 0.2, 0.6));

TEST(PacerLimiter, WallTimeBoundRefusesWhatTheCpuChargeWouldAdmit) {
  limiter l(2);
  // A 300 ms pause charged at 0.05 CPUs, 100 ms of a barely running mutator.
  l.add_pause(0, 300 * ms, 0.05);
  l.add_mutator(300 * ms, 400 * ms, 5 * ms);
  EXPECT_EQ(l.totals(0, 400 * ms).stopped_ns, 300 * ms);
  // The CPU bucket holds 15 - 5 ms: another cheap 300 ms pause fits it, but
  // the window ending with it would be stopped 600 of 1000 ms.
  EXPECT_FALSE(l.would_admit(400 * ms, 300 * ms, 0.05));
  // Once the first pause has left that window's reach it fits.
  EXPECT_TRUE(l.would_admit(1000 * ms + 300 * ms, 300 * ms, 0.05));
}

// A mostly-concurrent cycle stops the world for its stops only: the
// wall-time rules count those (admit_stops), the CPU rule its whole charge.
// A 150 ms stop-the-world pause 50 ms after a 100 ms one is refused by the
// 250 ms wall rule; a 150 ms concurrent cycle with 10 ms of stops is not.
TEST(PacerLimiter, AConcurrentCycleIsStoppedOnlyForItsStops) {
  limiter l(2);
  const int64_t t = 10 * sec;
  l.add_mutator(t - sec, t, 2 * sec);  // a busy second: the CPU rule has room
  l.add_pause(t + 50 * ms, t + 150 * ms, 2);
  l.add_mutator(t + 150 * ms, t + 200 * ms, 100 * ms);
  const int64_t now = t + 200 * ms;
  EXPECT_FALSE(l.would_admit(now, 150 * ms, 1));
  EXPECT_FALSE(l.would_admit_stops(now, 150 * ms, 150 * ms, 1));  // the same thing
  EXPECT_TRUE(l.would_admit_stops(now, 150 * ms, 10 * ms, 1));
  // The CPU rule still charges the whole cycle: with no mutator credit the
  // same cycle does not fit.
  limiter idle(2);
  idle.add_pause(t + 100 * ms, t + 140 * ms, 2);
  EXPECT_FALSE(idle.would_admit_stops(t + 900 * ms, 150 * ms, 10 * ms, 2));
  // admit_stops records the answer as admit does.
  EXPECT_FALSE(l.admit_stops(now, 150 * ms, 150 * ms, 1));
  EXPECT_TRUE(l.engaged());
  EXPECT_TRUE(l.admit_stops(now, 150 * ms, 10 * ms, 1));
  EXPECT_FALSE(l.engaged());
}

TEST(PacerLimiterSim, LongPausesAreSpacedOnePerWindow) {
  // 3 GiB live on two markers: ~0.9 s pauses cannot meet 55% of any second
  // on their own; the limiter then keeps every 1 s window to at most one
  // pause (its own window holds nothing else) and GC to about half the time.
  sim::program prog = spiral_program(3 * sim::GiB, -1, 1.05, 4.0, 500.0, 0.0, 11);
  prog.seconds = 20;
  const sim::result r = sim::run(prog);
  ASSERT_GE(r.first_deferral_s, 0);
  for (size_t i = 1; i < r.pauses.size(); ++i) {
    const int64_t gap = r.pauses[i].start - r.pauses[i - 1].end;
    const int64_t len = r.pauses[i].end - r.pauses[i].start;
    EXPECT_GE(gap, std::min<int64_t>(len, sec - len) - 10 * ms) << "pause " << i;
  }
  EXPECT_LE(r.pause_in(5, r.end_s) / (r.end_s - 5), 0.52);
}

}  // namespace
