#pragma once
// co_await goro::select(...): Go's select statement.
//
//   auto r = co_await goro::select(goro::on_recv(jobs),       // case 0
//                                  goro::on_send(results, x), // case 1
//                                  goro::otherwise());        // case 2 (default)
//   switch (r.index()) {
//     case 0: if (auto& v = r.get<0>()) use(*v); else /* jobs closed */; break;
//     case 1: /* x was sent */ break;
//     case 2: /* nothing was ready */ break;
//   }
//
// Semantics (Go's): if one or more cases can proceed, one of them is chosen
// uniformly at random and performed; otherwise the default case fires if
// there is one; otherwise the task parks until one case can proceed, and
// exactly that one is performed. A receive case on a closed channel is
// ready and yields an empty optional; a send case on a closed channel is
// ready and, if chosen, throws channel_closed_error. A case on a null
// (moved-from) channel is never ready. At most one default case.
//
// Model: Go's selectgo, three passes, with all of the select's locks.
//   Lock: take the lock of every case's channel, in address order (no
//     deadlock with another select; plain send/recv take one lock only),
//     each distinct lock once.
//   Pass 1 (poll): visit the cases in a random permutation (fast_rand, one
//     generator per thread); the first one that can complete, completes.
//     A counterpart it completes — a parked task, maybe itself a select —
//     is claimed with one CAS on that select's `fired` word.
//   Pass 2 (arm): no case was ready and there is no default: link one
//     waiter per case (node and value in this awaiter, in the task's frame,
//     so nothing is allocated and values stay GC-visible), store the
//     resume point, release every lock, and park.
//   Pass 3 (after wake-up): a waker claimed `fired` and performed its case.
//     Retake every lock and unlink the other waiters.
//
// Interleavings, case by case:
//   - Nobody can fire this select during passes 1 and 2: its waiters become
//     visible only on queues whose locks it holds, and they are published
//     only when it unlocks. So pass 1 needs no CAS on its own `fired`.
//   - Two wakers, on two of our channels, find our waiters at once: both
//     CAS `fired` from 0; one wins and completes its case; the other drops
//     our (now stale) waiter from its queue and moves on to its next
//     waiter, as if we had never been there.
//   - We are woken while still releasing locks in pass 2 (a waker takes the
//     first lock we release): we may start running on another worker. The
//     releasing thread reads only a copy of the lock list on its stack, and
//     pass 3 on the other worker must take every lock we still hold, so it
//     cannot finish — and the frame cannot go away — before we are done.
//   - Pass 3 finds the fired case's waiter already unlinked by its waker,
//     and any stale waiter unlinked by a losing waker; unlinking is
//     idempotent under the lock. Afterwards no waiter of ours is on any
//     queue ("losing cases leave no waiter behind").
//   - The waker wrote the value into our awaiter under the channel lock and
//     readied us after releasing it, so the value is visible on resumption.
//
// Other kinds of cases: anything derived from detail::select_case
// (select_core.hpp) with a `result_type` and `take_result()`. The timeout
// case (sched/timer.hpp: on_timeout, on_deadline) has a lock of its own that
// its timer's fire takes before claiming the select; because that fire may
// wait for the lock while pass 3 holds it, pass 3 only unlinks under the
// locks and waits for a losing fire afterwards (select_case::settle). A
// context's done() case (sched/context.hpp) is shaped like a channel receive.

#include <algorithm>
#include <array>
#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <source_location>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include "core/clock.hpp"
#include "core/fast_rand.hpp"
#include "sched/chan.hpp"
#include "sched/detail/chan_state.hpp"
#include "sched/detail/runtime_hooks.hpp"
#include "sched/detail/select_core.hpp"
#include "sched/detail/wait_reason.hpp"

namespace goro {

namespace detail {

/// Uniform in [0, n): one generator per thread (select's random choice).
inline uint32_t select_rand_below(uint32_t n) noexcept {
  static std::atomic<uint64_t> seq{0};
  thread_local fast_rand rng(static_cast<uint64_t>(nanotime()) ^
                             (seq.fetch_add(1, std::memory_order_relaxed) + 1) *
                                 0x9E3779B97F4A7C15ull);
  return rng.below(n);
}

template <class T>
class recv_case final : public queue_case<recv_case<T>, chan_waiter> {
 public:
  using result_type = std::optional<T>;
  explicit recv_case(chan_state<T>* s) noexcept : s_(s) {}
  recv_case(recv_case&& o) noexcept : s_(o.s_) {}

  short_lock* case_lock() const noexcept override { return s_ ? &s_->lock : nullptr; }
  bool poll(task_header*& wake) override { return s_ && s_->recv_now(out_, wake); }
  result_type take_result() noexcept { return std::move(out_); }

