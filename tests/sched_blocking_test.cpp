// co_await goro::blocking(fn): results and exceptions come back, fn runs on
// a thread that holds no P while the P keeps running other tasks, pool
// threads are reused and retire after the keep-alive, fn may use the
// collected heap, and goro::run returns cleanly with calls in flight or
// threads idle.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "goro.hpp"
#include "heap/collector_init.hpp"
#include "heap/detail/gc_stress.hpp"
#include "sched/detail/blocking_pool.hpp"
#include "sched/detail/scheduler.hpp"
#include "tests/test_support.hpp"

namespace {

using goro::test::procs;
using goro::test::sleep_on_thread;
using goro::test::yield_until;

using namespace std::chrono_literals;

// Waits (bounded) on a plain thread until `cond` holds; true if it did.
// Inside fn it sleeps with sleep_on_thread, not std::this_thread::sleep_for,
// which never ended under back-to-back gcstress collections (see there).
template <class Cond>
bool wait_until(Cond cond, std::chrono::seconds limit = 20s) {
  const int64_t end = goro::nanotime() + std::chrono::nanoseconds(limit).count();
  while (!cond()) {
    if (goro::nanotime() > end) return false;
    sleep_on_thread(1ms);
  }
  return true;
}

uint64_t pool_threads_started() {
  auto* s = goro::detail::sched();
  std::lock_guard lk(s->pool->lock);
  return s->pool->started_total;
}

// Pool threads not yet joined (live, or retired and waiting for the reaper).
std::size_t pool_threads_held() {
  auto* s = goro::detail::sched();
  std::lock_guard lk(s->pool->lock);
  return s->pool->threads.size();
}

TEST(Blocking, ReturnsTheResultOfFn) {
  auto r = goro::run([]() -> goro::task<std::string> {
    int a = co_await goro::blocking([] { return 40; });
    std::string b = co_await goro::blocking([a] { return std::to_string(a + 2); });
    int counter = 0;
    co_await goro::blocking([&counter] { counter = 7; });  // void
    int& ref = co_await goro::blocking([&counter]() -> int& { return counter; });
    ref += 1;
    co_return b + "/" + std::to_string(counter);
  }());
  EXPECT_EQ(r, "42/8");
}

TEST(Blocking, RethrowsTheExceptionOfFn) {
  auto r = goro::run([]() -> goro::task<std::string> {
    try {
      co_await goro::blocking([]() -> int { throw std::runtime_error("disk on fire"); });
    } catch (const std::runtime_error& e) {
      co_return e.what();
    }
    co_return "no exception";
  }());
  EXPECT_EQ(r, "disk on fire");
}

TEST(Blocking, FnRunsOnAThreadThatIsNotAWorker) {
  struct seen {
    std::thread::id task_thread, fn_thread;
    uint64_t id_in_fn = 1;
  };
  auto s = goro::run([]() -> goro::task<seen> {
    seen out;
    out.task_thread = std::this_thread::get_id();
    co_await goro::blocking([&out] {
      out.fn_thread = std::this_thread::get_id();
      out.id_in_fn = goro::this_task::id();  // 0: no task runs on this thread
    });
    co_return out;
  }());
  EXPECT_NE(s.task_thread, s.fn_thread);
  EXPECT_EQ(s.id_in_fn, 0u);
}

// The acceptance test: with one P, a task spinning through yields
// and a task inside a blocking call both progress. The blocking fn waits
// for the spinner to advance; if the call held the only P, it could not.
TEST(Blocking, DoesNotStallThePWithMaxProcsOne) {
  struct state {
    std::atomic<int64_t> spins{0};
    std::atomic<bool> stop{false};
  } st;
  auto progressed = goro::run(
      [](state* st) -> goro::task<bool> {
        auto spinner = goro::spawn([](state* st) -> goro::task<void> {
          while (!st->stop.load()) {
            st->spins.fetch_add(1);
            co_await goro::yield();
          }
        }(st));
        bool ok = co_await goro::blocking([st] {
          const int64_t from = st->spins.load();
          return wait_until([&] { return st->spins.load() >= from + 1000; });
        });
        st->stop = true;
        co_await spinner;
        co_return ok;
      }(&st),
      procs(1));
  EXPECT_TRUE(progressed) << "the spinner did not advance while a blocking call ran";
}

// GORO_DEBUG=gcstress=`every` for one test (restored after it), whatever
// the environment says.
class gc_stress_scope {
 public:
  explicit gc_stress_scope(uint32_t every) {
    goro::heap::init();  // reads GORO_DEBUG once: it must not override us later
    prev_ = goro::heap::detail::g_gc_stress_every.exchange(every);
  }
  ~gc_stress_scope() { goro::heap::detail::g_gc_stress_every.store(prev_); }
  gc_stress_scope(const gc_stress_scope&) = delete;
  gc_stress_scope& operator=(const gc_stress_scope&) = delete;

