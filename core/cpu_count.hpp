#pragma once
// How many CPUs this process may run on: the one count every layer uses (the
// scheduler's default maxprocs, the GC CPU limiter's procs before goro::run).

namespace goro::detail {

/// CPUs in the calling thread's affinity mask (Go's getproccount), at least
/// 1. Handles masks wider than 1024 CPUs (CPU_SETSIZE).
int affinity_cpu_count();

/// affinity_cpu_count() as it was at process start (Go's runtime.NumCPU).
int num_cpu();

}  // namespace goro::detail
