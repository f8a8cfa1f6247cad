#pragma once
// The pacer's verdict on memory pressure, for a service that wants to shed
// load: normal (gc_percent sets the goal), pressure (the memory limit sets
// the goal and collections keep up) or spiral (the limit sets the goal, the
// GC CPU limiter is engaged, and collections reclaim little). The criteria
// and the hysteresis are pacer/pressure.hpp's.
//
// Callbacks run on the thread that ran the collection, right after it, with
// no runtime lock held: they may allocate, subscribe, unsubscribe and call
// the setters in heap/gc_settings.hpp. That thread may be a worker in the
// middle of a task's allocation (or, in the concurrent mode, the background
// marker, whose next cycle waits for it), so a callback should be short
// (set a flag, signal a channel) and must not block.
//
// A callback and what it captures are visible to the collector (see
// gc_pressure_callback): capturing a GC pointer keeps its object alive.

#include <atomic>
#include <cstdint>
#include <functional>
#include <new>
#include <type_traits>
#include <utility>

#include "heap/detail/roots.hpp"
#include "pacer/pressure.hpp"

namespace goro {

/// normal, pressure or spiral (goro::pacer::to_string names them).
using gc_pressure_state = pacer::pressure_state;

/// One state transition.
struct gc_pressure_event {
  gc_pressure_state from = gc_pressure_state::normal;  ///< the state before
  gc_pressure_state to = gc_pressure_state::normal;    ///< the state now
  uint64_t cycle = 0;                                  ///< the collection that caused it (1-based)
  uint64_t transitions = 0;                            ///< transitions so far, this one included
};

/// A pressure callback: any callable taking a gc_pressure_event. The
/// callable (a lambda and its captures) is stored in memory the collector
/// scans, so a GC object a callback captures stays alive as long as the
/// callback is subscribed or held. (A std::function passed in is stored
/// whole, but a std::function keeps captures larger than two pointers in
/// ordinary heap memory, which is not scanned: pass the lambda itself.)
/// Copies share the stored callable.
class gc_pressure_callback {
 public:
  gc_pressure_callback() noexcept = default;
  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, gc_pressure_callback> &&
           std::is_invocable_v<std::decay_t<F>&, const gc_pressure_event&>)
      gc_pressure_callback(F&& f)  // NOLINT: implicit, as std::function's
      : box_(make_box<std::decay_t<F>>(std::forward<F>(f))) {}
  gc_pressure_callback(const gc_pressure_callback& o) noexcept : box_(o.box_) {
    if (box_) box_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  gc_pressure_callback(gc_pressure_callback&& o) noexcept : box_(std::exchange(o.box_, nullptr)) {}
  gc_pressure_callback& operator=(gc_pressure_callback o) noexcept {
    std::swap(box_, o.box_);
    return *this;
  }
  ~gc_pressure_callback() {
    if (box_ && box_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) box_->destroy(box_);
  }

  explicit operator bool() const noexcept { return box_ != nullptr; }
  void operator()(const gc_pressure_event& e) const { box_->call(box_, e); }

 private:
  struct box {
    std::atomic<long> refs{1};
    void (*call)(box*, const gc_pressure_event&);
    void (*destroy)(box*) noexcept;
  };
  template <class F>
  struct holder : box {
    F fn;
  };
  template <class F, class A>
  static box* make_box(A&& a) {
    static_assert(alignof(holder<F>) <= 16,
                  "goro::gc_pressure_callback: the callable needs more than 16-byte alignment");
    void* mem = heap::detail::root_alloc(sizeof(holder<F>));
    try {
      auto* h = ::new (mem) holder<F>{{}, F(std::forward<A>(a))};
      h->call = [](box* b, const gc_pressure_event& e) { static_cast<holder<F>*>(b)->fn(e); };
      h->destroy = [](box* b) noexcept {
        static_cast<holder<F>*>(b)->~holder<F>();
        heap::detail::root_free(b);
      };
      return h;
    } catch (...) {
      heap::detail::root_free(mem);
      throw;
    }
  }
  box* box_ = nullptr;
};

/// A subscription's id; 0 is never returned.
using gc_pressure_subscription = uint64_t;

/// Calls `cb` on every pressure state transition from now on; returns the id
/// to pass to remove_gc_pressure_callback. Thread-safe.
gc_pressure_subscription on_gc_pressure(gc_pressure_callback cb);

/// Ends a subscription; false if `id` was not subscribed. A call already
/// under way on another thread may still finish after this returns.
bool remove_gc_pressure_callback(gc_pressure_subscription id);

/// The current state (an atomic read).
gc_pressure_state gc_pressure() noexcept;

/// State transitions so far, in any direction (an atomic read).
uint64_t gc_pressure_transitions() noexcept;

}  // namespace goro
