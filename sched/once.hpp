#pragma once
// goro::once: Go's sync.Once for tasks — run an initialiser exactly once,
// however many tasks ask for it at the same time.
//
//   goro::once init;
//   co_await init.call([&] { table = build(); });                 // plain function
//   co_await init.call([&]() -> goro::task<void> { co_await load(); });  // or a task
//
// The first caller runs fn (awaiting it if it returns task<void>); callers
// that arrive while it runs park until it finishes; later callers return
// at once (one atomic load). What fn did is visible to all of them.
//
// Exceptions follow Go, not std::call_once: if fn throws, the exception
// goes to the caller that ran it, and the once still counts as done — the
// other callers return normally and fn is never run again. (std::call_once
// would let the next caller retry; Go's authors chose "panics count as
// done" so that a once can never run fn twice, and goro users come from Go.)
//
// Model: `state_` (atomic) is idle -> running -> done. The idle -> running
// transition and the waiter list are protected by `lock_`; running -> done
// is stored (release) under `lock_` by the runner, which detaches the
// waiters and wakes them after unlocking. The fast path reads done with
// acquire. The runner is a child task entered by symmetric transfer (its
// frame is allocated only on that first call), so fn may itself await.

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <optional>
#include <source_location>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "sched/detail/runtime_hooks.hpp"
#include "sched/detail/short_lock.hpp"
#include "sched/detail/wait_queue.hpp"
#include "sched/detail/wait_reason.hpp"
#include "sched/task.hpp"

namespace goro {

class once {
 public:
  once() noexcept = default;
  once(const once&) = delete;
  once& operator=(const once&) = delete;

  /// Whether fn has finished (returned or thrown).
  bool done() const noexcept { return state_.load(std::memory_order_acquire) == kDone; }

  template <class F>
  class [[nodiscard]] call_awaiter {
    using fn_result = std::invoke_result_t<F&>;
    static_assert(std::is_void_v<fn_result> || std::is_same_v<fn_result, task<void>>,
                  "goro::once::call: fn must return void or goro::task<void>");

   public:
    call_awaiter(once& o, F&& fn) : o_(o), fn_(std::move(fn)) {}
    call_awaiter(const call_awaiter&) = delete;
    call_awaiter& operator=(const call_awaiter&) = delete;
    ~call_awaiter() {
      if (w_.linked) o_.cancel_wait(&w_);
    }

    bool await_ready() const noexcept { return o_.done(); }

    template <class P>
    std::coroutine_handle<> await_suspend(
        std::coroutine_handle<P> h, std::source_location site = std::source_location::current()) {
      detail::record_await_site(h, site);
      detail::task_header* self = detail::current_task();
      {
        detail::short_lock_guard g(o_.lock_);
        uint32_t s = o_.state_.load(std::memory_order_relaxed);
        if (s == kDone) return h;  // finished meanwhile: carry on
        if (s == kRunning) {
          if (!self) throw std::logic_error("goro::once: waiting for fn needs a goro task");
          detail::suspend_as(self, h, detail::wait_reason::once);
          w_.task = self;
          o_.waiters_.push_back(&w_);
          detail::note_parked(self, &w_, &o_, [](detail::sync_waiter* n) noexcept {
            static_cast<once*>(n->prim)->cancel_wait(n);
          });
          return std::noop_coroutine();  // unlocking publishes the node
        }
        o_.state_.store(kRunning, std::memory_order_relaxed);
      }
      runner_ = run(&o_, &fn_);
      inner_.emplace(runner_.operator co_await());
      // Into the runner; it resumes h at its end. The erased handle keeps
      // the runner off the caller's chain (no parent_, no stack total), as
      // before the site was recorded here.
      return inner_->await_suspend(std::coroutine_handle<>(h), site);
    }

    void await_resume() {
      detail::note_resumed(&w_);
      if (inner_) inner_->await_resume();  // rethrows fn's exception to its runner
    }

   private:
    static task<void> run(once* o, F* fn) {
      std::exception_ptr error;
      try {
        if constexpr (std::is_void_v<fn_result>)
          (*fn)();
        else
          co_await (*fn)();
      } catch (...) {
        error = std::current_exception();
      }
      o->finish();
      if (error) std::rethrow_exception(error);
    }

    once& o_;
    F fn_;
    detail::sync_waiter w_;
    task<void> runner_;
    std::optional<typename task<void>::awaiter> inner_;
  };

  /// Runs fn if no call has run it yet; otherwise waits for that run.
  template <class F>
  call_awaiter<std::decay_t<F>> call(F&& fn) {
    return call_awaiter<std::decay_t<F>>(*this, std::decay_t<F>(std::forward<F>(fn)));
  }

 private:
  static constexpr uint32_t kIdle = 0;
  static constexpr uint32_t kRunning = 1;
  static constexpr uint32_t kDone = 2;

  void cancel_wait(detail::sync_waiter* w) noexcept {
    detail::short_lock_guard g(lock_);
    waiters_.remove(w);
  }

  void finish() noexcept {
    detail::wait_queue<detail::sync_waiter> wake;
    {
      detail::short_lock_guard g(lock_);
      state_.store(kDone, std::memory_order_release);
      waiters_.splice_to(wake);
    }
    detail::wake_all(wake, [](detail::task_header* t) { detail::ready(t); });
  }

  std::atomic<uint32_t> state_{kIdle};  // idle -> running (under lock_) -> done
  detail::short_lock lock_;
  detail::wait_queue<detail::sync_waiter> waiters_;  // protected by lock_
};

}  // namespace goro
