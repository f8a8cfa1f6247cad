#pragma once
// pace_until: the one place where a fixed-rate workload (garbage, fanout)
// waits for a request's scheduled start time.
//
// goro has no timer yet, so this yields until the clock reaches `t`: the
// waiting task stays runnable and goes to the back of its worker's queue on
// every turn, so other tasks run first, but the worker never sleeps (the
// run's CPU time is then not the workload's alone). When goro::sleep_until
// lands, its body becomes `co_await goro::sleep_until(t);`.
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

inline goro::task<void> pace_until(steady::time_point t) {
  while (steady::now() < t) co_await goro::yield();
}

}  // namespace goro_peers
