#include "debug/trace.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
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

constexpr int kMaxP = 1024;

enum : uint8_t { kRun = 1, kSpawn, kWake };

struct event {
  uint8_t kind;
  uint64_t a, b, c, d;  // run: start, end, task id, function; flow: tsc, -, task id, -
};

// Written only by the M that holds the P (the hook runs on it). A cache
// line of its own: the rings are allocated together, and two Ps' counters
// on one line made tracing skynet on 2 Ps 3.3x slower instead of 1.5x.
struct alignas(64) ring {
  explicit ring(std::size_t cap) : ev(cap) {}
  std::vector<event> ev;
  uint64_t n = 0;      // events put; the oldest kept is ev[n % size] once n > size
  std::size_t at = 0;  // n % ev.size(), kept wrapped: no division per event
  void put(const event& e) noexcept {
    ev[at] = e;
    if (++at == ev.size()) at = 0;
    ++n;
  }
};

struct counter_sample {
  int64_t ns;
  uint64_t managed, goal, live;
  int64_t limit;
  int pressure;
  bool limiter;
};

struct pause {
  int64_t begin, end;
};

std::mutex g_control;  // start/stop
std::atomic<bool> g_running{false};
std::atomic<ring*> g_rings[kMaxP];
std::mutex g_global_lock;  // pauses and counters
std::vector<pause> g_pauses;
std::vector<counter_sample> g_counters;
constexpr std::size_t kMaxGlobal = 1 << 16;
uint64_t g_tsc0 = 0;
int64_t g_ns0 = 0;
std::thread g_sampler;
std::mutex g_sampler_lock;
std::condition_variable g_sampler_cv;
bool g_sampler_stop = false;

void on_run(int p, uint64_t id, const void* fn, uint64_t start, uint64_t end) noexcept {
  if (p < 0 || p >= kMaxP) return;
  if (ring* r = g_rings[p].load(std::memory_order_acquire))
    r->put({kRun, start, end, id, reinterpret_cast<uint64_t>(fn)});
}

void on_flow(int p, const detail::task_header* t, bool spawn) noexcept {
  if (p < 0 || p >= kMaxP) return;
  if (ring* r = g_rings[p].load(std::memory_order_acquire))
    // At the start of the waker's run slice (its clock read, reused: a read
    // costs 45-50 ns here); a clock read only outside a traced run.
    r->put({spawn ? kSpawn : kWake,
            detail::tl_trace_run_start ? detail::tl_trace_run_start : detail::trace_clock(), 0,
            t->id, 0});
}

constexpr detail::trace_hooks kHooks{&on_run, &on_flow};

void on_pause(int64_t begin, int64_t end) noexcept {
  std::unique_lock lk(g_global_lock, std::try_to_lock);  // never wait inside a collection
  if (lk.owns_lock() && g_pauses.size() < kMaxGlobal) g_pauses.push_back({begin, end});
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
  const char* cat;
  uint64_t task;
};

struct flow_point {
  double ts;
  int tid;
  uint64_t id;
  bool start;
  const char* name;
};

}  // namespace

