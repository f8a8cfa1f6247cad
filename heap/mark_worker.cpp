// The background marker: Go's dedicated mark worker for the concurrent mode.
//
// Before it, the allocating thread whose allocation crossed the trigger ran
// the whole concurrent cycle: it took the first stop, then looped over
// GC_collect_a_little until the final stop, and the task on it (and every
// task queued on its P) waited for the whole cycle, tens to hundreds of
// milliseconds: a pause for that P in all but name. Now that thread only
// wakes this one and goes on allocating (heap/collector.cpp's
// collect_if_due), as a Go goroutine that starts a cycle does.
//
// The marker thread is attached to the collector and sleeps in a blocking
// region (a stop neither signals nor waits for it) until woken. It then
// re-checks the trigger and the policy (the limiter may defer) under
// collect_mu, and runs the collection through collect_locked, so the
// accounting, the gctrace line and the pressure callbacks are the same as
// for any collection. A concurrent cycle's marking is done here in short
// steps (kStepUnits); each holds Boehm's allocation lock, and the yield
// between two steps lets the allocating threads waiting on that lock (free
// list refills) in. The allocating threads still do GC_rate units of
// marking at each refill while a cycle runs (Boehm's assists,
// heap/gc_mode.cpp), so a marker that gets little CPU on a loaded machine
// does not let the heap run past its goal. The stops (the first one, the
// timed final attempts and the last one, with Boehm's parallel markers) are
// taken by whichever thread's step reaches them, usually this one.
//
// GC CPU: the marker's steps are those asked for through
// GC_collect_a_little_units, clocked per step by the patched libgc (patch
// 0003) as "dedicated" marking: /cpu/classes/gc/mark/dedicated and the
// pacer's limiter (collection_record::mark_cpu_ns) count them.
//
// Not done: marking on idle Ps (Go's idle mark workers). On the 2-core
// machines goro is measured on there is rarely an idle P while a cycle
// runs, and one thread that yields between short steps already takes what
// the scheduler leaves.
//
// The thread starts on the first wake-up (in a forked child, on the child's
// first) and lives until the process exits (detached, like the finalizer
// thread: it holds nothing to tear down).

#include "heap/detail/mark_worker.hpp"

#include <gc.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "core/fatal.hpp"
#include "core/futex.hpp"
#include "heap/blocking_region.hpp"
#include "heap/thread_attachment.hpp"

