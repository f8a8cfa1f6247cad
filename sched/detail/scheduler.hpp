#pragma once
// The scheduler's shared state: Ps, Ms and the global queue. Internal; the
// design essay is at the top of sched/scheduler.cpp. Exposed in a header so
// tests can reach internals on purpose (tests/sched_internal_test.cpp) and
// schedtrace can read them.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include "core/fast_rand.hpp"
#include "core/futex.hpp"
#include "heap/internal_memory.hpp"
#include "sched/detail/blocking_job.hpp"
#include "sched/detail/short_lock.hpp"
#include "sched/detail/startup.hpp"
#include "sched/detail/task_fifo.hpp"
#include "sched/detail/task_header.hpp"
#include "sched/detail/timer.hpp"
#include "sched/run_queue.hpp"
#include "sched/run_stack.hpp"
#include "sched/runtime_options.hpp"

namespace goro::detail {

struct machine;
struct registry_shard;

// How long, in its P's schedules, a spawned task may wait at the bottom of
// the run stack before it moves to the ring's tail, and how often that is
// checked (one entry per period). Newest-first must not starve the oldest
// entry: a task that keeps spawning a successor would otherwise keep an
// older spawn waiting for ever. Go bounds the same wait by preempting after
// a 10 ms time slice; this is a schedule count, which needs no clock read:
// 65536 schedules take some 5-25 ms at 0.1-0.4 us each. The oldest spawn
// moves within two periods, the k-th oldest within k + 1.
//
// One entry per period, not every entry past the age: in a spawn tree the
// bottom entries are the biggest subtrees, waiting for the subtrees above
// them, and every subtree started early buries the current one's entries
// under its own until those age out too. Moving every aged entry at once
// cascaded back to breadth-first order: skynet (1M leaves, fan-out 10)
// kept 45-65k tasks alive at a period of 4096, 16384 or 65536 schedules.
// One per period: 25k / 500 / ~300 alive at those three periods (one P),
// and with fan-out 100 only 65536 stayed small (~460; 175-245k at the
// others). With 10M leaves on two Ps, 65536 still lets 20-55k of the 11M
// tasks be alive at once; a longer period would keep that smaller at the
// price of a longer wait for a starved spawn.
inline constexpr uint32_t kSpawnedPatience = 65536;

/// A P: the right to run tasks, with its local queue. Go: type p.
/// Ps, Ms and the scheduler come from goro's internal memory (counted in
/// heap_stats::mimalloc_bytes).
struct processor : heap::internal_object {
  processor(int id, uint32_t ring, uint32_t stack, uint32_t global_interval)
      : id(id),
        global_interval(global_interval),
        runq(ring),
        spawned(stack),
        rng(0x51ed2701u * (id + 1)) {}

