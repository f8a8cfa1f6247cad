// The scheduler: Ps, Ms, run queues, stealing, spinning and parking.
//
// Model (Go's, see ../shared/reference/executor-anchors.md §1). A P is the
// right to run tasks and owns a local run queue (a 256-slot ring plus a
// `runnext` slot); an M is a worker thread, which runs tasks only while it
// holds a P. There are exactly max_procs Ps. A task made ready by a running
// task goes to its P's runnext (so a communicating pair runs back to back,
// sharing the cache); the displaced runnext goes to the ring's tail; a full
// ring moves half of itself to the global queue. Every 61st schedule a P
// looks at the global queue first, so tasks there cannot be starved by two
// tasks that keep respawning each other locally.
//
// Spawned tasks differ from Go: they go on the P's run stack (run_stack.hpp)
// and run newest first, after runnext and before the ring, so a tree of
// spawns runs depth first with a few hundred tasks alive instead of whole
// levels (skynet: 60-80k frames alive, all cold, became ~300). Go's rule
// (newproc puts the new g in runnext, kicking the old one to the tail) runs
// such a tree nearly breadth first. Fairness is kept with two bounds (see
// runq_get): the ring goes first after runnext_limit spawned tasks in a
// row, and a spawn that waited kSpawnedPatience schedules moves to the ring.
//
// Idle Ps steal: an M with no local or global work becomes *spinning* (at
// most half the busy Ps may spin, so stealing doesn't eat the machine),
// visits the other Ps in a random order several times and takes half of a
// victim's ring; the victim's runnext only on the last pass (it is about to
// run it). An M that finds nothing gives its P back and sleeps.
//
// Wake-ups follow Go's rule, which makes an idle runtime use no CPU without
// ever losing a wake-up: a submitter wakes an M only if there is an idle P
// and no M is spinning ("submit, then #StoreLoad, then check nmspinning");
// a spinning M that stops spinning decrements nmspinning *then* re-checks
// every queue (#StoreLoad the other way). Either the submitter sees the
// spinner, or the spinner sees the work. The last spinner to find work wakes
// a new spinner (reset_spinning → wakep), so parallelism ramps up quickly.
//
// Differences from Go, and why:
//   - Tasks are stackless and cooperative: there is no sysmon preemption,
//     so runnext inheritance is bounded by a count (runtime_options::
//     runnext_limit, Tokio's LIFO-slot cap) instead of a time slice.
//   - Like Tokio, putting a task in an *empty* runnext does not wake another
//     M: this M is about to run it anyway. Likewise a task that goes into an
//     empty ring while runnext is empty. Only work queued behind other work
//     of this P is worth a thief. Go wakes on every ready().
//   - No usleep(3) before stealing runnext; it is simply left to the last
//     pass. Thieves take the oldest task of a run stack on any pass (its
//     newest, the owner's next, just on the last), before runnext.
//   - Idle Ms park inside the collector's blocking region so a collection
//     neither signals nor waits for them.
//
// lock_os_thread (sched/lock_os_thread.cpp) follows Go: a pinned task's M
// runs only that task, handing its P away whenever the task suspends
// (stoplockedm) and receiving one from whichever M dequeues the task
// (startlockedm); a task that ends pinned ends its M. Blocking calls run on
// the pool in blocking_pool.cpp, or on the pinned M after it handed off.
//
// Locking: `scheduler::lock` (Go's sched.lock) protects the global queue's
// contents and scheduler::synced (the idle P and idle M lists, M creation).
// Everything on the task fast
// path (ring push/pop, runnext) is lock-free and touches only the owner's P.

//
// Where each mechanism lives (sched/):
//   scheduler.cpp      this essay and the worker loop: worker_main, execute,
//                      find_runnable, steal_work
//   detail/runq.hpp    a P's local queues: runq_put*, runq_get (inline: the
//                      hot path), kSpawnedPatience
//   ready.cpp          ready() and yield: where a runnable task goes
//   spawn.cpp          spawn and join: ids, root_complete, release_handle
//   detail/global_queue.hpp  the global queue and its lock-free size
//   idle.cpp, detail/idle.hpp  idle Ps and Ms: startm, stopm, wakep,
//                      handoffp, spinning; scheduler::synced is what the
//                      lock guards
//   timer.cpp          timers, including running the due ones
//   lock_os_thread.cpp stoplockedm, startlockedm, pinned Ms
//   registry.cpp, detail/registry.hpp  the live-task registry
//   procs.cpp          GOMAXPROCS: set_max_procs, procresize, retire_p
//   cpu_limit.cpp      the default: affinity mask and cgroup CPU quota
//   run.cpp            goro::run: start-up and shutdown
//   sysmon.cpp, limits.cpp, blocking_pool.cpp  as their names say

