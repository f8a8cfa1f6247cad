// Coroutine-frame memory: Boehm's uncollectable objects, recycled through
// per-thread free lists by size class.
//
// Why. A frame must be scanned (a GC pointer in a suspended task's locals
// keeps its object alive) but must not be collected (its handle sits in run
// queues in unscanned memory), so it is GC_MALLOC_UNCOLLECTABLE, freed with
// GC_FREE when the coroutine is destroyed (boehm-probe.md section 4). Both
// take Boehm's global allocation lock: ~30 ns alone, 56-237 ns with two
// threads contending. Every spawn allocates a frame, so that lock would
// serialise spawning across workers.
//
// Model (Go's mcache/mcentral, TCMalloc's thread caches):
// - Size classes in 16-byte steps (Boehm's granule, so a class is exactly
//   what GC_MALLOC_UNCOLLECTABLE returns) from 32 bytes to kMaxPooledFrame.
//   Larger frames go straight to Boehm: they are rare and big enough that
//   the lock is a small part of their cost.
// - Each thread keeps a free list per class: alloc and free are a few
//   pointer moves, no lock, no atomic.
// - A thread's list is bounded (cache_cap: 64 KiB of frames, 8 to 64
//   frames). Past the cap, half of it moves as one batch to the class's
//   central list under a spin lock; an empty thread list takes one batch
//   back. A batch is a chain linked through the frames themselves, so
//   moving one is O(1) under the lock. Only when the central list is empty
//   does a thread go to Boehm, for one frame.
// - The central lists together hold at most kCentralCapBytes; past that a
//   batch goes back to Boehm with GC_FREE, so a burst of spawns does not pin
//   its frames forever.
// - A thread's lists drain to the central lists when it exits.
//
// Clearing. Cached frames are uncollectable, hence scanned roots: stale
// words left by the dead coroutine (pointers to its locals' objects) would
// keep garbage alive for as long as the frame sits in a cache. Freed frames
// are therefore zeroed before caching (fresh Boehm frames are zero already),
// so a frame comes out of the pool zeroed except for its first three words
// (the pool's links, which point only at other frames). The cost is one
// memset of the frame size per free; bench/frame_pool_bench.cpp measures it.
//
// Under AddressSanitizer the body of a cached frame is poisoned, so a use
// after free of a frame is reported even though the memory is recycled.
//
// GORO_FRAMES_MALLOC (CMake option of the same name, on by default in the
// ThreadSanitizer build) makes frames plain malloc memory: not scanned by
// the collector, so GC pointers in task locals are NOT kept alive; for
// builds that exercise the scheduler without the collector.

#include "heap/frame_pool.hpp"

