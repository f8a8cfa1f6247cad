#include "sched/detail/block_timing.hpp"

#include <mutex>
#include <unordered_map>

#include "core/clock.hpp"
#include "sched/detail/debug_word.hpp"
#include "sched/detail/sched_stats.hpp"
#include "sched/detail/short_lock.hpp"
#include "sched/detail/wait_reason.hpp"

namespace goro::detail {
namespace {

// Sharded by task address; each shard a short lock and a map from task to
// (start time, reason). Only used while a profile rate is set.
struct alignas(64) shard {
  short_lock lock;
  std::unordered_map<const task_header*, std::pair<int64_t, uint8_t>> open;
};
constexpr std::size_t kShards = 64;
shard g_shards[kShards];
std::atomic<block_event_fn> g_event{nullptr};

shard& shard_of(const task_header* t) {
  return g_shards[(reinterpret_cast<uintptr_t>(t) >> 6) % kShards];
}

}  // namespace

void set_block_timing(block_event_fn fn) noexcept {
  g_event.store(fn, std::memory_order_release);
  set_debug_bit(kBlockTimingBit, fn != nullptr);
  if (fn == nullptr) {
    for (shard& s : g_shards) {
      short_lock_guard g(s.lock);
      s.open.clear();
    }
  }
}

void block_wait_begin(const task_header* t) noexcept {
  const auto reason = static_cast<uint8_t>(reason_of(t->wait_word.load(std::memory_order_relaxed)));
  const int64_t now = nanotime();
  // Its next run takes execute's observed path, which ends the wait; the
  // task is still running, so its header is ours to write.
  observe_next_run(const_cast<task_header*>(t));
  shard& s = shard_of(t);
  short_lock_guard g(s.lock);
  try {
    s.open[t] = {now, reason};
  } catch (...) {  // out of memory: this wait goes unprofiled
  }
}

void block_wait_end(const task_header* t) noexcept {
  int64_t start;
  uint8_t reason;
  {
    shard& s = shard_of(t);
    short_lock_guard g(s.lock);
    auto it = s.open.find(t);
    if (it == s.open.end()) return;
    start = it->second.first;
    reason = it->second.second;
    s.open.erase(it);
  }
  if (block_event_fn fn = g_event.load(std::memory_order_acquire))
    fn(t, nanotime() - start, reason);
}

}  // namespace goro::detail
