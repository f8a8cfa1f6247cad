// Coroutine-frame memory: scanned, never collected, recycled per thread.

#include <gc.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "heap/collector_init.hpp"
#include "heap/detail/frame_pool_stats.hpp"
#include "heap/frame_pool.hpp"
#include "heap/gc.hpp"
#include "heap/gc_new.hpp"
#include "heap/thread_attachment.hpp"
#include "tests/heap_test_support.hpp"

#if !defined(GORO_FRAMES_MALLOC)

namespace {

using goro::test::clear_stack;

struct obj {
  uint64_t value;
  uint64_t check;
};

__attribute__((noinline)) void churn() {
  for (int i = 0; i < 50000; ++i) goro::gc_new<obj>()->value = ~uint64_t{0};
}

TEST(HeapFramePool, FramesOfEverySizeAreUsableAndScanned) {
  goro::heap::init();
  for (std::size_t n : {1, 16, 24, 31, 32, 33, 100, 160, 1000, 4095, 4096, 4097, 100000}) {
    void* p = goro::heap::frame_alloc(n);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u) << n;
    EXPECT_GE(GC_size(p), n);
    std::memset(p, 0xab, n);
    goro::heap::frame_free(p, n);
  }
}

TEST(HeapFramePool, ObjectsReferencedOnlyFromAFrameSurvive) {
  goro::heap::init();
  // The frames' addresses are kept only in malloc memory, as a run queue
  // would keep coroutine handles.
  std::vector<void*> frames;
  for (int f = 0; f < 64; ++f) {
    auto** slots = static_cast<obj**>(goro::heap::frame_alloc(16 * sizeof(obj*)));
    for (int i = 0; i < 16; ++i)
      slots[i] = goro::gc_new<obj>(uint64_t(f * 16 + i), uint64_t(~(f * 16 + i)));
    frames.push_back(slots);
  }
  for (int round = 0; round < 10; ++round) {
    goro::gc();
    churn();
  }
  for (int f = 0; f < 64; ++f) {
    auto** slots = static_cast<obj**>(frames[f]);
    for (int i = 0; i < 16; ++i) {
      ASSERT_EQ(slots[i]->value, uint64_t(f * 16 + i));
      ASSERT_EQ(slots[i]->check, uint64_t(~(f * 16 + i)));
    }
    goro::heap::frame_free(slots, 16 * sizeof(obj*));
  }
}

TEST(HeapFramePool, FreedFramesAreRecycledZeroed) {
  goro::heap::init();
  void* a = goro::heap::frame_alloc(200);
  std::memset(a, 0x5a, 200);
  goro::heap::frame_free(a, 200);
  void* b = goro::heap::frame_alloc(200);
  EXPECT_EQ(a, b);  // LIFO per thread and class
  const auto* bytes = static_cast<const unsigned char*>(b);
  for (std::size_t i = 3 * sizeof(void*); i < 200; ++i) ASSERT_EQ(bytes[i], 0) << i;
  goro::heap::frame_free(b, 200);
}

// A cached frame must not keep the objects its dead coroutine pointed at.
__attribute__((noinline)) void fill_and_free_frames(void** weak, int n) {
  for (int i = 0; i < n; ++i) {
    auto** frame = static_cast<obj**>(goro::heap::frame_alloc(64));
    obj* o = goro::gc_new<obj>();
    frame[5] = o;
    weak[i] = reinterpret_cast<void*>(GC_HIDE_POINTER(o));
    GC_general_register_disappearing_link(&weak[i], o);
    goro::heap::frame_free(frame, 64);
  }
}

TEST(HeapFramePool, CachedFramesDoNotRetainGarbage) {
  goro::heap::init();
  static void* weak[32];
  fill_and_free_frames(weak, 32);
  clear_stack();
  goro::gc();
  goro::gc();
  int cleared = 0;
  for (void* w : weak) cleared += w == nullptr;
  EXPECT_GE(cleared, 30);
}

TEST(HeapFramePool, FramesFreedOnAnotherThreadFlowBackThroughTheCentralLists) {
  goro::heap::init();
  constexpr int kFrames = 20000;
  constexpr std::size_t kSize = 256;
  std::vector<void*> frames(kFrames);
  for (void*& f : frames) f = goro::heap::frame_alloc(kSize);
  const uint64_t held = goro::heap::detail::frames_bytes();
  EXPECT_GE(held, kFrames * kSize);
  std::thread([&] {
    goro::heap::thread_attachment attach;
    for (void* f : frames) goro::heap::frame_free(f, kSize);
    EXPECT_LE(goro::heap::detail::frames_cached_here(), 64u);  // bounded cache
  }).join();
  // The freeing thread spilled batches and drained the rest at exit.
  EXPECT_GE(goro::heap::detail::frames_central_bytes(), (kFrames - 64) * kSize);
  // Allocating again reuses them instead of asking Boehm for more.
  for (void*& f : frames) f = goro::heap::frame_alloc(kSize);
  EXPECT_LE(goro::heap::detail::frames_bytes(), held + 64 * kSize);
  for (void* f : frames) goro::heap::frame_free(f, kSize);
}

}  // namespace

#endif  // !GORO_FRAMES_MALLOC
