#pragma once
// Timing of task waits for the block and mutex profiles (Go's
// SetBlockProfileRate, SetMutexProfileFraction; the profiles are in
// debug/block_profile.cpp, which installs the hook). Off by default: then
// the cost is a test of kBlockTimingBit in the debug word
// (sched/detail/debug_word.hpp), loaded anyway, as a task parks and runs.
//
// While on, a parking task notes the time in a side table keyed by the
// task (the header stays as small as it is), and the M that runs it again
// takes the entry out and hands the wait's duration and reason to the hook,
// with the task still suspended, so the hook can read its await chain.

#include <atomic>
#include <cstdint>

#include "sched/detail/task_header.hpp"

namespace goro::detail {

/// Called on the M about to run `t` again after a timed wait of
/// `delay_ns`; `reason` is the wait_reason it waited with.
using block_event_fn = void (*)(const task_header* t, int64_t delay_ns, uint8_t reason) noexcept;

/// Turns timing on (fn non-null) or off (null, forgetting open waits).
void set_block_timing(block_event_fn fn) noexcept;

void block_wait_begin(const task_header* t) noexcept;
void block_wait_end(const task_header* t) noexcept;

}  // namespace goro::detail