 private:
  friend queue_case<recv_case, chan_waiter>;
  wait_queue<chan_waiter>* waiters() const noexcept { return s_ ? &s_->recvq : nullptr; }
  void fill(chan_waiter& w) noexcept { w.elem = &out_; }
  void unlink_taking_lock(chan_waiter& w) noexcept { s_->abandon(&w, false); }

  chan_state<T>* s_;
  std::optional<T> out_;
};

template <class T>
class send_case final : public queue_case<send_case<T>, chan_waiter> {
 public:
  using result_type = std::monostate;
  send_case(chan_state<T>* s, T&& v) noexcept : s_(s), value_(std::move(v)) {}
  send_case(send_case&& o) noexcept : s_(o.s_), value_(std::move(o.value_)) {}

  short_lock* case_lock() const noexcept override { return s_ ? &s_->lock : nullptr; }
  bool poll(task_header*& wake) override {
    if (!s_) return false;
    if (s_->closed) {
      closed_ = true;  // ready; throws if chosen (Go: panic)
      return true;
    }
    return s_->send_now(value_, wake);
  }
  result_type take_result() const {
    if (closed_ || this->w_.closed) throw channel_closed_error();
    return {};
  }

 private:
  friend queue_case<send_case, chan_waiter>;
  wait_queue<chan_waiter>* waiters() const noexcept { return s_ ? &s_->sendq : nullptr; }
  void fill(chan_waiter& w) noexcept { w.elem = &value_; }
  void unlink_taking_lock(chan_waiter& w) noexcept { s_->abandon(&w, true); }

  chan_state<T>* s_;
  T value_;
  bool closed_ = false;
};

struct default_case {
  using result_type = std::monostate;
};

template <class C>
inline constexpr bool is_default_case_v = std::is_same_v<std::remove_cvref_t<C>, default_case>;

}  // namespace detail

/// A receive case: fires with the received value, or an empty optional if
/// the channel is closed and drained.
template <class T>
detail::recv_case<T> on_recv(const chan<T>& ch) noexcept {
  return detail::recv_case<T>(ch.detail_state());
}

/// A send case: fires when `v` was sent; throws channel_closed_error if it
/// is chosen on a closed channel.
template <class T, class U>
requires std::is_constructible_v<T, U&&> detail::send_case<T> on_send(const chan<T>& ch, U&& v) {
  return detail::send_case<T>(ch.detail_state(), T(std::forward<U>(v)));
}

/// The default case: fires when no other case is ready.
inline detail::default_case otherwise() noexcept {
  return {};
}

template <class... Cases>
class select_awaiter;

/// What a select gives back: the index of the case that fired (its
/// position in the argument list) and, for a receive case, its value.
template <class... R>
class select_result {
 public:
  explicit select_result(std::size_t index) noexcept : index_(index) {}

  /// Which case fired, 0-based, in argument order.
  std::size_t index() const noexcept { return index_; }

  /// The result of case I: std::optional<T> for a receive (empty when the
  /// channel was closed), std::monostate otherwise. Throws
  /// std::logic_error if case I is not the one that fired.
  template <std::size_t I>
  auto& get() {
    if (I != index_) throw std::logic_error("goro::select_result::get: that case did not fire");
    return std::get<I>(values_);
  }

 private:
  template <class...>
  friend class select_awaiter;
  std::size_t index_;
  std::tuple<R...> values_;
};

template <class... Cases>
class [[nodiscard]] select_awaiter {
  static constexpr std::size_t kN = sizeof...(Cases);
  static constexpr std::size_t kDefaults = (std::size_t{detail::is_default_case_v<Cases>} + ...);
  static_assert(kN > 0, "goro::select: at least one case");
  static_assert(kDefaults <= 1, "goro::select: at most one default case");
  static_assert(kN < UINT32_MAX);

 public:
  using result_type = select_result<typename Cases::result_type...>;

  explicit select_awaiter(Cases&&... cs) noexcept : cases_(std::move(cs)...) {}
  select_awaiter(const select_awaiter&) = delete;
  select_awaiter& operator=(const select_awaiter&) = delete;
  ~select_awaiter() {
    if (armed_)  // only when a parked task's frame is destroyed at shutdown
      for (std::size_t i = 0; i < kN; ++i)
        if (ptrs_[i]) ptrs_[i]->abandon();
  }

  bool await_ready() const noexcept { return false; }

