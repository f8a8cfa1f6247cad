#pragma once
// A fake cgroup tree for the tests of the cgroup readers (the memory limit's
// default, heap_memlimit_test; the default maxprocs, sched_maxprocs_test): a
// fresh temporary directory per test, removed afterwards, whose files are
// written at their host paths (root_ / "sys/fs/cgroup/...",
// root_ / "proc/self/cgroup"), and the mountinfo line of a cgroup v2 host.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace goro::testing {

/// /sys/fs/cgroup as a unified (v2) hierarchy, as on a systemd host.
inline constexpr const char* kV2Mount =
    "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";

class cgroup_tree : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "goro-cgroup-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << tmpl;
    root_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  /// Writes `text` to root_ / rel, creating the folders above it.
  void write(const std::string& rel, const std::string& text) {
    std::filesystem::path p = root_ / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  void mkdir(const std::string& rel) { std::filesystem::create_directories(root_ / rel); }

  std::filesystem::path root_;
};

}  // namespace goro::testing
