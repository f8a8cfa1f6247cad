// Background release of free heap memory (Go's scavenger, scaled to Boehm).
//
// Why it is needed. The driver (collector.cpp) unmaps free blocks in the two
// collections after one that left the heap bigger than the policy wants
// kept; Boehm can unmap a block only in a collection that finds it free
// since before the previous one (reference/boehm-probe.md section 1). A
// program that drops a big structure and then goes idle runs no more
// collections, so without this its heap stays mapped forever.
//
// Rule. Go's scavenger returns memory continuously, paced to ~1% of one CPU,
// down to ~110% of the heap goal, and Go forces a collection every two
// minutes. Boehm has no public way to unmap without a collection, and a
// collection marks the whole live heap, so goro releases only when the
// program is quiet:
//   - quiet: in the last kReleaseQuietNs the program allocated less than
//     kQuietAllocBytes and no collection ran. Checked once per call, from
//     Boehm's total-allocated counter and the collection count;
//   - worth it: at least kMinReleaseBytes of the mapped heap is free, and at
//     least 1/8 of the live heap (each release collection marks the live
//     heap once: a program with 1 GiB live pays ~300 ms per pass, so it is
//     spent only when the gain is comparable);
//   - then up to kMaxPasses collections with unmapping, back to back (the
//     first may only age blocks that died in the last driver collection),
//     stopping early once less than kMinReleaseBytes stays free;
//   - then nothing until the program allocates or collects again.
// An idle program is thus collected at most kMaxPasses times per quiet
// period; a busy one is left to the driver.
//
// The caller's thread (sysmon) is normally not registered with the
// collector; it registers for the duration of a release (thread_attachment)
// because Boehm expects collections to be started by registered threads.

#include "heap/background_release.hpp"

#include <gc.h>

#include <atomic>
#include <mutex>

#include "heap/collector.hpp"
#include "heap/detail/collection_events.hpp"
#include "heap/detail/driver.hpp"
#include "heap/detail/release_stats.hpp"
#include "heap/thread_attachment.hpp"

namespace goro::heap {
namespace {

// Below this allocation per quiet period the program counts as idle: a
// timer tick or a log line allocates a little. Picked, not measured.
constexpr uint64_t kQuietAllocBytes = uint64_t{1} << 20;
// Releasing less than this is not worth a collection (the driver's shrink
// rule uses the same 1 MiB). Picked, not measured.
constexpr uint64_t kMinReleaseBytes = uint64_t{1} << 20;
// free_os_memory's count: one collection to free, two to age and unmap.
constexpr int kMaxPasses = 3;

struct release_state {
  bool started = false;
  int64_t quiet_since_ns = 0;
  uint64_t total_allocated = 0;  // Boehm's counter at the last activity check
  uint64_t collections = 0;      // completed collections at the last check
  bool done = false;             // released this quiet period (or nothing to do)
};

std::mutex state_mu;  // guards `state`; try-locked, so calls never queue up
release_state state;

std::atomic<uint64_t> g_passes{0};
std::atomic<uint64_t> g_released{0};

uint64_t total_allocated_now() noexcept {
  GC_word total = 0;
  GC_get_heap_usage_safe(nullptr, nullptr, nullptr, nullptr, &total);
  return total;
}

// Free blocks worth returning, per the rule in the file comment.
bool worth_releasing(const heap_observation& o) noexcept {
  return o.heap_free_bytes >= kMinReleaseBytes && o.heap_free_bytes >= o.live_bytes / 8;
}

}  // namespace

uint64_t background_release(int64_t now_ns) {
  if (!detail::initialized()) return 0;  // no heap, nothing to give back
  std::unique_lock lk(state_mu, std::try_to_lock);
  if (!lk.owns_lock()) return 0;

  const uint64_t total = total_allocated_now();
  const uint64_t collections = detail::read_pause_totals().collections;
  if (!state.started || total - state.total_allocated >= kQuietAllocBytes ||
      collections != state.collections) {
    state.started = true;
    state.quiet_since_ns = now_ns;
    state.total_allocated = total;
    state.collections = collections;
    state.done = false;
    return 0;
  }
  if (state.done || now_ns - state.quiet_since_ns < kReleaseQuietNs) return 0;
  state.done = true;
  if (!worth_releasing(observe())) return 0;

  const uint64_t released_before = observe().released_bytes;
  {
    thread_attachment attach;
    for (int i = 0; i < kMaxPasses; ++i) {
      collect(collection_reason::release);
      g_passes.fetch_add(1, std::memory_order_relaxed);
      const heap_observation o = observe();
      if (o.heap_free_bytes < kMinReleaseBytes) break;
    }
  }
  const uint64_t released_after = observe().released_bytes;
  const uint64_t gained = released_after > released_before ? released_after - released_before : 0;
  g_released.fetch_add(gained, std::memory_order_relaxed);
  // Our own collections are not program activity.
  state.collections = detail::read_pause_totals().collections;
  state.total_allocated = total_allocated_now();
  return gained;
}

namespace detail {

uint64_t background_release_passes() noexcept {
  return g_passes.load(std::memory_order_relaxed);
}

uint64_t background_released_bytes() noexcept {
  return g_released.load(std::memory_order_relaxed);
}

}  // namespace detail
}  // namespace goro::heap
