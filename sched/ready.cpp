// ready and yield: where a task that can run again goes. From a worker, to
// its P's local queues (runq_put, sched/detail/runq.hpp: runnext for a
// wake-up, the ring's tail for a yield), waking an idle M when the task
// queued behind other work (wake_for_published, sched/detail/idle.hpp);
// from any other thread, to the global queue.

#include <mutex>

#include "sched/detail/debug_word.hpp"
#include "sched/detail/idle.hpp"
#include "sched/detail/runq.hpp"
#include "sched/detail/runtime_hooks.hpp"
#include "sched/detail/scheduler.hpp"
#include "sched/detail/trace_hooks.hpp"

namespace goro::detail {

void stamp_runnable_now(task_header* t) noexcept {
  t->runnable_since = nanotime();
}

// While tracing: the arrow from a run that hands a blocking call off to the
// call's slice on the thread that runs it (blocking_pool.cpp, lock_os_thread.cpp).
void trace_handoff_slow(task_header* t) noexcept {
  t->trace_cause_kind = static_cast<uint8_t>(
      t->trace_cause_kind == static_cast<uint8_t>(trace_flow::run) ? trace_flow::handoff
                                                                   : trace_flow::none);
}

void ready(task_header* t) noexcept {
  scheduler& s = *g_sched.load(std::memory_order_acquire);
  machine* m = tl_m;
  bool notify = true;
  if (m && m->p) {
    const uint64_t ticks = m->p->schedticks_total.load(std::memory_order_relaxed);
    if (observed_transition(ticks)) [[unlikely]]
      observed_transition_slow(m->current, t, ticks, false);
    notify = runq_put(s, m->p, t, true);
  } else {
    trace_observe(t);
    std::lock_guard lk(s.lock);
    s.global.push(t);
  }
  if (notify) wake_for_published(s);
}

void yield_current(task_header* t) noexcept {
  scheduler& s = *g_sched.load(std::memory_order_acquire);
  machine* m = tl_m;
  if (m && m->p) {
    const uint64_t ticks = m->p->schedticks_total.load(std::memory_order_relaxed);
    if (observed_transition(ticks)) [[unlikely]] {
      stamp_runnable(t, ticks);
      trace_observe(t);
    }
    runq_put(s, m->p, t, false);
  } else {
    trace_observe(t);
    std::lock_guard lk(s.lock);
    s.global.push(t);
  }
}

}  // namespace goro::detail
