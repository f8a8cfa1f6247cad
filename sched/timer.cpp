// The timer heap and timer_add / timer_del (see sched/detail/timer.hpp for
// the design). Running due timers belongs to the scheduler loop and lives in
// scheduler.cpp.

#include "sched/detail/timer.hpp"

#include <sched.h>

#include <stdexcept>

#include "core/fatal.hpp"
#include "sched/detail/scheduler.hpp"

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
  for (auto& p : s.owned_p) move_all_timers(*p, limbo(), limbo());
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
