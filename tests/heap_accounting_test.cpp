// heap_stats accounts for each kind of memory goro maps: the collected heap,
// coroutine frames, goro's own metadata (counted apart from the program's
// malloc), the collector's bookkeeping and the stacks of attached threads.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "goro.hpp"
#include "heap/collector_init.hpp"
#include "heap/heap_stats.hpp"
#include "heap/internal_memory.hpp"
#include "sched/detail/scheduler.hpp"

namespace {

TEST(HeapAccounting, InternalAllocationsAreCountedAndUncounted) {
  const uint64_t before = goro::heap::internal_bytes_in_use();
  void* a = goro::heap::internal_alloc(1000);
  void* b = goro::heap::internal_alloc(4096, 256);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b) % 256, 0u);
  EXPECT_GE(goro::heap::internal_bytes_in_use(), before + 1000 + 4096);
  goro::heap::internal_free(a);
  goro::heap::internal_free(b);
  EXPECT_EQ(goro::heap::internal_bytes_in_use(), before);
  EXPECT_THROW((void)goro::heap::internal_alloc(8, 3), std::bad_alloc);
}

TEST(HeapAccounting, TheProgramsOwnMallocIsNotCountedAsGoros) {
  goro::heap::init();
  const goro::heap_stats before = goro::read_heap_stats();
  constexpr std::size_t kBytes = 64 << 20;
  char* big = static_cast<char*>(std::malloc(kBytes));
  ASSERT_NE(big, nullptr);
  std::memset(big, 1, kBytes);  // committed
  const goro::heap_stats during = goro::read_heap_stats();
  EXPECT_EQ(during.mimalloc_bytes, before.mimalloc_bytes);
#if !defined(__SANITIZE_ADDRESS__)
  // ASan's malloc does not report through mallinfo2 (it reads 0 there).
  EXPECT_GE(during.process_malloc_bytes, before.process_malloc_bytes + kBytes / 2);
#endif
  std::free(big);
}

TEST(HeapAccounting, ARunningRuntimeIsAccountedFor) {
  goro::heap::init();
  const goro::heap_stats outside = goro::read_heap_stats();
  goro::runtime_options opts;
  opts.max_procs = 2;
  opts.read_environment = false;
  const goro::heap_stats inside = goro::run(
      []() -> goro::task<goro::heap_stats> { co_return goro::read_heap_stats(); }(), opts);
  // The scheduler and its two Ps (rings inline) are goro's metadata.
  EXPECT_GE(inside.mimalloc_bytes, outside.mimalloc_bytes + sizeof(goro::detail::scheduler) +
                                       2 * sizeof(goro::detail::processor));
  // The worker running the root task is attached: its stack is counted.
  EXPECT_GT(inside.thread_stack_bytes, outside.thread_stack_bytes);
  // The root task's frame is in the frame pool, inside the mapped heap.
  EXPECT_GT(inside.frames_bytes, 0u);
  EXPECT_LE(inside.frames_bytes, inside.heap_mapped_bytes);
  EXPECT_GT(inside.collector_metadata_bytes, 0u);
  // Shut down: the scheduler's metadata is freed again.
  EXPECT_LT(goro::read_heap_stats().mimalloc_bytes, inside.mimalloc_bytes);
}

}  // namespace
