// gcbench-limit: a steady-state "service" under gc_percent and a soft
// memory limit, with the Go peer's flags and JSON
// (bench/peers/go/gcbench_limit.go, run.go, metrics.go).
//
// The workload, as the Go peer's: a pointer-rich live set (entries of 16
// linked 64-byte objects, 1 KiB per entry, one shard per worker) plus a
// churn of short-lived 128-byte objects at a fixed total rate; every
// -replace-every churn allocations a worker replaces one random entry of its
// shard, so old objects die too. With -blob-bytes N each entry also holds
// one pointer-free object of N bytes (Go: make([]byte, N)): a live set of
// large objects (the gc-steady-blob4k row). With -grow-to-pct the live set ramps from
// -live-pct to that share of the limit over -ramp-s (the death spiral).
//
// Shaped for goro, and why:
//  * Object sizes match Go's size classes *as the collector stores them*:
//    Boehm with interior pointers adds one byte and rounds to 16
//    (reference/boehm-probe.md section 1), so the structs are 56 and 120
//    bytes and occupy 64 and 128. The memory limit measures heap bytes, so
//    equal heap bytes, not equal struct sizes, make the rows comparable.
//  * A worker that is ahead of its rate sleeps on goro's timers
//    (goro::sleep_for), as Go's worker calls time.Sleep: its P is free
//    meanwhile and an M with nothing to run parks.
//  * Go grows the live set from a separate grower goroutine; here the
//    workers grow it between batches: each claims up to 256 entries at a
//    time from a shared counter until the ramp's target is met. The growth
//    then runs at the workers' own pace and on their Ps, which is what the
//    grower does on a busy GOMAXPROCS=2 Go process too.
//  * The sampler (5 ms, heap peaks; windows every -window-ms) is a plain
//    thread: it reads goro::read_heap_stats(), which takes the collector's
//    lock for a moment and blocks while the world is stopped.
//
// What goro reports for Go's fields:
//  * go_mem (heap.peak_go_mem_bytes, windows' go_mem_mb): Go's
//    /memory/classes/total - /memory/classes/heap/released, i.e. everything
//    the runtime has mapped and not released. goro's equivalent is every
//    byte goro has mapped: the GC heap mapped (Boehm's heap less what it
//    unmapped, coroutine frames included), the collector's own metadata
//    (block headers, mark bits and stacks: what Boehm obtained from the OS
//    beyond the heap), runtime-internal malloc (mimalloc's committed bytes,
//    which replaces malloc process-wide, so this sampler's vectors count as
//    Go's runtime structures do) and the stacks of attached threads. This is
//    goro::heap_stats::managed_bytes(), the same total the memory limit
//    bounds.
//  * heap_objects: live after the last collection plus allocated since
//    (goro's heap estimate; Go's /memory/classes/heap/objects).
//  * GC CPU: goro's collector stops the world, so its GC CPU is procs x
//    pause, as Go counts stop-the-world phases (/cpu/classes/gc/pause);
//    the parallel markers run inside the pause. Each window gets the part
//    of every pause that overlaps it (a pause's interval is known when the
//    sampler observes its end). The measured CPU of the collecting threads
//    is reported beside it (gc_thread_cpu_fraction), as is goro's own
//    pacer_state and limiter_on (the GC CPU limiter refused a collection in
//    the window or is refusing at its end).

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/peers/workloads.hpp"
#include "core/clock.hpp"