 private:
  uint32_t prev_;
};

// The gcstress hang of DoesNotStallThePWithMaxProcsOne. With a collection
// every schedule and a task yielding in a loop, the collections run back to
// back and the pool thread running fn is stopped (Boehm's signal) again and
// again; fn must still finish, the P must keep running the spinner, and the
// task must be resumed with fn's result. fn sleeps 20 x 1 ms against
// deadlines (sleep_on_thread); with std::this_thread::sleep_for, as the test
// above had, fn ran for minutes (its nanosleep restarts with the time left
// after each stop and the time stopped does not count), and this test hung
// until ctest's timeout.
TEST(Blocking, ACallStoppedByBackToBackCollectionsStillFinishes) {
#if defined(__SANITIZE_THREAD__)
  // As scripts/test's gcstress pass: ThreadSanitizer does not follow
  // Boehm's stop-the-world (core/futex.cpp, heap/blocking_region.cpp).
  GTEST_SKIP() << "gcstress does not run under ThreadSanitizer";
#endif
  struct state {
    std::atomic<int64_t> spins{0};
    std::atomic<bool> stop{false};
    uint64_t collections_in_fn = 0;
    int64_t spins_in_fn = 0;
  } st;
  gc_stress_scope stress(1);
  auto slept = goro::run(
      [](state* st) -> goro::task<int> {
        auto spinner = goro::spawn([](state* st) -> goro::task<void> {
          while (!st->stop.load()) {
            st->spins.fetch_add(1);
            co_await goro::yield();
          }
        }(st));
        int n = co_await goro::blocking([st] {
          const uint64_t gc0 = goro::read_heap_stats().collections;
          const int64_t spins0 = st->spins.load();
          int i = 0;
          for (; i < 20; ++i) sleep_on_thread(1ms);
          st->collections_in_fn = goro::read_heap_stats().collections - gc0;
          st->spins_in_fn = st->spins.load() - spins0;
          return i;
        });
        st->stop = true;
        co_await spinner;
        co_return n;
      }(&st),
      procs(1));
  EXPECT_EQ(slept, 20);
  EXPECT_GT(st.collections_in_fn, 0u) << "no collection stopped the pool thread while fn ran";
  EXPECT_GT(st.spins_in_fn, 0) << "the spinner did not advance while the blocking call ran";
}

TEST(Blocking, ManyCallsRunAtOnceEachOnItsOwnThread) {
  static constexpr int kCalls = 8;
  std::atomic<int> inside{0};
  auto all_met = goro::run(
      [](std::atomic<int>* inside) -> goro::task<int> {
        std::vector<goro::join_handle<bool>> hs;
        for (int i = 0; i < kCalls; ++i) {
          hs.push_back(goro::spawn([](std::atomic<int>* inside) -> goro::task<bool> {
            co_return co_await goro::blocking([inside] {
              inside->fetch_add(1);
              // Every call waits for all the others to be inside: only
              // possible if each has its own thread.
              return wait_until([&] { return inside->load() >= kCalls; });
            });
          }(inside)));
        }
        int met = 0;
        for (auto& h : hs) met += (co_await h) ? 1 : 0;
        EXPECT_GE(goro::thread_counts().blocking, kCalls);
        co_return met;
      }(&inside),
      procs(2));
  EXPECT_EQ(all_met, kCalls);
}

TEST(Blocking, ThreadsAreReusedForCallsOneAfterAnother) {
  auto r = goro::run([]() -> goro::task<std::vector<std::thread::id>> {
    std::vector<std::thread::id> ids;
    for (int i = 0; i < 20; ++i)
      ids.push_back(co_await goro::blocking([] { return std::this_thread::get_id(); }));
    EXPECT_EQ(pool_threads_started(), 1u);
    EXPECT_EQ(goro::thread_counts().blocking, 1);
    co_return ids;
  }());
  ASSERT_EQ(r.size(), 20u);
  for (auto& id : r) EXPECT_EQ(id, r[0]);
}

TEST(Blocking, IdleThreadsRetireAfterTheKeepAlive) {
  goro::runtime_options o = procs(2);
  o.blocking_keep_alive = 30ms;
  auto r = goro::run(
      []() -> goro::task<std::vector<int>> {
        std::vector<int> out;
        co_await goro::blocking([] {});
        out.push_back(goro::thread_counts().blocking);  // 1: idle, not yet retired
        out.push_back(co_await yield_until([] { return goro::thread_counts().blocking == 0; }));
        // sysmon joins the retired thread within about a second.
        out.push_back(co_await yield_until([] { return pool_threads_held() == 0; }));
        co_await goro::blocking([] {});  // a fresh thread
        out.push_back(static_cast<int>(pool_threads_started()));
        co_return out;
      }(),
      o);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0], 1);
  EXPECT_EQ(r[1], 1) << "the idle blocking thread did not retire after the keep-alive";
  EXPECT_EQ(r[2], 1) << "the retired thread was not joined";
  EXPECT_EQ(r[3], 2);
}

