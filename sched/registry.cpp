// The task registry's slow paths: refilling a shard's free list, giving a
// new M a shard, and destroying every registered task at shutdown. The
// design, the shard type and the inline add/remove are in
// sched/detail/registry.hpp.

#include "sched/detail/registry.hpp"

#include <memory>
#include <new>

namespace goro::detail {

// Owner: refills the free list, by reclaiming the slots other Ms freed when
// they are worth a scan, else with a new chunk.
void registry_refill(registry_shard& r) {
  // Signed: a scan may find a null before its remover has counted it.
  const auto pending =
      static_cast<int64_t>(r.remote_freed.load(std::memory_order_relaxed) - r.reclaimed);
  if (pending > 0 &&
      static_cast<uint64_t>(pending) >= r.chunks.size() * registry_shard::kSlotsPerChunk / 4) {
    for (registry_shard::chunk* c : r.chunks) {
      for (auto& slot : c->slots) {
        if (slot.load(std::memory_order_relaxed) == nullptr) {
          slot.store(registry_shard::kFreeSlot, std::memory_order_relaxed);
          r.free.push_back(&slot);
          ++r.reclaimed;
        }
      }
    }
    if (!r.free.empty()) return;
  }
  auto* c = static_cast<registry_shard::chunk*>(
      ::operator new (registry_shard::kChunkBytes, std::align_val_t{registry_shard::kChunkBytes}));
  c->shard = &r;
  for (auto& slot : c->slots) new (&slot) std::atomic<task_header*>(registry_shard::kFreeSlot);
  r.chunks.push_back(c);
  c->older = r.newest.load(std::memory_order_relaxed);
  r.newest.store(c, std::memory_order_release);
  r.free.reserve(r.free.size() + registry_shard::kSlotsPerChunk);
  for (std::size_t i = registry_shard::kSlotsPerChunk; i-- > 0;) r.free.push_back(&c->slots[i]);
}

registry_shard* registry_shard_for_new_m(scheduler& s) {
  if (!s.synced.free_shards.empty()) {
    registry_shard* r = s.synced.free_shards.back();
    s.synced.free_shards.pop_back();
    return r;
  }
  s.synced.shards.push_back(std::make_unique<registry_shard>());
  s.synced.shards.back()->older = s.newest_shard.load(std::memory_order_relaxed);
  s.newest_shard.store(s.synced.shards.back().get(), std::memory_order_release);
  return s.synced.shards.back().get();
}

void registry_destroy_all(scheduler& s) {
  for (auto& r : s.synced.shards) {
    for (registry_shard::chunk* c : r->chunks) {
      for (auto& slot : c->slots) {
        task_header* t = slot.exchange(registry_shard::kFreeSlot, std::memory_order_relaxed);
        if (t != nullptr && t != registry_shard::kFreeSlot) t->self.destroy();
      }
    }
  }
}

}  // namespace goro::detail
