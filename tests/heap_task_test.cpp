// GC objects held only in a suspended task's frame survive collections
// while the task moves between workers.
//
// The first test forces the move: a helper task collects while the holder
// is parked, then wakes it so that it can only resume on a worker other
// than the one it parked on (see collector_hog), and the holder counts the
// rounds in which its thread really changed. The second lets stealing move
// 16 holders around a busier runtime and only requires survival.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <set>
#include <thread>
#include <vector>

#include "goro.hpp"
#include "heap/gc.hpp"
#include "heap/gc_new.hpp"
#include "heap/heap_stats.hpp"
#include "sched/chan.hpp"

#if !defined(GORO_FRAMES_MALLOC)

namespace {

struct payload {
  uint64_t words[16];
};

uint64_t pattern(uint64_t id, int i) {
  return (id << 32) ^ (static_cast<uint64_t>(i) * 0x9E3779B9u);
}

// Garbage between collections, so a wrongly reclaimed object is overwritten.
void churn() {
  for (int i = 0; i < 20000; ++i) {
    payload* p = goro::gc_new<payload>();
    p->words[0] = ~uint64_t{0};
  }
}

// ------------------------------------------------------ forced migration --

struct relay {
  goro::chan<int> wake{1};
  std::atomic<std::thread::id> left_from{};  // the holder's thread when it parked
  std::atomic<int> resumes{0};
  std::atomic<int> collections{0};
};

goro::task<void> nothing() {
  co_return;
}

// Runs while the holder is parked on r->wake: collects, then wakes it so that
// it resumes on another worker. Made ready from a worker, the holder lands
// in that worker's runnext slot:
//   - on a worker other than the holder's last one, this task just ends and
//     the worker runs the holder next;
//   - on the holder's last worker, this task spawns one more task (which
//     queues behind the holder and so wakes an idle worker, which steals
//     both in turn) and then keeps this worker busy until the holder has
//     resumed, so only another worker can run it. Bounded: 10 s, then the
//     round just does not count as a migration.
goro::task<void> collector_hog(relay* r, int resumes_before) {
  churn();
  goro::gc();
  r->collections.fetch_add(1);
  const bool on_holders_worker = std::this_thread::get_id() == r->left_from.load();
  co_await r->wake.send(1);
  if (!on_holders_worker) co_return;
  (void)goro::spawn(nothing());  // detached
  for (int i = 0; i < 10'000 && r->resumes.load() == resumes_before; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

struct migration_outcome {
  bool intact = true;
  int rounds = 0;
  int migrations = 0;
  int threads_seen = 0;
};

// The only reference to `obj` is this frame's local; while parked on the
// channel, the frame is reachable only through the channel's wait queue
// (unscanned runtime memory).
goro::task<migration_outcome> migrating_holder(relay* r, int wanted) {
  payload* obj = goro::gc_new<payload>();
  for (int i = 0; i < 16; ++i) obj->words[i] = pattern(7, i);
  std::set<std::thread::id> threads;  // operator-new memory; holds no GC pointers
  migration_outcome out;
  // A round that did not move (the wake-up raced with a thief) is retried;
  // 10x leaves room for that without looping forever.
  for (; out.migrations < wanted && out.rounds < wanted * 10; ++out.rounds) {
    const std::thread::id before = std::this_thread::get_id();
    threads.insert(before);
    r->left_from.store(before);
    goro::join_handle<void> hog = goro::spawn(collector_hog(r, r->resumes.load()));
    (void)co_await r->wake.recv();
    r->resumes.fetch_add(1);
    const std::thread::id after = std::this_thread::get_id();
    threads.insert(after);
    out.migrations += after != before;
    for (int i = 0; i < 16; ++i) out.intact = out.intact && obj->words[i] == pattern(7, i);
    co_await hog;
  }
  out.threads_seen = static_cast<int>(threads.size());
  co_return out;
}

TEST(HeapTask, ObjectInAParkedTaskSurvivesCollectionsWhileTheTaskIsForcedToMigrate) {
  constexpr int kMigrations = 20;
  relay r;
  goro::runtime_options opts;
  opts.max_procs = 2;
  opts.read_environment = false;
  const uint64_t before = goro::read_heap_stats().collections;
  const migration_outcome out = goro::run(migrating_holder(&r, kMigrations), opts);
  std::printf("%d rounds, %d migrations across %d threads, %d collections\n", out.rounds,
              out.migrations, out.threads_seen, r.collections.load());
  EXPECT_TRUE(out.intact);
  EXPECT_EQ(out.migrations, kMigrations);
  EXPECT_GE(out.threads_seen, 2);
  EXPECT_EQ(r.collections.load(), out.rounds);
  EXPECT_GE(goro::read_heap_stats().collections - before, static_cast<uint64_t>(kMigrations));
}

// --------------------------------------------------- migration by stealing --

struct outcome {
  bool intact = true;
  int threads_seen = 0;
};

// The only reference to `obj` is the local in this coroutine's frame: the
// handle to the frame sits in run queues (unscanned runtime memory) while it
// is suspended.
goro::task<outcome> holder(uint64_t id, std::atomic<int>* collections, int rounds) {
  payload* obj = goro::gc_new<payload>();
  for (int i = 0; i < 16; ++i) obj->words[i] = pattern(id, i);
  std::set<std::thread::id> threads;  // operator-new memory; holds no GC pointers
  outcome out;
  for (int round = 0; round < rounds; ++round) {
    threads.insert(std::this_thread::get_id());
    if (id == 0) {  // one task forces the collections, the others are suspended
      churn();
      goro::gc();
      collections->fetch_add(1);
    }
    co_await goro::yield();
    for (int i = 0; i < 16; ++i) out.intact = out.intact && obj->words[i] == pattern(id, i);
    // Uneven work keeps the run queues uneven, so idle Ps steal.
    if (id % 3 == 1) churn();
  }
  // Keep yielding until the collector task has finished its rounds, so every
  // holder stays suspended across all of them.
  while (collections->load() < rounds) co_await goro::yield();
  for (int i = 0; i < 16; ++i) out.intact = out.intact && obj->words[i] == pattern(id, i);
  out.threads_seen = static_cast<int>(threads.size());
  co_return out;
}

goro::task<std::vector<outcome>> main_task(std::atomic<int>* collections) {
  std::vector<goro::join_handle<outcome>> hs;
  for (uint64_t id = 0; id < 16; ++id) hs.push_back(goro::spawn(holder(id, collections, 20)));
  // Extra short tasks that come and go, so Ps run dry and steal holders.
  for (int wave = 0; wave < 40; ++wave) {
    std::vector<goro::join_handle<void>> quick;
    for (int k = 0; k < 8; ++k)
      quick.push_back(goro::spawn([]() -> goro::task<void> {
        churn();
        co_return;
      }()));
    for (auto& q : quick) co_await q;
  }
  std::vector<outcome> outs;
  for (auto& h : hs) outs.push_back(co_await h);
  co_return outs;
}

TEST(HeapTask, ObjectInASuspendedTaskFrameSurvivesCollectionsWhileTheTaskMigrates) {
  std::atomic<int> collections{0};
  goro::runtime_options opts;
  opts.max_procs = 4;
  opts.read_environment = false;
  const uint64_t before = goro::read_heap_stats().collections;
  const std::vector<outcome> outs = goro::run(main_task(&collections), opts);
  EXPECT_GE(goro::read_heap_stats().collections - before, 20u);
  ASSERT_EQ(outs.size(), 16u);
  int migrated = 0;
  for (const outcome& o : outs) {
    EXPECT_TRUE(o.intact);
    migrated += o.threads_seen > 1;
  }
  // Stealing decides where a yielded task resumes, and nothing in the public
  // API can force a move: in 3 local runs, 2 had holders migrate. So the
  // count is reported, not required; survival above is required either way.
  RecordProperty("tasks_that_migrated", migrated);
  std::printf("%d of 16 holder tasks ran on more than one worker\n", migrated);
}

}  // namespace

#endif  // !GORO_FRAMES_MALLOC