TEST(Blocking, NegativeKeepAliveIsRejected) {
  goro::runtime_options o;
  o.blocking_keep_alive = -1ms;
  try {
    goro::run([]() -> goro::task<void> { co_return; }(), o);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("blocking_keep_alive = -1000000ns"), std::string::npos)
        << e.what();
  }
}

TEST(Blocking, FnMayAllocateFromTheCollectedHeapAcrossCollections) {
#if defined(__SANITIZE_THREAD__)
  // TSan defers Boehm's stop signal to a thread that is inside a libc call
  // TSan does not treat as blocking (a contended pthread_mutex_lock, say);
  // a collection started while a worker was in one waited for it forever
  // (core/futex.cpp). Parks no longer do that, but this test collects from
  // a second thread while the workers park and unpark and still hung in 2
  // of 40 runs. Release and ASan run it.
  GTEST_SKIP() << "collections racing worker parks can hang under ThreadSanitizer";
#endif
  struct node {
    int64_t value;
    node* next;
  };
  auto sum = goro::run([]() -> goro::task<int64_t> {
    node* list = co_await goro::blocking([] {
      node* head = nullptr;
      for (int64_t i = 1; i <= 10'000; ++i) {
        head = goro::gc_new<node>(node{i, head});
        if (i % 2'500 == 0) goro::gc();  // this thread must be registered
      }
      return head;
    });
    goro::gc();
    int64_t s = 0;
    for (node* n = list; n; n = n->next) s += n->value;
    co_return s;
  }());
  EXPECT_EQ(sum, 10'000 * 10'001 / 2);
}

// goro::run returns once the root returns: a call still running is waited
// for (its task is not resumed), idle threads leave at once whatever the
// keep-alive.
TEST(Blocking, ShutdownWaitsForRunningCallsAndDoesNotResumeTheirTasks) {
  struct state {
    std::atomic<bool> started{false}, fn_done{false}, resumed{false};
  } st;
  goro::runtime_options o = procs(2);
  o.blocking_keep_alive = 600s;
  const int64_t t0 = goro::nanotime();
  goro::run(
      [](state* st) -> goro::task<void> {
        goro::spawn([](state* st) -> goro::task<void> {
          co_await goro::blocking([st] {
            st->started = true;
            sleep_on_thread(100ms);
            st->fn_done = true;
          });
          st->resumed = true;
        }(st))
            .detach();
        co_await goro::blocking([] {});  // leaves an idle thread behind
        co_await yield_until([st] { return st->started.load(); });
      }(&st),
      o);
  const double secs = static_cast<double>(goro::nanotime() - t0) / 1e9;
  EXPECT_TRUE(st.fn_done) << "goro::run returned while a blocking call was running";
  EXPECT_FALSE(st.resumed) << "a task was resumed after the root returned";
  EXPECT_LT(secs, 60.0) << "shutdown waited for the idle threads' keep-alive";
  EXPECT_FALSE(goro::running());
}

TEST(Blocking, ManyTasksManyCallsUnderContention) {
  static constexpr int kTasks = 16, kCalls = 200;
  auto total = goro::run(
      []() -> goro::task<int64_t> {
        std::vector<goro::join_handle<int64_t>> hs;
        for (int i = 0; i < kTasks; ++i) {
          hs.push_back(goro::spawn([](int i) -> goro::task<int64_t> {
            int64_t s = 0;
            for (int k = 0; k < kCalls; ++k) {
              s += co_await goro::blocking([i, k] { return int64_t{i} * kCalls + k; });
              if (k % 7 == 0) co_await goro::yield();
            }
            co_return s;
          }(i)));
        }
        int64_t s = 0;
        for (auto& h : hs) s += co_await h;
        co_return s;
      }(),
      procs(2));
  const int64_t n = int64_t{kTasks} * kCalls;
  EXPECT_EQ(total, n * (n - 1) / 2);
}

}  // namespace
