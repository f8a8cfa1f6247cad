#pragma once
// The CPU limit behind the default maxprocs: affinity mask, cgroup CPU quota
// and GORO_MAXPROCS.
//
// What Go does (1.25, src/internal/runtime/cgroup/cgroup_linux.go and
// defaultGOMAXPROCS in src/runtime/proc.go):
//   GOMAXPROCS = min(CPUs in the sched_getaffinity mask,
//                    max(2, ceil(cgroup quota / period)))
// where the cgroup term applies only when a limit exists. The process's CPU
// cgroup comes from /proc/self/cgroup (a v1 hierarchy whose controller list
// holds "cpu" wins over the v2 "0::" line) and its mount point from
// /proc/self/mountinfo; the limit file is v1 cpu.cfs_quota_us (-1 = none) /
// cpu.cfs_period_us, or v2 cpu.max ("max PERIOD" = none). Any error means "no
// limit". Go reads the leaf cgroup only and joins the mount point with the
// /proc/self/cgroup path as is. A positive GOMAXPROCS env var wins outright.
//
// What goro does differently, and why:
//   - It walks from the process's cgroup up to the top of the mount and takes
//     the tightest limit on the way: a parent's quota bounds every child (the
//     kernel enforces it hierarchically), and container managers often put the
//     limit on a parent slice (Go's own code lists this as a known gap).
//   - It strips the mount's root (mountinfo field 4) from the cgroup path, so a
//     bind-mounted container cgroup (root "/docker/<id>", path "/docker/<id>")
//     resolves to the mount point itself, as in Docker on cgroup v1 without a
//     cgroup namespace. A path outside the mount's root cannot be reached:
//     no limit.
//   - If the v1 cpu hierarchy is listed but not mounted, it falls back to v2.
//   - A malformed limit file at one level is ignored (that level gives no
//     limit); the other levels still count. Nothing here throws or dies.
//   - The result is also capped at kMaxProcs.
// Rounding up and the floor of 2 follow Go ("A limit less than 2 is rounded up
// to 2, and any fractional component is rounded up"); a 250m limit gives 2,
// 8500m gives 9. The min with the affinity count is taken last, so a one-CPU
// mask still gives 1.
//
// Everything takes its inputs as parameters (the cgroup texts, a root prefix
// for every path) so tests run against fake trees in a temp dir.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "core/cpu_count.hpp"

namespace goro::detail {

/// The largest maxprocs goro accepts from anywhere (GORO_MAXPROCS, the
/// default, set_max_procs, runtime_options), and the size of
/// scheduler::all_p. Matches Go's historical _MaxGomaxprocs (1 << 10);
/// picked as a sane bound on per-P state, not a hardware limit.
inline constexpr int kMaxProcs = 1024;

/// The inputs of cgroup_cpu_limit. Paths in `mountinfo` are absolute on the
/// host; `root` is prepended to each one, so root "/" reads the real tree and
/// root "/tmp/x" reads a fake one laid out below it.
struct cgroup_sources {
  std::string proc_self_cgroup;  ///< text of /proc/self/cgroup
  std::string mountinfo;         ///< text of /proc/self/mountinfo
  std::filesystem::path root = "/";
};

/// The process's CPU limit in CPUs (quota / period, e.g. 1.5), the tightest
/// along the path from its cgroup up to the top of the cgroup mount; nullopt
/// when no level has a limit or the cgroup cannot be found or read.
std::optional<double> cgroup_cpu_limit(const cgroup_sources& src);

/// As above, reading `root`/proc/self/cgroup and `root`/proc/self/mountinfo.
std::optional<double> cgroup_cpu_limit(const std::filesystem::path& root = "/");

/// One limit file's value in CPUs: nullopt for "no limit" and for malformed
/// text. Exposed for tests.
std::optional<double> parse_cpu_max(std::string_view text);                        // v2 cpu.max
std::optional<double> parse_cfs(std::string_view quota, std::string_view period);  // v1

/// Go 1.25's rule: min(affinity_cpus, max(2, ceil(limit))) with a limit,
/// else affinity_cpus; always in [1, kMaxProcs].
int default_max_procs(int affinity_cpus, std::optional<double> limit);

/// default_max_procs(affinity_cpu_count(), cgroup_cpu_limit(cgroup_root)).
/// Re-reads both each call (cheap: a few small files).
int default_max_procs(const std::filesystem::path& cgroup_root = "/");

/// GORO_MAXPROCS's value form: an integer in [1, kMaxProcs]. Throws
/// goro::config_error naming the variable, the value and the accepted form.
int parse_max_procs(std::string_view text);

/// GORO_MAXPROCS from the environment: nullopt when unset or empty, else
/// parse_max_procs of it (which may throw goro::config_error).
std::optional<int> max_procs_from_env();

}  // namespace goro::detail