namespace goro_peers {
namespace {

constexpr int kObjsPerEntry = 16;
// Bytes per live entry: 16 linked objects plus the optional blob
// (-blob-bytes). Set once before the run starts.
double g_entry_bytes = kObjsPerEntry * 64;
std::size_t g_blob_bytes = 0;
constexpr double kMiB = 1 << 20;

struct live_obj {
  live_obj* next;
  live_obj* other;
  uint64_t id;
  void* blob;  // -blob-bytes: one pointer-free object per entry
  uint64_t pad[3];
};
static_assert(sizeof(live_obj) == 56, "stored as a 64-byte object (see the file comment)");

struct churn_obj {
  live_obj* ref;
  churn_obj* next;
  uint64_t data[13];
};
static_assert(sizeof(churn_obj) == 120, "stored as a 128-byte object (see the file comment)");

// A blob is a single object (gc_new_noscan) of the exact size, as Go's
// make([]byte, n) is one object of n bytes; a GC array would carry
// Boehm's extra byte (heap/exact_alloc.cpp).
template <std::size_t N>
struct blob {
  unsigned char bytes[N];
};
constexpr std::size_t kBlobSizes[] = {1024, 2048, 4096, 8192, 16384, 65536};

void* new_blob() {
  switch (g_blob_bytes) {
    case 1024:
      return goro::gc_new_noscan<blob<1024>>();
    case 2048:
      return goro::gc_new_noscan<blob<2048>>();
    case 4096:
      return goro::gc_new_noscan<blob<4096>>();
    case 8192:
      return goro::gc_new_noscan<blob<8192>>();
    case 16384:
      return goro::gc_new_noscan<blob<16384>>();
    case 65536:
      return goro::gc_new_noscan<blob<65536>>();
    default:
      return nullptr;
  }
}

live_obj* new_entry(uint64_t id) {
  live_obj* head = nullptr;
  live_obj* mid = nullptr;
  for (int i = 0; i < kObjsPerEntry; ++i) {
    live_obj* o = goro::gc_new<live_obj>();
    if (i == 0 && g_blob_bytes > 0) o->blob = new_blob();
    o->next = head;
    o->id = id;
    if (i == kObjsPerEntry / 2) mid = o;
    o->other = mid;
    head = o;
  }
  return head;
}

// xorshift64, as the Go peer's.
struct xorshift {
  uint64_t x;
  uint64_t next() {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  }
};

struct alignas(64) worker_state {
  std::atomic<int64_t> count{0};  // churn allocations (atomic: the sampler reads it)
  live_obj** shard = nullptr;     // also held by g_roots (GC-visible)
  int64_t shard_len = 0;
};

// GC-visible roots: the data segment is scanned, so these keep the live set.
live_obj*** volatile g_shards = nullptr;  // one shard per worker
live_obj** volatile g_grown = nullptr;    // the grower's entries

struct config {
  double limit_bytes = -1;  // -1: none
  double start_bytes = 0, end_bytes = 0;
  double ramp_s = 0, duration_s = 0, rate = 0;
  int workers = 0;
  int64_t replace_every = 0;
  uint64_t ring = 1;
  int64_t window_ms = 250;
  int procs = 1;
};

double target_bytes(const config& c, double t) {
  if (c.end_bytes <= c.start_bytes || c.ramp_s <= 0) return c.end_bytes;
  const double f = std::min(t / c.ramp_s, 1.0);
  return c.start_bytes + (c.end_bytes - c.start_bytes) * f;
}

struct shared_run {
  config cfg;
  int64_t t0_ns = 0;
  int64_t start_entries = 0;
  int64_t grow_entries = 0;
  std::atomic<int64_t> grow_claimed{0};
  std::atomic<int64_t> grown{0};  // entries stored in g_grown
  std::vector<worker_state> ws;
  std::atomic<bool> stop{false};

