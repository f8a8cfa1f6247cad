// The default maxprocs: cgroup CPU limits read from fake trees in a temp dir,
// Go 1.25's rounding rule, the affinity count and GORO_MAXPROCS parsing.

#include <gtest/gtest.h>
#include <sched.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <thread>

#include "cgroup_tree.hpp"
#include "core/env.hpp"
#include "core/settings.hpp"
#include "sched/detail/cpu_limit.hpp"

namespace fs = std::filesystem;
using goro::detail::cgroup_cpu_limit;
using goro::detail::cgroup_sources;
using goro::detail::default_max_procs;
using goro::detail::kMaxProcs;
using goro::detail::parse_cfs;
using goro::detail::parse_cpu_max;

namespace {

// Typical mountinfo lines, as on a systemd host and in containers.
using goro::testing::kV2Mount;
constexpr const char* kV1CpuMount =
    "35 24 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:16 - cgroup "
    "cgroup rw,cpu,cpuacct\n";
constexpr const char* kOtherMounts =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n"
    "23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n";

class MaxprocsTree : public goro::testing::cgroup_tree {
 protected:
  std::optional<double> limit(const std::string& proc_cgroup, const std::string& mountinfo) {
    return cgroup_cpu_limit(cgroup_sources{proc_cgroup, mountinfo, root_});
  }
  std::optional<double> v2(const std::string& path) {
    return limit("0::" + path + "\n", std::string(kOtherMounts) + kV2Mount);
  }
  std::optional<double> v1(const std::string& path) {
    return limit("12:cpu,cpuacct:" + path + "\n5:memory:" + path + "\n",
                 std::string(kOtherMounts) + kV1CpuMount);
  }
};

}  // namespace

// ---- limit file parsing -----------------------------------------------------

TEST(MaxprocsParse, CpuMaxValues) {
  EXPECT_EQ(parse_cpu_max("max 100000\n"), std::nullopt);
  EXPECT_EQ(parse_cpu_max("max\n"), std::nullopt);
  EXPECT_EQ(parse_cpu_max("200000 100000\n"), 2.0);
  EXPECT_EQ(parse_cpu_max("150000 100000\n"), 1.5);
  EXPECT_EQ(parse_cpu_max("25000 100000"), 0.25);
  EXPECT_EQ(parse_cpu_max("850000 100000\n"), 8.5);
}

TEST(MaxprocsParse, MalformedCpuMaxMeansNoLimit) {
  for (const char* bad :
       {"", "\n", "abc\n", "100000\n", "100000 0\n", "-5 100000\n", "0 100000\n", "100000 abc\n",
        "1 2 3\n", "100000 -1\n", "1e5 100000\n", "99999999999999999999 100000\n"})
    EXPECT_EQ(parse_cpu_max(bad), std::nullopt) << "cpu.max = '" << bad << "'";
}

TEST(MaxprocsParse, CfsValues) {
  EXPECT_EQ(parse_cfs("-1\n", "100000\n"), std::nullopt);
  EXPECT_EQ(parse_cfs("-1\n", ""), std::nullopt);
  EXPECT_EQ(parse_cfs("100000\n", "100000\n"), 1.0);
  EXPECT_EQ(parse_cfs("150000\n", "100000\n"), 1.5);
  EXPECT_EQ(parse_cfs("50000\n", "100000\n"), 0.5);
}

TEST(MaxprocsParse, MalformedCfsMeansNoLimit) {
  EXPECT_EQ(parse_cfs("abc\n", "100000\n"), std::nullopt);
  EXPECT_EQ(parse_cfs("0\n", "100000\n"), std::nullopt);
  EXPECT_EQ(parse_cfs("", "100000\n"), std::nullopt);
  EXPECT_EQ(parse_cfs("100000\n", ""), std::nullopt);
  EXPECT_EQ(parse_cfs("100000\n", "0\n"), std::nullopt);
  EXPECT_EQ(parse_cfs("100000\n", "x\n"), std::nullopt);
}

// ---- cgroup v2 --------------------------------------------------------------

TEST_F(MaxprocsTree, V2QuotaIsReadFromTheProcessCgroup) {
  write("sys/fs/cgroup/kubepods/pod1/ctr/cpu.max", "300000 100000\n");
  EXPECT_EQ(v2("/kubepods/pod1/ctr"), 3.0);
}

