// The safety nets: set_max_threads (Go's debug.SetMaxThreads) and
// set_max_stack (debug.SetMaxStack). Exceeding either ends the process, so
// those cases run in a child process (gtest death tests, threadsafe style:
// the child re-executes the binary instead of forking a threaded parent).

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "goro.hpp"
#include "tests/test_support.hpp"

// The runaway recursion whose frames the stack report must name.
goro::task<int64_t> goro_test_runaway(long n) {
  if (n == 0) co_return 0;
  co_return 1 + co_await goro_test_runaway(n - 1);
}

namespace {

using namespace std::chrono_literals;

using goro::test::procs;

class Limits : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// ------------------------------------------------------------- threads --

TEST_F(Limits, SetMaxThreadsRejectsCountsBelowOne) {
  for (int bad : {0, -1, -10000}) {
    try {
      goro::set_max_threads(bad);
      FAIL() << "expected std::invalid_argument for " << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()),
                "goro::set_max_threads(" + std::to_string(bad) + "): want a thread count >= 1");
    }
  }
}

TEST_F(Limits, SetMaxThreadsReturnsThePreviousLimit) {
  const int def = goro::set_max_threads(5000);
  EXPECT_EQ(def, 10000) << "Go's default";
  EXPECT_EQ(goro::set_max_threads(def), 5000);
}

TEST_F(Limits, ThreadCountsByKind) {
  auto c = goro::run(
      []() -> goro::task<goro::thread_count> {
        co_await goro::blocking([] {});
        co_return goro::thread_counts();
      }(),
      procs(2));
  EXPECT_EQ(c.sysmon, 1);
  EXPECT_GE(c.workers, 1);
  EXPECT_LE(c.workers, 3);
  EXPECT_EQ(c.blocking, 1);
  EXPECT_EQ(c.locked, 0);
  EXPECT_EQ(goro::thread_counts().total(), 0) << "no runtime runs now";
}

void exceed_with_blocking_calls() {
  goro::set_max_threads(8);
  goro::run(
      []() -> goro::task<void> {
        std::atomic<bool> never{false};
        std::vector<goro::join_handle<void>> hs;
        for (int i = 0; i < 32; ++i) {
          hs.push_back(goro::spawn([](std::atomic<bool>* f) -> goro::task<void> {
            co_await goro::blocking([f] {
              while (!f->load()) std::this_thread::sleep_for(1ms);
            });
          }(&never)));
        }
        for (auto& h : hs) co_await h;
      }(),
      procs(2));
  std::exit(0);  // not reached
}

TEST_F(Limits, TooManyBlockingThreadsEndTheProcessWithGosMessage) {
  EXPECT_EXIT(exceed_with_blocking_calls(), ::testing::ExitedWithCode(2),
              "goro: program exceeds 8-thread limit \\([0-9]+ threads: [0-9]+ workers, [0-9]+ "
              "blocking, 0 locked, 1 sysmon\\)");
}

void exceed_with_locked_threads() {
  goro::set_max_threads(6);
  goro::run(
      []() -> goro::task<void> {
        goro::test::event never;
        std::vector<goro::join_handle<void>> hs;
        // Each pinned task parks its thread; its P goes to a new one.
        for (int i = 0; i < 32; ++i) {
          hs.push_back(goro::spawn([](goro::test::event* e) -> goro::task<void> {
            co_await goro::lock_os_thread();
            co_await e->wait();
          }(&never)));
        }
        for (auto& h : hs) co_await h;
      }(),
      procs(2));
  std::exit(0);  // not reached
}

TEST_F(Limits, TooManyPinnedThreadsEndTheProcessWithGosMessage) {
  EXPECT_EXIT(exceed_with_locked_threads(), ::testing::ExitedWithCode(2),
              "goro: program exceeds 6-thread limit \\([0-9]+ threads: [0-9]+ workers, 0 "
              "blocking, [1-9][0-9]* locked, 1 sysmon\\)");
}

void lower_below_current() {
  goro::run(
      []() -> goro::task<void> {
        co_await goro::blocking([] {});
        goro::set_max_threads(1);  // sysmon + a worker + a blocking thread
      }(),
      procs(2));
  std::exit(0);  // not reached
}

