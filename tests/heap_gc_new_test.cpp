// gc_new, gc_new_array, gc_allocator containers and finalizers.

#include <gc.h>
#include <gc/gc_mark.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "heap/collector_init.hpp"
#include "heap/gc.hpp"
#include "heap/gc_containers.hpp"
#include "heap/gc_new.hpp"
#include "heap/heap_stats.hpp"
#include "tests/heap_test_support.hpp"

namespace {

using goro::test::clear_stack;

// Boehm's object kinds (PTRFREE and NORMAL in its private gc_priv.h; 8.2's
// public headers do not name them).
constexpr int GC_I_PTRFREE = 0;
constexpr int GC_I_NORMAL = 1;

struct node {
  node* next = nullptr;
  uint64_t value = 0;
  uint64_t check = 0;
};

uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return x;
}

node* make_node(uint64_t v) {
  return goro::gc_new<node>(nullptr, v, mix(v));
}

bool intact(const node* n, uint64_t v) {
  return n->value == v && n->check == mix(v);
}

// Allocates garbage so that anything wrongly reclaimed is overwritten.
__attribute__((noinline)) void churn(std::size_t bytes) {
  for (std::size_t done = 0; done < bytes; done += sizeof(node)) {
    node* n = goro::gc_new<node>();
    n->value = ~uint64_t{0};
    n->check = ~uint64_t{0};
  }
}

void collect_and_churn(int rounds) {
  for (int i = 0; i < rounds; ++i) {
    goro::gc();
    churn(1 << 20);
  }
}

TEST(HeapGcNew, ConstructsInTheCollectedHeap) {
  goro::heap::init();
  node* n = make_node(7);
  EXPECT_NE(GC_base(n), nullptr);
  EXPECT_TRUE(intact(n, 7));
  struct agg {
    int a;
    double b;
  };
  agg* g = goro::gc_new<agg>(1, 2.5);
  EXPECT_EQ(g->a, 1);
  EXPECT_EQ(g->b, 2.5);
  int* i = goro::gc_new<int>();
  EXPECT_EQ(*i, 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(n) % 16, 0u);
}

TEST(HeapGcNew, ArraysOfNumbersArePointerFreeAndZeroed) {
  goro::heap::init();
  churn(1 << 20);  // so recycled pointer-free memory would hold garbage
  for (int round = 0; round < 100; ++round) {
    auto* a = goro::gc_new_array<uint64_t>(1000);
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(a[i], 0u);
    for (int i = 0; i < 1000; ++i) a[i] = ~uint64_t{0};
    EXPECT_EQ(GC_get_kind_and_size(a, nullptr), GC_I_PTRFREE);
  }
  node** p = goro::gc_new_array<node*>(10);
  EXPECT_EQ(GC_get_kind_and_size(p, nullptr), GC_I_NORMAL);
  struct pod {
    uint32_t a, b;
  };
  pod* q = goro::gc_new_array_noscan<pod>(10);
  EXPECT_EQ(GC_get_kind_and_size(q, nullptr), GC_I_PTRFREE);
  EXPECT_EQ(q[9].a, 0u);
  EXPECT_THROW((void)goro::gc_new_array<uint64_t>(~std::size_t{0} / 4), std::bad_array_new_length);
}

TEST(HeapGcNew, ObjectsHeldOnlyInGcContainersSurviveCollections) {
  goro::heap::init();
  constexpr int kN = 20000;
  goro::gc_vector<node*> vec;
  goro::gc_deque<node*> deq;
  goro::gc_unordered_map<int, node*> map;
  goro::gc_map<int, node*> tree;
  goro::gc_string str;
  for (int i = 0; i < kN; ++i) {
    vec.push_back(make_node(i));
    deq.push_back(make_node(i + kN));
    map.emplace(i, make_node(i + 2 * kN));
    if (i % 16 == 0) tree.emplace(i, make_node(i + 3 * kN));
    str.push_back(static_cast<char>('a' + i % 26));
  }
  collect_and_churn(20);
  for (int i = 0; i < kN; ++i) {
    ASSERT_TRUE(intact(vec[i], i)) << i;
    ASSERT_TRUE(intact(deq[i], i + kN)) << i;
    ASSERT_TRUE(intact(map.at(i), i + 2 * kN)) << i;
    ASSERT_EQ(str[i], static_cast<char>('a' + i % 26));
  }
  for (const auto& [k, v] : tree) ASSERT_TRUE(intact(v, k + 3 * kN)) << k;
  // Growth frees old storage explicitly; the survivors must not notice.
  vec.resize(4 * kN, nullptr);
  vec.shrink_to_fit();
  collect_and_churn(2);
  for (int i = 0; i < kN; ++i) ASSERT_TRUE(intact(vec[i], i)) << i;
}

TEST(HeapGcNew, ObjectsReachableOnlyThroughOtherObjectsSurvive) {
  goro::heap::init();
  node* head = nullptr;
  for (int i = 0; i < 100000; ++i) {
    node* n = make_node(i);
    n->next = head;
    head = n;
  }
  collect_and_churn(10);
  int i = 100000;
  for (node* n = head; n != nullptr; n = n->next) ASSERT_TRUE(intact(n, --i));
  EXPECT_EQ(i, 0);
}

