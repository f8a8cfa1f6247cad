#pragma once
// Helpers shared by the heap tests: the process's resident memory, a stack
// scrub so stale pointers in dead frames do not keep test objects alive, a
// loop that makes garbage of one small size, the peak of managed memory, and
// a fresh child process per scenario.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <thread>

#include "heap/gc_new.hpp"
#include "heap/heap_stats.hpp"

namespace goro::test {

inline constexpr uint64_t kMiB = uint64_t{1} << 20;
inline constexpr uint64_t kGiB = uint64_t{1} << 30;

/// ASan runs several times slower and shadows every byte: the big heap
/// tests divide their sizes by this there.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr uint64_t kAsanScale = 4;
#else
inline constexpr uint64_t kAsanScale = 1;
#endif

/// Resident set size now (/proc/self/statm), 0 if unreadable.
inline uint64_t rss_bytes() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  std::fclose(f);
  return static_cast<uint64_t>(resident) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

/// Overwrites 64 KiB of stack below the caller, where earlier calls left
/// pointers the conservative collector would still see.
__attribute__((noinline)) inline void clear_stack() {
  volatile char buf[64 << 10];
  for (std::size_t i = 0; i < sizeof buf; i += 64) buf[i] = 0;
}

/// A 64-byte object with pointer-sized words.
struct blob {
  uint64_t words[8];
};

/// Allocates `bytes` of blobs and drops them at once.
__attribute__((noinline)) inline void allocate_garbage(uint64_t bytes) {
  for (uint64_t done = 0; done < bytes; done += sizeof(blob)) {
    blob* b = goro::gc_new<blob>();
    b->words[0] = done;
  }
}

/// The peak of read_heap_stats().managed_bytes(), from the test thread
/// (sample()) and a 1 ms poller.
class peak_sampler {
 public:
  peak_sampler() {
    poller_ = std::thread([this] {
      while (!stop_.load(std::memory_order_relaxed)) {
        sample();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
  }
  ~peak_sampler() { stop(); }
  void stop() {
    if (!poller_.joinable()) return;
    stop_.store(true, std::memory_order_relaxed);
    poller_.join();
  }
  void sample() {
    const uint64_t m = goro::read_heap_stats().managed_bytes();
    uint64_t p = peak_.load(std::memory_order_relaxed);
    while (m > p && !peak_.compare_exchange_weak(p, m, std::memory_order_relaxed)) {
    }
  }
  void reset() { peak_.store(0, std::memory_order_relaxed); }
  uint64_t peak() const { return peak_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> peak_{0};
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

// Runs `body` in a fresh child process (a death test in the
// re-executing style): what an earlier scenario left behind in this process
// (the heap's address space, the collector's metadata, which Boehm never
// returns) would otherwise count against a smaller limit. The child exits
// 0 when every expectation held.
template <class F>
void in_fresh_process(F body) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        body();
        std::fflush(stdout);
        std::_Exit(testing::Test::HasFailure() ? 1 : 0);
      },
      testing::ExitedWithCode(0), "");
}

}  // namespace goro::test
