// goro::rw_mutex and goro::shared_lock: readers share, writers exclude,
// a waiting writer blocks new readers (no writer starvation), a writer's
// unlock admits every parked reader (no reader starvation), Go's errors.

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "goro.hpp"
#include "tests/test_support.hpp"

namespace {

constexpr int kIters = goro::test::kSanitized ? 2'000 : 20'000;

using goro::test::procs;

struct guarded {
  goro::rw_mutex rw;
  int64_t value = 0;  // written under the write lock, read under either
  std::atomic<int> readers{0}, writers{0}, violations{0};
  std::atomic<int> max_readers{0};
};

TEST(RwMutex, ReadersShareAndWritersExcludeUnderContention) {
  guarded g;
  goro::run(
      [](guarded* g) -> goro::task<void> {
        std::vector<goro::join_handle<void>> hs;
        for (int w = 0; w < 2; ++w)
          hs.push_back(goro::spawn([](guarded* g) -> goro::task<void> {
            for (int i = 0; i < kIters / 4; ++i) {
              auto lk = co_await g->rw.scoped_lock();
              if (g->writers.fetch_add(1) != 0 || g->readers.load() != 0)
                g->violations.fetch_add(1);
              ++g->value;
              g->writers.fetch_sub(1);
            }
          }(g)));
        for (int r = 0; r < 6; ++r)
          hs.push_back(goro::spawn([](guarded* g) -> goro::task<void> {
            for (int i = 0; i < kIters; ++i) {
              auto lk = co_await g->rw.scoped_lock_shared();
              int n = g->readers.fetch_add(1) + 1;
              int m = g->max_readers.load();
              while (n > m && !g->max_readers.compare_exchange_weak(m, n)) {
              }
              if (g->writers.load() != 0) g->violations.fetch_add(1);
              volatile int64_t v = g->value;
              (void)v;
              if (i % 16 == 0) co_await goro::yield();  // hold it across a park
              g->readers.fetch_sub(1);
            }
          }(g)));
        for (auto& h : hs) co_await h;
      }(&g),
      procs(4));
  EXPECT_EQ(g.violations.load(), 0);
  EXPECT_EQ(g.value, 2 * (kIters / 4));
  EXPECT_GT(g.max_readers.load(), 1) << "readers never overlapped";
}

TEST(RwMutex, AWaitingWriterBlocksNewReaders) {
  goro::run(
      []() -> goro::task<void> {
        goro::rw_mutex rw;
        co_await rw.lock_shared();  // an old reader holds it
        std::atomic<bool> writer_in{false}, writer_parked{false};
        auto w = goro::spawn([](goro::rw_mutex* rw, std::atomic<bool>* in,
                                std::atomic<bool>* parked) -> goro::task<void> {
          parked->store(true);
          co_await rw->lock();
          in->store(true);
          rw->unlock();
        }(&rw, &writer_in, &writer_parked));
        while (!writer_parked.load()) co_await goro::yield();
        for (int i = 0; i < 20; ++i) co_await goro::yield();
        EXPECT_FALSE(writer_in.load());
        EXPECT_FALSE(rw.try_lock_shared()) << "a new reader overtook a waiting writer";
        rw.unlock_shared();  // the last reader out hands over to the writer
        co_await w;
        EXPECT_TRUE(writer_in.load());
        EXPECT_TRUE(rw.try_lock_shared());
        rw.unlock_shared();
      }(),
      procs(2));
}

TEST(RwMutex, AWritersUnlockAdmitsEveryParkedReaderBeforeTheNextWriter) {
  goro::run(
      []() -> goro::task<void> {
        goro::rw_mutex rw;
        co_await rw.lock();
        std::atomic<int> parked{0}, readers_in{0};
        std::atomic<bool> second_writer_in{false};
        std::atomic<int> readers_seen_by_writer{-1};
        std::vector<goro::join_handle<void>> hs;
        for (int i = 0; i < 5; ++i)
          hs.push_back(goro::spawn([](goro::rw_mutex* rw, std::atomic<int>* parked,
                                      std::atomic<int>* in) -> goro::task<void> {
            parked->fetch_add(1);
            auto lk = co_await rw->scoped_lock_shared();
            in->fetch_add(1);
            for (int k = 0; k < 10; ++k) co_await goro::yield();
          }(&rw, &parked, &readers_in)));
        hs.push_back(
            goro::spawn([](goro::rw_mutex* rw, std::atomic<int>* parked, std::atomic<int>* in,
                           std::atomic<int>* seen) -> goro::task<void> {
              parked->fetch_add(1);
              auto lk = co_await rw->scoped_lock();
              seen->store(in->load());
            }(&rw, &parked, &readers_in, &readers_seen_by_writer)));
        while (parked.load() < 6) co_await goro::yield();
        for (int i = 0; i < 20; ++i) co_await goro::yield();
        rw.unlock();
        for (auto& h : hs) co_await h;
        EXPECT_EQ(readers_in.load(), 5);
        EXPECT_EQ(readers_seen_by_writer.load(), 5) << "the next writer went before parked readers";
        (void)second_writer_in;
      }(),
      procs(2));
}

TEST(RwMutex, UnlockErrorsUseGosMessages) {
  goro::rw_mutex rw;
  try {
    rw.unlock();
    ADD_FAILURE();
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(), "sync: Unlock of unlocked RWMutex");
  }
  try {
    rw.unlock_shared();
    ADD_FAILURE();
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(), "sync: RUnlock of unlocked RWMutex");
  }
  EXPECT_TRUE(rw.try_lock());
  EXPECT_FALSE(rw.try_lock_shared());
  EXPECT_THROW(rw.unlock_shared(), std::logic_error);
  rw.unlock();
}

}  // namespace
