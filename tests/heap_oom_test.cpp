// Running out of collected memory: collect and retry first, then die with a
// clear message. Each case runs in a child process (a death test) because a
// maximum heap size cannot be undone.

#include <gc.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "heap/collector.hpp"
#include "heap/collector_init.hpp"
#include "heap/gc_containers.hpp"
#include "heap/gc_new.hpp"

namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

TEST(HeapOomDeathTest, CollectsAndRetriesBeforeGivingUp) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        goro::heap::init();
        // Automatic collection off: only the out-of-memory hook collects.
        goro::heap::set_collection_policy(std::make_unique<goro::heap::gc_percent_policy>(-1));
        GC_set_max_heap_size(64 * kMiB);
        uint64_t sum = 0;
        for (int i = 0; i < 4096; ++i) {  // 512 MiB of garbage through a 64 MiB heap
          uint64_t* a = goro::gc_new_array<uint64_t>(16384);
          a[i % 16384] = 1;
          sum += a[i % 16384];
        }
        std::fprintf(stderr, "survived %llu\n", static_cast<unsigned long long>(sum));
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "survived 4096");
}

TEST(HeapOomDeathTest, RealOutOfMemoryIsFatalWithTheHeapStatistics) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        goro::heap::init();
        GC_set_max_heap_size(64 * kMiB);
        goro::gc_vector<uint64_t*> keep;
        for (;;) keep.push_back(goro::gc_new_array<uint64_t>(16384));
      },
      "goro: fatal error: out of memory: cannot allocate [0-9]+ bytes from the collected heap "
      "after a full collection \\(heap mapped [0-9.]+ MiB, in use after last collection");
}

}  // namespace
