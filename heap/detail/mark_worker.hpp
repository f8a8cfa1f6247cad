#pragma once
// The background marker of the concurrent mode (heap/mark_worker.cpp). Not
// public API.

#include <cstdint>

namespace goro::heap::detail {

/// Asks the background marker to run the triggered collection (starting
/// the marker thread on first use). Returns at once; the marker re-checks
/// the trigger and the policy itself. Called by allocating threads whose
/// heap estimate reached the trigger in the concurrent mode.
void wake_mark_worker();

/// One concurrent cycle, from its first stop to its end: the caller holds
/// collect_mu (collector.cpp's collect_locked). On the marker thread this
/// is Go's dedicated mark worker; on another thread (an explicit
/// collection asked for in the concurrent mode) the caller marks itself.
void mark_concurrent_cycle();

/// For tests: cycles marked by mark_concurrent_cycle so far, whether one
/// is between its first stop and its last mark step now (never for a
/// cycle that finished in its first stop: it had no marking with the world
/// running), and Boehm's collection number (GC_get_gc_no) when it began:
/// the number goes up when its marking has finished, whichever thread's
/// step finished it.
struct mark_worker_state {
  uint64_t cycles = 0;
  bool marking = false;
  uint64_t gc_no_at_start = 0;
};
mark_worker_state read_mark_worker_state() noexcept;

/// Waits until the marker has handled every wake-up asked for before the
/// call (run the collection, or found that none was due), at most
/// `timeout_ns`; true if it has. At once when none was asked for (the stw
/// mode). For tests that check a triggered collection right after the
/// allocation that triggered it, which in the concurrent mode returns
/// before the collection ends.
bool wait_for_mark_worker(int64_t timeout_ns);

/// The marker thread's body: collect_if_due for the marker, which waits
/// for collect_mu instead of giving up when it is held (collector.cpp).
void collect_in_background();

}  // namespace goro::heap::detail
