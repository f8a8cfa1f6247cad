#pragma once
// The seam between the collection driver (heap/collector.cpp) and the pacer.
//
// The driver owns the mechanism: it counts allocation, notices when the heap
// reaches the trigger, runs one stop-the-world collection at a time and
// measures it. The policy owns the decision: given what the driver observed,
// at what heap size should the next collection start, and how much free heap
// may stay mapped. The pacer (pacer/, a pure model) implements this interface
// in heap/pacer_policy.hpp, the default; gc_percent_policy reproduces a bare
// GOGC for tests and comparison.
//
// Calls into a policy are serialised by the driver (one at a time, never
// concurrently), so an implementation needs no locking of its own. They happen
// on whichever thread allocated past a check point or finished a collection,
// possibly a worker in the middle of a task: a policy must be quick, must not
// block, must not allocate from the collected heap and must not call gc().

#include <cstdint>
#include <limits>

namespace goro::heap {

/// What the driver knows at a decision point. All sizes in bytes.
struct heap_observation {
  int64_t now_ns = 0;  ///< nanotime() when observed
  /// Heap in use right after the last collection: every block that still
  /// holds a marked object, whole (Boehm frees empty blocks eagerly but sweeps
  /// partly-used ones lazily, so this is block-granular, an upper bound on
  /// the marked bytes). Coroutine frames are excluded (see frames_bytes).
  uint64_t live_bytes = 0;
  /// Bytes allocated through goro since the last collection started
  /// (per-thread counters, flushed every few tens of KiB, so slightly stale).
  uint64_t allocated_since_gc = 0;
  uint64_t heap_mapped_bytes = 0;  ///< GC heap address space backed by memory
  uint64_t heap_free_bytes = 0;    ///< mapped but in free blocks
  uint64_t released_bytes = 0;     ///< GC heap returned to the OS (unmapped)
  uint64_t frames_bytes = 0;       ///< coroutine frames held by the frame pool
  uint64_t internal_bytes = 0;     ///< runtime-internal (mimalloc/malloc) memory
  /// The collector's own bookkeeping outside the heap (block headers, mark
  /// bits, mark stacks, the block index): what Boehm obtained from the OS
  /// beyond its heap.
  uint64_t metadata_bytes = 0;
  uint64_t stack_bytes = 0;    ///< stacks of attached threads (resident pages)
  uint64_t collections = 0;    ///< completed collections so far
  int64_t last_pause_ns = 0;   ///< stop-the-world time of the last one
  int64_t total_pause_ns = 0;  ///< sum over all collections
  /// Process CPU time (all threads, CLOCK_PROCESS_CPUTIME_ID) when observed.
  int64_t process_cpu_ns = 0;
  /// Process CPU spent inside driver collections so far (summed deltas of
  /// process CPU across each collection, parallel markers included).
  int64_t gc_cpu_ns = 0;

  /// CPU the program used outside collections: the limiter's mutator CPU.
  int64_t mutator_cpu_ns() const noexcept {
    return process_cpu_ns > gc_cpu_ns ? process_cpu_ns - gc_cpu_ns : 0;
  }

