#pragma once
// The global run queue (Go's sched.runq): where a task goes when it is
// readied off a worker (no P to hold it), when a P's ring overflows (half
// of it moves here), and when a P retires (set_max_procs shrank). Every P
// looks here first on one schedule in global_queue_interval, and whenever
// its own queues are empty.
//
// One type owns both the FIFO (sched/detail/task_fifo.hpp) and the mirror
// of its size that Ps read without the lock to skip it when the queue is
// empty: every mutation updates the mirror, so they cannot drift apart.
// Mutations and size_locked() require scheduler::lock; size() does not.

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "core/fatal.hpp"
#include "sched/detail/run_queue.hpp"
#include "sched/detail/task_fifo.hpp"
#include "sched/detail/task_header.hpp"

namespace goro::detail {

class global_queue {
 public:
  /// Lock-free peek at the size (the mirror; may be stale by the time the
  /// caller takes the lock). seq_cst where a caller relies on the #StoreLoad
  /// order of the wake-up protocol (sched/scheduler.cpp, top comment).
  uint64_t size(std::memory_order o = std::memory_order_relaxed) const noexcept {
    return size_.load(o);
  }

  // --- the rest requires scheduler::lock ---
  uint64_t size_locked() const noexcept { return fifo_.size(); }

  void push(task_header* t) {
    fifo_.push_back(t);
    publish();
  }

  void push_many(task_header* const* v, uint32_t n) {
    fifo_.push_many(v, n);
    publish();
  }

  task_header* pop() noexcept {
    task_header* t = fifo_.pop_front();
    if (t) publish();
    return t;
  }

  /// Go's globrunqget: takes a fair share of the queue (size / procs + 1,
  /// at most `max` when it is not 0, at most half of `local`'s capacity and
  /// what fits in it), returns the first and puts the rest in `local`.
  task_header* take(run_queue& local, uint64_t procs, uint32_t max) {
    const uint64_t size = fifo_.size();
    if (size == 0) return nullptr;
    uint64_t n = std::min<uint64_t>(size, size / procs + 1);
    if (max > 0) n = std::min<uint64_t>(n, max);
    const uint32_t room = local.capacity() - local.size();
    n = std::min<uint64_t>(n, std::max<uint32_t>(1, std::min(room, local.capacity() / 2)));
    task_header* first = fifo_.pop_front();
    for (uint64_t i = 1; i < n; ++i) {
      if (!local.try_push(fifo_.pop_front())) fatal("global_queue::take: local run queue overflow");
    }
    publish();
    return first;
  }

 private:
  void publish() noexcept { size_.store(fifo_.size(), std::memory_order_seq_cst); }

  task_fifo fifo_;
  std::atomic<uint64_t> size_{0};
};

}  // namespace goro::detail
