// Shutdown: taking parked tasks off the sync primitives before any frame is
// destroyed (the reason is in sched/detail/wait_queue.hpp, at note_parked).

#include "sched/detail/shutdown.hpp"

#include "sched/detail/registry.hpp"
#include "sched/detail/scheduler.hpp"
#include "sched/detail/wait_queue.hpp"

namespace goro::detail {

void unlink_parked_waiters(scheduler& s) noexcept {
  // Only a task that has run can be parked, and every such task is in the
  // registry until its frame is destroyed.
  for (auto& r : s.synced.shards) {
    for (registry_shard::chunk* c : r->chunks) {
      for (auto& slot : c->slots) {
        task_header* t = slot.load(std::memory_order_relaxed);
        if (t == nullptr || t == registry_shard::kFreeSlot) continue;
        if (sync_waiter* w = t->parked) {
          t->parked = nullptr;
          w->unlink(w);
        }
      }
    }
  }
}

}  // namespace goro::detail