TEST_F(MaxprocsTree, V2MaxMeansNoLimit) {
  write("sys/fs/cgroup/app/cpu.max", "max 100000\n");
  EXPECT_EQ(v2("/app"), std::nullopt);
}

TEST_F(MaxprocsTree, V2FractionalQuota) {
  write("sys/fs/cgroup/app/cpu.max", "150000 100000\n");
  EXPECT_EQ(v2("/app"), 1.5);
  EXPECT_EQ(default_max_procs(8, v2("/app")), 2);
}

TEST_F(MaxprocsTree, V2QuotaBelowOneCpu) {
  write("sys/fs/cgroup/app/cpu.max", "25000 100000\n");
  EXPECT_EQ(v2("/app"), 0.25);
  EXPECT_EQ(default_max_procs(8, v2("/app")), 2);
  EXPECT_EQ(default_max_procs(1, v2("/app")), 1);
}

TEST_F(MaxprocsTree, V2TighterParentWins) {
  write("sys/fs/cgroup/kubepods/cpu.max", "max 100000\n");
  write("sys/fs/cgroup/kubepods/pod1/cpu.max", "200000 100000\n");
  write("sys/fs/cgroup/kubepods/pod1/ctr/cpu.max", "max 100000\n");
  EXPECT_EQ(v2("/kubepods/pod1/ctr"), 2.0);

  write("sys/fs/cgroup/kubepods/pod1/ctr/cpu.max", "400000 100000\n");
  EXPECT_EQ(v2("/kubepods/pod1/ctr"), 2.0);
  write("sys/fs/cgroup/kubepods/pod1/ctr/cpu.max", "50000 100000\n");
  EXPECT_EQ(v2("/kubepods/pod1/ctr"), 0.5);
}

TEST_F(MaxprocsTree, V2DifferentPeriodsCompareAsCpus) {
  write("sys/fs/cgroup/a/cpu.max", "150000 50000\n");      // 3 CPUs
  write("sys/fs/cgroup/a/b/cpu.max", "1000000 400000\n");  // 2.5 CPUs
  EXPECT_EQ(v2("/a/b"), 2.5);
}

TEST_F(MaxprocsTree, V2MissingFilesMeanNoLimit) {
  mkdir("sys/fs/cgroup/app");
  EXPECT_EQ(v2("/app"), std::nullopt);   // no cpu controller enabled
  EXPECT_EQ(v2("/gone"), std::nullopt);  // directory removed
  EXPECT_EQ(v2("/"), std::nullopt);      // the root has no cpu.max
}

TEST_F(MaxprocsTree, V2MissingLeafStillSeesParent) {
  write("sys/fs/cgroup/slice/cpu.max", "100000 100000\n");
  mkdir("sys/fs/cgroup/slice/app");
  EXPECT_EQ(v2("/slice/app"), 1.0);
}

TEST_F(MaxprocsTree, V2MalformedFileIsIgnored) {
  write("sys/fs/cgroup/app/cpu.max", "garbage\n");
  EXPECT_EQ(v2("/app"), std::nullopt);
  write("sys/fs/cgroup/cpu.max", "200000 100000\n");
  EXPECT_EQ(v2("/app"), 2.0);  // the malformed leaf does not hide the parent
  write("sys/fs/cgroup/app/cpu.max", std::string(5000, '9'));
  EXPECT_EQ(v2("/app"), 2.0);
  mkdir("sys/fs/cgroup/dir/cpu.max");  // a directory where a file should be
  EXPECT_EQ(v2("/dir"), 2.0);
}

TEST_F(MaxprocsTree, V2InACgroupNamespace) {
  // Inside a cgroup namespace the process sees itself at "/" and the mount's
  // root is "/" too: the mount point is its own cgroup.
  write("sys/fs/cgroup/cpu.max", "250000 100000\n");
  EXPECT_EQ(v2("/"), 2.5);
}

TEST_F(MaxprocsTree, MountRootIsStrippedFromThePath) {
  // A bind mount of the container's cgroup without a namespace: the path in
  // /proc/self/cgroup includes the mount's root.
  std::string mi = "40 30 0:26 /docker/abc /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw\n";
  write("sys/fs/cgroup/cpu.max", "100000 100000\n");
  EXPECT_EQ(limit("0::/docker/abc\n", mi), 1.0);
  write("sys/fs/cgroup/sub/cpu.max", "50000 100000\n");
  EXPECT_EQ(limit("0::/docker/abc/sub\n", mi), 0.5);
}

