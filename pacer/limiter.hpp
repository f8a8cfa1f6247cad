#pragma once
// The GC CPU limiter: keeps collection from taking more than about half the
// CPU, letting the heap overshoot its goal (and the soft memory limit)
// instead. goro's answer to the death spiral (proposal 48409).
//
// Go's limiter (mgclimit.go, reference/go-pacer.md §2) is a leaky bucket of
// procs × 1 s that fills with GC CPU and drains with mutator CPU, floored at
// zero so idle time earns no credit; it is "on" exactly while the bucket is
// full and its action is to stop mark assists. goro keeps its accounting
// (GC CPU in, mutator CPU out, a stop-the-world pause of t counts procs × t,
// idle counts as neither, exactly 50% changes nothing) and changes three
// things, because the issue asks for GC CPU <= 55% in every 1 s window once
// engaged and engagement within 0.5 s of GC CPU passing 50%, and because
// goro's only lever is whether to *start* a stop-the-world collection:
//
//  1. Predictive admission, not "on while full". Go can turn assists off in
//     the middle of a cycle; goro cannot stop a pause once it has begun, and
//     a pause of p puts procs × p into the bucket at once. With Go's rule the
//     bucket drains a hair, the limiter turns off, the next pause overflows
//     it again, and a spiralling program collects back to back (GC CPU near
//     100%). So a collection predicted to pause for p is started only if the
//     bucket has room for procs × p.
//
//  2. The bucket holds the last W = 1 s only. Its level at time t is
//        level(t) = GC CPU - mutator CPU spent in [t - W, t)
//     (Go's fill without the floor, but contributions leak out after W). Go's
//     floor at zero forgets exactly the credit a 1 s window needs: with long
//     pauses it allows pause p, drain p, pause p, ..., which is 50% in the
//     long run but puts 0.6 s of GC in one 1 s window when p = 0.3 s (a
//     1 GiB live heap on two markers, reference/boehm-probe.md §6). Bounding
//     credit by age instead of by a floor keeps the no-idle-credit property:
//     idle adds nothing, an idle day builds nothing, and a busy second builds
//     at most procs × W of credit, which is gone a second later.
//
//  3. Capacity procs × 25 ms instead of procs × 1 s. The admission rule for
//     a pause predicted to last p, at time `now`, looks at the 1 s window
//     that ends when that pause ends:
//        GC[now+p-W, now) + procs*p - mutator[now+p-W, now) <= C.
//     The busiest 1 s window always ends where some pause ends (sliding a
//     window toward the end of the last pause it touches never lowers its GC
//     time), so if every pause was admitted this way, every window has
//     G - M <= C. With no idle G + M = procs × W, hence
//        GC share <= 1/2 + C / (2 procs W) = 51.25% for C = procs × 25 ms,
//     and with idle the share of wall-clock CPU is lower still. The 3.75
//     points up to 55% are the margin for a pause that runs longer than
//     predicted (37.5 ms per second per proc; the prediction is the largest
//     ns-per-scanned-byte of the last 5 cycles times the expected scan, see
//     pacer.hpp). Go's procs × 1 s cannot meet 0.5 s: the bucket fills at
//     (2g - 1) × procs per second when GC takes a share g, so it needs 1 s
//     at g = 100%, 2 s at 75%, 5 s at 60% (the peers measured Go engaging
//     1-2 s late at 74-88%). A floor-at-zero bucket small enough to fill in
//     0.5 s at every g > 50% does not exist either; measuring the window is
//     what makes the bound independent of g.
//     Engagement: when the trailing-second GC share passes 50% the level
//     passes 0, so the next collection the pacer wants is refused at once if
//     its predicted pause is >= 25 ms, and otherwise once the level reaches
//     C - procs × p, which takes roughly 25 ms / (2g - 1) at GC share g:
//     under 0.5 s for every g >= 52.5%. Below that the share cannot pass
//     51.25% anyway. "Engaged" means "the last collection the pacer wanted
//     was refused"; it ends at the first admitted one.
//
// A pause that cannot fit at all (p > C / procs with no credit in the
// window, e.g. after idle, or p >= W) would starve; it is admitted when its
// own window holds no other GC: no GC in [now - max(W - p, p), now). Such a
// window then holds this pause alone, the least any collector that collects
// at all can do; pauses longer than 0.55 s (about 1.8 GiB live on two
// markers) exceed 55% of their own second by themselves.
//
// A second, wall-clock bound. The pacer may charge a pause at fewer than
// procs CPUs (pacer.hpp, "What a pause costs": the mutator's own CPU rate,
// so that stopping a mutator that would have idled costs little). When the
// machine starves the process, that rate, and with it the charge, tends to
// zero while the pauses stay long: the CPU bucket above then admits pause
// after pause and the world is stopped 80% of the time (seen once in three
// gc-spiral runs on the loaded 2-vCPU machine, at a sixth of the normal
// allocation rate). So admission also asks the same question of wall time,
// as if every pause were charged procs and every running moment credited
// procs: in the 1 s window that ends when the predicted pause ends,
//        stopped - running <= C / procs,  i.e. stopped <= (W + C/procs) / 2,
// the 51.25% bound on the share of time the world is stopped, which is the
// share a peer's procs × pause / (procs × wall) reports. This bound only
// refuses, never admits more, so idle time still earns no credit in the
// CPU bucket; and a lone pause that cannot fit either bound is still
// admitted when its window holds no other GC.
//
// A short window too. The issue also asks for <= 55% in every 250 ms
// window once the limiter has been engaged a second. The 1 s rules allow
// two 100 ms pauses 50 ms apart (80% of that 250 ms) if the rest of the
// second is free. So admission applies the wall bound to Ws = 250 ms as
// well, with the slack scaled to it (C / procs × Ws / W, the same 51.25%),
// on wall time only (the CPU charge's credit logic is a 1 s affair), and
// the same lone-pause rule: a pause too long to fit 51.25% of Ws (> 128 ms:
// about 0.4 GiB live on two markers) runs when no other pause touches its
// own short window. Such pauses make their own 250 ms window exceed 55% by
// themselves; that part of the promise needs marking in pieces, which
// goro's stop-the-world collector does not do (DESIGN.md: Boehm's
// incremental mode breaks read() into GC memory). The lone rule of the
// 1 s window implies the short one's, so no pause is starved by it.
//
// Storage: W is cut into `bins` bins (100 x 10 ms); a CPU amount spread over
// an interval is split across the bins it overlaps, pro rata. The oldest,
// partly covered bin is counted pessimistically by admission (its GC fully,
// its mutator credit not at all). Queries are O(bins). Not thread-safe: the
// driver serialises calls (the pacer has one owner).

