#include "heap/blocking_region.hpp"

#include <gc.h>

namespace goro::heap::detail {

namespace {

#if !defined(__SANITIZE_THREAD__)
struct call {
  void (*fn)(void*);
  void* arg;
};

void* trampoline(void* p) {
  auto* c = static_cast<call*>(p);
  c->fn(c->arg);
  return nullptr;
}
#endif

// Whether this thread is registered with the collector: 1 or 0 once a
// thread_attachment has said so, -1 (ask Boehm) otherwise. Asking takes
// Boehm's allocation lock, and Ms ask on every park.
thread_local signed char t_registered = -1;

}  // namespace

void note_registered(bool registered) noexcept {
  t_registered = registered ? 1 : 0;
}

void do_blocking(void (*fn)(void*), void* arg) {
#if defined(__SANITIZE_THREAD__)
  // Under ThreadSanitizer the thread stays an ordinary registered thread
  // while it sleeps. TSan defers an asynchronous signal until the thread
  // next leaves an intercepted call, and GC_do_blocking takes the
  // collector's lock (a pthread_mutex_lock interceptor) on entry and exit: a
  // thread that reached it while a collection held the lock could never
  // take the stop signal, and the collection waited for it forever ("Signals
  // delivery fails constantly"; seen in 3 of 20 runs of a test that
  // collects while Ms park). Sleeping threads instead take the stop signal
  // in their wait, which sleeps in nanosleep under TSan (core/futex.cpp).
  fn(arg);
#else
  if (t_registered == 0 || (t_registered < 0 && !GC_thread_is_registered())) {
    fn(arg);
    return;
  }
  call c{fn, arg};
  GC_do_blocking(trampoline, &c);
#endif
}

}  // namespace goro::heap::detail
