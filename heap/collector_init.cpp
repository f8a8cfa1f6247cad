// Boehm set-up, once per process.
//
// Order matters: the warning filter and the out-of-memory hook go in before
// the first allocation; GC_allow_register_threads must precede every
// GC_register_my_thread (registration aborts otherwise, boehm-probe.md
// section 3); the collection-event callback must be in place before the
// first collection or its pause is lost.
//
// Settings and why:
// - automatic collection off: goro's driver decides (collector.cpp). Not
//   GC_disable(), which would also block explicit GC_gcollect.
// - finalizers on demand: Boehm would otherwise run finalizers inside any
//   allocation on any thread, i.e. in the middle of a task or of scheduler
//   code; goro runs them on one thread of their own (finalizer_thread.cpp).
// - incremental mode stays off unless GORO_GC_MODE=concurrent finds the
//   patched libgc's userfaultfd dirty bits usable (heap/gc_mode.cpp): the
//   packaged library's mprotect dirty bits make read() into GC memory fail
//   with EFAULT (boehm-probe.md section 1).
// - interior pointers stay on (the default): C++ keeps pointers to members
//   and one-past-the-end iterators. Turning them off is a measured decision
//   still to make (DESIGN.md).

#include "heap/collector_init.hpp"

#include <gc.h>
#include <unistd.h>

#include <atomic>
#include <mutex>

#include "heap/detail/collection_events.hpp"
#include "heap/detail/driver.hpp"
#include "heap/detail/gc_knobs.hpp"
#include "heap/detail/gc_mode.hpp"
#include "heap/detail/gc_stress.hpp"
#include "heap/detail/roots.hpp"
#include "heap/finalizer_thread.hpp"

namespace goro::heap {
namespace {
std::atomic<bool> g_ready{false};  // atomic; set once at the end of init()
}  // namespace

void init() {
  static std::once_flag once;
  std::call_once(once, [] {
    detail::read_gc_environment();  // may die with exit code 2
    detail::read_gc_stress_environment();
    detail::install_out_of_memory_handling();
    GC_INIT();
    GC_set_disable_automatic_collection(1);
    GC_set_finalize_on_demand(1);
    install_finalizer_notifier();
    detail::install_collection_events();
    detail::install_root_scanning();  // exception objects (roots.cpp)
    // goro's scanned kind, now: created lazily, its free-list allocation
    // could meet the heap cap (the out-of-memory retry uses it), and Boehm
    // aborts when that fails ("Failed to allocate freelist for new kind").
    (void)detail::scanned_kind();
    detail::choose_gc_mode();  // may switch incremental mode on
    GC_allow_register_threads();
    // GC_INIT registered the calling thread for good. Only the main thread
    // may stay so (it ends with the process); any other must attach
    // explicitly, or it would exit registered and hang the next collection.
    if (gettid() != getpid()) GC_unregister_my_thread();
    detail::start_driver();
    g_ready.store(true, std::memory_order_release);
  });
}

namespace detail {
bool initialized() noexcept {
  return g_ready.load(std::memory_order_acquire);
}
}  // namespace detail

}  // namespace goro::heap