  double elapsed_s() const { return static_cast<double>(goro::nanotime() - t0_ns) / 1e9; }
  double ops() const {
    int64_t s = 0;
    for (const worker_state& w : ws) s += w.count.load(std::memory_order_relaxed);
    return static_cast<double>(s);
  }
  double live_actual_bytes() const {
    return static_cast<double>(start_entries + grown.load(std::memory_order_relaxed)) *
           g_entry_bytes;
  }
};

// Claims and builds up to 256 entries of the ramp's target.
void grow_some(shared_run& s) {
  if (s.grow_entries == 0) return;
  const auto want = static_cast<int64_t>((target_bytes(s.cfg, s.elapsed_s()) - s.cfg.start_bytes) /
                                         g_entry_bytes);
  const int64_t limit = std::min(want, s.grow_entries);
  int64_t claimed = s.grow_claimed.load(std::memory_order_relaxed);
  while (claimed < limit) {
    const int64_t n = std::min<int64_t>(256, limit - claimed);
    if (!s.grow_claimed.compare_exchange_weak(claimed, claimed + n, std::memory_order_relaxed))
      continue;
    uint64_t id = (uint64_t{1} << 60) + static_cast<uint64_t>(claimed);
    for (int64_t k = 0; k < n; ++k) g_grown[claimed + k] = new_entry(id++);
    s.grown.fetch_add(n, std::memory_order_relaxed);
    return;
  }
}

goro::task<void> build_shard(worker_state* w, int index, int64_t n, uint64_t seed) {
  live_obj** shard =
      goro::gc_new_array<live_obj*>(static_cast<std::size_t>(std::max<int64_t>(n, 1)));
  for (int64_t j = 0; j < n; ++j) shard[j] = new_entry(seed + static_cast<uint64_t>(j));
  g_shards[index] = shard;
  w->shard = shard;
  w->shard_len = n;
  co_return;
}

goro::task<void> churn_worker(shared_run* s, worker_state* w, uint64_t seed) {
  const config& c = s->cfg;
  xorshift rng{seed * 2654435761ULL + 88172645463325252ULL};
  churn_obj** rs = goro::gc_new_array<churn_obj*>(c.ring);
  const uint64_t mask = c.ring - 1;
  uint64_t idx = 0;
  double done = 0;
  int64_t since = 0;
  const double per_worker = c.rate / c.workers;
  const auto end_ns = s->t0_ns + static_cast<int64_t>(c.duration_s * 1e9);
  constexpr int kBatch = 256;
  while (goro::nanotime() < end_ns) {
    for (int b = 0; b < kBatch; ++b) {
      churn_obj* o = goro::gc_new<churn_obj>();
      o->data[0] = idx;
      if (w->shard_len > 0) o->ref = w->shard[idx % static_cast<uint64_t>(w->shard_len)];
      // Linked to the previous object only within a 4-object "request", so
      // nothing stays reachable past the ring.
      if ((idx & 3) != 0) o->next = rs[(idx - 1) & mask];
      rs[idx & mask] = o;
      ++idx;
      if (c.replace_every > 0 && ++since >= c.replace_every && w->shard_len > 0) {
        since = 0;
        w->shard[rng.next() % static_cast<uint64_t>(w->shard_len)] = new_entry(idx);
      }
    }
    w->count.fetch_add(kBatch, std::memory_order_relaxed);
    done += kBatch;
    grow_some(*s);
    if (per_worker > 0) {
      for (;;) {
        const int64_t now = goro::nanotime();
        if (now >= end_ns) break;
        const double ahead = done - per_worker * static_cast<double>(now - s->t0_ns) / 1e9;
        if (ahead <= 0) break;
        const auto ns = static_cast<int64_t>(ahead / per_worker * 1e9);
        co_await goro::sleep_for(std::chrono::nanoseconds(std::min(ns, end_ns - now)));
      }
    }
  }
  s->stop.store(true, std::memory_order_relaxed);
  co_return;
}

double round1(double x) {
  return std::floor(x * 10 + 0.5) / 10;
}
double round3(double x) {
  return std::floor(x * 1000 + 0.5) / 1000;
}
double mb(uint64_t b) {
  return round1(static_cast<double>(b) / kMiB);
}

int64_t rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6) * 1024;
  return -1;
}

