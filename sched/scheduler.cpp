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
// lock_os_thread (section "locked Ms") follows Go: a pinned task's M runs
// only that task, handing its P away whenever the task suspends
// (stoplockedm) and receiving one from whichever M dequeues the task
// (startlockedm); a task that ends pinned ends its M. Blocking calls run on
// the pool in blocking_pool.cpp, or on the pinned M after it handed off.
//
// Locking: `scheduler::lock` (Go's sched.lock) protects the global queue,
// the idle P and idle M lists and M creation. Everything on the task fast
// path (ring push/pop, runnext) is lock-free and touches only the owner's P.

#include "sched/detail/scheduler.hpp"

#include <cxxabi.h>
#include <pthread.h>

#include <cinttypes>
#include <cstdio>
#include <new>
#include <numeric>
#include <string>

#include "core/clock.hpp"
#include "core/env.hpp"
#include "core/fatal.hpp"
#include "heap/blocking_region.hpp"
#include "heap/collector_init.hpp"
#include "heap/detail/gc_knobs.hpp"
#include "heap/thread_attachment.hpp"
#include "sched/detail/blocking_pool.hpp"
#include "sched/detail/runtime_hooks.hpp"
#include "sched/detail/startup.hpp"
#include "sched/detail/trace_hooks.hpp"
#include "sched/detail/wait_reason.hpp"
#include "sched/join_handle.hpp"
#include "sched/lock_os_thread.hpp"
#include "sched/maxprocs.hpp"
#include "sched/run.hpp"

