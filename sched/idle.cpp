// Idle Ps and Ms: the idle lists, starting an M for a P (startm), parking
// an M that found nothing (stopm, which also watches the earliest timer),
// waking a spinning M (wakep; its fast path is inline in
// sched/detail/idle.hpp) and handing a P away (handoffp). Go: proc.go's
// pidleget/pidleput/mget, startm, stopm, wakep, handoffp.
//
// The lists and the timed-sleep deadline are in scheduler::synced, guarded
// by scheduler::lock; npidle and nmspinning are atomics read without it
// (the wake-up protocol in sched/scheduler.cpp's top comment).

#include "sched/detail/idle.hpp"

#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/fatal.hpp"
#include "heap/blocking_region.hpp"
#include "sched/detail/netpoll.hpp"
#include "sched/detail/os_thread.hpp"
#include "sched/detail/registry.hpp"
#include "sched/detail/runq.hpp"

namespace goro::detail {

// ---------------------------------------------------------------- P lists --
// All of these require s.lock.

processor* pidleget(scheduler& s) {
  processor* p = s.synced.pidle;
  if (!p) return nullptr;
  s.synced.pidle = p->idle_link;
  p->idle_link = nullptr;
  p->state = processor::status::running;
  s.npidle.fetch_sub(1, std::memory_order_seq_cst);
  p->stats.went_busy();
  return p;
}

// The netpoller's hand-out of readied tasks (sched/netpoll.cpp): an idle P
// for a task, taking the lock itself.
processor* take_idle_p(scheduler& s) noexcept {
  std::lock_guard lk(s.lock);
  return s.stopping.load(std::memory_order_relaxed) ? nullptr : pidleget(s);
}

void pidleput(scheduler& s, processor* p) {
  if (p->state == processor::status::idle) fatal("pidleput: P already idle");
  p->state = processor::status::idle;
  p->stats.went_idle();
  p->idle_link = s.synced.pidle;
  s.synced.pidle = p;
  s.npidle.fetch_add(1, std::memory_order_seq_cst);
}

machine* mget(scheduler& s) {
  machine* m = s.synced.midle;
  if (!m) return nullptr;
  s.synced.midle = m->idle_link;
  m->idle_link = nullptr;
  m->in_midle = false;
  --s.synced.nmidle;
  return m;
}

namespace {

// Requires s.lock. Takes the exited pinned Ms out of all_m to be joined.
std::vector<std::unique_ptr<machine>> take_dead_ms(scheduler& s) {
  std::vector<std::unique_ptr<machine>> out;
  for (machine* d : s.synced.mdead) {
    for (auto it = s.synced.all_m.begin(); it != s.synced.all_m.end(); ++it) {
      if (it->get() == d) {
        out.push_back(std::move(*it));
        s.synced.all_m.erase(it);
        break;
      }
    }
  }
  s.synced.mdead.clear();
  return out;
}

// Requires s.lock. Takes `m` out of the idle list.
void midle_remove(scheduler& s, machine* m) {
  for (machine** link = &s.synced.midle; *link; link = &(*link)->idle_link) {
    if (*link == m) {
      *link = m->idle_link;
      m->idle_link = nullptr;
      m->in_midle = false;
      --s.synced.nmidle;
      return;
    }
  }
  fatal("midle_remove: M not in the idle list");
}

}  // namespace

// ---------------------------------------------------------------- M start --

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
  m->id = s.synced.next_m_id++;
  m->registry = registry_shard_for_new_m(s);
  m->nextp = p;
  m->next_spinning = spinning;
  s.synced.all_m.push_back(std::move(owned));
  m->thread = new_os_thread(s, worker_main, m);  // Go's message if the OS refuses
  lk.unlock();
  for (auto& d : dead) d->thread.join();  // exited already: joining is quick
}

void wakep_start(scheduler& s) {
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

// ----------------------------------------------------------------- parking --

// Parks the M until startm hands it a P (or, with timers pending, until the
// earliest deadline). On return m->p may still be null: find_runnable then
// calls stopm again.
//
// Timers: the first M to park while a timer is pending parks with a timeout
// at the earliest deadline (synced.timer_sleep_when records it); a later M with
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
    m->idle_link = s.synced.midle;
    s.synced.midle = m;
    m->in_midle = true;
    ++s.synced.nmidle;
    if (next != 0 && next < s.synced.timer_sleep_when) {
      s.synced.timer_sleep_when = next;
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
      if (s.synced.timer_sleep_when == next) s.synced.timer_sleep_when = INT64_MAX;
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
      if (s.synced.timer_sleep_when == INT64_MAX && s.synced.midle && earliest_timer(s) != 0) {
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

// ---------------------------------------------------------------- hand-off --

// Go's handoffp: give away a P this M no longer uses, to an M that will
// run its work, or to the idle list when there is none.
void handoffp(scheduler& s, processor* p) {
  if (has_local_work(p) || s.global.size(std::memory_order_seq_cst) > 0) {
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
  if (s.global.size_locked() > 0 && !s.stopping.load(std::memory_order_relaxed)) {
    lk.unlock();
    startm(s, p, false);
    return;
  }
  // The P's timers need a watcher once it is idle (Go: handoffp's
  // wakeNetPoller). If no parked M waits for a deadline this early, give the
  // P to an M: finding nothing to run, it parks timed (stopm).
  if (const int64_t w = p->timers.when0.load(std::memory_order_acquire);
      w != 0 && w < s.synced.timer_sleep_when && !s.stopping.load(std::memory_order_relaxed)) {
    lk.unlock();
    startm(s, p, false);
    return;
  }
  pidleput(s, p);
}

// The M gives up its P before it sleeps or exits (retiring it if

}  // namespace goro::detail