// One timeline window, Go's fields plus goro's.
struct window {
  double t_start_s = 0, t_end_s = 0;
  double live_target_mb = 0, live_mb = 0, heap_objects_mb = 0, go_mem_mb = 0, heap_goal_mb = 0,
         rss_mb = 0;
  uint64_t gc_cycles = 0, gc_cycle_total = 0;
  double gc_cpu_fraction = 0, gc_thread_cpu_fraction = 0, cpu_util = 0, allocs_per_s = 0;
  uint64_t limiter_last_enabled_cycle = 0;
  std::string pacer_state;
  bool limiter_on = false;
};

struct pause_interval {
  double start_s, end_s;
};

// The sampler: heap peaks every 5 ms, a window every window_ms (Go's
// startSampler), pause intervals for the windows' GC CPU.
class sampler {
 public:
  explicit sampler(shared_run* s) : s_(s) {
    const goro::heap_stats h = goro::read_heap_stats();
    first_ = last_ = h;
    thread_ = std::thread([this] { loop(); });
  }
  ~sampler() { stop(); }

  void stop() {
    if (!thread_.joinable()) return;
    quit_.store(true, std::memory_order_relaxed);
    thread_.join();
    finish_windows();
  }

  uint64_t peak_heap_objects = 0, peak_managed = 0;
  goro::heap_stats first_, last_;
  std::vector<window> windows;
  uint64_t limiter_engagements_seen = 0;

 private:
  goro::heap_stats observe() {
    const goro::heap_stats h = goro::read_heap_stats();
    const double now = s_->elapsed_s();
    peak_heap_objects = std::max(peak_heap_objects, h.live_bytes + h.allocated_since_gc_bytes);
    peak_managed = std::max(peak_managed, h.managed_bytes());
    if (h.total_pause_ns > last_.total_pause_ns) {
      // The sampler was blocked until the world restarted: the pause ended
      // about now and lasted what the counter grew by.
      const double d = static_cast<double>(h.total_pause_ns - last_.total_pause_ns) / 1e9;
      pauses_.push_back({now - d, now});
    }
    last_ = h;
    return h;
  }

  void loop() {
    const double win = static_cast<double>(s_->cfg.window_ms) / 1000;
    double next_win = win, prev_t = 0, prev_ops = s_->ops(), prev_cpu = process_cpu_seconds();
    uint64_t prev_cycles = first_.collections, prev_engagements = first_.gc_limiter_engagements;
    int64_t prev_gc_cpu = first_.gc_cpu_ns;
    while (!quit_.load(std::memory_order_relaxed)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      const goro::heap_stats h = observe();
      if (s_->cfg.window_ms <= 0) continue;
      const double t = s_->elapsed_s();
      if (t < next_win) continue;
      const double dt = t - prev_t;
      const double cpu = process_cpu_seconds();
      const double ops = s_->ops();
      window w;
      w.t_start_s = prev_t;
      w.t_end_s = round3(t);
      w.live_target_mb = round1(target_bytes(s_->cfg, t) / kMiB);
      w.live_mb = round1(s_->live_actual_bytes() / kMiB);
      w.heap_objects_mb = mb(h.live_bytes + h.allocated_since_gc_bytes);
      w.go_mem_mb = mb(h.managed_bytes());
      w.heap_goal_mb = h.heap_goal_bytes == UINT64_MAX ? -1 : mb(h.heap_goal_bytes);
      w.rss_mb = round1(static_cast<double>(rss_bytes()) / kMiB);
      w.gc_cycles = h.collections - prev_cycles;
      w.gc_cycle_total = h.collections;
      w.gc_thread_cpu_fraction =
          round3(static_cast<double>(h.gc_cpu_ns - prev_gc_cpu) / 1e9 / (s_->cfg.procs * dt));
      w.cpu_util = round3((cpu - prev_cpu) / (s_->cfg.procs * dt));
      w.allocs_per_s = std::floor((ops - prev_ops) / dt);
      w.limiter_last_enabled_cycle = h.gc_limiter_last_engaged_cycle;
      w.pacer_state = goro::pacer::to_string(h.gc_pressure);
      w.limiter_on = h.gc_limiter_engaged || h.gc_limiter_engagements != prev_engagements;
      windows.push_back(w);
      prev_t = t;
      prev_ops = ops;
      prev_cpu = cpu;
      prev_cycles = h.collections;
      prev_engagements = h.gc_limiter_engagements;
      prev_gc_cpu = h.gc_cpu_ns;
      while (next_win <= t) next_win += win;
    }
    observe();
  }

