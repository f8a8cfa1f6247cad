#pragma once
// The one word the scheduler's hot paths read for diagnostics: a coarse
// clock for tasks' wait times and the switches of the block/mutex profiles
// and the execution tracer. One relaxed load per park and per run covers
// all three (read-mostly: sysmon writes it once a second, the profilers
// when they start or stop).

#include <atomic>
#include <cstdint>

namespace goro::detail {

inline constexpr uint32_t kCoarseSecondsMask = (uint32_t{1} << 24) - 1;  // wraps after 194 days
inline constexpr uint32_t kBlockTimingBit = uint32_t{1} << 24;  // sched/detail/block_timing.hpp
inline constexpr uint32_t kTracingBit = uint32_t{1} << 25;      // sched/detail/trace_hooks.hpp

inline constinit std::atomic<uint32_t> g_debug_word{0};

/// Seconds since the runtime started, modulo 2^24 (sysmon's tick; only
/// differences mean anything: a test may move it on).
inline uint32_t coarse_seconds() noexcept {
  return g_debug_word.load(std::memory_order_relaxed) & kCoarseSecondsMask;
}

inline void set_coarse_seconds(uint32_t s) noexcept {
  uint32_t w = g_debug_word.load(std::memory_order_relaxed);
  while (!g_debug_word.compare_exchange_weak(
      w, (w & ~kCoarseSecondsMask) | (s & kCoarseSecondsMask), std::memory_order_relaxed)) {
  }
}

/// Moves the coarse clock on by `d` seconds (sysmon's tick).
inline void advance_coarse_seconds(uint32_t d) noexcept {
  uint32_t w = g_debug_word.load(std::memory_order_relaxed);
  while (!g_debug_word.compare_exchange_weak(
      w, (w & ~kCoarseSecondsMask) | ((w + d) & kCoarseSecondsMask), std::memory_order_relaxed)) {
  }
}

inline void set_debug_bit(uint32_t bit, bool on) noexcept {
  if (on) {
    g_debug_word.fetch_or(bit, std::memory_order_seq_cst);
  } else {
    g_debug_word.fetch_and(~bit, std::memory_order_seq_cst);
  }
}

}  // namespace goro::detail