namespace goro::heap::detail {
namespace {

// Units of marking per step of the marker (Boehm's unit: GC_mark_some,
// roughly the marking from one page; patch 0005). The allocation lock is
// held for one step, so this bounds what an allocating thread waits for at
// a refill while the marker runs. GC_collect_a_little's own step is GC_rate
// units (1600 here, heap/gc_mode.cpp: several milliseconds). 64 units is
// ~256 KiB scanned, a few hundred microseconds on this machine, against
// ~1 us for the lock, two thread-clock reads and a yield per step.
// Picked from those numbers, not tuned.
constexpr int kStepUnits = 64;

parker g_wake;
// Set on the marker thread: its steps are short (kStepUnits).
constinit thread_local bool tl_is_marker = false;
std::atomic<uint64_t> g_cycles{0};
std::atomic<bool> g_marking{false};
std::atomic<uint64_t> g_gc_no_at_start{0};

// Wake-ups asked for, and the count of them the marker had seen when it
// last finished handling one (wait_for_mark_worker).
std::atomic<uint64_t> g_wakes{0};
std::atomic<uint64_t> g_wakes_handled{0};

[[noreturn]] void worker_loop() {
  thread_attachment attach;
  tl_is_marker = true;
  for (;;) {
    blocking_region([] { g_wake.wait(); });
    const uint64_t wakes = g_wakes.load(std::memory_order_acquire);
    collect_in_background();
    g_wakes_handled.store(wakes, std::memory_order_release);
  }
}

// Is the marker thread running in this process? A child forked after it
// started has no marker thread (fork copies only the calling thread): the
// fork handler clears this in the child, which then starts its own on its
// first wake-up, or its heap would grow without a collection. (It was the
// process id the thread started in, compared with getpid() at every
// wake-up: a system call per 32 KiB allocated while a cycle runs, as
// every allocation counter flush past the trigger wakes the marker; ~2% of
// the 2-thread allocation benchmark's samples.)
std::atomic<bool> g_started{false};

void forget_marker_in_child() noexcept {
  g_started.store(false, std::memory_order_relaxed);
}

}  // namespace

void wake_mark_worker() {
  if (!g_started.load(std::memory_order_acquire)) {
    static std::mutex start_mu;
    std::lock_guard lk(start_mu);
    if (!g_started.load(std::memory_order_relaxed)) {
      static const bool handler_installed = [] {
        if (pthread_atfork(nullptr, nullptr, forget_marker_in_child) != 0)
          fatal("mark worker: pthread_atfork failed");
        return true;
      }();
      (void)handler_installed;
      std::thread(worker_loop).detach();
      g_started.store(true, std::memory_order_release);
    }
  }
  g_wakes.fetch_add(1, std::memory_order_acq_rel);
  g_wake.post();
}

bool wait_for_mark_worker(int64_t timeout_ns) {
  const uint64_t want = g_wakes.load(std::memory_order_acquire);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(timeout_ns);
  while (g_wakes_handled.load(std::memory_order_acquire) < want) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

void mark_concurrent_cycle() {
  const GC_word gc_no = GC_get_gc_no();
  g_gc_no_at_start.store(gc_no, std::memory_order_relaxed);
  // The first stop. A partial cycle with little to mark (the roots and the
  // pages written since the last cycle) often finishes in it, within its
  // time limit (heap/gc_mode.cpp), and then never marks with the world
  // running: 21 of 24 cycles at 32 MiB live in tests/heap_gc_mode_test's
  // background-marker case. So the state says "marking" only once that
  // stop has left marking to do, as read_mark_worker_state promises; set
  // before the stop, it said so for cycles that were about to end in it.
  GC_start_incremental_collection();
  if (GC_get_gc_no() == gc_no) g_marking.store(true, std::memory_order_relaxed);
#ifdef GORO_PATCHED_GC
  // A thread that asked for the collection and waits for it (goro::heap::
  // collect, GORO_DEBUG=gcstress) takes GC_rate's steps, as before the
  // marker: short steps only stretch its wait.
  const int units = tl_is_marker ? kStepUnits : 0;
  while (GC_collect_a_little_units(units) != 0) {
    // The marker yields in a blocking region: a stop taken meanwhile by an
    // allocating thread's assist neither signals it nor waits for the
    // scheduler to run it (it holds nothing but what its stack, scanned
    // from where it entered the region, holds). Between steps it is
    // runnable, not running, so on a loaded machine the stop waited
    // milliseconds for it: it was signalled at 28 of 58 stops of
    // goro-peers garbage at load 7, at 6 of 56 when yielding blocked. A
    // thread asking for the collection and waiting for it yields plainly
    // (its steps are long, and it may be an unattached caller's).
    if (tl_is_marker)
      blocking_region([] { std::this_thread::yield(); });
    else
      std::this_thread::yield();
  }
#else
  // The packaged libgc never runs the concurrent mode (heap/gc_mode.cpp);
  // this keeps the file building against it.
  while (GC_collect_a_little() != 0) std::this_thread::yield();
#endif
  g_marking.store(false, std::memory_order_relaxed);
  g_cycles.fetch_add(1, std::memory_order_relaxed);
  if (GC_get_gc_no() == gc_no) fatal("collector: an incremental cycle ended without a collection");
}

mark_worker_state read_mark_worker_state() noexcept {
  return {g_cycles.load(std::memory_order_relaxed), g_marking.load(std::memory_order_relaxed),
          g_gc_no_at_start.load(std::memory_order_relaxed)};
}

}  // namespace goro::heap::detail
