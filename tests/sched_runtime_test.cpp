// The runtime as a whole: set_max_procs at run time, shutdown with tasks
// still queued or blocked, an idle runtime burning no CPU, start-up errors
// for malformed GORO_* values, and GORO_DEBUG=schedtrace.

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "goro.hpp"
#include "sched/detail/scheduler.hpp"
#include "tests/test_support.hpp"

namespace {

using goro::test::procs;

// Busy tasks that count how many of them are inside a time slice at once.
struct concurrency_probe {
  std::atomic<int> inside{0};
  std::atomic<int> max_inside{0};
  std::atomic<bool> stop{false};
  void reset_max() { max_inside.store(0); }
};

goro::task<void> busy(concurrency_probe* pr) {
  while (!pr->stop.load(std::memory_order_relaxed)) {
    int now = pr->inside.fetch_add(1) + 1;
    int m = pr->max_inside.load();
    while (now > m && !pr->max_inside.compare_exchange_weak(m, now)) {
    }
    for (int64_t t0 = goro::nanotime(); goro::nanotime() - t0 < 200'000;) {
    }
    pr->inside.fetch_sub(1);
    co_await goro::yield();
  }
}

goro::task<int> max_concurrency_for(concurrency_probe* pr, std::chrono::milliseconds d, int want) {
  pr->reset_max();
  auto until = goro::nanotime() + std::chrono::nanoseconds(d).count();
  while (goro::nanotime() < until && pr->max_inside.load() < want) co_await goro::yield();
  co_return pr->max_inside.load();
}

TEST(MaxProcs, SetAtRunTimeChangesHowManyWorkersRunTasks) {
  concurrency_probe pr;
  auto r = goro::run(
      [](concurrency_probe* pr) -> goro::task<std::vector<int>> {
        std::vector<int> out;
        std::vector<goro::join_handle<void>> hs;
        for (int i = 0; i < 6; ++i) hs.push_back(goro::spawn(busy(pr)));
        out.push_back(goro::set_max_procs(1));  // previous: 3
        // Let the surplus Ps retire, then measure.
        for (int i = 0; i < 50; ++i) co_await goro::yield();
        out.push_back(co_await max_concurrency_for(pr, std::chrono::milliseconds(300), 2));
        out.push_back(goro::set_max_procs(3));  // previous: 1
        out.push_back(co_await max_concurrency_for(pr, std::chrono::seconds(5), 3));
        out.push_back(goro::set_max_procs(0));  // reads only
        out.push_back(goro::set_max_procs(-5));
        pr->stop = true;
        for (auto& h : hs) co_await h;
        co_return out;
      }(&pr),
      procs(3));
  ASSERT_EQ(r.size(), 6u);
  EXPECT_EQ(r[0], 3);
  EXPECT_EQ(r[1], 1) << "with max_procs 1 only one worker may run tasks";
  EXPECT_EQ(r[2], 1);
  EXPECT_EQ(r[3], 3) << "raising max_procs must start more workers";
  EXPECT_EQ(r[4], 3);
  EXPECT_EQ(r[5], 3);
}

TEST(MaxProcs, SetBeforeRunIsTheNextRunsValue) {
  int before = goro::set_max_procs(3);
  EXPECT_GE(before, 1);
  int seen = goro::run([]() -> goro::task<int> { co_return goro::set_max_procs(0); }());
  EXPECT_EQ(seen, 3);
  goro::set_max_procs(before);
  EXPECT_GE(goro::num_cpu(), 1);
}

// Counts constructions in `made` and destructions in `n`.
inline std::atomic<int> made{0};
struct destructor_counter {
  std::atomic<int>* n;
  explicit destructor_counter(std::atomic<int>* n) : n(n) { made.fetch_add(1); }
  ~destructor_counter() { n->fetch_add(1); }
};

TEST(Shutdown, LeftoverTasksAreDestroyedNotResumed) {
  // When the root returns, tasks that are queued (yielding forever) or
  // blocked (on an event nobody sets) are never resumed again; their frames
  // are destroyed, running their locals' destructors. ASan's leak check
  // covers the frames.
  std::atomic<int> destroyed{0};
  std::atomic<int> resumed_after{0};
  std::atomic<bool> root_done{false};
  goro::test::event never;
  goro::run(
      [](std::atomic<int>* destroyed, std::atomic<int>* resumed_after, std::atomic<bool>* root_done,
         goro::test::event* never) -> goro::task<void> {
        for (int i = 0; i < 500; ++i)
          goro::spawn([](std::atomic<int>* d, std::atomic<int>* ra,
                         std::atomic<bool>* rd) -> goro::task<void> {
            destructor_counter c(d);
            (void)rd;
            for (;;) {
              co_await goro::yield();
              // Resumed although the runtime is already stopping?
              if (goro::detail::sched()->stopping.load()) ra->fetch_add(1);
            }
          }(destroyed, resumed_after, root_done));
        for (int i = 0; i < 500; ++i)
          goro::spawn([](std::atomic<int>* d, goro::test::event* e) -> goro::task<void> {
            destructor_counter c(d);
            co_await e->wait();
          }(destroyed, never));
        // A completed task whose handle is kept, and a nested await chain.
        auto done = goro::spawn([]() -> goro::task<int> { co_return 1; }());
        goro::spawn([](std::atomic<int>* d, goro::test::event* e) -> goro::task<void> {
          auto inner = [](std::atomic<int>* d, goro::test::event* e) -> goro::task<void> {
            destructor_counter c(d);
            co_await e->wait();
          };
          destructor_counter c(d);
          co_await inner(d, e);
        }(destroyed, never));
        // Wait until every task has started (constructed its counter), so the
        // clean-up below has real locals to destroy.
        while (made.load() < 1002) co_await goro::yield();
        root_done->store(true);
        co_return;
      }(&destroyed, &resumed_after, &root_done, &never),
      procs(2));
  EXPECT_EQ(made.load(), 1002);
  EXPECT_EQ(destroyed.load(), 1002);
  // Once the root completes, workers stop at their next schedule: a task
  // may be resumed with `stopping` already set only if the flag flipped
  // between a worker's check and the resume, at most once per worker.
  EXPECT_LE(resumed_after.load(), 2);
}

TEST(Shutdown, TasksThatNeverRanAreDestroyedToo) {
  // Tasks enter the registry when they first run; those still waiting for
  // their first run when the root returns (in runnext, the ring, and past
  // its 256 slots in the global queue) are found in the queues instead.
  // Each frame holds a copy of `token`: all copies must be gone after run.
  auto token = std::make_shared<int>(0);
  std::atomic<int> ran{0};
  goro::run(
      [](std::shared_ptr<int> token, std::atomic<int>* ran) -> goro::task<void> {
        for (int i = 0; i < 600; ++i)
          goro::spawn([](std::shared_ptr<int> held, std::atomic<int>* ran) -> goro::task<void> {
            ran->fetch_add(1);
            co_await goro::yield();
            (void)held;
          }(token, ran));
        co_return;  // one P, never yielded: none of them has run
      }(token, &ran),
      procs(1));
  EXPECT_EQ(ran.load(), 0);
  EXPECT_EQ(token.use_count(), 1) << "frames of tasks that never ran were not destroyed";
}

TEST(Idle, AnIdleRuntimeUsesAlmostNoCpu) {
  // The root waits for an event set by a plain thread after 1 s; meanwhile
  // every worker must be asleep.
  goro::test::event wake;
  rusage before{}, after{};
  std::thread setter;
  goro::run(
      [](goro::test::event* wake, rusage* before, rusage* after,
         std::thread* setter) -> goro::task<void> {
        // A few tasks first so several workers exist and then go idle.
        std::vector<goro::join_handle<void>> hs;
        for (int i = 0; i < 100; ++i)
          hs.push_back(goro::spawn([]() -> goro::task<void> { co_return; }()));
        for (auto& h : hs) co_await h;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let spinners park
        getrusage(RUSAGE_SELF, before);
        *setter = std::thread([wake] {
          std::this_thread::sleep_for(std::chrono::seconds(1));
          wake->set();
        });
        co_await wake->wait();
        // Read here, not after goro::run: the second is what is measured,
        // and the shutdown (threads joined, under TSan each one's
        // finalization) is not idle time.
        getrusage(RUSAGE_SELF, after);
      }(&wake, &before, &after, &setter),
      procs(2));
  setter.join();
  auto us = [](const timeval& t) { return t.tv_sec * 1'000'000LL + t.tv_usec; };
  long long cpu_us =
      us(after.ru_utime) - us(before.ru_utime) + us(after.ru_stime) - us(before.ru_stime);
  const long long bound_us = goro::test::kIdleSecondCpuBoundUs;
  EXPECT_LT(cpu_us, bound_us) << "an idle second cost " << cpu_us << " us of CPU";
}

// Start-up errors run in a fresh process (death test, threadsafe style).
class StartupErrors : public testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

void run_empty() {
  goro::run([]() -> goro::task<void> { co_return; }());
  std::exit(0);
}

TEST_F(StartupErrors, MaxProcsNotANumber) {
  EXPECT_EXIT((setenv("GORO_MAXPROCS", "abc", 1), run_empty()), testing::ExitedWithCode(2),
              "goro: GORO_MAXPROCS=\"abc\": want an integer in \\[1, 1024\\]");
}

TEST_F(StartupErrors, MaxProcsZero) {
  EXPECT_EXIT((setenv("GORO_MAXPROCS", "0", 1), run_empty()), testing::ExitedWithCode(2),
              "GORO_MAXPROCS=\"0\"");
}

TEST_F(StartupErrors, UnknownDebugKey) {
  EXPECT_EXIT((setenv("GORO_DEBUG", "schedtrace=10,bogus=1", 1), run_empty()),
              testing::ExitedWithCode(2),
              "GORO_DEBUG=\"bogus=1\": want one of the keys schedtrace");
}

TEST_F(StartupErrors, BadSchedtracePeriod) {
  EXPECT_EXIT((setenv("GORO_DEBUG", "schedtrace=fast", 1), run_empty()), testing::ExitedWithCode(2),
              "schedtrace=\"fast\"");
}

TEST_F(StartupErrors, ValidValuesStartNormally) {
  EXPECT_EXIT(
      (setenv("GORO_MAXPROCS", "3", 1), setenv("GORO_DEBUG", "scheddetail=0", 1), run_empty()),
      testing::ExitedWithCode(0), "");
}

TEST(SchedTrace, PrintsGosSchedLine) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        setenv("GORO_DEBUG", "schedtrace=20", 1);
        setenv("GORO_MAXPROCS", "2", 1);
        goro::run([]() -> goro::task<void> {
          std::this_thread::sleep_for(std::chrono::milliseconds(120));
          co_return;
        }());
        std::exit(0);
      },
      testing::ExitedWithCode(0),
      "SCHED [0-9]+ms: gomaxprocs=2 idleprocs=[0-9]+ threads=[0-9]+ spinningthreads=[0-9]+ "
      "idlethreads=[0-9]+ runqueue=[0-9]+ \\[[0-9]+ [0-9]+\\]");
}

}  // namespace
