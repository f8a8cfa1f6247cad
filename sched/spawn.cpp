// Spawn and join: a new root task gets its id and goes on its P's run stack
// (runq_put_spawned, sched/detail/runq.hpp), or to the global queue from
// outside the runtime; when it ends, root_complete wakes its joiner or, if
// nobody holds a handle, frees it (reporting an exception nobody will see,
// by the unhandled-exception policy). The header-only side is
// sched/task.hpp and sched/join_handle.hpp; the narrow interface between
// them and this file is sched/detail/runtime_hooks.hpp.

#include <cxxabi.h>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <typeinfo>

#include "core/demangle.hpp"
#include "core/fatal.hpp"
#include "sched/detail/debug_word.hpp"
#include "sched/detail/idle.hpp"
#include "sched/detail/registry.hpp"
#include "sched/detail/runq.hpp"
#include "sched/detail/runtime_hooks.hpp"
#include "sched/detail/scheduler.hpp"
#include "sched/detail/trace_hooks.hpp"
#include "sched/join_handle.hpp"
#include "sched/run.hpp"
#include "sched/task.hpp"

namespace goro::detail {
namespace {

std::atomic<unhandled_exception_policy> g_policy{unhandled_exception_policy::abort};

void destroy_root(task_header* t) {
  if (t->reg_slot && g_sched.load(std::memory_order_acquire)) registry_remove(t);
  t->self.destroy();
}

uint64_t next_task_id(scheduler& s, processor* p) {
  // Ids come in blocks of 1024 per P so spawning does not share a counter
  // line between cores (Go's goidcache, same block size).
  constexpr uint32_t kBlock = 1024;
  // The P's spawn count doubles as the cursor in its block, so counting
  // spawns for the metrics costs nothing more (unsigned arithmetic wraps:
  // id_offset + n is the block's next id).
  if (!p) return s.next_id_block.fetch_add(1, std::memory_order_relaxed) * kBlock;
  const uint64_t n = p->tasks_spawned.load(std::memory_order_relaxed);
  if (n == p->id_end) {
    p->id_offset = s.next_id_block.fetch_add(1, std::memory_order_relaxed) * kBlock - n;
    p->id_end = n + kBlock;
  }
  p->tasks_spawned.store(n + 1, std::memory_order_relaxed);
  return p->id_offset + n;
}

std::string exception_text(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return demangle(typeid(ex).name()) + ": " + ex.what();
  } catch (...) {
    if (auto* ti = abi::__cxa_current_exception_type()) return demangle(ti->name());
  }
  return "unknown type";
}

void report_unhandled(task_header* t, const char* how) {
  std::string msg = "task " + std::to_string(t->id) + " (spawned at " + t->spawn_site.file_name() +
                    ":" + std::to_string(t->spawn_site.line()) + " in " +
                    t->spawn_site.function_name() + ") " + how + ": " +
                    exception_text(t->exception);
  if (g_policy.load(std::memory_order_relaxed) == unhandled_exception_policy::abort) {
    die(msg +
            " [policy abort: exiting; goro::set_unhandled_exception_policy(report) keeps running]",
        2);
  }
  std::fprintf(stderr, "goro: %s\n", msg.c_str());
}

// spawn_root's observed path, out of line, reading the spawning task here
// (tl_m): inlined, or with the task passed in, it cost every spawn a
// register move while not tracing.
[[gnu::noinline, gnu::cold]] void observed_spawn(task_header* t, uint64_t ticks) noexcept {
  observed_transition_slow(tl_m->current, t, ticks, true);
}

}  // namespace

void spawn_root(task_header* t, std::source_location site) {
  scheduler* s = g_sched.load(std::memory_order_acquire);
  if (!s) {
    // Nobody will ever run it: free it now and say why.
    t->join_state.store(0, std::memory_order_relaxed);
    t->self.destroy();
    throw std::logic_error("goro::spawn: no goro runtime is running (call it inside goro::run)");
  }
  machine* m = tl_m;
  processor* p = m ? m->p : nullptr;
  t->id = next_task_id(*s, p);
  t->spawn_site = site;
  // Registered by the M that first runs it (execute).
  if (p) {
    const uint64_t ticks = p->schedticks_total.load(std::memory_order_relaxed);
    if (observed_transition(ticks)) [[unlikely]]
      observed_spawn(t, ticks);
    if (runq_put_spawned(*s, p, t)) wake_for_published(*s);
  } else {
    s->spawned_without_p.fetch_add(1, std::memory_order_relaxed);
    ready(t);  // from outside the runtime: the global queue
  }
}

std::coroutine_handle<> root_complete(task_header* t) noexcept {
  if (machine* m = t->locked_m) {  // ended while pinned: its M exits after this
    t->locked_m = nullptr;
    m->lock_count = 0;
    m->exit_locked = true;  // m->lockedg stays set (never followed again) so the
                            // worker loop's one pinned check sees the exit
  }
  const bool failed = t->exception != nullptr;
  // kHandle is only ever cleared after spawn: once it reads clear (acquire,
  // pairing with release_handle's RMW) nobody else touches join_state, so
  // a detached task skips the read-modify-write (one atomic per task).
  uint32_t st = t->join_state.load(std::memory_order_acquire);
  if (st & kHandle) st = t->join_state.fetch_or(kComplete, std::memory_order_acq_rel);
  // From here on `t` may be destroyed by the handle's owner unless we still
  // own it: detached (no handle), or a waiter is suspended on us and cannot
  // run until we ready it, so `joiner` is stable until then.
  if (!(st & kHandle)) {
    if (failed) report_unhandled(t, "ended with an uncaught exception");
    destroy_root(t);
  } else if (st & kWaiter) {
    ready(t->joiner);
  }
  return std::noop_coroutine();
}

void release_handle(task_header* t) noexcept {
  if (g_destroying.load(std::memory_order_acquire)) return;  // shutdown frees every frame
  uint32_t st = t->join_state.fetch_and(~static_cast<uint32_t>(kHandle), std::memory_order_acq_rel);
  if (st & kComplete) {
    if (t->exception) report_unhandled(t, "ended with an exception nobody awaited");
    destroy_root(t);
  }
}

}  // namespace goro::detail

namespace goro {

unhandled_exception_policy set_unhandled_exception_policy(unhandled_exception_policy p) noexcept {
  return detail::g_policy.exchange(p);
}

uint64_t this_task::id() noexcept {
  detail::task_header* t = detail::current_task();
  return t ? t->id : 0;
}

}  // namespace goro
