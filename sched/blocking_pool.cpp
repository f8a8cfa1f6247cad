// The blocking pool behind co_await goro::blocking(fn): threads that hold no
// P and run one blocking call at a time.
//
// Model (Tokio's blocking pool; Go gets the same effect by handing the P of
// an M that enters a syscall to another M). A submitted job goes to a FIFO;
// if no idle thread is waiting for it, a new thread is started (counted
// against set_max_threads: exceeding it is fatal, as in Go, rather than a
// queue that could silently stall). A thread runs jobs until the FIFO is
// empty, then waits up to runtime_options::blocking_keep_alive for another
// and exits if none comes. A job's task is made ready with the scheduler's
// ready() from the pool thread (no P: it goes to the global queue and wakes
// an idle worker if needed).
//
// Invariant: a new thread is started exactly when queued > idle after the
// push, so every queued job has a thread that will take it. Idle threads
// wait inside the collector's blocking region (they touch no GC memory
// while waiting); while running fn they are ordinary registered threads.
//
// Threads are joinable: a retiring thread marks itself exited and the next
// start, sysmon's once-a-second reap or the shutdown joins it, so no thread
// outlives goro::run and nothing leaks.
//
// Shutdown (after every M stopped): queued jobs are dropped (their tasks are
// destroyed with the other leftover tasks, never resumed); running jobs are
// waited for, and their ready() lands in a global queue nobody reads.
// Rejected: detaching running calls so goro::run can return at once — the
// job and its result live in the task's frame, which shutdown destroys.

#include "sched/detail/blocking_pool.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>

#include "core/fatal.hpp"
#include "heap/blocking_region.hpp"
#include "heap/thread_attachment.hpp"
#include "sched/detail/os_thread.hpp"
#include "sched/detail/runtime_hooks.hpp"
#include "sched/detail/scheduler.hpp"
#include "sched/detail/trace_hooks.hpp"

namespace goro::detail {
namespace {

blocking_job* pop_job(blocking_pool& p) {
  blocking_job* j = p.head;
  if (!j) return nullptr;
  p.head = j->next;
  if (!p.head) p.tail = nullptr;
  j->next = nullptr;
  --p.queued;
  return j;
}

void pool_thread_main(scheduler* s, blocking_pool::worker* self) {
  blocking_pool& p = *s->pool;
  {
    heap::thread_attachment attach;  // fn may allocate and hold GC objects
    std::unique_lock lk(p.lock);
    for (;;) {
      if (blocking_job* j = pop_job(p)) {
        ++p.running;
        lk.unlock();
        task_header* t = j->task;  // read before run: `j` is gone once t resumes
        const uint64_t traced = trace_blocking_begin();
        j->run(j);
        trace_blocking_end(self->number, t, traced);  // its slice (debug/trace.cpp)
        // Count as idle *before* the task can run again, so a task making
        // calls one after another reuses this thread instead of starting
        // another while this one is between jobs.
        lk.lock();
        --p.running;
        ++p.idle;
        lk.unlock();
        ready(t);
        lk.lock();
        --p.idle;
        continue;
      }
      if (p.stopping) break;
      ++p.idle;
      bool timed_out = false;
      heap::blocking_region([&] {
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::nanoseconds(p.keep_alive_ns);
        while (!p.head && !p.stopping) {
          if (p.work.wait_until(lk, deadline) == std::cv_status::timeout) {
            timed_out = !p.head && !p.stopping;
            break;
          }
        }
      });
      --p.idle;
      if (timed_out) break;  // retire: idle for the whole keep-alive
    }
    self->exited = true;
    remove_thread(*s, thread_kind::blocking);
  }  // unregistered from the collector before the thread is joinable-dead
}

// Requires p.lock. Moves exited threads out so they can be joined unlocked.
std::vector<std::unique_ptr<blocking_pool::worker>> take_exited(blocking_pool& p) {
  std::vector<std::unique_ptr<blocking_pool::worker>> out;
  for (auto it = p.threads.begin(); it != p.threads.end();) {
    if ((*it)->exited) {
      out.push_back(std::move(*it));
      it = p.threads.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

void join_all(std::vector<std::unique_ptr<blocking_pool::worker>>& ws) {
  for (auto& w : ws)
    if (w->thread.joinable()) w->thread.join();
}

}  // namespace

void start_blocking_pool(scheduler& s) {
  if (s.opts.blocking_keep_alive.count() < 0)
    throw std::invalid_argument("goro::runtime_options::blocking_keep_alive = " +
                                std::to_string(s.opts.blocking_keep_alive.count()) +
                                "ns: want a duration >= 0");
  s.pool = std::make_unique<blocking_pool>();
  // Capped at ~31 years so the deadline arithmetic cannot overflow.
  s.pool->keep_alive_ns =
      std::min<int64_t>(s.opts.blocking_keep_alive.count(), 1'000'000'000'000'000'000);
}

void submit_blocking(blocking_job* j) {
  task_header* t = j->task;
  trace_handoff(t);   // while tracing: the arrow from this run to the call's slice
  if (t->locked_m) {  // a pinned task blocks on its own thread
    run_blocking_locked(j);
    return;
  }
  scheduler& s = *sched();
  blocking_pool& p = *s.pool;
  std::vector<std::unique_ptr<blocking_pool::worker>> exited;
  {
    std::lock_guard lk(p.lock);
    j->next = nullptr;
    if (p.tail)
      p.tail->next = j;
    else
      p.head = j;
    p.tail = j;
    ++p.queued;
    if (p.queued <= p.idle) {
      p.work.notify_one();
    } else {
      add_thread(s, thread_kind::blocking);  // ends the process past the limit
      exited = take_exited(p);
      auto w = std::make_unique<blocking_pool::worker>();
      blocking_pool::worker* raw = w.get();
      p.threads.push_back(std::move(w));
      raw->number = static_cast<int>(++p.started_total);
      raw->thread = new_os_thread(s, pool_thread_main, &s, raw);
    }
  }
  join_all(exited);  // `j` must not be touched here: its task may run already
}

void reap_blocking_pool(scheduler& s) {
  std::vector<std::unique_ptr<blocking_pool::worker>> exited;
  {
    std::lock_guard lk(s.pool->lock);
    exited = take_exited(*s.pool);
  }
  join_all(exited);
}

void stop_blocking_pool(scheduler& s) {
  blocking_pool& p = *s.pool;
  std::vector<std::unique_ptr<blocking_pool::worker>> all;
  {
    std::lock_guard lk(p.lock);
    p.stopping = true;
    // Not started: dropped. Their tasks stay suspended and are destroyed
    // with the other leftover tasks.
    while (pop_job(p)) {
    }
    all = std::move(p.threads);
    p.threads.clear();
    p.work.notify_all();
  }
  join_all(all);  // waits for calls that are running (Tokio does the same)
}

}  // namespace goro::detail
