#pragma once
// Returning free heap memory to the OS when the program goes quiet (Go's
// background scavenger, reduced to what Boehm allows). See
// heap/background_release.cpp for the rule and why it is shaped so.
//
// The runtime's monitor thread (sched/sysmon.cpp) calls background_release
// about once a second; the heap layer keeps all the state, so the scheduler
// only needs the clock.

#include <cstdint>

namespace goro::heap {

/// One look at the heap, at time `now_ns` (core/clock.hpp's nanotime). If
/// the program has allocated less than 1 MiB and run no collection for the
/// quiet period, and enough of the mapped heap is free, runs up to three
/// collections that unmap free blocks (from the calling thread, registered
/// with the collector for the duration) and returns the bytes they
/// released; otherwise returns 0 at once. After releasing it stays quiet
/// until the program allocates or collects again, so an idle program is
/// collected a bounded number of times, not once a second forever.
/// Thread-safe; calls that overlap return 0.
uint64_t background_release(int64_t now_ns);

/// How long the heap must be quiet before a release, nanoseconds.
inline constexpr int64_t kReleaseQuietNs = 2'000'000'000;

}  // namespace goro::heap
