#include "debug/trace.hpp"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/settings.hpp"
#include "debug/symbolize.hpp"
#include "debug/task_dump.hpp"
#include "heap/detail/collection_events.hpp"
#include "heap/gc_pressure.hpp"
#include "heap/heap_stats.hpp"
#include "sched/detail/debug_word.hpp"
#include "sched/detail/trace_hooks.hpp"

namespace goro::debug {
namespace {

constexpr int kMaxP = detail::kMaxTraceP;

// A blocking call, as the blocking ring holds it: thread is
// trace_hooks::blocking's thread number; cause_p and cause_run name the run
// on a P that handed the call off (trace_record's fields), cause_p 0 none.
struct blocking_event {
  int32_t thread;
  uint16_t cause_p;
  uint32_t cause_run;
  uint64_t start, end, task;
  const void* fn;
};

// Blocking calls run on threads without a P (the pool's, pinned Ms): one
// ring for all of them, under g_blocking_lock (a call is a system call or
// more; the lock is not what it costs).
struct blocking_ring {
  explicit blocking_ring(std::size_t cap) : ev(cap) {}
  std::vector<blocking_event> ev;
  uint64_t n = 0;      // events put; the oldest kept is ev[n % size] once n > size
  std::size_t at = 0;  // n % ev.size()
  void put(const blocking_event& e) noexcept {
    ev[at] = e;
    if (++at == ev.size()) at = 0;
    ++n;
  }
};

// The Ps' rings (sched/detail/trace_hooks.hpp, trace_ring), published in
// detail::g_trace_p; protected by g_control. Kept from one trace to the
// next and reused when the size is the same.
struct p_ring {
  std::unique_ptr<detail::trace_ring> ring;
  std::unique_ptr<detail::trace_record[]> ev;
};
p_ring g_p_rings[kMaxP];

struct counter_sample {
  int64_t ns;
  uint64_t managed, goal, live;
  int64_t limit;
  int pressure;
  bool limiter;
};

// A pause's end on the trace's clock, read on the collecting thread as the
// world restarts, and its length on the collector's: the begin is placed
// that many nanoseconds earlier, so pauses and runs share one clock.
struct pause {
  uint64_t end_tsc;
  int64_t ns;
};

std::mutex g_control;  // start/stop
std::atomic<bool> g_running{false};
std::mutex g_blocking_lock;
blocking_ring* g_blocking_ring = nullptr;  // protected by g_blocking_lock
std::mutex g_global_lock;                  // pauses and counters
std::vector<pause> g_pauses;
std::vector<counter_sample> g_counters;
constexpr std::size_t kMaxGlobal = 1 << 16;
uint64_t g_tsc0 = 0;
int64_t g_ns0 = 0;
std::thread g_sampler;
std::mutex g_sampler_lock;
std::condition_variable g_sampler_cv;
bool g_sampler_stop = false;

void on_blocking(int thread, detail::task_header* t, uint64_t start, uint64_t end) noexcept {
  const bool handoff = t->trace_cause_kind == static_cast<uint8_t>(detail::trace_flow::handoff);
  const blocking_event e{thread,
                         handoff ? t->trace_cause_p : uint16_t{0},
                         t->trace_cause_run,
                         start,
                         end,
                         t->id,
                         detail::trace_root_fn(t)};
  t->trace_cause_kind = 0;  // used: the task's next run has a cause of its own
  std::lock_guard lk(g_blocking_lock);
  if (g_blocking_ring) g_blocking_ring->put(e);
}

constexpr detail::trace_hooks kHooks{&on_blocking};

void on_pause(int64_t begin, int64_t end) noexcept {
  const uint64_t now = detail::trace_clock();
  std::unique_lock lk(g_global_lock, std::try_to_lock);  // never wait inside a collection
  if (lk.owns_lock() && g_pauses.size() < kMaxGlobal) g_pauses.push_back({now, end - begin});
}

void sample_counters() {
  const heap_stats st = read_heap_stats();
  counter_sample c{nanotime(),           st.managed_bytes(), st.heap_goal_bytes,
                   st.live_bytes,        st.memory_limit,    static_cast<int>(gc_pressure()),
                   st.gc_limiter_engaged};
  std::lock_guard lk(g_global_lock);
  if (g_counters.size() < kMaxGlobal) g_counters.push_back(c);
}

void sampler_main() {
  std::unique_lock lk(g_sampler_lock);
  while (!g_sampler_stop) {
    lk.unlock();
    sample_counters();
    lk.lock();
    g_sampler_cv.wait_for(lk, std::chrono::milliseconds(10), [] { return g_sampler_stop; });
  }
}

// ------------------------------------------------------------ writing --

void json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      out += b;
    } else {
      out += c;
    }
  }
  out += '"';
}

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", v);
  return b;
}

