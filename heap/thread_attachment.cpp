// Thread attachment, and what attached threads' stacks cost in memory.
//
// A thread's stack counts against the memory limit by its resident pages,
// not its reservation: glibc reserves 8 MiB per thread and the kernel backs
// pages only when touched, and goro's workers keep task frames in the heap,
// so their stacks stay shallow. Counting the reservation made two worker
// threads take 16 MiB of a 64 MiB limit (examples/fanout_service under
// GORO_MEMLIMIT=64MiB was squeezed into state=spiral with a 13 MiB live
// heap). Go likewise counts the stacks it allocates, not the OS's. The
// stacks are registered here and measured with mincore, at most every
// 10 ms (a few microseconds per thread).

#include "heap/thread_attachment.hpp"

#include <gc.h>
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "heap/blocking_region.hpp"
#include "heap/collector.hpp"
#include "heap/collector_init.hpp"
#include "heap/detail/small_alloc.hpp"

namespace goro::heap {
namespace {

constexpr uintptr_t kPage = 4096;

struct stack_range {
  uintptr_t lo = 0, hi = 0;  // [lo, hi), page-aligned
};

// The calling thread's stack reservation, or an empty range if unknown.
stack_range own_stack() noexcept {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return {};
  void* addr = nullptr;
  std::size_t size = 0;
  const int rc = pthread_attr_getstack(&attr, &addr, &size);
  pthread_attr_destroy(&attr);
  if (rc != 0) return {};
  const auto lo = (reinterpret_cast<uintptr_t>(addr) + kPage - 1) & ~(kPage - 1);
  const auto hi = (reinterpret_cast<uintptr_t>(addr) + size) & ~(kPage - 1);
  return hi > lo ? stack_range{lo, hi} : stack_range{};
}

struct stack_registry {
  std::mutex mu;
  std::vector<stack_range> stacks;  // protected by mu
  std::atomic<int64_t> checked_ns{0};
  std::atomic<uint64_t> resident{0};
};
stack_registry& registry() {
  static auto* r = new stack_registry;  // never destroyed: threads may detach at exit
  return *r;
}

// Resident bytes of [lo, hi). The main thread's stack grows on demand, so
// the low end of its reservation may be unmapped (mincore: ENOMEM): then
// the range shrinks toward its top, where the stack is.
uint64_t resident_bytes(stack_range r, std::vector<unsigned char>& vec) {
  while (r.hi - r.lo >= 16 * kPage) {
    vec.resize((r.hi - r.lo) / kPage);
    if (mincore(reinterpret_cast<void*>(r.lo), r.hi - r.lo, vec.data()) == 0) {
      uint64_t n = 0;
      for (unsigned char v : vec) n += v & 1;
      return n * kPage;
    }
    r.lo = r.hi - ((r.hi - r.lo) / 2 & ~(kPage - 1));
  }
  return r.hi - r.lo;
}

}  // namespace

namespace detail {

uint64_t attached_stack_bytes() noexcept {
  stack_registry& reg = registry();
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const int64_t now = static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
  const int64_t last = reg.checked_ns.load(std::memory_order_relaxed);
  if (last != 0 && now - last < 10'000'000) return reg.resident.load(std::memory_order_relaxed);
  std::unique_lock lk(reg.mu, std::try_to_lock);
  if (!lk.owns_lock()) return reg.resident.load(std::memory_order_relaxed);
  uint64_t total = 0;
  try {
    std::vector<unsigned char> vec;
    for (const stack_range& r : reg.stacks) total += resident_bytes(r, vec);
  } catch (...) {  // out of memory for the vector: keep the last figure
    return reg.resident.load(std::memory_order_relaxed);
  }
  reg.resident.store(total, std::memory_order_relaxed);
  reg.checked_ns.store(now, std::memory_order_relaxed);
  return total;
}

// Whether this thread may allocate: 1 yes, 0 no, -1 not known yet (ask
// the collector). Owner thread only.
constinit thread_local signed char tl_may_allocate = -1;

void require_attached() {
  if (tl_may_allocate == 1) [[likely]]
    return;
  init();
  if (GC_thread_is_registered()) {
    tl_may_allocate = 1;
    return;
  }
  if (gettid() == getpid()) {
    // The main thread, not registered because the heap was initialised on
    // another thread: register it for good (it ends with the process).
    GC_stack_base sb;
    if (GC_get_stack_base(&sb) == GC_SUCCESS && GC_register_my_thread(&sb) == GC_SUCCESS) {
      note_registered(true);
      tl_may_allocate = 1;
      return;
    }
  }
  tl_may_allocate = 0;
  throw std::logic_error(
      "goro::gc_new: this thread is not attached to the collector, so its stack is not scanned "
      "and what it allocates could be collected under it; create a goro::thread_attachment at "
      "the top of the thread function (goro's own threads and the main thread are attached)");
}

}  // namespace detail

thread_attachment::thread_attachment() {
  init();
  detail::tl_may_allocate = -1;
  if (GC_thread_is_registered()) {
    detail::note_registered(true);
    return;
  }
  GC_stack_base sb;
  GC_get_stack_base(&sb);
  registered_here_ = GC_register_my_thread(&sb) == GC_SUCCESS;
  detail::note_registered(registered_here_);
  if (registered_here_) {
    const stack_range r = own_stack();
    if (r.hi > r.lo) {
      std::lock_guard lk(registry().mu);
      registry().stacks.push_back(r);
    }
    registry().checked_ns.store(0, std::memory_order_relaxed);  // measure again
  }
}

thread_attachment::~thread_attachment() {
  detail::flush_allocation_count();
  if (registered_here_) {
    detail::drop_small_lists();
    const stack_range r = own_stack();
    {
      std::lock_guard lk(registry().mu);
      auto& v = registry().stacks;
      auto it = std::find_if(v.begin(), v.end(),
                             [&](const stack_range& x) { return x.lo == r.lo && x.hi == r.hi; });
      if (it != v.end()) v.erase(it);
    }
    registry().checked_ns.store(0, std::memory_order_relaxed);
    GC_unregister_my_thread();
    detail::note_registered(false);
    detail::tl_may_allocate = -1;
  }
}

}  // namespace goro::heap