#include <cstdint>
#include <vector>

namespace goro::pacer {

/// Limiter parameters. The defaults are the values argued above; tests
/// shrink or disable them.
struct limiter_tuning {
  bool enabled = true;                        ///< false: admit every collection
  int64_t window_ns = 1'000'000'000;          ///< W: the issue's 1 s window
  int64_t capacity_per_proc_ns = 25'000'000;  ///< C / procs: 51.25% bound, see above
  int bins = 100;                             ///< resolution: W / bins = 10 ms
  int64_t short_window_ns = 250'000'000;      ///< Ws: the wall bound's short window; 0: off
};

/// GC and mutator CPU over some interval, and the wall time the world was
/// stopped in it.
struct cpu_totals {
  int64_t gc_ns = 0;       ///< GC CPU (a pause of t counts procs × t)
  int64_t mutator_ns = 0;  ///< mutator CPU; idle time is in neither field
  int64_t stopped_ns = 0;  ///< wall time inside pauses
};

class limiter {
 public:
  /// `procs` >= 1: the CPUs a pause takes from the mutator (GOMAXPROCS).
  explicit limiter(int procs, limiter_tuning tuning = {});

  /// Changes procs (capacity scales with it); history is kept.
  void set_procs(int procs) noexcept;
  /// Current procs.
  int procs() const noexcept { return procs_; }
  /// The parameters in use.
  const limiter_tuning& tuning() const noexcept { return tuning_; }
  /// C: procs × capacity_per_proc_ns.
  int64_t capacity() const noexcept;

