#pragma once
// A snapshot of the collected heap and of the other memory goro maps, in the
// spirit of Go's runtime.MemStats. The metrics issue publishes these under
// Go-style names (/gc/heap/live:bytes, /memory/classes/heap/released:bytes).

#include <cstdint>

#include "pacer/pressure.hpp"

namespace goro {

struct heap_stats {
  /// Heap in use right after the last collection, block-granular (a block
  /// that still holds one survivor counts whole); coroutine frames excluded.
  uint64_t live_bytes = 0;
  /// GC heap backed by memory now: objects, frames and free blocks
  /// (Boehm's heap size, less what was returned to the OS).
  uint64_t heap_mapped_bytes = 0;
  /// Part of heap_mapped_bytes in free blocks. A lower bound: Boehm sweeps
  /// partly-used blocks lazily, so their free slots are not counted.
  uint64_t heap_free_bytes = 0;
  /// GC heap address space returned to the OS (unmapped), still reserved.
  /// Includes what the background release returned.
  uint64_t released_bytes = 0;
  /// Collections run by the background release (heap/background_release.hpp)
  /// after the program went quiet, and the bytes they unmapped.
  uint64_t background_release_cycles = 0;
  uint64_t background_released_bytes = 0;
  /// Bytes allocated since the last collection, as Boehm counts them (object
  /// sizes after rounding; thread-local free-list refills count in bulk).
  uint64_t allocated_since_gc_bytes = 0;
  /// Bytes allocated since the process started (never decreases).
  uint64_t total_allocated_bytes = 0;
  /// Completed collections, whoever started them.
  uint64_t collections = 0;
  /// Stop-the-world time, summed and of the last collection, nanoseconds.
  int64_t total_pause_ns = 0;
  int64_t last_pause_ns = 0;
  int64_t max_pause_ns = 0;
  /// Mark phase time (inside the pauses), nanoseconds.
  int64_t total_mark_ns = 0;
  int64_t last_mark_ns = 0;
  /// Coroutine frames: bytes the frame pool holds from the GC heap (frames in
  /// use and frames cached for reuse). Included in heap_mapped_bytes.
  uint64_t frames_bytes = 0;
  /// goro's own runtime metadata from internal memory (mimalloc, or malloc
  /// in sanitizer builds): the scheduler, its Ps and Ms with their run-queue
  /// rings, and whatever else goes through heap::internal_alloc. Usable
  /// bytes in use, counted by goro itself (heap/internal_memory.hpp).
  uint64_t mimalloc_bytes = 0;
  /// Everything the process's malloc has committed, goro's metadata and the
  /// program's own malloc/new alike (mimalloc replaces malloc process-wide,
  /// so it cannot tell them apart), less the untouched part of mimalloc's
  /// eagerly committed first segment. The memory limit counts this. Reads 0
  /// under ASan, whose malloc does not report through mallinfo2.
  uint64_t process_malloc_bytes = 0;
  /// Stacks of threads attached to the runtime: their resident pages (the
  /// reservation, 8 MiB each by default, is mostly never touched). Not
  /// counted: the monitor thread and Boehm's parallel-mark helper threads,
  /// which goro does not start itself.
  uint64_t thread_stack_bytes = 0;
  /// The collector's own bookkeeping outside the heap: block headers, mark
  /// bits and stacks, the block index (what Boehm obtained from the OS
  /// beyond its heap; it never returns it).
  uint64_t collector_metadata_bytes = 0;
  /// The heap goal the pacer computed at its last check (UINT64_MAX: none).
  uint64_t heap_goal_bytes = UINT64_MAX;
  /// Whether the GC CPU limiter refused the last collection the pacer wanted
  /// (it is holding collections back), how many times it started doing so,
  /// and the collection count when it last did (Go's
  /// /gc/limiter/last-enabled:gc-cycle; 0: never).
  bool gc_limiter_engaged = false;
  uint64_t gc_limiter_engagements = 0;
  uint64_t gc_limiter_last_engaged_cycle = 0;
  /// The heap size at which the driver will start the next collection
  /// (UINT64_MAX: none, e.g. gc_percent off and no limit, or the GC CPU
  /// limiter deferring collections until the next check).
  uint64_t next_trigger_bytes = 0;
  /// Process CPU spent inside collections, all threads, nanoseconds.
  int64_t gc_cpu_ns = 0;
  /// The settings in force (heap/gc_settings.hpp).
  int gc_percent = 100;
  int64_t memory_limit = INT64_MAX;
  /// The pacer's pressure state after the last collection, and how many
  /// state transitions there have been (heap/gc_pressure.hpp).
  pacer::pressure_state gc_pressure = pacer::pressure_state::normal;
  uint64_t gc_pressure_transitions = 0;

  /// Everything goro has mapped and not returned to the OS: the GC heap
  /// mapped (frames included), collector metadata, the process's malloc
  /// (goro's metadata is part of it) and thread stacks. The quantity the
  /// memory limit bounds, goro's counterpart of Go's /memory/classes/total
  /// minus heap/released.
  uint64_t managed_bytes() const noexcept {
    return heap_mapped_bytes + collector_metadata_bytes + process_malloc_bytes + thread_stack_bytes;
  }
};

/// Reads the statistics without stopping the world (takes Boehm's
/// allocation lock for a moment).
heap_stats read_heap_stats();

}  // namespace goro
