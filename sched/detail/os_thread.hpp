#pragma once
// Starting the runtime's own threads (workers, blocking pool, sysmon).
//
// std::thread throws std::system_error when the OS refuses a thread (EAGAIN:
// RLIMIT_NPROC, the kernel's thread limit, no memory for the stack). The
// callers sit in noexcept paths (ready() -> wakep -> startm), where that
// became std::terminate with no word of why. Go ends the process with
// "runtime: failed to create new OS thread (have N already; errno=E)";
// goro does the same.

#include <system_error>
#include <thread>
#include <utility>

namespace goro::detail {

struct scheduler;

/// Prints Go's message (with the threads goro has and the errno) and ends
/// the process with exit code 2 (sched/limits.cpp).
[[noreturn]] void os_thread_failed(const scheduler& s, int err) noexcept;

/// std::thread(f, args...), or os_thread_failed.
template <class F, class... A>
std::thread new_os_thread(const scheduler& s, F&& f, A&&... args) noexcept {
  try {
    return std::thread(std::forward<F>(f), std::forward<A>(args)...);
  } catch (const std::system_error& e) {
    os_thread_failed(s, e.code().value());
  }
}

}  // namespace goro::detail
