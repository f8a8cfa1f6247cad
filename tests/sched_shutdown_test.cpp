// Sync primitives with tasks parked on them when goro::run ends (issue 11,
// item 8): the parked tasks' frames are destroyed at shutdown, and neither a
// primitive that lives on (a global, used again by the next run) nor one
// whose lock a destroyed frame releases may be left with a node in a freed
// frame.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>

#include "goro.hpp"
#include "tests/test_support.hpp"

namespace {

using namespace std::chrono_literals;
using goro::test::procs;

goro::mutex g_mutex;
goro::rw_mutex g_rw;
goro::semaphore g_sem(1);
goro::wait_group g_wg;
goro::once g_once;

// A task that parks for ever (until shutdown destroys it).
goro::task<void> park_forever() {
  goro::chan<int> never;
  (void)co_await never.recv();
}

// Spawns `n` copies of `waiter`, lets them park, and returns (ending the run
// with them parked).
template <class Make>
goro::task<void> leave_parked(Make make, int n) {
  for (int i = 0; i < n; ++i) goro::spawn(make()).detach();
  for (int i = 0; i < 50; ++i) co_await goro::yield();
}

TEST(ShutdownWaiters, AGlobalMutexWorksInTheNextRunAfterItsWaitersWereDestroyed) {
  goro::run(
      []() -> goro::task<void> {
        co_await g_mutex.lock();  // held by the root, never unlocked in this run
        co_await leave_parked([]() -> goro::task<void> { co_await g_mutex.lock(); }, 4);
      }(),
      procs(2));
  // The mutex is still held (nobody unlocked it); the waiters are gone.
  goro::run(
      []() -> goro::task<void> {
        int got = 0;
        auto h = goro::spawn([](int* got) -> goro::task<void> {
          co_await g_mutex.lock();
          ++*got;
          g_mutex.unlock();
        }(&got));
        for (int i = 0; i < 20; ++i) co_await goro::yield();
        g_mutex.unlock();  // hands over to the new waiter, not a destroyed one
        co_await h;
        EXPECT_EQ(got, 1);
        EXPECT_TRUE(g_mutex.try_lock());
        g_mutex.unlock();
      }(),
      procs(2));
}

TEST(ShutdownWaiters, AGlobalRwMutexWorksInTheNextRunAfterItsWaitersWereDestroyed) {
  goro::run(
      []() -> goro::task<void> {
        co_await g_rw.lock();
        co_await leave_parked([]() -> goro::task<void> { co_await g_rw.lock_shared(); }, 3);
        co_await leave_parked([]() -> goro::task<void> { co_await g_rw.lock(); }, 3);
      }(),
      procs(2));
  goro::run(
      []() -> goro::task<void> {
        int got = 0;
        auto r = goro::spawn([](int* got) -> goro::task<void> {
          co_await g_rw.lock_shared();
          ++*got;
          g_rw.unlock_shared();
        }(&got));
        auto w = goro::spawn([](int* got) -> goro::task<void> {
          co_await g_rw.lock();
          ++*got;
          g_rw.unlock();
        }(&got));
        for (int i = 0; i < 20; ++i) co_await goro::yield();
        g_rw.unlock();
        co_await r;
        co_await w;
        EXPECT_EQ(got, 2);
        EXPECT_TRUE(g_rw.try_lock());
        g_rw.unlock();
      }(),
      procs(2));
}

TEST(ShutdownWaiters, AGlobalSemaphoreWorksInTheNextRunAfterItsWaitersWereDestroyed) {
  goro::run(
      []() -> goro::task<void> {
        co_await g_sem.acquire();
        co_await leave_parked([]() -> goro::task<void> { co_await g_sem.acquire(); }, 4);
      }(),
      procs(2));
  goro::run(
      []() -> goro::task<void> {
        int got = 0;
        auto h = goro::spawn([](int* got) -> goro::task<void> {
          co_await g_sem.acquire();
          ++*got;
          g_sem.release();
        }(&got));
        for (int i = 0; i < 20; ++i) co_await goro::yield();
        g_sem.release();
        co_await h;
        EXPECT_EQ(got, 1);
        EXPECT_EQ(g_sem.available(), 1);
      }(),
      procs(2));
}

TEST(ShutdownWaiters, AGlobalWaitGroupWorksInTheNextRunAfterItsWaitersWereDestroyed) {
  goro::run(
      []() -> goro::task<void> {
        g_wg.add(1);
        co_await leave_parked([]() -> goro::task<void> { co_await g_wg.wait(); }, 4);
      }(),
      procs(2));
  goro::run(
      []() -> goro::task<void> {
        int woke = 0;
        auto h = goro::spawn([](int* woke) -> goro::task<void> {
          co_await g_wg.wait();
          ++*woke;
        }(&woke));
        for (int i = 0; i < 20; ++i) co_await goro::yield();
        g_wg.done();  // was a segfault: woke a destroyed waiter
        co_await h;
        EXPECT_EQ(woke, 1);
        EXPECT_EQ(g_wg.count(), 0);
      }(),
      procs(2));
}

// A once whose fn never finished stays "running" (as Go's would); what
// must hold is that its waiters, destroyed in any order with the frame that
// owns the once, touch nothing freed (ASan).
TEST(ShutdownWaiters, WaitersOfAOnceInAFrameDestroyedAtShutdownTouchNothingFreed) {
  goro::run(
      []() -> goro::task<void> {
        goro::spawn([]() -> goro::task<void> {
          goro::once o;  // in this task's frame
          for (int i = 0; i < 4; ++i)
            goro::spawn([](goro::once* o) -> goro::task<void> { co_await o->call([] {}); }(&o))
                .detach();
          co_await o.call([]() -> goro::task<void> { co_await park_forever(); });
        }())
            .detach();
        for (int i = 0; i < 50; ++i) co_await goro::yield();
      }(),
      procs(1));
  goro::run(
      []() -> goro::task<void> {
        co_await leave_parked(
            []() -> goro::task<void> {
              co_await g_once.call([]() -> goro::task<void> { co_await park_forever(); });
            },
            4);
      }(),
      procs(2));
  EXPECT_FALSE(g_once.done());
}

// A unique_lock released by a frame destroyed at shutdown hands the mutex
// to the next waiter; waiters destroyed before it must no longer be queued
// (ASan: use-after-poison in mutex::unlock_slow). Waiters are spawned on
// both sides of the holder so that some are destroyed before it whatever
// the registry order.
TEST(ShutdownWaiters, AHolderDestroyedAtShutdownUnlocksIntoNoFreedWaiter) {
  static goro::mutex held;
  for (int round = 0; round < 5; ++round) {
    goro::run(
        []() -> goro::task<void> {
          auto lk = co_await held.scoped_lock();
          co_await leave_parked([]() -> goro::task<void> { co_await held.lock(); }, 3);
          goro::spawn([]([[maybe_unused]] goro::unique_lock<goro::mutex> lk) -> goro::task<void> {
            co_await park_forever();
          }(std::move(lk)))
              .detach();
          co_await leave_parked([]() -> goro::task<void> { co_await held.lock(); }, 3);
        }(),
        procs(1));
    // The holder's unlock at shutdown found no waiter (all were taken off
    // first), so the mutex is free, not handed to a destroyed task.
    EXPECT_TRUE(held.try_lock()) << "round " << round;
    held.unlock();
  }
  // The same with a global rw_mutex and a shared_lock holder.
  goro::run(
      []() -> goro::task<void> {
        auto lk = co_await g_rw.scoped_lock_shared();
        co_await leave_parked([]() -> goro::task<void> { co_await g_rw.lock(); }, 3);
        goro::spawn([]([[maybe_unused]] goro::shared_lock<goro::rw_mutex> lk) -> goro::task<void> {
          co_await park_forever();
        }(std::move(lk)))
            .detach();
        co_await leave_parked([]() -> goro::task<void> { co_await g_rw.lock(); }, 3);
      }(),
      procs(1));
  EXPECT_TRUE(g_rw.try_lock());
  g_rw.unlock();
}

}  // namespace
