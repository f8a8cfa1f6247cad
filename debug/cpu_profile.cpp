#include "debug/cpu_profile.hpp"

#include <signal.h>
#include <sys/time.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "debug/pprof_builder.hpp"
#include "debug/symbolize.hpp"
#include "debug/task_dump.hpp"
#include "sched/detail/runtime_hooks.hpp"

namespace goro::debug {
namespace {

constexpr int kMaxDepth = 64;
constexpr std::size_t kCapacity = 16384;

struct sample {
  std::atomic<bool> ready{false};
  int depth = 0;
  uint64_t task_id = 0;
  const char* spawn_function = nullptr;
  const char* spawn_file = nullptr;
  uint32_t spawn_line = 0;
  uintptr_t pcs[kMaxDepth];
};

std::mutex g_control;  // start/stop
std::atomic<bool> g_active{false};
std::atomic<std::size_t> g_next{0};
std::atomic<uint64_t> g_lost{0};
sample* g_samples = nullptr;  // kCapacity; allocated once, kept (a late signal may still write)
bool g_handler_installed = false;
int g_hz = 100;
std::chrono::system_clock::time_point g_start;

void on_sigprof(int, siginfo_t*, void*) {
  if (!g_active.load(std::memory_order_acquire)) return;
  const int saved = errno;
  const std::size_t i = g_next.fetch_add(1, std::memory_order_relaxed);
  if (i >= kCapacity) {
    g_lost.fetch_add(1, std::memory_order_relaxed);
  } else {
    sample& s = g_samples[i];
    s.depth = capture_signal_stack(s.pcs, kMaxDepth);
    if (const detail::task_header* t = detail::current_task()) {
      s.task_id = t->id;
      s.spawn_function = t->spawn_site.function_name();
      s.spawn_file = t->spawn_site.file_name();
      s.spawn_line = t->spawn_site.line();
    }
    s.ready.store(true, std::memory_order_release);
  }
  errno = saved;
}

void set_timer(int hz) {
  itimerval it{};
  if (hz > 0) {
    it.it_interval.tv_usec = 1'000'000 / hz;
    it.it_value = it.it_interval;
  }
  setitimer(ITIMER_PROF, &it, nullptr);
}

}  // namespace

void start_cpu_profile(int hz) {
  if (hz < 1 || hz > 1000)
    throw std::invalid_argument("goro::debug::start_cpu_profile(" + std::to_string(hz) +
                                "): want a rate in 1..1000 Hz");
  std::lock_guard lk(g_control);
  if (g_active.load()) throw std::logic_error("goro::debug::start_cpu_profile: already profiling");
  if (g_samples == nullptr) g_samples = new sample[kCapacity];
  for (std::size_t i = 0; i < kCapacity; ++i) g_samples[i].ready.store(false);
  g_next.store(0);
  g_lost.store(0);
  if (!g_handler_installed) {
    // Installed once and kept: a SIGPROF still pending after stop must not
    // meet the default action (which ends the process).
    struct sigaction sa {};
    sa.sa_sigaction = on_sigprof;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    if (sigaction(SIGPROF, &sa, nullptr) != 0)
      throw std::runtime_error("goro::debug::start_cpu_profile: sigaction(SIGPROF) failed");
    g_handler_installed = true;
  }
  capture_stack(g_samples[0].pcs, 2);  // the unwinder's lazy set-up, outside the handler
  g_hz = hz;
  g_start = std::chrono::system_clock::now();
  g_active.store(true, std::memory_order_release);
  set_timer(hz);
}

bool cpu_profile_running() noexcept {
  return g_active.load(std::memory_order_acquire);
}

std::string stop_cpu_profile() {
  std::lock_guard lk(g_control);
  if (!g_active.load()) throw std::logic_error("goro::debug::stop_cpu_profile: not profiling");
  set_timer(0);
  g_active.store(false, std::memory_order_seq_cst);
  const auto end = std::chrono::system_clock::now();
  // A handler that passed the g_active check may still be writing its
  // sample: those are the ones not yet `ready`; give them a moment.
  const std::size_t n = std::min(g_next.load(), kCapacity);
  for (int spin = 0; spin < 1000; ++spin) {
    bool all = true;
    for (std::size_t i = 0; i < n && all; ++i)
      all = g_samples[i].ready.load(std::memory_order_acquire);
    if (all) break;
    struct timespec ts {
      0, 1'000'000
    };
    nanosleep(&ts, nullptr);
  }

  const int64_t period = 1'000'000'000 / g_hz;
  profile_builder b({{"samples", "count"}, {"cpu", "nanoseconds"}}, {"cpu", "nanoseconds"}, period);
  b.set_time(
      std::chrono::duration_cast<std::chrono::nanoseconds>(g_start.time_since_epoch()).count(),
      std::chrono::duration_cast<std::chrono::nanoseconds>(end - g_start).count());
  symbolizer sym;
  std::map<uintptr_t, uint64_t> loc_of_pc;
  auto location = [&](uintptr_t pc, const symbol& s) {
    if (auto it = loc_of_pc.find(pc); it != loc_of_pc.end()) return it->second;
    std::string name = s.function;
    if (name.empty()) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%s+0x%zx", s.module.empty() ? "?" : s.module.c_str(),
                    static_cast<std::size_t>(s.module_offset));
      name = buf;
    }
    const uint64_t id = b.location(b.function(name, s.file), s.line, pc);
    loc_of_pc.emplace(pc, id);
    return id;
  };
  // Aggregate identical (stack, task) samples.
  std::map<std::pair<std::vector<uint64_t>, std::vector<std::string>>, int64_t> agg;
  std::map<uintptr_t, symbol> sym_cache;
  for (std::size_t i = 0; i < n; ++i) {
    const sample& s = g_samples[i];
    if (!s.ready.load(std::memory_order_acquire)) continue;
    auto lookup = [&](int k) -> const symbol& {
      const uintptr_t pc = s.pcs[k];
      auto it = sym_cache.find(pc);
      if (it == sym_cache.end()) it = sym_cache.emplace(pc, sym.lookup(k == 0 ? pc : pc - 1)).first;
      return it->second;
    };
    // The handler's own frames end at the signal trampoline (capture leaves
    // them out already; kept for a stack captured without a signal frame).
    int first = 0;
    for (int k = 0; k < std::min(s.depth, 6); ++k)
      if (lookup(k).function == "__restore_rt") first = k + 1;
    std::vector<uint64_t> locs;
    for (int k = first; k < s.depth; ++k) locs.push_back(location(s.pcs[k], lookup(k)));
    std::vector<std::string> labels;
    if (s.task_id) {
      labels.push_back(std::to_string(s.task_id));
      std::string site = clean_function_name(s.spawn_function);
      site += " at ";
      site += s.spawn_file;
      site += ":" + std::to_string(s.spawn_line);
      labels.push_back(std::move(site));
    }
    ++agg[{std::move(locs), std::move(labels)}];
  }
  for (const auto& [key, count] : agg) {
    std::vector<profile_builder::label> labels;
    if (!key.second.empty()) {
      labels.push_back({"task_id", key.second[0]});
      labels.push_back({"task_created_by", key.second[1]});
    }
    b.add_sample(key.first, {count, count * period}, labels);
  }
  if (const uint64_t lost = g_lost.load())
    b.add_comment("goro: " + std::to_string(lost) + " samples lost (buffer full)");
  return b.encode_gzip();
}

}  // namespace goro::debug
