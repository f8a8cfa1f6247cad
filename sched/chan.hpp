#pragma once
// goro::chan<T>: Go's channel.
//
//   goro::chan<int> jobs(16);        // buffered, capacity 16
//   goro::chan<int> done;            // unbuffered (rendezvous)
//   co_await jobs.send(42);          // parks while the buffer is full
//   std::optional<int> v = co_await jobs.recv();  // empty once closed and drained
//   jobs.close();
//
// Ownership: a chan<T> is a cheap handle to shared state, like a Go channel
// value. Copies refer to the same channel (copying costs one atomic
// increment); the state is freed when the last handle goes away. A
// moved-from handle is null, like Go's nil channel: sending or receiving on
// it throws, and in select its cases are never ready (Go's idiom for
// disabling a case). Compare handles with == to see whether two refer to
// the same channel.
//
// Errors, with Go's messages: sending on a closed channel throws
// goro::channel_closed_error("send on closed channel"), also to a sender
// that was parked when the channel closed; closing twice throws
// std::logic_error("close of closed channel").
//
// Cost: a send or receive that does not wait takes the channel's lock,
// moves the value and allocates nothing; one that waits parks the task
// with its waiter node and the value inside its own awaiter (in the
// coroutine frame), so it allocates nothing either. A value handed to a
// parked receiver goes straight into that receiver's frame, and the
// receiver is queued in this worker's runnext slot (it runs next, on this
// core). Internals and invariants: sched/detail/chan_state.hpp.
//
// The awaiters keep a pointer to the channel: the handle used to start an
// operation must outlive the co_await (it does in `co_await ch.send(v)`).

#include <coroutine>
#include <cstddef>
#include <optional>
#include <source_location>
#include <stdexcept>
#include <string>
#include <utility>

#include "sched/detail/chan_state.hpp"
#include "sched/detail/runtime_hooks.hpp"
#include "sched/detail/wait_reason.hpp"

namespace goro {

/// Thrown by a send on a closed channel (Go panics with the same message).
class channel_closed_error : public std::logic_error {
 public:
  channel_closed_error() : std::logic_error("send on closed channel") {}
};

template <class T>
class chan {
  using state = detail::chan_state<T>;

 public:
  using value_type = T;

  /// An unbuffered channel: a send completes only when a receiver takes it.
  chan() : s_(state::create(0)) {}
  /// A channel with room for `capacity` values (0 = unbuffered). Throws
  /// std::length_error ("makechan: size out of range", as Go panics) when
  /// the buffer would pass 2^48 bytes.
  explicit chan(std::size_t capacity) : s_(state::create(capacity)) {}

