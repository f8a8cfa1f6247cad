#pragma once
// The pacer: goro's pacing model in one object. It decides when the
// stop-the-world collector runs, from observations the heap's collection
// driver feeds it. It owns no thread, no clock and no Boehm call, so the
// same object runs under the real driver and under the deterministic
// simulation in tests/pacer_sim.hpp.
//
// The mechanisms, one file each:
//   heap_goal.hpp  gc_percent goal, memory-limit goal with headroom and
//                  overage, the smaller wins
//   trigger.hpp    where below the goal to start, adapted to a
//                  stop-the-world collector; in the concurrent mode also
//                  where below the heap cap (cap_trigger)
//   limiter.hpp    the GC CPU limiter (1 s window, <= 51.25% by construction)
//   pressure.hpp   normal / pressure / spiral, with hysteresis
//
// Wiring it into the heap (the intended driver loop):
//
//   goro::pacer::pacer p(procs, {gc_percent, memory_limit});
//   // at every allocation check (per-thread byte counts flushed):
//   auto d = p.check({nanotime(), {heap_alloc, heap_free, non_heap}, mutator_cpu});
//   if (d.collect) {
//     cycle_sample c;  c.start_ns = nanotime(); c.mutator_cpu_ns = mutator_cpu;
//     c.heap_before = heap_alloc;  ... stop the world, mark, sweep ...
//     c.end_ns = nanotime(); c.live = marked; c.roots = frames + stacks + roots;
//     c.memory_after = {...};
//     auto r = p.end_cycle(c);        // gctrace line, metrics from r
//     if (r.pressure.changed()) notify on_gc_pressure subscribers;
//   }
//   // explicit goro::gc(): collect, then end_cycle with c.forced = true.
//
//  * mutator_cpu is cumulative CPU the program's threads used outside
//    collections (process CPU minus CPU used during pauses), in ns; idle time
//    is whatever procs × wall time it does not cover. Pass -1 when there is
//    no fresh reading; p.observe_cpu() feeds it between checks (e.g. from a
//    timer while allocation is quiet).
//  * What a pause costs. Go charges a stop-the-world phase as procs × its
//    wall time (/cpu/classes/gc/pause): every P is taken from the mutator.
//    goro is all stop-the-world, so that rule alone charges a pause the
//    same whether the Ps would have run mutator code or sat idle, and
//    whether the markers got the CPUs or a loaded machine gave the process
//    one. Measured on the 2-vCPU machine: a rate-limited service (25% CPU)
//    with 256 MiB live had 450 ms pauses while other processes held the
//    CPUs; procs × pause called that 70% GC, the limiter deferred
//    limit-driven collections and the heap went 27% over the limit, though
//    GC threads had used 10% of the CPUs. Charging only the measured GC
//    thread CPU errs the other way: with one marker getting a core, a
//    busy mutator loses procs × pause but GC is charged 1 × pause, so the
//    wall time the mutator is stopped can pass 55%.
//    So a pause is charged at the mutator's CPU rate since the previous
//    collection, in CPUs, at most procs: what stopping the mutator took
//    away from it. Marking on CPUs the mutator would have left idle costs it
//    nothing, as Go's idle mark workers are free (a first version charged
//    max(mutator rate, GC threads' measured rate) and a paced service at
//    10% CPU with parallel markers on idle cores had the limiter refusing
//    at a 13% pause share, 64 MiB limit, peak 1.18x). A busy mutator on free
//    cores gets Go's procs × pause; a saturated spiral its wall-time share
//    (both sides see the same CPUs). The first collection, with no mutator
//    history, is charged the collecting threads' measured rate
//    (c.gc_cpu_in_pause_ns / pause). Without that measurement (< 0, e.g.
//    the simulations) every pause is Go's procs × pause. Admission predicts
//    the charge with the mutator's rate since the last collection. The
//    limiter also bounds the share of wall time the world is stopped
//    (limiter.hpp), so a mutator starved of CPU by the machine, whose rate
//    and hence charge tend to zero, cannot make back-to-back pauses look
//    free.
//    c.gc_cpu_outside_pause_ns adds GC work done with the world running
//    (eager reclaim, unmapping), if the driver measures it.
//  * A mostly-concurrent cycle (c.stopped_ns >= 0) stops the world only
//    briefly inside [start_ns, end_ns): its stops are charged as a pause
//    is (the mutator's rate; the first cycle Go's procs × pause), its
//    marking with the world running (assists and the collecting thread,
//    in gc_cpu_outside_pause_ns) as measured, both spread over the cycle,
//    and the mutator CPU of the cycle (mutator_cpu_end_ns) lands in the
//    cycle's own bins. For admission its "pause" is its stops plus its
//    marking over procs: the charge predicted for it is then the stops at
//    the mutator's rate and the marking at the share of the CPUs the
//    mutator would have used, as a pause on CPUs the mutator leaves idle
//    costs it nothing. (Charging the
//    stops procs × pause and predicting the whole GC CPU made the limiter
//    refuse limit-driven cycles of a paced program on the loaded 2-vCPU
//    VM, whose ten timed final-stop attempts cost 5-8 ms of stopping and
//    restarting each: tests/heap_memlimit_test's cgroup case then ran past
//    its hard limit, 229-402 MB of 192.) The wall-time rules count only
//    its predicted stops (predict_pause, limiter::admit_stops):
//    counting the whole "pause" as stopped, a cycle that followed one with
//    300 ms of marking was refused by the 250 ms rule though it would stop
//    the world for ~20-80 ms: in gcbench-limit gc-steady-2M the second
//    concurrent cycle was deferred until the heap was at 462 MiB, past its
//    438 MiB goal.
//  * Settings (set_gc_percent, set_memory_limit, set_procs) may change at any
//    time; the goal and trigger are recomputed from them at every check, so a
//    change takes effect at the next check, not the next cycle. non_heap is
//    likewise read at every check (DESIGN.md: "recompute it at every check").
//  * When the heap reaches the trigger, check() asks the limiter whether the
//    predicted pause fits the GC CPU budget. If not, the decision is
//    `deferred`: do not collect, keep allocating, check again later. The heap
//    then overshoots the goal (and possibly the soft limit) instead of GC
//    taking more than about half the CPU.
//
// What the limiter gates (tuning.gating): memory-limit-driven
// collections always (DESIGN.md); gc_percent-driven ones only while a memory
// limit is set. With a limit, the limiter is the limit's safety valve: a
// program near it whose gc_percent goal happens to be the smaller one (a
// low gc_percent, or live just under the limit) must not be able to push GC
// past about half the CPU through the gc_percent door, and the spiral is
// defined by the limiter being engaged whatever set the goal (as in Go,
// a very low gc_percent then acts as if it were higher, proposal 48409).
// Without a limit, gc_percent is the only bound the operator asked for, and
// deferring it only lets the heap grow past the gc_percent goal: measured
// with gating always on (loaded 2-vCPU VM, 2 procs, 3 runs interleaved with
// Go 1.19), binarytrees -depth 21 peaked at 298-362 MB RSS against Go's
// 334-351 MB, and 261-262 MB with gc_percent collections not deferred, at
// the same wall time (10.5-23 s vs 11.5-21.7 s; Go 28-55 s); gcbench did
// not move (305-319 MB vs 305 MB). A stop-the-world collector paced by
// gc_percent alone spends what the program's allocation costs, as Go's
// pacer does with GOGC set and no limit. Forced collections are never
// deferred.
//
// Pause prediction (for the limiter): each of the last 5 pauses scaled by
// the expected scan over what it scanned, and the largest of those
// (max-over-5 as trigger.hpp). Only a pause's work scales: where the pause's
// process CPU is measured, the work is min(wall, CPU) (parallel markers make
// CPU exceed wall; a collector descheduled by a busy machine makes wall
// exceed CPU) and the rest of the wall time, the stall, is added unscaled.
// A 34 ms pause of 1 ms CPU over 3 MiB (an ASan run on a loaded machine)
// scaled as a whole predicted 272 ms for 24 MiB and the limiter refused
// collections it had every budget for; as 1 ms of work and 33 ms of stall
// it predicts 41 ms. The limiter still accounts every pause at its real
// wall time, so a machine that keeps stalling pauses still meets the wall
// bound (limiter.hpp). The expected scan is live + roots + the last
// cycle's live growth, at most heap_alloc + roots. Marking is linear in what
// it scans (~300 ms/GiB with two markers, reference/boehm-probe.md §6), so
// this is close while the live heap moves slowly and errs long after a drop.
// A pause is scaled up at most 8x (three doublings of the live heap: three
// gc_percent = 100 cycles of growth). Small heaps' pauses are mostly fixed
// cost and scheduling noise, and scaled linearly they predicted absurd
// pauses: under AddressSanitizer on a loaded machine a 9 ms pause over 3 MiB
// predicted 255 ms for 116 MiB of pointer-free chunks (real pauses: 2 ms),
// the limiter refused, and tests/heap_pacer_e2e_test's heap grew 20 MiB past
// its limit.
//
// Protection: not thread-safe. The pacer belongs to the collection driver
// and every call is made under the driver's lock (or by its one thread).

