#pragma once
// Heap profiles (Go's /debug/pprof/heap and /debug/pprof/allocs): sampled
// allocations of the collected heap (heap/alloc_sample.hpp says where and
// how they are sampled) by allocating stack, with Go's four sample types
// alloc_objects/count, alloc_space/bytes, inuse_objects/count and
// inuse_space/bytes, unsampled as Go does.
//
// In use. Each sampled object gets a Boehm disappearing link (no finalizer:
// the object is reclaimed in the same cycle as without it) in a malloc'd
// record the collector does not scan; a record whose link the collector
// cleared is folded into its stack's cumulative alloc_* totals and freed
// when a profile is written. Cost: one link per sample (Boehm processes
// the links in each collection: a few ns each) and one record (~100 bytes
// plus the stack) per live sampled object; at the default rate, one per
// 512 KiB allocated.
//
// On by default at Go's MemProfileRate (512 KiB) in any program that links
// goro::debug; set_memory_profile_rate(0) turns it off.

#include <cstdint>
#include <string>

namespace goro::debug {

/// Go's runtime.MemProfileRate: the mean bytes between samples (0: off).
/// Returns the previous rate. Throws std::invalid_argument below 0.
int64_t set_memory_profile_rate(int64_t bytes);

/// gzip'd profile.proto, default sample type inuse_space (/debug/pprof/heap).
std::string heap_profile();
/// The same data with default sample type alloc_space (/debug/pprof/allocs).
std::string allocs_profile();

/// Go's default MemProfileRate.
inline constexpr int64_t kDefaultMemProfileRate = 512 * 1024;

}  // namespace goro::debug
