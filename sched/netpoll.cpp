// The network poller: epoll, the poll descriptors and the scheduler hooks
// (see sched/detail/netpoll.hpp for the design).

#include "sched/detail/netpoll.hpp"

#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <mutex>
#include <stdexcept>
#include <system_error>

#include "core/clock.hpp"
#include "core/fatal.hpp"
#include "heap/blocking_region.hpp"
#include "sched/context.hpp"
#include "sched/detail/io_cancel.hpp"
#include "sched/detail/runq.hpp"
#include "sched/detail/sched_stats.hpp"
#include "sched/detail/scheduler.hpp"
#include "sched/detail/trace_hooks.hpp"

namespace goro::detail {
namespace {

constexpr int kMaxEvents = 128;

struct poller : heap::internal_object {
  int epfd = -1;
  int evfd = -1;  // netpollBreak
  /// Parked waiters (Go's netpollWaiters): no poll at all while zero.
  std::atomic<int> waiters{0};
  /// An M is blocked in epoll_wait (Go: sched.lastpoll == 0).
  std::atomic<bool> polling{false};
  /// When that M's wait ends (nanotime; INT64_MAX: no timeout).
  std::atomic<int64_t> poll_until{0};
  /// A break was written and not yet read (Go's netpollWakeSig).
  std::atomic<bool> break_pending{false};
  /// coarse_nanotime() of the last poll (Go's sched.lastpoll), for netpoll_check.
  std::atomic<int64_t> last_poll{0};
};

constexpr int64_t kPollInterval = 10'000'000;  // Go's sysmon: poll if not polled for 10 ms

std::atomic<poller*> g_poller{nullptr};
std::mutex g_poller_init;

// The descriptor pool: never freed (type-stable memory, see the header).
short_lock g_pool_lock;
poll_desc* g_pool_free = nullptr;  // under g_pool_lock

// The eventfd's epoll data: an address no poll descriptor has.
char g_break_tag;

poller* poller_get() {
  if (poller* p = g_poller.load(std::memory_order_acquire)) return p;
  if (!sched())
    throw std::logic_error("goro::net: needs a running goro runtime (inside goro::run)");
  std::lock_guard lk(g_poller_init);
  if (poller* p = g_poller.load(std::memory_order_acquire)) return p;
  auto* p = new poller();
  p->epfd = ::epoll_create1(EPOLL_CLOEXEC);
  if (p->epfd < 0) {
    const int e = errno;
    delete p;
    throw std::system_error(e, std::generic_category(), "goro::net: epoll_create1");
  }
  p->evfd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (p->evfd < 0) {
    const int e = errno;
    ::close(p->epfd);
    delete p;
    throw std::system_error(e, std::generic_category(), "goro::net: eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.ptr = &g_break_tag;
  if (::epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->evfd, &ev) != 0)
    fatal("netpoll: cannot register the eventfd with epoll");
  g_poller.store(p, std::memory_order_release);
  return p;
}

poll_desc* pool_get() {
  {
    short_lock_guard lk(g_pool_lock);
    if (poll_desc* pd = g_pool_free) {
      g_pool_free = pd->free_next;
      pd->free_next = nullptr;
      return pd;
    }
  }
  return new poll_desc();
}

void pool_put(poll_desc* pd) noexcept {
  short_lock_guard lk(g_pool_lock);
  pd->free_next = g_pool_free;
  g_pool_free = pd;
}

// Go's netpollBreak: wake the blocked poller, once per wait.
void poll_break(poller* p) noexcept {
  bool f = false;
  if (!p->break_pending.compare_exchange_strong(f, true, std::memory_order_seq_cst)) return;
  const uint64_t one = 1;
  for (;;) {
    if (::write(p->evfd, &one, sizeof one) >= 0 || errno == EAGAIN) return;
    if (errno != EINTR) fatal("netpoll: write to the break eventfd failed");
  }
}

enum class park_result { parked, failed, consumed };

// Puts `w` in its slot (Go's netpollblock + netpollblockcommit): through
// kWait, checking for errors in between, so a deadline, close or cancel
// that found the slot empty is seen here.
park_result try_park(io_waiter* w) noexcept {
  poll_desc* pd = w->pd;
  std::atomic<uintptr_t>& slot = pd->slot[w->mode];
  for (;;) {
    uintptr_t v = 0;
    if (!slot.compare_exchange_strong(v, poll_desc::kWait, std::memory_order_seq_cst)) {
      if (v == poll_desc::kReady) {
        if (slot.compare_exchange_strong(v, 0, std::memory_order_seq_cst))
          return park_result::consumed;
        continue;
      }
      fatal("netpoll: two operations of the same direction wait on one descriptor");
    }
    if (io_fail f = io_check(w); f != io_fail::none) {
      slot.exchange(0, std::memory_order_seq_cst);  // readiness is only a hint
      w->fail = f;
      return park_result::failed;
    }
    poller* p = g_poller.load(std::memory_order_acquire);
    p->waiters.fetch_add(1, std::memory_order_seq_cst);
    v = poll_desc::kWait;
    if (slot.compare_exchange_strong(v, reinterpret_cast<uintptr_t>(w), std::memory_order_seq_cst))
      return park_result::parked;  // `w` may be completed by another thread from here on
    p->waiters.fetch_sub(1, std::memory_order_relaxed);
    // An event (kReady) or an error wake-up (0) came while we checked.
    v = slot.exchange(0, std::memory_order_seq_cst);
    if (v == poll_desc::kReady) return park_result::consumed;
  }
}

// Takes every event epoll has, completing the waiters they concern.
int poll_events(poller* p, int timeout_ms, ready_batch* batch, bool* broke) noexcept {
  epoll_event evs[kMaxEvents];
  int n;
  if (timeout_ms == 0) {
    n = ::epoll_wait(p->epfd, evs, kMaxEvents, 0);
  } else {
    heap::blocking_region([&] { n = ::epoll_wait(p->epfd, evs, kMaxEvents, timeout_ms); });
  }
  p->last_poll.store(goro::coarse_nanotime(), std::memory_order_relaxed);
  if (n < 0) {
    if (errno != EINTR) fatal("netpoll: epoll_wait failed");
    return 0;  // a collector's stop signal: the caller looks again
  }
  for (int i = 0; i < n; ++i) {
    if (evs[i].data.ptr == &g_break_tag) {
      uint64_t v;
      while (::read(p->evfd, &v, sizeof v) < 0 && errno == EINTR) {
      }
      p->break_pending.store(false, std::memory_order_seq_cst);
      if (broke) *broke = true;
      continue;
    }
    auto* pd = static_cast<poll_desc*>(evs[i].data.ptr);
    const uint32_t e = evs[i].events;
    if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
      if (io_waiter* w = netpoll_unblock(pd, kRead, true)) io_complete(w, batch);
    if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
      if (io_waiter* w = netpoll_unblock(pd, kWrite, true)) io_complete(w, batch);
  }
  return n;
}

// Queues `t` on p's ring, else (no P, or its ring is full) on the global
// queue under the scheduler lock. Not runq_put_tail: the poller's tasks are
// few, so a full ring sends only this one to the global queue, not half.
void put_ring_or_global(scheduler& s, processor* p, task_header* t) noexcept {
  if (p && p->runq.try_push(t)) return;
  std::lock_guard lk(s.lock);
  s.global.push(t);
}

// Go's injectglist. With a P: returns the first task for the caller to
// run, queues the rest on p (the global queue when its ring is full) and
// wakes idle Ps to steal them. Without one: everything to the global queue.
task_header* inject(scheduler& s, processor* p, ready_batch& b) noexcept {
  if (!b.head) return nullptr;
  task_header* first = nullptr;
  task_header* t = b.head;
  for (task_header* r = t; r; r = r->next) trace_observe(r);  // run slices while tracing
  if (p) {
    // Readied by the poller: runnable from now, sampled for the scheduling-
    // latency histogram as ready() samples (one in kLatencySamplePeriod).
    uint64_t ticks = p->schedticks_total.load(std::memory_order_relaxed);
    for (task_header* r = t; r; r = r->next) stamp_runnable(r, ticks++);
    first = t;
    t = t->next;
    first->next = nullptr;
  }
  bool queued = false;
  while (t) {
    task_header* next = t->next;
    t->next = nullptr;
    put_ring_or_global(s, p, t);
    queued = true;
    t = next;
  }
  if (queued) {
    // Publish, then look for idle Ps (#StoreLoad; a locked RMW rather than
    // a fence, which TSan does not model).
    s.store_load_barrier.fetch_add(0, std::memory_order_seq_cst);
    wake_idle_for_work();
  }
  return first;
}

task_header* deadline_fire(timer_node* n) noexcept {
  auto* pd = static_cast<poll_desc*>(n->arg);
  const int mode = n == &pd->timer[kRead] ? kRead : kWrite;
  pd->deadline[mode].store(-1, std::memory_order_seq_cst);
  ready_batch b;
  if (io_waiter* w = netpoll_unblock(pd, mode, false)) io_complete(w, &b);
  return b.head;  // the runner readies it after its last touch of the node
}

void close_fd(poll_desc* pd) noexcept {
  // Closing the fd removes it from the epoll set (it is never duplicated).
  ::close(pd->fd);
  pd->fd = -1;
}

// The blocking wait of netpoll_block, bounded by the earliest timer. true:
// a timer is due or work reached the global queue (take a P); events found
// are in `b`; false with `b` empty: nothing to wait for any more.
bool poll_blocking(scheduler& s, poller* np, ready_batch* b) noexcept {
  for (;;) {
    if (s.stopping.load(std::memory_order_acquire)) return false;
    const int64_t next = earliest_timer(s);
    np->poll_until.store(next == 0 ? INT64_MAX : next, std::memory_order_seq_cst);
    // A timer added after earliest_timer read the heaps but before
    // poll_until was published did not see us blocked: look once more.
    if (const int64_t again = earliest_timer(s); again != 0 && (next == 0 || again < next))
      continue;
    int timeout = -1;
    if (next != 0) {
      const int64_t wait = next - nanotime();
      if (wait <= 0) return true;
      // Round up: waking before the deadline would only poll again.
      timeout = static_cast<int>(std::min<int64_t>((wait + 999'999) / 1'000'000, INT_MAX));
    }
    poll_events(np, timeout, b, nullptr);
    np->poll_until.store(0, std::memory_order_seq_cst);
    if (b->head) return false;
    if (next != 0 && nanotime() >= next) return true;
    if (s.global.size(std::memory_order_seq_cst) > 0) return true;
    if (np->waiters.load(std::memory_order_seq_cst) <= 0) return false;
  }
}

}  // namespace

// ------------------------------------------------------- descriptors --

poll_desc* netpoll_open(int fd) {
  poller* p = poller_get();
  poll_desc* pd = pool_get();
  pd->fd = fd;
  pd->slot[kRead].store(0, std::memory_order_relaxed);
  pd->slot[kWrite].store(0, std::memory_order_relaxed);
  pd->closing.store(false, std::memory_order_relaxed);
  pd->read_drained.store(false, std::memory_order_relaxed);
  pd->deadline[kRead].store(0, std::memory_order_relaxed);
  pd->deadline[kWrite].store(0, std::memory_order_relaxed);
  pd->ref.store(poll_desc::kOwnedBit, std::memory_order_release);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = pd;
  if (::epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    const int e = errno;
    pd->fd = -1;
    pool_put(pd);
    throw std::system_error(e, std::generic_category(), "goro::net: epoll_ctl(ADD)");
  }
  return pd;
}

bool io_begin(poll_desc* pd) noexcept {
  uint64_t r = pd->ref.load(std::memory_order_relaxed);
  do {
    if (r & poll_desc::kClosedBit) return false;
  } while (!pd->ref.compare_exchange_weak(r, r + 1, std::memory_order_acquire));
  return true;
}

void io_end(poll_desc* pd) noexcept {
  const uint64_t r = pd->ref.fetch_sub(1, std::memory_order_acq_rel) - 1;
  if ((r & poll_desc::kCountMask) != 0 || !(r & poll_desc::kClosedBit)) return;
  close_fd(pd);  // the last operation after close
  if (!(r & poll_desc::kOwnedBit)) pool_put(pd);
}

bool netpoll_close(poll_desc* pd) noexcept {
  const uint64_t r = pd->ref.fetch_or(poll_desc::kClosedBit, std::memory_order_acq_rel);
  if (r & poll_desc::kClosedBit) return false;
  pd->closing.store(true, std::memory_order_seq_cst);
  {
    short_lock_guard lk(pd->dl_lock);
    timer_del(&pd->timer[kRead]);
    timer_del(&pd->timer[kWrite]);
  }
  // No operation can begin any more: with none in progress the fd goes
  // now, else the last one to end closes it.
  if ((r & poll_desc::kCountMask) == 0) close_fd(pd);
  for (int mode : {kRead, kWrite})
    if (io_waiter* w = netpoll_unblock(pd, mode, false)) io_complete(w, nullptr);
  return true;
}

void netpoll_release(poll_desc* pd) noexcept {
  netpoll_close(pd);
  const uint64_t r = pd->ref.fetch_and(~poll_desc::kOwnedBit, std::memory_order_acq_rel);
  if ((r & poll_desc::kCountMask) == 0) pool_put(pd);
}

void netpoll_set_deadline(poll_desc* pd, int mask, int64_t when) {
  if (when != 0 && when <= nanotime()) when = -1;
  ready_batch b;
  {
    short_lock_guard lk(pd->dl_lock);
    if (pd->closing.load(std::memory_order_acquire)) return;
    for (int mode : {kRead, kWrite}) {
      if (!(mask & (1 << mode))) continue;
      timer_node* t = &pd->timer[mode];
      timer_del(t);  // waits out a fire in progress (it takes no dl_lock)
      pd->deadline[mode].store(when, std::memory_order_seq_cst);
      if (when > 0) {
        t->when = when;
        t->arg = pd;
        t->fire = deadline_fire;
        t->state.store(timer_node::kIdle, std::memory_order_relaxed);
        timer_add(t);
      } else if (when < 0) {
        if (io_waiter* w = netpoll_unblock(pd, mode, false)) io_complete(w, &b);
      }
    }
  }
  while (task_header* t = b.head) {
    b.head = t->next;
    t->next = nullptr;
    ready(t);
  }
}

io_fail io_check(const io_waiter* w) noexcept {
  const poll_desc* pd = w->pd;
  if (pd->closing.load(std::memory_order_seq_cst)) return io_fail::closed;
  if (pd->deadline[w->mode].load(std::memory_order_seq_cst) < 0) return io_fail::timeout;
  if (w->ctx && w->ctx->err() != context_error::none) return io_fail::cancelled;
  return io_fail::none;
}

bool io_park(io_waiter* w, task_header* self) noexcept {
  w->task = self;
  for (;;) {
    switch (try_park(w)) {
      case park_result::parked:
        return true;
      case park_result::failed:
        return false;
      case park_result::consumed:
        if (w->attempt(w)) return false;
        break;
    }
  }
}

void io_abandon(io_waiter* w) noexcept {
  uintptr_t v = reinterpret_cast<uintptr_t>(w);
  if (w->pd && w->pd->slot[w->mode].compare_exchange_strong(v, 0, std::memory_order_seq_cst))
    if (poller* p = g_poller.load(std::memory_order_acquire))
      p->waiters.fetch_sub(1, std::memory_order_relaxed);
}

void io_complete(io_waiter* w, ready_batch* batch) noexcept {
  for (;;) {
    if (io_fail f = io_check(w); f != io_fail::none) {
      w->fail = f;
      break;
    }
    if (w->attempt(w)) break;
    park_result r = try_park(w);
    if (r == park_result::parked) return;
    if (r == park_result::failed) break;
  }
  task_header* t = w->task;  // `w` is not touched once its task is ready
  if (batch)
    batch->push(t);
  else
    ready(t);
}

io_waiter* netpoll_unblock(poll_desc* pd, int mode, bool ioready) noexcept {
  std::atomic<uintptr_t>& slot = pd->slot[mode];
  uintptr_t v = slot.load(std::memory_order_seq_cst);
  for (;;) {
    if (v == poll_desc::kReady) return nullptr;
    if (v == 0 || v == poll_desc::kWait) {
      if (v == 0 && !ioready) return nullptr;
      if (slot.compare_exchange_weak(v, ioready ? poll_desc::kReady : 0, std::memory_order_seq_cst))
        return nullptr;
      continue;
    }
    if (slot.compare_exchange_weak(v, 0, std::memory_order_seq_cst)) {
      if (poller* p = g_poller.load(std::memory_order_acquire))
        p->waiters.fetch_sub(1, std::memory_order_relaxed);
      return reinterpret_cast<io_waiter*>(v);
    }
  }
}

// ------------------------------------------------ scheduler hooks --

task_header* netpoll_find(scheduler& s, processor* p) noexcept {
  poller* np = g_poller.load(std::memory_order_acquire);
  if (!np || np->waiters.load(std::memory_order_seq_cst) <= 0 ||
      np->polling.load(std::memory_order_seq_cst))
    return nullptr;
  // This poll only puts the network before stealing. With nothing to steal
  // the M gives its P back next and, no thread being in the poller, blocks
  // in it (netpoll_block), a wait that returns at once when events are
  // pending: polling here too would be a second epoll_wait for the same
  // events. Under wrk (http-hello, 64 connections) this poll found nothing
  // in every call, 0.12 calls per request (README, the network rows).
  // (`p`'s own queues are empty here: find_runnable found nothing in them.)
  if (s.global.size(std::memory_order_seq_cst) == 0 &&
      !any_local_work(s, s.gomaxprocs.load(std::memory_order_acquire)))
    return nullptr;
  ready_batch b;
  poll_events(np, 0, &b, nullptr);
  return inject(s, p, b);
}

bool netpoll_block(scheduler& s, machine* m) noexcept {
  poller* np = g_poller.load(std::memory_order_acquire);
  if (!np) return false;
  for (;;) {
    if (np->waiters.load(std::memory_order_seq_cst) <= 0) return false;
    bool f = false;
    if (!np->polling.compare_exchange_strong(f, true, std::memory_order_seq_cst)) return false;
    ready_batch b;
    const bool due = poll_blocking(s, np, &b);
    np->poll_until.store(0, std::memory_order_seq_cst);
    np->polling.store(false, std::memory_order_seq_cst);
    if (b.head || due) {
      processor* p = take_idle_p(s);
      if (!p) {
        inject(s, nullptr, b);  // every P is busy: they find the tasks there
        return false;
      }
      m->p = p;
      // The first task goes in the (empty) runnext slot: find_runnable
      // takes it first.
      if (task_header* first = inject(s, p, b)) p->runnext.store(first, std::memory_order_release);
      return true;
    }
    if (s.stopping.load(std::memory_order_acquire)) return false;
    // A task that parked while we were leaving saw `polling` set and went to
    // sleep trusting us (its M stored to `waiters`, then read `polling`; we
    // stored `polling`, then read `waiters`): poll again if anyone waits.
  }
}

void netpoll_check(scheduler& s, processor* p) noexcept {
  poller* np = g_poller.load(std::memory_order_acquire);
  if (!np || np->waiters.load(std::memory_order_relaxed) <= 0 ||
      np->polling.load(std::memory_order_relaxed))
    return;
  const int64_t now = goro::coarse_nanotime();
  int64_t last = np->last_poll.load(std::memory_order_relaxed);
  if (now - last < kPollInterval ||
      !np->last_poll.compare_exchange_strong(last, now, std::memory_order_relaxed))
    return;
  ready_batch b;
  poll_events(np, 0, &b, nullptr);
  if (task_header* first = inject(s, p, b)) {
    // Behind the P's queued work: they waited less than the network did,
    // but a busy P must not starve it either.
    put_ring_or_global(s, p, first);
  }
}

void netpoll_timer_added(int64_t when) noexcept {
  poller* np = g_poller.load(std::memory_order_acquire);
  if (!np) return;
  const int64_t until = np->poll_until.load(std::memory_order_seq_cst);
  if (until != 0 && when < until) poll_break(np);
}

void netpoll_wake_for_shutdown() noexcept {
  if (poller* np = g_poller.load(std::memory_order_acquire)) poll_break(np);
}

void netpoll_shutdown() noexcept {
  poller* np = g_poller.exchange(nullptr, std::memory_order_acq_rel);
  if (!np) return;
  ::close(np->evfd);
  ::close(np->epfd);
  delete np;
}

}  // namespace goro::detail

// ---------------------------------------------------- cancellation --

namespace goro::detail {

bool io_cancel_arm(io_cancel_link* l, context_state* ctx, io_waiter* op) noexcept {
  l->op = op;
  l->notified.store(false, std::memory_order_relaxed);
  l->notify = [](ctx_waiter* cw) noexcept {
    auto* self = static_cast<io_cancel_link*>(cw);
    io_waiter* w = self->op;
    if (io_waiter* got = netpoll_unblock(w->pd, w->mode, false)) io_complete(got, nullptr);
    self->notified.store(true, std::memory_order_release);  // last touch
  };
  short_lock_guard lk(ctx->lock());
  if (ctx->done_locked()) return false;
  l->ctx = ctx;
  ctx->add_waiter_locked(l);
  return true;
}

void io_cancel_disarm(io_cancel_link* l) noexcept {
  context_state* ctx = l->ctx;
  if (!ctx) return;
  l->ctx = nullptr;
  {
    short_lock_guard lk(ctx->lock());
    if (l->linked) {
      ctx->remove_waiter_locked(l);
      return;
    }
  }
  // cancel() took us off the list: wait until its notify has returned.
  for (int spins = 0; !l->notified.load(std::memory_order_acquire); ++spins) {
    if (spins < 64)
      __builtin_ia32_pause();
    else
      sched_yield();
  }
}

}  // namespace goro::detail