#include <array>
#include <cstdint>

#include "pacer/heap_goal.hpp"
#include "pacer/limiter.hpp"
#include "pacer/pressure.hpp"
#include "pacer/trigger.hpp"

namespace goro::pacer {

/// The operator's knobs, as GOGC and GOMEMLIMIT.
struct pacer_settings {
  int gc_percent = 100;             ///< < 0: the ratio rule is off (GOGC=off)
  int64_t memory_limit = no_limit;  ///< soft limit in bytes; no_limit: none
};

/// Whether the GC CPU limiter may defer gc_percent-driven collections.
enum class gc_percent_gating : uint8_t {
  never,              ///< only limit-driven collections are deferred
  with_memory_limit,  ///< gc_percent-driven ones too, while a memory limit is set
  always,             ///< gc_percent-driven ones too, limit or not
};

/// Model parameters; defaults are the documented values.
struct pacer_tuning {
  limiter_tuning limiter;    ///< the GC CPU limiter
  pressure_tuning pressure;  ///< the classifier's thresholds
  /// Which gc_percent-driven collections the limiter may defer (limit-driven
  /// ones it always may); see "What the limiter gates" above.
  gc_percent_gating gating = gc_percent_gating::with_memory_limit;
};

/// What caused a collection (gctrace's trigger=).
enum class gc_reason : uint8_t {
  none,        ///< no collection wanted
  gc_percent,  ///< the heap reached a trigger set by gc_percent
  limit,       ///< the heap reached a trigger set by the memory limit
  forced,      ///< an explicit collection
};

/// "none", "gc_percent", "limit" or "forced".
const char* to_string(gc_reason r) noexcept;

/// One allocation check's observations.
struct check_sample {
  int64_t now_ns = 0;           ///< monotonic time
  memory_sample memory;         ///< heap and non-heap bytes now
  int64_t mutator_cpu_ns = -1;  ///< cumulative mutator CPU; -1: no new reading
};

/// The answer to a check.
struct decision {
  bool collect = false;                ///< start a collection now
  bool deferred = false;               ///< the trigger was reached but the limiter said wait
  gc_reason reason = gc_reason::none;  ///< which rule's trigger was reached
  uint64_t goal = no_goal;             ///< the heap goal now
  uint64_t trigger = no_goal;          ///< the trigger now
  int64_t predicted_pause_ns = 0;      ///< the pause the limiter was asked about
  int64_t predicted_stopped_ns = 0;    ///< of it, the world stopped (concurrent: the stops)
};

/// One finished collection's observations.
struct cycle_sample {
  int64_t start_ns = 0;                 ///< when the world stopped
  int64_t end_ns = 0;                   ///< when it restarted
  int64_t gc_cpu_outside_pause_ns = 0;  ///< GC CPU spent with the world running
  int64_t gc_cpu_in_pause_ns = -1;      ///< process CPU during the pause; -1: unknown
  int64_t mutator_cpu_ns = -1;          ///< cumulative mutator CPU at start_ns; -1: unknown
  int64_t stopped_ns = -1;              ///< a mostly-concurrent cycle: the world was stopped
                                        ///< this long in all inside [start_ns, end_ns);
                                        ///< -1: stopped throughout (stop-the-world)
  int64_t mutator_cpu_end_ns = -1;      ///< concurrent: cumulative mutator CPU at end_ns
                                        ///< (the mutator ran through it); -1: unknown
  uint64_t heap_before = 0;             ///< heap_alloc when the world stopped
  uint64_t live = 0;                    ///< bytes marked live
  uint64_t roots = 0;                   ///< root bytes scanned (frames, stacks, registered roots)
  memory_sample memory_after;           ///< memory right after the collection
  bool forced = false;                  ///< an explicit collection (not paced)
};

/// What the pacer concluded from a collection (gctrace, metrics, callbacks).
struct cycle_report {
  uint64_t cycle = 0;                  ///< 1-based collection number
  gc_reason reason = gc_reason::none;  ///< why it ran
  heap_goal goal;                      ///< the goal it collected for (at its decision)
  uint64_t trigger = no_goal;          ///< the trigger it crossed
  uint64_t heap_before = 0;            ///< heap when the world stopped
  uint64_t live = 0;                   ///< live after
  int64_t pause_ns = 0;                ///< end - start; a concurrent cycle's stops
  double gc_share = 0;                 ///< GC CPU / non-idle CPU since the previous collection
  bool limited = false;                ///< the limiter deferred it at least once
  heap_goal next_goal;                 ///< the goal for the next cycle (memory_after)
  uint64_t next_trigger = no_goal;     ///< the trigger for the next cycle
  cycle_facts facts;                   ///< what the classifier was fed
  pressure_change pressure;            ///< the classifier's transition, if any
};

class pacer {
 public:
  /// `procs`: GOMAXPROCS, the CPUs a pause takes (>= 1).
  explicit pacer(int procs, pacer_settings settings = {}, pacer_tuning tuning = {});

