#pragma once
// The one word the scheduler's hot paths read for diagnostics: a coarse
// clock for tasks' wait times and the switches of the block/mutex profiles
// and the execution tracer. One relaxed load per park and per run covers
// all three (read-mostly: sysmon writes it once a second, the profilers
// when they start or stop).

#include <atomic>
#include <cstdint>

namespace goro::detail {

// Layout: the coarse seconds in bits 8-30, the block-timing switch in bit
// 31, the tracing switch in bit 5, bits 0-3 zero. Bits 0-3 are where a
// task's wait word (wait_reason.hpp) puts its wait reason, so a parking task
// makes its wait word as `word | reason`: one OR, whose result's sign is the
// block-timing switch, so the park path tests it with no instruction of its
// own (a `js` on the OR's flags). The seconds need no shift, and the
// switches carried along are ignored by readers.
inline constexpr uint32_t kCoarseSecondsShift = 8;
inline constexpr uint32_t kCoarseSecondsMask = (uint32_t{1} << 23) - 1;  // wraps after 97 days
inline constexpr uint32_t kBlockTimingBit = uint32_t{1} << 31;  // sched/detail/block_timing.hpp
inline constexpr uint32_t kTracingBit = uint32_t{1} << 5;       // sched/detail/trace_hooks.hpp
inline constexpr uint32_t kWaitReasonBits = 0xf;                // zero in the debug word

inline constinit std::atomic<uint32_t> g_debug_word{0};

/// Seconds since the runtime started, modulo 2^23 (sysmon's tick).
inline uint32_t coarse_seconds() noexcept {
  return (g_debug_word.load(std::memory_order_relaxed) >> kCoarseSecondsShift) & kCoarseSecondsMask;
}

/// Replaces the coarse seconds with `f(seconds)`, leaving the switches as
/// they are: a compare-and-swap, so that the seconds wrap inside their field
/// instead of carrying into the block-timing switch above it.
template <class F>
inline void update_coarse_seconds(F f) noexcept {
  constexpr uint32_t kField = kCoarseSecondsMask << kCoarseSecondsShift;
  uint32_t w = g_debug_word.load(std::memory_order_relaxed);
  while (!g_debug_word.compare_exchange_weak(
      w,
      (w & ~kField) | ((f((w >> kCoarseSecondsShift) & kCoarseSecondsMask) & kCoarseSecondsMask)
                       << kCoarseSecondsShift),
      std::memory_order_relaxed)) {
  }
}

inline void set_coarse_seconds(uint32_t s) noexcept {
  update_coarse_seconds([s](uint32_t) { return s; });
}

/// Moves the coarse clock on by `d` seconds (sysmon, once a second, by the
/// seconds that passed). Relative to the word's current seconds, not a
/// store of the time since start: a test that moved the clock on keeps its
/// move.
inline void advance_coarse_seconds(uint32_t d) noexcept {
  update_coarse_seconds([d](uint32_t s) { return s + d; });
}

inline void set_debug_bit(uint32_t bit, bool on) noexcept {
  if (on) {
    g_debug_word.fetch_or(bit, std::memory_order_seq_cst);
  } else {
    g_debug_word.fetch_and(~bit, std::memory_order_seq_cst);
  }
}

}  // namespace goro::detail