// Garbage really is reclaimed: weak (disappearing) links to unreachable
// objects are cleared by a collection.
__attribute__((noinline)) void make_weakly_held(void** slots, int n) {
  for (int i = 0; i < n; ++i) {
    node* x = make_node(i);
    slots[i] = reinterpret_cast<void*>(GC_HIDE_POINTER(x));
    GC_general_register_disappearing_link(&slots[i], x);
  }
}

TEST(HeapGcNew, UnreachableObjectsAreReclaimed) {
  goro::heap::init();
  static void* slots[1000];  // static: a root, but the pointers are hidden
  make_weakly_held(slots, 1000);
  clear_stack();
  goro::gc();
  goro::gc();
  int cleared = 0;
  for (void* s : slots) cleared += s == nullptr;
  // Conservative scanning may keep a few alive through stale words.
  EXPECT_GE(cleared, 990);
}

std::atomic<int> g_finalized{0};
struct with_destructor {
  uint64_t payload[4] = {1, 2, 3, 4};
  ~with_destructor() { g_finalized.fetch_add(1, std::memory_order_relaxed); }
};

__attribute__((noinline)) void make_finalizable(int n) {
  for (int i = 0; i < n; ++i) (void)goro::gc_new_with_finalizer<with_destructor>();
}

TEST(HeapGcNew, FinalizerOptInRunsDestructorsOfUnreachableObjects) {
  goro::heap::init();
  with_destructor* kept = goro::gc_new_with_finalizer<with_destructor>();
  make_finalizable(200);
  clear_stack();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (g_finalized.load() < 190 && std::chrono::steady_clock::now() < deadline) {
    goro::gc();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GE(g_finalized.load(), 190);
  EXPECT_LE(g_finalized.load(), 200);  // the kept one is still reachable
  EXPECT_EQ(kept->payload[3], 4u);
}

// gc_new of a type with a non-trivial destructor must not compile, and the
// message must say what to do. Runs the compiler on a two-line program.
int compile(const std::string& body, std::string& output) {
  char dir[] = "/tmp/goro-gc-new-XXXXXX";
  if (mkdtemp(dir) == nullptr) return -1;
  const std::string src = std::string(dir) + "/t.cpp", log = std::string(dir) + "/log";
  std::ofstream(src) << "#include \"heap/gc_new.hpp\"\n#include <string>\n" << body << "\n";
  const std::string cmd =
      "c++ -std=c++20 -fsyntax-only -I" GORO_SOURCE_DIR " " + src + " > " + log + " 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream in(log);
  output.assign(std::istreambuf_iterator<char>(in), {});
  std::remove(src.c_str());
  std::remove(log.c_str());
  rmdir(dir);
  return rc;
}

TEST(HeapGcNew, NonTriviallyDestructibleTypeDoesNotCompile) {
  if (std::system("c++ --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "no c++ compiler";
  std::string out;
  ASSERT_EQ(compile("struct ok { int x; };\n"
                    "int main() { (void)goro::gc_new<ok>(1);\n"
                    "  (void)goro::gc_new_with_finalizer<std::string>(\"x\"); }",
                    out),
            0)
      << out;
  EXPECT_NE(compile("struct bad { std::string s; };\n"
                    "int main() { (void)goro::gc_new<bad>(); }",
                    out),
            0);
  EXPECT_NE(out.find("T has a non-trivial destructor"), std::string::npos) << out;
  EXPECT_NE(out.find("gc_new_with_finalizer"), std::string::npos) << out;
}

TEST(HeapGcNew, StatisticsAreConsistent) {
  goro::heap::init();
  goro::gc();
  const goro::heap_stats before = goro::read_heap_stats();
  churn(8 << 20);
  goro::gc();
  const goro::heap_stats s = goro::read_heap_stats();
  EXPECT_GT(s.collections, before.collections);
  EXPECT_GE(s.total_allocated_bytes, before.total_allocated_bytes + (8u << 20));
  EXPECT_GT(s.heap_mapped_bytes, 0u);
  EXPECT_LE(s.heap_free_bytes, s.heap_mapped_bytes);
  EXPECT_LE(s.live_bytes, s.heap_mapped_bytes);
  EXPECT_GT(s.last_pause_ns, 0);
  EXPECT_GE(s.total_pause_ns, s.last_pause_ns);
  EXPECT_GE(s.max_pause_ns, s.last_pause_ns);
  EXPECT_GE(s.last_pause_ns, s.last_mark_ns);
  // The pacer's trigger sits 70-95% of the way from live to the goal, whose
  // minimum is 4 MiB (pacer/trigger.hpp).
  EXPECT_GE(s.next_trigger_bytes, uint64_t{2} << 20);
  EXPECT_GE(s.process_malloc_bytes, s.mimalloc_bytes);
}

}  // namespace
