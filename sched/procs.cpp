// Procs: how many Ps there are (Go's GOMAXPROCS). The number goro::run
// starts with (initial_procs), set_max_procs before and during a run, and
// growing or shrinking the set of Ps (set_procs_locked, Go's procresize; a
// running P beyond the new count retires itself at its next schedule:
// retire_p). The default comes from the affinity mask and the cgroup CPU
// quota (sched/cpu_limit.cpp); the upper bound is kMaxProcs.

#include <sched.h>

#include <algorithm>
#include <memory>
#include <mutex>

#include "core/fatal.hpp"
#include "core/settings.hpp"
#include "heap/detail/gc_knobs.hpp"
#include "sched/detail/cpu_limit.hpp"
#include "sched/detail/idle.hpp"
#include "sched/detail/scheduler.hpp"
#include "sched/detail/startup.hpp"
#include "sched/run.hpp"

namespace goro::detail {
namespace {

// set_max_procs before run(): the value the next run starts with.
std::mutex g_settings_lock;
int g_requested_procs = 0;      // protected by g_settings_lock
bool g_procs_explicit = false;  // protected by g_settings_lock

}  // namespace

int initial_procs(int option, const startup_config& cfg, bool* explicit_procs) {
  *explicit_procs = true;
  int procs = option;
  if (procs <= 0) {
    std::lock_guard lk(g_settings_lock);
    if (g_procs_explicit) procs = g_requested_procs;
  }
  if (procs <= 0 && cfg.max_procs) procs = *cfg.max_procs;
  if (procs <= 0) {
    procs = default_procs();
    *explicit_procs = false;
  }
  return std::min(procs, kMaxProcs);
}

int set_pending_max_procs(int n) {
  std::lock_guard lk(g_settings_lock);
  int old = g_procs_explicit ? g_requested_procs : 0;
  if (old == 0) {
    settings::validate_environment_or_exit();  // a bad GORO_MAXPROCS: exit 2
    old = max_procs_from_env().value_or(0);
    if (old == 0) old = default_procs();
  }
  if (n >= 1) {
    g_requested_procs = std::min(n, kMaxProcs);
    g_procs_explicit = true;
  }
  return old;
}

void wake_idle_for_work() {
  if (scheduler* s = sched()) wakep(*s);
}

void set_procs_locked(scheduler& s, int n) {
  const int old = s.gomaxprocs.load(std::memory_order_relaxed);
  for (int i = 0; i < n; ++i) {
    if (s.all_p[i].load(std::memory_order_relaxed)) continue;
    s.synced.owned_p.push_back(std::make_unique<processor>(
        i, s.opts.run_queue_size, s.opts.run_stack_size, s.opts.global_queue_interval));
    s.all_p[i].store(s.synced.owned_p.back().get(), std::memory_order_release);
  }
  s.gomaxprocs.store(n, std::memory_order_seq_cst);
  heap::set_gc_procs(n);  // the GC CPU limiter counts procs x pause
  if (n > old || s.npidle.load(std::memory_order_relaxed) == 0) {
    // Ps that were dead (never started, or retired) become idle. A P still
    // held by an M that had not yet retired it simply stays running.
    for (int i = n - 1; i >= 0; --i) {
      processor* p = s.all_p[i].load(std::memory_order_relaxed);
      if (p->state == processor::status::dead) pidleput(s, p);
    }
  }
  bool moved_timers = false;
  if (n < old) {
    // Idle Ps beyond n leave the idle list now; running ones retire
    // themselves at their next schedule (find_runnable → retire_p).
    processor** link = &s.synced.pidle;
    while (processor* p = *link) {
      if (p->id >= n) {
        *link = p->idle_link;
        p->idle_link = nullptr;
        p->state = processor::status::dead;
        s.npidle.fetch_sub(1, std::memory_order_seq_cst);
        // Its timers would be seen by nobody (only Ps below gomaxprocs are
        // looked at): they go to P 0, as retire_p does for a running P.
        move_timers(p, s.all_p[0].load(std::memory_order_relaxed));
        moved_timers = true;
      } else {
        link = &p->idle_link;
      }
    }
  }
  // A parked M may be waiting for a later deadline than the moved timers'
  // (or for none): send one round again so it parks for the earliest.
  if (moved_timers) {
    const int64_t w = s.all_p[0].load(std::memory_order_relaxed)->timers.when0.load();
    if (machine* m = w != 0 && w < s.synced.timer_sleep_when ? mget(s) : nullptr) {
      m->nextp = nullptr;
      m->next_spinning = false;
      m->park.post();
    }
  }
}

// A P whose id is >= gomaxprocs after set_max_procs shrank it: hand its
// queue to the global queue and let go of it.
void retire_p(scheduler& s, machine* m) {
  processor* p = m->p;
  task_header* batch[run_queue::kMaxCapacity];
  uint32_t n = 0;
  task_header* rn = nullptr;
  {
    std::lock_guard lk(s.lock);
    if (p->id < s.gomaxprocs.load(std::memory_order_relaxed)) return;  // grown back meanwhile
    n = p->runq.drain(batch);
    rn = p->runnext.exchange(nullptr, std::memory_order_acq_rel);
    if (n > 0) s.global.push_many(batch, n);
    if (rn) s.global.push(rn);
    while (task_header* t = p->spawned.take_bottom()) {  // oldest first
      s.global.push(t);
      ++n;
    }
    p->state = processor::status::dead;
  }
  move_timers(p, s.all_p[0].load(std::memory_order_acquire));
  m->p = nullptr;
  if (m->spinning) {  // a P-less M is never spinning
    m->spinning = false;
    if (s.nmspinning.fetch_sub(1, std::memory_order_seq_cst) <= 0)
      fatal("retire_p: negative nmspinning");
  }
  if (n > 0 || rn) wakep(s);
}

}  // namespace goro::detail

namespace goro {

int set_max_procs(int n) {
  detail::scheduler* s = detail::sched();
  if (!s) return detail::set_pending_max_procs(n);
  int old;
  {
    std::lock_guard lk(s->lock);
    old = s->gomaxprocs.load(std::memory_order_relaxed);
    if (n < 1) return old;
    n = std::min(n, detail::kMaxProcs);
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