  /// Sets gc_percent (< 0: off, stored as -1, as Go); returns the previous value.
  int set_gc_percent(int percent) noexcept;
  /// The current gc_percent.
  int gc_percent() const noexcept { return settings_.gc_percent; }
  /// Sets the soft limit in bytes and returns the previous one; a negative
  /// argument only reads (debug.SetMemoryLimit(-1)). no_limit: none.
  int64_t set_memory_limit(int64_t bytes) noexcept;
  /// The current limit.
  int64_t memory_limit() const noexcept { return settings_.memory_limit; }
  /// Sets GOMAXPROCS (limiter capacity and pause cost scale with it).
  void set_procs(int procs) noexcept;
  /// Whether triggered collections are mostly-concurrent cycles
  /// (GORO_GC_MODE=concurrent): with a memory limit the trigger then also
  /// keeps the heap cap clear of what a cycle lets grow (trigger.hpp,
  /// cap_trigger). Off by default: stop-the-world pacing.
  void set_concurrent(bool on) noexcept { concurrent_ = on; }
  /// Whether the concurrent pacing is on.
  bool concurrent() const noexcept { return concurrent_; }
  /// The current procs.
  int procs() const noexcept { return limiter_.procs(); }

  /// Feeds cumulative mutator CPU at `now` (also done by check()).
  void observe_cpu(int64_t now_ns, int64_t mutator_cpu_ns) noexcept;
  /// The allocation check: recomputes goal and trigger and decides.
  decision check(const check_sample& s) noexcept;
  /// The heap cannot grow without passing the room the memory limit leaves
  /// (the driver's heap cap, see heap/pacer_policy.cpp): a limit-driven
  /// collection is due whatever the trigger says, if the limiter admits it.
  /// Without a limit, the same as check().
  decision check_heap_full(const check_sample& s) noexcept;
  /// The CPUs a pause starting at `now` would be charged at (see "What a
  /// pause costs"); procs until the driver measures pauses.
  double pause_charge_cpus(int64_t now) const noexcept;
  /// Reports a finished collection; updates live heap, models, classifier.
  cycle_report end_cycle(const cycle_sample& c) noexcept;

