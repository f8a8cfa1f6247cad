#pragma once
// The execution tracer's hooks in the scheduler (the tracer is
// debug/trace.cpp). Off: a test of kTracingBit in the debug word
// (sched/detail/debug_word.hpp) as a task runs (loaded there anyway), is
// spawned or is woken. On: a TSC read before and after each run and a call
// per event into the tracer, which appends to a ring owned by the P.

#include <x86intrin.h>

#include <atomic>
#include <cstdint>

#include "sched/detail/task_header.hpp"

namespace goro::detail {

struct trace_hooks {
  /// Task `id`, whose root coroutine's resume function is `fn`, ran on P
  /// `p` from TSC `start` to `end` (called by the P's M; the task may be
  /// gone by then, so it is not passed).
  void (*run)(int p, uint64_t id, const void* fn, uint64_t start, uint64_t end) noexcept;
  /// The task running on P `p` spawned (`spawn` true) or woke `t`.
  void (*flow)(int p, const task_header* t, bool spawn) noexcept;
};

inline constinit std::atomic<const trace_hooks*> g_trace_hooks{nullptr};

inline uint64_t trace_clock() noexcept {
  return __rdtsc();
}

}  // namespace goro::detail
