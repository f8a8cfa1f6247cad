#pragma once
// goro::task<T>: a lazy, move-only coroutine, the unit of work in goro.
//
// A task does nothing until it is awaited (co_await runs it as part of the
// awaiter's chain, like a function call) or spawned (goro::spawn makes it a
// goroutine of its own). Awaiting uses symmetric transfer in both
// directions — into the child on co_await and back to the parent on
// completion — so a chain of any length of synchronously completing awaits
// runs in constant thread stack.
//
// Frames come from heap::frame_alloc: scanned by the collector (a GC pointer
// held in a suspended task's locals keeps its object alive), never collected,
// freed when the task object that owns the frame is destroyed.
//
// Stack accounting (goro::set_max_stack): every promise knows its frame's
// size; awaiting a task adds the awaiter's chain total to it, and a chain
// past the limit ends the process (sched/detail/stack_accounting.hpp). That
// is an add, a compare and two stores per await, no extra memory access
// beyond the two promises the await touches anyway.

#include <coroutine>
#include <exception>
#include <source_location>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "heap/frame_pool.hpp"
#include "sched/detail/runtime_hooks.hpp"
#include "sched/detail/stack_accounting.hpp"
#include "sched/detail/task_header.hpp"

namespace goro {

template <class T = void>
class task;

namespace detail {

class promise_base : public task_header {
 public:
  static void* operator new(std::size_t n) {
    void* p = heap::frame_alloc(n);
    tl_new_frame = frame_note{reinterpret_cast<uintptr_t>(p), n};
    return p;
  }
  static void operator delete(void* p, std::size_t n) noexcept { heap::frame_free(p, n); }

  std::suspend_always initial_suspend() noexcept { return {}; }

  struct final_awaiter {
    bool await_ready() noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      promise_base& p = h.promise();
      if (p.continuation_) return p.continuation_;
      if (p.is_root) return root_complete(&p);
      return std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  final_awaiter final_suspend() noexcept { return {}; }

  void unhandled_exception() noexcept { exception = std::current_exception(); }

  /// The promise of the suspended goro task whose frame is at `frame` (a
  /// task_header::resume address). Promises begin after the two words of
  /// resume and destroy pointers in GCC's and Clang's frame layout.
  static promise_base* from_frame(void* frame) noexcept {
    return reinterpret_cast<promise_base*>(static_cast<char*>(frame) + 2 * sizeof(void*));
  }

  promise_base() noexcept : chain_bytes_(own_frame_bytes(this)) {}

  /// The awaiting coroutine to resume when this one completes (null for a
  /// spawned root).
  std::coroutine_handle<> continuation_;
  /// The awaiting task's promise when the awaiter is a goro task, else null
  /// (for the stack-limit report).
  promise_base* parent_ = nullptr;
  /// Frame bytes of this task plus every task awaiting it, up to the root
  /// of its chain (set_max_stack).
  uint64_t chain_bytes_;
  /// Where this coroutine waits (valid while it waits: the task it awaits,
  /// or the channel, timer, lock ... its task is parked on), for async
  /// stacks in task dumps and the block profile. Written by the awaitable's
  /// await_suspend (record_await_site).
  std::source_location await_site_;