  /// The goal for `m` with the current settings and live heap (pure read).
  heap_goal goal_for(const memory_sample& m) const noexcept;
  /// The trigger for a goal computed by goal_for (the goal's trigger only,
  /// without the concurrent mode's cap trigger).
  uint64_t trigger_for(const heap_goal& g) const noexcept;
  /// The growth of memory expected during the next concurrent cycle with
  /// `heap_alloc` now (trigger.hpp, cycle_growth_estimator); 0 before any
  /// concurrent cycle was reported.
  uint64_t predicted_cycle_growth(uint64_t heap_alloc) const noexcept {
    return growth_.predict(expected_scan(heap_alloc));
  }
  /// The pause the next collection is expected to take, with `heap_alloc` now.
  int64_t predicted_pause_ns(uint64_t heap_alloc) const noexcept {
    return predict_pause(heap_alloc).pause_ns;
  }

  /// The goal computed by the last check (or end_cycle).
  const heap_goal& last_goal() const noexcept { return goal_; }
  /// The trigger computed by the last check (or end_cycle).
  uint64_t last_trigger() const noexcept { return trigger_; }
  /// Live bytes marked by the last collection.
  uint64_t live() const noexcept { return live_; }
  /// Root bytes scanned by the last collection.
  uint64_t roots() const noexcept { return roots_; }
  /// Collections reported so far.
  uint64_t cycles() const noexcept { return cycles_; }
  /// The classifier's current state.
  pressure_state state() const noexcept { return classifier_.state(); }
  /// Whether the limiter refused the last collection it was asked about.
  bool limiter_engaged() const noexcept { return limiter_.engaged(); }
  /// The GC CPU limiter (levels, totals, engagement counters).
  const limiter& gc_limiter() const noexcept { return limiter_; }
  /// The classifier (state, transition counter).
  const pressure_classifier& classifier() const noexcept { return classifier_; }
  /// The tuning in use.
  const pacer_tuning& tuning() const noexcept { return tuning_; }

