#include "pacer/pacer.hpp"

#include <algorithm>
#include <cmath>

namespace goro::pacer {

namespace {

// Nearest integer of a non-negative CPU or byte amount.
int64_t round_ns(double x) noexcept {
  return static_cast<int64_t>(std::llround(x));
}

}  // namespace

const char* to_string(gc_reason r) noexcept {
  switch (r) {
    case gc_reason::none:
      return "none";
    case gc_reason::gc_percent:
      return "gc_percent";
    case gc_reason::limit:
      return "limit";
    case gc_reason::forced:
      return "forced";
  }
  return "?";
}

pacer::pacer(int procs, pacer_settings settings, pacer_tuning tuning)
    : settings_(settings),
      tuning_(tuning),
      limiter_(procs, tuning.limiter),
      classifier_(tuning.pressure) {
  if (settings_.gc_percent < 0) settings_.gc_percent = -1;
  if (settings_.memory_limit < 0) settings_.memory_limit = 0;
  goal_ = goal_for({});
  trigger_ = trigger_for(goal_);
}

int pacer::set_gc_percent(int percent) noexcept {
  const int old = settings_.gc_percent;
  settings_.gc_percent = percent < 0 ? -1 : percent;
  return old;
}

int64_t pacer::set_memory_limit(int64_t bytes) noexcept {
  const int64_t old = settings_.memory_limit;
  if (bytes >= 0) settings_.memory_limit = bytes;
  return old;
}

void pacer::set_procs(int procs) noexcept {
  limiter_.set_procs(procs);
}

heap_goal pacer::goal_for(const memory_sample& m) const noexcept {
  return compute_goal(settings_.gc_percent, settings_.memory_limit, {live_, roots_, m});
}

uint64_t pacer::trigger_for(const heap_goal& g) const noexcept {
  return compute_trigger(live_, g.bytes, runway_.runway());
}

uint64_t pacer::expected_scan(uint64_t heap_alloc) const noexcept {
  // live + roots + the last cycle's live growth, at most heap_alloc + roots
  // ("Pause prediction").
  const uint64_t growth = live_ > prev_live_ ? live_ - prev_live_ : 0;
  const uint64_t live = std::min(live_ + growth, std::max(heap_alloc, live_));
  return live + roots_;
}

void pacer::retarget(const memory_sample& m) noexcept {
  goal_ = goal_for(m);
  trigger_ = trigger_for(goal_);
  trigger_from_cap_ = false;
  if (!concurrent_ || settings_.memory_limit == no_limit) return;
  const uint64_t t =
      cap_trigger(settings_.memory_limit, live_, m.non_heap, predicted_cycle_growth(m.heap_alloc));
  if (t < trigger_) {
    trigger_ = t;
    trigger_from_cap_ = true;
  }
}

pacer::pause_prediction pacer::predict_pause(uint64_t heap_alloc) const noexcept {
  // What the next collection is expected to scan ("Pause prediction").
  const double scan = static_cast<double>(expected_scan(heap_alloc));
  double longest = 0, longest_stopped = 0;
  for (const pause_sample& p : pause_samples_) {
    const double reach = std::min(scan, max_scan_scaling * static_cast<double>(p.scanned));
    const double pause = p.ns_per_byte * reach + static_cast<double>(p.stall_ns);
    longest = std::max(longest, pause);
    // stopped_share <= 1: never more than the pause.
    longest_stopped = std::max(longest_stopped, pause * p.stopped_share);
  }
  return {round_ns(longest), round_ns(longest_stopped)};
}

void pacer::observe_cpu(int64_t now_ns, int64_t mutator_cpu_ns) noexcept {
  if (mutator_cpu_ns < 0) return;
  if (mutator_total_ >= 0 && mutator_cpu_ns > mutator_total_) {
    const int64_t delta = mutator_cpu_ns - mutator_total_;
    const int64_t from = std::min(cpu_time_, now_ns);
    limiter_.add_mutator(from, now_ns, delta);
    mutator_since_cycle_ += delta;
  }
  // A reading that went backwards (another thread's older sample) is ignored
  // except to move time forward.
  mutator_total_ = std::max(mutator_total_, mutator_cpu_ns);
  cpu_time_ = std::max(cpu_time_, now_ns);
}

double pacer::pause_charge_cpus(int64_t now) const noexcept {
  const double procs = limiter_.procs();
  if (last_pause_cpus_ < 0) return procs;  // not measured: Go's rule
  double mutator_rate = 0;
  if (last_end_ns_ != INT64_MIN && now > last_end_ns_)
    mutator_rate =
        static_cast<double>(mutator_since_cycle_) / static_cast<double>(now - last_end_ns_);
  // Before any mutator history (the first collection), the measured rate.
  if (last_end_ns_ == INT64_MIN) return std::clamp(last_pause_cpus_, 0.0, procs);
  return std::clamp(mutator_rate, 0.0, procs);
}

decision pacer::check(const check_sample& s) noexcept {
  return decide(s, false);
}

decision pacer::check_heap_full(const check_sample& s) noexcept {
  return decide(s, settings_.memory_limit != no_limit);
}

decision pacer::decide(const check_sample& s, bool heap_full) noexcept {
  observe_cpu(s.now_ns, s.mutator_cpu_ns);
  retarget(s.memory);

  decision d;
  d.goal = goal_.bytes;
  d.trigger = trigger_;
  if (s.memory.heap_alloc < trigger_ && !heap_full) return d;

  d.reason = goal_.source == goal_source::limit || heap_full || trigger_from_cap_
                 ? gc_reason::limit
                 : gc_reason::gc_percent;
  if (!crossed_) {
    crossed_ = true;
    cross_overshoot_ = s.memory.heap_alloc > trigger_ ? s.memory.heap_alloc - trigger_ : 0;
  }
  const pause_prediction predicted = predict_pause(s.memory.heap_alloc);
  d.predicted_pause_ns = predicted.pause_ns;
  d.predicted_stopped_ns = predicted.stopped_ns;
  const bool gated = d.reason == gc_reason::limit || tuning_.gating == gc_percent_gating::always ||
                     (tuning_.gating == gc_percent_gating::with_memory_limit &&
                      settings_.memory_limit != no_limit);
  if (gated && !limiter_.admit_stops(s.now_ns, d.predicted_pause_ns, d.predicted_stopped_ns,
                                     pause_charge_cpus(s.now_ns))) {
    d.deferred = true;
    limited_ = true;
    return d;
  }
  d.collect = true;
  admitted_ = true;
  admit_heap_ = s.memory.heap_alloc;
  admit_total_ = s.memory.total();
  admit_ns_ = s.now_ns;
  admit_trigger_ = trigger_;
  admit_goal_ = goal_;
  admit_reason_ = d.reason;
  return d;
}

cycle_facts pacer::facts_for(const heap_goal& g, uint64_t live, double gc_share) const noexcept {
  cycle_facts f;
  f.limit_bound = g.source == goal_source::limit;
  f.gc_bound = g.limit_goal == no_goal ||
               (g.gc_percent_goal != no_goal &&
                static_cast<double>(g.gc_percent_goal) <
                    tuning_.pressure.gc_bound_ratio * static_cast<double>(g.limit_goal));
  f.limited = limited_;
  // Fill is measured against the goal the limit settles at, without the
  // overage term: overage comes from free heap pages still mapped (Boehm
  // unmaps over two collections) and from the heap overshooting while the
  // limiter deferred, so it squeezes the goal down to the live heap for a
  // cycle or two in any limit-bound program. Measured against that
  // squeezed goal, examples/fanout_service under GORO_MEMLIMIT=64MiB (live
  // 20-34 MiB) read fill = 1.0 and was called a spiral. The live heap
  // against what the limit leaves for the heap is the spiral's signature.
  uint64_t denom = g.bytes;
  if (f.limit_bound && g.limit_goal_settled != no_goal)
    denom = std::min(g.gc_percent_goal, std::max(g.limit_goal_settled, uint64_t{1}));
  f.fill =
      denom == no_goal || denom == 0 ? 0.0 : static_cast<double>(live) / static_cast<double>(denom);
  f.gc_share = gc_share;
  return f;
}

cycle_report pacer::end_cycle(const cycle_sample& c) noexcept {
  const int64_t end = std::max(c.end_ns, c.start_ns);
  observe_cpu(c.start_ns, c.mutator_cpu_ns);
  // The charge rate (see "What a pause costs"): mutator rate since the last
  // collection (observed up to start_ns) against the pause's measured rate.
  const double procs = limiter_.procs();
  const bool concurrent = c.stopped_ns >= 0;
  double cpus = procs;
  int64_t stopped = end - c.start_ns;
  if (concurrent) {
    // Its stops are charged as a pause is, the marking between them as
    // measured (see "A mostly-concurrent cycle" above).
    if (last_pause_cpus_ < 0) last_pause_cpus_ = procs;  // the first: Go's rule
    cpus = pause_charge_cpus(c.start_ns);
    stopped = std::min(c.stopped_ns, stopped);
    limiter_.add_stops(c.start_ns, end, stopped, cpus);
    observe_cpu(end, c.mutator_cpu_end_ns);
  } else {
    if (c.gc_cpu_in_pause_ns >= 0 && end > c.start_ns) {
      last_pause_cpus_ =
          static_cast<double>(c.gc_cpu_in_pause_ns) / static_cast<double>(end - c.start_ns);
      cpus = pause_charge_cpus(c.start_ns);
    }
    limiter_.add_pause(c.start_ns, end, cpus);
  }
  limiter_.add_gc(c.start_ns, end, c.gc_cpu_outside_pause_ns);
  cpu_time_ = std::max(cpu_time_, end);
  last_end_ns_ = end;

  cycle_report r;
  r.cycle = ++cycles_;
  r.pause_ns = stopped;
  r.heap_before = c.heap_before;
  r.live = c.live;
  r.limited = limited_;
  const int64_t gc_cpu = round_ns(cpus * static_cast<double>(r.pause_ns)) +
                         std::max<int64_t>(c.gc_cpu_outside_pause_ns, 0);
  r.gc_share =
      gc_cpu + mutator_since_cycle_ > 0
          ? static_cast<double>(gc_cpu) / static_cast<double>(gc_cpu + mutator_since_cycle_)
          : 0.0;
  if (c.forced || !admitted_) {
    r.reason = c.forced ? gc_reason::forced : gc_reason::none;
    r.goal = goal_;
    r.trigger = trigger_;
  } else {
    r.reason = admit_reason_;
    r.goal = admit_goal_;
    r.trigger = admit_trigger_;
    // The runway sample: how late the check fired past the trigger plus what
    // was allocated between the admitting check and the stop. Time spent
    // deferred by the limiter is not runway.
    const uint64_t stop_lag = c.heap_before > admit_heap_ ? c.heap_before - admit_heap_ : 0;
    runway_.observe(cross_overshoot_ + stop_lag);
    if (concurrent) {
      // The cap trigger's sample (trigger.hpp): from the admitting check
      // to the cycle's end, the larger of what was allocated and of how
      // much the memory the limit counts grew.
      const uint64_t total_after = c.memory_after.total();
      const uint64_t grown =
          std::max(stop_lag, total_after > admit_total_ ? total_after - admit_total_ : 0);
      growth_.observe(grown, end - admit_ns_, std::max(c.live + c.roots, heap_minimum));
    }
  }

  // Pause model: ns per scanned byte. A pause has a fixed part (stopping
  // and restarting the world, clearing marks: ~0.2 ms here) that dominates
  // near-empty heaps: 0.2 ms over 4 KiB of roots read as 50 ns/B, predicted
  // an 800 ms pause once 16 MiB were live and made the limiter refuse for a
  // second (tests/heap_pacer_e2e_test). Scanned bytes below heap_minimum
  // count as heap_minimum.
  // Only the work scales with the heap; the stall (wall time a stop spent
  // without a CPU) is kept as it was ("Pause prediction"). A concurrent
  // cycle's work: its stops plus its marking over procs (see above).
  const uint64_t scanned = std::max(c.live + c.roots, heap_minimum);
  const int64_t stop_work = !concurrent && c.gc_cpu_in_pause_ns >= 0
                                ? std::min(r.pause_ns, c.gc_cpu_in_pause_ns)
                                : r.pause_ns;
  const double work_ns =
      static_cast<double>(stop_work) +
      (concurrent ? static_cast<double>(std::max<int64_t>(c.gc_cpu_outside_pause_ns, 0)) / procs
                  : 0.0);
  if (work_ns > 0 || r.pause_ns > 0) {
    // A concurrent cycle is stopped for its stops only, not for its
    // marking: the limiter's wall-time rules count that share of the
    // prediction (limiter::admit_stops).
    const double whole = work_ns + static_cast<double>(r.pause_ns - stop_work);
    const double stopped_share =
        concurrent && whole > 0 ? std::min(1.0, static_cast<double>(r.pause_ns) / whole) : 1.0;
    pause_samples_[static_cast<size_t>(pause_samples_next_)] = {
        work_ns / static_cast<double>(scanned), scanned, r.pause_ns - stop_work, stopped_share};
    pause_samples_next_ = (pause_samples_next_ + 1) % static_cast<int>(pause_samples_.size());
  }

  r.facts = facts_for(r.goal, c.live, r.gc_share);
  r.pressure = classifier_.observe(r.facts);

  prev_live_ = live_;
  live_ = c.live;
  roots_ = c.roots;
  retarget(c.memory_after);
  r.next_goal = goal_;
  r.next_trigger = trigger_;

  limited_ = crossed_ = admitted_ = false;
  cross_overshoot_ = 0;
  mutator_since_cycle_ = 0;
  return r;
}

}  // namespace goro::pacer
