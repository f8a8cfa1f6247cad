#pragma once
// Locating the process's cgroup and reading its limit files, for the
// defaults that follow the container: maxprocs from the CPU quota
// (sched/maxprocs.hpp) and the soft memory limit from the memory limit
// (heap/memory_limit_default.hpp).
//
// The process's cgroup for a controller comes from /proc/self/cgroup (a v1
// hierarchy whose controller list holds the controller wins over the v2
// "0::" line, as in Go) and its mount point from /proc/self/mountinfo. The
// walk goes from the process's cgroup up to the top of the mount, so a
// caller can take the tightest limit on the way (a parent's limit bounds
// every child; container managers often set it on a parent slice). The
// mount's root (mountinfo field 4) is stripped from the cgroup path, so a
// bind-mounted container cgroup resolves to the mount point itself; a path
// outside the mount's root cannot be reached. If the v1 hierarchy is listed
// but not mounted, v2 is tried. Nothing here throws for bad input: a
// cgroup that cannot be found gives no directories.
//
// Everything takes a root prefix for every path, so tests run against fake
// trees in a temp dir.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace goro::cgroup {

/// The inputs. Paths in `mountinfo` are absolute on the host; `root` is
/// prepended to each one, so root "/" reads the real tree and root "/tmp/x"
/// a fake one laid out below it.
struct sources {
  std::string proc_self_cgroup;  ///< text of /proc/self/cgroup
  std::string mountinfo;         ///< text of /proc/self/mountinfo
  std::filesystem::path root = "/";
};

/// Where a controller's limit files are.
struct location {
  std::vector<std::filesystem::path> dirs;  ///< leaf first, up to the mount point
  bool v2 = false;                          ///< cgroup v2 (else v1) file names apply
};

/// The directories of the process's cgroup for `controller` ("cpu",
/// "memory"); empty dirs when it cannot be found.
location locate(const sources& src, std::string_view controller);

/// Reads `root`/proc/self/cgroup and mountinfo and locates; empty dirs when
/// they cannot be read.
location locate(const std::filesystem::path& root, std::string_view controller);

/// A small file's contents, or nullopt if it cannot be read. `cap` bounds
/// the read so a wrong path (a huge file, a FIFO) cannot hurt.
std::optional<std::string> read_text(const std::filesystem::path& p, std::size_t cap);

/// Limit files hold a line of at most ~40 bytes (Go treats 64 as malformed).
inline constexpr std::size_t kLimitFileCap = 256;

/// Text helpers for limit files: whitespace trimmed; a whole-string decimal
/// int64 with an optional '-' (nullopt otherwise).
std::string_view trim(std::string_view s);
std::optional<int64_t> to_i64(std::string_view s);

}  // namespace goro::cgroup