void start_trace(std::size_t events_per_p) {
  if (events_per_p < 1024)
    throw std::invalid_argument("goro::debug::start_trace(" + std::to_string(events_per_p) +
                                "): want at least 1024 events per P");
  std::lock_guard lk(g_control);
  if (g_running.load()) throw std::logic_error("goro::debug::start_trace: already tracing");
  for (auto& r : g_rings) {
    ring* old = r.exchange(nullptr);
    delete old;
  }
  // Rings for every P there may be: the CPUs, at least 8 (GORO_MAXPROCS
  // or set_max_procs may add Ps later; a P without a ring is not traced).
  const int n = std::clamp(static_cast<int>(std::thread::hardware_concurrency()) * 2, 8, kMaxP);
  for (int i = 0; i < n; ++i) g_rings[i].store(new ring(events_per_p), std::memory_order_release);
  {
    std::lock_guard g(g_global_lock);
    g_pauses.clear();
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
  // A run that started before the flag went down ends within its task's
  // time slice; give hooks in flight a moment to finish their store.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
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

  std::map<int, std::vector<slice>> tracks;  // tid -> slices
  struct run_rec {
    double start;
    int tid;
    uint64_t task;
  };
  struct flow_rec {
    double ts;
    int tid;
    uint64_t task;
    bool spawn;
  };
  std::vector<run_rec> runs;
  std::vector<flow_rec> flows;
  int nprocs = 0;
  for (int p = 0; p < kMaxP; ++p) {
    ring* r = g_rings[p].load();
    if (r == nullptr) continue;
    if (r->n == 0) continue;
    nprocs = p + 1;
    const int tid = 100 + p;
    const uint64_t cap = r->ev.size(), first = r->n > cap ? r->n - cap : 0;
    auto& tr = tracks[tid];
    for (uint64_t i = first; i < r->n; ++i) {
      const event& e = r->ev[i % cap];
      if (e.kind == kRun) {
        const double s = us_of_tsc(e.a), en = us_of_tsc(e.b);
        tr.push_back({s, std::max(en, s), name_of(e.d) + " (task " + std::to_string(e.c) + ")",
                      "task", e.c});
        runs.push_back({s, tid, e.c});
      } else if (e.kind == kSpawn || e.kind == kWake) {
        flows.push_back({us_of_tsc(e.a), tid, e.c, e.kind == kSpawn});
      }
    }
  }
  std::vector<pause> pauses;
  std::vector<counter_sample> counters;
  {
    std::lock_guard g(g_global_lock);
    pauses = g_pauses;
    counters = g_counters;
  }
  for (const pause& ps : pauses) {
    const double b = us_of_ns(ps.begin), e = us_of_ns(ps.end);
    tracks[1].push_back({b, e, "GC pause (stop the world)", "gc", 0});
    for (int p = 0; p < nprocs; ++p) tracks[100 + p].push_back({b, e, "GC pause", "gc", 0});
  }
  // Slices on one track must nest: sort by start (longest first) and clip
  // a slice that would end past the one enclosing it (clock reads on two
  // threads around a pause can disagree by a few ns).
  for (auto& [tid, v] : tracks) {
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
  // Flows: each arrow goes from the spawn or wake-up (inside the running
  // task's slice on its P) to the next run of the target task.
  auto inside_slice = [&](int tid, double ts) {
    const auto& v = tracks[tid];
    auto it = std::upper_bound(v.begin(), v.end(), ts,
                               [](double t, const slice& s) { return t < s.start; });
    while (it != v.begin()) {
      --it;
      if (it->start <= ts && ts <= it->end && std::string_view(it->cat) == "task") return true;
      if (it->end < ts && it->start < ts - 1e6) break;
    }
    return false;
  };
  std::sort(runs.begin(), runs.end(),
            [](const run_rec& a, const run_rec& b) { return a.start < b.start; });
  std::sort(flows.begin(), flows.end(),
            [](const flow_rec& a, const flow_rec& b) { return a.ts < b.ts; });
  std::map<uint64_t, flow_rec> pending;
  std::map<int, std::vector<flow_point>> flow_points;  // tid -> points
  uint64_t next_flow = 1;
  std::size_t fi = 0;
  for (const run_rec& r : runs) {
    while (fi < flows.size() && flows[fi].ts <= r.start) {
      pending[flows[fi].task] = flows[fi];
      ++fi;
    }
    auto it = pending.find(r.task);
    if (it == pending.end()) continue;
    const flow_rec f = it->second;
    pending.erase(it);
    if (!inside_slice(f.tid, f.ts)) continue;
    const uint64_t id = next_flow++;
    const char* name = f.spawn ? "spawn" : "wake";
    flow_points[f.tid].push_back({f.ts, f.tid, id, true, name});
    flow_points[r.tid].push_back({r.start, r.tid, id, false, name});
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
  for (auto& [tid, v] : tracks) {
    const std::string label = tid == 1 ? "GC" : "P" + std::to_string(tid - 100);
    begin_event() += "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":" + spid +
                     ",\"tid\":" + std::to_string(tid) + ",\"args\":{\"name\":\"" + label + "\"}}";
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
           ",\"dur\":" + num(std::max(s.end - s.start, 0.001)) + ",\"pid\":" + spid +
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
