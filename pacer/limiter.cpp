#include "pacer/limiter.hpp"

#include <algorithm>
#include <cmath>

#include "core/fatal.hpp"

namespace goro::pacer {

namespace {

// Nearest integer of a non-negative CPU or byte amount.
int64_t round_ns(double x) noexcept {
  return static_cast<int64_t>(std::llround(x));
}

int64_t floor_div(int64_t a, int64_t b) noexcept {
  const int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

limiter::limiter(int procs, limiter_tuning tuning) : tuning_(tuning), procs_(std::max(procs, 1)) {
  if (tuning_.bins < 1 || tuning_.window_ns < tuning_.bins || tuning_.capacity_per_proc_ns < 0) {
    fatal("pacer limiter: bad tuning (bins < 1, window shorter than bins, or negative capacity)");
  }
  width_ = tuning_.window_ns / tuning_.bins;
  ring_.resize(static_cast<size_t>(tuning_.bins) + 2);
}

void limiter::set_procs(int procs) noexcept {
  procs_ = std::max(procs, 1);
}

int64_t limiter::capacity() const noexcept {
  return procs_ * tuning_.capacity_per_proc_ns;
}

int64_t limiter::bin_of(int64_t t) const noexcept {
  return floor_div(t, width_);
}

const limiter::bin* limiter::find(int64_t index) const noexcept {
  const auto n = static_cast<int64_t>(ring_.size());
  const bin& b = ring_[static_cast<size_t>(((index % n) + n) % n)];
  return b.index == index ? &b : nullptr;
}

void limiter::put(int64_t index, int64_t amount_ns, kind k) noexcept {
  if (amount_ns == 0) return;
  const auto n = static_cast<int64_t>(ring_.size());
  // Older than anything the ring still holds: it can no longer be in any
  // window the limiter will be asked about.
  if (newest_ != INT64_MIN && index <= newest_ - n) return;
  bin& b = ring_[static_cast<size_t>(((index % n) + n) % n)];
  if (b.index != index) {
    if (b.index > index) return;  // the slot already holds a newer bin
    b = bin{index, 0, 0, 0};
  }
  (k == kind::gc ? b.gc_ns : k == kind::mutator ? b.mutator_ns : b.stopped_ns) += amount_ns;
  newest_ = std::max(newest_, index);
}

void limiter::add(int64_t from, int64_t to, int64_t amount_ns, kind k) noexcept {
  if (amount_ns <= 0) return;
  if (k == kind::gc) total_gc_ns_ += amount_ns;
  if (k == kind::mutator) total_mutator_ns_ += amount_ns;
  if (to <= from) {
    put(bin_of(from), amount_ns, k);
    return;
  }
  // Only the part that can still fall in a window matters; the share of
  // amount that lands before it is dropped with it.
  const int64_t span = static_cast<int64_t>(ring_.size()) * width_;
  const int64_t start = std::max(from, to - span);
  const double per_ns = static_cast<double>(amount_ns) / static_cast<double>(to - from);
  int64_t left = start == from ? amount_ns : round_ns(per_ns * static_cast<double>(to - start));
  for (int64_t i = bin_of(start), last = bin_of(to - 1); i <= last; ++i) {
    int64_t piece = left;  // the last bin takes the remainder: totals stay exact
    if (i != last) {
      const int64_t overlap = std::min(to, (i + 1) * width_) - std::max(start, i * width_);
      piece = std::min(left, round_ns(per_ns * static_cast<double>(overlap)));
    }
    put(i, piece, k);
    left -= piece;
  }
}

void limiter::add_mutator(int64_t from, int64_t to, int64_t cpu_ns) noexcept {
  add(from, to, cpu_ns, kind::mutator);
}

void limiter::add_gc(int64_t from, int64_t to, int64_t cpu_ns) noexcept {
  add(from, to, cpu_ns, kind::gc);
}

void limiter::add_pause(int64_t start, int64_t end) noexcept {
  add_pause(start, end, static_cast<double>(procs_));
}

void limiter::add_pause(int64_t start, int64_t end, double cpus) noexcept {
  if (end <= start) return;
  cpus = std::clamp(cpus, 0.0, static_cast<double>(procs_));
  add(start, end, round_ns(cpus * static_cast<double>(end - start)), kind::gc);
  add(start, end, end - start, kind::stopped);
}

void limiter::add_stops(int64_t from, int64_t to, int64_t stopped_ns, double cpus) noexcept {
  if (stopped_ns <= 0) return;
  if (to > from) stopped_ns = std::min(stopped_ns, to - from);
  cpus = std::clamp(cpus, 0.0, static_cast<double>(procs_));
  add(from, to, round_ns(cpus * static_cast<double>(stopped_ns)), kind::gc);
  add(from, to, stopped_ns, kind::stopped);
}

cpu_totals limiter::sum(int64_t from, int64_t to, bool pessimistic) const noexcept {
  cpu_totals t;
  if (to <= from) return t;
  const int64_t first = bin_of(from);
  for (int64_t k = first, last = bin_of(to - 1); k <= last; ++k) {
    const bin* b = find(k);
    if (b == nullptr) continue;
    const int64_t lo = std::max(from, k * width_), hi = std::min(to, (k + 1) * width_);
    const bool whole = hi - lo == width_;
    if (pessimistic && !whole && k == first) {
      // The oldest partial bin: all its GC and stopped time, none of its credit.
      t.gc_ns += b->gc_ns;
      t.stopped_ns += b->stopped_ns;
    } else if (whole || pessimistic) {
      // A whole bin; or, pessimistic, the newest partial bin, which holds
      // only the past (nothing is recorded after `now`), so it counts whole.
      t.gc_ns += b->gc_ns;
      t.mutator_ns += b->mutator_ns;
      t.stopped_ns += b->stopped_ns;
    } else {
      const double f = static_cast<double>(hi - lo) / static_cast<double>(width_);
      t.gc_ns += round_ns(f * static_cast<double>(b->gc_ns));
      t.mutator_ns += round_ns(f * static_cast<double>(b->mutator_ns));
      t.stopped_ns += round_ns(f * static_cast<double>(b->stopped_ns));
    }
  }
  return t;
}

cpu_totals limiter::totals(int64_t from, int64_t to) const noexcept {
  return sum(from, to, false);
}

int64_t limiter::level(int64_t now) const noexcept {
  const cpu_totals t = totals(now - tuning_.window_ns, now);
  return t.gc_ns - t.mutator_ns;
}

double limiter::gc_share(int64_t now) const noexcept {
  const cpu_totals t = totals(now - tuning_.window_ns, now);
  const int64_t all = t.gc_ns + t.mutator_ns;
  return all > 0 ? static_cast<double>(t.gc_ns) / static_cast<double>(all) : 0.0;
}

bool limiter::would_admit(int64_t now, int64_t predicted_pause_ns, double cpus) const noexcept {
  return would_admit_stops(now, predicted_pause_ns, predicted_pause_ns, cpus);
}

bool limiter::would_admit_stops(int64_t now, int64_t predicted_pause_ns,
                                int64_t predicted_stopped_ns, double cpus) const noexcept {
  if (!tuning_.enabled) return true;
  const int64_t w = tuning_.window_ns;
  const int64_t p = std::clamp<int64_t>(predicted_pause_ns, 0, w);
  // The stops of a mostly-concurrent cycle; a stop-the-world pause is
  // stopped throughout (p).
  const int64_t st = std::clamp<int64_t>(predicted_stopped_ns, 0, p);
  const double rate = cpus < 0 ? procs_ : std::min(cpus, static_cast<double>(procs_));
  // The window that ends when the predicted pause ends: its past part.
  const cpu_totals past = sum(now + p - w, now, true);
  const bool cpu_fits =
      past.gc_ns + round_ns(rate * static_cast<double>(p)) - past.mutator_ns <= capacity();
  // The wall-clock bound (see the file comment): stopped - running <= C / procs.
  const int64_t stopped = past.stopped_ns + st;
  const bool wall_fits = 2 * stopped - w <= tuning_.capacity_per_proc_ns;
  // A pause that cannot fit: alone in its own window (see the file comment).
  const bool long_ok =
      (cpu_fits && wall_fits) || sum(now - std::max(w - p, p), now, true).gc_ns == 0;
  if (!long_ok) return false;
  // The short window, on wall time only, with the same lone-pause rule. A
  // concurrent cycle's stops are spread over its length, so its window
  // ends with it and holds its stops.
  const int64_t ws = std::min(tuning_.short_window_ns, w);
  if (ws <= 0) return true;
  const int64_t ps = std::min(p, ws);
  const int64_t ss = std::min(st, ps);
  const int64_t short_stopped = sum(now + ps - ws, now, true).stopped_ns + ss;
  const int64_t short_slack = tuning_.capacity_per_proc_ns * ws / w;
  return 2 * short_stopped - ws <= short_slack ||
         sum(now - std::max(ws - ss, ss), now, true).stopped_ns == 0;
}

bool limiter::admit_stops(int64_t now, int64_t predicted_pause_ns, int64_t predicted_stopped_ns,
                          double cpus) noexcept {
  const bool ok = would_admit_stops(now, predicted_pause_ns, predicted_stopped_ns, cpus);
  if (!ok && !engaged_) {
    ++engagements_;
    last_engaged_ns_ = now;
  }
  engaged_ = !ok;
  return ok;
}

bool limiter::admit(int64_t now, int64_t predicted_pause_ns, double cpus) noexcept {
  return admit_stops(now, predicted_pause_ns, predicted_pause_ns, cpus);
}

}  // namespace goro::pacer
