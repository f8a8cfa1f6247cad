#pragma once
// Task "stack" accounting for goro::set_max_stack (sched/limits.hpp).
// Internal; used by task.hpp on every `co_await task`.
//
// A coroutine frame's size is known only to its operator new, which runs in
// the coroutine's ramp just before the promise is constructed, on the same
// thread with no suspension between. So operator new notes (address, size)
// in a thread_local and the promise's constructor picks it up, checking that
// the promise lies inside the noted block (a parameter's copy constructor
// could itself start a coroutine in between; the check then falls back to
// the promise's own size instead of taking a wrong frame's).

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace goro::detail {

struct frame_note {
  uintptr_t addr = 0;
  std::size_t bytes = 0;
};

/// The frame most recently allocated by this thread's coroutine ramp.
inline constinit thread_local frame_note tl_new_frame{};

/// set_max_stack's limit in bytes (default 1 GiB, Go's maxstacksize on
/// 64-bit). Relaxed: a new limit applies to awaits that start later.
inline constinit std::atomic<uint64_t> g_max_stack_bytes{uint64_t{1} << 30};

class promise_base;

/// Ends the process: the chain ending at `top` (whose frame is at
/// `top_frame`) passed the limit. Prints the innermost frames with their
/// resume functions and sizes.
[[noreturn]] void stack_exceeded(const promise_base* top, void* top_frame) noexcept;

}  // namespace goro::detail
