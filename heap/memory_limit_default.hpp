#pragma once
// The soft memory limit's default from the container: when GORO_MEMLIMIT is
// unset and no limit was set from code, goro reads the cgroup memory limit
// and sets the soft limit to a share of it (what Go users add
// KimMachineGun/automemlimit for; Go itself does not read memory.max).
//
//   - The hard limit is the tightest of v2 memory.max ("max": none) or v1
//     memory.limit_in_bytes (the kernel's "unlimited" is a huge value, near
//     2^63) from the process's cgroup up to the top of the mount, found as
//     maxprocs finds the CPU quota (core/cgroup.hpp).
//   - The soft limit is soft_limit_for(hard): 90% of it (automemlimit's
//     default ratio and the gc-guide's "5-10% of headroom"), and at least
//     kUncountedReserve below it, for what goro's limit does not count and
//     the cgroup does: the program's mapped binaries and shared libraries,
//     Boehm's marker threads' stacks, kernel memory charged to the cgroup
//     (page tables, socket buffers) and page cache. Measured: README
//     "Memory limit from the cgroup".
//   - It is re-read once a second by the scheduler's monitor thread, as the
//     CPU quota is; a changed hard limit moves the soft limit at once.
//   - GORO_MEMLIMIT=off turns the default off, an explicit GORO_MEMLIMIT or
//     set_memory_limit wins (and stops the re-reading for good).
// gctrace prints the source after the limit ("512 MB limit (cgroup)") and
// the catalog has /gc/gomemlimit/source:source and
// /gc/gomemlimit/cgroup:bytes.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

#include "core/cgroup.hpp"

namespace goro::heap {

/// Where the soft memory limit in force came from.
enum class memory_limit_source : uint8_t {
  none = 0,    ///< no limit: the default with no cgroup limit
  env = 1,     ///< GORO_MEMLIMIT (a value or off)
  code = 2,    ///< set_memory_limit
  cgroup = 3,  ///< soft_limit_for(the cgroup memory limit)
};
const char* to_string(memory_limit_source s) noexcept;

/// The room kept below the hard limit at least: 16 MiB. See the file
/// comment and the README for the measurement behind it.
inline constexpr uint64_t kUncountedReserve = uint64_t{16} << 20;

/// min(90% of hard, hard - kUncountedReserve), but never below half of hard.
int64_t soft_limit_for(uint64_t hard) noexcept;

/// One limit file: v2 memory.max, v1 memory.limit_in_bytes. nullopt for "no
/// limit" (v2 "max", v1 values of 2^62 and above) and malformed text.
std::optional<uint64_t> parse_memory_max(std::string_view text);
std::optional<uint64_t> parse_limit_in_bytes(std::string_view text);

/// The process's cgroup memory limit in bytes (tightest up the hierarchy),
/// nullopt when there is none or it cannot be read.
std::optional<uint64_t> cgroup_memory_limit(const cgroup::sources& src);
std::optional<uint64_t> cgroup_memory_limit(const std::filesystem::path& root = "/");

/// The source of the limit in force and the cgroup limit seen at the last
/// read (0: none).
memory_limit_source memory_limit_source_now() noexcept;
uint64_t cgroup_memory_limit_seen() noexcept;

/// Re-reads the cgroup (below `root`) and applies its soft limit unless
/// the limit came from GORO_MEMLIMIT or code; returns the source in force.
/// The monitor thread calls it once a second; tests call it with a fake
/// root.
memory_limit_source refresh_memory_limit_default(const std::filesystem::path& root = "/");

}  // namespace goro::heap
