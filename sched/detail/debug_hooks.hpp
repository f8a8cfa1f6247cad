#pragma once
// What the scheduler's fatal paths ask of the debug layer, which sits above
// it (debug/task_dump.cpp fills the hook in when the program links it; the
// goro::goro umbrella always does). Not for users.

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/fatal.hpp"

namespace goro::detail {

struct task_header;
class promise_base;

/// GORO_TRACEBACK (Go's GOTRACEBACK): how much a fatal error prints.
/// none: no tasks; single (default): the offending task; all: every task;
/// crash: every task, then abort() (core dump) instead of exit(2).
enum class traceback_level : uint8_t { none, single, all, crash };
inline constinit std::atomic<traceback_level> g_traceback{traceback_level::single};

/// Prints, on stderr, the task that caused a fatal error (and the others,
/// as GORO_TRACEBACK says). `chain` is the innermost promise of its await
/// chain when known (a stack overrun knows it), else null.
using fatal_dump_fn = void (*)(const task_header* offending, const promise_base* chain) noexcept;
inline constinit std::atomic<fatal_dump_fn> g_fatal_dump{nullptr};

inline void fatal_task_dump(const task_header* offending, const promise_base* chain) noexcept {
  if (fatal_dump_fn f = g_fatal_dump.load(std::memory_order_acquire)) f(offending, chain);
}

/// goro::die(msg, 2) with the offending task (and, per GORO_TRACEBACK, the
/// others) printed after the message, as Go prints goroutines after
/// "fatal error: ...".
[[noreturn]] inline void die_with_tasks(std::string_view msg, const task_header* offending,
                                        const promise_base* chain) noexcept {
  if (g_fatal_dump.load(std::memory_order_acquire) == nullptr) die(msg, 2);
  std::string s = "goro: ";
  s.append(msg);
  s.append("\n\n");
  if (::write(2, s.data(), s.size()) < 0) {
  }
  fatal_task_dump(offending, chain);
  if (g_traceback.load(std::memory_order_relaxed) == traceback_level::crash) std::abort();
  std::_Exit(2);
}

}  // namespace goro::detail