 private:
  static uint64_t own_frame_bytes(const promise_base* self) noexcept {
    const frame_note f = tl_new_frame;
    const auto at = reinterpret_cast<uintptr_t>(self);
    return at >= f.addr && at - f.addr < f.bytes ? f.bytes : sizeof(promise_base);
  }
};

/// Records `site`, where the coroutine behind `h` co_awaits, in its
/// promise when it is a goro task's (any other coroutine has no field for
/// it). Every goro awaitable's await_suspend calls it before the task can
/// park (first thing; a channel operation just before it parks), with its
/// own defaulted std::source_location parameter: GCC and Clang fill that in
/// at the compiler-made call with the co_await expression's location. When
/// inlined, a `lea` and a store into the awaiting frame, on the suspending
/// path only. Awaitables from outside goro leave the field as it was: a
/// dump shows such a wait as the task running (they do not set its wait
/// reason), or, wrapping a goro awaitable behind a type-erased handle, an
/// earlier co_await site of the coroutine (the function is right) or none.
template <class P>
inline void record_await_site(std::coroutine_handle<P> h, std::source_location site) noexcept {
  if constexpr (std::is_base_of_v<promise_base, P>) h.promise().await_site_ = site;
}

template <class T>
class promise final : public promise_base {
 public:
  promise() noexcept {}
  task<T> get_return_object() noexcept;
  template <class U>
  requires std::is_convertible_v<U&&, T>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    ::new (static_cast<void*>(&value_)) T(std::forward<U>(v));
    has_value_ = true;
  }
  ~promise() {
    if (has_value_) value_.~T();
  }
  /// Moves the result out (once) or rethrows the task's exception.
  T take_result() {
    if (exception) std::rethrow_exception(std::exchange(exception, nullptr));
    if (!has_value_) throw std::logic_error("goro::task: result already taken");
    has_value_ = false;
    T out(std::move(value_));
    value_.~T();
    return out;
  }

 private:
  union {
    T value_;
  };
  bool has_value_ = false;
};

template <>
class promise<void> final : public promise_base {
 public:
  task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void take_result() {
    if (exception) std::rethrow_exception(std::exchange(exception, nullptr));
  }
};

}  // namespace detail

template <class T>
class [[nodiscard]] task {
 public:
  using promise_type = detail::promise<T>;
  using handle_type = std::coroutine_handle<promise_type>;
  using value_type = T;

  task() noexcept = default;
  explicit task(handle_type h) noexcept : h_(h) {}
  task(task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  task& operator=(task&& o) noexcept {
    if (this != &o) {
      destroy();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() { destroy(); }

  /// True while the task holds a coroutine that has not been awaited.
  bool valid() const noexcept { return h_ && !awaited_; }

  struct awaiter {
    handle_type h;
    bool await_ready() const noexcept { return false; }
    // The awaiting promise's await_site_ is this co_await's location.
    template <class P>
    std::coroutine_handle<> await_suspend(
        std::coroutine_handle<P> parent,
        std::source_location site = std::source_location::current()) noexcept {
      detail::promise_base& child = h.promise();
      child.continuation_ = parent;
      if constexpr (std::is_base_of_v<detail::promise_base, P>) {
        detail::promise_base& up = parent.promise();
        up.await_site_ = site;
        child.parent_ = &up;
        child.chain_bytes_ += up.chain_bytes_;
        if (child.chain_bytes_ > detail::g_max_stack_bytes.load(std::memory_order_relaxed))
            [[unlikely]]
          detail::stack_exceeded(&child, h.address());
      }
      return h;  // symmetric transfer into the child
    }
    T await_resume() { return h.promise().take_result(); }
  };

  /// Runs the task as part of the awaiting coroutine's chain and gives its
  /// result (or rethrows its exception). A task can be awaited once.
  awaiter operator co_await() & { return awaiter{consume()}; }
  awaiter operator co_await() && { return awaiter{consume()}; }

  /// Gives up ownership of the frame (used by spawn).
  handle_type release() noexcept { return std::exchange(h_, {}); }

 private:
  handle_type consume() {
    if (!h_ || awaited_) throw std::logic_error("goro::task: awaited twice or empty");
    awaited_ = true;
    return h_;
  }
  void destroy() noexcept {
    if (h_) std::exchange(h_, {}).destroy();
  }

  handle_type h_;
  bool awaited_ = false;
};

namespace detail {
template <class T>
task<T> promise<T>::get_return_object() noexcept {
  return task<T>(std::coroutine_handle<promise<T>>::from_promise(*this));
}
inline task<void> promise<void>::get_return_object() noexcept {
  return task<void>(std::coroutine_handle<promise<void>>::from_promise(*this));
}
}  // namespace detail

}  // namespace goro