struct slice {
  double start, end;  // us
  std::string name;
  const char* cat;  // "task" (a run), "blocking" (a blocking call) or "gc"
  uint64_t task;
};

struct flow_point {
  double ts;
  uint64_t id;
  bool start;
  const char* name;
};

// One tick of the printed grid (num prints microseconds with 3 decimals).
constexpr double kTick = 0.001;

// The JSON's tids: the GC track, then one per P, per blocking-pool thread
// and per pinned M that ran a blocking call (sorted in that order).
constexpr int kGcTid = 1;
constexpr int kPTid = 100;                 // + the P's id (< kMaxP)
constexpr int kPoolTid = 100'000;          // + the pool thread's number, from 1
constexpr int kLockedTid = 1'000'000'000;  // + the M's id

int tid_of_thread(int thread) {
  return thread >= 1 ? kPoolTid + thread : kLockedTid + (-thread - 1);
}

std::string track_label(int tid) {
  if (tid == kGcTid) return "GC";
  if (tid >= kLockedTid) return "locked M " + std::to_string(tid - kLockedTid);
  if (tid >= kPoolTid) return "blocking thread " + std::to_string(tid - kPoolTid);
  return "P" + std::to_string(tid - kPTid);
}

struct track {
  std::vector<slice> runs;    // task runs or blocking calls: one thread's, so they never overlap
  std::vector<slice> pauses;  // GC pauses as drawn here, each between or inside runs
};

// The last run of `runs` (sorted by start) that contains `ts`, or null.
const slice* run_at(const std::vector<slice>& runs, double ts) {
  auto it = std::upper_bound(runs.begin(), runs.end(), ts,
                             [](double t, const slice& s) { return t < s.start; });
  if (it == runs.begin()) return nullptr;
  --it;
  return ts <= it->end ? &*it : nullptr;
}

// Where the pause [b, e] goes on a P's track. The runs are what the P did;
// the pause is when the collector says the world was stopped, from the
// moment it began to stop it. A thread stops when the signal reaches it, so
// a run can end after b (it finished before the signal came) or start
// after b (the P took its next task first); then the P was stopped later
// than b, and the pause is drawn from the end of the last run before the
// stop, or nested in the run that the stop interrupted, one tick after its
// start: an arrow into a run binds to the deepest slice at its start, which
// must stay the run. Returns the pause's start, or e when none is left.
double pause_start_on_track(const std::vector<slice>& runs, double b, double e) {
  auto it =
      std::partition_point(runs.begin(), runs.end(), [b](const slice& s) { return s.end <= b; });
  double lo = b;
  for (; it != runs.end() && it->start < e; ++it)
    lo = std::max(lo, it->end < e ? it->end : it->start + kTick);
  return lo < e - kTick / 2 ? lo : e;
}

// The timestamp to draw an arrow from, for an event at `ts` on a P's track:
// inside the run that made it, before that run's printed end and before any
// pause nested in it (an arrow starts from the deepest slice at its time:
// the run, not the pause). NaN when no run of the track contains ts (a run
// that began before tracing started, or that the ring dropped).
double source_ts(const track& tr, double ts) {
  const slice* r = run_at(tr.runs, ts);
  if (r == nullptr) return std::nan("");
  ts = std::min(ts, std::max(r->start, r->end - kTick));
  // The pauses of a track are in time order and never overlap.
  auto p = std::upper_bound(tr.pauses.begin(), tr.pauses.end(), ts,
                            [](double t, const slice& s) { return t < s.start; });
  if (p != tr.pauses.begin() && ts <= std::prev(p)->end)
    ts = std::max(r->start, std::prev(p)->start - kTick);
  return ts;
}

