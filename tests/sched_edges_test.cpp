// Edges of the scheduler's public types (issue 11): sizes and durations at
// their limits, objects that outlive goro::run, two runs at once, awaiting
// from a coroutine that is not a goro task.

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <cmath>
#include <coroutine>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <limits>
#include <optional>
#include <ratio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "goro.hpp"
#include "sched/detail/scheduler.hpp"
#include "tests/test_support.hpp"

namespace {

using namespace std::chrono_literals;
using goro::context;
using goro::context_error;
using goro::test::procs;

// ---- chan capacity (Go: "makechan: size out of range") --------------------

template <class T>
void expect_capacity_refused(std::size_t cap) {
  try {
    goro::chan<T> ch(cap);
    ADD_FAILURE() << "chan<" << sizeof(T) << "-byte T>(" << cap << ") was made, capacity "
                  << ch.capacity();
  } catch (const std::length_error& e) {
    EXPECT_NE(std::string(e.what()).find("makechan: size out of range"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find(std::to_string(cap)), std::string::npos) << e.what();
  }
}

struct big {
  char bytes[4096];
};

TEST(ChanCapacity, ACapacityWhoseBufferWouldWrapOrPassTwoToThe48IsRefused) {
  constexpr std::size_t max = std::numeric_limits<std::size_t>::max();
  // These wrapped to a tiny buffer: capacity * sizeof(T) is a multiple of 2^64.
  expect_capacity_refused<uint64_t>(max / 4 + 1);
  expect_capacity_refused<uint64_t>(std::size_t{1} << 61);
  expect_capacity_refused<big>(std::size_t{1} << 52);
  expect_capacity_refused<std::string>(max / 2);
  // No wrap, but past any allocation (Go's maxAlloc).
  expect_capacity_refused<char>(max);
  expect_capacity_refused<char>((std::size_t{1} << 48) + 1);
  expect_capacity_refused<uint32_t>((std::size_t{1} << 46) + 1);
  // Ordinary capacities still work.
  goro::chan<uint64_t> ok(1000);
  EXPECT_EQ(ok.capacity(), 1000u);
}

// ---- durations near their maximum: "never", not "now" --------------------

TEST(Durations, SaturatingConversionClampsInsteadOfWrapping) {
  using goro::detail::saturating_ns;
  using ns = std::chrono::nanoseconds;
  EXPECT_EQ(saturating_ns(std::chrono::hours::max()), ns::max());
  EXPECT_EQ(saturating_ns(std::chrono::seconds::max()), ns::max());
  EXPECT_EQ(saturating_ns(std::chrono::microseconds::max()), ns::max());
  EXPECT_EQ(saturating_ns(std::chrono::milliseconds::max()), ns::max());
  EXPECT_EQ(saturating_ns(std::chrono::hours(24 * 365 * 1000)), ns::max());
  EXPECT_EQ(saturating_ns(std::chrono::duration<double>(1e300)), ns::max());
  EXPECT_EQ(saturating_ns(std::chrono::duration<double>(std::numeric_limits<double>::infinity())),
            ns::max());
  EXPECT_EQ(saturating_ns(std::chrono::hours::min()), ns::min());
  EXPECT_EQ(saturating_ns(std::chrono::duration<double>(std::nan(""))), ns::zero());
  EXPECT_EQ(saturating_ns(ns::max()), ns::max());
  // In range: exact.
  EXPECT_EQ(saturating_ns(1500ms), ns(1'500'000'000));
  EXPECT_EQ(saturating_ns(std::chrono::duration<double>(0.25)), ns(250'000'000));
  EXPECT_EQ(saturating_ns(std::chrono::duration<int64_t, std::ratio<1, 3>>(3)), ns(1'000'000'000));
  EXPECT_EQ(saturating_ns(std::chrono::hours(24 * 365 * 100)),
            ns(int64_t{24} * 365 * 100 * 3600 * 1'000'000'000));
}

template <class D>
goro::task<void> expect_never_fires(D d, std::string what) {
  // (No SCOPED_TRACE: it is thread-local, and a task moves between workers.)
  // with_timeout: not done after a while.
  context ctx = context::background().with_timeout(d);
  EXPECT_EQ(ctx.err(), context_error::none) << what;
  // on_timeout: loses to a 20 ms timeout.
  goro::chan<int> never;
  auto r = co_await goro::select(goro::on_recv(never), goro::on_timeout(d), goro::on_timeout(20ms));
  EXPECT_EQ(r.index(), 2u) << what << ": on_timeout fired at once";
  EXPECT_EQ(ctx.err(), context_error::none) << what << ": with_timeout expired at once";
  // sleep_for: still asleep 20 ms later (destroyed at shutdown).
  auto woke = std::make_shared<std::atomic<bool>>(false);
  goro::spawn([](D d, std::shared_ptr<std::atomic<bool>> woke) -> goro::task<void> {
    co_await goro::sleep_for(d);
    woke->store(true);
  }(d, woke))
      .detach();
  co_await goro::sleep_for(20ms);
  EXPECT_FALSE(woke->load()) << what << ": sleep_for returned at once";
}

TEST(Durations, ADurationPastTheClocksRangeMeansNever) {
  goro::run(
      []() -> goro::task<void> {
        co_await expect_never_fires(std::chrono::microseconds::max(), "microseconds::max()");
        co_await expect_never_fires(std::chrono::milliseconds::max(), "milliseconds::max()");
        co_await expect_never_fires(std::chrono::seconds::max(), "seconds::max()");
        co_await expect_never_fires(std::chrono::minutes::max(), "minutes::max()");
        co_await expect_never_fires(std::chrono::hours::max(), "hours::max()");
        co_await expect_never_fires(std::chrono::hours(24 * 365 * 1000), "a thousand years");
        co_await expect_never_fires(std::chrono::duration<double>(1e20), "1e20 s as a double");
        co_await expect_never_fires(std::chrono::duration<int64_t, std::ratio<1, 3>>::max(),
                                    "thirds of a second, max");
        co_await expect_never_fires(std::chrono::nanoseconds::max(), "nanoseconds::max()");
      }(),
      procs(2));
}

// ---- a context with a deadline that outlives goro::run -------------------

std::optional<context> g_ctx;

TEST(ContextLifetime, AContextWithADeadlineMayBeDroppedAfterRunReturns) {
  goro::run(
      []() -> goro::task<void> {
        g_ctx = context::background().with_timeout(1h);
        co_return;
      }(),
      procs(2));
  EXPECT_EQ(g_ctx->err(), context_error::none);
  EXPECT_EQ(goro::detail::parked_timers(), 1u);
  g_ctx.reset();  // was timer_del on the freed P (ASan: heap-use-after-free)
  EXPECT_EQ(goro::detail::parked_timers(), 0u);
  // A child with its own deadline, cancelled after the run.
  goro::run(
      []() -> goro::task<void> {
        g_ctx = context::background().with_cancel().with_timeout(1h);
        co_return;
      }(),
      procs(1));
  g_ctx->cancel();
  EXPECT_EQ(g_ctx->err(), context_error::cancelled);
  EXPECT_EQ(goro::detail::parked_timers(), 0u);
  g_ctx.reset();
}

TEST(ContextLifetime, AContextsDeadlineStillFiresInTheNextRunAndItCanBeDroppedThere) {
  goro::run(
      []() -> goro::task<void> {
        g_ctx = context::background().with_timeout(30ms);
        co_return;
      }(),
      procs(2));
  goro::run(
      []() -> goro::task<void> {
        goro::chan<int> never;
        auto r = co_await goro::select(goro::on_done(*g_ctx), goro::on_timeout(10s));
        EXPECT_EQ(r.index(), 0u) << "the deadline set in the previous run never fired";
        EXPECT_EQ(g_ctx->err(), context_error::deadline_exceeded);
        g_ctx.reset();
        // One that does not fire, dropped inside the next run.
        g_ctx = context::background().with_timeout(1h);
      }(),
      procs(2));
  goro::run(
      []() -> goro::task<void> {
        EXPECT_EQ(goro::test::queued_timers(), 1u);
        g_ctx.reset();  // was timer_del on the previous run's freed P
        EXPECT_EQ(goro::test::queued_timers(), 0u);
        co_return;
      }(),
      procs(2));
}

// ---- a join_handle that outlives goro::run --------------------------------

std::optional<goro::join_handle<int>> g_handle;
std::optional<goro::join_handle<void>> g_parked_handle;

TEST(JoinHandleLifetime, AHandleThatOutlivesItsRunIsInertAndSaysSo) {
  goro::run(
      []() -> goro::task<void> {
        g_handle = goro::spawn([]() -> goro::task<int> { co_return 42; }());
        g_parked_handle = goro::spawn([]() -> goro::task<void> {
          goro::chan<int> never;
          (void)co_await never.recv();
        }());
        while (!g_handle->done()) co_await goro::yield();
        for (int i = 0; i < 10; ++i) co_await goro::yield();
      }(),
      procs(2));
  const uint64_t id = g_handle->id();
  EXPECT_NE(id, 0u);
  // The frames are gone: the handle must not read them (ASan: use-after-poison).
  EXPECT_FALSE(g_handle->done()) << "done() read a destroyed frame";
  EXPECT_FALSE(g_parked_handle->done());
  EXPECT_EQ(g_handle->id(), id);
  goro::run(
      []() -> goro::task<void> {
        EXPECT_THROW(co_await *g_handle, std::logic_error);
        EXPECT_THROW(co_await *g_parked_handle, std::logic_error);
        g_parked_handle.reset();  // dropped inside the next run
      }(),
      procs(2));
  g_handle->detach();  // dropped after it
  g_handle.reset();
}

TEST(JoinHandleLifetime, AMovedHandleRemembersItWasAwaited) {
  goro::run(
      []() -> goro::task<void> {
        auto h = goro::spawn([]() -> goro::task<void> { co_return; }());
        co_await h;
        goro::join_handle<void> moved = std::move(h);
        EXPECT_THROW(co_await moved, std::logic_error) << "a moved handle was awaited twice";
        goro::join_handle<void> assigned;
        assigned = std::move(moved);
        EXPECT_THROW(co_await assigned, std::logic_error);

        auto hi = goro::spawn([]() -> goro::task<int> { co_return 5; }());
        EXPECT_EQ(co_await hi, 5);
        goro::join_handle<int> mi(std::move(hi));
        EXPECT_THROW(co_await mi, std::logic_error);
      }(),
      procs(2));
}

// A coroutine type that is not a goro task: runs eagerly on whatever thread
// resumes it, keeps its exception.
struct foreign_coro {
  struct promise_type {
    std::exception_ptr error;
    std::atomic<bool>* finished = nullptr;
    foreign_coro get_return_object() {
      return foreign_coro{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { error = std::current_exception(); }
  };
  std::coroutine_handle<promise_type> h;
  ~foreign_coro() {
    if (h) h.destroy();
  }
};

foreign_coro await_from_outside(goro::join_handle<int>* jh, bool* threw) {
  try {
    (void)co_await *jh;
  } catch (const std::logic_error&) {
    *threw = true;
  }
}

TEST(JoinHandleLifetime, AwaitingFromACoroutineThatIsNotAGoroTaskThrows) {
  goro::run(
      []() -> goro::task<void> {
        goro::chan<int> release;
        auto jh = goro::spawn(
            [](goro::chan<int> c) -> goro::task<int> { co_return *co_await c.recv(); }(release));
        bool threw = false;
        // From a plain thread: no current task (was a null dereference).
        std::thread([&] {
          foreign_coro c = await_from_outside(&jh, &threw);
          c.h.resume();
          EXPECT_TRUE(c.h.done());
        }).join();
        EXPECT_TRUE(threw);
        co_await release.send(3);
        // The failed await did not consume the handle.
        EXPECT_EQ(co_await jh, 3);
      }(),
      procs(2));
}

// ---- two threads calling goro::run at the same moment ---------------------

TEST(RunExclusive, OfTwoSimultaneousRunsExactlyOneRunsAndTheOtherGetsTheError) {
  constexpr int kRounds = 40;
  std::atomic<bool> finished{false};
  // A hang (the old check-then-act left one caller parked for ever) fails
  // the test instead of stalling the suite.
  std::thread watchdog([&] {
    for (int i = 0; i < 1200 && !finished.load(); ++i) std::this_thread::sleep_for(50ms);
    if (!finished.load()) {
      std::fprintf(stderr, "RunExclusive: a goro::run caller hung\n");
      std::abort();
    }
  });
  for (int round = 0; round < kRounds; ++round) {
    std::atomic<int> ran{0}, refused{0};
    std::barrier start(2);
    auto caller = [&] {
      start.arrive_and_wait();
      try {
        goro::run(
            [](std::atomic<int>* ran, std::atomic<int>* refused) -> goro::task<void> {
              ran->fetch_add(1);
              // Stay running until the other caller has been refused, so
              // the two calls overlap however late its thread starts (10 s
              // at most: with the old check-then-act it hangs instead).
              const auto end = goro::clock::now() + 10s;
              while (refused->load() == 0 && goro::clock::now() < end)
                co_await goro::sleep_for(1ms);
            }(&ran, &refused),
            procs(2));
      } catch (const std::logic_error& e) {
        EXPECT_NE(std::string(e.what()).find("already running"), std::string::npos) << e.what();
        refused.fetch_add(1);
      }
    };
    std::thread a(caller), b(caller);
    a.join();
    b.join();
    EXPECT_EQ(ran.load(), 1) << "round " << round;
    EXPECT_EQ(refused.load(), 1) << "round " << round;
  }
  finished = true;
  watchdog.join();
  EXPECT_FALSE(goro::running());
}

// ---- timers: a remover racing the runner ----------------------------------

// Contexts whose deadline falls due just as their last handle is dropped on
// another worker: timer_del races run_timers for every node. A remover that
// saw the runner's cleared owner but not yet its `running` state would free
// the context while its fire still ran (ASan, TSan).
TEST(TimerRace, DroppingContextsAsTheirDeadlinesFireIsSafe) {
  goro::run(
      []() -> goro::task<void> {
        constexpr int kTasks = 200;
        goro::wait_group wg;
        wg.add(kTasks);
        for (int i = 0; i < kTasks; ++i) {
          goro::spawn([](goro::wait_group* wg, int i) -> goro::task<void> {
            for (int k = 0; k < 20; ++k) {
              context c = context::background().with_timeout(std::chrono::microseconds(i % 50));
              if (k % 2) co_await goro::yield();
              // c dropped here, maybe while its timer fires on another P
            }
            wg->done();
          }(&wg, i))
              .detach();
        }
        co_await wg.wait();
      }(),
      procs(4));
}

// ---- a thread the OS refuses ----------------------------------------------

// startm runs inside noexcept ready(): a std::thread that failed there was
// std::terminate with no word of why. Go: "runtime: failed to create new OS
// thread (have N already; errno=E)". The address-space limit makes the next
// thread's stack mapping fail (EAGAIN).
TEST(OsThreadDeathTest, AThreadTheOsRefusesEndsTheProcessWithGosMessage) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "sanitizer runtimes reserve address space: RLIMIT_AS cannot be used";
#else
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        // Warm up: the heap, the runtime's internal memory, one run.
        goro::run([]() -> goro::task<void> { co_return; }(), procs(1));
        uint64_t vm_kib = 0;
        std::ifstream status("/proc/self/status");
        for (std::string line; std::getline(status, line);)
          if (line.rfind("VmSize:", 0) == 0) vm_kib = std::stoull(line.substr(7));
        const rlim_t cap = (vm_kib + 1024) * 1024;  // room for 1 MiB more: no 8 MiB stack
        rlimit rl;
        rl.rlim_cur = rl.rlim_max = cap;
        setrlimit(RLIMIT_AS, &rl);
        goro::run(
            []() -> goro::task<void> {
              for (int i = 0; i < 64; ++i)
                goro::spawn([]() -> goro::task<void> { co_await goro::yield(); }()).detach();
              co_await goro::yield();
            }(),
            procs(4));
        std::exit(0);
      },
      testing::ExitedWithCode(2), "runtime: failed to create new OS thread \\(have [0-9]+ already");
#endif
}

}  // namespace
