#pragma once
// GORO_DEBUG=gcstress=N: a collection every N events, counting every
// allocation from the collected heap and every task a worker schedules
// (heap/gc_stress.cpp). Not public API; the README documents the knob.

#include <atomic>
#include <cstdint>

namespace goro::heap::detail {

/// N, or 0 when gcstress is off. Set once at heap start-up.
inline std::atomic<uint32_t> g_gc_stress_every{0};

inline bool gc_stress_enabled() noexcept {
  return g_gc_stress_every.load(std::memory_order_relaxed) != 0;
}

/// Reads GORO_DEBUG's gcstress key (heap::init, before the first
/// allocation); dies with exit code 2 on a malformed value.
void read_gc_stress_environment();

/// Counts one event; every N-th runs a full collection on this thread.
void gc_stress_tick();

/// A point where a collection is safe and cheap to add (an allocation, a
/// schedule): one relaxed load when gcstress is off.
inline void gc_stress_point() {
  if (gc_stress_enabled()) [[unlikely]]
    gc_stress_tick();
}

}  // namespace goro::heap::detail
