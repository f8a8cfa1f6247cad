// The execution trace (debug/trace.hpp): a workload with spawns, channel
// wake-ups and collections, and one with blocking calls (on the pool and on
// a pinned task's own thread) among collections, traced, then checked by
// tests/debug_trace_check.py (nesting per track, monotonic timestamps,
// both ends of every flow bound to a run, an arrow into every run of the
// tasks named, valid JSON).

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "debug/trace.hpp"
#include "goro.hpp"
#include "sched/detail/trace_hooks.hpp"
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
  // therefore an observed slice. This task's first run began before
  // start_trace, so it is no slice, and an arrow is drawn only from inside
  // a slice.
  co_await goro::spawn([]() -> goro::task<void> {
    std::vector<goro::join_handle<void>> leaves;
    for (int i = 0; i < 100; ++i)
      leaves.push_back(goro::spawn([]() -> goro::task<void> { co_return; }()));
    for (auto& h : leaves) co_await std::move(h);
  }());
}

// Blocking work among collections: each call hands the task off to a
// thread without a P (the pool's, or its own M when `pinned`), and while
// one task collects, the other's run on the second P is stopped mid-run.
// Every run and every call of these tasks must get its arrow: from the
// spawn, from the wake-up by the other side of a channel, from the hand-off,
// or from the end of the call.
goro::task<void> goro_trace_blocker(goro::chan<int> in, goro::chan<int> out, bool pinned) {
  if (pinned) co_await goro::lock_os_thread();
  while (auto v = co_await in.recv()) {
    co_await goro::blocking([] {
      goro::blocking_region([] { std::this_thread::sleep_for(std::chrono::microseconds(200)); });
    });
    node* garbage = nullptr;
    for (int i = 0; i < 2000; ++i) {
      node* n = goro::gc_new<node>();
      n->next = garbage;
      garbage = n;
    }
    if (*v % 4 == 0) goro::gc();
    co_await out.send(*v + 1);
  }
  if (pinned) goro::unlock_os_thread();
}

goro::task<void> blocking_workload() {
  // Spawned from a run that is a slice, so the blockers' spawn arrows exist.
  co_await goro::spawn([]() -> goro::task<void> {
    goro::chan<int> in(0), out(0);
    std::vector<goro::join_handle<void>> hs;
    for (int i = 0; i < 3; ++i) hs.push_back(goro::spawn(goro_trace_blocker(in, out, i == 2)));
    for (int i = 0; i < 60; i += 3) {
      for (int k = 0; k < 3; ++k) co_await in.send(i + k);
      for (int k = 0; k < 3; ++k) co_await out.recv();
    }
    in.close();
    for (auto& h : hs) co_await std::move(h);
  }());
}

int check(const std::string& path, const std::string& args) {
  const std::string cmd =
      "python3 " GORO_SOURCE_DIR "/tests/debug_trace_check.py " + path + " " + args;
  return std::system(cmd.c_str());
}

// Traces `work()` (a task<void>) on 2 Ps with rings of `events_per_p`,
// writes the trace to TempDir()/`file` and returns it; the test checks it.
template <class Work>
std::string traced(Work work, const std::string& file, std::string* path,
                   std::size_t events_per_p = 1 << 16) {
  std::string json;
  goro::run(
      [](Work work, std::size_t n, std::string* json) -> goro::task<void> {
        goro::debug::start_trace(n);
        co_await work();
        *json = goro::debug::stop_trace();
      }(work, events_per_p, &json),
      procs(2));
  *path = testing::TempDir() + file;
  std::ofstream(*path) << json;
  return json;
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
  std::string path;
  traced(workload, "goro_trace_small.json", &path, 1024);
  EXPECT_EQ(check(path, ""), 0);
}

// A size that is no power of two is rounded up to one (a run finds its
// record with a mask): the trace stays well formed when the ring wraps.
TEST(Trace, ARingSizeThatIsNoPowerOfTwoStaysWellFormed) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "collections do not run under ThreadSanitizer";
#endif
  std::string path;
  traced(workload, "goro_trace_odd.json", &path, 1500);
  EXPECT_EQ(check(path, ""), 0);
}

