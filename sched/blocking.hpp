#pragma once
// co_await goro::blocking(fn): run a blocking call (a file read, a DNS
// lookup, a thread-affine C library) without stalling a P.
//
//   std::string text = co_await goro::blocking([&] { return read_file(path); });
//
// The task suspends; `fn` runs on a thread that holds no P (a blocking-pool
// thread; or, for a task pinned with lock_os_thread, its own thread after it
// handed its P to another worker, as Go's entersyscall/handoffp does); then
// the task is made ready again and co_await gives fn's result or rethrows
// its exception. Meanwhile the P keeps running other tasks.
//
// Pool threads are created on demand, reused, and retire after
// runtime_options::blocking_keep_alive of idleness (default 10 s, Tokio's
// blocking-pool keep-alive). Each counts against goro::set_max_threads; as in
// Go, exceeding the limit ends the process rather than queueing. Pool
// threads are registered with the collector, so fn may allocate and hold GC
// objects.
//
// `fn` (moved into the awaiter) and its result live in the awaiting
// coroutine's frame, which the collector scans. fn must not co_await (it is
// a plain function) and must not touch the awaiting task's frame other than
// through what it captured.
//
// Signals and EINTR. The collector stops the world with signals (Boehm's
// SIGPWR/SIGXCPU), and the pool thread that runs `fn` is registered with it
// so that fn may use GC objects. So a collection on any thread interrupts a
// blocking call in fn that the kernel does not restart: poll, ppoll,
// select, epoll_wait, nanosleep/clock_nanosleep, a timed futex or
// sem_timedwait, a read on a socket with a receive timeout. They return -1
// with errno EINTR (measured: a poll(500 ms) came back after 20 ms). Two ways
// out:
//   - retry on EINTR against a deadline taken before the first call (what
//     any signal-safe code does anyway). Not "again for the time left", as
//     std::this_thread::sleep_for does: the time the thread spends stopped
//     by the collection does not count as slept, and with collections back
//     to back (GORO_DEBUG=gcstress beside a task yielding in a loop) a 1 ms
//     sleep_for was seen to run for minutes;
//   - wrap the call in goro::blocking_region(g) when g touches no GC object
//     (holds no GC pointer it will use, allocates none): the thread is then
//     marked blocked for the collector, which neither signals nor waits for
//     it, and the call sleeps undisturbed:
//       co_await goro::blocking([&] {
//         goro::blocking_region([&] { n = ::poll(fds, nfds, 500); });
//       });
//
// At shutdown (the root task returned), goro::run waits for calls already
// running to return (as dropping a Tokio runtime does) — their tasks are not
// resumed — and calls queued but not started are dropped without running.

#include <coroutine>
#include <exception>
#include <functional>
#include <optional>
#include <source_location>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "heap/blocking_region.hpp"
#include "sched/detail/blocking_job.hpp"
#include "sched/detail/runtime_hooks.hpp"
#include "sched/detail/wait_reason.hpp"

namespace goro {

template <class F>
class [[nodiscard]] blocking_awaiter : private detail::blocking_job {
  using result_type = std::invoke_result_t<F&>;
  static_assert(!std::is_rvalue_reference_v<result_type>,
                "goro::blocking: fn must not return an rvalue reference (return a value)");
  using stored_type =
      std::conditional_t<std::is_reference_v<result_type>,
                         std::reference_wrapper<std::remove_reference_t<result_type>>,
                         std::conditional_t<std::is_void_v<result_type>, bool, result_type>>;

 public:
  explicit blocking_awaiter(F fn) : fn_(std::move(fn)) {}
  blocking_awaiter(blocking_awaiter&&) noexcept(std::is_nothrow_move_constructible_v<F>) = default;
  blocking_awaiter(const blocking_awaiter&) = delete;

  bool await_ready() const noexcept { return false; }
  template <class P>
  void await_suspend(std::coroutine_handle<P> h,
                     std::source_location site = std::source_location::current()) {
    detail::record_await_site(h, site);
    detail::task_header* t = detail::current_task();
    if (t == nullptr) throw std::logic_error("goro::blocking: not inside a goro task");
    detail::suspend_as(t, h, detail::wait_reason::blocking);
    this->task = t;
    this->run = &invoke;
    detail::submit_blocking(this);  // `this` may be resumed and gone from here on
  }
  result_type await_resume() {
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    if constexpr (std::is_reference_v<result_type>) {
      return result_->get();
    } else if constexpr (!std::is_void_v<result_type>) {
      return std::move(*result_);
    }
  }

 private:
  static void invoke(detail::blocking_job* j) noexcept {
    auto* self = static_cast<blocking_awaiter*>(j);
    try {
      if constexpr (std::is_void_v<result_type>) {
        std::invoke(self->fn_);
        self->result_.emplace(true);
      } else {
        self->result_.emplace(std::invoke(self->fn_));
      }
    } catch (...) {
      self->error_ = std::current_exception();
    }
  }

  F fn_;
  std::optional<stored_type> result_;
  std::exception_ptr error_;
};

/// Runs `fn()` on a thread that holds no P and gives its result (or
/// rethrows its exception) to the awaiting task. Throws std::logic_error
/// when awaited outside a goro task.
template <class F>
requires std::is_invocable_v < std::decay_t<F>
& > blocking_awaiter<std::decay_t<F>> blocking(F&& fn) {
  return blocking_awaiter<std::decay_t<F>>(std::forward<F>(fn));
}

/// Runs `g()` with the calling thread marked as blocked for the collector
/// (GC_do_blocking): a collection neither signals it (so a blocking system
/// call in g is not interrupted with EINTR) nor waits for it. g must not
/// touch GC objects: it must not allocate them, and a GC pointer that only
/// g's own locals hold is not scanned (what the caller's frame holds is).
/// Usable on any attached thread; inside goro::blocking's fn is where it
/// belongs.
template <class G>
void blocking_region(G&& g) {
  heap::blocking_region(std::forward<G>(g));
}

}  // namespace goro