#include <gc.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/fatal.hpp"
#include "core/spin_lock.hpp"
#include "heap/collector_init.hpp"
#include "heap/detail/driver.hpp"
#include "heap/detail/frame_pool_stats.hpp"
#include "heap/frame_hold.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace goro::heap {
namespace {
#if defined(GORO_FRAMES_MALLOC)
// Unused when frames come from malloc; kept compiled so both builds stay honest.
#pragma GCC diagnostic ignored "-Wunused-function"
#endif

using detail::kMaxPooledFrame;

// Boehm's granule on x86-64 (GC_GRANULE_BYTES): class sizes step by it.
constexpr std::size_t kGranule = 16;
// The links a cached frame carries: next in chain, next batch, batch size.
struct frame_links {
  frame_links* next;
  frame_links* next_batch;
  std::size_t count;
};
// Smallest class: room for the links, rounded to the granule.
constexpr std::size_t kMinFrame = (sizeof(frame_links) + kGranule - 1) / kGranule * kGranule;
constexpr std::size_t kClasses = kMaxPooledFrame / kGranule + 1;  // index = size / 16

// Per-thread bound: 64 KiB of frames per class, at least 8 and at most 64
// frames. Picked so a worker spawning and finishing in waves of a few dozen
// tasks never touches the central list, while 256 classes x 64 KiB bounds a
// thread's worst case. Not tuned.
constexpr std::size_t kCacheBytesPerClass = 64 << 10;
constexpr std::size_t cache_cap(std::size_t size) noexcept {
  return std::clamp<std::size_t>(kCacheBytesPerClass / size, 8, 64);
}
constexpr std::size_t batch_size(std::size_t size) noexcept {
  return cache_cap(size) / 2;
}

// All central lists together: 32 MiB. Picked: a burst of 100k small tasks'
// frames, recycled, not pinned beyond that.
constexpr int64_t kCentralCapBytes = 32 << 20;

constexpr std::size_t class_of(std::size_t n) noexcept {
  return (std::max(n, kMinFrame) + kGranule - 1) / kGranule;
}
constexpr std::size_t class_bytes(std::size_t c) noexcept {
  return c * kGranule;
}
// cache_cap by class, looked up rather than computed: frame_free checks it
// on every call, and the division in cache_cap is a 64-bit div there.
constexpr auto kCacheCapByClass = [] {
  std::array<uint8_t, kClasses> t{};
  for (std::size_t c = 1; c < kClasses; ++c) t[c] = static_cast<uint8_t>(cache_cap(class_bytes(c)));
  return t;
}();

struct central_list {
  spin_lock lock;
  frame_links* batches = nullptr;  // protected by lock
};
// constinit with trivial destructors: usable while other threads exit after
// main returns.
constinit central_list g_central[kClasses];
constinit std::atomic<int64_t> g_central_bytes{0};  // atomic
constinit std::atomic<int64_t> g_frames_bytes{0};   // atomic
constinit std::atomic<bool> g_clear{true};          // atomic; a benchmark knob

struct local_list {
  frame_links* head = nullptr;  // owner thread only
  std::size_t count = 0;        // owner thread only
};
constinit thread_local local_list tl_lists[kClasses];  // owner thread only
constinit thread_local bool tl_drain_registered = false;
constinit thread_local bool tl_gone = false;  // set once the lists drained at exit

void poison_body(frame_links* f, std::size_t size) noexcept {
#if defined(__SANITIZE_ADDRESS__)
  ASAN_POISON_MEMORY_REGION(reinterpret_cast<char*>(f) + sizeof(frame_links),
                            size - sizeof(frame_links));
#else
  (void)f;
  (void)size;
#endif
}
void unpoison(void* p, std::size_t size) noexcept {
#if defined(__SANITIZE_ADDRESS__)
  ASAN_UNPOISON_MEMORY_REGION(p, size);
#else
  (void)p;
  (void)size;
#endif
}

// Zeroes a freed frame. Written as 16-byte stores on purpose: GCC inlines
// memset of a 16-aligned, granule-multiple size as `rep stosq`, whose start-up
// cost made clearing a 160-byte frame take ~18 ns on this machine's EPYC
// cores; these stores take a few ns (bench/frame_pool_bench.cpp).
//
// Four stores (a cache line) per loop turn: the barrier that keeps GCC from
// recognising a memset also keeps it from unrolling, and a 528-byte frame
// took ~130 instructions one store at a time (callgrind, skynet).
// Always inlined: frame_free is a leaf without it (its one caller there).
[[gnu::always_inline]] inline void clear_frame(void* p, std::size_t size) noexcept {
#if defined(__SSE2__)
  auto* q = static_cast<__m128i*>(p);
  const __m128i zero = _mm_setzero_si128();
  const std::size_t n = size / kGranule;
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    _mm_store_si128(q + i, zero);
    _mm_store_si128(q + i + 1, zero);
    _mm_store_si128(q + i + 2, zero);
    _mm_store_si128(q + i + 3, zero);
    // Keeps GCC from recognising the loop as a memset (and emitting rep stos).
    asm volatile("" ::: "memory");
  }
  for (; i < n; ++i) {
    _mm_store_si128(q + i, zero);
    asm volatile("" ::: "memory");
  }
#else
  std::memset(p, 0, size);
#endif
}

void* boehm_alloc(std::size_t size) {
  if (!detail::initialized()) [[unlikely]]
    init();
  detail::set_retry_kind(detail::retry_kind::uncollectable);
  void* p = GC_MALLOC_UNCOLLECTABLE(size);
  detail::set_retry_kind(detail::retry_kind::normal);
  if (p == nullptr) detail::die_out_of_memory(size);
  g_frames_bytes.fetch_add(static_cast<int64_t>(size), std::memory_order_relaxed);
  return p;
}

// Not inlined: frame_free's fast path stays a leaf that saves no registers.
[[gnu::noinline]] void boehm_free(void* p, std::size_t size) noexcept {
  unpoison(p, size);
  GC_FREE(p);
  g_frames_bytes.fetch_sub(static_cast<int64_t>(size), std::memory_order_relaxed);
}

void free_chain(frame_links* f, std::size_t size) noexcept {
  while (f != nullptr) {
    frame_links* next = f->next;
    boehm_free(f, size);
    f = next;
  }
}

// Hands a chain of `count` frames of class c to the central list (or back
// to Boehm when the central lists are full).
void push_central(std::size_t c, frame_links* head, std::size_t count) noexcept {
  const int64_t bytes = static_cast<int64_t>(count * class_bytes(c));
  if (g_central_bytes.fetch_add(bytes, std::memory_order_relaxed) + bytes > kCentralCapBytes) {
    g_central_bytes.fetch_sub(bytes, std::memory_order_relaxed);
    free_chain(head, class_bytes(c));
    return;
  }
  head->count = count;
  central_list& cl = g_central[c];
  cl.lock.lock();
  head->next_batch = cl.batches;
  cl.batches = head;
  cl.lock.unlock();
}