  const int id;
  const uint32_t global_interval;              // runtime_options::global_queue_interval
  run_queue runq;                              // lock-free, see run_queue.hpp
  std::atomic<task_header*> runnext{nullptr};  // owner sets; thieves may only CAS to null
  /// Tasks spawned on this P that have not run yet, newest on top (see
  /// run_stack.hpp): owner pushes and pops, thieves take the bottom.
  run_stack spawned;
  /// Schedules (not counting runnext inheritance) modulo global_interval:
  /// 0 means "look at the global queue first". Kept wrapped rather than
  /// taken modulo on every schedule (a division on the hot path). Owner only.
  uint32_t schedtick = 0;
  uint32_t runnext_streak = 0;                   // owner only
  uint32_t spawned_streak = 0;                   // owner only: spawned tasks run in a row
  uint32_t spawned_age_check = 0;                // owner only: schedule count of the last check
  uint32_t id_cache_next = 0, id_cache_end = 0;  // owner only: batch of task ids
  uint64_t id_base = 0;                          // owner only
  fast_rand rng;                                 // owner only
  // Counters: owner writes (relaxed), anyone reads. For schedtrace, metrics
  // and the tests that check the overflow and steal paths are taken.
  std::atomic<uint64_t> schedticks_total{0};
  std::atomic<uint64_t> overflows{0};     // times the ring spilled half to global
  std::atomic<uint64_t> steals{0};        // successful steal operations
  std::atomic<uint64_t> stolen_tasks{0};  // tasks taken by those steals
  timer_set timers;                       // timers started by tasks on this P
  processor* idle_link = nullptr;         // protected by sched lock
  /// idle: in the idle list; running: held by an M; dead: beyond gomaxprocs
  /// and held by nobody. Protected by sched lock.
  enum class status { idle, running, dead } state = status::dead;
};

/// An M: a worker thread. Go: type m.
struct machine : heap::internal_object {
  int id = 0;
  processor* p = nullptr;          // the P held, owner only
  processor* nextp = nullptr;      // P handed over by startm; set under sched lock before post
  bool spinning = false;           // owner only (mirrored in sched.nmspinning)
  bool next_spinning = false;      // set with nextp
  task_header* current = nullptr;  // the running task; owner only
  parker park;
  machine* idle_link = nullptr;  // protected by sched lock
  bool in_midle = false;         // protected by sched lock
  std::thread thread;
  // lock_os_thread (Go's m.lockedg / lockedExt). Owner only, except that
  // `nextp` is also how startlockedm hands this M a P.
  task_header* lockedg = nullptr;       // the task pinned to this M, or null
  uint32_t lock_count = 0;              // nesting of lock_os_thread
  blocking_job* pending_job = nullptr;  // blocking(fn) of lockedg, run after handoff
  bool exit_locked = false;             // lockedg ended while pinned: the thread exits
  registry_shard* registry = nullptr;   // owned while the M lives; set under sched lock
};

/// Registry of live root tasks that have run at least once. Used for
/// shutdown clean-up (which finds the tasks that never ran in the run
/// queues) and task dumps.
///
/// A task is registered by the M that first runs it, in that M's shard,
/// not by its spawner: a task usually ends on the M that runs it, so adding
/// and removing stay on one M's lines. Registering at spawn put every task
/// that another P stole into the spawner's shard, and its removal then
/// bounced that shard's lock and arrays between the cores (8% of a
/// two-thread skynet profile, against 2.5% with one thread).
///
/// A shard is slot arrays, not a list through the tasks: adding and
/// removing touch only the shard's own memory, never a neighbouring task's
/// frame (an intrusive list made every task exit write into two other,
/// usually cold, frames: ~12% of skynet's time).
///
/// Each shard belongs to one M at a time (mimalloc's thread-owned pages,
/// applied to slots), so the common case takes no lock and no atomic
/// read-modify-write; a lock per shard made add + remove four atomic RMWs
/// per task, ~10% of a one-thread skynet profile.
///   - The owner adds: it pops a slot from its private free list and stores
///     the task there. It removes its own tasks the same way, marking the
///     slot kFreeSlot and pushing it back on the list.
///   - Anyone else (a task that ended on another M, a join handle released
///     outside the runtime) removes by storing null into the slot and
///     counting it in `remote_freed`. Slots never move (chunks are never
///     reallocated), so the store needs no lock.
///   - An owner out of free slots scans its chunks for nulls once the
///     remote frees since its last scan are at least a quarter of its slots
///     (each scan then pays for itself), otherwise adds a chunk.
/// An M that exits (a pinned task ended) gives its shard back to the
/// scheduler under its lock; the next M created takes it over.
struct registry_shard : heap::internal_object {
  /// A slot on the owner's free list (null is a slot freed by another M
  /// that no scan has reclaimed yet).
  static inline task_header* const kFreeSlot = reinterpret_cast<task_header*>(uintptr_t{1});
  /// Chunk size and alignment: a slot's chunk (and so its shard) is found
  /// by masking the slot's address.
  static constexpr std::size_t kChunkBytes = 16384;
  struct chunk {
    registry_shard* shard;
    chunk* older;  // the shard's previous chunk, for readers (task dumps)
    std::atomic<task_header*> slots[kChunkBytes / sizeof(void*) - 2];
  };
  static_assert(sizeof(chunk) == kChunkBytes);
  static constexpr std::size_t kSlotsPerChunk = kChunkBytes / sizeof(void*) - 2;

  registry_shard() = default;
  registry_shard(const registry_shard&) = delete;
  registry_shard& operator=(const registry_shard&) = delete;
  ~registry_shard() {
    for (chunk* c : chunks) ::operator delete (c, std::align_val_t{kChunkBytes});
  }

  static registry_shard* of(std::atomic<task_header*>* slot) noexcept {
    return reinterpret_cast<chunk*>(reinterpret_cast<uintptr_t>(slot) & ~(kChunkBytes - 1))->shard;
  }

  // --- owner only ---
  std::vector<chunk*> chunks;
  std::vector<std::atomic<task_header*>*> free;
  uint64_t reclaimed = 0;  // remote frees found by scans so far
  // --- any thread ---
  /// The newest chunk, linked to the older ones (release on publish): how
  /// task dumps walk a shard without the owner's vector.
  std::atomic<chunk*> newest{nullptr};
  registry_shard* older = nullptr;  // the shard made before this one; set once under sched lock
  alignas(64) std::atomic<uint64_t> remote_freed{0};
  char pad[64 - sizeof(std::atomic<uint64_t>)];
};

struct blocking_pool;

struct scheduler : heap::internal_object {
  explicit scheduler(const runtime_options& o);
  ~scheduler();

