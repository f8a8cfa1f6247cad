// Timers: the heap, timer_add / timer_del (see sched/detail/timer.hpp for
// the design), and running the due ones: a P runs its own at each schedule
// and every P's before it steals (find_runnable in sched/scheduler.cpp); an
// idle M parks with a timeout for the earliest (stopm in sched/idle.cpp); a
// retiring P's timers move to P 0 (sched/procs.cpp).

#include "sched/detail/timer.hpp"

#include <sched.h>

#include <stdexcept>

#include "core/clock.hpp"
#include "core/fatal.hpp"
#include "sched/detail/idle.hpp"
#include "sched/detail/netpoll.hpp"
#include "sched/detail/runq.hpp"
#include "sched/detail/scheduler.hpp"
#include "sched/detail/trace_hooks.hpp"

namespace goro::detail {

// ------------------------------------------------------------ the heap --

void timer_heap::up(uint32_t i) noexcept {
  const slot n = v_[i];
  while (i > 0) {
    uint32_t parent = (i - 1) / 4;
    if (v_[parent].when <= n.when) break;
    place(i, v_[parent]);
    i = parent;
  }
  place(i, n);
}

void timer_heap::down(uint32_t i) noexcept {
  const uint32_t size = static_cast<uint32_t>(v_.size());
  const slot n = v_[i];
  for (;;) {
    uint32_t first = 4 * i + 1;
    if (first >= size) break;
    uint32_t best = first;
    uint32_t end = first + 4 < size ? first + 4 : size;
    for (uint32_t c = first + 1; c < end; ++c)
      if (v_[c].when < v_[best].when) best = c;
    if (n.when <= v_[best].when) break;
    place(i, v_[best]);
    i = best;
  }
  place(i, n);
}

void timer_heap::push(timer_node* n) {
  v_.push_back({n->when, n});
  up(static_cast<uint32_t>(v_.size() - 1));
}

void timer_heap::remove(timer_node* n) noexcept {
  const uint32_t i = n->index;
  const slot last = v_.back();
  v_.pop_back();
  if (last.node == n) return;
  place(i, last);
  // The moved node may belong above or below its new slot.
  if (i > 0 && v_[(i - 1) / 4].when > last.when)
    up(i);
  else
    down(i);
}

timer_node* timer_heap::pop() noexcept {
  timer_node* n = v_.front().node;
  remove(n);
  return n;
}

// --------------------------------------------------------- add / delete --

void timer_add(timer_node* n) {
  scheduler* s = sched();
  if (!s) throw std::logic_error("goro: timers need a running goro runtime (inside goro::run)");
  processor* p = current_p();
  const bool foreign = p == nullptr;
  if (foreign) p = s->all_p[0].load(std::memory_order_acquire);
  // Read before the node is published: once it is in the heap another
  // worker may fire it and resume its task, which can reuse the node's
  // memory (the next sleep in the same frame). TSan saw that race.
  const int64_t when = n->when;
  n->state.store(timer_node::kQueued, std::memory_order_relaxed);
  {
    short_lock_guard lk(p->timers.lock);
    p->timers.heap.push(n);
    n->owner.store(p, std::memory_order_release);
    p->timers.when0.store(p->timers.heap.top_when(), std::memory_order_release);
  }
  // A worker that added a timer to its own P runs it itself, or sees it when
  // it goes idle. From elsewhere, wake a worker so that some idle M parks
  // with this deadline in mind.
  if (foreign) wake_idle_for_work();
  netpoll_timer_added(when);  // a poll blocked past it wakes
}

bool timer_remove(timer_node* n) noexcept {
  for (;;) {
    processor* p = n->owner.load(std::memory_order_acquire);
    if (!p) break;
    short_lock_guard lk(p->timers.lock);
    if (n->owner.load(std::memory_order_relaxed) != p) continue;  // moved by retire_p
    p->timers.heap.remove(n);
    n->owner.store(nullptr, std::memory_order_relaxed);
    p->timers.when0.store(p->timers.heap.empty() ? 0 : p->timers.heap.top_when(),
                          std::memory_order_release);
    n->state.store(timer_node::kIdle, std::memory_order_relaxed);
    return true;
  }
  return false;
}

bool timer_del(timer_node* n) noexcept {
  if (timer_remove(n)) return true;
  // Not queued: never started, or taken by a runner. Wait out a fire in
  // progress (short: it takes at most one select lock).
  for (int spins = 0; n->state.load(std::memory_order_acquire) == timer_node::kRunning; ++spins) {
    if (spins < 64)
      __builtin_ia32_pause();
    else
      sched_yield();
  }
  return false;
}

// ------------------------------------------------------- running due ones --

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
        // kRunning before the owner is cleared, the clear a release: a
        // timer_del that reads the null owner must also see kRunning, or
        // it would free the node while fire still uses it.
        t->state.store(timer_node::kRunning, std::memory_order_relaxed);
        t->owner.store(nullptr, std::memory_order_release);
        due[n++] = t;
      }
      victim->timers.when0.store(h.empty() ? 0 : h.top_when(), std::memory_order_release);
    }
    for (uint32_t i = 0; i < n; ++i) {
      timer_node* t = due[i];
      task_header* task = t->fire(t);
      t->state.store(timer_node::kFired, std::memory_order_release);  // last touch
      if (task) {
        // While tracing, a run slice (trace_hooks.hpp), with no arrow:
        // no run readied it.
        trace_observe(task);
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

// ------------------------------------------------------- between runs --
//
// A timer can outlive the goro::run that queued it: a context made with a
// deadline and kept in a global or a service object. Its node was on a P
// that shutdown frees, and dropping the context later (or in the next run)
// called timer_del on that freed P. At shutdown, once every frame (and so
// every sleep and select timeout) is gone, what is left moves to a P of
// its own that never runs tasks (the limbo); the next run takes the limbo
// timers onto its P 0, where they fire as usual, late if they fell due in
// between. timer_del works on them all along: the limbo is a P like the
// others for the owner protocol.

namespace {
processor& limbo() {
  static auto* p = new processor(-1, 2, 2, 1);  // never destroyed: timers may outlive main
  return *p;
}

// Moves every node of `from` to `to`, both locks held in a fixed order
// (the limbo's first: only these two functions take two timer locks at a
// time where one of them is the limbo, and retire_p never involves it).
void move_all_timers(processor& from, processor& to, processor& first) {
  processor& second = &first == &from ? to : from;
  short_lock_guard a(first.timers.lock);
  short_lock_guard b(second.timers.lock);
  while (!from.timers.heap.empty()) {
    timer_node* t = from.timers.heap.pop();
    to.timers.heap.push(t);
    t->owner.store(&to, std::memory_order_release);
  }
  from.timers.when0.store(0, std::memory_order_release);
  to.timers.when0.store(to.timers.heap.empty() ? 0 : to.timers.heap.top_when(),
                        std::memory_order_release);
}
}  // namespace

void park_timers(scheduler& s) {
  for (auto& p : s.synced.owned_p) move_all_timers(*p, limbo(), limbo());
}

void unpark_timers(scheduler& s) {
  processor* p0 = s.all_p[0].load(std::memory_order_acquire);
  move_all_timers(limbo(), *p0, limbo());
}

std::size_t parked_timers() noexcept {
  short_lock_guard lk(limbo().timers.lock);
  return limbo().timers.heap.size();
}

}  // namespace goro::detail
