#pragma once
// Task dumps: every live task with what it waits on, for how long, its
// async stack (the chain of tasks awaiting one another, innermost first, as
// function and file:line) and where it was spawned. Go's goroutine dump
// (runtime.Stack(all), /debug/pprof/goroutine?debug=2) and its grouped form
// (?debug=1).
//
// How the chain is known. Every goro awaitable's await_suspend takes a
// defaulted std::source_location, which the compiler fills in with the
// co_await's location, and stores it into the awaiting task's promise (one
// pointer store per suspending await, record_await_site); a suspended task's
// innermost coroutine is its resume handle, and each promise links to its
// awaiter (promise_base::parent_). So a dump reads file, line and function
// names the compiler wrote into the binary: no unwinding and no debug
// information are needed for async stacks, and a stripped binary prints
// them too. The running task's own native stack (a dump from inside a task,
// or a fatal error) is unwound with libgcc's unwinder and symbolized with libdw
// (debug/symbolize.hpp); there a stripped binary prints addresses.
//
// A dump does not stop the world: it walks the scheduler's task registry
// while tasks keep running, holding coroutine-frame frees back for its
// duration (heap/frame_hold.hpp). A task that runs while it is read prints
// as running.
//
// Triggers: write_task_dump() from code; SIGQUIT (full dump on stderr, then
// exit status 2, as Go; GORO_TRACEBACK=none prints no tasks, crash aborts
// after the dump); the scheduler's fatal paths (set_max_stack and
// set_max_threads overruns) print the offending task's chain, or every task
// with GORO_TRACEBACK=all.

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace goro {

/// Every live task in Go's full dump format (goroutine?debug=2): the calling
/// task first, then the others; each "task <id> [<state>[, <N> minutes]]:",
/// its frames as "<function>\n\t<file>:<line>", then "created by <function>
/// \n\t<file>:<line>", blank-line separated.
void write_task_dump(std::ostream& os);

namespace debug {

/// One frame of a task's async stack, or its spawn site.
struct task_frame {
  std::string function;  // e.g. "worker(goro::chan<int>)"
  std::string file;
  uint32_t line = 0;
};

/// One live task as a dump sees it.
struct task_record {
  uint64_t id = 0;
  std::string state;               // "chan receive", "running", ... (Go's wait reasons)
  uint64_t waiting_s = 0;          // seconds in this state (coarse: sysmon's 1 s clock)
  bool current = false;            // the task that asked for the dump
  std::vector<task_frame> frames;  // innermost first; empty for a running task
  uint64_t elided = 0;             // frames past the first 100
  task_frame created_by;
};

/// Every live task (tasks spawned but never run yet are not listed).
std::vector<task_record> task_records();

/// /debug/pprof/goroutine bodies: debug=0 gzip'd profile.proto (samples =
/// tasks grouped by chain and state, label "state"), 1 grouped text with
/// counts, 2 the full dump. Throws std::invalid_argument for another value.
void write_goroutine_profile(std::ostream& os, int debug);

/// Go's wait-reason style name of a task-state code (for tests).
std::string clean_function_name(const char* compiler_name);

}  // namespace debug
}  // namespace goro
