#pragma once
// CPU profiling (Go's runtime/pprof StartCPUProfile / StopCPUProfile,
// /debug/pprof/profile): SIGPROF at `hz` per CPU-second of the process
// (setitimer ITIMER_PROF, Go's mechanism before 1.18), each sample the
// interrupted thread's stack (from the interrupted function out, the
// handler's frames left out) and the goro task it was running (pprof labels
// "task_id" and "task_created_by"). The samples go to a
// bounded buffer (16384 samples: 80 s of two busy CPUs at 100 Hz; later
// samples are counted as lost, as Go's profBuf overflows), and are
// symbolized with libdw when the profile stops.

#include <string>

namespace goro::debug {

/// Starts profiling. Throws std::invalid_argument for hz outside 1..1000
/// and std::logic_error when a profile is already running.
void start_cpu_profile(int hz = 100);

/// Stops profiling and returns the profile as gzip'd profile.proto
/// (sample types samples/count and cpu/nanoseconds, as Go's). Throws
/// std::logic_error when no profile is running.
std::string stop_cpu_profile();

/// Whether a CPU profile is being taken.
bool cpu_profile_running() noexcept;

}  // namespace goro::debug
