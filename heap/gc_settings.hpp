#pragma once
// The operator's knobs, as Go's debug.SetGCPercent and debug.SetMemoryLimit.
//
// Both are process-wide (the heap is), work before, during and after
// goro::run, and take effect at the next allocation check (within about
// 1 MiB of allocation on any thread), not at the next collection: the setter
// recomputes the goal and trigger at once. They configure the default
// collection policy (heap/pacer_policy.hpp); a policy installed with
// heap::set_collection_policy ignores them.
//
// Start-up: the heap reads GORO_GC=N|off and GORO_MEMLIMIT=<bytes>|off once,
// when it initialises (the first allocation or the first call of anything
// here). A malformed value ends the process with one line on stderr and exit
// code 2. A setter called before that point runs the initialisation first, so
// the setter's value wins over the environment, as in Go.

#include <cstdint>
#include <limits>

namespace goro {

/// set_memory_limit's "no limit" (Go's math.MaxInt64 default).
inline constexpr int64_t no_memory_limit = std::numeric_limits<int64_t>::max();

/// Sets gc_percent (GOGC) and returns the previous value. A negative value
/// turns the ratio trigger off (stored and returned as -1, as Go); with no
/// memory limit either, only explicit goro::gc() collects.
int set_gc_percent(int percent);

/// Sets the soft memory limit in bytes (GOMEMLIMIT) and returns the previous
/// one. A negative argument only reads. no_memory_limit means none. The limit
/// counts all runtime-managed memory (GC heap, coroutine frames, runtime
/// malloc, thread stacks) minus what was returned to the OS.
int64_t set_memory_limit(int64_t bytes);

}  // namespace goro