namespace goro::detail {
namespace {

std::atomic<scheduler*> g_sched{nullptr};
thread_local machine* tl_m = nullptr;
std::atomic<unhandled_exception_policy> g_policy{unhandled_exception_policy::abort};
std::atomic<bool> g_destroying{false};
parker g_root_parker;

// set_max_procs before run(): the value the next run starts with.
std::mutex g_settings_lock;
int g_requested_procs = 0;      // protected by g_settings_lock
bool g_procs_explicit = false;  // protected by g_settings_lock

// ---------------------------------------------------------------- P lists --
// All of these require s.lock.

processor* pidleget(scheduler& s) {
  processor* p = s.pidle;
  if (!p) return nullptr;
  s.pidle = p->idle_link;
  p->idle_link = nullptr;
  p->state = processor::status::running;
  s.npidle.fetch_sub(1, std::memory_order_seq_cst);
  return p;
}

void pidleput(scheduler& s, processor* p) {
  if (p->state == processor::status::idle) fatal("pidleput: P already idle");
  p->state = processor::status::idle;
  p->idle_link = s.pidle;
  s.pidle = p;
  s.npidle.fetch_add(1, std::memory_order_seq_cst);
}

// Go's mget: an idle M off the list, or null.
machine* mget(scheduler& s) {
  machine* m = s.midle;
  if (!m) return nullptr;
  s.midle = m->idle_link;
  m->idle_link = nullptr;
  m->in_midle = false;
  --s.nmidle;
  return m;
}

void global_push(scheduler& s, task_header* t) {
  s.global.push_back(t);
  s.global_size.store(s.global.size(), std::memory_order_seq_cst);
}

// Go's globrunqget: take a fair share of the global queue, run the first and
// put the rest in the local ring. `max` = 0 means no extra limit.
task_header* global_get(scheduler& s, processor* p, uint32_t max) {
  uint64_t size = s.global.size();
  if (size == 0) return nullptr;
  uint64_t procs = static_cast<uint64_t>(s.gomaxprocs.load(std::memory_order_relaxed));
  uint64_t n = std::min<uint64_t>(size, size / procs + 1);
  if (max > 0) n = std::min<uint64_t>(n, max);
  uint32_t room = p->runq.capacity() - p->runq.size();
  n = std::min<uint64_t>(n, std::max<uint32_t>(1, std::min(room, p->runq.capacity() / 2)));
  task_header* first = s.global.pop_front();
  for (uint64_t i = 1; i < n; ++i) {
    task_header* t = s.global.pop_front();
    if (!p->runq.try_push(t)) fatal("global_get: local run queue overflow");
  }
  s.global_size.store(s.global.size(), std::memory_order_seq_cst);
  return first;
}

// ---------------------------------------------------------------- M start --

void worker_main(machine* m);

// Requires s.lock. Takes the exited pinned Ms out of all_m to be joined.
std::vector<std::unique_ptr<machine>> take_dead_ms(scheduler& s) {
  std::vector<std::unique_ptr<machine>> out;
  for (machine* d : s.mdead) {
    for (auto it = s.all_m.begin(); it != s.all_m.end(); ++it) {
      if (it->get() == d) {
        out.push_back(std::move(*it));
        s.all_m.erase(it);
        break;
      }
    }
  }
  s.mdead.clear();
  return out;
}

registry_shard* registry_shard_for_new_m(scheduler& s);

void startm(scheduler& s, processor* p, bool spinning) {
  std::vector<std::unique_ptr<machine>> dead;
  std::unique_lock lk(s.lock);
  if (s.stopping.load(std::memory_order_relaxed)) {
    // Shutting down: goro::run is joining all_m, so no M may start now.
    pidleput(s, p);
    if (spinning) s.nmspinning.fetch_sub(1, std::memory_order_seq_cst);
    return;
  }
  if (machine* m = mget(s)) {
    m->nextp = p;
    m->next_spinning = spinning;
    lk.unlock();
    m->park.post();
    return;
  }
  add_thread(s, thread_kind::worker);  // ends the process past set_max_threads
  dead = take_dead_ms(s);
  auto owned = std::make_unique<machine>();
  machine* m = owned.get();
  m->id = s.next_m_id++;
  m->registry = registry_shard_for_new_m(s);
  m->nextp = p;
  m->next_spinning = spinning;
  s.all_m.push_back(std::move(owned));
  m->thread = std::thread(worker_main, m);
  lk.unlock();
  for (auto& d : dead) d->thread.join();  // exited already: joining is quick
}

// Go's wakep: start a spinning M if there is an idle P and nobody spins.
void wakep(scheduler& s) {
  if (s.nmspinning.load(std::memory_order_seq_cst) != 0) return;
  if (s.npidle.load(std::memory_order_seq_cst) == 0) return;
  int zero = 0;
  if (!s.nmspinning.compare_exchange_strong(zero, 1, std::memory_order_seq_cst)) return;
  processor* p;
  {
    std::lock_guard lk(s.lock);
    p = s.stopping.load(std::memory_order_relaxed) ? nullptr : pidleget(s);
  }
  if (!p) {
    if (s.nmspinning.fetch_sub(1, std::memory_order_seq_cst) <= 0)
      fatal("wakep: negative nmspinning");
    return;
  }
  startm(s, p, true);
}

// After a task was published to a queue: a #StoreLoad between that store
// and reading nmspinning/npidle (see the top comment), then Go's wakep.
// TSan does not model fences, so there the same barrier is a seq_cst
// read-modify-write. On x86-64 the barrier is a locked no-op on the stack
// rather than the mfence that atomic_thread_fence compiles to: any locked
// instruction orders earlier stores before later loads, and it costs a
// fraction of an mfence (Linux's smp_mb() does the same). This runs on
// every ready() that lands in a ring, i.e. on most spawns.
void wake_for_published(scheduler& s) {
#if defined(__SANITIZE_THREAD__)
  s.store_load_barrier.fetch_add(0, std::memory_order_seq_cst);
#elif defined(__x86_64__)
  asm volatile("lock orq $0, (%%rsp)" ::: "memory", "cc");
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
  wakep(s);
}

void reset_spinning(scheduler& s, machine* m) {
  m->spinning = false;
  if (s.nmspinning.fetch_sub(1, std::memory_order_seq_cst) <= 0)
    fatal("reset_spinning: negative nmspinning");
  wakep(s);
}

// ------------------------------------------------------------ local queue --

// Puts `t` at the ring's tail, or with half of a full ring into the global
// queue. Returns whether other work of this P was queued ahead of it.
bool runq_put_tail(scheduler& s, processor* p, task_header* t) {
  uint32_t before = 0;
  while (!p->runq.try_push(t, &before)) {
    task_header* batch[run_queue::kMaxCapacity / 2 + 1];
    uint32_t n = p->runq.take_half_for_overflow(batch);
    if (n == 0) continue;  // a thief made room
    batch[n] = t;
    p->overflows.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lk(s.lock);
    s.global.push_many(batch, n + 1);
    s.global_size.store(s.global.size(), std::memory_order_seq_cst);
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
bool runq_put(scheduler& s, processor* p, task_header* t, bool next) {
  if (next && p->runnext_streak < s.opts.runnext_limit) {
    task_header* old = p->runnext.exchange(t, std::memory_order_acq_rel);
    if (!old) return false;
    t = old;  // kick the old runnext to the tail
  }
  return runq_put_tail(s, p, t);
}

uint32_t sched_clock(const processor* p) noexcept {
  return static_cast<uint32_t>(p->schedticks_total.load(std::memory_order_relaxed));
}

// A task spawned on this P goes on top of the P's run stack (newest first:
// a spawn tree runs depth first, see run_stack.hpp), or to the ring's tail
// when the stack is full. Returns true when it landed behind other work.
bool runq_put_spawned(scheduler& s, processor* p, task_header* t) {
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
task_header* runq_get(scheduler& s, processor* p, bool* inherit) {
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

// ------------------------------------------------------------------ timers --

// Runs the due timers of `victim` (any P; its own or another's), readying
// their tasks on `p`, the P the caller holds. Returns how many fired.
//
// At most as many as fit in the free half of p's ring: woken tasks then
// queue in deadline order without spilling to the global queue (which would
// run them out of order), and a P whose ring is already half full runs its
// queue down before it wakes more (the rest stay due and run next time).
uint32_t run_timers(scheduler& s, processor* p, processor* victim, int64_t now) {
  constexpr uint32_t kBatch = 64;
  uint32_t total = 0;
  bool readied = false;
  for (;;) {
    const uint32_t cap = p->runq.capacity(), used = p->runq.size();
    const uint32_t room = used < cap / 2 ? cap / 2 - used : 0;
    const uint32_t limit = std::min(kBatch, std::max<uint32_t>(room, used == 0 ? 1 : 0));
    if (limit == 0) break;
    timer_node* due[kBatch];
    uint32_t n = 0;
    {
      short_lock_guard lk(victim->timers.lock);
      timer_heap& h = victim->timers.heap;
      while (n < limit && !h.empty() && h.top_when() <= now) {
        timer_node* t = h.pop();
        t->owner.store(nullptr, std::memory_order_relaxed);
        t->state.store(timer_node::kRunning, std::memory_order_relaxed);
        due[n++] = t;
      }
      victim->timers.when0.store(h.empty() ? 0 : h.top_when(), std::memory_order_release);
    }
    for (uint32_t i = 0; i < n; ++i) {
      timer_node* t = due[i];
      task_header* task = t->fire(t);
      t->state.store(timer_node::kFired, std::memory_order_release);  // last touch
      if (task) {
        // Behind what is queued, not in runnext: timers due together wake
        // in deadline order.
        runq_put(s, p, task, false);
        readied = true;
      }
    }
    total += n;
    if (n < limit) break;
  }
  if (total) victim->timers.fired_total.fetch_add(total, std::memory_order_relaxed);
  if (readied) wake_for_published(s);
  return total;
}

// Runs every P's due timers (a P with nothing else to do, before it
// steals: Go's stealWork checks timers too). Returns how many fired.
uint32_t run_all_due_timers(scheduler& s, processor* p) {
  const int procs = s.gomaxprocs.load(std::memory_order_acquire);
  int64_t now = 0;
  uint32_t fired = 0;
  for (int i = 0; i < procs; ++i) {
    processor* v = s.all_p[i].load(std::memory_order_acquire);
    const int64_t w = v->timers.when0.load(std::memory_order_acquire);
    if (w == 0) continue;
    if (now == 0) now = nanotime();
    if (w <= now) fired += run_timers(s, p, v, now);
  }
  return fired;
}

// Moves the timers of a P that is retiring to P 0 (never retired: there is
// always at least one P). Go's procresize moves them the same way.
void move_timers(processor* from, processor* to) {
  if (from == to || from->timers.when0.load(std::memory_order_acquire) == 0) return;
  // Two P timer locks: take them in P order so a concurrent move cannot
  // deadlock (only retire_p moves, always towards P 0).
  short_lock_guard a(to->timers.lock);
  short_lock_guard b(from->timers.lock);
  while (!from->timers.heap.empty()) {
    timer_node* t = from->timers.heap.pop();
    to->timers.heap.push(t);
    t->owner.store(to, std::memory_order_release);
  }
  from->timers.when0.store(0, std::memory_order_release);
  to->timers.when0.store(to->timers.heap.top_when(), std::memory_order_release);
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
    if (rn) s.global.push_back(rn);
    while (task_header* t = p->spawned.take_bottom()) {  // oldest first
      s.global.push_back(t);
      ++n;
    }
    s.global_size.store(s.global.size(), std::memory_order_seq_cst);
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

void midle_remove(scheduler& s, machine* m) {  // requires s.lock
  for (machine** link = &s.midle; *link; link = &(*link)->idle_link) {
    if (*link == m) {
      *link = m->idle_link;
      m->idle_link = nullptr;
      m->in_midle = false;
      --s.nmidle;
      return;
    }
  }
  fatal("midle_remove: M not in the idle list");
}

// Parks the M until startm hands it a P (or, with timers pending, until the
// earliest deadline). On return m->p may still be null: find_runnable then
// calls stopm again.
//
// Timers: the first M to park while a timer is pending parks with a timeout
// at the earliest deadline (s.timer_sleep_when records it); a later M with
// an earlier deadline parks timed too; others park for good. The timed M,
// on waking at its deadline, takes an idle P itself and runs the due
// timers. If instead it is handed a P early, it passes the timing duty to
// another idle M, so pending timers always have a sleeper watching them.
void stopm(scheduler& s, machine* m) {
  if (m->spinning) fatal("stopm: spinning M parks");
  const int64_t next = earliest_timer(s);
  bool timed = false;
  {
    std::lock_guard lk(s.lock);
    if (s.stopping.load(std::memory_order_relaxed)) return;
    m->idle_link = s.midle;
    s.midle = m;
    m->in_midle = true;
    ++s.nmidle;
    if (next != 0 && next < s.timer_sleep_when) {
      s.timer_sleep_when = next;
      timed = true;
    }
  }
  if (!timed) {
    heap::blocking_region([m] { m->park.wait(); });
  } else {
    bool posted = false;
    heap::blocking_region([m, next, &posted] {
      const int64_t wait = next - nanotime();
      posted = wait > 0 && m->park.wait(wait);
    });
    machine* heir = nullptr;  // an idle M to take over the timed wait
    bool wait_post = false;
    {
      std::lock_guard lk(s.lock);
      if (s.timer_sleep_when == next) s.timer_sleep_when = INT64_MAX;
      if (s.stopping.load(std::memory_order_relaxed)) return;
      if (!posted && m->in_midle) {
        // The deadline came and nobody picked us: take a P and run timers.
        midle_remove(s, m);
        processor* p = s.stopping.load(std::memory_order_relaxed) ? nullptr : pidleget(s);
        if (p) {
          m->p = p;
          return;
        }
        // Every P is busy and runs its own timers; park for good next time.
        return;
      }
      wait_post = !posted;  // picked just as the wait timed out: a post is coming
      if (s.timer_sleep_when == INT64_MAX && s.midle && earliest_timer(s) != 0) {
        heir = mget(s);
        heir->nextp = nullptr;
        heir->next_spinning = false;
      }
    }
    if (heir) heir->park.post();
    if (wait_post) heap::blocking_region([m] { m->park.wait(); });
  }
  m->p = m->nextp;
  m->nextp = nullptr;
  m->spinning = m->next_spinning;
  m->next_spinning = false;
}

bool any_local_work(scheduler& s, uint32_t procs) {
  for (uint32_t i = 0; i < procs; ++i) {
    processor* q = s.all_p[i].load(std::memory_order_acquire);
    if (!q->runq.empty() || !q->spawned.empty() ||
        q->runnext.load(std::memory_order_acquire) != nullptr)
      return true;
  }
  return false;
}

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
      retire_p(s, m);
      continue;
    }
    // Our own due timers first: the tasks they wake join our queue.
    if (const int64_t w = p->timers.when0.load(std::memory_order_acquire); w != 0) {
      const int64_t now = nanotime();
      if (w <= now) run_timers(s, p, p, now);
    }
    // Fairness: every Nth schedule, the global queue first.
    if (p->schedtick == 0 && s.global_size.load(std::memory_order_relaxed) > 0) {
      std::lock_guard lk(s.lock);
      if (task_header* t = global_get(s, p, 1)) return t;
    }
    if (task_header* t = runq_get(s, p, inherit)) return t;
    if (s.global_size.load(std::memory_order_relaxed) > 0) {
      std::lock_guard lk(s.lock);
      if (task_header* t = global_get(s, p, 0)) return t;
    }
    // Other Ps' due timers (a busy P may be slow to get to its own).
    if (run_all_due_timers(s, p) > 0) continue;
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
          s.global_size.load(std::memory_order_seq_cst) > 0) {
        std::lock_guard lk(s.lock);
        if (processor* p2 = pidleget(s)) {
          m->p = p2;
          m->spinning = true;
          s.nmspinning.fetch_add(1, std::memory_order_seq_cst);
          continue;
        }
      }
    }
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

void registry_add(machine* m, task_header* t);

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
  const uint32_t dw = g_debug_word.load(std::memory_order_relaxed);  // debug_word.hpp
  if (dw & kBlockTimingBit) [[unlikely]]
    block_wait_end(t);  // block and mutex profiles (sched/detail/block_timing.hpp)
  t->wait_word.store(static_cast<uint32_t>(wait_reason::running), std::memory_order_relaxed);
  if (dw & kTracingBit) [[unlikely]] {  // debug/trace.cpp
    const uint64_t id = t->id, start = trace_clock();
    const void* fn = *static_cast<void* const*>(t->self.address());  // the root's resume function
    t->resume.resume();                                              // `t` may be gone after this
    if (const trace_hooks* h = g_trace_hooks.load(std::memory_order_acquire))
      h->run(p->id, id, fn, start, trace_clock());
  } else {
    t->resume.resume();
  }
  m->current = nullptr;
}

// ------------------------------------------------------------- locked Ms --
// lock_os_thread, Go's way (proc.go: LockOSThread, stoplockedm,
// startlockedm, handoffp). A pinned task's M runs nothing else. When the
// task suspends, the M gives its P away (handoffp) and sleeps on its own
// parker; whichever M later dequeues the task hands it its P (startlockedm)
// and goes idle itself. The task is in at most one queue at a time, so at
// most one M hands over a P per suspension; the P travels in m->nextp,
// written before the post and read after the wait.

// Go's handoffp: give away a P this M no longer uses, to an M that will
// run its work, or to the idle list when there is none.
void handoffp(scheduler& s, processor* p) {
  if (!p->runq.empty() || !p->spawned.empty() ||
      p->runnext.load(std::memory_order_acquire) != nullptr ||
      s.global_size.load(std::memory_order_seq_cst) > 0) {
    startm(s, p, false);
    return;
  }
  // No work here: start a spinner only if nobody is looking for work
  // (Go: "no local work, check that there are no spinning/idle M's").
  if (s.nmspinning.load(std::memory_order_seq_cst) + s.npidle.load(std::memory_order_seq_cst) ==
      0) {
    int zero = 0;
    if (s.nmspinning.compare_exchange_strong(zero, 1, std::memory_order_seq_cst)) {
      startm(s, p, true);
      return;
    }
  }
  std::unique_lock lk(s.lock);
  if (s.global.size() > 0 && !s.stopping.load(std::memory_order_relaxed)) {
    lk.unlock();
    startm(s, p, false);
    return;
  }
  // The P's timers need a watcher once it is idle (Go: handoffp's
  // wakeNetPoller). If no parked M waits for a deadline this early, give the
  // P to an M: finding nothing to run, it parks timed (stopm).
  if (const int64_t w = p->timers.when0.load(std::memory_order_acquire);
      w != 0 && w < s.timer_sleep_when && !s.stopping.load(std::memory_order_relaxed)) {
    lk.unlock();
    startm(s, p, false);
    return;
  }
  pidleput(s, p);
}

// The M gives up its P before it sleeps or exits (retiring it if
// set_max_procs shrank meanwhile).
void release_p(scheduler& s, machine* m) {
  if (!m->p) return;
  if (m->p->id >= s.gomaxprocs.load(std::memory_order_acquire)) retire_p(s, m);
  if (processor* p = std::exchange(m->p, nullptr)) handoffp(s, p);
}

// Go's startlockedm: `t` is pinned to another M; hand it our P.
void startlockedm(machine* m, task_header* t) {
  machine* lm = t->locked_m;
  lm->nextp = std::exchange(m->p, nullptr);
  lm->park.post();
}

// Go's stoplockedm (and exitsyscall for a pinned task's blocking call): the
// pinned task is not running; give the P away, run its blocking call if it
// made one, then sleep until an M hands over a P with the task. Returns the
// task to run, or null when the runtime stops.
task_header* stoplockedm(scheduler& s, machine* m) {
  release_p(s, m);
  if (blocking_job* j = std::exchange(m->pending_job, nullptr)) {
    task_header* t = j->task;
    j->run(j);  // holds no P: the other tasks run meanwhile
    {
      std::lock_guard lk(s.lock);  // Go's exitsyscallfast: an idle P, if any
      if (!s.stopping.load(std::memory_order_relaxed)) {
        if (processor* p = pidleget(s)) {
          m->p = p;
          return t;
        }
      }
    }
    ready(t);  // global queue: its taker hands us a P
  }
  for (;;) {
    heap::blocking_region([m] { m->park.wait(); });
    if (s.stopping.load(std::memory_order_acquire)) return nullptr;
    if (m->nextp) break;
  }
  m->p = std::exchange(m->nextp, nullptr);
  return m->lockedg;
}

// The pinned task ended: the M leaves (Go's goexit0 with lockedInt set), so
// whatever the task left in the thread (thread_local state, signal masks,
// a C library's per-thread context) dies with it.
void exit_locked_m(scheduler& s, machine* m) {
  remove_thread(s, thread_kind::locked);  // first: handoffp may start an M
  release_p(s, m);
  std::lock_guard lk(s.lock);
  s.free_shards.push_back(std::exchange(m->registry, nullptr));  // its tasks stay in it
  s.mdead.push_back(m);  // joined by the next startm, or at shutdown
}

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
        startlockedm(m, t);  // our P goes to the task's own M; we go idle
        continue;
      }
    }
    execute(m, t, inherit);
  }
  tl_m = nullptr;
}

