// sysmon: the runtime's background monitor thread (Go's sysmon, reduced to
// what a cooperative runtime needs). It wakes at most once per schedtrace
// period or once a second, so an idle runtime stays idle:
//   - GORO_DEBUG=schedtrace=MS prints Go's SCHED line every MS ms
//     (scheddetail=1 adds one line per P and per M);
//   - unless max_procs was set explicitly, it re-reads the cgroup CPU quota
//     once a second and resizes the Ps when it changed (Go 1.25 does the
//     same for container-aware GOMAXPROCS);
//   - once a second it lets the heap return free memory to the OS if the
//     program has gone quiet (heap/background_release.hpp: Go's scavenger,
//     which also runs off sysmon's clock). That check is cheap; the release
//     itself runs at most a few collections per quiet period;
//   - once a second it re-reads the cgroup memory limit behind the default
//     soft memory limit (heap/memory_limit_default.hpp);
//   - once a second it joins blocking-pool threads that retired.
// It touches no GC memory; it is registered with the collector only while a
// release collection runs.

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <string>

#include "core/clock.hpp"
#include "heap/background_release.hpp"
#include "heap/memory_limit_default.hpp"
#include "sched/detail/os_thread.hpp"
#include "sched/detail/scheduler.hpp"
#include "sched/detail/wait_reason.hpp"

namespace goro::detail {
namespace {

void schedtrace(scheduler& s) {
  const int procs = s.gomaxprocs.load(std::memory_order_acquire);
  std::string line;
  char buf[256];
  int nm;
  int nmidle;
  uint64_t global;
  {
    std::lock_guard lk(s.lock);
    nm = static_cast<int>(s.synced.all_m.size());
    nmidle = s.synced.nmidle;
    global = s.global.size_locked();
  }
  std::snprintf(buf, sizeof buf,
                "SCHED %" PRId64
                "ms: gomaxprocs=%d idleprocs=%d threads=%d spinningthreads=%d "
                "idlethreads=%d runqueue=%" PRIu64 " [",
                (nanotime() - s.start_ns) / 1'000'000, procs,
                s.npidle.load(std::memory_order_relaxed),
                s.nthreads.load(std::memory_order_relaxed),
                s.nmspinning.load(std::memory_order_relaxed), nmidle, global);
  line = buf;
  for (int i = 0; i < procs; ++i) {
    processor* p = s.all_p[i].load(std::memory_order_acquire);
    line += (i ? " " : "") + std::to_string(p ? p->runq.size() : 0);
  }
  line += "]\n";
  if (s.debug.scheddetail) {
    for (int i = 0; i < procs; ++i) {
      processor* p = s.all_p[i].load(std::memory_order_acquire);
      std::snprintf(buf, sizeof buf,
                    "  P%d: schedtick=%" PRIu64 " runqsize=%u runnext=%d spawned=%u\n", i,
                    p->schedticks_total.load(std::memory_order_relaxed), p->runq.size(),
                    p->runnext.load(std::memory_order_relaxed) ? 1 : 0, p->spawned.size());
      line += buf;
    }
    std::snprintf(buf, sizeof buf, "  M: %d total, %d idle\n", nm, nmidle);
    line += buf;
  }
  std::fputs(line.c_str(), stderr);
}

void sysmon_main(scheduler* s) {
  const int64_t trace_ns = s->debug.schedtrace_ms * 1'000'000;
  const int64_t recheck_ns = 1'000'000'000;  // Go 1.25: GOMAXPROCS re-check every second
  int64_t next_trace = trace_ns > 0 ? s->start_ns + trace_ns : INT64_MAX;
  int64_t next_recheck = s->start_ns + recheck_ns;
  int64_t next_reap = s->start_ns + recheck_ns;
  int64_t credited = 0;  // seconds since start_ns the coarse clock was moved on by
  while (!s->stopping.load(std::memory_order_acquire)) {
    int64_t now = nanotime();
    // The coarse clock of tasks' wait times (debug_word.hpp), moved on when
    // a second has passed only: every parking task reads that word, and a
    // write on every sysmon turn took the line from their caches. Moved on
    // by the seconds that passed, not set: only differences mean anything,
    // and a store undid a test's move of the clock before a slow dump (one
    // symbolizing for over a second on a loaded machine) read it.
    if (const int64_t second = (now - s->start_ns) / 1'000'000'000; second > credited) {
      advance_coarse_seconds(static_cast<uint32_t>(second - credited));
      credited = second;
    }
    if (now >= next_trace) {
      schedtrace(*s);
      next_trace += trace_ns;
      if (next_trace <= now) next_trace = now + trace_ns;
    }
    if (now >= next_recheck) {
      next_recheck = now + recheck_ns;
      heap::background_release(now);
      heap::refresh_memory_limit_default();  // the cgroup memory limit, unless set explicitly
      bool expl;
      {
        std::lock_guard lk(s->lock);
        expl = s->procs_explicit;
      }
      if (!expl) {
        int want = default_procs();
        if (want != s->gomaxprocs.load(std::memory_order_acquire)) {
          std::lock_guard lk(s->lock);
          if (!s->procs_explicit) set_procs_locked(*s, want);
        }
      }
    }
    if (now >= next_reap) {  // join blocking threads that retired
      next_reap = now + recheck_ns;
      reap_blocking_pool(*s);
    }
    int64_t wake = std::min(next_trace, next_recheck);
    s->sysmon.park.wait(std::max<int64_t>(0, wake - nanotime()));
  }
}

}  // namespace

void start_sysmon(scheduler& s) {
  add_thread(s, thread_kind::sysmon);
  s.sysmon.thread = new_os_thread(s, sysmon_main, &s);
}

void stop_sysmon(scheduler& s) {
  s.sysmon.park.post();
  if (s.sysmon.thread.joinable()) {
    s.sysmon.thread.join();
    remove_thread(s, thread_kind::sysmon);
  }
}

}  // namespace goro::detail
