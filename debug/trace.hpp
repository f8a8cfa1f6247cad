#pragma once
// Execution trace as Chrome trace-event JSON (Perfetto and chrome://tracing
// open it; ../shared/reference/formats.md section 4): a track per P with a
// slice per task run, named by the task's function and id; arrows from a
// spawn to the task's first run and from a wake-up to the run it caused;
// stop-the-world GC pauses as slices on every track and on a GC track;
// counters for the heap (managed bytes, goal, limit, live), the pressure
// state and the GC CPU limiter, sampled every 10 ms.
//
// Recording: each P appends fixed-size events to its own ring (written only
// by the M holding the P, no lock), TSC timestamps; events from outside a
// P and the counter samples go to a locked ring. A full ring overwrites its
// oldest events, so memory is bounded (events_per_p x 32 bytes per P) and a
// long trace keeps its most recent part. Off, the scheduler pays one relaxed
// load per run, spawn and wake-up (sched/detail/trace_hooks.hpp).
//
// GORO_TRACE=FILE traces the whole program: started before main and
// written to FILE at exit.

#include <cstddef>
#include <string>

namespace goro::debug {

/// Starts tracing. Throws std::logic_error when a trace is running and
/// std::invalid_argument when events_per_p is below 1024.
void start_trace(std::size_t events_per_p = 1 << 16);
/// Stops tracing and returns the trace as JSON. Throws std::logic_error
/// when none is running.
std::string stop_trace();
bool trace_running() noexcept;

}  // namespace goro::debug
