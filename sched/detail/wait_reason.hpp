#pragma once
// What a suspended task waits on, for task dumps (debug/task_dump.hpp) and
// the goroutine profile: Go's g.waitreason and g.waitsince.
//
// Every awaitable that parks a task calls suspend_as() where it used to
// store the resume handle, before it publishes the task to a wait queue, a
// timer or the blocking pool; where it waits (the co_await's file, line and
// function) the awaitable recorded first, in the innermost coroutine's
// promise (record_await_site, sched/task.hpp). The worker that resumes
// the task marks it running (scheduler.cpp, execute). Cost per suspension:
// one load of a read-mostly global (sched/detail/debug_word.hpp), an OR, a
// store into the task header next to the resume handle, and a branch on the
// OR's sign (the block profile's switch); per run, one store.
//
// A reader on another thread (the dumper) loads wait_reason with acquire and
// may then read the await chain, which is stable while the task stays
// suspended; it re-reads wait_reason afterwards and drops the chain if the
// task ran meanwhile (frame frees are held back for the dump's duration,
// heap/frame_hold.hpp, so a chain read late is stale, never freed memory).

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <source_location>

#include "sched/detail/block_timing.hpp"
#include "sched/detail/debug_word.hpp"
#include "sched/detail/task_header.hpp"
#include "sched/task.hpp"  // record_await_site, for the awaitables that include this

namespace goro::detail {

enum class wait_reason : uint8_t {
  none = 0,  // never suspended, or not a root task
  running,
  runnable,  // yielded (Gosched); a woken task stays in its wait reason until it runs
  chan_receive,
  chan_send,
  select,
  sleep,
  mutex,
  rw_mutex,
  wait_group,
  semacquire,
  once,
  join,
  context_done,
  blocking,
  io_wait,  // parked in the netpoller (sched/netpoll.cpp; net/'s tcp operations)
  kCount
};

/// Go's wait-reason strings where Go has one, else goro's own (Go spells
/// io wait "IO wait").
inline const char* wait_reason_name(wait_reason r) noexcept {
  static constexpr const char* kNames[] = {
      "idle",      "running",      "runnable", "chan receive", "chan send",  "select",
      "sleep",     "mutex",        "rw_mutex", "wait_group",   "semacquire", "once",
      "task join", "context done", "blocking", "io wait"};
  static_assert(sizeof kNames / sizeof kNames[0] == static_cast<int>(wait_reason::kCount));
  const auto i = static_cast<unsigned>(r);
  return i < static_cast<unsigned>(wait_reason::kCount) ? kNames[i] : "unknown";
}

static_assert(static_cast<uint32_t>(wait_reason::kCount) <= kWaitReasonBits + 1,
              "a wait reason must fit the debug word's low bits (debug_word.hpp)");

inline wait_reason reason_of(uint32_t wait_word) noexcept {
  return static_cast<wait_reason>(wait_word & kWaitReasonBits);
}
/// The coarse second (debug_word.hpp) a wait began in; Go's waitsince is
/// as coarse (set by the GC).
inline uint32_t since_of(uint32_t wait_word) noexcept {
  return (wait_word >> kCoarseSecondsShift) & kCoarseSecondsMask;
}

/// The suspension bookkeeping of a parking awaitable: where `t` continues,
/// what it waits on and since when. Call before `t` is published to
/// whatever will wake it. Where it waits is the co_await's location, which
/// the awaitable recorded in the awaiting coroutine's promise before
/// (record_await_site, sched/task.hpp).
inline void suspend_as(task_header* t, std::coroutine_handle<> h, wait_reason why) noexcept {
  t->resume = h;
  const uint32_t w = g_debug_word.load(std::memory_order_relaxed) | static_cast<uint32_t>(why);
  t->wait_word.store(w, std::memory_order_release);
  // kBlockTimingBit is the sign bit: the test is a branch on the OR's flags.
  static_assert(kBlockTimingBit == uint32_t{1} << 31);
  if (static_cast<int32_t>(w) < 0) [[unlikely]]
    block_wait_begin(t);  // block and mutex profiles (sched/detail/block_timing.hpp)
}

/// An awaitable that called suspend_as but then did not suspend (its
/// await_suspend returns false): the task goes on running.
inline void resume_inline(task_header* t) noexcept {
  t->wait_word.store(static_cast<uint32_t>(wait_reason::running), std::memory_order_relaxed);
}

}  // namespace goro::detail
