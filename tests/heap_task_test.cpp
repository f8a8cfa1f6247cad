// GC objects held only in a suspended task's frame survive collections
// while the task moves between workers.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <set>
#include <thread>
#include <vector>

#include "goro.hpp"
#include "heap/gc.hpp"
#include "heap/gc_new.hpp"
#include "heap/heap_stats.hpp"

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
