// goro::wait_group: wait returns once every done() arrived (and sees what
// the tasks wrote), several waiters wake together, immediate return at 0,
// reuse, and Go's error on a negative counter.

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "goro.hpp"
#include "tests/test_support.hpp"

namespace {

using goro::test::procs;

TEST(WaitGroup, WaitReturnsAfterEveryTaskIsDoneAndSeesTheirWrites) {
  for (int round = 0; round < 20; ++round) {
    bool ok = goro::run(
        []() -> goro::task<bool> {
          goro::wait_group wg;
          std::vector<int> slots(256, 0);  // plain ints: TSan checks the ordering
          wg.add(static_cast<int64_t>(slots.size()));
          for (std::size_t i = 0; i < slots.size(); ++i)
            goro::spawn([](int* slot, goro::wait_group* wg, int v) -> goro::task<void> {
              if (v % 3 == 0) co_await goro::yield();
              *slot = v;
              wg->done();
            }(&slots[i], &wg, static_cast<int>(i) + 1))
                .detach();
          co_await wg.wait();
          EXPECT_EQ(wg.count(), 0);
          bool all = true;
          for (std::size_t i = 0; i < slots.size(); ++i) all &= slots[i] == static_cast<int>(i) + 1;
          co_return all;
        }(),
        procs(4));
    EXPECT_TRUE(ok) << "round " << round;
  }
}

TEST(WaitGroup, SeveralWaitersWakeTogether) {
  goro::run(
      []() -> goro::task<void> {
        goro::wait_group wg, waiting;
        std::atomic<int> woke{0};
        wg.add(1);
        waiting.add(5);
        std::vector<goro::join_handle<void>> hs;
        for (int i = 0; i < 5; ++i)
          hs.push_back(goro::spawn([](goro::wait_group* wg, goro::wait_group* waiting,
                                      std::atomic<int>* woke) -> goro::task<void> {
            waiting->done();
            co_await wg->wait();
            woke->fetch_add(1);
          }(&wg, &waiting, &woke)));
        co_await waiting.wait();
        for (int i = 0; i < 20; ++i) co_await goro::yield();
        EXPECT_EQ(woke.load(), 0);
        wg.done();
        for (auto& h : hs) co_await h;
        EXPECT_EQ(woke.load(), 5);
      }(),
      procs(2));
}

TEST(WaitGroup, WaitAtZeroReturnsAtOnceAndTheGroupIsReusable) {
  goro::run([]() -> goro::task<void> {
    goro::wait_group wg;
    co_await wg.wait();
    for (int round = 0; round < 3; ++round) {
      wg.add(2);
      goro::spawn([](goro::wait_group* wg) -> goro::task<void> {
        wg->done();
        co_return;
      }(&wg))
          .detach();
      goro::spawn([](goro::wait_group* wg) -> goro::task<void> {
        co_await goro::yield();
        wg->done();
      }(&wg))
          .detach();
      co_await wg.wait();
      EXPECT_EQ(wg.count(), 0);
    }
  }());
}

TEST(WaitGroup, NegativeCounterIsAnError) {
  goro::wait_group wg;
  wg.add(1);
  try {
    wg.add(-2);
    ADD_FAILURE() << "no exception";
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(), "sync: negative WaitGroup counter");
  }
  EXPECT_EQ(wg.count(), 1) << "a rejected add must not change the counter";
  wg.done();
  EXPECT_THROW(wg.done(), std::logic_error);
}

}  // namespace