  runtime_options opts;
  static constexpr int kMaxProcs = 1024;  // Go: _MaxGomaxprocs was 256, now 1024

  // --- protected by `lock` (Go's sched.lock) ---
  // A short_lock (spin, yield, then futex: Go's runtime mutex), not a
  // std::mutex: the sections are a few pointer moves, and glibc's mutex
  // puts a contending worker to sleep at once; with two Ps moving batches
  // through the global queue (skynet) the sleeps and wake-ups were a few
  // percent of the profile. M creation (std::thread) also runs under it;
  // a waiter then ends up sleeping on the futex after its spins.
  short_lock lock;
  task_fifo global;
  processor* pidle = nullptr;  // idle Ps
  machine* midle = nullptr;    // idle Ms
  int nmidle = 0;
  // Earliest deadline an idle M is parked with a timeout for (INT64_MAX:
  // none); an M going idle with an earlier timer parks timed too.
  int64_t timer_sleep_when = INT64_MAX;
  std::vector<std::unique_ptr<machine>> all_m;
  int next_m_id = 0;
  std::vector<std::unique_ptr<processor>> owned_p;  // every P ever made; freed at shutdown
  startup_config debug;                             // GORO_DEBUG settings, read-only after start
  bool procs_explicit = false;                      // GORO_MAXPROCS / set_max_procs / options
  int64_t start_ns = 0;
  machine sysmon;  // its park and thread; not a worker
  // --- published Ps: slot i is written once (under lock) before gomaxprocs
  // first exceeds i, and never changes until shutdown; read lock-free. ---
  std::atomic<processor*> all_p[1024] = {};
  // --- atomics ---
  std::atomic<int> gomaxprocs{1};
  std::atomic<int> npidle{0};
  std::atomic<int> nmspinning{0};
  std::atomic<uint64_t> global_size{0};  // mirror of global.size for lock-free peeks
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> next_id_block{1};
  std::atomic<int> nthreads{0};  // every thread incl. the one in goro::run (schedtrace)
  // Threads created by goro, by kind (see sched/limits.hpp). Atomic; changed
  // with add_thread / remove_thread / move_thread so the limit is checked.
  std::atomic<int> nworkers{0}, nblocking{0}, nlocked{0}, nsysmon{0};
  std::vector<machine*> mdead;             // exited pinned Ms not yet joined; protected by lock
  std::unique_ptr<blocking_pool> pool;     // sched/detail/blocking_pool.hpp
  std::atomic<int> store_load_barrier{0};  // TSan builds only, see ready()

  // Every registry shard ever made (an M's, or free for the next M);
  // protected by `lock`, walked at shutdown.
  std::vector<std::unique_ptr<registry_shard>> shards;
  std::vector<registry_shard*> free_shards;            // protected by lock
  std::atomic<registry_shard*> newest_shard{nullptr};  // set under lock; read lock-free (dumps)
};

/// The running scheduler, or nullptr. Set for the duration of goro::run.
scheduler* sched() noexcept;

/// The calling worker's P, or null on a thread that is not a worker.
processor* current_p() noexcept;

/// Earliest timer deadline over all Ps (nanotime), 0 when there is none.
int64_t earliest_timer(scheduler& s) noexcept;

/// Requires s.lock. Grows or shrinks the set of Ps (Go's procresize).
void set_procs_locked(scheduler& s, int n);

/// The sysmon thread: schedtrace and the once-a-second cgroup re-check.
void start_sysmon(scheduler& s);
/// Wakes an idle M if there is work it could take (after Ps were added).
void wake_idle_for_work();
/// set_max_procs with no runtime running: the value the next run starts
/// with; returns the previous pending (or default) value.
int set_pending_max_procs(int n);
void stop_sysmon(scheduler& s);

/// Thread accounting (sched/limits.cpp). add_thread ends the process with
/// Go's "program exceeds N-thread limit" message when the new thread would
/// pass set_max_threads.
enum class thread_kind { worker, blocking, locked, sysmon };
void add_thread(scheduler& s, thread_kind k);
void remove_thread(scheduler& s, thread_kind k) noexcept;
void move_thread(scheduler& s, thread_kind from, thread_kind to) noexcept;

/// The blocking pool (sched/blocking_pool.cpp): created with the scheduler,
/// stopped at shutdown after the Ms (waits for running calls, drops queued
/// ones), reaped (retired threads joined) by sysmon.
void start_blocking_pool(scheduler& s);
void stop_blocking_pool(scheduler& s);
void reap_blocking_pool(scheduler& s);
/// Runs a blocking job on the calling M after it handed its P off, for a
/// task pinned by lock_os_thread (scheduler.cpp).
void run_blocking_locked(blocking_job* j);

}  // namespace goro::detail
