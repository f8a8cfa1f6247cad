// The pacer object as the heap driver will use it: settings, the check /
// end_cycle protocol, deferral, forced collections, run-time changes.

#include <gtest/gtest.h>

#include "pacer/pacer.hpp"
#include "pacer_sim.hpp"

namespace {

using namespace goro::pacer;
using sim::GiB;
using sim::MiB;
using sim::ms;
using sim::sec;

// One paced collection: check until collect, then report it.
cycle_report collect(pacer& p, int64_t& t, uint64_t heap, uint64_t live, int64_t pause = 5 * ms) {
  const decision d = p.check({t, {heap, 0, 0}, -1});
  EXPECT_TRUE(d.collect);
  cycle_sample c;
  c.start_ns = t;
  c.end_ns = t + pause;
  c.heap_before = heap;
  c.live = live;
  c.memory_after = {live, 0, 0};
  t += pause;
  return p.end_cycle(c);
}

TEST(PacerModel, SettersReturnThePreviousValue) {
  pacer p(2);
  EXPECT_EQ(p.gc_percent(), 100);
  EXPECT_EQ(p.memory_limit(), no_limit);
  EXPECT_EQ(p.set_gc_percent(50), 100);
  EXPECT_EQ(p.set_gc_percent(-7), 50);
  EXPECT_EQ(p.gc_percent(), -1);  // off is stored as -1, as Go
  EXPECT_EQ(p.set_gc_percent(100), -1);
  EXPECT_EQ(p.set_memory_limit(512 * MiB), no_limit);
  EXPECT_EQ(p.set_memory_limit(-1), static_cast<int64_t>(512 * MiB));  // read only
  EXPECT_EQ(p.memory_limit(), static_cast<int64_t>(512 * MiB));
  EXPECT_EQ(p.set_memory_limit(no_limit), static_cast<int64_t>(512 * MiB));
}

TEST(PacerModel, FirstCollectionAtTheFourMiBMinimum) {
  pacer p(2);
  const uint64_t trigger = bounds_for(0, heap_minimum).upper;
  EXPECT_FALSE(p.check({0, {trigger - 1, 0, 0}, 0}).collect);
  const decision d = p.check({1, {trigger, 0, 0}, 0});
  EXPECT_TRUE(d.collect);
  EXPECT_EQ(d.reason, gc_reason::gc_percent);
  EXPECT_EQ(d.goal, heap_minimum);
  EXPECT_EQ(d.trigger, trigger);
}

TEST(PacerModel, NoGoalNeverCollects) {
  pacer p(2, {-1, no_limit});
  EXPECT_FALSE(p.check({0, {uint64_t{1} << 50, 0, 0}, 0}).collect);
  EXPECT_EQ(p.last_goal().source, goal_source::none);
}

TEST(PacerModel, EndCycleSetsTheNextGoalFromLiveAndRoots) {
  pacer p(2);
  int64_t t = 0;
  cycle_sample c;
  c.start_ns = 0;
  c.end_ns = ms;
  c.live = 100 * MiB;
  c.roots = 10 * MiB;
  c.memory_after = {100 * MiB, 0, 0};
  c.forced = true;
  const cycle_report r = p.end_cycle(c);
  EXPECT_EQ(r.cycle, 1u);
  EXPECT_EQ(r.reason, gc_reason::forced);
  EXPECT_EQ(r.next_goal.bytes, 210 * MiB);
  EXPECT_EQ(r.next_trigger, 206 * MiB);  // goal - 4 MiB: a big heap
  EXPECT_EQ(p.live(), 100 * MiB);
  t = 2 * ms;
  EXPECT_FALSE(p.check({t, {206 * MiB - 1, 0, 0}, -1}).collect);
  EXPECT_TRUE(p.check({t, {206 * MiB, 0, 0}, -1}).collect);
}

TEST(PacerModel, SettingsTakeEffectAtTheNextCheck) {
  pacer p(2);
  int64_t t = 0;
  collect(p, t, 8 * MiB, 200 * MiB);  // live 200 MiB: goal ~400 MiB
  EXPECT_FALSE(p.check({t, {300 * MiB, 0, 0}, -1}).collect);
  // Lowering the limit between two checks, mid-cycle: the very next check
  // uses it (not the next cycle).
  p.set_memory_limit(256 * MiB);
  decision d = p.check({t, {300 * MiB, 0, 0}, -1});
  EXPECT_TRUE(d.collect);
  EXPECT_EQ(d.reason, gc_reason::limit);
  EXPECT_EQ(d.goal, apply_limit_headroom(256 * MiB - 44 * MiB));  // less the 44 MiB overage
  // Raising gc_percent and removing the limit: back to a gc_percent goal.
  p.set_memory_limit(no_limit);
  p.set_gc_percent(300);
  d = p.check({t, {300 * MiB, 0, 0}, -1});
  EXPECT_FALSE(d.collect);
  EXPECT_EQ(d.goal, 800 * MiB);
  // gc_percent off with a limit: a limit-only collector.
  p.set_gc_percent(-1);
  p.set_memory_limit(1024 * MiB);
  d = p.check({t, {300 * MiB, 0, 0}, -1});
  EXPECT_EQ(d.goal, apply_limit_headroom(1024 * MiB));
  EXPECT_EQ(p.last_goal().source, goal_source::limit);
}

TEST(PacerModel, NonHeapIsReadAtEveryCheck) {
  pacer p(2, {-1, static_cast<int64_t>(512 * MiB)});
  EXPECT_EQ(p.check({0, {0, 0, 0}, -1}).goal, apply_limit_headroom(512 * MiB));
  EXPECT_EQ(p.check({1, {0, 0, 100 * MiB}, -1}).goal, apply_limit_headroom(412 * MiB));
}

TEST(PacerModel, LimiterDefersAndTheCycleReportsIt) {
  pacer p(1, {-1, static_cast<int64_t>(64 * MiB)});
  int64_t t = 0;
  int64_t mutator = 0;
  // A live heap that fills the goal, with 200 ms pauses: every check after a
  // collection wants the next one.
  for (int i = 0; i < 3; ++i) {
    decision d;
    do {
      t += ms;
      mutator += ms;
      d = p.check({t, {63 * MiB, 0, 0}, mutator});
    } while (!d.collect);
    cycle_sample c;
    c.start_ns = t;
    c.end_ns = t + 200 * ms;
    c.mutator_cpu_ns = mutator;
    c.heap_before = 63 * MiB;
    c.live = 62 * MiB;
    c.memory_after = {62 * MiB, 0, 0};
    t = c.end_ns;
    const cycle_report r = p.end_cycle(c);
    if (i > 0) {  // the first pause had no prediction to go by
      EXPECT_TRUE(r.limited) << i;
      // The second that ends with this pause: GC - mutator within capacity.
      EXPECT_LE(p.gc_limiter().level(t), p.gc_limiter().capacity()) << i;
    }
  }
  EXPECT_GT(p.gc_limiter().engagements(), 0u);
  // A forced collection is never deferred by the limiter: the driver just runs it.
  cycle_sample f;
  f.start_ns = t;
  f.end_ns = t + 200 * ms;
  f.live = 62 * MiB;
  f.forced = true;
  EXPECT_EQ(p.end_cycle(f).reason, gc_reason::forced);
}

// The limiter is asked about the next pause, predicted from the last five.
// Marking is linear in the scanned bytes, so a pause scales with the heap;
// but a small heap's pause is mostly fixed cost and noise, and is scaled up
// at most 8x (pacer.hpp, "Pause prediction"). Without that bound, the 9 ms
// pause over 3 MiB below predicted 255 ms for 116 MiB (what an ASan run on
// a loaded machine measured) and the limiter refused to collect at all.
TEST(PacerModel, PausePredictionScalesWithTheHeapButNotWithoutBound) {
  // One busy mutator thread of two procs, 100 ms between collections: GC
  // stays far below the limiter's budget, so every collection is admitted.
  auto run = [](pacer& p, int64_t& t, uint64_t heap, uint64_t live, int64_t pause) {
    t += 100 * ms;
    const decision d = p.check({t, {heap, 0, 0}, t});
    EXPECT_TRUE(d.collect) << heap / MiB << " MiB";
    cycle_sample c;
    c.start_ns = t;
    c.end_ns = t + pause;
    c.mutator_cpu_ns = t;
    c.heap_before = heap;
    c.live = live;
    c.memory_after = {live, 0, 0};
    t += pause;
    return p.end_cycle(c);
  };
  const int64_t limit = static_cast<int64_t>(GiB);  // a limit: every check asks the limiter
  // A young heap doubling every cycle, the first pause slowed by noise.
  pacer p(2, {100, limit});
  int64_t t = 0;
  const uint64_t lives[] = {3 * MiB, 7 * MiB, 14 * MiB, 28 * MiB, 56 * MiB};
  const int64_t pauses[] = {9 * ms, 5 * ms, 5 * ms, 6 * ms, 2 * ms};
  uint64_t heap = 4 * MiB;
  for (int i = 0; i < 5; ++i)
    heap = run(p, t, std::max(heap, lives[i]), lives[i], pauses[i]).next_trigger;
  t += 100 * ms;
  const decision young = p.check({t, {116 * MiB, 0, 0}, t});
  ASSERT_TRUE(young.collect);
  EXPECT_GT(young.predicted_pause_ns, 0);
  EXPECT_LE(young.predicted_pause_ns, 8 * 9 * ms);  // linear scaling said 255 ms

  // A settled heap: 30 ms pauses over 100 MiB live predict 30 ms (linear
  // where the samples are near).
  pacer q(2, {100, limit});
  t = 0;
  heap = 4 * MiB;
  for (int i = 0; i < 6; ++i)
    heap = run(q, t, std::max(heap, 101 * MiB), 100 * MiB, 30 * ms).next_trigger;
  t += 100 * ms;
  const decision settled = q.check({t, {heap, 0, 0}, t});
  ASSERT_TRUE(settled.collect);
  EXPECT_NEAR(static_cast<double>(settled.predicted_pause_ns), 30.0 * ms, 2.0 * ms);
}

// Only a pause's work scales with the heap: a pause that spent most of its
// wall time without a CPU (the collector descheduled by a busy machine:
// 34 ms of wall for 1 ms of process CPU, as an ASan run on a loaded machine
// measured) predicts its stall plus its work scaled, not its wall time
// scaled (272 ms for 8x the heap, which made the limiter refuse).
TEST(PacerModel, PausePredictionScalesTheWorkNotTheStall) {
  const int64_t limit = static_cast<int64_t>(GiB);
  // Two collections: the first pauses `wall` with `cpu` of process CPU over
  // 1 MiB live (4 MiB scanned: heap_minimum), the second is quick with
  // 16 MiB live; the prediction for a 40 MiB heap then scans 31 MiB (live
  // plus the last growth), 7.75x the first pause's bytes.
  auto predict_after = [&](int64_t wall, int64_t cpu) {
    pacer p(2, {100, limit});
    int64_t t = 0;
    const struct {
      uint64_t live;
      int64_t wall, cpu;
    } cycles[] = {{1 * MiB, wall, cpu}, {16 * MiB, ms / 10, ms / 10}};
    for (const auto& k : cycles) {
      t += 100 * ms;
      EXPECT_TRUE(p.check({t, {40 * MiB, 0, 0}, t}).collect);
      cycle_sample c;
      c.start_ns = t;
      c.end_ns = t + k.wall;
      c.gc_cpu_in_pause_ns = k.cpu;
      c.mutator_cpu_ns = t;
      c.heap_before = 40 * MiB;
      c.live = k.live;
      c.memory_after = {k.live, 0, 0};
      p.end_cycle(c);
      t += k.wall;
    }
    t += 100 * ms;
    const decision d = p.check({t, {40 * MiB, 0, 0}, t});
    EXPECT_TRUE(d.collect);
    return static_cast<double>(d.predicted_pause_ns);
  };
  // 1 ms of work scaled 7.75x, plus 33 ms of stall (scaled whole: 263 ms).
  EXPECT_NEAR(predict_after(34 * ms, 1 * ms), 40.75 * ms, 0.1 * ms);
  // Parallel markers (CPU above wall): all of the wall time is work.
  EXPECT_NEAR(predict_after(4 * ms, 8 * ms), 31.0 * ms, 0.1 * ms);
  // CPU not measured: the wall time is taken as work, as before.
  EXPECT_NEAR(predict_after(4 * ms, -1), 31.0 * ms, 0.1 * ms);
}

namespace {

// gc_percent 0 (collect continuously) with 100 ms pauses on one proc, the
// mutator busy between them: how many checks the limiter deferred.
int deferred_gc_percent_checks(pacer& q) {
  int64_t t = 0;
  int deferred = 0;
  for (int i = 0; i < 2000; ++i) {
    t += ms;
    const decision d = q.check({t, {10 * MiB, 0, 0}, t});
    if (d.collect || d.deferred) {
      EXPECT_EQ(d.reason, gc_reason::gc_percent) << i;
    }
    deferred += d.deferred;
    if (!d.collect) continue;
    cycle_sample c;
    c.start_ns = t;
    c.end_ns = t + 100 * ms;
    c.mutator_cpu_ns = t;
    c.live = 10 * MiB;
    c.memory_after = {10 * MiB, 0, 0};
    t = c.end_ns;
    q.end_cycle(c);
  }
  return deferred;
}

}  // namespace

TEST(PacerModel, GcPercentCollectionsCanBeLeftUngated) {
  pacer_tuning tuning;
  tuning.gating = gc_percent_gating::never;
  pacer p(1, {0, no_limit}, tuning);  // gc_percent 0: collect continuously
  int64_t t = 0;
  for (int i = 0; i < 20; ++i) {
    const decision d = p.check({t, {10 * MiB, 0, 0}, -1});
    ASSERT_TRUE(d.collect) << i;  // never deferred
    cycle_sample c;
    c.start_ns = t;
    c.end_ns = t + 100 * ms;
    c.live = 10 * MiB;
    c.memory_after = {10 * MiB, 0, 0};
    t = c.end_ns;
    p.end_cycle(c);
  }
  pacer never(1, {0, GiB}, tuning);
  EXPECT_EQ(deferred_gc_percent_checks(never), 0) << "never: not even with a limit";
}

TEST(PacerModel, GcPercentCollectionsAreGatedOnlyUnderAMemoryLimitByDefault) {
  // Without a limit gc_percent is the only bound asked for: not deferred.
  pacer free_running(1, {0, no_limit});
  EXPECT_EQ(deferred_gc_percent_checks(free_running), 0);
  // With a limit (far above the heap, so gc_percent still sets the goal)
  // continuous GC is held near the cap.
  pacer limited(1, {0, GiB});
  EXPECT_GT(deferred_gc_percent_checks(limited), 0);
  // A limit set at run time gates from the next check.
  pacer later(1, {0, no_limit});
  later.set_memory_limit(GiB);
  EXPECT_GT(deferred_gc_percent_checks(later), 0);
  // `always` gates without a limit too.
  pacer_tuning tuning;
  tuning.gating = gc_percent_gating::always;
  pacer always(1, {0, no_limit}, tuning);
  EXPECT_GT(deferred_gc_percent_checks(always), 0);
}

TEST(PacerModel, ProcsScaleTheLimiter) {
  pacer p(2);
  EXPECT_EQ(p.gc_limiter().capacity(), 50 * ms);
  p.set_procs(8);
  EXPECT_EQ(p.procs(), 8);
  EXPECT_EQ(p.gc_limiter().capacity(), 200 * ms);
}

TEST(PacerModel, RunwayFollowsMeasuredOvershoot) {
  // A driver whose check fires 1 MiB late pulls the trigger 1 MiB earlier
  // (as long as the clamp allows).
  pacer p(2);
  int64_t t = 0;
  collect(p, t, bounds_for(0, heap_minimum).upper, 100 * MiB);  // on time
  EXPECT_EQ(p.last_trigger(), 196 * MiB);                       // goal 200 MiB less 4 MiB
  collect(p, t, 201 * MiB, 100 * MiB);                          // crossed 5 MiB past the trigger
  EXPECT_EQ(p.last_trigger(), 195 * MiB);
}

TEST(PacerModel, ReasonNames) {
  EXPECT_STREQ(to_string(gc_reason::limit), "limit");
  EXPECT_STREQ(to_string(gc_reason::gc_percent), "gc_percent");
  EXPECT_STREQ(to_string(gc_reason::forced), "forced");
  EXPECT_STREQ(to_string(goal_source::limit), "limit");
}

}  // namespace

