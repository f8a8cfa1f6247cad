// goro::mutex and goro::unique_lock: mutual exclusion under contention on
// several workers, FIFO hand-off (no barging past parked waiters), the
// guard, try_lock, and Go's error for unlocking an unlocked mutex.

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "goro.hpp"
#include "tests/test_support.hpp"

namespace {

constexpr int kIters = goro::test::kSanitized ? 5'000 : 50'000;

using goro::test::procs;

struct shared_counter {
  goro::mutex m;
  int64_t value = 0;  // protected by m (plain on purpose: TSan checks the mutex)
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
};

goro::task<void> hammer(shared_counter* s, int iters, bool use_guard) {
  for (int i = 0; i < iters; ++i) {
    if (use_guard) {
      auto lk = co_await s->m.scoped_lock();
      if (s->inside.fetch_add(1) != 0) s->overlaps.fetch_add(1);
      ++s->value;
      if (i % 64 == 0) co_await goro::yield();  // park while holding it
      s->inside.fetch_sub(1);
    } else {
      co_await s->m.lock();
      if (s->inside.fetch_add(1) != 0) s->overlaps.fetch_add(1);
      ++s->value;
      s->inside.fetch_sub(1);
      s->m.unlock();
    }
  }
}

class MutexContention : public ::testing::TestWithParam<int> {};

TEST_P(MutexContention, EightTasksNeverOverlapAndLoseNoIncrement) {
  shared_counter s;
  goro::run(
      [](shared_counter* s) -> goro::task<void> {
        std::vector<goro::join_handle<void>> hs;
        for (int t = 0; t < 8; ++t) hs.push_back(goro::spawn(hammer(s, kIters, t % 2 == 0)));
        for (auto& h : hs) co_await h;
      }(&s),
      procs(GetParam()));
  EXPECT_EQ(s.value, 8 * kIters);
  EXPECT_EQ(s.overlaps.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Procs, MutexContention, ::testing::Values(1, 2, 4));

TEST(Mutex, TryLockAndTheGuard) {
  goro::run([]() -> goro::task<void> {
    goro::mutex m;
    {
      auto lk = co_await m.scoped_lock();
      EXPECT_TRUE(lk.owns_lock());
      EXPECT_EQ(lk.mutex(), &m);
      EXPECT_FALSE(m.try_lock());
      auto moved = std::move(lk);
      EXPECT_FALSE(lk.owns_lock());
      EXPECT_TRUE(moved.owns_lock());
    }
    EXPECT_TRUE(m.try_lock()) << "the guard did not unlock at scope exit";
    m.unlock();
    auto lk = co_await m.scoped_lock();
    lk.unlock();
    EXPECT_FALSE(lk.owns_lock());
    EXPECT_TRUE(m.try_lock());
    m.unlock();
  }());
}

TEST(Mutex, UnlockOfUnlockedMutexIsAnError) {
  goro::mutex m;
  try {
    m.unlock();
    ADD_FAILURE() << "no exception";
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(), "sync: unlock of unlocked mutex");
  }
  EXPECT_TRUE(m.try_lock());
  m.unlock();
  EXPECT_THROW(m.unlock(), std::logic_error);
}

TEST(Mutex, WaitersGetTheMutexInArrivalOrderAndNewcomersCannotBarge) {
  std::vector<int> order = goro::run(
      []() -> goro::task<std::vector<int>> {
        goro::mutex m;
        std::vector<int> order;  // protected by m
        std::atomic<int> parked{0};
        co_await m.lock();
        std::vector<goro::join_handle<void>> hs;
        for (int i = 0; i < 10; ++i) {
          hs.push_back(goro::spawn([](goro::mutex* m, std::vector<int>* order, int i,
                                      std::atomic<int>* parked) -> goro::task<void> {
            parked->fetch_add(1);
            co_await m->lock();
            order->push_back(i);
            m->unlock();
          }(&m, &order, i, &parked)));
          // Let waiter i park before the next one arrives.
          while (parked.load() <= i) co_await goro::yield();
          for (int k = 0; k < 20; ++k) co_await goro::yield();
        }
        m.unlock();  // hands off to waiter 0; the mutex never looks free
        EXPECT_FALSE(m.try_lock()) << "a newcomer barged past parked waiters";
        for (auto& h : hs) co_await h;
        co_await m.lock();
        auto out = order;
        m.unlock();
        co_return out;
      }(),
      procs(1));  // one P: each spawned waiter runs and parks before the next is spawned
  std::vector<int> want{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_EQ(order, want);
}

TEST(Mutex, UnlockFromAnotherTaskHandsOverOwnership) {
  goro::run(
      []() -> goro::task<void> {
        goro::mutex m;
        co_await m.lock();
        bool unlocked = false, held_after_unlock = false;
        auto h = goro::spawn([](goro::mutex* m, bool* unlocked, bool* held) -> goro::task<void> {
          for (int i = 0; i < 10; ++i) co_await goro::yield();
          *unlocked = true;
          m->unlock();  // Go allows unlocking from another goroutine
          // The root was parked on the mutex: the unlock handed it over
          // without ever freeing it, so it cannot be taken here.
          *held = !m->try_lock();
        }(&m, &unlocked, &held_after_unlock));
        co_await m.lock();  // parks: one P, and the spawned task runs next
        EXPECT_TRUE(unlocked);
        co_await h;
        EXPECT_TRUE(held_after_unlock) << "the unlock freed the mutex instead of handing it over";
        EXPECT_FALSE(m.try_lock()) << "the root should own the mutex";
        m.unlock();
        EXPECT_TRUE(m.try_lock());
        m.unlock();
      }(),
      procs(1));
}

}  // namespace
