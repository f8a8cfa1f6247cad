// Ordinary use of what the collector must see, with no explicit collection:
// under GORO_DEBUG=gcstress=N (scripts/test runs this binary so) the
// collections come from the stress mode, and an object the collector cannot
// see is collected and its memory reused by the churn that follows. Without
// gcstress these tests skip: nothing would collect during them.
//
// Each reverted fix of issue 11's items 1-3 (pressure callbacks, exceptions,
// thread attachment) makes its test here fail under gcstress.

#include <gc.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

#include "goro.hpp"
#include "heap/collector_init.hpp"
#include "heap/detail/gc_stress.hpp"

namespace {

struct node {
  uint64_t magic;
  node* next;
  uint64_t payload[2];
};

// A list of n nodes; node i holds magic seed + i.
__attribute__((noinline)) node* make_list(int n, uint64_t seed) {
  node* head = nullptr;
  for (int i = n - 1; i >= 0; --i)
    head = goro::gc_new<node>(node{seed + static_cast<uint64_t>(i), head, {seed, seed}});
  return head;
}

// Whether the list is exactly what make_list built.
bool list_intact(const node* head, int n, uint64_t seed) {
  int i = 0;
  for (const node* x = head; x; x = x->next, ++i)
    if (i >= n || x->magic != seed + static_cast<uint64_t>(i) || x->payload[0] != seed)
      return false;
  return i == n;
}

// Garbage that reuses what was collected: same size, other contents.
__attribute__((noinline)) void churn(int n) {
  for (int i = 0; i < n; ++i) (void)make_list(4, 0xBAD0000 + static_cast<uint64_t>(i));
}

bool gcstress_on() {
  goro::heap::init();
  return goro::heap::detail::gc_stress_enabled();
}
#define REQUIRE_GCSTRESS() \
  if (!gcstress_on())      \
  GTEST_SKIP() << "meaningful only under GORO_DEBUG=gcstress=N (scripts/test runs it so)"

uint64_t collections() {
  return goro::read_heap_stats().collections;
}

TEST(GcStress, APressureCallbacksCapturedListSurvives) {
  REQUIRE_GCSTRESS();
  const uint64_t gc0 = collections();
  void* link = nullptr;
  node* probe = nullptr;
  auto id = [&]() __attribute__((noinline)) {
    node* list = make_list(64, 0xCA11);
    probe = list;
    link = reinterpret_cast<void*>(GC_HIDE_POINTER(probe));
    GC_general_register_disappearing_link(&link, probe);
    probe = nullptr;
    return goro::on_gc_pressure([list](const goro::gc_pressure_event&) { (void)list->magic; });
  }
  ();
  churn(20000);
  EXPECT_GT(collections(), gc0 + 2) << "gcstress ran no collections";
  EXPECT_NE(link, nullptr) << "the list captured by a pressure callback was collected";
  goro::remove_gc_pressure_callback(id);
  if (link) GC_unregister_disappearing_link(&link);
}

struct list_error : std::runtime_error {
  node* list;
  explicit list_error(node* l) : std::runtime_error("list_error"), list(l) {}
};

TEST(GcStress, AListCarriedByAnExceptionSurvivesUntilItIsCaught) {
  REQUIRE_GCSTRESS();
  const uint64_t gc0 = collections();
  int intact = 0;
  goro::run([](int* intact) -> goro::task<void> {
    std::vector<goro::join_handle<void>> hs;
    for (int t = 0; t < 8; ++t)
      hs.push_back(goro::spawn([](int t) -> goro::task<void> {
        co_await goro::yield();
        throw list_error(make_list(64, 0xE000 + static_cast<uint64_t>(t)));
      }(t)));
    // The exceptions wait in the tasks while the program allocates.
    for (int i = 0; i < 40; ++i) {
      churn(500);
      co_await goro::yield();
    }
    for (int t = 0; t < 8; ++t) {
      try {
        co_await hs[static_cast<std::size_t>(t)];
      } catch (const list_error& e) {
        churn(200);  // and while it is being handled
        *intact += list_intact(e.list, 64, 0xE000 + static_cast<uint64_t>(t));
      }
    }
  }(&intact));
  EXPECT_GT(collections(), gc0 + 2) << "gcstress ran no collections";
  EXPECT_EQ(intact, 8) << "lists carried by exceptions were collected";
}

TEST(GcStress, AListOnAnAttachedThreadsStackSurvives) {
  REQUIRE_GCSTRESS();
  const uint64_t gc0 = collections();
  std::atomic<int> intact{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 2; ++t)
    ts.emplace_back([&intact, t] {
      goro::thread_attachment attach;
      node* list = make_list(256, 0x7000 + static_cast<uint64_t>(t));
      churn(10000);
      intact += list_intact(list, 256, 0x7000 + static_cast<uint64_t>(t));
    });
  churn(10000);
  for (auto& t : ts) t.join();
  EXPECT_GT(collections(), gc0 + 2) << "gcstress ran no collections";
  EXPECT_EQ(intact.load(), 2) << "a list on an attached thread's stack was collected";
}

TEST(GcStress, ListsInTaskFramesAndChannelsSurviveSchedulingPoints) {
  REQUIRE_GCSTRESS();
  int intact = 0;
  goro::run([](int* intact) -> goro::task<void> {
    goro::chan<node*> ch(16);
    auto producer = goro::spawn([](goro::chan<node*> ch) -> goro::task<void> {
      for (int i = 0; i < 200; ++i)
        co_await ch.send(make_list(8, 0x100 * static_cast<uint64_t>(i)));
      ch.close();
    }(ch));
    node* mine = make_list(32, 0xF00);
    int i = 0;
    while (auto l = co_await ch.recv()) {
      *intact += list_intact(*l, 8, 0x100 * static_cast<uint64_t>(i++));
      co_await goro::yield();
    }
    co_await producer;
    *intact += list_intact(mine, 32, 0xF00);
  }(&intact));
  EXPECT_EQ(intact, 201);
}

}  // namespace