  chan(const chan& o) noexcept : s_(o.s_) {
    if (s_) s_->add_ref();
  }
  chan(chan&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  chan& operator=(chan o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  ~chan() {
    if (s_) s_->release();
  }

  /// False for a moved-from (nil) handle.
  explicit operator bool() const noexcept { return s_ != nullptr; }
  friend bool operator==(const chan& a, const chan& b) noexcept { return a.s_ == b.s_; }

  /// Buffer capacity (Go's cap).
  std::size_t capacity() const noexcept { return s_ ? s_->capacity() : 0; }
  /// Values buffered right now (Go's len); stale as soon as it returns.
  std::size_t size() const noexcept {
    if (!s_) return 0;
    detail::short_lock_guard g(s_->lock);
    return s_->size_locked();
  }

  /// Closes the channel: parked receivers wake with no value, parked
  /// senders wake and throw channel_closed_error, buffered values can still
  /// be received. Throws std::logic_error on a second close.
  void close() {
    if (!s_) throw std::logic_error("close of nil channel");
    detail::wait_queue<detail::chan_waiter> wake;
    bool ok;
    {
      detail::short_lock_guard g(s_->lock);
      ok = s_->close_locked(wake);
    }
    if (!ok) throw std::logic_error("close of closed channel");
    detail::wake_all(wake, [](detail::task_header* t) { detail::ready(t); });
  }

  class [[nodiscard]] send_awaiter {
   public:
    send_awaiter(state* s, T&& v) noexcept : s_(s), value_(std::move(v)) {}
    send_awaiter(const send_awaiter&) = delete;
    send_awaiter& operator=(const send_awaiter&) = delete;
    ~send_awaiter() {
      if (w_.linked) s_->abandon(&w_, true);
    }

    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h,
                       std::source_location site = std::source_location::current()) {
      if (!s_) throw std::logic_error("goro::chan: send on a nil (moved-from) channel");
      detail::task_header* wake = nullptr;
      s_->lock.lock();
      if (s_->closed) {
        s_->lock.unlock();
        w_.closed = true;  // never linked: only this awaiter reads it
        return false;
      }
      if (s_->send_now(value_, wake)) {
        s_->lock.unlock();
        if (wake) detail::ready(wake);
        return false;
      }
      detail::record_await_site(h, site);  // only where it parks: a dump reads it there
      return park(s_, s_->sendq, w_, &value_, h, detail::wait_reason::chan_send);
    }
    void await_resume() const {
      if (w_.closed) throw channel_closed_error();
    }

   private:
    state* s_;
    T value_;
    detail::chan_waiter w_;
  };

  class [[nodiscard]] recv_awaiter {
   public:
    explicit recv_awaiter(state* s) noexcept : s_(s) {}
    recv_awaiter(const recv_awaiter&) = delete;
    recv_awaiter& operator=(const recv_awaiter&) = delete;
    ~recv_awaiter() {
      if (w_.linked) s_->abandon(&w_, false);
    }

    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h,
                       std::source_location site = std::source_location::current()) {
      if (!s_) throw std::logic_error("goro::chan: receive on a nil (moved-from) channel");
      detail::task_header* wake = nullptr;
      s_->lock.lock();
      if (s_->recv_now(out_, wake)) {
        s_->lock.unlock();
        if (wake) detail::ready(wake);
        return false;
      }
      detail::record_await_site(h, site);  // only where it parks: a dump reads it there
      return park(s_, s_->recvq, w_, &out_, h, detail::wait_reason::chan_receive);
    }
    std::optional<T> await_resume() noexcept { return std::move(out_); }

   private:
    state* s_;
    std::optional<T> out_;
    detail::chan_waiter w_;
  };

  /// Sends `v`, parking while no receiver or buffer slot is free. Throws
  /// channel_closed_error if the channel is or becomes closed.
  send_awaiter send(T v) const noexcept { return send_awaiter(s_, std::move(v)); }

  /// Receives the next value; empty once the channel is closed and drained.
  recv_awaiter recv() const noexcept { return recv_awaiter(s_); }

  /// For select cases (sched/select.hpp).
  state* detail_state() const noexcept { return s_; }

 private:
  // The waiting half of send and receive, with s->lock held and the
  // operation unable to complete now: link `w` (pointing at `elem`) on `q`
  // for a counterpart to complete, and release the lock. Returns true (the
  // task suspends); throws, lock released, outside a goro task. Always
  // inlined: out of line (it takes the wait reason for task dumps) GCC
  // stopped inlining it into the awaiters, +14% instructions per ping-pong;
  // the error path is out of line instead.
  [[gnu::always_inline]] static bool park(state* s, detail::wait_queue<detail::chan_waiter>& q,
                                          detail::chan_waiter& w, void* elem,
                                          std::coroutine_handle<> h, detail::wait_reason why) {
    detail::task_header* self = detail::current_task();
    if (!self) [[unlikely]]
      no_task(s, why);
    w.task = self;
    w.elem = elem;
    // Last use of `self`: it stays in the register current_task() returned
    // it in (one move fewer per park).
    detail::suspend_as(self, h, why);
    q.push_back(&w);
    s->lock.unlock();  // from here on we may be running elsewhere: touch nothing
    return true;
  }

  [[gnu::noinline, gnu::cold, noreturn]] static void no_task(state* s, detail::wait_reason why) {
    s->lock.unlock();
    throw std::logic_error(std::string("goro::chan: a ") +
                           (why == detail::wait_reason::chan_send ? "send" : "receive") +
                           " that must wait needs a goro task");
  }

  state* s_;
};

}  // namespace goro
