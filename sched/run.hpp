#pragma once
// goro::run: the program's entry into goro, like Go's runtime starting main.
//
//   int main() { return goro::run(async_main()); }
//
// Starts the runtime (Ps and workers), runs `root` as a task on a worker,
// waits for it, shuts the runtime down and returns its result or rethrows
// its exception. One runtime per process at a time; run() may be called
// again after it returns.
//
// Shutdown semantics (as when Go's main returns): when the root task
// completes, tasks still queued or suspended are not resumed again. Their
// frames are destroyed — destructors of their locals run — after every
// worker has stopped, so no task code runs concurrently with that clean-up.
// A task running at that moment runs on until it next suspends.

#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "sched/join_handle.hpp"
#include "sched/runtime_options.hpp"
#include "sched/task.hpp"

namespace goro {

namespace detail {
/// Starts the runtime, spawns `root` (a task<void> that records the user's
/// result) and blocks until `done` is set by it; then shuts down.
void run_root(task<void> root, const runtime_options& opts, std::atomic<bool>& done);
/// Wakes the thread blocked in run_root.
void root_finished() noexcept;
}  // namespace detail

template <class T>
T run(task<T> root, const runtime_options& opts = {}) {
  std::optional<std::conditional_t<std::is_void_v<T>, int, T>> result;
  std::exception_ptr error;
  std::atomic<bool> done{false};
  auto wrapper = [](task<T> t, auto* result, std::exception_ptr* error,
                    std::atomic<bool>* done) -> task<void> {
    try {
      if constexpr (std::is_void_v<T>) {
        co_await std::move(t);
        result->emplace(0);
      } else {
        result->emplace(co_await std::move(t));
      }
    } catch (...) {
      *error = std::current_exception();
    }
    done->store(true, std::memory_order_release);
    detail::root_finished();
  };
  detail::run_root(wrapper(std::move(root), &result, &error, &done), opts, done);
  if (error) std::rethrow_exception(error);
  if constexpr (!std::is_void_v<T>) return std::move(*result);
}

/// Whether a goro runtime is running in this process.
bool running() noexcept;

/// GOMAXPROCS: sets the number of Ps and returns the previous value; n < 1
/// only reads. Takes effect at once on a running runtime (extra workers
/// start, or surplus Ps retire after their current task). Before run(), it
/// sets the value the next run starts with. An explicit setting stops the
/// once-a-second re-check of the cgroup CPU quota.
int set_max_procs(int n);

/// CPUs the process may run on (the affinity mask at start-up).
int num_cpu();

}  // namespace goro
