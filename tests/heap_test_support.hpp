#pragma once
// Helpers shared by the heap tests: the process's resident memory, a stack
// scrub so stale pointers in dead frames do not keep test objects alive, a
// loop that makes garbage of one small size, the peak of managed memory, and
// a fresh child process per scenario.

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <thread>

#include "heap/collector.hpp"
#include "heap/detail/mark_worker.hpp"
#include "heap/gc_new.hpp"
#include "heap/heap_stats.hpp"
#include "heap/pacer_policy.hpp"

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

/// In the concurrent mode (GORO_GC_MODE=concurrent) a triggered collection
/// runs on the background marker and ends after the allocation that
/// triggered it has returned: waits for the collections triggered so far
/// (at most a minute). Returns at once in the stw mode, where the
/// allocating thread collected before returning.
inline void wait_for_triggered_collections() {
  goro::heap::detail::wait_for_mark_worker(int64_t{60} * 1000 * 1000 * 1000);
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
// 0 when every expectation held. GoogleTest prints nothing of a death-test
// child's own failures (its event listeners are off there), so the child
// collects them and writes each to stderr, which the parent shows as the
// death test's "Actual msg": a failure in CI says which expectation failed.
template <class F>
[[noreturn]] void run_as_fresh_process_child(F& body) {
  testing::TestPartResultArray failures;
  {
    testing::ScopedFakeTestPartResultReporter collect(
        testing::ScopedFakeTestPartResultReporter::INTERCEPT_ALL_THREADS, &failures);
    body();
  }
  std::fflush(stdout);
  int failed = 0;
  for (int i = 0; i < failures.size(); ++i) {
    const testing::TestPartResult& r = failures.GetTestPartResult(i);
    if (!r.failed()) continue;
    ++failed;
    std::fprintf(stderr, "%s:%d: Failure\n%s\n", r.file_name() ? r.file_name() : "?",
                 r.line_number(), r.message());
  }
  std::_Exit(failed != 0 ? 1 : 0);
}

template <class F>
void in_fresh_process(F body) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(run_as_fresh_process_child(body), testing::ExitedWithCode(0), "");
}

/// Installs the default pacer with its GC CPU limiter off, for the tests
/// that measure the goal, the trigger and the heap cap holding a memory
/// limit (heap_pacer_e2e_test, heap_memlimit_sizes_test): the limiter may
/// let the heap pass the limit on purpose, and on a loaded machine it did.
/// A collecting thread descheduled inside its pause (34 ms of wall time for
/// 1 ms of CPU) made the pause prediction (that pause scaled by the live
/// set's growth) look long, the limiter refused the next collections, and
/// peaks reached 1.3x the limit (beside two busy loops: pacer e2e
/// up_then_down 5 of 12 runs, memlimit sizes live75 7 of 7). Call it first
/// in a fresh process (in_fresh_process): nothing restores the old policy.
/// Where the limiter must engage is heap_pacer_limit_test's; its rules are
/// pacer_limiter_test's.
inline void without_gc_cpu_limiter() {
  goro::pacer::pacer_tuning t;
  t.limiter.enabled = false;
  goro::heap::set_collection_policy(std::make_unique<goro::heap::pacer_policy>(t));
}

}  // namespace goro::test
