// Collection events: pause and mark time of every collection.
//
// Boehm calls GC_set_on_collection_event's callback on the collecting thread
// at each phase (boehm-probe.md section 7): START, PRE_STOP_WORLD,
// POST_STOP_WORLD, MARK_START, MARK_END, PRE_START_WORLD, POST_START_WORLD,
// RECLAIM_START, RECLAIM_END, END. The pause is PRE_STOP_WORLD ->
// POST_START_WORLD (what mutators lose); mark time is MARK_START ->
// MARK_END (nearly all of the pause).
//
// The callback runs with Boehm's allocation lock held and possibly with the
// world stopped, so it must not allocate, take a lock, or call into stdio:
// it reads the monotonic clock (a vDSO call, async-signal-safe) and stores
// into atomics. Every collection counts, whoever started it (the driver,
// goro::gc(), the out-of-memory hook, or a direct GC_gcollect call).
//
// The phase start times are plain fields: only the callback touches them, and
// it always runs under Boehm's allocation lock, one collection at a time.
// The results are atomics so readers never stop the world or take the lock.

#include "heap/detail/collection_events.hpp"

#include <gc.h>

#include <algorithm>
#include <atomic>

#include "core/clock.hpp"

namespace goro::heap::detail {
namespace {

struct phase_clock {
  int64_t stop_begin = 0;  // protected by Boehm's allocation lock
  int64_t mark_begin = 0;  // protected by Boehm's allocation lock
};
phase_clock g_phase;

struct pause_counters {
  std::atomic<uint64_t> collections{0};   // atomic
  std::atomic<int64_t> last_pause_ns{0};  // atomic
  std::atomic<int64_t> total_pause_ns{0};
  std::atomic<int64_t> max_pause_ns{0};
  std::atomic<int64_t> last_mark_ns{0};
  std::atomic<int64_t> total_mark_ns{0};
  std::atomic<int64_t> last_stop_ns{0};  // PRE_STOP_WORLD -> MARK_START
  std::atomic<uint64_t> pauses{0};       // number of pauses written to ring
  std::atomic<int64_t> ring[kRecentPauses] = {};
};
pause_counters g_pauses;
std::atomic<bool> g_world_stopped{false};

void on_collection_event(GC_EventType e) {
  const int64_t t = nanotime();
  switch (e) {
    case GC_EVENT_PRE_STOP_WORLD:
      g_phase.stop_begin = t;
      break;
    case GC_EVENT_POST_STOP_WORLD:
      g_world_stopped.store(true, std::memory_order_relaxed);
      break;
    case GC_EVENT_PRE_START_WORLD:
      g_world_stopped.store(false, std::memory_order_relaxed);
      break;
    case GC_EVENT_MARK_START:
      g_phase.mark_begin = t;
      g_pauses.last_stop_ns.store(t - g_phase.stop_begin, std::memory_order_relaxed);
      break;
    case GC_EVENT_MARK_END: {
      const int64_t d = t - g_phase.mark_begin;
      g_pauses.last_mark_ns.store(d, std::memory_order_relaxed);
      g_pauses.total_mark_ns.fetch_add(d, std::memory_order_relaxed);
      break;
    }
    case GC_EVENT_POST_START_WORLD: {
      const int64_t d = t - g_phase.stop_begin;
      g_pauses.last_pause_ns.store(d, std::memory_order_relaxed);
      g_pauses.total_pause_ns.fetch_add(d, std::memory_order_relaxed);
      if (d > g_pauses.max_pause_ns.load(std::memory_order_relaxed))
        g_pauses.max_pause_ns.store(d, std::memory_order_relaxed);
      const uint64_t n = g_pauses.pauses.load(std::memory_order_relaxed);
      g_pauses.ring[n % kRecentPauses].store(d, std::memory_order_relaxed);
      g_pauses.pauses.store(n + 1, std::memory_order_release);
      record_pause(d);
      if (pause_hook h = g_pause_hook.load(std::memory_order_acquire)) h(g_phase.stop_begin, t);
      break;
    }
    case GC_EVENT_END:
      g_pauses.collections.fetch_add(1, std::memory_order_release);
      break;
    default:
      break;
  }
}

}  // namespace

void install_collection_events() noexcept {
  GC_set_on_collection_event(on_collection_event);
}

bool world_stopped() noexcept {
  return g_world_stopped.load(std::memory_order_relaxed);
}

void count_collection() noexcept {
  g_pauses.collections.fetch_add(1, std::memory_order_release);
}

pause_totals read_pause_totals() noexcept {
  pause_totals r;
  r.collections = g_pauses.collections.load(std::memory_order_acquire);
  r.last_pause_ns = g_pauses.last_pause_ns.load(std::memory_order_relaxed);
  r.total_pause_ns = g_pauses.total_pause_ns.load(std::memory_order_relaxed);
  r.max_pause_ns = g_pauses.max_pause_ns.load(std::memory_order_relaxed);
  r.last_mark_ns = g_pauses.last_mark_ns.load(std::memory_order_relaxed);
  r.total_mark_ns = g_pauses.total_mark_ns.load(std::memory_order_relaxed);
  r.last_stop_ns = g_pauses.last_stop_ns.load(std::memory_order_relaxed);
  return r;
}

std::size_t recent_pauses(int64_t* out, std::size_t max) noexcept {
  const uint64_t n = g_pauses.pauses.load(std::memory_order_acquire);
  const std::size_t k = std::min<std::size_t>({max, kRecentPauses, static_cast<std::size_t>(n)});
  for (std::size_t i = 0; i < k; ++i)
    out[i] = g_pauses.ring[(n - 1 - i) % kRecentPauses].load(std::memory_order_relaxed);
  return k;
}

}  // namespace goro::heap::detail
