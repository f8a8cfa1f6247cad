// goro::run: starting the scheduler (options checked, GORO_* read, Ps made,
// the blocking pool and sysmon started, the root task spawned), waiting for
// the root task, and shutting down (every M stopped and joined, then every
// task left destroyed: the never-run ones from the run queues, the rest from
// the registry).

#include "sched/run.hpp"

#include <cstdio>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "core/clock.hpp"
#include "core/fatal.hpp"
#include "core/settings.hpp"
#include "heap/blocking_region.hpp"
#include "heap/collector_init.hpp"
#include "heap/thread_attachment.hpp"
#include "sched/detail/netpoll.hpp"
#include "sched/detail/registry.hpp"
#include "sched/detail/run_lifetime.hpp"
#include "sched/detail/run_start_hook.hpp"
#include "sched/detail/runtime_hooks.hpp"
#include "sched/detail/scheduler.hpp"
#include "sched/detail/shutdown.hpp"
#include "sched/detail/startup.hpp"
#include "sched/join_handle.hpp"

namespace goro::detail {
namespace {

parker g_root_parker;

// A queue capacity option (runtime_options::run_queue_size, run_stack_size):
// a power of two in [2, max].
void check_capacity_option(const char* name, uint32_t value, uint32_t max) {
  if (value < 2 || value > max || (value & (value - 1)) != 0)
    throw std::invalid_argument(std::string("goro::runtime_options::") + name + " = " +
                                std::to_string(value) + ": want a power of two in [2, " +
                                std::to_string(max) + "]");
}

// Shutdown, every M stopped: the tasks that never ran are not in the
// registry but still in a run queue (a task waits nowhere else before its
// first run). Destroys those; registered ones are left to the registry.
void destroy_never_run(scheduler& s) {
  auto drop = [](task_header* t) {
    if (!t->reg_slot) t->self.destroy();
  };
  for (auto& p : s.synced.owned_p) {
    while (task_header* t = p->runq.pop()) drop(t);
    if (task_header* t = p->runnext.exchange(nullptr, std::memory_order_acq_rel)) drop(t);
    while (task_header* t = p->spawned.pop()) drop(t);
  }
  std::lock_guard lk(s.lock);
  while (task_header* t = s.global.pop()) drop(t);
}

}  // namespace

void run_root(task<void> root, const runtime_options& given, std::atomic<bool>& done) {
  run_claim claim;  // exactly one run at a time; bumps the run epoch at the end
  heap::init();
  heap::thread_attachment attach;
  runtime_options opts = given;
  startup_config cfg;
  if (opts.read_environment) {
    settings::validate_environment_or_exit();  // one line and exit 2 on a bad value
    cfg = read_startup_config();
  }
  check_capacity_option("run_queue_size", opts.run_queue_size, run_queue::kMaxCapacity);
  check_capacity_option("run_stack_size", opts.run_stack_size, run_stack::kMaxCapacity);
  if (opts.global_queue_interval == 0 || opts.steal_passes == 0)
    throw std::invalid_argument(
        "goro::runtime_options: global_queue_interval and steal_passes must be >= 1");
  bool explicit_procs = true;
  const int procs = initial_procs(opts.max_procs, cfg, &explicit_procs);

  auto s = std::make_unique<scheduler>(opts);
  s->procs_explicit = explicit_procs;
  s->debug = cfg;
  s->start_ns = nanotime();
  {
    std::lock_guard lk(s->lock);
    set_procs_locked(*s, procs);
  }
  s->nthreads.store(1, std::memory_order_relaxed);  // the thread in goro::run
  start_blocking_pool(*s);                          // validates blocking_keep_alive
  unpark_timers(*s);  // timers of contexts that outlived the previous run
  g_sched.store(s.get(), std::memory_order_release);
  start_sysmon(*s);
  // The debug server (GORO_DEBUG_ADDR), when the program links it.
  if (opts.read_environment) {
    if (run_start_fn hook = g_run_start_hook.load(std::memory_order_acquire))
      hook();
    else if (settings::text("GORO_DEBUG_ADDR"))
      std::fputs(
          "goro: GORO_DEBUG_ADDR is set, but this program has no debug server (link "
          "goro::goro or goro::debug_server)\n",
          stderr);
  }

  spawn(std::move(root)).detach();
  heap::blocking_region([&] {
    while (!done.load(std::memory_order_acquire)) g_root_parker.wait();
  });

  // Shut down: stop every M, then destroy whatever tasks are left.
  s->stopping.store(true, std::memory_order_seq_cst);
  netpoll_wake_for_shutdown();
  stop_sysmon(*s);
  {
    std::lock_guard lk(s->lock);
    for (machine* m = s->synced.midle; m; m = m->idle_link) {
      m->in_midle = false;
      m->park.post();
    }
    s->synced.midle = nullptr;
  }
  for (auto& m : s->synced.all_m) {
    m->park.post();
    if (m->thread.joinable()) m->thread.join();
  }
  // No task runs any more; blocking calls still running are waited for and
  // queued ones dropped (sched/blocking_pool.cpp), before frames go away.
  stop_blocking_pool(*s);
  g_destroying.store(true, std::memory_order_seq_cst);
  unlink_parked_waiters(*s);  // while every primitive still exists
  destroy_never_run(*s);
  registry_destroy_all(*s);
  park_timers(*s);  // what is left belongs to contexts that outlive the run
  g_destroying.store(false, std::memory_order_seq_cst);
  netpoll_shutdown();
  {
    std::lock_guard lk(metrics_reader_lock());  // no metrics read is using it
    g_sched.store(nullptr, std::memory_order_release);
  }
  // Reset the root parker in case a post raced with the wait loop's exit.
  g_root_parker.wait(0);
}

void root_finished() noexcept {
  // No task is resumed after the root completes (as nothing runs after Go's
  // main returns): workers stop at their next schedule, before goro::run's
  // thread has even woken up.
  if (scheduler* s = sched()) s->stopping.store(true, std::memory_order_seq_cst);
  g_root_parker.post();
}

}  // namespace goro::detail

namespace goro {

bool running() noexcept {
  return detail::sched() != nullptr;
}

}  // namespace goro