TEST_F(MaxprocsTree, PathOutsideTheMountIsUnreachable) {
  std::string mi = "40 30 0:26 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n";
  write("sys/fs/cgroup/cpu.max", "100000 100000\n");
  EXPECT_EQ(limit("0::/docker/other\n", mi), std::nullopt);
  EXPECT_EQ(limit("0::/docker/abcd\n", mi), std::nullopt);       // a prefix, not a parent
  EXPECT_EQ(limit("0::/../sibling\n", kV2Mount), std::nullopt);  // moved out of the ns
}

TEST_F(MaxprocsTree, EscapedMountPoint) {
  std::string mi = "40 30 0:26 / /sys/fs/my\\040cgroup rw - cgroup2 cgroup2 rw\n";
  write("sys/fs/my cgroup/app/cpu.max", "300000 100000\n");
  EXPECT_EQ(limit("0::/app\n", mi), 3.0);
}

TEST_F(MaxprocsTree, ManyOptionalFieldsInMountinfo) {
  std::string mi =
      "40 30 0:26 / /sys/fs/cgroup rw shared:4 master:1 propagate_from:2 - cgroup2 none rw\n";
  write("sys/fs/cgroup/app/cpu.max", "300000 100000\n");
  EXPECT_EQ(limit("0::/app\n", mi), 3.0);
}

TEST_F(MaxprocsTree, NoCgroupAtAll) {
  EXPECT_EQ(limit("", ""), std::nullopt);
  EXPECT_EQ(limit("0::/app\n", kOtherMounts), std::nullopt);  // not mounted
  EXPECT_EQ(limit("garbage\n::\n", kV2Mount), std::nullopt);
  EXPECT_EQ(limit("0::/app\n", "garbage\n - \n1 2 3 4 5 6 -\n"), std::nullopt);
}

// ---- cgroup v1 --------------------------------------------------------------

