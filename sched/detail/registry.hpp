#pragma once
// The task registry: every live root task that has run at least once, in
// shards owned by Ms. Used at shutdown (sched/run.cpp destroys what is left)
// and for task dumps. Implementation in sched/registry.cpp; add and remove
// are inline because every task passes through both (execute, root_complete).
//
// A task is registered by the M that first runs it, in that M's shard,
// not by its spawner: a task usually ends on the M that runs it, so adding
// and removing stay on one M's lines. Registering at spawn put every task
// that another P stole into the spawner's shard, and its removal then
// bounced that shard's lock and arrays between the cores (8% of a
// two-thread skynet profile, against 2.5% with one thread).
//
// A shard is slot arrays, not a list through the tasks: adding and
// removing touch only the shard's own memory, never a neighbouring task's
// frame (an intrusive list made every task exit write into two other,
// usually cold, frames: ~12% of skynet's time).
//
// Each shard belongs to one M at a time (mimalloc's thread-owned pages,
// applied to slots), so the common case takes no lock and no atomic
// read-modify-write; a lock per shard made add + remove four atomic RMWs
// per task, ~10% of a one-thread skynet profile.
//   - The owner adds: it pops a slot from its private free list and stores
//     the task there. It removes its own tasks the same way, marking the
//     slot kFreeSlot and pushing it back on the list.
//   - Anyone else (a task that ended on another M, a join handle released
//     outside the runtime) removes by storing null into the slot and
//     counting it in `remote_freed`. Slots never move (chunks are never
//     reallocated), so the store needs no lock.
//   - An owner out of free slots scans its chunks for nulls once the
//     remote frees since its last scan are at least a quarter of its slots
//     (each scan then pays for itself), otherwise adds a chunk.
// An M that exits (a pinned task ended) gives its shard back to the
// scheduler under its lock; the next M created takes it over.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

#include "heap/internal_memory.hpp"
#include "sched/detail/scheduler.hpp"
#include "sched/detail/task_header.hpp"

namespace goro::detail {

struct registry_shard : heap::internal_object {
  /// A slot on the owner's free list (null is a slot freed by another M
  /// that no scan has reclaimed yet).
  static inline task_header* const kFreeSlot = reinterpret_cast<task_header*>(uintptr_t{1});
  /// Chunk size and alignment: a slot's chunk (and so its shard) is found
  /// by masking the slot's address.
  static constexpr std::size_t kChunkBytes = 16384;
  struct chunk {
    registry_shard* shard;
    chunk* older;  // the shard's previous chunk, for readers (task dumps)
    std::atomic<task_header*> slots[kChunkBytes / sizeof(void*) - 2];
  };
  static_assert(sizeof(chunk) == kChunkBytes);
  static constexpr std::size_t kSlotsPerChunk = kChunkBytes / sizeof(void*) - 2;

  registry_shard() = default;
  registry_shard(const registry_shard&) = delete;
  registry_shard& operator=(const registry_shard&) = delete;
  ~registry_shard() {
    for (chunk* c : chunks) ::operator delete (c, std::align_val_t{kChunkBytes});
  }

  static registry_shard* of(std::atomic<task_header*>* slot) noexcept {
    return reinterpret_cast<chunk*>(reinterpret_cast<uintptr_t>(slot) & ~(kChunkBytes - 1))->shard;
  }

  // --- owner only ---
  std::vector<chunk*> chunks;
  std::vector<std::atomic<task_header*>*> free;
  uint64_t reclaimed = 0;  // remote frees found by scans so far
  // Frees by the owner; with remote_freed, the tasks that ended (metrics:
  // /sched/tasks). Owner writes, anyone reads.
  std::atomic<uint64_t> local_freed{0};
  // --- any thread ---
  /// The newest chunk, linked to the older ones (release on publish): how
  /// task dumps walk a shard without the owner's vector.
  std::atomic<chunk*> newest{nullptr};
  registry_shard* older = nullptr;  // the shard made before this one; set once under sched lock
  alignas(64) std::atomic<uint64_t> remote_freed{0};
  char pad[64 - sizeof(std::atomic<uint64_t>)];
};

/// Owner: refills the free list (registry.cpp).
void registry_refill(registry_shard& r);
/// Requires s.lock: a shard for a new M, reused from an exited one if any.
registry_shard* registry_shard_for_new_m(scheduler& s);
/// Shutdown, every M stopped: destroys every registered task.
void registry_destroy_all(scheduler& s);

/// Registers `t` (its first run) in the running M's shard.
inline void registry_add(machine* m, task_header* t) {
  registry_shard& r = *m->registry;
  if (r.free.empty()) [[unlikely]]
    registry_refill(r);
  std::atomic<task_header*>* slot = r.free.back();
  r.free.pop_back();
  slot->store(t, std::memory_order_relaxed);
  t->reg_slot = slot;
}

/// Unregisters `t` (it ended), from any thread.
inline void registry_remove(task_header* t) {
  std::atomic<task_header*>* slot = t->reg_slot;
  registry_shard* r = registry_shard::of(slot);
  if (const machine* m = tl_m; m && m->registry == r) {
    p_stats::bump(r->local_freed);
    slot->store(registry_shard::kFreeSlot, std::memory_order_relaxed);
    r->free.push_back(slot);
  } else {
    // Not ours: the owner reclaims the slot in a later scan. The null is
    // ordered after the owner's store of `t` (we got `t` from it through a
    // queue hand-off), so a scan never takes a slot whose task still lives.
    slot->store(nullptr, std::memory_order_relaxed);
    r->remote_freed.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace goro::detail