  /// The mutator used `cpu_ns` of CPU spread over [from, to).
  void add_mutator(int64_t from, int64_t to, int64_t cpu_ns) noexcept;
  /// GC used `cpu_ns` of CPU spread over [from, to) (work outside a pause).
  void add_gc(int64_t from, int64_t to, int64_t cpu_ns) noexcept;
  /// The world was stopped over [start, end): procs × (end - start) of GC CPU.
  void add_pause(int64_t start, int64_t end) noexcept;
  /// The same, charged at `cpus` CPUs (0 < cpus <= procs) instead of procs:
  /// see pacer.hpp, "What a pause costs".
  void add_pause(int64_t start, int64_t end, double cpus) noexcept;
  /// Stops totalling `stopped_ns` at moments inside [from, to) (a
  /// mostly-concurrent cycle's first and final stops), charged at `cpus`
  /// CPUs: both the GC CPU and the stopped time are spread over the
  /// interval pro rata, as add_gc spreads its CPU.
  void add_stops(int64_t from, int64_t to, int64_t stopped_ns, double cpus) noexcept;

  /// Whether a collection starting at `now` and pausing `predicted_pause_ns`
  /// fits (see the rule above). Always true when disabled.
  /// `cpus` is the rate the pause will be charged at (default: procs).
  bool would_admit(int64_t now, int64_t predicted_pause_ns, double cpus = -1) const noexcept;
  /// The same for a collection that lasts `predicted_pause_ns` but stops the
  /// world for only `predicted_stopped_ns` of it (a mostly-concurrent cycle):
  /// the CPU rule charges the whole length at `cpus` as would_admit does,
  /// the wall-time rules count only the stops. would_admit is this with
  /// predicted_stopped_ns == predicted_pause_ns.
  bool would_admit_stops(int64_t now, int64_t predicted_pause_ns, int64_t predicted_stopped_ns,
                         double cpus = -1) const noexcept;
  /// would_admit, recording the answer as the engaged state: a refusal
  /// engages the limiter, an admission disengages it.
  bool admit(int64_t now, int64_t predicted_pause_ns, double cpus = -1) noexcept;
  /// would_admit_stops, recording the answer as admit does.
  bool admit_stops(int64_t now, int64_t predicted_pause_ns, int64_t predicted_stopped_ns,
                   double cpus = -1) noexcept;

  /// True from a refused admission until the next admitted one.
  bool engaged() const noexcept { return engaged_; }
  /// How many times the limiter went from disengaged to engaged.
  uint64_t engagements() const noexcept { return engagements_; }
  /// `now` of the most recent engagement; -1 if never.
  int64_t last_engaged_ns() const noexcept { return last_engaged_ns_; }

  /// GC and mutator CPU and stopped time in [from, to), partial bins pro rata.
  cpu_totals totals(int64_t from, int64_t to) const noexcept;
  /// The bucket level: GC minus mutator CPU over [now - W, now).
  int64_t level(int64_t now) const noexcept;
  /// GC share of non-idle CPU over [now - W, now); 0 when nothing ran.
  double gc_share(int64_t now) const noexcept;

  /// All GC CPU ever recorded (for gctrace's "#%" and metrics).
  int64_t total_gc_ns() const noexcept { return total_gc_ns_; }
  /// All mutator CPU ever recorded.
  int64_t total_mutator_ns() const noexcept { return total_mutator_ns_; }

 private:
  struct bin {
    int64_t index = INT64_MIN;  // which [index*width, (index+1)*width) it holds
    int64_t gc_ns = 0;
    int64_t mutator_ns = 0;
    int64_t stopped_ns = 0;  // wall time the world was stopped
  };
  enum class kind { gc, mutator, stopped };

  void add(int64_t from, int64_t to, int64_t amount_ns, kind k) noexcept;
  void put(int64_t index, int64_t amount_ns, kind k) noexcept;
  const bin* find(int64_t index) const noexcept;
  int64_t bin_of(int64_t t) const noexcept;
  cpu_totals sum(int64_t from, int64_t to, bool pessimistic) const noexcept;

  limiter_tuning tuning_;
  int procs_;
  int64_t width_;               // window_ns / bins
  std::vector<bin> ring_;       // bins + 2 slots: the window plus both partial ends
  int64_t newest_ = INT64_MIN;  // highest bin index written
  bool engaged_ = false;
  uint64_t engagements_ = 0;
  int64_t last_engaged_ns_ = -1;
  int64_t total_gc_ns_ = 0;
  int64_t total_mutator_ns_ = 0;
};

}  // namespace goro::pacer