  // GC CPU of each window: procs x the pause time inside it, over procs x
  // its length.
  void finish_windows() {
    for (window& w : windows) {
      double in = 0;
      for (const pause_interval& p : pauses_)
        in += std::max(0.0, std::min(p.end_s, w.t_end_s) - std::max(p.start_s, w.t_start_s));
      const double len = w.t_end_s - w.t_start_s;
      w.gc_cpu_fraction = len > 0 ? round3(in / len) : 0;
    }
  }

  shared_run* s_;
  std::thread thread_;
  std::atomic<bool> quit_{false};
  std::vector<pause_interval> pauses_;  // sampler thread only, until joined
};

std::string windows_json(const std::vector<window>& ws) {
  json_writer j;
  j.begin_array();
  for (const window& w : ws) {
    j.begin_object()
        .field("t_end_s", w.t_end_s)
        .field("live_target_mb", w.live_target_mb)
        .field("live_mb", w.live_mb)
        .field("heap_objects_mb", w.heap_objects_mb)
        .field("go_mem_mb", w.go_mem_mb)
        .field("heap_goal_mb", w.heap_goal_mb)
        .field("rss_mb", w.rss_mb)
        .field("gc_cycles", w.gc_cycles)
        .field("gc_cycle_total", w.gc_cycle_total)
        .field("gc_cpu_fraction", w.gc_cpu_fraction)
        .field("cpu_util", w.cpu_util)
        .field("allocs_per_s", w.allocs_per_s)
        .field("limiter_last_enabled_cycle", w.limiter_last_enabled_cycle)
        .field("gc_thread_cpu_fraction", w.gc_thread_cpu_fraction)
        .field("pacer_state", w.pacer_state)
        .field("limiter_on", w.limiter_on)
        .end_object();
  }
  j.end_array();
  return j.str();
}