// ------------------------------------------------ the writers' fence --

// How stop_trace makes every CPU that runs a thread of the process pass a
// full barrier (membarrier(2)): the private expedited command (Linux 4.14,
// IPIs to those CPUs only, microseconds), else the global one (Linux 4.3,
// waits for an RCU grace period, milliseconds), else none (a kernel or a
// seccomp filter without membarrier).
enum class barrier_kind { none, private_expedited, global };

barrier_kind register_barrier() {
  static const barrier_kind kind = [] {
    const long cmds = ::syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (cmds < 0) return barrier_kind::none;
    if ((cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
        ::syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0)
      return barrier_kind::private_expedited;
    if (cmds & MEMBARRIER_CMD_GLOBAL) return barrier_kind::global;
    return barrier_kind::none;
  }();
  return kind;
}

// Unpublishes the Ps' rings and waits until no M writes into one
// (sched/detail/trace_hooks.hpp, trace_p_slot): a barrier on every CPU,
// then for each P whose write count is odd (a write going on) until it
// moves. A writer whose odd count the barrier did not make visible loads
// its ring after the barrier: null, so it writes nothing. Without
// membarrier the count of a write just begun may not be visible yet; a
// grace period of 20 ms covers that writer unless its thread is
// descheduled for longer.
void wait_for_ring_writers() {
  for (auto& slot : detail::g_trace_p) slot.ring.store(nullptr, std::memory_order_relaxed);
  bool fenced = false;
  switch (register_barrier()) {
    case barrier_kind::private_expedited:
      fenced = ::syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0;
      break;
    case barrier_kind::global:
      fenced = ::syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) == 0;
      break;
    case barrier_kind::none:
      break;
  }
  if (!fenced) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  for (int i = 0; i < kMaxP; ++i) {
    if (!g_p_rings[i].ring) continue;  // no ring, nothing written
    const std::atomic<uint32_t>& c = detail::g_trace_p[i].writes;
    const uint32_t v = c.load(std::memory_order_acquire);
    if ((v & 1) == 0) continue;
    while (c.load(std::memory_order_acquire) == v)
      std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

}  // namespace

void start_trace(std::size_t events_per_p) {
  if (events_per_p < 1024)
    throw std::invalid_argument("goro::debug::start_trace(" + std::to_string(events_per_p) +
                                "): want at least 1024 events per P");
  std::lock_guard lk(g_control);
  if (g_running.load()) throw std::logic_error("goro::debug::start_trace: already tracing");
  // Registering for the expedited barrier may wait for an RCU grace
  // period: here, once, rather than in stop_trace.
  register_barrier();
  // No ring is published (none yet, or stop_trace unpublished them and
  // waited for the records begun before), so the rings can be reset.
  const uint32_t epoch = detail::g_trace_epoch.fetch_add(1, std::memory_order_relaxed) + 1;
  // A power of two: a run finds its record with a mask.
  const std::size_t cap = std::bit_ceil(events_per_p);
  // Rings for every P there may be: the CPUs, at least 8 (GORO_MAXPROCS
  // or set_max_procs may add Ps later; a P without a ring is not traced).
  const int n = std::clamp(static_cast<int>(std::thread::hardware_concurrency()) * 2, 8, kMaxP);
  for (int i = 0; i < kMaxP; ++i) {
    p_ring& pr = g_p_rings[i];
    if (i >= n) {
      pr = {};
      continue;
    }
    if (!pr.ring || pr.ring->mask != cap - 1) {
      pr.ring = std::make_unique<detail::trace_ring>();
      pr.ev.reset(new detail::trace_record[cap]());
      pr.ring->ev = pr.ev.get();
      pr.ring->mask = cap - 1;
    }
    // Records n.. are not read: no need to clear them.
    pr.ring->n.store(0, std::memory_order_relaxed);
    pr.ring->cause_base = uint64_t{detail::trace_cause_p(i, epoch)} << 16 |
                          uint64_t{static_cast<uint8_t>(detail::trace_flow::run)} << 8;
    detail::g_trace_p[i].ring.store(pr.ring.get(), std::memory_order_release);
  }
  {
    std::lock_guard g(g_blocking_lock);
    delete g_blocking_ring;
    g_blocking_ring = new blocking_ring(events_per_p);
  }
  {
    std::lock_guard g(g_global_lock);
    g_pauses.clear();
    // on_pause runs with the world stopped: a thread stopped inside malloc
    // may hold its lock, so the hook must not allocate.
    g_pauses.reserve(kMaxGlobal);
    g_counters.clear();
  }
  g_ns0 = nanotime();
  g_tsc0 = detail::trace_clock();
  detail::g_trace_hooks.store(&kHooks, std::memory_order_release);
  heap::detail::g_pause_hook.store(&on_pause, std::memory_order_release);
  detail::set_tracing(true);
  g_sampler_stop = false;
  g_sampler = std::thread(sampler_main);
  g_running.store(true);
}

bool trace_running() noexcept {
  return g_running.load();
}

std::string stop_trace() {
  std::lock_guard lk(g_control);
  if (!g_running.load()) throw std::logic_error("goro::debug::stop_trace: not tracing");
  detail::set_tracing(false);
  // The stop: the last record of a P that was running a task ends here
  // (its run was going on, or ended as the P saw the switch go down).
  const uint64_t tsc_stop = detail::trace_clock();
  heap::detail::g_pause_hook.store(nullptr, std::memory_order_release);
  {
    std::lock_guard g(g_sampler_lock);
    g_sampler_stop = true;
  }
  g_sampler_cv.notify_all();
  g_sampler.join();
  sample_counters();
  const int64_t ns1 = nanotime();
  const uint64_t tsc1 = detail::trace_clock();
  // A run or gap whose M read the switch just before it went down
  // completes its record before the rings are read.
  wait_for_ring_writers();
  g_running.store(false);

  const double ns_per_tsc =
      tsc1 > g_tsc0 ? static_cast<double>(ns1 - g_ns0) / static_cast<double>(tsc1 - g_tsc0) : 1.0;
  // Times in microseconds on the nanosecond grid the file prints (num):
  // nesting and clipping below then hold for the printed ts and dur too
  // (rounding ts and dur apart once made a pause end 1 ns after its run).
  auto on_grid = [](double us) { return std::round(us * 1000.0) / 1000.0; };
  auto us_of_tsc = [&](uint64_t t) {
    return on_grid((static_cast<double>(static_cast<int64_t>(t - g_tsc0)) * ns_per_tsc) / 1000.0);
  };
  auto us_of_ns = [&](int64_t ns) { return on_grid(static_cast<double>(ns - g_ns0) / 1000.0); };

  symbolizer sym;
  std::map<uint64_t, std::string> names;
  auto name_of = [&](uint64_t fn) -> const std::string& {
    auto it = names.find(fn);
    if (it != names.end()) return it->second;
    std::string n = fn ? sym.lookup(fn).function : std::string();
    if (const std::size_t c = n.find(" [clone"); c != std::string::npos) n.resize(c);
    for (std::size_t at; (at = n.find("(anonymous namespace)")) != std::string::npos;)
      n.replace(at, 21, "{anonymous}");
    n = clean_function_name(n.c_str());  // the actor's name, as task dumps print it
    return names.emplace(fn, n.empty() ? std::string("task") : n).first->second;
  };

  // Arrows: a run that spawned or woke a task, or handed its blocking call
  // off, is named in the task's next run (or the call's slice) by its P and
  // ring index (trace_hooks.hpp, trace_set_cause): `caused` joins the two.
  // A blocking call's end is matched by time instead, to the next run of
  // its task that starts at or after it (`sources`, `targets`).
  struct run_times {
    double start, end;
    bool kept;  // false: started after the stop
  };
  struct p_runs {
    uint64_t first = 0;           // ring index of runs[0]
    std::vector<run_times> runs;  // ring indices first, first + 1, ...
  };
  struct caused {
    double ts;  // the target slice's start
    int tid;    // and track
    int p;      // the causing run's P
    uint32_t run;
    const char* name;
  };
  struct target {
    double ts;
    int tid;
    uint64_t task;
  };
  struct source {
    double ts;
    int tid;
    uint64_t task;
  };
  std::map<int, track> tracks;  // tid -> its slices
  std::vector<p_runs> by_p(kMaxP);
  std::vector<caused> causes;
  std::vector<target> targets;
  std::vector<source> sources;
  int nprocs = 0;
  const uint64_t kRunMask = 0xffffffff;  // trace_record::cause_run's bits
  // This trace's: a cause made in another names no run of it.
  const uint32_t epoch = detail::g_trace_epoch.load(std::memory_order_relaxed);
  for (int p = 0; p < kMaxP; ++p) {
    const detail::trace_ring* r = g_p_rings[p].ring.get();
    if (r == nullptr) continue;
    const uint64_t cap = r->mask + 1;
    const uint64_t n = r->n.load(std::memory_order_acquire);
    if (n == 0) continue;
    nprocs = p + 1;
    const int tid = kPTid + p;
    auto& tr = tracks[tid];
    p_runs& pr = by_p[static_cast<std::size_t>(p)];
    pr.first = n > cap ? n - cap : 0;
    for (uint64_t i = pr.first; i < n; ++i) {
      const detail::trace_record& e = r->ev[i % cap];
      // Gaps are no slice; runs that began after the stop (their P read
      // the switch just before it went down) are left out.
      if (e.task == 0 || static_cast<int64_t>(e.start - tsc_stop) >= 0) {
        pr.runs.push_back({0, 0, false});
        continue;
      }
      // A run ends where its P's next record starts, 64 ticks (some
      // 20-30 ns) before, so that the two slices stay apart on the trace's
      // nanosecond grid and in a float ts + dur; the P's last one, at the
      // stop.
      uint64_t end_tsc = tsc_stop;
      if (i + 1 < n) {
        const uint64_t next = r->ev[(i + 1) % cap].start - 64;
        if (static_cast<int64_t>(next - tsc_stop) < 0) end_tsc = next;
      }
      const double ts = us_of_tsc(e.start);
      const double end = std::max(us_of_tsc(end_tsc), ts);
      pr.runs.push_back({ts, end, true});
      tr.runs.push_back(
          {ts, end,
           name_of(reinterpret_cast<uint64_t>(e.fn)) + " (task " + std::to_string(e.task) + ")",
           "task", e.task});
      targets.push_back({ts, tid, e.task});
      const detail::trace_flow kind = e.cause_kind();
      const int cause_p = detail::trace_cause_p_index(e.cause_p(), epoch);
      if ((kind == detail::trace_flow::spawn || kind == detail::trace_flow::wake) && cause_p >= 0)
        causes.push_back({ts, tid, cause_p, e.cause_run(),
                          kind == detail::trace_flow::spawn ? "spawn" : "wake"});
    }
  }
  // The run that ring index `run` (its low bits) of P `p` names, if kept.
  auto run_of = [&](int p, uint32_t run) -> const run_times* {
    if (p < 0 || p >= kMaxP) return nullptr;
    const p_runs& pr = by_p[static_cast<std::size_t>(p)];
    if (pr.runs.empty()) return nullptr;
    const uint64_t last = pr.first + pr.runs.size() - 1;
    const uint64_t i = last - ((last - run) & kRunMask);  // the latest index with those bits
    if (i < pr.first || i > last) return nullptr;
    const run_times& rt = pr.runs[i - pr.first];
    return rt.kept ? &rt : nullptr;
  };
  {
    std::lock_guard g(g_blocking_lock);
    const blocking_ring& r = *g_blocking_ring;
    const uint64_t cap = r.ev.size(), first = r.n > cap ? r.n - cap : 0;
    for (uint64_t i = first; i < r.n; ++i) {
      const blocking_event& e = r.ev[i % cap];
      const int tid = tid_of_thread(e.thread);
      const double s = us_of_tsc(e.start), en = std::max(us_of_tsc(e.end), s);
      tracks[tid].runs.push_back({s, en,
                                  "blocking: " + name_of(reinterpret_cast<uint64_t>(e.fn)) +
                                      " (task " + std::to_string(e.task) + ")",
                                  "blocking", e.task});
      if (const int cause_p = detail::trace_cause_p_index(e.cause_p, epoch); cause_p >= 0)
        causes.push_back({s, tid, cause_p, e.cause_run, "handoff"});
      // The task is made ready after the call: the arrow to its next run
      // leaves from the call's last tick.
      sources.push_back({std::max(s, en - kTick), tid, e.task});
    }
  }
  for (auto& [tid, tr] : tracks)
    std::sort(tr.runs.begin(), tr.runs.end(),
              [](const slice& a, const slice& b) { return a.start < b.start; });
  std::vector<pause> pauses;
  std::vector<counter_sample> counters;
  {
    std::lock_guard g(g_global_lock);
    pauses = g_pauses;
    counters = g_counters;
  }
  // GC pauses: on the GC track as the collector timed them, and on every
  // P's track placed among its runs (pause_start_on_track). Not on the
  // blocking threads' tracks: a call inside goro::blocking_region is not
  // stopped by a collection, and the tracer cannot tell which calls are.
  for (const pause& ps : pauses) {
    const double e = us_of_tsc(ps.end_tsc), b = on_grid(e - static_cast<double>(ps.ns) / 1000.0);
    tracks[kGcTid].pauses.push_back({b, e, "GC pause (stop the world)", "gc", 0});
    for (int p = 0; p < nprocs; ++p) {
      track& tr = tracks[kPTid + p];
      const double lo = pause_start_on_track(tr.runs, b, e);
      if (lo < e) tr.pauses.push_back({lo, e, "GC pause", "gc", 0});
    }
  }

  std::map<int, std::vector<flow_point>> flow_points;  // tid -> points
  uint64_t next_flow = 1;
  auto add_flow = [&](int from_tid, double from, int to_tid, double to, const char* name) {
    const uint64_t id = next_flow++;
    flow_points[from_tid].push_back({from, id, true, name});
    flow_points[to_tid].push_back({to, id, false, name});
  };
  // From inside the causing run, no later than the slice it leads to: the
  // spawn or wake-up happened in the run and before that slice began.
  for (const caused& c : causes) {
    const run_times* w = run_of(c.p, c.run);
    if (w == nullptr || w->start > c.ts) continue;  // dropped, or not the run it names
    const double ts =
        source_ts(tracks[kPTid + c.p], std::min(c.ts, std::max(w->start, w->end - kTick)));
    if (std::isnan(ts)) continue;
    add_flow(kPTid + c.p, ts, c.tid, c.ts, c.name);
  }
  std::sort(targets.begin(), targets.end(),
            [](const target& a, const target& b) { return a.ts < b.ts; });
  std::sort(sources.begin(), sources.end(),
            [](const source& a, const source& b) { return a.ts < b.ts; });
  std::map<uint64_t, source> pending;  // task -> its latest call's end not yet matched
  std::size_t si = 0;
  for (const target& t : targets) {
    while (si < sources.size() && sources[si].ts <= t.ts) {
      pending[sources[si].task] = sources[si];
      ++si;
    }
    auto it = pending.find(t.task);
    if (it == pending.end()) continue;
    add_flow(it->second.tid, it->second.ts, t.tid, t.ts, "return");
    pending.erase(it);
  }

  // Slices on one track must nest: sort by start (longest first) and clip
  // a slice that would end past the one enclosing it. The placement above
  // nests every pause already; this is the guarantee the format needs.
  std::map<int, std::vector<slice>> slices;
  for (auto& [tid, tr] : tracks) {
    auto& v = slices[tid];
    v = std::move(tr.runs);
    v.insert(v.end(), tr.pauses.begin(), tr.pauses.end());
    std::sort(v.begin(), v.end(), [](const slice& a, const slice& b) {
      return a.start != b.start ? a.start < b.start : a.end > b.end;
    });
    std::vector<double> open;
    for (slice& s : v) {
      while (!open.empty() && open.back() <= s.start) open.pop_back();
      if (!open.empty() && s.end > open.back()) s.end = open.back();
      open.push_back(s.end);
    }
  }

  const int pid = static_cast<int>(getpid());
  const std::string spid = std::to_string(pid);
  std::string out = "{\"traceEvents\":[\n";
  bool first_event = true;
  auto begin_event = [&]() -> std::string& {
    if (!first_event) out += ",\n";
    first_event = false;
    return out;
  };
  begin_event() += "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":" + spid +
                   ",\"tid\":0,\"args\":{\"name\":\"goro\"}}";
  for (auto& [tid, v] : slices) {
    begin_event() += "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":" + spid +
                     ",\"tid\":" + std::to_string(tid) + ",\"args\":{\"name\":\"" +
                     track_label(tid) + "\"}}";
    begin_event() += "{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":" + spid +
                     ",\"tid\":" + std::to_string(tid) +
                     ",\"args\":{\"sort_index\":" + std::to_string(tid) + "}}";
    // Slices and flow points of this track in time order.
    auto& fps = flow_points[tid];
    std::sort(fps.begin(), fps.end(),
              [](const flow_point& a, const flow_point& b) { return a.ts < b.ts; });
    std::size_t k = 0;
    auto put_flow = [&](const flow_point& fp) {
      std::string& o = begin_event();
      o += "{\"name\":\"";
      o += fp.name;
      o += "\",\"cat\":\"flow\",\"ph\":\"";
      o += fp.start ? "s" : "f\",\"bp\":\"e";
      o += "\",\"id\":" + std::to_string(fp.id) + ",\"ts\":" + num(fp.ts) + ",\"pid\":" + spid +
           ",\"tid\":" + std::to_string(tid) + "}";
    };
    for (const slice& s : v) {
      while (k < fps.size() && fps[k].ts < s.start) put_flow(fps[k++]);
      std::string& o = begin_event();
      o += "{\"name\":";
      json_string(o, s.name);
      o += ",\"cat\":\"";
      o += s.cat;
      o += "\",\"ph\":\"X\",\"ts\":" + num(s.start) +
           ",\"dur\":" + num(std::max(s.end - s.start, kTick)) + ",\"pid\":" + spid +
           ",\"tid\":" + std::to_string(tid);
      if (s.task) o += ",\"args\":{\"task\":" + std::to_string(s.task) + "}";
      o += "}";
    }
    while (k < fps.size()) put_flow(fps[k++]);
  }
  for (const counter_sample& c : counters) {
    const std::string ts = num(us_of_ns(c.ns));
    begin_event() += "{\"name\":\"heap\",\"ph\":\"C\",\"ts\":" + ts + ",\"pid\":" + spid +
                     ",\"tid\":0,\"args\":{\"managed\":" + std::to_string(c.managed) +
                     ",\"goal\":" + std::to_string(c.goal == UINT64_MAX ? 0 : c.goal) +
                     ",\"live\":" + std::to_string(c.live) +
                     ",\"limit\":" + std::to_string(c.limit == INT64_MAX ? 0 : c.limit) + "}}";
    begin_event() += "{\"name\":\"pacer\",\"ph\":\"C\",\"ts\":" + ts + ",\"pid\":" + spid +
                     ",\"tid\":0,\"args\":{\"pressure_state\":" + std::to_string(c.pressure) +
                     ",\"limiter_on\":" + (c.limiter ? "1" : "0") + "}}";
  }
  out += "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{\"runtime\":\"goro\"}}\n";
  return out;
}

namespace {

// GORO_TRACE=FILE: trace from start-up, write at exit.
std::string g_trace_file;

void write_trace_at_exit() {
  if (!trace_running()) return;
  const std::string json = stop_trace();
  std::ofstream f(g_trace_file, std::ios::binary);
  f << json;
  if (!f) std::fprintf(stderr, "goro: GORO_TRACE: cannot write %s\n", g_trace_file.c_str());
}

struct env_trace {
  env_trace() {
    if (auto v = settings::text("GORO_TRACE")) {
      g_trace_file = *v;
      start_trace();
      std::atexit(write_trace_at_exit);
    }
  }
} g_env_trace;

}  // namespace

}  // namespace goro::debug

extern "C" {
[[gnu::used]] int goro_debug_trace_anchor = 0;
}