TEST_F(Limits, LoweringTheLimitBelowTheCurrentCountEndsTheProcess) {
  EXPECT_EXIT(lower_below_current(), ::testing::ExitedWithCode(2),
              "goro: program exceeds 1-thread limit \\([0-9]+ threads: [0-9]+ workers, 1 "
              "blocking, 0 locked, 1 sysmon\\)");
}

// --------------------------------------------------------------- stack --

TEST_F(Limits, SetMaxStackRejectsSizesBelowOneAndReturnsThePrevious) {
  EXPECT_THROW(goro::set_max_stack(0), std::invalid_argument);
  try {
    goro::set_max_stack(-5);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "goro::set_max_stack(-5): want a byte count >= 1");
  }
  const int64_t def = goro::set_max_stack(1 << 20);
  EXPECT_EQ(def, int64_t{1} << 30) << "Go's default on 64-bit";
  EXPECT_EQ(goro::set_max_stack(def), 1 << 20);
}

// Reads the chain total of the awaiting task without suspending.
struct chain_probe {
  uint64_t* out;
  bool await_ready() const noexcept { return false; }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) const noexcept {
    *out = h.promise().chain_bytes_;
    return false;
  }
  void await_resume() const noexcept {}
};

goro::task<void> probe_at_depth(int n, uint64_t* out) {
  if (n == 0) {
    co_await chain_probe{out};
    co_return;
  }
  co_await probe_at_depth(n - 1, out);
}

uint64_t chain_at_depth(int n) {
  uint64_t bytes = 0;
  goro::run(
      [](int n, uint64_t* b) -> goro::task<void> { co_await probe_at_depth(n, b); }(n, &bytes),
      procs(1));
  return bytes;
}

TEST_F(Limits, ChainBytesGrowByTheAwaitedFrameSize) {
  const uint64_t c0 = chain_at_depth(0), c1 = chain_at_depth(1), c100 = chain_at_depth(100);
  const uint64_t frame = c1 - c0;
  EXPECT_GE(frame, sizeof(goro::detail::promise_base)) << "a frame holds at least its promise";
  EXPECT_LT(frame, 4096u);
  EXPECT_EQ(c100 - c0, 100 * frame);
}

void run_to_depth_with_limit(int depth, uint64_t limit) {
  goro::set_max_stack(static_cast<int64_t>(limit));
  chain_at_depth(depth);
  std::exit(0);
}

TEST_F(Limits, TheLimitIsExactAndEndsTheProcessOnlyPastIt) {
  const uint64_t at200 = chain_at_depth(200);
  EXPECT_EXIT(run_to_depth_with_limit(200, at200), ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(run_to_depth_with_limit(200, at200 - 1), ::testing::ExitedWithCode(2),
              "goro: task stack exceeds " + std::to_string(at200 - 1) + "-byte limit");
}

TEST_F(Limits, ASpawnedTaskStartsAChainOfItsOwn) {
  const uint64_t at300 = chain_at_depth(300);
  const int64_t old = goro::set_max_stack(static_cast<int64_t>(at300));
  uint64_t inner = 0;
  goro::run(
      [](uint64_t* inner) -> goro::task<void> {
        uint64_t dummy = 0;
        co_await probe_at_depth(250, &dummy);
        // Deep in this chain, a spawned task recurses 250 deep again: its
        // own chain, well under the limit.
        co_await goro::spawn(probe_at_depth(250, inner));
      }(&inner),
      procs(1));
  goro::set_max_stack(old);
  EXPECT_GT(inner, 0u);
  EXPECT_LT(inner, at300);
}

void runaway_recursion() {
  goro::set_max_stack(1 << 20);
  goro::run(goro_test_runaway(100'000'000), procs(1));
  std::exit(0);  // not reached
}

TEST_F(Limits, RunawayRecursionEndsTheProcessNamingItsFrames) {
  EXPECT_EXIT(runaway_recursion(), ::testing::ExitedWithCode(2),
              "goro: task stack exceeds 1048576-byte limit \\(task [0-9]+: [0-9]+ awaited frames, "
              "10[0-9]{5} bytes\\)\n"
              "  #0 goro_test_runaway\\(long\\) \\[coroutine\\] \\([0-9]+-byte frame\\)\n"
              "  #1 goro_test_runaway\\(long\\) \\[coroutine\\] .*frames elided.*\n"
              "  #[0-9]+ .*goro::run<long>.* \\[coroutine\\] \\([0-9]+-byte frame\\)");
}

}  // namespace
