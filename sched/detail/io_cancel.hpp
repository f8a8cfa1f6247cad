#pragma once
// A network operation that a goro::context can cancel: a waiter on the
// context whose notify (run by context_state::cancel, no lock held) takes
// the operation's io_waiter out of its slot and completes it, which
// io_check then fails with io_fail::cancelled. Internal.

#include <atomic>

#include "sched/context.hpp"
#include "sched/detail/netpoll.hpp"

namespace goro::detail {

struct io_cancel_link : ctx_waiter {
  io_waiter* op = nullptr;
  context_state* ctx = nullptr;  // set while armed
  std::atomic<bool> notified{false};
};

/// Registers `l` for `op` on `ctx`; false when ctx is already done.
bool io_cancel_arm(io_cancel_link* l, context_state* ctx, io_waiter* op) noexcept;
/// Unregisters `l`, waiting for a notify in progress to return. Idempotent.
void io_cancel_disarm(io_cancel_link* l) noexcept;

}  // namespace goro::detail