TEST(Trace, BlockingCallsHaveTracksAndEveryRunItsArrow) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "collections do not run under ThreadSanitizer";
#endif
  std::string path;
  const std::string json = traced(blocking_workload, "goro_trace_blocking.json", &path);
  // Every run and blocking call of the blockers has an arrow in, and every
  // blocking call an arrow out (to the run that follows it).
  EXPECT_EQ(
      check(path, "--expect-gc --arrows-into goro_trace_blocker --arrows-out-of 'blocking: '"), 0);
  EXPECT_NE(json.find("\"name\":\"blocking thread 1\""), std::string::npos)
      << "a track per blocking-pool thread";
  EXPECT_NE(json.find("\"name\":\"locked M "), std::string::npos)
      << "a track for the pinned task's own thread, which ran its calls";
  EXPECT_NE(json.find("\"name\":\"blocking: {anonymous}::goro_trace_blocker("), std::string::npos)
      << "blocking slices name the task";
  EXPECT_NE(json.find("\"name\":\"handoff\""), std::string::npos);
  EXPECT_NE(json.find("\"name\":\"return\""), std::string::npos);
}

// Stops the trace from inside its own run, while a task spins on the
// other P: both runs were going on at the stop and end there.
goro::task<void> goro_trace_stopper(std::atomic<int>* spinning, std::string* json) {
  while (spinning->load() == 0) std::this_thread::yield();  // the spinner runs
  *json = goro::debug::stop_trace();
  spinning->store(2);
  co_return;
}

goro::task<void> goro_trace_spinner(std::atomic<int>* spinning) {
  spinning->store(1);
  while (spinning->load() != 2) std::this_thread::yield();  // holds its P past the stop
  co_return;
}

TEST(Trace, RunsGoingOnAtTheStopEndThere) {
  std::string json;
  std::atomic<int> spinning{0};
  goro::run(
      [](std::atomic<int>* spinning, std::string* json) -> goro::task<void> {
        goro::debug::start_trace();
        // From a run that is a slice (this one began before the trace), so
        // the spawn arrows exist.
        co_await goro::spawn([](std::atomic<int>* spinning, std::string* json) -> goro::task<void> {
          auto spinner = goro::spawn(goro_trace_spinner(spinning));
          co_await goro::spawn(goro_trace_stopper(spinning, json));
          co_await std::move(spinner);
        }(spinning, json));
      }(&spinning, &json),
      procs(2));
  const std::string path = testing::TempDir() + "goro_trace_stop.json";
  std::ofstream(path) << json;
  EXPECT_EQ(check(path, "--arrows-into goro_trace_stopper --arrows-into goro_trace_spinner"), 0)
      << "both runs are slices, each with its spawn arrow";
  // Both end at the stop: the last slices of the trace.
  EXPECT_NE(json.find("goro_trace_stopper("), std::string::npos)
      << "the run that stopped the trace";
  EXPECT_NE(json.find("goro_trace_spinner("), std::string::npos) << "the run on the other P";
}

// Runs traced in the first trace and goes on into the second, where it
// spawns leaves: it is no run of the second trace (it began before), so
// the leaves have no spawn arrow, and the run it was in the first trace
// (its P's ring index 0, the index the second trace gives its first run)
// does not lend them one.
goro::task<void> goro_trace_restarter(std::string* first, std::string* second) {
  *first = goro::debug::stop_trace();
  goro::debug::start_trace();
  std::vector<goro::join_handle<void>> leaves;
  for (int i = 0; i < 10; ++i)
    leaves.push_back(goro::spawn([]() -> goro::task<void> { co_return; }()));
  for (auto& h : leaves) co_await std::move(h);
  *second = goro::debug::stop_trace();
}

