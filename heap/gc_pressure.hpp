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
// middle of a task's allocation, so a callback should be short (set a flag,
// signal a channel) and must not block.

#include <cstdint>
#include <functional>

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

using gc_pressure_callback = std::function<void(const gc_pressure_event&)>;

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
