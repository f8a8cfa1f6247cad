// goro::semaphore: the permit bound holds under contention, FIFO grants
// (a large request is not starved by small ones), try_acquire, bad input.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <vector>

#include "goro.hpp"
#include "tests/test_support.hpp"

namespace {

constexpr int kIters = goro::test::kSanitized ? 2'000 : 20'000;

using goro::test::procs;

TEST(Semaphore, NeverMoreHoldersThanPermitsUnderContention) {
  std::atomic<int> inside{0}, peak{0}, over{0};
  goro::run(
      [](std::atomic<int>* inside, std::atomic<int>* peak,
         std::atomic<int>* over) -> goro::task<void> {
        goro::semaphore sem(3);
        std::vector<goro::join_handle<void>> hs;
        for (int t = 0; t < 12; ++t)
          hs.push_back(
              goro::spawn([](goro::semaphore* sem, std::atomic<int>* inside, std::atomic<int>* peak,
                             std::atomic<int>* over) -> goro::task<void> {
                for (int i = 0; i < kIters / 4; ++i) {
                  co_await sem->acquire();
                  int n = inside->fetch_add(1) + 1;
                  if (n > 3) over->fetch_add(1);
                  int p = peak->load();
                  while (n > p && !peak->compare_exchange_weak(p, n)) {
                  }
                  if (i % 8 == 0) co_await goro::yield();
                  inside->fetch_sub(1);
                  sem->release();
                }
              }(&sem, inside, peak, over)));
        for (auto& h : hs) co_await h;
        EXPECT_EQ(sem.available(), 3);
      }(&inside, &peak, &over),
      procs(4));
  EXPECT_EQ(over.load(), 0);
  EXPECT_EQ(peak.load(), 3) << "the permits were never all in use at once";
}

TEST(Semaphore, GrantsInArrivalOrderSoALargeRequestIsNotStarved) {
  std::vector<int> order = goro::run(
      []() -> goro::task<std::vector<int>> {
        goro::semaphore sem(4);
        co_await sem.acquire(4);  // all taken
        std::vector<int> order;
        goro::mutex m;
        std::atomic<int> parked{0};
        std::vector<goro::join_handle<void>> hs;
        const int64_t want[] = {3, 1, 1};  // the big one arrives first
        for (int i = 0; i < 3; ++i) {
          hs.push_back(
              goro::spawn([](goro::semaphore* sem, goro::mutex* m, std::vector<int>* order, int i,
                             int64_t n, std::atomic<int>* parked) -> goro::task<void> {
                parked->fetch_add(1);
                co_await sem->acquire(n);
                {
                  auto lk = co_await m->scoped_lock();
                  order->push_back(i);
                }
              }(&sem, &m, &order, i, want[i], &parked)));
          while (parked.load() <= i) co_await goro::yield();
          for (int k = 0; k < 10; ++k) co_await goro::yield();
        }
        sem.release(1);  // one free: the 1-requests behind the 3 must not jump it
        for (int k = 0; k < 20; ++k) co_await goro::yield();
        {
          auto lk = co_await m.scoped_lock();
          EXPECT_TRUE(order.empty()) << "a small request overtook the large one";
        }
        EXPECT_FALSE(sem.try_acquire()) << "try_acquire jumped the queue";
        sem.release(3);  // 4 free: 3 to the first, 1 to the second, none left for the third
        for (int k = 0; k < 20; ++k) co_await goro::yield();
        std::vector<int> granted;
        {
          auto lk = co_await m.scoped_lock();
          granted = order;  // run order may differ from grant order (runnext is LIFO)
        }
        std::sort(granted.begin(), granted.end());
        EXPECT_EQ(granted, (std::vector<int>{0, 1}));
        EXPECT_EQ(sem.available(), 0);
        sem.release(3);
        for (auto& h : hs) co_await h;
        co_return order;
      }(),
      procs(1));  // one P: a spawned task runs (and parks) before the spawner's next yield returns
  EXPECT_EQ(order.size(), 3u);
  if (order.size() == 3) {
    EXPECT_EQ(order[2], 2);
  }
}

TEST(Semaphore, TryAcquireAndBadArguments) {
  goro::semaphore sem(2);
  EXPECT_TRUE(sem.try_acquire(2));
  EXPECT_FALSE(sem.try_acquire());
  sem.release(2);
  EXPECT_EQ(sem.available(), 2);
  EXPECT_THROW(sem.try_acquire(0), std::invalid_argument);
  EXPECT_THROW(sem.release(-1), std::invalid_argument);
  EXPECT_THROW(goro::semaphore(-1), std::invalid_argument);
}

}  // namespace