TEST_F(MaxprocsTree, V1Quota) {
  write("sys/fs/cgroup/cpu,cpuacct/app/cpu.cfs_quota_us", "150000\n");
  write("sys/fs/cgroup/cpu,cpuacct/app/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(v1("/app"), 1.5);
}

TEST_F(MaxprocsTree, V1MinusOneMeansNoLimit) {
  write("sys/fs/cgroup/cpu,cpuacct/app/cpu.cfs_quota_us", "-1\n");
  write("sys/fs/cgroup/cpu,cpuacct/app/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(v1("/app"), std::nullopt);
}

TEST_F(MaxprocsTree, V1TighterParentAndMissingFiles) {
  write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
  write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  write("sys/fs/cgroup/cpu,cpuacct/a/cpu.cfs_quota_us", "50000\n");
  write("sys/fs/cgroup/cpu,cpuacct/a/cpu.cfs_period_us", "100000\n");
  write("sys/fs/cgroup/cpu,cpuacct/a/b/cpu.cfs_quota_us", "400000\n");
  write("sys/fs/cgroup/cpu,cpuacct/a/b/cpu.cfs_period_us", "100000\n");
  mkdir("sys/fs/cgroup/cpu,cpuacct/a/b/c");
  EXPECT_EQ(v1("/a/b/c"), 0.5);
  EXPECT_EQ(v1("/missing"), std::nullopt);
}

TEST_F(MaxprocsTree, V1MalformedIsIgnored) {
  write("sys/fs/cgroup/cpu,cpuacct/app/cpu.cfs_quota_us", "lots\n");
  write("sys/fs/cgroup/cpu,cpuacct/app/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(v1("/app"), std::nullopt);
  write("sys/fs/cgroup/cpu,cpuacct/app/cpu.cfs_quota_us", "100000\n");
  write("sys/fs/cgroup/cpu,cpuacct/app/cpu.cfs_period_us", "0\n");
  EXPECT_EQ(v1("/app"), std::nullopt);
}

TEST_F(MaxprocsTree, V1DockerBindMount) {
  std::string mi = std::string(kOtherMounts) +
                   "35 24 0:31 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro,nosuid - cgroup cgroup "
                   "rw,cpu,cpuacct\n";
  write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "200000\n");
  write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(limit("12:cpu,cpuacct:/docker/abc\n", mi), 2.0);
}

TEST_F(MaxprocsTree, V1CpuControllerMustBeInTheList) {
  // "cpuset" and "cpuacct" alone are not the cpu controller.
  std::string mi =
      "35 24 0:31 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset\n"
      "36 24 0:32 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct\n";
  write("sys/fs/cgroup/cpuset/app/cpu.cfs_quota_us", "100000\n");
  write("sys/fs/cgroup/cpuset/app/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(limit("3:cpuset:/app\n4:cpuacct:/app\n", mi), std::nullopt);
}

// ---- hybrid v1/v2 -----------------------------------------------------------

TEST_F(MaxprocsTree, HybridPrefersV1Cpu) {
  std::string cg = "12:cpu,cpuacct:/user.slice\n1:name=systemd:/user.slice\n0::/user.slice\n";
  std::string mi =
      std::string(kOtherMounts) +
      "31 24 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate\n" +
      "32 24 0:28 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n" +
      kV1CpuMount;
  write("sys/fs/cgroup/cpu,cpuacct/user.slice/cpu.cfs_quota_us", "300000\n");
  write("sys/fs/cgroup/cpu,cpuacct/user.slice/cpu.cfs_period_us", "100000\n");
  write("sys/fs/cgroup/unified/user.slice/cpu.max", "100000 100000\n");
  EXPECT_EQ(limit(cg, mi), 3.0);
}

TEST_F(MaxprocsTree, HybridFallsBackToV2WhenV1CpuIsNotMounted) {
  std::string cg = "12:cpu,cpuacct:/app\n0::/app\n";
  write("sys/fs/cgroup/app/cpu.max", "100000 100000\n");
  EXPECT_EQ(limit(cg, kV2Mount), 1.0);
}

// ---- reading the /proc files from a root ------------------------------------

TEST_F(MaxprocsTree, ReadsProcFilesBelowTheRoot) {
  write("proc/self/cgroup", "0::/app\n");
  write("proc/self/mountinfo", std::string(kOtherMounts) + kV2Mount);
  write("sys/fs/cgroup/app/cpu.max", "150000 100000\n");
  EXPECT_EQ(cgroup_cpu_limit(root_), 1.5);
  int cpus = goro::detail::affinity_cpu_count();
  EXPECT_EQ(default_max_procs(root_), std::min(cpus, 2));
}

TEST_F(MaxprocsTree, MissingProcFilesMeanNoLimit) {
  EXPECT_EQ(cgroup_cpu_limit(root_), std::nullopt);
  EXPECT_EQ(default_max_procs(root_), goro::detail::affinity_cpu_count());
}

TEST(Maxprocs, RealSystemDoesNotCrash) {
  // Whatever this machine has, the answer is sane.
  auto l = cgroup_cpu_limit();
  if (l) {
    EXPECT_GT(*l, 0);
  }
  int p = default_max_procs();
  EXPECT_GE(p, 1);
  EXPECT_LE(p, goro::detail::affinity_cpu_count());
}

// ---- the rule ---------------------------------------------------------------

TEST(Maxprocs, DefaultRuleMatchesGo) {
  EXPECT_EQ(default_max_procs(8, std::nullopt), 8);
  EXPECT_EQ(default_max_procs(8, 4.0), 4);
  EXPECT_EQ(default_max_procs(8, 1.5), 2);
  EXPECT_EQ(default_max_procs(8, 2.1), 3);   // fractions round up
  EXPECT_EQ(default_max_procs(8, 0.25), 2);  // 250m gives 2 (Go #74283)
  EXPECT_EQ(default_max_procs(8, 1.0), 2);   // floor of 2
  EXPECT_EQ(default_max_procs(16, 8.5), 9);  // 8500m gives 9 (Go #76835)
  EXPECT_EQ(default_max_procs(4, 8.5), 4);   // never above the affinity count
  EXPECT_EQ(default_max_procs(1, 0.5), 1);   // the min is taken last
  EXPECT_EQ(default_max_procs(1, 4.0), 1);
  EXPECT_EQ(default_max_procs(2, 2.0), 2);
}

TEST(Maxprocs, DefaultRuleEdges) {
  EXPECT_EQ(default_max_procs(0, std::nullopt), 1);
  EXPECT_EQ(default_max_procs(-3, 2.0), 1);
  EXPECT_EQ(default_max_procs(100000, std::nullopt), kMaxProcs);
  EXPECT_EQ(default_max_procs(100000, 3.0), 3);
  EXPECT_EQ(default_max_procs(8, 1e300), 8);
  EXPECT_EQ(default_max_procs(8, std::numeric_limits<double>::infinity()), 8);
  EXPECT_EQ(default_max_procs(8, std::nan("")), 8);
  EXPECT_EQ(default_max_procs(8, 0.0), 8);
  EXPECT_EQ(default_max_procs(8, -1.0), 8);
}

// ---- CPUs -------------------------------------------------------------------

TEST(Maxprocs, AffinityCountFollowsTheMask) {
  int all = goro::detail::affinity_cpu_count();
  EXPECT_GE(all, 1);
  EXPECT_EQ(goro::detail::num_cpu(), all);
  // Pin a fresh thread to one CPU: its count drops to 1, while num_cpu keeps
  // the start-up value.
  int pinned = -1, cpu_at_start = -1;
  std::thread t([&] {
    cpu_set_t set;
    CPU_ZERO(&set);
    cpu_at_start = sched_getcpu();
    CPU_SET(cpu_at_start, &set);
    if (sched_setaffinity(0, sizeof set, &set) == 0) pinned = goro::detail::affinity_cpu_count();
  });
  t.join();
  if (pinned == -1) GTEST_SKIP() << "sched_setaffinity not permitted";
  EXPECT_EQ(pinned, 1);
  EXPECT_EQ(goro::detail::num_cpu(), all);
}

// ---- GORO_MAXPROCS ----------------------------------------------------------

TEST(MaxprocsEnv, AcceptsPositiveIntegers) {
  EXPECT_EQ(goro::detail::parse_max_procs("1"), 1);
  EXPECT_EQ(goro::detail::parse_max_procs("4"), 4);
  EXPECT_EQ(goro::detail::parse_max_procs("1024"), kMaxProcs);
}

TEST(MaxprocsEnv, RejectsBadValuesWithAClearMessage) {
  for (const char* bad : {"abc", "0", "-1", "", "1e3", "99999999999999999999", "1025", " 4", "4 ",
                          "+4", "4.0", "0x10"}) {
    try {
      goro::detail::parse_max_procs(bad);
      ADD_FAILURE() << "accepted GORO_MAXPROCS=" << bad;
    } catch (const goro::config_error& e) {
      std::string m = e.what();
      EXPECT_NE(m.find("GORO_MAXPROCS=\"" + std::string(bad) + "\""), std::string::npos) << m;
      EXPECT_NE(m.find("[1, 1024]"), std::string::npos) << m;
      EXPECT_EQ(m.find('\n'), std::string::npos) << "one line: " << m;
    }
  }
}

TEST(MaxprocsEnv, ExactMessage) {
  try {
    goro::detail::parse_max_procs("abc");
    FAIL();
  } catch (const goro::config_error& e) {
    EXPECT_STREQ(e.what(),
                 "GORO_MAXPROCS=\"abc\": want an integer in [1, 1024] (e.g. GORO_MAXPROCS=1)");
  }
}

TEST(MaxprocsEnv, ReadsTheEnvironment) {
  unsetenv("GORO_MAXPROCS");
  EXPECT_EQ(goro::detail::max_procs_from_env(), std::nullopt);
  setenv("GORO_MAXPROCS", "", 1);
  EXPECT_EQ(goro::detail::max_procs_from_env(), std::nullopt);  // empty is unset, as in Go
  setenv("GORO_MAXPROCS", "8", 1);
  EXPECT_EQ(goro::detail::max_procs_from_env(), 8);
  setenv("GORO_MAXPROCS", "0", 1);
  EXPECT_THROW(goro::detail::max_procs_from_env(), goro::config_error);
  unsetenv("GORO_MAXPROCS");
}

// The settings table's bound for GORO_MAXPROCS is the scheduler's kMaxProcs
// (core/settings.cpp cannot include sched/).
TEST(MaxProcsEnv, SettingsBoundIsKMaxProcs) {
  setenv("GORO_MAXPROCS", "1024", 1);
  EXPECT_EQ(goro::settings::integer("GORO_MAXPROCS"), kMaxProcs);
  setenv("GORO_MAXPROCS", "1025", 1);
  EXPECT_THROW(goro::settings::integer("GORO_MAXPROCS"), goro::config_error);
  unsetenv("GORO_MAXPROCS");
}
