// goro::once: fn runs exactly once with many concurrent callers, who all
// wait for it and see its effects; async fn; Go's exception semantics.

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "goro.hpp"
#include "tests/test_support.hpp"

namespace {

using goro::test::procs;

TEST(Once, RunsOnceAndEveryConcurrentCallerWaitsForIt) {
  for (int round = 0; round < 20; ++round) {
    std::atomic<int> calls{0}, saw_init{0};
    goro::run(
        [](std::atomic<int>* calls, std::atomic<int>* saw) -> goro::task<void> {
          goro::once once;
          int table = 0;  // plain: written by fn, read by all callers
          std::vector<goro::join_handle<void>> hs;
          for (int i = 0; i < 32; ++i)
            hs.push_back(goro::spawn([](goro::once* once, int* table, std::atomic<int>* calls,
                                        std::atomic<int>* saw) -> goro::task<void> {
              co_await once->call([&]() -> goro::task<void> {
                calls->fetch_add(1);
                for (int k = 0; k < 10; ++k) co_await goro::yield();  // others arrive meanwhile
                *table = 42;
              });
              if (*table == 42) saw->fetch_add(1);
            }(&once, &table, calls, saw)));
          for (auto& h : hs) co_await h;
          EXPECT_TRUE(once.done());
        }(&calls, &saw_init),
        procs(4));
    EXPECT_EQ(calls.load(), 1);
    EXPECT_EQ(saw_init.load(), 32);
  }
}

TEST(Once, PlainFunctionAndLaterCallsReturnAtOnce) {
  goro::run([]() -> goro::task<void> {
    goro::once once;
    int n = 0;
    EXPECT_FALSE(once.done());
    co_await once.call([&] { ++n; });
    co_await once.call([&] { ++n; });
    EXPECT_EQ(n, 1);
    EXPECT_TRUE(once.done());
  }());
}

TEST(Once, AThrowingFnCountsAsDoneAsInGo) {
  goro::run(
      []() -> goro::task<void> {
        goro::once once;
        std::atomic<int> calls{0};
        bool threw = false;
        try {
          co_await once.call([&] {
            calls.fetch_add(1);
            throw std::runtime_error("init failed");
          });
        } catch (const std::runtime_error& e) {
          threw = std::string(e.what()) == "init failed";
        }
        EXPECT_TRUE(threw) << "the caller that ran fn gets its exception";
        co_await once.call([&] { calls.fetch_add(1); });
        EXPECT_EQ(calls.load(), 1);
      }(),
      procs(2));
}

}  // namespace
