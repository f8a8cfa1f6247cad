#pragma once
// Allocation sampling for the heap profile (Go's MemProfileRate; the
// profile itself is in debug/heap_profile.cpp, which installs the sampler).
//
// Where. Sampling happens where the collected heap hands memory to a
// thread: a small-object refill (heap/small_alloc.cpp, a chain of one size
// class, typically a few KiB) and a direct allocation (allocate(), and
// allocate_object() for gc_new above the small size classes). The
// inline gc_new path is untouched. Each hand-out of B bytes counts down a
// per-thread byte budget drawn from an exponential distribution of mean
// `rate`; when it runs out, the hand-out is sampled (probability
// 1 - exp(-B/rate), Poisson sampling over bytes as Go's) and the object
// being allocated at that moment stands for it. For a refill, that is the
// allocation that found the size class's list empty: a systematic rather
// than random choice among that size's allocations on the thread, which
// attributes bytes to call sites in proportion to their share of the size
// class's allocations, but can be biased for strictly periodic patterns.
//
// Cost when on: a thread-local subtraction per refill or large allocation;
// per sample (one per `rate` bytes on average) a stack capture and a
// Boehm disappearing link. Off (rate 0): one relaxed load per refill.

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace goro::heap {

/// Called on the allocating thread for each sample: the object, its size,
/// and the bytes of the hand-out it stands for. Must not allocate from the
/// collected heap.
using alloc_sampler = void (*)(void* obj, std::size_t obj_bytes, std::size_t handout_bytes,
                               int64_t rate) noexcept;

/// Installs `fn` with a mean sampling distance of `rate` bytes (0: off).
/// Returns the previous rate.
int64_t set_alloc_sampler(alloc_sampler fn, int64_t rate) noexcept;

/// Makes *link null once `obj` has been collected (a Boehm disappearing
/// link: no finalizer, the object is reclaimed as usual). `link` must lie
/// in memory the collector does not scan (malloc'd), and be unwatched
/// (with the same `obj`) before that memory is freed. False if the
/// collector refused.
bool watch_object(void** link, void* obj) noexcept;
void unwatch_object(void** link, void* obj) noexcept;

/// Called before a watched object is freed explicitly (a gc_allocator
/// container giving back its storage): the hook must unwatch it. Boehm's
/// GC_FREE leaves a disappearing link registered, and the next collection
/// would read the mark bit of a freed, perhaps unmapped, block.
using watched_free_hook = void (*)(void* obj) noexcept;
void set_watched_free_hook(watched_free_hook fn) noexcept;

namespace detail {

inline constinit std::atomic<int64_t> g_sample_rate{0};
inline constinit thread_local int64_t tl_until_sample = 0;
void sample_allocation(void* obj, std::size_t obj_bytes, std::size_t handout_bytes) noexcept;

// Which objects may be watched, as counts per address hash: an explicit
// free looks at one word and takes the slow path only on a hit (a watched
// object, or another with the same hash). Counts fall when the profile
// unwatches a record, so collected samples stay counted until the profile
// next looks; that only costs slow-path lookups that find nothing.
inline constexpr std::size_t kWatchSlots = 1u << 15;
inline constinit std::atomic<uint32_t> g_watch_filter[kWatchSlots]{};
inline std::size_t watch_slot(const void* p) noexcept {
  auto x = reinterpret_cast<uintptr_t>(p) >> 4;
  x ^= x >> 15;
  return x & (kWatchSlots - 1);
}
void watched_free(void* obj) noexcept;

/// The hook in the explicit-free path (release()).
inline void note_free(void* obj) noexcept {
  if (g_watch_filter[watch_slot(obj)].load(std::memory_order_relaxed) != 0) [[unlikely]]
    watched_free(obj);
}

/// The hook in the allocation slow paths.
inline void note_handout(void* obj, std::size_t obj_bytes, std::size_t handout_bytes) noexcept {
  if (g_sample_rate.load(std::memory_order_relaxed) == 0) return;
  tl_until_sample -= static_cast<int64_t>(handout_bytes);
  if (tl_until_sample < 0) [[unlikely]]
    sample_allocation(obj, obj_bytes, handout_bytes);
}

}  // namespace detail
}  // namespace goro::heap