#include "sched/detail/scheduler.hpp"

#include <algorithm>
#include <mutex>
#include <numeric>

#include "core/clock.hpp"
#include "core/fatal.hpp"
#include "heap/detail/gc_stress.hpp"
#include "heap/thread_attachment.hpp"
#include "sched/detail/blocking_pool.hpp"
#include "sched/detail/cpu_limit.hpp"
#include "sched/detail/idle.hpp"
#include "sched/detail/netpoll.hpp"
#include "sched/detail/registry.hpp"
#include "sched/detail/runq.hpp"
#include "sched/detail/runtime_hooks.hpp"
#include "sched/detail/trace_hooks.hpp"
#include "sched/detail/wait_reason.hpp"

namespace goro::detail {

std::atomic<scheduler*> g_sched{nullptr};
constinit thread_local machine* tl_m = nullptr;
std::atomic<bool> g_destroying{false};

scheduler::scheduler(const runtime_options& o) : opts(o) {}
scheduler::~scheduler() = default;

scheduler* sched() noexcept {
  return g_sched.load(std::memory_order_acquire);
}

processor* current_p() noexcept {
  machine* m = tl_m;
  return m ? m->p : nullptr;
}

task_header* current_task() noexcept {
  machine* m = tl_m;
  return m ? m->current : nullptr;
}

bool shutting_down() noexcept {
  return g_destroying.load(std::memory_order_acquire);
}

namespace {

// Go's globrunqget, under s.lock: a fair share of the global queue for `p`
// (at most `max` when it is not 0); runs the first, queues the rest on p.
task_header* global_get(scheduler& s, processor* p, uint32_t max) {
  return s.global.take(p->runq, static_cast<uint64_t>(s.gomaxprocs.load(std::memory_order_relaxed)),
                       max);
}

// ---------------------------------------------------------------- stealing --

task_header* steal_work(scheduler& s, processor* p) {
  const uint32_t procs = static_cast<uint32_t>(s.gomaxprocs.load(std::memory_order_acquire));
  if (procs < 2) return nullptr;
  for (uint32_t pass = 0; pass < s.opts.steal_passes; ++pass) {
    const bool last_pass = pass + 1 == s.opts.steal_passes;
    // Visit every P once in a random order: a random start and a stride
    // coprime with procs (Go's randomOrder).
    uint32_t start = p->rng.below(procs);
    uint32_t stride = 1 + p->rng.below(procs);
    while (std::gcd(stride, procs) != 1) stride = stride % procs + 1;
    for (uint32_t i = 0; i < procs; ++i) {
      processor* v = s.all_p[(start + i * stride) % procs].load(std::memory_order_acquire);
      if (v == p) continue;
      task_header* t = nullptr;
      if (uint32_t n = v->runq.steal_into(p->runq, &t); n > 0) {
        p->steals.fetch_add(1, std::memory_order_relaxed);
        p->stolen_tasks.fetch_add(n, std::memory_order_relaxed);
        return t;
      }
      // The oldest spawned task (in a spawn tree, the biggest subtree
      // left); the newest, which its P runs next, just on the last pass.
      if (task_header* r = v->spawned.steal(last_pass)) {
        p->steals.fetch_add(1, std::memory_order_relaxed);
        p->stolen_tasks.fetch_add(1, std::memory_order_relaxed);
        return r;
      }
      if (last_pass) {
        task_header* r = v->runnext.load(std::memory_order_acquire);
        if (r && v->runnext.compare_exchange_strong(r, nullptr, std::memory_order_acq_rel)) {
          p->steals.fetch_add(1, std::memory_order_relaxed);
          p->stolen_tasks.fetch_add(1, std::memory_order_relaxed);
          return r;
        }
      }
    }
  }
  return nullptr;
}

// ------------------------------------------------------------- find work --

task_header* find_runnable(scheduler& s, machine* m, bool* inherit) {
  *inherit = false;
  for (;;) {
    if (s.stopping.load(std::memory_order_acquire)) return nullptr;
    processor* p = m->p;
    if (!p) {
      stopm(s, m);
      continue;
    }
    if (p->id >= s.gomaxprocs.load(std::memory_order_acquire)) {
      trace_close_run(p->id);  // the P stops (trace_hooks.hpp)
      retire_p(s, m);
      continue;
    }
    // Our own due timers first: the tasks they wake join our queue.
    if (const int64_t w = p->timers.when0.load(std::memory_order_acquire); w != 0) {
      const int64_t now = nanotime();
      if (w <= now) {
        // Timers are no task's run slice (trace_hooks.hpp).
        trace_close_run(p->id);
        run_timers(s, p, p, now);
      }
    }
    if (p->schedtick == 0) {
      // Polling is no task's run slice (trace_hooks.hpp).
      trace_close_run(p->id);
      netpoll_check(s, p);  // sched/netpoll.cpp: a busy P polls too
    }
    // Fairness: every Nth schedule, the global queue first.
    if (p->schedtick == 0 && s.global.size() > 0) {
      std::lock_guard lk(s.lock);
      if (task_header* t = global_get(s, p, 1)) return t;
    }
    if (task_header* t = runq_get(s, p, inherit)) return t;
    trace_close_run(p->id);  // the wait for work is no task's run slice (trace_hooks.hpp)
    if (s.global.size() > 0) {
      std::lock_guard lk(s.lock);
      if (task_header* t = global_get(s, p, 0)) return t;
    }
    // Other Ps' due timers (a busy P may be slow to get to its own).
    if (run_all_due_timers(s, p) > 0) continue;
    if (task_header* t = netpoll_find(s, p)) return t;  // sched/netpoll.cpp
    // Steal, if not too many are spinning already.
    const int procs = s.gomaxprocs.load(std::memory_order_acquire);
    if (m->spinning || 2 * s.nmspinning.load(std::memory_order_seq_cst) <
                           procs - s.npidle.load(std::memory_order_seq_cst)) {
      if (!m->spinning) {
        m->spinning = true;
        s.nmspinning.fetch_add(1, std::memory_order_seq_cst);
      }
      if (task_header* t = steal_work(s, p)) return t;
    }
    // Nothing: give the P back.
    {
      std::lock_guard lk(s.lock);
      if (task_header* t = global_get(s, p, 0)) return t;
      pidleput(s, p);
      m->p = nullptr;
    }
    if (m->spinning) {
      m->spinning = false;
      if (s.nmspinning.fetch_sub(1, std::memory_order_seq_cst) <= 0)
        fatal("find_runnable: negative nmspinning");
      // We stopped spinning: anything submitted before the decrement may have
      // skipped waking anyone because we were spinning. Look again.
      if (any_local_work(s, static_cast<uint32_t>(procs)) ||
          s.global.size(std::memory_order_seq_cst) > 0) {
        std::lock_guard lk(s.lock);
        if (processor* p2 = pidleget(s)) {
          m->p = p2;
          m->spinning = true;
          s.nmspinning.fetch_add(1, std::memory_order_seq_cst);
          continue;
        }
      }
    }
    if (netpoll_block(s, m)) continue;  // the last idle M waits in the poller
    stopm(s, m);
  }
}

// Starts loading the frame of a task that will run soon. A task taken from
// the ring was usually queued long ago (a spawner queues many children
// before the first one runs), so its frame is out of the cache and the
// first touch of it stalled the worker (perf: most of worker_main's time in
// skynet was the load of t->resume). Prefetching the ring's head while the
// current task runs hides that miss. A root task resumes first in its own
// frame, which begins two words before the header; its first lines hold
// the header, the resume index and the first locals.
void prefetch_task(const task_header* t) noexcept {
  const char* f = reinterpret_cast<const char*>(t) - 2 * sizeof(void*);
  __builtin_prefetch(f, 1);
  __builtin_prefetch(f + 64, 1);
  __builtin_prefetch(f + 128, 1);
}

static_assert(kMaxProcs <= kMaxTraceP, "a traced run indexes g_trace_p by its P's id unchecked");

}  // namespace

// While tracing, where P `p` stops running tasks: a gap record ends the
// P's last run, unless it ended already (the ring's last record is a gap)
// or the P has none in this trace. Only the M holding the P calls it.
void trace_close_run_slow(int p) noexcept {
  const trace_write w = trace_write_enter(p);
  if (trace_ring* const r = w.ring; r != nullptr) {
    const uint64_t n = r->n.load(std::memory_order_relaxed);
    if (n != 0 && r->ev[(n - 1) & r->mask].task != 0) {
      trace_record* const rec = &r->ev[n & r->mask];
      rec->start = trace_clock();
      rec->task = 0;
      r->n.store(n + 1, std::memory_order_release);
    }
  }
  trace_write_exit(w);
}

namespace {

// execute's resume for a run that is observed (runnable_since non-zero,
// sched/detail/sched_stats.hpp) with a latency sample or while the block
// and mutex profiles run: their work involves calls, so this one keeps
// registers across them.
[[gnu::noinline]] void execute_observed_slow(processor* p, task_header* t, uint32_t dw) {
  if (const int64_t since = t->runnable_since; since != kObserveRun)
    record_sched_latency(nanotime() - since);
  t->runnable_since = 0;
  if (dw & kBlockTimingBit)
    block_wait_end(t);  // block and mutex profiles (sched/detail/block_timing.hpp)
  t->wait_word.store(static_cast<uint32_t>(wait_reason::running), std::memory_order_relaxed);
  if (dw & kTracingBit) trace_run_begin(p->id, t);  // debug/trace.cpp
  t->resume.resume();
}

// execute's resume for a run that is observed: a latency sample, the end
// of a wait the block/mutex profiles time, or a run slice for the tracer.
// A run only the tracer observes (every run while tracing, bar one in 64)
// calls nothing but the task, last (a jump): no register is saved, and the
// tracer's work is its record, written before the run (trace_hooks.hpp,
// trace_run_begin). With a record written after the run too this path cost
// ~78 instructions per traced run; inlined into execute, it cost untraced
// runs registers.
[[gnu::noinline]] void execute_observed(processor* p, task_header* t) {
  const uint32_t dw = g_debug_word.load(std::memory_order_relaxed);
  if (t->runnable_since != kObserveRun || (dw & kBlockTimingBit)) [[unlikely]]
    return execute_observed_slow(p, t, dw);
  t->runnable_since = 0;
  t->wait_word.store(static_cast<uint32_t>(wait_reason::running), std::memory_order_relaxed);
  if (dw & kTracingBit) trace_run_begin(p->id, t);  // debug/trace.cpp
  t->resume.resume();
}

void execute(machine* m, task_header* t, bool inherit) {
  processor* p = m->p;
  if (!t->reg_slot) registry_add(m, t);
  if (inherit) {
    ++p->runnext_streak;
  } else {
    if (++p->schedtick == p->global_interval) p->schedtick = 0;
    p->runnext_streak = 0;
  }
  p->schedticks_total.store(p->schedticks_total.load(std::memory_order_relaxed) + 1,
                            std::memory_order_relaxed);
  if (const task_header* next = p->runq.peek()) prefetch_task(next);
  m->current = t;
  // The latency sample's test covers the block/mutex profiles and the
  // tracer too (kObserveRun): their work is out of line, and the fast path
  // pays one store for task dumps (the task runs).
  if (t->runnable_since != 0) [[unlikely]] {
    execute_observed(p, t);
  } else {
    t->wait_word.store(static_cast<uint32_t>(wait_reason::running), std::memory_order_relaxed);
    t->resume.resume();
  }
  m->current = nullptr;
}

}  // namespace

// ------------------------------------------------------------ worker loop --

void worker_main(machine* m) {
  heap::thread_attachment attach;
  tl_m = m;
  scheduler& s = *g_sched.load(std::memory_order_acquire);
  m->p = m->nextp;
  m->nextp = nullptr;
  m->spinning = m->next_spinning;
  m->next_spinning = false;
  for (;;) {
    bool inherit = false;
    task_header* t;
    if (m->lockedg) [[unlikely]] {
      // The P goes to another M or idles: no run slice (trace_hooks.hpp).
      if (m->p) trace_close_run(m->p->id);
      // A pinned M runs only its task (Go's schedule: lockedg →
      // stoplockedm), and leaves with it.
      if (m->exit_locked) {
        exit_locked_m(s, m);
        break;
      }
      if (!(t = stoplockedm(s, m))) break;
    } else {
      if (!(t = find_runnable(s, m, &inherit))) break;
      if (m->spinning) reset_spinning(s, m);
      // An unpinned M never dequeues a task pinned to itself.
      if (t->locked_m) [[unlikely]] {
        trace_close_run(m->p->id);  // the hand-over is no run slice (trace_hooks.hpp)
        startlockedm(m, t);         // our P goes to the task's own M; we go idle
        continue;
      }
    }
    heap::detail::gc_stress_point();  // GORO_DEBUG=gcstress: a schedule is an event
    execute(m, t, inherit);
  }
  tl_m = nullptr;
}

}  // namespace goro::detail
