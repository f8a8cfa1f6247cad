#pragma once
// The collection driver's shared state and the steps heap/collector.cpp
// (accounting, paced collections) and heap/memory_limit.cpp (the heap cap,
// make_room, relief collections) both use. Internal to those two files.
//
// Lock order: collect_mu, then policy_mu (see heap/collector.cpp).

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "heap/collection_policy.hpp"

namespace goro::heap::detail {

// Ask the policy again every 1 MiB of allocation between collections: a
// quarter of the smallest cycle (the 4 MiB floor). Picked, not measured.
inline constexpr int64_t kRecheckBytes = 1 << 20;

// Boehm's block size (HBLKSIZE).
inline constexpr std::size_t kBlock = 4096;

struct driver_shared {
  // Sum of all flushed per-thread counts (explicit frees subtracted).
  // Atomic (relaxed): it is a statistic, not a synchronisation point.
  std::atomic<int64_t> allocated_total{0};
  // allocated_total when the last collection started. Written by the
  // collecting thread under collect_mu; read anywhere.
  std::atomic<int64_t> allocated_at_gc{0};
  // Heap in use after the last collection (see "Live heap" in
  // heap/collector.cpp). Written
  // under collect_mu.
  std::atomic<uint64_t> live{0};
  // The policy's answer. Written under policy_mu.
  std::atomic<uint64_t> trigger{collection_policy::never};
  // allocated_total at which to ask the policy again. Written under
  // policy_mu; a stale read only moves a recheck by one flush.
  std::atomic<int64_t> next_recheck{kRecheckBytes};
  // Samples of the GC heap, from the last collection or recheck. Written
  // under policy_mu or collect_mu (both sample points hold one of them).
  std::atomic<uint64_t> mapped{0};
  std::atomic<uint64_t> free{0};
  std::atomic<uint64_t> released{0};
  std::atomic<uint64_t> internal{0};
  std::atomic<uint64_t> metadata{0};
  std::atomic<uint64_t> heapsize{0};  // Boehm's heap address space, unmapped part included
  // The heap cap in force (GC_set_max_heap_size; 0: none) and how far the
  // out-of-memory path raised it above the policy's room since the last
  // collection. Written under policy_mu.
  std::atomic<uint64_t> cap{0};
  std::atomic<uint64_t> raised_cap{0};
  // Process CPU spent inside driver collections. Written under collect_mu.
  std::atomic<int64_t> gc_cpu{0};
};
extern driver_shared g_driver;

/// One collection at a time. Guards `release_cycles_left`.
extern std::mutex collect_mu;
/// Driver collections left that also unmap free blocks. Under collect_mu.
extern int release_cycles_left;
/// Whether the last driver collection was a concurrent cycle. Under collect_mu.
extern bool last_collection_concurrent;
/// Guards the policy pointer and every call into the policy.
extern std::mutex policy_mu;
/// The policy in force; caller holds policy_mu.
collection_policy& policy_locked();

/// What the policy decided at a check: the trigger it set, and whether the
/// heap it was shown is already at or above it (the policy's way of saying
/// "collect now", collection_policy::trigger).
struct trigger_decision {
  uint64_t trigger;
  bool collect_now;
};

/// Samples Boehm's heap and goro's internal memory into g_driver, and
/// returns the observation the policy is shown. Caller holds policy_mu
/// (or collect_mu).
heap_observation fresh_observation();
/// The observation from the last samples, without sampling again.
heap_observation observation_from_samples() noexcept;
/// Asks the policy for the trigger and the heap cap (apply_cap_locked);
/// caller holds policy_mu.
trigger_decision retrigger_locked(const heap_observation& o);
/// Sets Boehm's heap cap to the policy's room (heap/memory_limit.cpp);
/// caller holds policy_mu.
void apply_cap_locked(const heap_observation& o);
/// Bytes of the objects the last collection marked, uncollectable ones
/// (frames) included (heap/marked_bytes.cpp). Takes Boehm's allocation
/// lock; O(objects). Call right after the collection.
uint64_t marked_bytes();
/// Runs one collection; caller holds collect_mu. `at_cap`: an allocation
/// waits on it at the heap cap (make_room), so it stops the world even in
/// the concurrent mode.
void collect_locked(collection_reason why, bool at_cap = false);
/// More heap is mapped than the cap allows: relief collections
/// (heap/memory_limit.cpp). Takes the locks itself.
void relieve_over_room();

}  // namespace goro::heap::detail
