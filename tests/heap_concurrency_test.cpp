// Collections while several registered threads allocate, and while threads
// sleep in futex and epoll waits inside and outside blocking regions.

#include <errno.h>
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "core/futex.hpp"
#include "heap/blocking_region.hpp"
#include "heap/collector_init.hpp"
#include "heap/gc.hpp"
#include "heap/gc_containers.hpp"
#include "heap/gc_new.hpp"
#include "heap/heap_stats.hpp"
#include "heap/thread_attachment.hpp"

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr uint64_t kScale = 8;
#else
constexpr uint64_t kScale = 1;
#endif

struct node {
  node* next;
  uint64_t value;
  uint64_t check;
};

uint64_t mix(uint64_t x) {
  x ^= x >> 31;
  x *= 0x9E3779B97F4A7C15ull;
  x ^= x >> 29;
  return x;
}

node* make(uint64_t v, node* next = nullptr) {
  return goro::gc_new<node>(next, v, mix(v));
}

// Shared structure: a static container is a root (its header is in .bss),
// its nodes and buckets are in the collected heap.
std::mutex g_shared_mu;
goro::gc_unordered_map<uint64_t, node*> g_shared;  // protected by g_shared_mu

// One worker: a private structure (a gc_vector of short lists) whose
// checksum it verifies while replacing parts of it and making garbage. It
// allocates at least `bytes`, then goes on until `enough()` says enough
// collections have overlapped the workers (at most 16 times `bytes`): how
// many collections a volume of allocation brings is the pacer's business.
template <class Enough>
void worker(int id, uint64_t bytes, Enough enough, std::atomic<uint64_t>& errors) {
  goro::heap::thread_attachment attach;
  constexpr std::size_t kSlots = 4096, kLen = 4;
  goro::gc_vector<node*> slots(kSlots, nullptr);
  uint64_t serial = static_cast<uint64_t>(id) << 40;
  auto fill = [&](std::size_t s) {
    node* head = nullptr;
    for (std::size_t k = 0; k < kLen; ++k) head = make(++serial, head);
    slots[s] = head;
  };
  auto verify = [&] {
    for (node* head : slots) {
      std::size_t len = 0;
      for (node* n = head; n != nullptr; n = n->next, ++len)
        if (n->check != mix(n->value)) errors.fetch_add(1);
      if (len != kLen) errors.fetch_add(1);
    }
  };
  for (std::size_t s = 0; s < kSlots; ++s) fill(s);
  uint64_t done = 0, rng = static_cast<uint64_t>(id) + 1;
  while (done < bytes || (!enough() && done < 16 * bytes)) {
    for (int i = 0; i < 1024; ++i) {
      rng = mix(rng + 1);
      fill(rng % kSlots);  // the old list becomes garbage
      done += kLen * sizeof(node);
      if (rng % 64 == 0) {  // garbage of other sizes, some with explicit frees
        goro::gc_vector<uint64_t> v;
        for (int k = 0; k < 300; ++k) v.push_back(k);
        goro::gc_string str(static_cast<std::size_t>(rng % 500), 'x');
        done += 4096 + str.size();
      }
    }
    if (rng % 4 == 0) {
      std::lock_guard lk(g_shared_mu);
      const uint64_t key = rng % 512;
      node* n = make(key);
      g_shared[key] = n;
    }
    if ((done / 1024) % 64 == 0) verify();
  }
  verify();
}

