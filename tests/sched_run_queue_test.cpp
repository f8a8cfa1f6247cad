// The local run queue on its own (push/pop/overflow/steal with a ring of 4),
// and the whole scheduler with rings and run stacks shrunk to 4 so overflow
// to the global queue and stealing happen on every few spawns.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "goro.hpp"
#include "sched/detail/run_queue.hpp"
#include "sched/detail/scheduler.hpp"

namespace {

using goro::detail::run_queue;
using goro::detail::task_header;

TEST(RunQueue, FifoWithinCapacity) {
  run_queue q(4);
  task_header t[4];
  for (auto& x : t) ASSERT_TRUE(q.try_push(&x));
  EXPECT_FALSE(q.try_push(&t[0])) << "a ring of 4 holds 4";
  for (auto& x : t) EXPECT_EQ(q.pop(), &x);
  EXPECT_EQ(q.pop(), nullptr);
}

TEST(RunQueue, PeekShowsWhatPopTakesAndPushReportsTheLengthBefore) {
  run_queue q(4);
  task_header t[4];
  EXPECT_EQ(q.peek(), nullptr);
  for (uint32_t i = 0; i < 4; ++i) {
    uint32_t before = 99;
    ASSERT_TRUE(q.try_push(&t[i], &before));
    EXPECT_EQ(before, i);
  }
  uint32_t untouched = 99;
  EXPECT_FALSE(q.try_push(&t[0], &untouched));
  EXPECT_EQ(untouched, 99u) << "a failed push reports nothing";
  for (auto& x : t) {
    EXPECT_EQ(q.peek(), &x);
    EXPECT_EQ(q.pop(), &x);
  }
  EXPECT_EQ(q.peek(), nullptr);
}

TEST(RunQueue, OverflowTakesTheOlderHalf) {
  run_queue q(4);
  task_header t[4];
  for (auto& x : t) ASSERT_TRUE(q.try_push(&x));
  task_header* half[2] = {};
  ASSERT_EQ(q.take_half_for_overflow(half), 2u);
  EXPECT_EQ(half[0], &t[0]);
  EXPECT_EQ(half[1], &t[1]);
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.pop(), &t[2]);
}

TEST(RunQueue, StealTakesHalfRoundedUpAndReturnsTheLast) {
  run_queue victim(4), thief(4);
  task_header t[3];
  for (auto& x : t) ASSERT_TRUE(victim.try_push(&x));
  task_header* got = nullptr;
  ASSERT_EQ(victim.steal_into(thief, &got), 2u);  // 3 - 3/2
  EXPECT_EQ(got, &t[1]);
  EXPECT_EQ(thief.pop(), &t[0]);
  EXPECT_EQ(thief.pop(), nullptr);
  EXPECT_EQ(victim.pop(), &t[2]);
}

TEST(RunQueue, ConcurrentOwnerAndThievesLoseAndDuplicateNothing) {
  // The owner pushes and pops; two thieves steal into their own rings and
  // drain them. Every task is taken exactly once.
  constexpr int kTasks = 200'000;
  auto tasks = std::make_unique<task_header[]>(kTasks);
  auto seen = std::make_unique<std::atomic<uint8_t>[]>(kTasks);
  run_queue owner(4);
  std::atomic<bool> done{false};
  auto mark = [&](task_header* t) {
    seen[t - tasks.get()].fetch_add(1, std::memory_order_relaxed);
  };
  auto thief = [&] {
    run_queue mine(4);
    while (!done.load(std::memory_order_acquire) || !owner.empty()) {
      task_header* got = nullptr;
      if (owner.steal_into(mine, &got) > 0) {
        mark(got);
        while (task_header* x = mine.pop()) mark(x);
      }
    }
  };
  std::thread a(thief), b(thief);
  for (int i = 0; i < kTasks; ++i) {
    while (!owner.try_push(&tasks[i])) {
      if (task_header* x = owner.pop()) mark(x);
    }
    if (i % 3 == 0)
      if (task_header* x = owner.pop()) mark(x);
  }
  done.store(true, std::memory_order_release);
  while (task_header* x = owner.pop()) mark(x);
  a.join();
  b.join();
  int bad = 0;
  for (int i = 0; i < kTasks; ++i) bad += seen[i].load() != 1;
  EXPECT_EQ(bad, 0);
}

