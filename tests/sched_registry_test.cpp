// The task registry (sched/detail/scheduler.hpp): every task that has run
// and not ended is found at shutdown and destroyed, whichever M registered
// it, whichever M ended its neighbours, and after the M that owned its
// shard exited (a task that ends pinned by lock_os_thread takes its M with
// it; the next M inherits the shard). Each frame holds a copy of a
// shared_ptr token, so a frame that is never destroyed, or destroyed twice,
// shows in use_count (and under ASan as a leak or a double free).

#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "goro.hpp"
#include "tests/test_support.hpp"

namespace {

using goro::test::procs;

// Blocks until `ch` is closed (or forever), holding `token`.
goro::task<void> holder(std::shared_ptr<int> token, goro::chan<int> ch, goro::wait_group* started,
                        std::atomic<int>* ended) {
  started->done();
  (void)co_await ch.recv();
  (void)token;
  ended->fetch_add(1);
}

TEST(Registry, SuspendedTasksBeyondOneChunkAreDestroyedAtShutdown) {
  // More tasks than one chunk of slots (2047), all suspended at the end.
  auto token = std::make_shared<int>(0);
  std::atomic<int> ended{0};
  goro::run(
      [](std::shared_ptr<int> token, std::atomic<int>* ended) -> goro::task<void> {
        goro::chan<int> never(0);
        goro::wait_group started;
        constexpr int kTasks = 5000;
        started.add(kTasks);
        for (int i = 0; i < kTasks; ++i) goro::spawn(holder(token, never, &started, ended));
        co_await started.wait();  // every one has run, so every one is registered
      }(token, &ended),
      procs(2));
  EXPECT_EQ(ended.load(), 0);
  EXPECT_EQ(token.use_count(), 1) << "suspended frames were not destroyed at shutdown";
}

TEST(Registry, SlotsFreedOnOtherThreadsAreReusedAndSurvivorsStillDestroyed) {
  // Rounds of tasks that register, suspend, and end after a close (on
  // whichever M picks them up: many end on another M than the one that
  // registered them), while a growing set of tasks stays suspended to the
  // end. The survivors must be exactly the ones destroyed at shutdown.
  auto token = std::make_shared<int>(0);
  std::atomic<int> ended{0};
  constexpr int kRounds = 30, kPerRound = 1000, kSurvivorsPerRound = 7;
  goro::run(
      [](std::shared_ptr<int> token, std::atomic<int>* ended) -> goro::task<void> {
        goro::chan<int> never(0);
        for (int r = 0; r < kRounds; ++r) {
          goro::chan<int> release(0);
          goro::wait_group started;
          started.add(kPerRound + kSurvivorsPerRound);
          for (int i = 0; i < kPerRound; ++i) goro::spawn(holder(token, release, &started, ended));
          for (int i = 0; i < kSurvivorsPerRound; ++i)
            goro::spawn(holder(token, never, &started, ended));
          co_await started.wait();
          release.close();
          // Bounded wait for this round's tasks to end (they only need CPU).
          for (int spins = 0; ended->load() < (r + 1) * kPerRound && spins < 1'000'000; ++spins)
            co_await goro::yield();
          if (ended->load() != (r + 1) * kPerRound) co_return;  // reported below
        }
      }(token, &ended),
      procs(2));
  EXPECT_EQ(ended.load(), kRounds * kPerRound);
  EXPECT_EQ(token.use_count(), 1) << "frames leaked or not destroyed at shutdown";
}

TEST(Registry, TasksInTheShardOfAnExitedThreadAreDestroyedAtShutdown) {
  // A task spawns children that run (and register) on its M, then pins
  // itself and ends pinned: its M exits and hands its shard on while the
  // children are still suspended in it. New Ms, and more tasks, follow.
  auto token = std::make_shared<int>(0);
  std::atomic<int> ended{0};
  goro::run(
      [](std::shared_ptr<int> token, std::atomic<int>* ended) -> goro::task<void> {
        goro::chan<int> never(0);
        for (int r = 0; r < 20; ++r) {
          goro::wait_group started;
          started.add(100);
          auto h = goro::spawn([](std::shared_ptr<int> token, goro::chan<int> never,
                                  goro::wait_group* started,
                                  std::atomic<int>* ended) -> goro::task<void> {
            for (int i = 0; i < 50; ++i) goro::spawn(holder(token, never, started, ended));
            co_await goro::yield();  // the children run on this M first
            co_await goro::lock_os_thread();
            for (int i = 0; i < 50; ++i) goro::spawn(holder(token, never, started, ended));
            co_return;  // ends pinned: the M exits
          }(token, never, &started, ended));
          co_await h;
          co_await started.wait();
        }
      }(token, &ended),
      procs(2));
  EXPECT_EQ(ended.load(), 0);
  EXPECT_EQ(token.use_count(), 1) << "suspended frames were not destroyed at shutdown";
}

}  // namespace
