#pragma once
// Signals as events for tasks (Go's os/signal):
//
//   goro::context ctx = goro::signal::notify_context(goro::context::background(),
//                                                    {SIGINT, SIGTERM});
//   co_await server.serve(ctx);     // ends when SIGTERM arrives: shut down gracefully
//
//   goro::chan<int> sigs = goro::signal::notify({SIGHUP});
//   while (auto s = co_await sigs.recv()) reload();
//
// Delivery goes through the runtime's poller: the process-wide handler only
// writes the signal number to a non-blocking pipe (async-signal-safe, no
// user code runs in it), and a task of the runtime reads the pipe and
// cancels the contexts / sends on the channels. Once a signal is asked for,
// its default action (ending the process, for SIGINT and SIGTERM) no
// longer happens, as in Go.
//
// Refused with std::invalid_argument: SIGQUIT (reserved for a goro task
// dump), SIGKILL and SIGSTOP (cannot be caught), SIGSEGV, SIGBUS, SIGFPE,
// SIGILL, SIGTRAP, SIGSYS (faults), SIGPWR and SIGXCPU (the collector's
// stop-the-world signals), and numbers outside [1, NSIG).

#include <initializer_list>

#include "sched/chan.hpp"
#include "sched/context.hpp"

namespace goro::signal {

/// A child of `parent` that is cancelled (context_error::cancelled) when
/// one of `signals` arrives. Needs a running runtime.
goro::context notify_context(const goro::context& parent, std::initializer_list<int> signals);

/// A channel (capacity 16) that receives the number of each arriving
/// signal of `signals`; a signal that finds it full is dropped (Go's
/// signal.Notify never blocks either). Needs a running runtime.
goro::chan<int> notify(std::initializer_list<int> signals);

/// Stops delivery to a channel made by notify (Go's signal.Stop).
void stop(const goro::chan<int>& ch);

}  // namespace goro::signal