// ------------------------------------------------------------- registry --

// Owner: refills the free list, by reclaiming the slots other Ms freed when
// they are worth a scan, else with a new chunk.
[[gnu::noinline]] void registry_refill(registry_shard& r) {
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

void registry_add(machine* m, task_header* t) {
  registry_shard& r = *m->registry;
  if (r.free.empty()) [[unlikely]]
    registry_refill(r);
  std::atomic<task_header*>* slot = r.free.back();
  r.free.pop_back();
  slot->store(t, std::memory_order_relaxed);
  t->reg_slot = slot;
}

void registry_remove(task_header* t) {
  std::atomic<task_header*>* slot = t->reg_slot;
  registry_shard* r = registry_shard::of(slot);
  if (const machine* m = tl_m; m && m->registry == r) {
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

// Requires s.lock: a shard for a new M, reused from an exited one if any.
registry_shard* registry_shard_for_new_m(scheduler& s) {
  if (!s.free_shards.empty()) {
    registry_shard* r = s.free_shards.back();
    s.free_shards.pop_back();
    return r;
  }
  s.shards.push_back(std::make_unique<registry_shard>());
  s.shards.back()->older = s.newest_shard.load(std::memory_order_relaxed);
  s.newest_shard.store(s.shards.back().get(), std::memory_order_release);
  return s.shards.back().get();
}

void destroy_root(task_header* t) {
  if (t->reg_slot && g_sched.load(std::memory_order_acquire)) registry_remove(t);
  t->self.destroy();
}

// Shutdown, every M stopped: the tasks that never ran are not in the
// registry but still in a run queue (a task waits nowhere else before its
// first run). Destroys those; registered ones are left to the registry.
void destroy_never_run(scheduler& s) {
  auto drop = [](task_header* t) {
    if (!t->reg_slot) t->self.destroy();
  };
  for (auto& p : s.owned_p) {
    while (task_header* t = p->runq.pop()) drop(t);
    if (task_header* t = p->runnext.exchange(nullptr, std::memory_order_acq_rel)) drop(t);
    while (task_header* t = p->spawned.pop()) drop(t);
  }
  std::lock_guard lk(s.lock);
  while (task_header* t = s.global.pop_front()) drop(t);
  s.global_size.store(0, std::memory_order_relaxed);
}

uint64_t next_task_id(scheduler& s, processor* p) {
  // Ids come in blocks of 1024 per P so spawning does not share a counter
  // line between cores (Go's goidcache, same block size).
  constexpr uint32_t kBlock = 1024;
  if (!p) return s.next_id_block.fetch_add(1, std::memory_order_relaxed) * kBlock;
  if (p->id_cache_next == p->id_cache_end) {
    p->id_base = s.next_id_block.fetch_add(1, std::memory_order_relaxed) * kBlock;
    p->id_cache_next = 0;
    p->id_cache_end = kBlock;
  }
  return p->id_base + p->id_cache_next++;
}

std::string exception_text(const std::exception_ptr& e) {
  std::string type = "unknown type";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    int st = 0;
    char* dm = abi::__cxa_demangle(typeid(ex).name(), nullptr, nullptr, &st);
    type = st == 0 && dm ? dm : typeid(ex).name();
    std::free(dm);
    return type + ": " + ex.what();
  } catch (...) {
    if (auto* ti = abi::__cxa_current_exception_type()) {
      int st = 0;
      char* dm = abi::__cxa_demangle(ti->name(), nullptr, nullptr, &st);
      type = st == 0 && dm ? dm : ti->name();
      std::free(dm);
    }
  }
  return type;
}

void report_unhandled(task_header* t, const char* how) {
  std::string msg = "task " + std::to_string(t->id) + " (spawned at " + t->spawn_site.file_name() +
                    ":" + std::to_string(t->spawn_site.line()) + " in " +
                    t->spawn_site.function_name() + ") " + how + ": " +
                    exception_text(t->exception);
  if (g_policy.load(std::memory_order_relaxed) == unhandled_exception_policy::abort) {
    die(msg +
            " [policy abort: exiting; goro::set_unhandled_exception_policy(report) keeps running]",
        2);
  }
  std::fprintf(stderr, "goro: %s\n", msg.c_str());
}

}  // namespace

// ------------------------------------------------------------ hooks ------

scheduler* sched() noexcept {
  return g_sched.load(std::memory_order_acquire);
}

scheduler::scheduler(const runtime_options& o) : opts(o) {}
scheduler::~scheduler() = default;

void run_blocking_locked(blocking_job* j) {
  machine* m = tl_m;
  if (!m || m->lockedg != j->task) fatal("run_blocking_locked: task not pinned to this M");
  m->pending_job = j;  // run by stoplockedm once the task has suspended
}

void lock_current_task() {
  machine* m = tl_m;
  task_header* t = m ? m->current : nullptr;
  if (!t) throw std::logic_error("goro::lock_os_thread: not inside a goro task");
  if (m->lockedg == t) {
    if (m->lock_count == UINT32_MAX)
      throw std::overflow_error("goro::lock_os_thread: nested more than 2^32-1 times");
    ++m->lock_count;
    return;
  }
  if (m->lockedg) fatal("lock_current_task: M pinned to another task");
  m->lockedg = t;
  m->lock_count = 1;
  t->locked_m = m;
  move_thread(*g_sched.load(std::memory_order_acquire), thread_kind::worker, thread_kind::locked);
}

processor* current_p() noexcept {
  machine* m = tl_m;
  return m ? m->p : nullptr;
}

int64_t earliest_timer(scheduler& s) noexcept {
  const int procs = s.gomaxprocs.load(std::memory_order_acquire);
  int64_t best = 0;
  for (int i = 0; i < procs; ++i) {
    const int64_t w =
        s.all_p[i].load(std::memory_order_acquire)->timers.when0.load(std::memory_order_acquire);
    if (w != 0 && (best == 0 || w < best)) best = w;
  }
  return best;
}

task_header* current_task() noexcept {
  machine* m = tl_m;
  return m ? m->current : nullptr;
}

bool shutting_down() noexcept {
  return g_destroying.load(std::memory_order_acquire);
}

void ready(task_header* t) noexcept {
  scheduler& s = *g_sched.load(std::memory_order_acquire);
  machine* m = tl_m;
  bool notify = true;
  if ((g_debug_word.load(std::memory_order_relaxed) & kTracingBit) && m && m->p && m->current)
      [[unlikely]]
    if (const trace_hooks* h = g_trace_hooks.load(std::memory_order_acquire))
      h->flow(m->p->id, t, false);  // wake -> run arrow (debug/trace.cpp)
  if (m && m->p) {
    notify = runq_put(s, m->p, t, true);
  } else {
    std::lock_guard lk(s.lock);
    global_push(s, t);
  }
  if (notify) wake_for_published(s);
}

void yield_current(task_header* t) noexcept {
  scheduler& s = *g_sched.load(std::memory_order_acquire);
  machine* m = tl_m;
  if (m && m->p) {
    runq_put(s, m->p, t, false);
  } else {
    std::lock_guard lk(s.lock);
    global_push(s, t);
  }
}

void spawn_root(task_header* t, std::source_location site) {
  scheduler* s = g_sched.load(std::memory_order_acquire);
  if (!s) {
    // Nobody will ever run it: free it now and say why.
    t->join_state.store(0, std::memory_order_relaxed);
    t->self.destroy();
    throw std::logic_error("goro::spawn: no goro runtime is running (call it inside goro::run)");
  }
  machine* m = tl_m;
  processor* p = m ? m->p : nullptr;
  t->id = next_task_id(*s, p);
  t->spawn_site = site;
  // Registered by the M that first runs it (execute).
  if (p) {
    if ((g_debug_word.load(std::memory_order_relaxed) & kTracingBit) && m->current) [[unlikely]]
      if (const trace_hooks* h = g_trace_hooks.load(std::memory_order_acquire))
        h->flow(p->id, t, true);  // spawn -> first run arrow (debug/trace.cpp)
    if (runq_put_spawned(*s, p, t)) wake_for_published(*s);
  } else {
    ready(t);  // from outside the runtime: the global queue
  }
}

std::coroutine_handle<> root_complete(task_header* t) noexcept {
  if (machine* m = t->locked_m) {  // ended while pinned: its M exits after this
    t->locked_m = nullptr;
    m->lock_count = 0;
    m->exit_locked = true;  // m->lockedg stays set (never followed again) so the
                            // worker loop's one pinned check sees the exit
  }
  const bool failed = t->exception != nullptr;
  // kHandle is only ever cleared after spawn: once it reads clear (acquire,
  // pairing with release_handle's RMW) nobody else touches join_state, so
  // a detached task skips the read-modify-write (one atomic per task).
  uint32_t st = t->join_state.load(std::memory_order_acquire);
  if (st & kHandle) st = t->join_state.fetch_or(kComplete, std::memory_order_acq_rel);
  // From here on `t` may be destroyed by the handle's owner unless we still
  // own it: detached (no handle), or a waiter is suspended on us and cannot
  // run until we ready it, so `joiner` is stable until then.
  if (!(st & kHandle)) {
    if (failed) report_unhandled(t, "ended with an uncaught exception");
    destroy_root(t);
  } else if (st & kWaiter) {
    ready(t->joiner);
  }
  return std::noop_coroutine();
}

void release_handle(task_header* t) noexcept {
  if (g_destroying.load(std::memory_order_acquire)) return;  // shutdown frees every frame
  uint32_t st = t->join_state.fetch_and(~static_cast<uint32_t>(kHandle), std::memory_order_acq_rel);
  if (st & kComplete) {
    if (t->exception) report_unhandled(t, "ended with an exception nobody awaited");
    destroy_root(t);
  }
}

void root_finished() noexcept {
  // No task is resumed after the root completes (as nothing runs after Go's
  // main returns): workers stop at their next schedule, before goro::run's
  // thread has even woken up.
  if (scheduler* s = sched()) s->stopping.store(true, std::memory_order_seq_cst);
  g_root_parker.post();
}

void wake_idle_for_work() {
  if (scheduler* s = sched()) wakep(*s);
}

int set_pending_max_procs(int n) {
  std::lock_guard lk(g_settings_lock);
  int old = g_procs_explicit ? g_requested_procs : 0;
  if (old == 0) {
    try {
      old = max_procs_from_env().value_or(0);
    } catch (const config_error&) {
      old = 0;
    }
    if (old == 0) old = default_procs();
  }
  if (n >= 1) {
    g_requested_procs = std::min(n, scheduler::kMaxProcs);
    g_procs_explicit = true;
  }
  return old;
}

// --------------------------------------------------------------- run ------

namespace {

// A queue capacity option (runtime_options::run_queue_size, run_stack_size):
// a power of two in [2, max].
void check_capacity_option(const char* name, uint32_t value, uint32_t max) {
  if (value < 2 || value > max || (value & (value - 1)) != 0)
    throw std::invalid_argument(std::string("goro::runtime_options::") + name + " = " +
                                std::to_string(value) + ": want a power of two in [2, " +
                                std::to_string(max) + "]");
}

}  // namespace

void run_root(task<void> root, const runtime_options& given, std::atomic<bool>& done) {
  if (g_sched.load(std::memory_order_acquire))
    throw std::logic_error("goro::run: a goro runtime is already running in this process");
  heap::init();
  heap::thread_attachment attach;
  runtime_options opts = given;
  startup_config cfg;
  if (opts.read_environment) {
    try {
      cfg = read_startup_config();
    } catch (const config_error& e) {
      die(e.what(), 2);
    }
  }
  check_capacity_option("run_queue_size", opts.run_queue_size, run_queue::kMaxCapacity);
  check_capacity_option("run_stack_size", opts.run_stack_size, run_stack::kMaxCapacity);
  if (opts.global_queue_interval == 0 || opts.steal_passes == 0)
    throw std::invalid_argument(
        "goro::runtime_options: global_queue_interval and steal_passes must be >= 1");
  bool explicit_procs = true;
  int procs = opts.max_procs;
  if (procs <= 0) {
    std::lock_guard lk(g_settings_lock);
    if (g_procs_explicit) procs = g_requested_procs;
  }
  if (procs <= 0 && cfg.max_procs) procs = *cfg.max_procs;
  if (procs <= 0) {
    procs = default_procs();
    explicit_procs = false;
  }
  procs = std::min(procs, scheduler::kMaxProcs);

  auto s = std::make_unique<scheduler>(opts);
  s->procs_explicit = explicit_procs;
  s->debug = cfg;
  s->start_ns = nanotime();
  {
    std::lock_guard lk(s->lock);
    set_procs_locked(*s, procs);
  }
  s->nthreads.store(1, std::memory_order_relaxed);  // the thread in goro::run
  start_blocking_pool(*s);                          // validates blocking_keep_alive
  g_sched.store(s.get(), std::memory_order_release);
  start_sysmon(*s);

  spawn(std::move(root)).detach();
  heap::blocking_region([&] {
    while (!done.load(std::memory_order_acquire)) g_root_parker.wait();
  });

  // Shut down: stop every M, then destroy whatever tasks are left.
  s->stopping.store(true, std::memory_order_seq_cst);
  stop_sysmon(*s);
  {
    std::lock_guard lk(s->lock);
    for (machine* m = s->midle; m; m = m->idle_link) {
      m->in_midle = false;
      m->park.post();
    }
    s->midle = nullptr;
  }
  for (auto& m : s->all_m) {
    m->park.post();
    if (m->thread.joinable()) m->thread.join();
  }
  // No task runs any more; blocking calls still running are waited for and
  // queued ones dropped (sched/blocking_pool.cpp), before frames go away.
  stop_blocking_pool(*s);
  g_destroying.store(true, std::memory_order_seq_cst);
  destroy_never_run(*s);
  for (auto& r : s->shards) {
    for (registry_shard::chunk* c : r->chunks) {
      for (auto& slot : c->slots) {
        task_header* t = slot.exchange(registry_shard::kFreeSlot, std::memory_order_relaxed);
        if (t != nullptr && t != registry_shard::kFreeSlot) t->self.destroy();
      }
    }
  }
  g_destroying.store(false, std::memory_order_seq_cst);
  g_sched.store(nullptr, std::memory_order_release);
  // Reset the root parker in case a post raced with the wait loop's exit.
  g_root_parker.wait(0);
}

void set_procs_locked(scheduler& s, int n) {
  const int old = s.gomaxprocs.load(std::memory_order_relaxed);
  for (int i = 0; i < n; ++i) {
    if (s.all_p[i].load(std::memory_order_relaxed)) continue;
    s.owned_p.push_back(std::make_unique<processor>(i, s.opts.run_queue_size, s.opts.run_stack_size,
                                                    s.opts.global_queue_interval));
    s.all_p[i].store(s.owned_p.back().get(), std::memory_order_release);
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
    processor** link = &s.pidle;
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
    if (machine* m = w != 0 && w < s.timer_sleep_when ? mget(s) : nullptr) {
      m->nextp = nullptr;
      m->next_spinning = false;
      m->park.post();
    }
  }
}

}  // namespace goro::detail

namespace goro {

unhandled_exception_policy set_unhandled_exception_policy(unhandled_exception_policy p) noexcept {
  return detail::g_policy.exchange(p);
}

uint64_t this_task::id() noexcept {
  detail::task_header* t = detail::current_task();
  return t ? t->id : 0;
}

bool running() noexcept {
  return detail::sched() != nullptr;
}

void unlock_os_thread() {
  detail::machine* m = detail::tl_m;
  detail::task_header* t = m ? m->current : nullptr;
  if (!t) throw std::logic_error("goro::unlock_os_thread: not inside a goro task");
  if (m->lockedg != t || m->lock_count == 0)
    throw std::logic_error(
        "goro::unlock_os_thread: the task is not locked to its thread (more unlock_os_thread "
        "calls than lock_os_thread)");
  if (--m->lock_count == 0) {
    m->lockedg = nullptr;
    t->locked_m = nullptr;
    detail::move_thread(*detail::sched(), detail::thread_kind::locked, detail::thread_kind::worker);
  }
}

}  // namespace goro
