#pragma once
// Idle Ps and Ms, spinning, and waking a worker (implementation in
// sched/idle.cpp; the protocol is in the top comment of sched/scheduler.cpp).
//
// The idle lists live in scheduler::synced (guarded by scheduler::lock);
// npidle and nmspinning are atomics beside them so a submitter can decide
// without the lock whether anyone needs waking. wakep's fast checks and the
// store-load barrier are inline: they run on every ready() that lands behind
// other work, i.e. on most spawns.

#include <atomic>

#include "core/fatal.hpp"
#include "sched/detail/scheduler.hpp"

namespace goro::detail {

// --- require s.lock ---
/// Go's pidleget: an idle P off the list (now running), or null.
processor* pidleget(scheduler& s);
/// Go's pidleput: `p` onto the idle list.
void pidleput(scheduler& s, processor* p);
/// Go's mget: an idle M off the list, or null.
machine* mget(scheduler& s);

// --- take s.lock themselves ---
/// Go's startm: gives `p` to an idle M, or to a new one.
void startm(scheduler& s, processor* p, bool spinning);
/// wakep past its fast checks: nmspinning is 1 on our behalf; take an idle
/// P and start a spinning M with it, or undo the count.
void wakep_start(scheduler& s);
/// Parks the M until startm hands it a P (or a timer is due): see idle.cpp.
void stopm(scheduler& s, machine* m);
/// Go's handoffp: gives away a P this M no longer uses.
void handoffp(scheduler& s, processor* p);

/// Go's wakep: start a spinning M if there is an idle P and nobody spins.
inline void wakep(scheduler& s) {
  if (s.nmspinning.load(std::memory_order_seq_cst) != 0) return;
  if (s.npidle.load(std::memory_order_seq_cst) == 0) return;
  int zero = 0;
  if (!s.nmspinning.compare_exchange_strong(zero, 1, std::memory_order_seq_cst)) return;
  wakep_start(s);
}

/// After a task was published to a queue: a #StoreLoad between that store
/// and reading nmspinning/npidle (see sched/scheduler.cpp's top comment),
/// then Go's wakep. TSan does not model fences, so there the same barrier is
/// a seq_cst read-modify-write. On x86-64 the barrier is a locked no-op on
/// the stack rather than the mfence that atomic_thread_fence compiles to:
/// any locked instruction orders earlier stores before later loads, and it
/// costs a fraction of an mfence (Linux's smp_mb() does the same). This runs
/// on every ready() that lands in a ring, i.e. on most spawns.
inline void wake_for_published(scheduler& s) {
#if defined(__SANITIZE_THREAD__)
  s.store_load_barrier.fetch_add(0, std::memory_order_seq_cst);
#elif defined(__x86_64__)
  asm volatile("lock orq $0, (%%rsp)" ::: "memory", "cc");
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
  wakep(s);
}

/// A spinning M found work: it stops spinning, and the last spinner wakes
/// another so parallelism ramps up.
inline void reset_spinning(scheduler& s, machine* m) {
  m->spinning = false;
  if (s.nmspinning.fetch_sub(1, std::memory_order_seq_cst) <= 0)
    fatal("reset_spinning: negative nmspinning");
  wakep(s);
}

}  // namespace goro::detail