namespace {

// pacer.hpp, "What a pause costs": with the driver's measurement a pause is
// charged at max(mutator CPU rate since the last collection, the GC
// threads' measured rate), at most procs; without it, Go's procs x pause.
TEST(PacerModel, APauseIsChargedAtTheMutatorsRateOrTheMeasuredOne) {
  pacer p(2);
  EXPECT_DOUBLE_EQ(p.pause_charge_cpus(0), 2.0);  // nothing measured yet
  cycle_sample c;
  c.start_ns = 0;
  c.end_ns = 100 * ms;
  c.mutator_cpu_ns = 0;
  c.gc_cpu_in_pause_ns = 30 * ms;  // the markers got 0.3 CPUs
  c.live = 8 * MiB;
  c.memory_after = {8 * MiB, 0, 0};
  p.end_cycle(c);
  EXPECT_EQ(p.gc_limiter().total_gc_ns(), 30 * ms);  // no mutator history: measured
  // A mostly idle mutator: 0.5 CPUs over the next second.
  p.observe_cpu(1100 * ms, 500 * ms);
  EXPECT_NEAR(p.pause_charge_cpus(1100 * ms), 0.5, 1e-9);
  c.start_ns = 1100 * ms;
  c.end_ns = 1200 * ms;
  c.mutator_cpu_ns = 500 * ms;
  c.gc_cpu_in_pause_ns = 20 * ms;
  p.end_cycle(c);
  EXPECT_EQ(p.gc_limiter().total_gc_ns(), 30 * ms + 50 * ms);  // 0.5 CPUs x 100 ms
  // A busy mutator (2 CPUs): Go's procs x pause.
  p.observe_cpu(2200 * ms, 2500 * ms);
  EXPECT_NEAR(p.pause_charge_cpus(2200 * ms), 2.0, 1e-9);
}

// pacer.hpp, "A mostly-concurrent cycle": its stops are charged as a
// pause (the first procs x their sum) and its marking with the world
// running as measured, both spread over the cycle; the mutator CPU of the
// cycle lands in the cycle's bins; the pause the limiter predicts next is
// the stops plus the marking over procs.
TEST(PacerModel, AConcurrentCyclesMarkingIsGcCpu) {
  pacer p(2);
  cycle_sample c;
  c.start_ns = 0;
  c.end_ns = 400 * ms;
  c.mutator_cpu_ns = 0;
  c.stopped_ns = 10 * ms;                // first and final stops
  c.gc_cpu_outside_pause_ns = 300 * ms;  // assists and the collecting thread
  c.mutator_cpu_end_ns = 400 * ms;       // the tasks ran on the other half
  c.live = 64 * MiB;
  c.memory_after = {64 * MiB, 0, 0};
  const cycle_report r = p.end_cycle(c);
  const limiter& l = p.gc_limiter();
  EXPECT_EQ(l.total_gc_ns(), 2 * 10 * ms + 300 * ms);
  EXPECT_EQ(l.total_mutator_ns(), 400 * ms);
  const cpu_totals t = l.totals(0, 400 * ms);
  EXPECT_EQ(t.gc_ns, 320 * ms);
  EXPECT_EQ(t.mutator_ns, 400 * ms);
  EXPECT_EQ(t.stopped_ns, 10 * ms);                     // not the whole cycle
  EXPECT_EQ(l.totals(0, 200 * ms).stopped_ns, 5 * ms);  // spread pro rata
  EXPECT_EQ(r.pause_ns, 10 * ms);
  EXPECT_NEAR(r.gc_share, 320.0 / 720.0, 1e-9);
  // The same live heap predicts the stops plus the marking over procs.
  EXPECT_EQ(p.predicted_pause_ns(64 * MiB), 160 * ms);
  // The next cycle's stops are charged at the mutator's rate since the
  // last: 0.5 CPUs over the second after it.
  c.start_ns = 1400 * ms;
  c.end_ns = 1500 * ms;
  c.mutator_cpu_ns = 900 * ms;  // 500 ms more over [400, 1400)
  c.stopped_ns = 20 * ms;
  c.gc_cpu_outside_pause_ns = 50 * ms;
  c.mutator_cpu_end_ns = 950 * ms;
  p.end_cycle(c);
  EXPECT_EQ(l.total_gc_ns(), 320 * ms + 10 * ms + 50 * ms);
}

// The limiter's wall-time rules count a concurrent cycle's stops, not its
// marking (limiter::admit_stops). Before, the cycle's predicted "pause"
// (stops + marking over procs) was counted as stopped time, and a cycle
// right after one whose marking took 300 ms CPU was refused by the 250 ms
// wall rule though it would stop the world for ~20 ms: in gcbench-limit
// gc-steady-2M the limiter then deferred the next cycle until the heap was
// 24 MiB past its goal.
TEST(PacerModel, AConcurrentCycleRightAfterAnotherIsAdmittedOnItsStops) {
  pacer p(2, {100, static_cast<int64_t>(GiB)});
  p.observe_cpu(0, 0);
  p.observe_cpu(600 * ms, 1000 * ms);
  cycle_sample c;
  c.start_ns = 600 * ms;
  c.end_ns = 1000 * ms;
  c.mutator_cpu_ns = 1000 * ms;
  c.stopped_ns = 10 * ms;
  c.gc_cpu_outside_pause_ns = 300 * ms;
  c.mutator_cpu_end_ns = 1500 * ms;
  c.live = 64 * MiB;
  c.memory_after = {64 * MiB, 0, 0};
  p.end_cycle(c);
  const decision d = p.check({1010 * ms, {127 * MiB, 0, 0}, 1510 * ms});
  EXPECT_TRUE(d.collect);
  EXPECT_FALSE(d.deferred);
  EXPECT_GT(d.predicted_pause_ns, 160 * ms);  // stops + marking over procs, scaled
  EXPECT_LT(d.predicted_stopped_ns, d.predicted_pause_ns / 10);
  // A stop-the-world pause is stopped throughout.
  pacer q(2);
  int64_t t = 0;
  collect(q, t, 5 * MiB, 4 * MiB, 20 * ms);
  const decision e = q.check({t, {100 * MiB, 0, 0}, -1});
  EXPECT_EQ(e.predicted_stopped_ns, e.predicted_pause_ns);
}

// The classifier's fill is measured against the limit goal without the
// overage term (pressure.hpp): free heap pages still mapped push the goal
// down for a cycle or two, and that alone must not read as a full heap.
TEST(PacerModel, SettledLimitGoalIgnoresOverage) {
  const memory_sample m{30 * MiB, 40 * MiB, 10 * MiB};  // total 80 MiB over a 64 MiB limit
  const heap_goal g = compute_goal(-1, static_cast<int64_t>(64 * MiB), {30 * MiB, 0, m});
  EXPECT_EQ(g.limit_goal_settled, apply_limit_headroom(54 * MiB));
  EXPECT_EQ(g.limit_goal_unfloored, apply_limit_headroom(38 * MiB));
  EXPECT_EQ(compute_goal(100, no_limit, {30 * MiB, 0, m}).limit_goal_settled, no_goal);
}

}  // namespace
