// The run stack of spawned tasks on its own (LIFO for the owner, oldest
// first for thieves, a full stack refusing, ageing by schedule count), and
// the order it gives a whole spawn tree: depth first, with a small number
// of tasks alive at once.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>

#include "goro.hpp"
#include "sched/chan.hpp"
#include "sched/detail/run_stack.hpp"
#include "sched/detail/scheduler.hpp"
#include "tests/test_support.hpp"

namespace {

using goro::detail::run_stack;
using goro::detail::task_header;

TEST(RunStack, OwnerPopsNewestFirstAndAFullStackRefuses) {
  run_stack st(4);
  task_header t[5];
  bool below = true;
  ASSERT_TRUE(st.push(&t[0], 0, &below));
  EXPECT_FALSE(below) << "nothing under the first entry";
  for (int i = 1; i < 4; ++i) {
    ASSERT_TRUE(st.push(&t[i], 0, &below));
    EXPECT_TRUE(below);
  }
  EXPECT_FALSE(st.push(&t[4], 0)) << "a stack of 4 holds 4";
  EXPECT_EQ(st.size(), 4u);
  EXPECT_EQ(st.peek(), &t[3]);
  for (int i = 3; i >= 0; --i) EXPECT_EQ(st.pop(), &t[i]);
  EXPECT_EQ(st.pop(), nullptr);
  EXPECT_TRUE(st.empty());
}

TEST(RunStack, ThiefTakesTheOldestAndTheNewestJustWhenAskedTo) {
  run_stack st(4);
  task_header t[3];
  for (auto& x : t) ASSERT_TRUE(st.push(&x, 0));
  EXPECT_EQ(st.steal(false), &t[0]);
  EXPECT_EQ(st.steal(false), &t[1]);
  EXPECT_EQ(st.steal(false), nullptr) << "the newest entry is the owner's next task";
  EXPECT_EQ(st.steal(true), &t[2]);
  EXPECT_EQ(st.pop(), nullptr);
  // The holes thieves leave are skipped by the owner and reused after wrap.
  for (int round = 0; round < 3; ++round) {
    for (auto& x : t) ASSERT_TRUE(st.push(&x, 0));
    EXPECT_EQ(st.steal(false), &t[0]);
    EXPECT_EQ(st.pop(), &t[2]);
    EXPECT_EQ(st.pop(), &t[1]);
    EXPECT_EQ(st.pop(), nullptr);
  }
}

TEST(RunStack, RoomAndAgeSkipTheHolesThievesLeave) {
  run_stack st(4);
  task_header t[6];
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(st.push(&t[i], static_cast<uint32_t>(i) * 100));
  EXPECT_EQ(st.steal(false), &t[0]);
  EXPECT_EQ(st.steal(false), &t[1]);
  // Two holes at the bottom: room for two more.
  EXPECT_TRUE(st.push(&t[4], 400));
  EXPECT_TRUE(st.push(&t[5], 500));
  EXPECT_FALSE(st.push(&t[0], 600));
  // The oldest real entry (t[2], pushed at 200) is the one aged.
  EXPECT_EQ(st.take_bottom_if_older(200), nullptr);
  EXPECT_EQ(st.take_bottom_if_older(201), &t[2]);
  for (task_header* want : {&t[5], &t[4], &t[3]}) EXPECT_EQ(st.pop(), want);
  EXPECT_TRUE(st.empty());
}

TEST(RunStack, TakeBottomIfOlderLooksOnlyAtTheOldestEntry) {
  run_stack st(8);
  task_header t[3];
  ASSERT_TRUE(st.push(&t[0], 100));
  ASSERT_TRUE(st.push(&t[1], 200));
  ASSERT_TRUE(st.push(&t[2], 50));  // newer, with an older stamp: never looked at
  EXPECT_EQ(st.take_bottom_if_older(100), nullptr) << "pushed at 100 is not older than 100";
  EXPECT_EQ(st.take_bottom_if_older(101), &t[0]);
  EXPECT_EQ(st.take_bottom_if_older(150), nullptr);
  EXPECT_EQ(st.take_bottom_if_older(201), &t[1]);
  // Stamps are compared wrap-around safe: 2^32 - 10 is older than 5.
  EXPECT_EQ(st.take_bottom(), &t[2]);
  ASSERT_TRUE(st.push(&t[0], UINT32_MAX - 10));
  EXPECT_EQ(st.take_bottom_if_older(5), &t[0]);
  EXPECT_TRUE(st.empty());
}

TEST(RunStack, ConcurrentOwnerAndThievesLoseAndDuplicateNothing) {
  // The owner pushes and pops (and now and then takes its bottom); two
  // thieves steal. Every task is taken exactly once.
  constexpr int kTasks = 200'000;
  auto tasks = std::make_unique<task_header[]>(kTasks);
  auto seen = std::make_unique<std::atomic<uint8_t>[]>(kTasks);
  run_stack owner(4);
  std::atomic<bool> done{false};
  auto mark = [&](task_header* t) {
    seen[t - tasks.get()].fetch_add(1, std::memory_order_relaxed);
  };
  auto thief = [&] {
    while (!done.load(std::memory_order_acquire) || !owner.empty()) {
      if (task_header* x = owner.steal(true)) mark(x);
    }
  };
  std::thread a(thief), b(thief);
  for (int i = 0; i < kTasks; ++i) {
    while (!owner.push(&tasks[i], static_cast<uint32_t>(i))) {
      if (task_header* x = owner.pop()) mark(x);
    }
    if (i % 3 == 0)
      if (task_header* x = owner.pop()) mark(x);
    if (i % 7 == 0)
      if (task_header* x = owner.take_bottom()) mark(x);
  }
  while (task_header* x = owner.pop()) mark(x);
  done.store(true, std::memory_order_release);
  a.join();
  b.join();
  int bad = 0;
  for (int i = 0; i < kTasks; ++i) bad += seen[i].load() != 1;
  EXPECT_EQ(bad, 0);
}

// Skynet's shape: every node spawns `div` children and sums what they send
// back on one unbuffered channel. Counts the tasks spawned and not yet
// finished, and the most there were at once.
struct tree_count {
  std::atomic<int64_t> alive{0};
  std::atomic<int64_t> peak{0};
  void add(int64_t d) {
    const int64_t v = alive.fetch_add(d, std::memory_order_relaxed) + d;
    int64_t p = peak.load(std::memory_order_relaxed);
    while (v > p && !peak.compare_exchange_weak(p, v, std::memory_order_relaxed)) {
    }
  }
};

goro::task<void> tree(goro::chan<int64_t> out, int64_t num, int64_t size, int64_t div,
                      tree_count* c) {
  if (size > 1) {
    goro::chan<int64_t> sums;
    const int64_t sub = size / div;
    for (int64_t i = 0; i < div; ++i) {
      c->add(1);
      goro::spawn(tree(sums, num + i * sub, sub, div, c)).detach();
    }
    int64_t sum = 0;
    for (int64_t i = 0; i < div; ++i) sum += (co_await sums.recv()).value_or(0);
    num = sum;
  }
  // Counted out before the send: once the root has its sum, goro::run may
  // return before a task readied by its send runs again.
  c->add(-1);
  co_await out.send(num);
}

int64_t run_tree(int64_t size, int64_t div, tree_count* c, goro::runtime_options o) {
  return goro::run(
      [](int64_t size, int64_t div, tree_count* c) -> goro::task<int64_t> {
        goro::chan<int64_t> out(1);
        c->add(1);
        goro::spawn(tree(out, 0, size, div, c)).detach();
        co_return (co_await out.recv()).value_or(-1);
      }(size, div, c),
      o);
}

TEST(SpawnOrder, ATreeOfSpawnsRunsDepthFirst) {
  // 10^4 leaves, 11,111 tasks. Newest first, the tasks alive at once are
  // about one branch: depth x fan-out (4 x 10) plus the parents waiting on
  // it. Oldest first (a FIFO of spawns, as Go's and Tokio's queues give),
  // whole levels are alive: thousands.
  tree_count c;
  EXPECT_EQ(run_tree(10'000, 10, &c, goro::test::procs(1)), 10'000LL * 9'999 / 2);
  EXPECT_EQ(c.alive.load(), 0);
  EXPECT_LT(c.peak.load(), 200) << "spawned tasks did not run newest first";
}

TEST(SpawnOrder, WithAStackOfTwoTheSameTreeIsAliveBreadthFirst) {
  // The control: a run stack too small for the tree's frontier sends the
  // spawns to the FIFO ring, and the same tree is alive level by level.
  tree_count c;
  goro::runtime_options o = goro::test::procs(1);
  o.run_stack_size = 2;
  EXPECT_EQ(run_tree(10'000, 10, &c, o), 10'000LL * 9'999 / 2);
  EXPECT_GT(c.peak.load(), 1'000);
}

TEST(SpawnOrder, TwoWorkersSplitATreeAndKeepItSmall) {
  // Thieves take the oldest spawned task, the biggest subtree left: both
  // workers then run their own part depth first.
  tree_count c;
  EXPECT_EQ(run_tree(100'000, 10, &c, goro::test::procs(2)), 100'000LL * 99'999 / 2);
  EXPECT_EQ(c.alive.load(), 0);
  EXPECT_LT(c.peak.load(), 2'000);
}

TEST(RuntimeOptions, RejectsARunStackSizeThatIsNotAPowerOfTwoUpTo1024) {
  goro::runtime_options o;
  o.run_stack_size = 12;
  EXPECT_THROW(goro::run([]() -> goro::task<void> { co_return; }(), o), std::invalid_argument);
  o.run_stack_size = 2048;
  EXPECT_THROW(goro::run([]() -> goro::task<void> { co_return; }(), o), std::invalid_argument);
  o.run_stack_size = 1;
  EXPECT_THROW(goro::run([]() -> goro::task<void> { co_return; }(), o), std::invalid_argument);
}

}  // namespace
