#pragma once
// Execution trace as Chrome trace-event JSON (Perfetto and chrome://tracing
// open it; ../shared/reference/formats.md section 4): a track per P with a
// slice per task run, named by the task's function and id; a track per
// blocking-pool thread (and per pinned M that made a blocking call) with a
// slice per goro::blocking call; arrows from a spawn to the task's first
// run, from a wake-up to the run it caused, from a run that hands a
// blocking call off to the call's slice ("handoff") and from the call's end
// to the task's next run ("return"); stop-the-world GC pauses as slices on
// a GC track and on every P's track (where that P was stopped: from the end
// of its last run before the stop, or inside the run the stop interrupted);
// counters for the heap (managed bytes, goal, limit, live), the pressure
// state and the GC CPU limiter, sampled every 10 ms.
//
// Recording: each run on a P writes one fixed-size record (32 bytes) into
// its P's ring as it starts (written only by the M holding the P, no lock,
// no call, one TSC read, nothing after the run); a run ends where the P's
// next record starts: the next run, or a gap the P records where it stops
// running tasks (it waits for work, polls, runs timers). A spawn, wake-up
// or hand-off writes no event and reads no clock, but copies the identity
// of the run it was made in to the task it readies, whose next run (or
// blocking slice) records it: arrows join runs by identity, not by time.
// Blocking calls go to a locked ring, the counter samples and pauses to
// locked lists. A full ring overwrites its oldest records, so memory is
// bounded (events_per_p x 32 bytes per P, and events_per_p blocking
// calls) and a long trace keeps its most recent part. An arrow is
// drawn only when both of its slices are in the trace: not from a run that
// began before tracing started. A P's last run ends at the stop. Off, the
// scheduler pays nothing beyond the latency sample's tests
// (sched/detail/trace_hooks.hpp), a debug-word test where a P stops
// running tasks, and a blocking call one relaxed load.
//
// GORO_TRACE=FILE traces the whole program: started before main and
// written to FILE at exit.

#include <cstddef>
#include <string>

namespace goro::debug {

/// Starts tracing, with rings of events_per_p runs per P rounded up to a
/// power of two. Throws std::logic_error when a trace is running and
/// std::invalid_argument when events_per_p is below 1024.
void start_trace(std::size_t events_per_p = 1 << 16);
/// Stops tracing and returns the trace as JSON. Throws std::logic_error
/// when none is running.
std::string stop_trace();
bool trace_running() noexcept;

}  // namespace goro::debug
