#pragma once
// Clocks. nanotime() is the monotonic clock every layer uses for intervals;
// the pacer never reads it itself (it is fed times as observations).

#include <time.h>

#include <cstdint>

namespace goro {

/// Monotonic nanoseconds (CLOCK_MONOTONIC), comparable across threads.
inline int64_t nanotime() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

/// CPU time consumed by the calling thread, nanoseconds.
inline int64_t thread_cputime() noexcept {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

/// CPU time consumed by the whole process, nanoseconds.
inline int64_t process_cputime() noexcept {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace goro