frame_links* pop_central(std::size_t c) noexcept {
  central_list& cl = g_central[c];
  cl.lock.lock();
  frame_links* b = cl.batches;
  if (b != nullptr) cl.batches = b->next_batch;
  cl.lock.unlock();
  if (b != nullptr)
    g_central_bytes.fetch_sub(static_cast<int64_t>(b->count * class_bytes(c)),
                              std::memory_order_relaxed);
  return b;
}

// At thread exit: every cached frame goes to the central lists.
struct drain_at_exit {
  ~drain_at_exit() {
    tl_gone = true;
    for (std::size_t c = 0; c < kClasses; ++c) {
      local_list& l = tl_lists[c];
      if (l.head != nullptr) push_central(c, l.head, l.count);
      l = local_list{};
    }
  }
};

void register_drain() {
  static thread_local drain_at_exit drain;
  (void)drain;
  tl_drain_registered = true;
}

// Moves one batch from the front of the thread's list to the central list.
void spill(std::size_t c, local_list& l) noexcept {
  const std::size_t n = batch_size(class_bytes(c));
  frame_links* head = l.head;
  frame_links* last = head;
  for (std::size_t i = 1; i < n; ++i) last = last->next;
  l.head = last->next;
  l.count -= n;
  last->next = nullptr;
  push_central(c, head, n);
}

void* refill_and_alloc(std::size_t c, local_list& l) {
  if (!tl_drain_registered) register_drain();
  frame_links* b = pop_central(c);
  if (b == nullptr) return boehm_alloc(class_bytes(c));
  unpoison(b, class_bytes(c));
  l.head = b->next;
  l.count = b->count - 1;
  return b;
}

}  // namespace

void* frame_alloc(std::size_t n) {
#if defined(GORO_FRAMES_MALLOC)
  void* p = std::malloc(n);
  if (p == nullptr) fatal("frame_alloc: out of memory for a coroutine frame (malloc)");
  return p;
#else
  if (n > kMaxPooledFrame || tl_gone) [[unlikely]]
    return boehm_alloc(n);
  const std::size_t c = class_of(n);
  local_list& l = tl_lists[c];
  frame_links* f = l.head;
  if (f == nullptr) [[unlikely]]
    return refill_and_alloc(c, l);
  unpoison(f, class_bytes(c));
  l.head = f->next;
  --l.count;
  // The next allocation of this class will be written from its first line
  // on; a list refilled from the central lists (or frames freed long ago)
  // is cold. A hint only: a null or stale head is harmless.
  __builtin_prefetch(l.head, 1);
  return f;
#endif
}

namespace {

// The free itself, shared by frame_free's fast path (inlined there) and
// the held path below.
[[gnu::always_inline]] inline void free_frame_now(void* p, std::size_t n) noexcept {
#if defined(GORO_FRAMES_MALLOC)
  (void)n;
  std::free(p);
#else
  if (p == nullptr) return;
  if (n > kMaxPooledFrame || tl_gone) [[unlikely]] {
    boehm_free(p, n);
    return;
  }
  const std::size_t c = class_of(n);
#if !defined(NDEBUG)
  if (GC_size(p) < class_bytes(c)) fatal("frame_free: size does not match the frame's allocation");
#endif
  if (g_clear.load(std::memory_order_relaxed)) clear_frame(p, class_bytes(c));
  local_list& l = tl_lists[c];
  auto* f = static_cast<frame_links*>(p);
  f->next = l.head;
  l.head = f;
  poison_body(f, class_bytes(c));
  if (++l.count > kCacheCapByClass[c]) [[unlikely]]
    spill(c, l);
#endif
}

// A task dump holds frame frees (heap/frame_hold.hpp). Out of line so that
// frame_free's fast path stays a leaf without a stack frame (inline, the
// call kept registers live across it: 9 more instructions per free, 2% of
// skynet).
[[gnu::noinline, gnu::cold]] void frame_free_held(void* p, std::size_t n) noexcept {
  if (!detail::defer_frame_free(p, n)) free_frame_now(p, n);
}

}  // namespace

void frame_free(void* p, std::size_t n) noexcept {
  std::atomic_signal_fence(std::memory_order_seq_cst);  // frame_hold.hpp: after the caller's stores
  if (detail::g_frame_holds.load(std::memory_order_relaxed) != 0) [[unlikely]]
    return frame_free_held(p, n);
  free_frame_now(p, n);
}

namespace detail {

uint64_t frames_bytes() noexcept {
  const int64_t b = g_frames_bytes.load(std::memory_order_relaxed);
  return b > 0 ? static_cast<uint64_t>(b) : 0;
}

uint64_t frames_central_bytes() noexcept {
  const int64_t b = g_central_bytes.load(std::memory_order_relaxed);
  return b > 0 ? static_cast<uint64_t>(b) : 0;
}

std::size_t frames_cached_here() noexcept {
  std::size_t n = 0;
  for (const local_list& l : tl_lists) n += l.count;
  return n;
}

void set_frame_clearing(bool on) noexcept {
  g_clear.store(on, std::memory_order_relaxed);
}

}  // namespace detail
}  // namespace goro::heap
