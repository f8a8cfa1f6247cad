#include "heap/alloc_sample.hpp"

#include <gc.h>

#include <cmath>

#include "core/fast_rand.hpp"

namespace goro::heap {
namespace {

std::atomic<alloc_sampler> g_sampler{nullptr};
std::atomic<watched_free_hook> g_free_hook{nullptr};
thread_local char tl_until_sample_seed;  // its address seeds each thread's generator
thread_local fast_rand tl_rng(0x9e3779b97f4a7c15ull ^
                              reinterpret_cast<uintptr_t>(&tl_until_sample_seed));

// An exponentially distributed distance of mean `rate` (Go: fastexprand).
int64_t next_distance(int64_t rate) noexcept {
  const double u = static_cast<double>((tl_rng.next() >> 11) + 1) * 0x1p-53;  // (0, 1]
  return static_cast<int64_t>(-std::log(u) * static_cast<double>(rate)) + 1;
}

}  // namespace

int64_t set_alloc_sampler(alloc_sampler fn, int64_t rate) noexcept {
  g_sampler.store(fn, std::memory_order_release);
  return detail::g_sample_rate.exchange(fn ? (rate > 0 ? rate : 0) : 0, std::memory_order_acq_rel);
}

bool watch_object(void** link, void* obj) noexcept {
  *link = obj;
  std::atomic<uint32_t>& count = detail::g_watch_filter[detail::watch_slot(obj)];
  count.fetch_add(1, std::memory_order_relaxed);
  if (GC_general_register_disappearing_link(link, obj) != GC_NO_MEMORY) return true;
  count.fetch_sub(1, std::memory_order_relaxed);
  return false;
}

void unwatch_object(void** link, void* obj) noexcept {
  GC_unregister_disappearing_link(link);
  detail::g_watch_filter[detail::watch_slot(obj)].fetch_sub(1, std::memory_order_relaxed);
}

void set_watched_free_hook(watched_free_hook fn) noexcept {
  g_free_hook.store(fn, std::memory_order_release);
}

namespace detail {

void watched_free(void* obj) noexcept {
  if (watched_free_hook fn = g_free_hook.load(std::memory_order_acquire)) fn(obj);
}

void sample_allocation(void* obj, std::size_t obj_bytes, std::size_t handout_bytes) noexcept {
  const int64_t rate = g_sample_rate.load(std::memory_order_relaxed);
  if (rate <= 0) return;
  // A first budget of zero would sample each thread's first hand-out.
  const bool first = tl_until_sample + static_cast<int64_t>(handout_bytes) == 0;
  tl_until_sample = next_distance(rate);
  if (first) return;
  if (alloc_sampler fn = g_sampler.load(std::memory_order_acquire))
    fn(obj, obj_bytes, handout_bytes, rate);
}

}  // namespace detail
}  // namespace goro::heap
