#pragma once
// The collection driver: goro, not Boehm's built-in trigger, decides when to
// collect. See collector.cpp for the design; collection_policy.hpp for the
// interface the pacer implements.

#include <cstddef>
#include <memory>

#include "heap/collection_policy.hpp"
#include "heap/detail/allocate.hpp"

namespace goro::heap {

/// Installs the policy that decides when to collect and returns the previous
/// one. Never null: passing null throws std::invalid_argument. The default is
/// pacer_policy (heap/pacer_policy.hpp), configured by heap/gc_settings.hpp. Thread-safe; takes
/// effect at the next check.
std::unique_ptr<collection_policy> set_collection_policy(std::unique_ptr<collection_policy> p);

/// A fresh observation, as a policy would be given it (sampling the GC heap
/// takes Boehm's allocation lock briefly).
heap_observation observe();

/// Runs one full stop-the-world collection now and waits for it (and for a
/// collection already in progress on another thread, first). `release`
/// also unmaps free blocks that have been free since the previous
/// collection.
void collect(collection_reason why);

/// The trigger now in force (collection_policy::never when collection is off).
uint64_t current_trigger() noexcept;

namespace detail {

/// Adds this thread's unflushed allocation count to the shared one (the
/// thread attachment calls it when a thread detaches).
void flush_allocation_count() noexcept;

/// Counts `bytes` allocated outside allocate() (the small-object free-list
/// refills) toward the trigger; may run a collection.
void charge_allocation(int64_t bytes);

/// Resident bytes of the attached threads' stacks (thread_attachment.cpp;
/// measured at most every 10 ms).
uint64_t attached_stack_bytes() noexcept;
inline uint64_t stack_bytes() noexcept {
  return attached_stack_bytes();
}

}  // namespace detail
}  // namespace goro::heap