  template <class P>
  bool await_suspend(std::coroutine_handle<P> h,
                     std::source_location site = std::source_location::current()) {
    detail::record_await_site(h, site);
    collect(std::index_sequence_for<Cases...>{});
    lock_all();

    // Pass 1: poll the non-default cases in random order.
    std::array<uint32_t, kN> order;
    uint32_t n = 0;
    for (uint32_t i = 0; i < kN; ++i) {
      if (!ptrs_[i]) continue;
      uint32_t j = detail::select_rand_below(n + 1);  // inside-out Fisher–Yates
      order[n] = order[j];
      order[j] = i;
      ++n;
    }
    for (uint32_t k = 0; k < n; ++k) {
      detail::task_header* wake = nullptr;
      if (ptrs_[order[k]]->poll(wake)) {
        fired_ = order[k];
        unlock_all(locks_, nlocks_);
        if (wake) detail::ready(wake);
        return false;
      }
    }
    if constexpr (kDefaults == 1) {
      fired_ = default_index();
      unlock_all(locks_, nlocks_);
      return false;
    }

    // Pass 2: arm every case and park.
    detail::task_header* self = detail::current_task();
    if (!self) {
      unlock_all(locks_, nlocks_);
      throw std::logic_error("goro::select: a select that must wait needs a goro task");
    }
    detail::suspend_as(self, h, detail::wait_reason::select);
    for (uint32_t i = 0; i < kN; ++i)
      if (ptrs_[i]) ptrs_[i]->arm(state_, i, self);
    armed_ = true;
    // Publishing: after the first unlock we may be resumed elsewhere, so
    // unlock from a copy of the lock list (see the interleavings above).
    std::array<detail::short_lock*, kN> locks = locks_;
    unlock_all(locks, nlocks_);
    return true;
  }

  result_type await_resume() {
    if (armed_) {
      // Pass 3: we were woken; unlink the cases that did not fire.
      fired_ = state_.fired.load(std::memory_order_acquire) - 1;
      lock_all();
      for (std::size_t i = 0; i < kN; ++i)
        if (ptrs_[i]) ptrs_[i]->disarm();
      unlock_all(locks_, nlocks_);
      for (std::size_t i = 0; i < kN; ++i)
        if (ptrs_[i]) ptrs_[i]->settle();
      armed_ = false;
    }
    result_type r(fired_);
    take(r, std::index_sequence_for<Cases...>{});
    return r;
  }

 private:
  template <std::size_t... I>
  void collect(std::index_sequence<I...>) noexcept {
    ((ptrs_[I] = as_case(std::get<I>(cases_))), ...);
    nlocks_ = 0;
    for (std::size_t i = 0; i < kN; ++i) {
      detail::short_lock* l = ptrs_[i] ? ptrs_[i]->case_lock() : nullptr;
      if (!l) continue;
      std::size_t at = nlocks_;  // insertion sort by address, no duplicates
      bool dup = false;
      for (std::size_t k = 0; k < nlocks_; ++k) {
        if (locks_[k] == l) dup = true;
        if (!dup && std::less<>{}(l, locks_[k])) {
          at = k;
          break;
        }
      }
      if (dup) continue;
      for (std::size_t k = nlocks_; k > at; --k) locks_[k] = locks_[k - 1];
      locks_[at] = l;
      ++nlocks_;
    }
  }

  template <class C>
  static detail::select_case* as_case(C& c) noexcept {
    if constexpr (detail::is_default_case_v<C>)
      return nullptr;
    else
      return &c;
  }

  // Where otherwise() stands in the argument list (there is one).
  static constexpr uint32_t default_index() noexcept {
    constexpr bool is_default[] = {detail::is_default_case_v<Cases>...};
    uint32_t i = 0;
    while (!is_default[i]) ++i;
    return i;
  }

  template <std::size_t... I>
  void take(result_type& r, std::index_sequence<I...>) {
    (take_one<I>(r), ...);
  }
  template <std::size_t I>
  void take_one(result_type& r) {
    if (I != fired_) return;
    auto& c = std::get<I>(cases_);
    if constexpr (!detail::is_default_case_v<decltype(c)>) std::get<I>(r.values_) = c.take_result();
  }

  void lock_all() noexcept {
    for (std::size_t k = 0; k < nlocks_; ++k) locks_[k]->lock();
  }
  static void unlock_all(const std::array<detail::short_lock*, kN>& locks, std::size_t n) noexcept {
    for (std::size_t k = 0; k < n; ++k) locks[k]->unlock();
  }

  std::tuple<Cases...> cases_;
  detail::select_state state_;
  std::array<detail::select_case*, kN> ptrs_{};  // null for the default case
  std::array<detail::short_lock*, kN> locks_{};  // distinct, by address
  std::size_t nlocks_ = 0;
  uint32_t fired_ = 0;
  bool armed_ = false;  // pass 2 ran and pass 3 has not
};

/// Waits until one of `cases` can proceed and performs exactly that one
/// (see the top of this file). Cases: on_recv, on_send, otherwise.
template <class... Cases>
select_awaiter<std::remove_cvref_t<Cases>...> select(Cases&&... cases) {
  return select_awaiter<std::remove_cvref_t<Cases>...>(std::move(cases)...);
}

}  // namespace goro
