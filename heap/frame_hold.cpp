#include "heap/frame_hold.hpp"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>

#include "core/spin_lock.hpp"
#include "heap/frame_pool.hpp"

namespace goro::heap {
namespace {

struct held_frame {
  void* p;
  std::size_t n;
};

// Protected by g_lock (a spin lock: held for a few stores). A plain array
// grown with realloc.
spin_lock g_lock;
held_frame* g_held = nullptr;
std::size_t g_count = 0, g_cap = 0;

long membarrier(int cmd) noexcept {
  return syscall(SYS_membarrier, cmd, 0, 0);
}

// Registers once for the cheap expedited command; falls back to the global
// one (an RCU grace period, milliseconds) where registration is refused.
bool heavy_barrier() noexcept {
  static const int cmd = []() -> int {
    if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0)
      return MEMBARRIER_CMD_PRIVATE_EXPEDITED;
    if (membarrier(MEMBARRIER_CMD_QUERY) > 0) return MEMBARRIER_CMD_GLOBAL;
    return -1;
  }();
  return cmd >= 0 && membarrier(cmd) == 0;
}

}  // namespace

bool hold_frame_frees() noexcept {
  detail::g_frame_holds.fetch_add(1, std::memory_order_seq_cst);
  if (heavy_barrier()) return true;
  release_frame_frees();
  return false;
}

void release_frame_frees() noexcept {
  held_frame* list;
  std::size_t n;
  {
    std::lock_guard g(g_lock);
    if (detail::g_frame_holds.fetch_sub(1, std::memory_order_seq_cst) != 1) return;
    list = g_held;
    n = g_count;
    g_held = nullptr;
    g_count = g_cap = 0;
  }
  for (std::size_t i = 0; i < n; ++i) frame_free(list[i].p, list[i].n);
  std::free(list);
}

namespace detail {

bool defer_frame_free(void* p, std::size_t n) noexcept {
  std::lock_guard g(g_lock);
  if (g_frame_holds.load(std::memory_order_relaxed) == 0) return false;
  if (g_count == g_cap) {
    const std::size_t cap = g_cap ? 2 * g_cap : 256;
    auto* grown = static_cast<held_frame*>(std::realloc(g_held, cap * sizeof(held_frame)));
    if (grown == nullptr)
      return false;  // out of memory: free it after all (rare; dump may misread)
    g_held = grown;
    g_cap = cap;
  }
  g_held[g_count++] = {p, n};
  return true;
}

}  // namespace detail
}  // namespace goro::heap
