#pragma once
// goro::spawn and goro::join_handle<T>: start a task as a goroutine of its
// own, and optionally wait for its result.
//
// Dropping a join handle detaches the task (like `go f()`): it runs to the
// end and its frame is freed when it completes. Awaiting the handle suspends
// until the task completes and gives its result or rethrows its exception.
//
// An exception that escapes a detached task, or whose join handle is
// dropped without being awaited, is never silent: goro prints it with the
// task's id and spawn site, then applies the unhandled-exception policy
// (default: end the process with exit code 2, as an unrecovered Go panic
// does; goro::set_unhandled_exception_policy(report) keeps running).
//
// A handle may outlive the goro::run that spawned its task (a global, a
// service object): every frame is destroyed when that run ends, so from
// then on the handle only remembers its id; done() is false, awaiting it
// throws std::logic_error, and dropping it does nothing.

#include <atomic>
#include <source_location>
#include <stdexcept>
#include <utility>

#include "sched/detail/run_lifetime.hpp"
#include "sched/detail/wait_reason.hpp"
#include "sched/task.hpp"

namespace goro {

template <class T>
class join_handle {
 public:
  join_handle() noexcept = default;
  explicit join_handle(std::coroutine_handle<detail::promise<T>> h) noexcept
      : h_(h), id_(h ? h.promise().id : 0), epoch_(detail::run_epoch()) {}
  join_handle(join_handle&& o) noexcept
      : h_(std::exchange(o.h_, {})),
        id_(o.id_),
        epoch_(o.epoch_),
        awaited_(std::exchange(o.awaited_, false)) {}
  join_handle& operator=(join_handle&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, {});
      id_ = o.id_;
      epoch_ = o.epoch_;
      awaited_ = std::exchange(o.awaited_, false);
    }
    return *this;
  }
  join_handle(const join_handle&) = delete;
  join_handle& operator=(const join_handle&) = delete;
  ~join_handle() { reset(); }

  /// The spawned task's id (as goro::this_task::id() inside it).
  uint64_t id() const noexcept { return h_ ? id_ : 0; }

  /// Whether the task has finished (its result can be taken without
  /// waiting). False once the run that spawned it has ended.
  bool done() const noexcept {
    return live() && (h_.promise().join_state.load(std::memory_order_acquire) & detail::kComplete);
  }

  /// Lets the task run on its own; its result is discarded.
  void detach() noexcept { reset(); }

  struct awaiter {
    std::coroutine_handle<detail::promise<T>> h;
    bool await_ready() const noexcept {
      return h.promise().join_state.load(std::memory_order_acquire) & detail::kComplete;
    }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> me,
                       std::source_location site = std::source_location::current()) {
      detail::record_await_site(me, site);
      detail::task_header* self = detail::current_task();
      if (!self) throw not_in_task();
      detail::suspend_as(self, me, detail::wait_reason::join);
      auto& p = h.promise();
      p.joiner = self;
      // Acquire: if this load is the one that sees kComplete, await_resume
      // reads the result with no other synchronisation (TSan caught the
      // relaxed version once completion got fast enough to land here).
      uint32_t s = p.join_state.load(std::memory_order_acquire);
      while (!(s & detail::kComplete)) {
        if (p.join_state.compare_exchange_weak(s, s | detail::kWaiter, std::memory_order_acq_rel,
                                               std::memory_order_acquire))
          return true;  // root_complete will ready() us
      }
      return false;  // completed meanwhile: continue without suspending
    }
    T await_resume() { return h.promise().take_result(); }
  };

  /// Waits for the task; gives its result or rethrows its exception. A
  /// handle can be awaited once.
  awaiter operator co_await() {
    if (!h_ || awaited_) throw std::logic_error("goro::join_handle: awaited twice or empty");
    if (!live())
      throw std::logic_error(
          "goro::join_handle: the goro::run that ran this task has ended and destroyed it");
    if (!detail::current_task()) throw not_in_task();  // before the handle counts as awaited
    awaited_ = true;
    return awaiter{h_};
  }

 private:
  static std::logic_error not_in_task() {
    return std::logic_error(
        "goro::join_handle: co_await it inside a goro task (this coroutine runs on a thread that "
        "is not running one)");
  }
  // The frame exists: the run that spawned the task has not ended.
  bool live() const noexcept { return h_ && epoch_ == detail::run_epoch(); }
  void reset() noexcept {
    if (live()) detail::release_handle(&h_.promise());
    h_ = {};
    awaited_ = false;
  }
  std::coroutine_handle<detail::promise<T>> h_;
  uint64_t id_ = 0;
  uint64_t epoch_ = 0;
  bool awaited_ = false;
};

/// Starts `t` as a new goroutine and returns a handle to it. The new task is
/// queued on the calling worker, on top of its run stack of spawned tasks
/// (newest first, so a tree of spawns runs depth first); an idle worker is
/// woken to steal if there is one.
/// Throws std::logic_error when no goro runtime is running.
template <class T>
join_handle<T> spawn(task<T> t, std::source_location site = std::source_location::current()) {
  auto h = t.release();
  if (!h) throw std::invalid_argument("goro::spawn: empty task");
  auto& p = h.promise();
  p.is_root = true;
  p.self = h;
  p.resume = h;
  p.join_state.store(detail::kHandle, std::memory_order_relaxed);
  detail::spawn_root(&p, site);  // on error it frees the frame and throws
  return join_handle<T>(h);
}

/// What happens when an exception escapes a task nobody joins.
enum class unhandled_exception_policy {
  abort,   ///< print it and end the process with exit code 2 (Go's panic)
  report,  ///< print it and keep running (Tokio's default)
};

/// Sets the policy; returns the previous one.
unhandled_exception_policy set_unhandled_exception_policy(unhandled_exception_policy p) noexcept;

namespace this_task {
/// The running task's id, 0 outside a goro task.
uint64_t id() noexcept;
}  // namespace this_task

}  // namespace goro
