// goro::set_max_procs and goro::num_cpu (GOMAXPROCS and runtime.NumCPU).

#include <sched.h>

#include <mutex>

#include "sched/detail/scheduler.hpp"
#include "sched/maxprocs.hpp"
#include "sched/run.hpp"

namespace goro {

int set_max_procs(int n) {
  detail::scheduler* s = detail::sched();
  if (!s) return detail::set_pending_max_procs(n);
  int old;
  {
    std::lock_guard lk(s->lock);
    old = s->gomaxprocs.load(std::memory_order_relaxed);
    if (n < 1) return old;
    n = std::min(n, detail::scheduler::kMaxProcs);
    s->procs_explicit = true;
    detail::set_procs_locked(*s, n);
  }
  if (n > old) detail::wake_idle_for_work();
  return old;
}

int num_cpu() {
  return detail::num_cpu();
}

}  // namespace goro
