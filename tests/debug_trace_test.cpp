// The execution trace (debug/trace.hpp): a workload with spawns, channel
// wake-ups and collections, traced, then checked by
// tests/debug_trace_check.py (nesting per track, monotonic timestamps,
// both ends of every flow, valid JSON).

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "debug/trace.hpp"
#include "goro.hpp"
#include "tests/test_support.hpp"

namespace {

using goro::test::procs;

struct node {
  node* next;
  char pad[112];
};

goro::task<void> goro_trace_worker(goro::chan<int> in, goro::chan<int> out) {
  while (auto v = co_await in.recv()) {
    node* garbage = nullptr;
    for (int i = 0; i < 2000; ++i) {
      node* n = goro::gc_new<node>();
      n->next = garbage;
      garbage = n;
    }
    co_await out.send(*v + 1);
  }
}

goro::task<void> workload() {
  goro::chan<int> in(0), out(0);
  std::vector<goro::join_handle<void>> hs;
  for (int i = 0; i < 8; ++i) hs.push_back(goro::spawn(goro_trace_worker(in, out)));
  auto feeder = goro::spawn([](goro::chan<int> in) -> goro::task<void> {
    for (int i = 0; i < 400; ++i) co_await in.send(i);
    in.close();
  }(in));
  int64_t sum = 0;
  for (int i = 0; i < 400; ++i) sum += *co_await out.recv();
  EXPECT_EQ(sum, 400 * 401 / 2);
  goro::gc();
  co_await std::move(feeder);
  for (auto& h : hs) co_await std::move(h);
  // The leaves come from a task spawned while tracing, whose first run is
  // therefore an observed slice. This task's runs are not all slices (its
  // first began before start_trace, and one that collects may not stay on
  // one P's track), and an arrow is drawn only from inside a slice: once in
  // ~40 loaded runs no spawn arrow survived when this task spawned them.
  co_await goro::spawn([]() -> goro::task<void> {
    std::vector<goro::join_handle<void>> leaves;
    for (int i = 0; i < 100; ++i)
      leaves.push_back(goro::spawn([]() -> goro::task<void> { co_return; }()));
    for (auto& h : leaves) co_await std::move(h);
  }());
}

int check(const std::string& path, const std::string& args) {
  const std::string cmd =
      "python3 " GORO_SOURCE_DIR "/tests/debug_trace_check.py " + path + " " + args;
  return std::system(cmd.c_str());
}

TEST(Trace, WorkloadTraceIsWellFormed) {
#if defined(__SANITIZE_THREAD__)
  // The workload collects (goro::gc and allocation), and TSan defers
  // Boehm's stop-the-world signals ("Signals delivery fails constantly").
  GTEST_SKIP() << "collections do not run under ThreadSanitizer";
#endif
  std::string json;
  goro::run(
      [](std::string* json) -> goro::task<void> {
        goro::debug::start_trace();
        EXPECT_TRUE(goro::debug::trace_running());
        EXPECT_THROW(goro::debug::start_trace(), std::logic_error);
        co_await workload();
        *json = goro::debug::stop_trace();
      }(&json),
      procs(2));
  EXPECT_FALSE(goro::debug::trace_running());
  const std::string path = testing::TempDir() + "goro_trace.json";
  std::ofstream(path) << json;
  EXPECT_EQ(check(path, "--expect-gc --min-tasks 100"), 0);
  EXPECT_NE(json.find("goro_trace_worker"), std::string::npos)
      << "run slices name the task function";
  EXPECT_NE(json.find("\"name\":\"spawn\""), std::string::npos);
  EXPECT_NE(json.find("\"name\":\"wake\""), std::string::npos);
  EXPECT_NE(json.find("\"name\":\"heap\",\"ph\":\"C\""), std::string::npos);
  EXPECT_NE(json.find("\"limiter_on\""), std::string::npos);
}

TEST(Trace, ASmallRingStaysWellFormed) {
#if defined(__SANITIZE_THREAD__)
  // The workload collects (goro::gc and allocation), and TSan defers
  // Boehm's stop-the-world signals ("Signals delivery fails constantly").
  GTEST_SKIP() << "collections do not run under ThreadSanitizer";
#endif
  std::string json;
  goro::run(
      [](std::string* json) -> goro::task<void> {
        goro::debug::start_trace(1024);
        co_await workload();
        *json = goro::debug::stop_trace();
      }(&json),
      procs(2));
  const std::string path = testing::TempDir() + "goro_trace_small.json";
  std::ofstream(path) << json;
  EXPECT_EQ(check(path, ""), 0);
}

TEST(Trace, RejectsMisuse) {
  EXPECT_THROW(goro::debug::start_trace(10), std::invalid_argument);
  EXPECT_THROW(goro::debug::stop_trace(), std::logic_error);
}

// Run by GoroTraceEnvironmentWritesAFile in a child with GORO_TRACE set.
TEST(Trace, ChildWorkload) {
  if (!std::getenv("GORO_TRACE")) GTEST_SKIP() << "only run as a child with GORO_TRACE";
  goro::run(workload(), procs(2));
}

TEST(Trace, GoroTraceEnvironmentWritesAFile) {
#if defined(__SANITIZE_THREAD__)
  // The workload collects (goro::gc and allocation), and TSan defers
  // Boehm's stop-the-world signals ("Signals delivery fails constantly").
  GTEST_SKIP() << "collections do not run under ThreadSanitizer";
#endif
  const std::string path = testing::TempDir() + "goro_trace_env.json";
  std::remove(path.c_str());
  const std::string cmd = "GORO_TRACE=" + path +
                          " " GORO_TEST_BINARY
                          " --gtest_filter=Trace.ChildWorkload >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_EQ(check(path, "--min-tasks 100"), 0);
}

}  // namespace
