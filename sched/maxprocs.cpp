#include "sched/maxprocs.hpp"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <thread>
#include <vector>

#include "core/cgroup.hpp"
#include "core/env.hpp"

namespace goro::detail {
namespace {

using cgroup::kLimitFileCap;
using cgroup::read_text;
using cgroup::to_i64;
using cgroup::trim;

std::optional<double> read_v2_limit(const std::filesystem::path& dir) {
  auto t = read_text(dir / "cpu.max", kLimitFileCap);
  return t ? parse_cpu_max(*t) : std::nullopt;
}

std::optional<double> read_v1_limit(const std::filesystem::path& dir) {
  auto q = read_text(dir / "cpu.cfs_quota_us", kLimitFileCap);
  if (!q) return std::nullopt;
  auto p = read_text(dir / "cpu.cfs_period_us", kLimitFileCap);
  return parse_cfs(*q, p ? std::string_view(*p) : std::string_view());
}

std::optional<double> tightest(const std::vector<std::filesystem::path>& dirs, bool v2) {
  std::optional<double> best;
  for (const auto& d : dirs) {
    std::optional<double> l = v2 ? read_v2_limit(d) : read_v1_limit(d);
    if (l && (!best || *l < *best)) best = l;
  }
  return best;
}

}  // namespace

// ---- limit files ------------------------------------------------------------

// "QUOTA PERIOD\n" in microseconds; QUOTA "max" means no limit. The kernel
// prints "max 100000" for no limit; a bare "max" is accepted too.
std::optional<double> parse_cpu_max(std::string_view text) {
  std::string_view t = trim(text);
  size_t sp = t.find(' ');
  std::string_view q = t.substr(0, sp);
  if (q == "max") return std::nullopt;
  if (sp == std::string_view::npos) return std::nullopt;  // malformed
  auto quota = to_i64(q);
  auto period = to_i64(trim(t.substr(sp + 1)));
  if (!quota || !period || *quota <= 0 || *period <= 0) return std::nullopt;
  return static_cast<double>(*quota) / static_cast<double>(*period);
}

// cpu.cfs_quota_us is -1 for no limit (any negative, as in Go); the kernel
// never shows 0 and refuses quotas under 1 ms, so 0 counts as malformed.
std::optional<double> parse_cfs(std::string_view quota, std::string_view period) {
  auto q = to_i64(trim(quota));
  if (!q || *q <= 0) return std::nullopt;
  auto p = to_i64(trim(period));
  if (!p || *p <= 0) return std::nullopt;
  return static_cast<double>(*q) / static_cast<double>(*p);
}

// ---- the cgroup limit -------------------------------------------------------

std::optional<double> cgroup_cpu_limit(const cgroup_sources& src) {
  const cgroup::location loc =
      cgroup::locate(cgroup::sources{src.proc_self_cgroup, src.mountinfo, src.root}, "cpu");
  if (loc.dirs.empty()) return std::nullopt;
  return tightest(loc.dirs, loc.v2);
}

std::optional<double> cgroup_cpu_limit(const std::filesystem::path& root) {
  const cgroup::location loc = cgroup::locate(root, "cpu");
  if (loc.dirs.empty()) return std::nullopt;
  return tightest(loc.dirs, loc.v2);
}

// ---- CPUs and the default ---------------------------------------------------

int affinity_cpu_count() {
  // Start at glibc's fixed cpu_set_t size and double while the kernel says
  // the mask is too small (EINVAL), as glibc's nproc does.
  for (int n = CPU_SETSIZE; n <= (1 << 22); n *= 2) {
    cpu_set_t* set = CPU_ALLOC(n);
    if (set == nullptr) break;
    size_t size = CPU_ALLOC_SIZE(n);
    CPU_ZERO_S(size, set);
    int rc = sched_getaffinity(0, size, set);
    int err = errno;
    int count = rc == 0 ? CPU_COUNT_S(size, set) : 0;
    CPU_FREE(set);
    if (rc == 0) return std::max(count, 1);
    if (err != EINVAL) break;
  }
  return static_cast<int>(std::max(std::thread::hardware_concurrency(), 1u));
}

int num_cpu() {
  static const int n = affinity_cpu_count();
  return n;
}

namespace {
// Take the snapshot while the process starts, before anyone can change the
// mask, rather than at the first call.
[[maybe_unused]] const int g_num_cpu_at_start = num_cpu();
}  // namespace

int default_max_procs(int affinity_cpus, std::optional<double> limit) {
  int procs = std::clamp(affinity_cpus, 1, kMaxProcsLimit);
  if (limit && std::isfinite(*limit) && *limit > 0) {
    // "A limit less than 2 is rounded up to 2, and any fractional component
    // is rounded up." (Go 1.25, defaultGOMAXPROCS). Compare in double so a
    // huge quota cannot overflow an int.
    double l = std::max(2.0, std::ceil(*limit));
    if (l < procs) procs = static_cast<int>(l);
  }
  return procs;
}

int default_max_procs(const std::filesystem::path& cgroup_root) {
  return default_max_procs(affinity_cpu_count(), cgroup_cpu_limit(cgroup_root));
}

// ---- GORO_MAXPROCS ----------------------------------------------------------

int parse_max_procs(std::string_view text) {
  return static_cast<int>(env::parse_int("GORO_MAXPROCS", text, 1, kMaxProcsLimit));
}

std::optional<int> max_procs_from_env() {
  auto v = env::get("GORO_MAXPROCS");
  if (!v) return std::nullopt;
  return parse_max_procs(*v);
}

}  // namespace goro::detail