goro::task<run_report> gcbench_root(shared_run* s, int gogc, const invocation* inv) {
  config& c = s->cfg;
  c.procs = current_procs();
  if (c.workers <= 0) c.workers = c.procs;
  auto params = inv->params;
  params["effective_workers"] = static_cast<int64_t>(c.workers);

  // The initial live set, one shard per worker, built in parallel.
  s->ws = std::vector<worker_state>(static_cast<std::size_t>(c.workers));
  g_shards = goro::gc_new_array<live_obj**>(static_cast<std::size_t>(c.workers));
  s->start_entries = static_cast<int64_t>(c.start_bytes / g_entry_bytes);
  {
    std::vector<goro::join_handle<void>> hs;
    for (int i = 0; i < c.workers; ++i) {
      const int64_t n = s->start_entries / c.workers + (i < s->start_entries % c.workers ? 1 : 0);
      hs.push_back(goro::spawn(
          build_shard(&s->ws[static_cast<std::size_t>(i)], i, n, static_cast<uint64_t>(i) << 40)));
    }
    for (auto& h : hs) co_await h;
  }
  s->grow_entries =
      std::max<int64_t>(0, static_cast<int64_t>((c.end_bytes - c.start_bytes) / g_entry_bytes));
  g_grown = goro::gc_new_array<live_obj*>(
      static_cast<std::size_t>(std::max<int64_t>(s->grow_entries, 1)));

  run_report r("gcbench-limit", inv->label, params, c.procs);
  goro::gc();  // start from a clean heap, as the Go peer's runtime.GC()
  const goro::heap_stats h0 = goro::read_heap_stats();
  r.begin();
  s->t0_ns = goro::nanotime();
  auto smp = std::make_unique<sampler>(s);

  std::vector<goro::join_handle<void>> hs;
  for (int i = 0; i < c.workers; ++i)
    hs.push_back(goro::spawn(
        churn_worker(s, &s->ws[static_cast<std::size_t>(i)], static_cast<uint64_t>(i + 1))));
  for (auto& h : hs) co_await h;
  const double total = s->ops();
  const double live_now = s->live_actual_bytes() / kMiB;
  smp->stop();
  char check[64];
  std::snprintf(check, sizeof check, "ok live_mb=%.1f", live_now);
  r.end(total, "allocs", check);
  const goro::heap_stats h1 = smp->last_;
  const double wall = r.wall_s();
  const uint64_t cycles = h1.collections - h0.collections;
  const double gc_cpu_s = static_cast<double>(h1.total_pause_ns - h0.total_pause_ns) / 1e9;
  r.set_gc(cycles, wall > 0 ? gc_cpu_s / wall : 0, "goro:procs*pause");

  json_writer heap;
  const uint64_t alloc_bytes = h1.total_allocated_bytes - h0.total_allocated_bytes;
  heap.begin_object()
      .field("peak_heap_objects_bytes", smp->peak_heap_objects)
      .field("peak_go_mem_bytes", smp->peak_managed)
      .field("mem_limit_bytes", c.limit_bytes);
  if (c.limit_bytes > 0) {
    heap.field("peak_go_mem_over_limit", static_cast<double>(smp->peak_managed) / c.limit_bytes)
        .field("peak_rss_over_limit", static_cast<double>(r.peak_rss()) / c.limit_bytes);
  }
  heap.field("gogc", gogc)
      .field("alloc_bytes", alloc_bytes)
      .field("alloc_mb_per_s", wall > 0 ? static_cast<double>(alloc_bytes) / kMiB / wall : 0)
      .field("limiter_last_enabled_cycle", h1.gc_limiter_last_engaged_cycle)
      .field("final_live_mb", live_now)
      .field(
          "gc_thread_cpu_fraction",
          wall > 0 ? static_cast<double>(h1.gc_cpu_ns - h0.gc_cpu_ns) / 1e9 / (c.procs * wall) : 0)
      .field("limiter_engagements", h1.gc_limiter_engagements - h0.gc_limiter_engagements)
      .field("pacer_transitions", h1.gc_pressure_transitions - h0.gc_pressure_transitions)
      .end_object();
  r.add_field("heap", heap.str());
  r.add_field("windows", windows_json(smp->windows));
  g_shards = nullptr;
  g_grown = nullptr;
  co_return r;
}

}  // namespace

