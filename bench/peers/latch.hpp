#pragma once
// task_latch: one task waits until N others have counted down: an atomic
// countdown plus one waiter, the shape of Tokio's scheduler benchmarks
// (`rem.fetch_sub(1)` then a oneshot to the waiting task), used by
// bench/sched_bench.cpp. A task_latch(1) is a payload-less oneshot. The
// peer workloads use goro::wait_group instead, as the Go peer uses
// sync.WaitGroup; this one takes no lock.
//
// The count starts at N + 1: the extra unit belongs to the waiter, which
// gives it up in await_suspend after publishing itself. Whoever brings the
// count to zero is the last: a counting-down task readies the waiter; the
// waiter, if every other unit is already gone, simply does not suspend. So
// there is no lost wake-up and no lock: one atomic RMW per count_down, as
// WaitGroup.Done.

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <stdexcept>

#include "sched/detail/runtime_hooks.hpp"

namespace goro_peers {

class task_latch {
 public:
  explicit task_latch(int64_t n) : count_(n + 1) {}
  task_latch(const task_latch&) = delete;
  task_latch& operator=(const task_latch&) = delete;

  /// One of the N is done. Must be called exactly N times.
  void count_down() noexcept {
    if (count_.fetch_sub(1, std::memory_order_acq_rel) == 1) goro::detail::ready(waiter_);
  }

  struct [[nodiscard]] awaiter {
    task_latch* latch;
    bool await_ready() const noexcept { return latch->count_.load(std::memory_order_acquire) == 1; }
    bool await_suspend(std::coroutine_handle<> h) const {
      goro::detail::task_header* self = goro::detail::current_task();
      if (self == nullptr) throw std::logic_error("task_latch::wait: not inside a goro task");
      self->resume = h;
      latch->waiter_ = self;
      // Release publishes waiter_ to the count_down that reaches zero.
      return latch->count_.fetch_sub(1, std::memory_order_acq_rel) != 1;
    }
    void await_resume() const noexcept {}
  };

  /// Waits (in one task only, once) until all N have counted down.
  awaiter wait() noexcept { return awaiter{this}; }

 private:
  std::atomic<int64_t> count_;
  goro::detail::task_header* waiter_ = nullptr;  // written by the waiter before its RMW
};

}  // namespace goro_peers