  /// The heap size the trigger is compared against.
  uint64_t heap_live_estimate() const noexcept { return live_bytes + allocated_since_gc; }
  /// Memory goro has mapped that is neither heap objects nor heap free space
  /// (the memory-limit goal subtracts this).
  uint64_t non_heap_bytes() const noexcept {
    return frames_bytes + internal_bytes + stack_bytes + metadata_bytes;
  }
  /// Everything goro has mapped and not released: GC heap mapped (frames
  /// included) + collector metadata + runtime malloc + thread stacks. What
  /// the memory limit bounds (Go's /memory/classes/total minus released).
  uint64_t managed_bytes() const noexcept {
    return heap_mapped_bytes + metadata_bytes + internal_bytes + stack_bytes;
  }
};

/// Why a collection ran.
enum class collection_reason { trigger, explicit_call, out_of_memory, release };

/// Told to the policy after each collection the driver ran.
struct collection_record {
  collection_reason reason = collection_reason::trigger;
  int64_t start_ns = 0;               ///< when the driver started it
  int64_t end_ns = 0;                 ///< when GC_gcollect returned
  int64_t pause_ns = 0;               ///< stop-the-world to start-the-world
  int64_t mark_ns = 0;                ///< mark phase (inside the pause)
  uint64_t heap_live_before = 0;      ///< live + allocated when it started; for a
                                      ///< concurrent cycle, when its marking ended (what
                                      ///< the mutator allocated meanwhile is its runway)
  uint64_t live_after = 0;            ///< live_bytes after it
  bool returned_memory = false;       ///< it unmapped free blocks
  int64_t stop_ns = 0;                ///< stopping the world (PRE_STOP_WORLD -> MARK_START)
  int64_t cpu_ns = 0;                 ///< process CPU used from start_ns to end_ns
  int64_t process_cpu_before_ns = 0;  ///< process CPU at start_ns
  int64_t gc_cpu_before_ns = 0;       ///< heap_observation::gc_cpu_ns at start_ns
  uint64_t roots_bytes = 0;           ///< frames + thread stacks (scanned as roots)
  bool concurrent = false;            ///< an incremental cycle (GORO_GC_MODE=concurrent):
                                      ///< pause_ns and mark_ns sum its stops
  int64_t mark_cpu_ns = 0;            ///< concurrent: CPU of its marking with the world
                                      ///< running, every thread's (assists included);
                                      ///< part of cpu_ns
  heap_observation after;             ///< the heap sampled right after it
};

/// A collection policy. See the file comment for the calling rules.
class collection_policy {
 public:
  /// A trigger that never fires: automatic collection off (GOGC=off).
  static constexpr uint64_t never = std::numeric_limits<uint64_t>::max();

  virtual ~collection_policy() = default;

  /// The heap size (heap_observation::heap_live_estimate) at which the next
  /// collection starts. Asked after every collection and again every
  /// recheck interval of allocation, so a memory-limit policy sees non-heap
  /// overhead change. Return `never` to switch automatic collection off.
  virtual uint64_t trigger(const heap_observation& now) = 0;

  /// Told after every collection the driver ran, before trigger() is asked.
  virtual void collected(const collection_record&) {}

  /// How much GC heap may stay mapped after a collection; above it the driver
  /// returns free blocks to the OS over the next two collections. The
  /// default keeps 2.5x the trigger plus 8 MiB: Boehm's heap runs at 2.0 to
  /// 2.3x what is allocated between collections (reference/boehm-probe.md
  /// section 10), so less would unmap pages the next cycle maps again.
  virtual uint64_t retained_heap(const heap_observation&, uint64_t trigger) {
    if (trigger == never) return never;
    return trigger / 2 * 5 + (uint64_t{8} << 20);
  }

  /// How large the GC heap's address space may grow before the driver must
  /// be asked (heap cap, see memory_limit.cpp); `never`:
  /// no cap. Asked with the trigger.
  virtual uint64_t heap_room(const heap_observation&) { return never; }

  /// The heap has reached its room and an allocation needs more: true to
  /// collect now, false to let the heap grow past the room instead (the
  /// driver then raises the cap a step).
  virtual bool collect_when_full(const heap_observation&) { return true; }
};

/// GOGC: the next collection starts when the heap has grown by gc_percent% of
/// the live heap, with Go's floor of 4 MiB * gc_percent / 100 (heapminimum in
/// Go's mgcpacer.go). Negative gc_percent switches collection off. The
/// collection is stop-the-world, so the trigger is the goal itself (Go starts
/// its concurrent cycle early only to finish by the goal).
class gc_percent_policy final : public collection_policy {
 public:
  explicit gc_percent_policy(int gc_percent = 100) noexcept : gc_percent_(gc_percent) {}
  uint64_t trigger(const heap_observation& now) override;
  int gc_percent() const noexcept { return gc_percent_; }

 private:
  int gc_percent_;
};

}  // namespace goro::heap
