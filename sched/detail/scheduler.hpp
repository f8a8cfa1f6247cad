#pragma once
// The scheduler's shared state: Ps, Ms, the global queue and the state its
// lock guards, and the functions the sched/*.cpp files call across files.
// Internal; the design essay is at the top of sched/scheduler.cpp, and the
// README's Layout section lists which file holds which mechanism. Exposed in
// a header so tests can reach internals on purpose (sched_run_queue_test,
// sched_registry_test, sched_fairness_test) and schedtrace can read them.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/fast_rand.hpp"
#include "core/futex.hpp"
#include "heap/internal_memory.hpp"
#include "sched/detail/blocking_job.hpp"
#include "sched/detail/cpu_limit.hpp"
#include "sched/detail/global_queue.hpp"
#include "sched/detail/run_queue.hpp"
#include "sched/detail/run_stack.hpp"
#include "sched/detail/sched_stats.hpp"
#include "sched/detail/short_lock.hpp"
#include "sched/detail/startup.hpp"
#include "sched/detail/task_header.hpp"
#include "sched/detail/timer.hpp"
#include "sched/runtime_options.hpp"

namespace goro::detail {

struct machine;
struct registry_shard;

/// A P: the right to run tasks, with its local queue. Go: type p.
/// Ps, Ms and the scheduler come from goro's internal memory (counted in
/// heap_stats::mimalloc_bytes).
struct processor : heap::internal_object {
  processor(int id, uint32_t ring, uint32_t stack, uint32_t global_interval)
      : id(id),
        global_interval(global_interval),
        runq(ring),
        spawned(stack),
        rng(0x51ed2701ull * static_cast<uint64_t>(id + 1)) {}

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
  uint32_t runnext_streak = 0;     // owner only
  uint32_t spawned_streak = 0;     // owner only: spawned tasks run in a row
  uint32_t spawned_age_check = 0;  // owner only: schedule count of the last check
  // Task ids come in blocks (spawn.cpp, next_task_id): the id of the
  // n-th task spawned on this P is id_offset + n while n < id_end. The
  // count n is the metrics' spawn count (/sched/tasks/spawned) for free.
  uint64_t id_end = 0;                     // owner only
  uint64_t id_offset = 0;                  // owner only
  std::atomic<uint64_t> tasks_spawned{0};  // owner writes (relaxed), anyone reads
  fast_rand rng;                           // owner only
  // Counters: owner writes (relaxed), anyone reads. For schedtrace, metrics
  // and the tests that check the overflow and steal paths are taken.
  std::atomic<uint64_t> schedticks_total{0};
  std::atomic<uint64_t> overflows{0};     // times the ring spilled half to global
  std::atomic<uint64_t> steals{0};        // successful steal operations
  std::atomic<uint64_t> stolen_tasks{0};  // tasks taken by those steals
  p_stats stats;                          // metrics: parks, idle time, tasks (sched_stats.hpp)
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

struct blocking_pool;

struct scheduler : heap::internal_object {
  explicit scheduler(const runtime_options& o);
  ~scheduler();

  runtime_options opts;

  // A short_lock (spin, yield, then futex: Go's runtime mutex), not a
  // std::mutex: the sections are a few pointer moves, and glibc's mutex
  // puts a contending worker to sleep at once; with two Ps moving batches
  // through the global queue (skynet) the sleeps and wake-ups were a few
  // percent of the profile. M creation (std::thread) also runs under it;
  // a waiter then ends up sleeping on the futex after its spins.
  // Go's sched.lock: it guards `synced`, the mutations of `global`, and the
  // fields of processor and machine marked "protected by sched lock".
  short_lock lock;

  /// Everything `lock` guards, in one place (Tokio's Synced): touch these
  /// fields only while holding it.
  struct synced_state {
    processor* pidle = nullptr;  // idle Ps (sched/idle.cpp)
    machine* midle = nullptr;    // idle Ms
    int nmidle = 0;
    // Earliest deadline an idle M is parked with a timeout for (INT64_MAX:
    // none); an M going idle with an earlier timer parks timed too.
    int64_t timer_sleep_when = INT64_MAX;
    std::vector<std::unique_ptr<machine>> all_m;
    int next_m_id = 0;
    std::vector<std::unique_ptr<processor>> owned_p;  // every P ever made; freed at shutdown
    std::vector<machine*> mdead;                      // exited pinned Ms not yet joined
    // Every registry shard ever made (an M's, or free for the next M),
    // walked at shutdown (sched/registry.cpp).
    std::vector<std::unique_ptr<registry_shard>> shards;
    std::vector<registry_shard*> free_shards;
  } synced;

  /// The global run queue: mutations under `lock`, size() lock-free.
  global_queue global;