goro::runtime_options tiny_rings(int procs) {
  goro::runtime_options o;
  o.max_procs = procs;
  o.run_queue_size = 4;
  o.run_stack_size = 4;  // spawns reach the ring after four
  return o;
}

TEST(TinyRings, SpawnStormOverflowsAndStealsButRunsEverythingOnce) {
  constexpr int kTasks = 100'000;
  auto counts = std::make_unique<std::atomic<uint8_t>[]>(kTasks);
  struct result {
    uint64_t overflows = 0, steals = 0;
  };
  result r = goro::run(
      [](std::atomic<uint8_t>* counts) -> goro::task<result> {
        std::vector<goro::join_handle<void>> hs;
        hs.reserve(kTasks);
        for (int i = 0; i < kTasks; ++i)
          hs.push_back(goro::spawn([](std::atomic<uint8_t>* c) -> goro::task<void> {
            c->fetch_add(1, std::memory_order_relaxed);
            co_await goro::yield();  // back through the tiny ring once more
          }(&counts[i])));
        for (auto& h : hs) co_await h;
        result r;
        auto* s = goro::detail::sched();
        for (int i = 0; i < s->gomaxprocs.load(); ++i) {
          auto* p = s->all_p[i].load();
          r.overflows += p->overflows.load();
          r.steals += p->steals.load();
        }
        co_return r;
      }(counts.get()),
      tiny_rings(2));
  int bad = 0;
  for (int i = 0; i < kTasks; ++i) bad += counts[i].load() != 1;
  EXPECT_EQ(bad, 0);
  EXPECT_GT(r.overflows, 0u) << "a ring of 4 must have spilled to the global queue";
}

TEST(TinyRings, IdleWorkerStealsFromABusyOne) {
  // The root spawns tasks that each block their worker until a second
  // worker has run one of them (or 10 s pass). The second worker can only
  // get them by stealing: there are fewer than a ring holds, so nothing
  // overflows to the global queue.
  struct shared {
    std::mutex mu;
    std::set<std::thread::id> threads;
    size_t seen() {
      std::lock_guard lk(mu);
      return threads.size();
    }
  } sh;
  uint64_t steals = goro::run(
      [](shared* sh) -> goro::task<uint64_t> {
        std::vector<goro::join_handle<void>> hs;
        for (int i = 0; i < 3; ++i)
          hs.push_back(goro::spawn([](shared* sh) -> goro::task<void> {
            {
              std::lock_guard lk(sh->mu);
              sh->threads.insert(std::this_thread::get_id());
            }
            for (int i = 0; i < 10'000 && sh->seen() < 2; ++i)
              std::this_thread::sleep_for(std::chrono::milliseconds(1));
            co_return;
          }(sh)));
        for (auto& h : hs) co_await h;
        auto* s = goro::detail::sched();
        co_return s->all_p[0].load()->steals.load() + s->all_p[1].load()->steals.load();
      }(&sh),
      tiny_rings(2));
  EXPECT_EQ(sh.seen(), 2u);
  EXPECT_GT(steals, 0u);
}

TEST(RuntimeOptions, RejectsARingSizeThatIsNotAPowerOfTwo) {
  goro::runtime_options o;
  o.run_queue_size = 6;
  EXPECT_THROW(goro::run([]() -> goro::task<void> { co_return; }(), o), std::invalid_argument);
  o.run_queue_size = 512;
  EXPECT_THROW(goro::run([]() -> goro::task<void> { co_return; }(), o), std::invalid_argument);
}

}  // namespace
