// GORO_DEBUG=gcstress=N: collect far more often than the pacer would, so a
// reachable object the collector cannot see (a GC pointer kept only in
// malloc memory, in an unattached thread's stack, in a callback or an
// exception) is collected, and its reuse caught, by whatever test touches
// it, instead of by a user under load. Go's GODEBUG=gcstoptheworld and
// gccheckmark serve the same purpose; this is closer to HotSpot's
// -XX:+ScavengeALot.
//
// Events. Every allocation from the collected heap counts: while gcstress
// is on the small-object free lists stay empty (small_alloc.cpp), so every
// gc_new reaches allocate(), which ticks before it allocates. Every task a
// worker takes to run counts too (a tick in the worker loop). Every N-th
// event, on any thread, runs a full collection on the thread that counted
// it. The counter is shared (one atomic add per event): with gcstress on,
// being exact matters more than being fast.
//
// Not counted: a tick on the thread that is running a collection (the
// pressure callbacks it calls may allocate) is dropped.
//
// Under GORO_GC_MODE=concurrent the stress collections are the cycles the
// pacer would start (reason trigger: incremental, mostly partial), so the
// concurrent marking and its dirty-page tracking are what is stressed.

#include "heap/detail/gc_stress.hpp"

#include <string>

#include "core/env.hpp"
#include "core/fatal.hpp"
#include "core/settings.hpp"
#include "heap/collector.hpp"
#include "heap/detail/driver.hpp"
#include "heap/gc_mode.hpp"

namespace goro::heap::detail {
namespace {
std::atomic<uint64_t> g_events{0};
constinit thread_local bool tl_in_stress_collection = false;
}  // namespace

void read_gc_stress_environment() {
  // Validated with every other GORO_* variable at start-up (core/settings.cpp).
  if (auto v = settings::integer("GORO_DEBUG=gcstress"))
    g_gc_stress_every.store(static_cast<uint32_t>(*v), std::memory_order_relaxed);
}

void gc_stress_tick() {
  const uint32_t every = g_gc_stress_every.load(std::memory_order_relaxed);
  if (every == 0 || tl_in_stress_collection || collecting_on_this_thread()) return;
  if (g_events.fetch_add(1, std::memory_order_relaxed) % every != every - 1) return;
  tl_in_stress_collection = true;
  collect(current_gc_mode() == gc_mode::concurrent ? collection_reason::trigger
                                                   : collection_reason::explicit_call);
  tl_in_stress_collection = false;
}

}  // namespace goro::heap::detail
