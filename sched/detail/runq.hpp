#pragma once
// A P's local queues, and where a readied or spawned task goes. Inline: this
// is the hot path (ready → runq_put → wake, spawn → runq_put_spawned, and the
// worker's runq_get), called from ready.cpp, spawn.cpp, timer.cpp and the
// worker loop in scheduler.cpp, and there is no LTO.
//
// The three entry points are always_inline: as inline functions with
// external linkage they lose GCC's "static, called once" inlining, which
// the single-file scheduler gave them (runq_put_spawned was then left out
// of line in spawn_root). runq_put_tail, the overflow path, stays a call.
//
// A P has three local queues (sched/detail/scheduler.hpp, struct processor):
//   - runnext: one slot for the task readied last by the running task (Go's
//     runnext), so a communicating pair runs back to back;
//   - the run stack (run_stack.hpp): tasks spawned on this P, newest first;
//   - the ring (run_queue.hpp): everything else, FIFO; half of a full ring
//     moves to the global queue (global_queue.hpp).
// runq_get takes them in that order, with the two fairness bounds below.

#include <atomic>
#include <cstdint>
#include <mutex>

#include "sched/detail/scheduler.hpp"

namespace goro::detail {

// How long, in its P's schedules, a spawned task may wait at the bottom of
// the run stack before it moves to the ring's tail, and how often that is
// checked (one entry per period). Newest-first must not starve the oldest
// entry: a task that keeps spawning a successor would otherwise keep an
// older spawn waiting for ever. Go bounds the same wait by preempting after
// a 10 ms time slice; this is a schedule count, which needs no clock read:
// 65536 schedules take some 5-25 ms at 0.1-0.4 us each. The oldest spawn
// moves within two periods, the k-th oldest within k + 1.
//
// One entry per period, not every entry past the age: in a spawn tree the
// bottom entries are the biggest subtrees, waiting for the subtrees above
// them, and every subtree started early buries the current one's entries
// under its own until those age out too. Moving every aged entry at once
// cascaded back to breadth-first order: skynet (1M leaves, fan-out 10)
// kept 45-65k tasks alive at a period of 4096, 16384 or 65536 schedules.
// One per period: 25k / 500 / ~300 alive at those three periods (one P),
// and with fan-out 100 only 65536 stayed small (~460; 175-245k at the
// others). With 10M leaves on two Ps, 65536 still lets 20-55k of the 11M
// tasks be alive at once; a longer period would keep that smaller at the
// price of a longer wait for a starved spawn.
inline constexpr uint32_t kSpawnedPatience = 65536;

// Puts `t` at the ring's tail, or with half of a full ring into the global
// queue. Returns whether other work of this P was queued ahead of it.
inline bool runq_put_tail(scheduler& s, processor* p, task_header* t) {
  uint32_t before = 0;
  while (!p->runq.try_push(t, &before)) {
    task_header* batch[run_queue::kMaxCapacity / 2 + 1];
    uint32_t n = p->runq.take_half_for_overflow(batch);
    if (n == 0) continue;  // a thief made room
    batch[n] = t;
    p->overflows.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lk(s.lock);
    s.global.push_many(batch, n + 1);
    return true;
  }
  return before > 0 || p->runnext.load(std::memory_order_relaxed) != nullptr || !p->spawned.empty();
}

// Go's runqput. Returns true when the task landed where a thief should be
// told about it: behind other work of this P (in the ring or the global
// queue). False when it is simply the next thing this P runs: it filled an
// empty runnext slot, or it went into an empty ring while runnext and the
// run stack are empty (a task readied past runnext_limit in a ping-pong
// pair, which would otherwise wake an idle M on every few hand-offs only for
// it to find the task already taken back by this P, and park again).
[[gnu::always_inline]] inline bool runq_put(scheduler& s, processor* p, task_header* t, bool next) {
  if (next && p->runnext_streak < s.opts.runnext_limit) {
    task_header* old = p->runnext.exchange(t, std::memory_order_acq_rel);
    if (!old) return false;
    t = old;  // kick the old runnext to the tail
  }
  return runq_put_tail(s, p, t);
}

// The P's schedule count, the run stack's clock (kSpawnedPatience).
inline uint32_t sched_clock(const processor* p) noexcept {
  return static_cast<uint32_t>(p->schedticks_total.load(std::memory_order_relaxed));
}

// A task spawned on this P goes on top of the P's run stack (newest first:
// a spawn tree runs depth first, see run_stack.hpp), or to the ring's tail
// when the stack is full. Returns true when it landed behind other work.
[[gnu::always_inline]] inline bool runq_put_spawned(scheduler& s, processor* p, task_header* t) {
  bool below = false;
  if (!p->spawned.push(t, sched_clock(p), &below)) return runq_put_tail(s, p, t);
  return below || !p->runq.empty() || p->runnext.load(std::memory_order_relaxed) != nullptr;
}

// Go's runqget: runnext first (it inherits the time slice), then the
// spawned tasks newest first, then the ring. A spawned task starts a fresh
// slice, as a task from the ring does (the global queue's 1-in-61 check
// counts it), and after runnext_limit spawned tasks in a row the ring's
// head goes first, so a chain of spawns cannot starve the ring. (Counting
// spawned tasks as inheriting instead sent every few wake-ups to the ring's
// tail: in a spawn tree the parents woken by their children then waited
// behind new subtrees, which kept expanding: skynet, one P, 240k tasks
// alive instead of a few hundred.)
[[gnu::always_inline]] inline task_header* runq_get(scheduler& s, processor* p, bool* inherit) {
  task_header* t = p->runnext.load(std::memory_order_relaxed);
  if (t && p->runnext.compare_exchange_strong(t, nullptr, std::memory_order_acquire)) {
    *inherit = true;
    return t;
  }
  *inherit = false;
  if (p->spawned.empty()) {  // no spawns waiting (yield, channels): the ring
    p->spawned_streak = 0;
    return p->runq.pop();
  }
  if (const uint32_t now = sched_clock(p); now - p->spawned_age_check >= kSpawnedPatience)
      [[unlikely]] {
    p->spawned_age_check = now;
    if (task_header* old = p->spawned.take_bottom_if_older(now - kSpawnedPatience))
      runq_put_tail(s, p, old);
  }
  if (p->spawned_streak >= s.opts.runnext_limit) {  // the ring's turn
    p->spawned_streak = 0;
    if ((t = p->runq.pop())) return t;
  }
  if ((t = p->spawned.pop())) {
    ++p->spawned_streak;
    return t;
  }
  p->spawned_streak = 0;
  return p->runq.pop();
}

/// Whether `p` has anything in its local queues (a racy snapshot).
inline bool has_local_work(const processor* p) noexcept {
  return !p->runq.empty() || !p->spawned.empty() ||
         p->runnext.load(std::memory_order_acquire) != nullptr;
}

/// Whether any of the first `procs` Ps has anything in its local queues.
inline bool any_local_work(scheduler& s, uint32_t procs) noexcept {
  for (uint32_t i = 0; i < procs; ++i)
    if (has_local_work(s.all_p[i].load(std::memory_order_acquire))) return true;
  return false;
}

}  // namespace goro::detail
