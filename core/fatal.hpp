#pragma once
// Fatal errors: a broken runtime invariant, or a resource limit the program
// exceeded (thread count, task stack). As in Go's throw(), the message is
// unique so that one grep finds the line that raised it, and the process ends.
// Errors a *user* can cause and recover from are exceptions, not fatal().

#include <atomic>
#include <string_view>

namespace goro {

/// Prints "goro: fatal error: <msg>" to stderr, then (when the program links
/// the debug layer) the task that raised it as GORO_TRACEBACK says, and
/// aborts (core dump allowed).
[[noreturn]] void fatal(std::string_view msg) noexcept;

namespace detail {
/// What fatal() prints after its message: the running task, or every task
/// (debug/task_dump.cpp installs it; null without the debug layer).
inline constinit std::atomic<void (*)() noexcept> g_fatal_tasks{nullptr};
}  // namespace detail

/// Prints "goro: <msg>" to stderr and exits with `code` without unwinding.
/// Used for start-up configuration errors (exit code 2) and resource limits.
[[noreturn]] void die(std::string_view msg, int code = 2) noexcept;

}  // namespace goro
