// The finalizer thread.
//
// Boehm finds finalizable objects unreachable during a collection and queues
// them. By default it would then run their finalizers inside whatever
// allocation comes next, on any thread: in the middle of a task, or inside
// the scheduler with its locks held. goro sets GC_finalize_on_demand (in
// init()) and runs them here instead, on one attached thread that sleeps in
// a blocking region (a collection neither signals nor waits for it) until
// Boehm's notifier or the driver posts it.
//
// The thread starts with the first registered finalizer and lives until the
// process exits (detached: it holds nothing that needs tearing down, and
// its registration dies with the process).
//
// Ordering is Boehm's default "ignore self" flavour: an object reachable
// from another finalizable object is finalized after it, a pointer from an
// object to itself does not count, and a cycle of finalizable objects is
// never finalized (Go has the same rule).

#include "heap/finalizer_thread.hpp"

#include <gc.h>

#include <mutex>
#include <thread>

#include "core/futex.hpp"
#include "heap/blocking_region.hpp"
#include "heap/collector_init.hpp"
#include "heap/detail/allocate.hpp"
#include "heap/thread_attachment.hpp"

namespace goro::heap {
namespace {

parker g_wake;  // posted by the notifier; waited on by the finalizer thread

void GC_CALLBACK on_finalizers_ready() {
  g_wake.post();
}

[[noreturn]] void finalizer_loop() {
  thread_attachment attach;
  for (;;) {
    blocking_region([] { g_wake.wait(); });
    while (GC_should_invoke_finalizers()) GC_invoke_finalizers();
  }
}

void start_thread_once() {
  static std::once_flag once;
  std::call_once(once, [] { std::thread(finalizer_loop).detach(); });
}

}  // namespace

void install_finalizer_notifier() noexcept {
  GC_set_finalizer_notifier(on_finalizers_ready);
}

void notify_finalizers_if_ready() noexcept {
  if (GC_should_invoke_finalizers()) g_wake.post();
}

namespace detail {

void register_finalizer(void* obj, finalizer_fn fn) {
  init();
  start_thread_once();
  GC_register_finalizer_ignore_self(obj, fn, nullptr, nullptr, nullptr);
}

}  // namespace detail
}  // namespace goro::heap
