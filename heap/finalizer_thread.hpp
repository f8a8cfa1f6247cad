#pragma once
// The finalizer thread: runs the finalizers of unreachable objects created by
// gc_new_with_finalizer, one at a time, on a thread of its own (as Go runs
// them on one goroutine). See finalizer_thread.cpp.

namespace goro::heap {

/// Installs Boehm's finalizer notifier (init() calls it once).
void install_finalizer_notifier() noexcept;

/// Wakes the finalizer thread if Boehm has finalizers ready (the driver calls
/// it after each collection).
void notify_finalizers_if_ready() noexcept;

}  // namespace goro::heap
