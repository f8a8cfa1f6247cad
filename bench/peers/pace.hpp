#pragma once
// pace_until: the one place where a fixed-rate workload (garbage, fanout)
// waits for a request's scheduled start time.
//
// It sleeps on goro's timers (goro::sleep_until), as the Go versions call
// time.Sleep: the worker parks when nothing else is runnable, so the run's
// CPU time is the workload's.
//
// A request whose time has already passed starts at once and keeps its
// scheduled time: latencies are measured from the schedule, not from when
// the request got to run, so a stall shows up in every request it delayed
// (no coordinated omission).

#include <chrono>
#include <cstdint>

#include "goro.hpp"

namespace goro_peers {

using steady = std::chrono::steady_clock;

/// When request i of a schedule of `rate` per second is due, from its start
/// (exact in integers, without overflow for any rate and i below 2^63 / 1e9 * rate).
inline std::chrono::nanoseconds schedule_offset(int64_t i, int64_t rate) {
  return std::chrono::nanoseconds((i / rate) * 1'000'000'000 + (i % rate) * 1'000'000'000 / rate);
}

/// `co_await pace_until(t)`: returns at once if `t` has passed.
inline auto pace_until(steady::time_point t) noexcept {
  return goro::sleep_until(t);
}

}  // namespace goro_peers