  startup_config debug;         // GORO_DEBUG settings, read-only after start
  bool procs_explicit = false;  // GORO_MAXPROCS / set_max_procs / options
  int64_t start_ns = 0;
  machine sysmon;  // its park and thread; not a worker
  // --- published Ps: slot i is written once (under lock) before gomaxprocs
  // first exceeds i, and never changes until shutdown; read lock-free. ---
  std::atomic<processor*> all_p[kMaxProcs] = {};
  // --- atomics ---
  std::atomic<int> gomaxprocs{1};
  std::atomic<int> npidle{0};
  std::atomic<int> nmspinning{0};
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> next_id_block{1};
  std::atomic<int> nthreads{0};  // every thread incl. the one in goro::run (schedtrace)
  // Threads created by goro, by kind (see sched/limits.hpp). Atomic; changed
  // with add_thread / remove_thread / move_thread so the limit is checked.
  std::atomic<int> nworkers{0}, nblocking{0}, nlocked{0}, nsysmon{0};
  std::unique_ptr<blocking_pool> pool;         // sched/detail/blocking_pool.hpp
  std::atomic<int> store_load_barrier{0};      // TSan builds only, see wake_for_published()
  std::atomic<uint64_t> spawned_without_p{0};  // metrics: spawns from threads holding no P
  /// The newest registry shard, linked to the older ones through
  /// registry_shard::older; set under `lock`, read lock-free (task dumps).
  std::atomic<registry_shard*> newest_shard{nullptr};
};

// --- process-wide state (defined in sched/scheduler.cpp) ---
/// The running scheduler, or null; set for the duration of goro::run.
extern std::atomic<scheduler*> g_sched;
/// The calling thread's M, or null on a thread that is not a worker.
/// Constant-initialised, so other files read it without a TLS wrapper call.
extern constinit thread_local machine* tl_m;
/// Set while goro::run destroys the tasks left at shutdown (sched/run.cpp).
extern std::atomic<bool> g_destroying;

/// The running scheduler, or nullptr. Set for the duration of goro::run.
scheduler* sched() noexcept;

/// Held by the metrics reader while it reads the scheduler, and by goro::run
/// around unpublishing it, so a reader never sees a freed scheduler.
std::mutex& metrics_reader_lock() noexcept;

/// The worker loop (sched/scheduler.cpp): the body of every M's thread.
void worker_main(machine* m);

/// The calling worker's P, or null on a thread that is not a worker.
processor* current_p() noexcept;

/// Timers (sched/timer.cpp). Earliest timer deadline over all Ps
/// (nanotime), 0 when there is none.
int64_t earliest_timer(scheduler& s) noexcept;
/// Runs the due timers of `victim`, readying their tasks on `p` (the P the
/// caller holds). Returns how many fired.
uint32_t run_timers(scheduler& s, processor* p, processor* victim, int64_t now);
/// Runs every P's due timers. Returns how many fired.
uint32_t run_all_due_timers(scheduler& s, processor* p);
/// Moves the timers of a retiring P to `to` (P 0).
void move_timers(processor* from, processor* to);

/// Procs (sched/procs.cpp). Requires s.lock. Grows or shrinks the set of Ps
/// (Go's procresize).
void set_procs_locked(scheduler& s, int n);
/// The M's P is beyond gomaxprocs: hand its queues to the global queue and
/// let go of it.
void retire_p(scheduler& s, machine* m);

/// The sysmon thread: schedtrace and the once-a-second cgroup re-check.
void start_sysmon(scheduler& s);
/// Wakes an idle M if there is work it could take (after Ps were added).
void wake_idle_for_work();
/// set_max_procs with no runtime running: the value the next run starts
/// with; returns the previous pending (or default) value.
int set_pending_max_procs(int n);
/// The number of Ps goro::run starts with: runtime_options::max_procs (the
/// `option`, if >= 1), else set_max_procs called before run, else
/// GORO_MAXPROCS, else the default (affinity mask and cgroup quota);
/// `*explicit_procs` is false only for the default. At most kMaxProcs.
int initial_procs(int option, const startup_config& cfg, bool* explicit_procs);
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
/// lock_os_thread (sched/lock_os_thread.cpp). Runs a blocking job on the
/// calling M after it handed its P off, for a task pinned by lock_os_thread.
void run_blocking_locked(blocking_job* j);
/// Go's startlockedm: `t` is pinned to another M; hand it our P.
void startlockedm(machine* m, task_header* t);
/// Go's stoplockedm: the pinned task is not running; give the P away and
/// sleep until an M hands one over with the task. Null when the runtime stops.
task_header* stoplockedm(scheduler& s, machine* m);
/// The pinned task ended: the M gives up its P and its shard, and exits.
void exit_locked_m(scheduler& s, machine* m);

}  // namespace goro::detail