TEST(Trace, ASecondTraceTakesNoArrowsFromTheFirst) {
  std::string first, second;
  goro::run(
      [](std::string* first, std::string* second) -> goro::task<void> {
        goro::debug::start_trace();
        co_await goro::spawn(goro_trace_restarter(first, second));
      }(&first, &second),
      procs(1));
  EXPECT_NE(first.find("goro_trace_restarter("), std::string::npos)
      << "its run in the first trace, ended at the stop";
  const std::string path = testing::TempDir() + "goro_trace_second.json";
  std::ofstream(path) << second;
  EXPECT_EQ(check(path, ""), 0);
  EXPECT_EQ(second.find("\"name\":\"spawn\""), std::string::npos)
      << "no spawn arrow: the spawning run is not in the second trace";
  EXPECT_NE(second.find("\"name\":\"wake\""), std::string::npos)
      << "the leaves' ends wake the restarter: arrows from runs of this trace";
}

// Sleeps three times on 1 P, so its P waits for the timer with nothing
// else to run after each of its runs.
goro::task<void> goro_trace_sleeper() {
  for (int i = 0; i < 3; ++i) co_await goro::sleep_for(std::chrono::milliseconds(150));
}

// A run's record holds its start only; it ends where its P's next record
// starts, and the P records a gap where it stops running tasks (here: it
// waits for the timer). Without the gap each run would last until the
// next one, 150 ms later.
TEST(Trace, ARunEndsWhereItsPWaitsForWork) {
  std::string json;
  goro::run(
      [](std::string* json) -> goro::task<void> {
        goro::debug::start_trace();
        co_await goro::spawn(goro_trace_sleeper());
        *json = goro::debug::stop_trace();
      }(&json),
      procs(1));
  const std::string path = testing::TempDir() + "goro_trace_sleeper.json";
  std::ofstream(path) << json;
  EXPECT_EQ(check(path, ""), 0);
  int runs = 0;
  for (std::size_t at = json.find("goro_trace_sleeper("); at != std::string::npos;
       at = json.find("goro_trace_sleeper(", at + 1)) {
    const std::size_t dur = json.find("\"dur\":", at);
    ASSERT_NE(dur, std::string::npos);
    const double us = std::strtod(json.c_str() + dur + 6, nullptr);
    // A run of a few microseconds; 100 ms leaves room for a loaded machine
    // that deschedules the thread in it.
    EXPECT_LT(us, 100'000.0) << "run " << runs << " lasts into the wait for the timer";
    ++runs;
  }
  EXPECT_EQ(runs, 4) << "its first run and one after each sleep";
}

// Names the record that the late writer below writes.
[[gnu::noinline]] void goro_trace_late_writer() {
  asm volatile("");
}

TEST(Trace, StopWaitsForARecordBeingWritten) {
  // An M that found tracing on and was then descheduled in the middle of
  // its record (a loaded machine can hold it for tens of milliseconds):
  // stop_trace must not read the ring before the record is whole, nor
  // return while the ring may still be written (a later start_trace resets
  // or frees it). No runtime runs: no other M writes.
  goro::debug::start_trace(1024);
  constexpr int kP = 7;  // start_trace gives at least 8 Ps a ring
  std::atomic<bool> entered{false}, written{false};
  std::thread writer([&] {
    const goro::detail::trace_write w = goro::detail::trace_write_enter(kP);
    goro::detail::trace_ring* r = w.ring;
    ASSERT_NE(r, nullptr);
    const uint64_t n = r->n.load();
    goro::detail::trace_record& rec = r->ev[n & r->mask];
    rec.start = goro::detail::trace_clock();
    entered = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    rec.task = 4242;
    rec.fn = reinterpret_cast<const void*>(&goro_trace_late_writer);
    rec.cause = 0;
    r->n.store(n + 1, std::memory_order_release);
    written = true;
    goro::detail::trace_write_exit(w);
  });
  while (!entered) std::this_thread::yield();
  const std::string json = goro::debug::stop_trace();
  EXPECT_TRUE(written.load()) << "stop_trace returned while a record was being written";
  writer.join();
  EXPECT_NE(json.find("goro_trace_late_writer"), std::string::npos)
      << "the ring was read before the record was whole";
  // An M that reads the switch after the stop writes nothing.
  const goro::detail::trace_write late = goro::detail::trace_write_enter(kP);
  EXPECT_EQ(late.ring, nullptr);
  goro::detail::trace_write_exit(late);
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