TEST(HeapConcurrency, ThreadsAllocateWhileCollectionsRunAndLoseNothing) {
  goro::heap::init();
  const goro::heap_stats start = goro::read_heap_stats();
  std::atomic<uint64_t> errors{0};
  std::atomic<bool> stop{false};
  const int kThreads = 4;
  constexpr uint64_t kCollections = 10;
  auto enough = [&] {
    return goro::read_heap_stats().collections - start.collections > kCollections;
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] { worker(t, 256 * (uint64_t{1} << 20) / kScale, enough, errors); });
  std::thread explicit_gc([&] {
    goro::heap::thread_attachment attach;
    while (!stop.load()) {
      goro::gc();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  for (auto& t : threads) t.join();
  stop = true;
  explicit_gc.join();
  EXPECT_EQ(errors.load(), 0u);
  std::lock_guard lk(g_shared_mu);
  EXPECT_GT(g_shared.size(), 0u);
  for (const auto& [k, n] : g_shared) {
    ASSERT_EQ(n->value, k);
    ASSERT_EQ(n->check, mix(k));
  }
  const goro::heap_stats end = goro::read_heap_stats();
  EXPECT_GT(end.collections - start.collections, kCollections);
}

// Allocates garbage between collections, so a wrongly freed object would be
// overwritten.
void churn() {
  for (int i = 0; i < 20000; ++i) {
    node* n = make(~uint64_t{0});
    n->check = 0;
  }
}

struct parked_result {
  int eintr = 0;
  bool woke = false;
  bool intact = false;
};

enum class wait_kind { futex, epoll };

void park(wait_kind kind, bool in_region, goro::futex_word& word, int efd, std::atomic<int>& parked,
          parked_result& r) {
  goro::heap::thread_attachment attach;
  node* mine = make(12345);  // only this stack refers to it
  auto wait = [&] {
    if (kind == wait_kind::futex) {
      parked.fetch_add(1);
      while (word.word().load() == 0) word.wait(0, 30'000'000'000);
      r.woke = true;
      return;
    }
    const int ep = epoll_create1(0);
    epoll_event ev{};
    ev.events = EPOLLIN;
    epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
    parked.fetch_add(1);
    for (;;) {
      epoll_event out{};
      const int n = epoll_wait(ep, &out, 1, 30'000);
      if (n < 0 && errno == EINTR) {
        ++r.eintr;  // a collection's stop signal: retry
        continue;
      }
      r.woke = n == 1;
      break;
    }
    close(ep);
  };
  if (in_region) {
    goro::heap::blocking_region(wait);
  } else {
    wait();
  }
  r.intact = mine->value == 12345 && mine->check == mix(12345);
}

TEST(HeapConcurrency, ParkedThreadsKeepWorkingAcrossCollections) {
  goro::heap::init();
  goro::futex_word word{0};
  const int efd = eventfd(0, EFD_NONBLOCK);
  ASSERT_GE(efd, 0);
  std::atomic<int> parked{0};
  parked_result res[4];
  std::vector<std::thread> threads;
  threads.emplace_back(park, wait_kind::futex, false, std::ref(word), efd, std::ref(parked),
                       std::ref(res[0]));
  threads.emplace_back(park, wait_kind::futex, true, std::ref(word), efd, std::ref(parked),
                       std::ref(res[1]));
  threads.emplace_back(park, wait_kind::epoll, false, std::ref(word), efd, std::ref(parked),
                       std::ref(res[2]));
  threads.emplace_back(park, wait_kind::epoll, true, std::ref(word), efd, std::ref(parked),
                       std::ref(res[3]));
  while (parked.load() < 4) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // into the syscalls
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) {
    churn();
    goro::gc();
  }
  // Nobody waited for the parked threads to time out.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  word.word().store(1);
  word.wake_all();
  const uint64_t one = 1;
  ASSERT_EQ(write(efd, &one, sizeof one), static_cast<ssize_t>(sizeof one));
  for (auto& t : threads) t.join();
  close(efd);
  for (const parked_result& r : res) {
    EXPECT_TRUE(r.woke);
    EXPECT_TRUE(r.intact);
  }
  // Outside a blocking region every collection interrupts epoll_wait
  // (boehm-probe.md section 8); inside one, the collector leaves it alone.
  EXPECT_GE(res[2].eintr, 1);
  EXPECT_EQ(res[3].eintr, 0);
}

}  // namespace
