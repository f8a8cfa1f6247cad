// The knobs: gc_percent, the memory limit, gctrace, and where they are read
// from the environment. See heap/gc_settings.hpp.
//
// The settings are atomics, the single source of truth: the pacer policy
// copies them into its pacer at every check (under the driver's policy
// lock), so a setter only stores and then asks the driver to recompute the
// trigger (detail::settings_changed), which is what makes a change take effect
// at the next allocation check.

#include "heap/gc_settings.hpp"

#include <sched.h>

#include <atomic>
#include <mutex>
#include <string>

#include "core/clock.hpp"
#include "core/env.hpp"
#include "core/fatal.hpp"
#include "heap/collector_init.hpp"
#include "heap/detail/driver.hpp"
#include "heap/detail/gc_knobs.hpp"
#include "heap/memory_limit_default.hpp"

namespace goro {
namespace heap::detail {
namespace {

struct knobs {
  std::atomic<int> gc_percent{100};                    // atomic
  std::atomic<int64_t> memory_limit{no_memory_limit};  // atomic
  std::atomic<bool> gctrace{false};                    // atomic; set at start-up only
  std::atomic<int> procs{0};                           // atomic; 0: not yet known
  std::atomic<int64_t> start_ns{0};                    // atomic; set at start-up only
  // Where memory_limit came from; written with it under limit_mu.
  std::atomic<memory_limit_source> limit_source{memory_limit_source::none};
  std::mutex limit_mu;  // serialises the memory limit's writers
};
knobs g_knobs;

int affinity_cpus() noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  const int n = CPU_COUNT(&set);
  return n > 0 ? n : 1;
}

int parse_gc_percent(const std::string& v) {
  if (v == "off") return -1;
  try {
    return static_cast<int>(env::parse_int("GORO_GC", v, 0, 1'000'000'000));
  } catch (const config_error&) {
    throw config_error("GORO_GC=\"" + v +
                       "\": want off or a percentage in [0, 1000000000] (e.g. GORO_GC=100)");
  }
}

int64_t parse_memory_limit(const std::string& v) {
  if (v == "off") return no_memory_limit;
  try {
    return env::parse_bytes("GORO_MEMLIMIT", v);
  } catch (const config_error&) {
    throw config_error("GORO_MEMLIMIT=\"" + v +
                       "\": want off or a byte count with an optional B, KiB, MiB, GiB or TiB "
                       "suffix (e.g. GORO_MEMLIMIT=900MiB)");
  }
}

}  // namespace

void read_gc_environment() {
  g_knobs.start_ns.store(nanotime(), std::memory_order_relaxed);
  try {
    if (auto v = env::get("GORO_GC")) g_knobs.gc_percent.store(parse_gc_percent(*v));
    if (auto v = env::get("GORO_MEMLIMIT")) {
      g_knobs.memory_limit.store(parse_memory_limit(*v));
      g_knobs.limit_source.store(memory_limit_source::env);
    }
    if (auto v = env::get("GORO_DEBUG")) {
      // Only gctrace is the heap's; the scheduler validates the other keys.
      const auto kv = env::parse_debug(*v);
      if (auto it = kv.find("gctrace"); it != kv.end())
        g_knobs.gctrace.store(env::parse_int("GORO_DEBUG gctrace", it->second, 0, 1) == 1);
    }
  } catch (const config_error& e) {
    die(e.what(), 2);
  }
  refresh_memory_limit_default();  // the cgroup's, unless GORO_MEMLIMIT was set
}

int gc_percent_setting() noexcept {
  return g_knobs.gc_percent.load(std::memory_order_relaxed);
}

int64_t memory_limit_setting() noexcept {
  return g_knobs.memory_limit.load(std::memory_order_relaxed);
}

memory_limit_source memory_limit_source_setting() noexcept {
  return g_knobs.limit_source.load(std::memory_order_relaxed);
}

void apply_default_memory_limit(int64_t bytes) {
  std::lock_guard lk(g_knobs.limit_mu);
  const memory_limit_source s = g_knobs.limit_source.load();
  if (s == memory_limit_source::env || s == memory_limit_source::code) return;
  const int64_t want = bytes < 0 ? no_memory_limit : bytes;
  g_knobs.limit_source.store(bytes < 0 ? memory_limit_source::none : memory_limit_source::cgroup);
  if (g_knobs.memory_limit.exchange(want) != want && initialized()) settings_changed();
}

bool gctrace_enabled() noexcept {
  return g_knobs.gctrace.load(std::memory_order_relaxed);
}

int gc_procs() noexcept {
  int p = g_knobs.procs.load(std::memory_order_relaxed);
  if (p == 0) {
    p = affinity_cpus();
    int expected = 0;
    if (!g_knobs.procs.compare_exchange_strong(expected, p)) p = expected;
  }
  return p;
}

int64_t heap_start_ns() noexcept {
  return g_knobs.start_ns.load(std::memory_order_relaxed);
}

}  // namespace heap::detail

void heap::set_gc_procs(int procs) noexcept {
  detail::g_knobs.procs.store(procs < 1 ? 1 : procs, std::memory_order_relaxed);
}

int set_gc_percent(int percent) {
  heap::init();
  const int old = heap::detail::g_knobs.gc_percent.exchange(percent < 0 ? -1 : percent);
  heap::detail::settings_changed();
  return old;
}

int64_t set_memory_limit(int64_t bytes) {
  heap::init();
  if (bytes < 0) return heap::detail::g_knobs.memory_limit.load();
  int64_t old;
  {
    std::lock_guard lk(heap::detail::g_knobs.limit_mu);
    heap::detail::g_knobs.limit_source.store(heap::memory_limit_source::code);
    old = heap::detail::g_knobs.memory_limit.exchange(bytes);
  }
  heap::detail::settings_changed();
  return old;
}

}  // namespace goro