 private:
  cycle_facts facts_for(const heap_goal& g, uint64_t live, double gc_share) const noexcept;
  /// What the next collection is expected to scan (see "Pause prediction").
  uint64_t expected_scan(uint64_t heap_alloc) const noexcept;
  /// Sets goal_ and trigger_ for `m`: the goal's trigger, lowered in the
  /// concurrent mode to the cap trigger (trigger.hpp); trigger_from_cap_
  /// says which set it.
  void retarget(const memory_sample& m) noexcept;
  decision decide(const check_sample& s, bool heap_full) noexcept;

  pacer_settings settings_;
  pacer_tuning tuning_;
  limiter limiter_;
  pressure_classifier classifier_;
  runway_estimator runway_;
  cycle_growth_estimator growth_;
  bool concurrent_ = false;
  bool trigger_from_cap_ = false;  // the cap trigger is below the goal's

  uint64_t live_ = 0, prev_live_ = 0, roots_ = 0;
  uint64_t cycles_ = 0;
  heap_goal goal_;
  uint64_t trigger_ = no_goal;

  // Pause model: the last 5 pauses as (work ns per scanned byte, bytes
  // scanned, stall): see "Pause prediction" above.
  struct pause_sample {
    double ns_per_byte = 0;  ///< the pause's work over the bytes it scanned
    uint64_t scanned = 0;
    int64_t stall_ns = 0;      ///< wall time beyond the work (not scaled)
    double stopped_share = 1;  ///< of the prediction, the part stopped (concurrent: < 1)
  };
  /// The pause the next collection is expected to take (the largest of the
  /// samples' predictions), and how much of it the world is expected to be
  /// stopped: all of it for a stop-the-world pause; for a mostly-concurrent
  /// cycle, its stops (each sample's prediction times its stopped share).
  /// The limiter's wall-time rules count only the stops
  /// (limiter::admit_stops).
  struct pause_prediction {
    int64_t pause_ns = 0;
    int64_t stopped_ns = 0;
  };
  pause_prediction predict_pause(uint64_t heap_alloc) const noexcept;
  std::array<pause_sample, 5> pause_samples_{};
  int pause_samples_next_ = 0;

  // CPU accounting.
  int64_t cpu_time_ = INT64_MIN;     // time of the last mutator reading
  int64_t mutator_total_ = -1;       // the last cumulative mutator reading
  int64_t mutator_since_cycle_ = 0;  // mutator CPU since the last collection
  int64_t last_end_ns_ = INT64_MIN;  // when the last collection ended
  double last_pause_cpus_ = -1;      // measured CPU rate of the last pause; -1: unknown

  // This cycle, between collections.
  bool limited_ = false;          // a check was deferred
  bool crossed_ = false;          // a check reached the trigger
  uint64_t cross_overshoot_ = 0;  // heap - trigger at the first such check
  bool admitted_ = false;         // a check said collect
  uint64_t admit_heap_ = 0;       // heap_alloc at that check
  uint64_t admit_total_ = 0;      // memory_sample::total() at that check
  int64_t admit_ns_ = 0;          // when that check ran
  uint64_t admit_trigger_ = no_goal;
  heap_goal admit_goal_;
  gc_reason admit_reason_ = gc_reason::none;
};

}  // namespace goro::pacer