void run_gcbench_limit(const args_t& args) {
  flag_set fs("gcbench-limit");
  const double* limit_mb = fs.add_float(
      "limit-mb", 0, "soft memory limit in MiB via goro::set_memory_limit (0 = GORO_MEMLIMIT)");
  const std::string* gogc_flag = fs.add_string(
      "gogc", "", "GC percent via goro::set_gc_percent: integer or 'off' (empty = GORO_GC)");
  const double* live_mb =
      fs.add_float("live-mb", 0, "initial live set in MiB (0 = -live-pct of the limit)");
  const double* live_pct =
      fs.add_float("live-pct", 50, "initial live set as percent of the memory limit");
  const double* grow_pct = fs.add_float(
      "grow-to-pct", 0, "if >0, ramp the live set to this percent of the limit over -ramp-s");
  const double* ramp_s = fs.add_float("ramp-s", 6, "ramp duration in seconds (with -grow-to-pct)");
  const double* dur_s = fs.add_float("duration-s", 8, "measured duration in seconds");
  const double* rate = fs.add_float(
      "rate", 2e6, "target churn allocations per second, all workers together (0 = unpaced)");
  const int64_t* workers = fs.add_int("workers", 0, "churn tasks (0 = GOMAXPROCS)");
  const int64_t* replace_every =
      fs.add_int("replace-every", 64,
                 "replace one live entry every N churn allocations per worker (0 = never)");
  const int64_t* ring_n =
      fs.add_int("ring", 64, "short-lived objects each worker keeps reachable (power of two)");
  const int64_t* window_ms = fs.add_int("window-ms", 250, "timeline window in ms");
  const int64_t* blob_bytes = fs.add_int(
      "blob-bytes", 0,
      "each live entry also holds one pointer-free object of this many bytes (0 = none; 1024, "
      "2048, 4096, 8192, 16384 or 65536)");
  invocation inv = parse_common(fs, args);
  if (*blob_bytes != 0 && std::find(std::begin(kBlobSizes), std::end(kBlobSizes),
                                    static_cast<std::size_t>(*blob_bytes)) == std::end(kBlobSizes))
    fs.fail("bad -blob-bytes: " + std::to_string(*blob_bytes) +
            " (want 0, 1024, 2048, 4096, 8192, 16384 or 65536)");
  g_blob_bytes = static_cast<std::size_t>(*blob_bytes);
  g_entry_bytes = kObjsPerEntry * 64 + static_cast<double>(g_blob_bytes);

  if (*gogc_flag == "off") {
    goro::set_gc_percent(-1);
  } else if (!gogc_flag->empty()) {
    char* end = nullptr;
    const long v = std::strtol(gogc_flag->c_str(), &end, 10);
    if (end != gogc_flag->c_str() + gogc_flag->size() || v > INT32_MAX || v < INT32_MIN)
      fs.fail("bad -gogc: \"" + *gogc_flag + "\" (want an integer or off)");
    goro::set_gc_percent(static_cast<int>(v));
  }
  if (*limit_mb > 0) goro::set_memory_limit(static_cast<int64_t>(*limit_mb * kMiB));
  if (*dur_s <= 0 || *rate < 0 || *live_mb < 0 || *live_pct < 0 || *ramp_s < 0 || *workers < 0 ||
      *replace_every < 0 || *ring_n < 1 || *window_ms < 0)
    fs.fail("want -duration-s > 0, -ring >= 1 and no negative sizes, rates or counts");

  shared_run s;
  config& c = s.cfg;
  const int64_t limit = goro::set_memory_limit(-1);
  const bool has_limit = limit > 0 && limit != goro::no_memory_limit;
  c.limit_bytes = has_limit ? static_cast<double>(limit) : -1;
  inv.params["effective_limit_mb"] = has_limit ? static_cast<double>(limit) / kMiB : -1.0;
  // No getter: set and restore (nothing allocates in between).
  const int gogc = goro::set_gc_percent(0);
  goro::set_gc_percent(gogc);
  inv.params["effective_gogc"] = static_cast<int64_t>(gogc);
  c.start_bytes = *live_mb * kMiB;
  if (c.start_bytes == 0) {
    if (!has_limit) fs.fail("need -live-mb or a memory limit (-limit-mb / GORO_MEMLIMIT)");
    c.start_bytes = *live_pct / 100 * static_cast<double>(limit);
  }
  c.end_bytes = c.start_bytes;
  if (*grow_pct > 0) {
    if (!has_limit) fs.fail("-grow-to-pct needs a memory limit");
    c.end_bytes = *grow_pct / 100 * static_cast<double>(limit);
  }
  c.ramp_s = *ramp_s;
  c.duration_s = *dur_s;
  c.rate = *rate;
  c.workers = static_cast<int>(std::min<int64_t>(*workers, 1 << 16));
  c.replace_every = *replace_every;
  while (c.ring < static_cast<uint64_t>(*ring_n)) c.ring <<= 1;
  c.window_ms = *window_ms;
  print_report(goro::run(gcbench_root(&s, gogc, &inv), inv.opts));
}

}  // namespace goro_peers
