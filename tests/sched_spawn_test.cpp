// spawn and join_handle: a million tasks run exactly once, results and
// exceptions through join handles, detached tasks, ids.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "goro.hpp"
#include "tests/test_support.hpp"

namespace {

constexpr int kMillion =
    goro::test::kSanitized ? 200'000 : 1'000'000;  // same paths, sanitizer-sized

using goro::test::procs;

TEST(Spawn, AMillionTasksEachRunExactlyOnce) {
  auto counts = std::make_unique<std::atomic<uint8_t>[]>(kMillion);
  int64_t sum = goro::run(
      [](std::atomic<uint8_t>* counts) -> goro::task<int64_t> {
        std::vector<goro::join_handle<int>> hs;
        hs.reserve(kMillion);
        for (int i = 0; i < kMillion; ++i)
          hs.push_back(goro::spawn([](std::atomic<uint8_t>* c, int i) -> goro::task<int> {
            c[i].fetch_add(1, std::memory_order_relaxed);
            co_return i % 7;
          }(counts, i)));
        int64_t s = 0;
        for (auto& h : hs) s += co_await h;
        co_return s;
      }(counts.get()),
      procs(2));
  int64_t want = 0;
  for (int i = 0; i < kMillion; ++i) want += i % 7;
  EXPECT_EQ(sum, want);
  int bad = 0;
  for (int i = 0; i < kMillion; ++i) bad += counts[i].load() != 1;
  EXPECT_EQ(bad, 0) << "tasks that ran zero or several times";
}

TEST(Spawn, DetachedTasksAllRunBeforeTheRootSeesTheirCount) {
  std::atomic<int> done{0};
  goro::run(
      [](std::atomic<int>* done) -> goro::task<void> {
        goro::test::event all;
        constexpr int n = 100'000;
        for (int i = 0; i < n; ++i)
          goro::spawn([](std::atomic<int>* d, goro::test::event* all) -> goro::task<void> {
            if (d->fetch_add(1) + 1 == n) all->set();
            co_return;
          }(done, &all));
        co_await all.wait();
      }(&done),
      procs(2));
  EXPECT_EQ(done.load(), 100'000);
}

TEST(Spawn, JoinHandleRethrowsTheTasksException) {
  bool caught = goro::run([]() -> goro::task<bool> {
    auto h = goro::spawn([]() -> goro::task<int> {
      throw std::out_of_range("child failed");
      co_return 0;
    }());
    try {
      (void)co_await h;
    } catch (const std::out_of_range& e) {
      co_return std::string(e.what()) == "child failed";
    }
    co_return false;
  }());
  EXPECT_TRUE(caught);
}

TEST(Spawn, AwaitingACompletedTaskDoesNotSuspend) {
  int v = goro::run([]() -> goro::task<int> {
    auto h = goro::spawn([]() -> goro::task<int> { co_return 7; }());
    while (!h.done()) co_await goro::yield();
    co_return co_await h;
  }());
  EXPECT_EQ(v, 7);
}

TEST(Spawn, JoinHandleCanBeAwaitedOnlyOnce) {
  bool threw = goro::run([]() -> goro::task<bool> {
    auto h = goro::spawn([]() -> goro::task<int> { co_return 1; }());
    (void)co_await h;
    try {
      (void)co_await h;
    } catch (const std::logic_error&) {
      co_return true;
    }
    co_return false;
  }());
  EXPECT_TRUE(threw);
}

TEST(Spawn, TaskIdsAreUniqueAndVisibleInside) {
  auto ids = goro::run(
      []() -> goro::task<std::vector<std::pair<uint64_t, uint64_t>>> {
        std::vector<goro::join_handle<uint64_t>> hs;
        for (int i = 0; i < 5000; ++i)
          hs.push_back(
              goro::spawn([]() -> goro::task<uint64_t> { co_return goro::this_task::id(); }()));
        std::vector<std::pair<uint64_t, uint64_t>> out;
        for (auto& h : hs) {
          uint64_t outside = h.id();
          out.emplace_back(outside, co_await h);
        }
        co_return out;
      }(),
      procs(2));
  std::set<uint64_t> seen;
  for (auto [outside, inside] : ids) {
    EXPECT_EQ(outside, inside);
    EXPECT_NE(inside, 0u);
    EXPECT_TRUE(seen.insert(inside).second) << "duplicate id " << inside;
  }
  EXPECT_EQ(goro::this_task::id(), 0u) << "no task outside the runtime";
}

TEST(Spawn, SpawnOutsideARuntimeIsAnError) {
  EXPECT_THROW(goro::spawn([]() -> goro::task<void> { co_return; }()), std::logic_error);
}

TEST(Spawn, TasksSpreadOverWorkers) {
  // Many tasks spawned from one root must be run by more than one worker
  // (stealing), each exactly once. Each task keeps its worker busy until a
  // second worker has shown up (at most 10 ms each), so a slow thief on a
  // loaded machine delays the test instead of failing it.
  struct shared {
    std::mutex mu;
    std::set<std::thread::id> threads;
    std::atomic<int> ran{0};
  } sh;
  goro::run(
      [](shared* sh) -> goro::task<void> {
        std::vector<goro::join_handle<void>> hs;
        for (int i = 0; i < 2000; ++i)
          hs.push_back(goro::spawn([](shared* sh) -> goro::task<void> {
            size_t seen;
            {
              std::lock_guard lk(sh->mu);
              sh->threads.insert(std::this_thread::get_id());
              seen = sh->threads.size();
            }
            sh->ran.fetch_add(1);
            for (int64_t t0 = goro::nanotime(); seen < 2 && goro::nanotime() - t0 < 10'000'000;) {
              std::lock_guard lk(sh->mu);
              seen = sh->threads.size();
            }
            co_return;
          }(sh)));
        for (auto& h : hs) co_await h;
      }(&sh),
      procs(2));
  EXPECT_EQ(sh.threads.size(), 2u);
  EXPECT_EQ(sh.ran.load(), 2000);
}

TEST(UnhandledException, DetachedTaskExceptionEndsTheProcessByDefault) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(goro::run([]() -> goro::task<void> {
                goro::spawn([]() -> goro::task<void> {
                  throw std::runtime_error("detached boom");
                  co_return;
                }());
                for (int i = 0; i < 1000; ++i) co_await goro::yield();
              }()),
              testing::ExitedWithCode(2),
              "task [0-9]+ \\(spawned at .*sched_spawn_test.cpp:[0-9]+.*std::runtime_error: "
              "detached boom");
}

TEST(UnhandledException, ReportPolicyPrintsAndKeepsRunning) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        goro::set_unhandled_exception_policy(goro::unhandled_exception_policy::report);
        int v = goro::run([]() -> goro::task<int> {
          goro::spawn([]() -> goro::task<void> {
            throw std::runtime_error("reported boom");
            co_return;
          }());
          // A handle dropped without awaiting its failed task is reported too.
          {
            auto h = goro::spawn([]() -> goro::task<int> {
              throw std::invalid_argument("unobserved");
              co_return 1;
            }());
            while (!h.done()) co_await goro::yield();
          }
          for (int i = 0; i < 100; ++i) co_await goro::yield();
          co_return 5;
        }());
        std::exit(v);
      },
      testing::ExitedWithCode(5), "reported boom(.|\n)*unobserved|unobserved(.|\n)*reported boom");
}

}  // namespace
