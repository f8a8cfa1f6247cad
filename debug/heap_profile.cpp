#include "debug/heap_profile.hpp"

#include <pthread.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "core/fatal.hpp"
#include "debug/pprof_builder.hpp"
#include "debug/symbolize.hpp"
#include "heap/alloc_sample.hpp"
#include "heap/detail/driver.hpp"

namespace goro::debug {
namespace {

constexpr int kMaxDepth = 32;

struct record {
  void* link = nullptr;  // cleared by the collector once the object is gone
  uintptr_t addr = 0;    // the object's address (kept after the link is cleared)
  std::size_t obj_bytes = 0;
  double objects = 0, bytes = 0;  // what the sample stands for (unsampled)
  int depth = 0;
  uintptr_t pcs[kMaxDepth];
};

struct totals {
  double alloc_objects = 0, alloc_bytes = 0;
};

struct state {
  std::mutex lock;
  std::unordered_map<uintptr_t, record*> live;  // by address: watched, maybe collected
  std::map<std::pair<std::vector<uintptr_t>, std::size_t>, totals> freed;  // by (stack, size)
};

state& st() {
  static state* s = new state;  // never destroyed: samples may come during exit
  return *s;
}

// fork() copies the forking thread only: the state's lock, held by another
// thread sampling an allocation or building a profile at that moment,
// would stay locked in the child, whose first sampled allocation would
// then wait for it forever. So a fork takes the lock across the fork.
// Lock order: this lock, then Boehm's allocation lock (watch_object runs
// under it), and the collection driver's locks are never held while
// sampling (heap/collector.cpp). Prepare handlers run in the reverse order
// of registration, so this one must be registered after Boehm's (GC_INIT)
// and the driver's: the first time the lock is taken once the collector is
// up, which is before any sample (an allocation initialises it).
void lock_for_fork() {
  st().lock.lock();
}
void unlock_after_fork() {
  st().lock.unlock();
}

// The state, its fork handlers registered if the collector is up.
state& fork_safe_state() {
  static std::atomic<bool> registered{false};
  if (!registered.load(std::memory_order_acquire) && heap::detail::initialized()) {
    static std::once_flag once;
    std::call_once(once, [] {
      if (pthread_atfork(lock_for_fork, unlock_after_fork, unlock_after_fork) != 0)
        fatal("heap profile: pthread_atfork failed");
      registered.store(true, std::memory_order_release);
    });
  }
  return st();
}

// Unwatches a record and adds it to the freed totals (the lock held).
void retire(state& s, record* r) noexcept {
  heap::unwatch_object(&r->link, reinterpret_cast<void*>(r->addr));
  try {
    totals& t = s.freed[{std::vector<uintptr_t>(r->pcs, r->pcs + r->depth), r->obj_bytes}];
    t.alloc_objects += r->objects;
    t.alloc_bytes += r->bytes;
  } catch (...) {
    // Out of memory: the sample is lost from the allocs totals, nothing else.
  }
  delete r;
}

void on_sample(void* obj, std::size_t obj_bytes, std::size_t handout_bytes, int64_t rate) noexcept {
  auto* r = new (std::nothrow) record;
  if (r == nullptr) return;
  r->depth = capture_stack(r->pcs, kMaxDepth);
  r->obj_bytes = obj_bytes;
  // Poisson sampling over bytes: a hand-out of B bytes is sampled with
  // probability 1 - exp(-B/rate); divide by it to unsample (Go's scaleHeapSample).
  const double p = 1 - std::exp(-static_cast<double>(handout_bytes) / static_cast<double>(rate));
  r->bytes = static_cast<double>(handout_bytes) / p;
  r->objects = r->bytes / static_cast<double>(obj_bytes ? obj_bytes : 1);
  r->addr = reinterpret_cast<uintptr_t>(obj);
  state& s = fork_safe_state();
  std::lock_guard lk(s.lock);
  if (!heap::watch_object(&r->link, obj)) {
    delete r;
    return;
  }
  try {
    auto [it, inserted] = s.live.try_emplace(r->addr, r);
    if (!inserted) {
      // An earlier sample at this address was collected (its link is null)
      // and the memory handed out again: count it as freed now.
      retire(s, it->second);
      it->second = r;
    }
  } catch (...) {
    heap::unwatch_object(&r->link, obj);
    delete r;
  }
}

// A watched object freed explicitly (heap::detail::release): unwatch it
// before Boehm frees it, and count it as freed.
void on_free(void* obj) noexcept {
  state& s = fork_safe_state();
  std::lock_guard lk(s.lock);
  const auto it = s.live.find(reinterpret_cast<uintptr_t>(obj));
  if (it == s.live.end()) return;  // another address with the same hash
  retire(s, it->second);
  s.live.erase(it);
}

// Frames of the sampler itself, from capture_stack up to the allocation
// slow path, are not the program's: drop the leading goro::heap and
// goro::debug frames (gc_new and its callers stay).
bool internal_frame(const std::string& f) {
  return f.starts_with("goro::heap::") || f.starts_with("goro::debug::") || f.empty();
}

std::string build(bool allocs) {
  state& s = fork_safe_state();
  std::vector<record*> alive;
  std::map<std::pair<std::vector<uintptr_t>, std::size_t>, totals> freed;
  {
    std::lock_guard lk(s.lock);
    for (auto it = s.live.begin(); it != s.live.end();) {
      if (it->second->link != nullptr) {
        ++it;
        continue;
      }
      retire(s, it->second);  // collected
      it = s.live.erase(it);
    }
    // Copy what the profile needs, so symbolization runs without the lock.
    freed = s.freed;
    for (const auto& [addr, r] : s.live) alive.push_back(new record(*r));
  }
  profile_builder b({{"alloc_objects", "count"},
                     {"alloc_space", "bytes"},
                     {"inuse_objects", "count"},
                     {"inuse_space", "bytes"}},
                    {"space", "bytes"}, heap::detail::g_sample_rate.load());
  b.set_time(std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count());
  if (allocs) b.set_default_sample_type("alloc_space");
  symbolizer sym;
  std::map<uintptr_t, std::pair<uint64_t, bool>> locs;  // pc -> (location, internal)
  auto stack = [&](const uintptr_t* pcs, int depth) {
    std::vector<uint64_t> out;
    for (int k = 0; k < depth; ++k) {
      auto it = locs.find(pcs[k]);
      if (it == locs.end()) {
        const symbol sy = sym.lookup(pcs[k] - 1);
        std::string name = sy.function;
        if (name.empty()) {
          char buf[64];
          std::snprintf(buf, sizeof buf, "%s+0x%zx", sy.module.c_str(),
                        static_cast<std::size_t>(sy.module_offset));
          name = buf;
        }
        const bool internal = internal_frame(sy.function);
        it = locs.emplace(pcs[k],
                          std::make_pair(b.location(b.function(name, sy.file), sy.line, pcs[k]),
                                         internal))
                 .first;
      }
      if (out.empty() && it->second.second) continue;
      out.push_back(it->second.first);
    }
    return out;
  };
  // Aggregate by (symbolized stack, size).
  std::map<std::pair<std::vector<uint64_t>, std::size_t>, std::array<double, 4>> agg;
  for (const auto& [key, t] : freed) {
    auto& v = agg[{stack(key.first.data(), static_cast<int>(key.first.size())), key.second}];
    v[0] += t.alloc_objects;
    v[1] += t.alloc_bytes;
  }
  for (record* r : alive) {
    auto& v = agg[{stack(r->pcs, r->depth), r->obj_bytes}];
    v[0] += r->objects;
    v[1] += r->bytes;
    v[2] += r->objects;
    v[3] += r->bytes;
    delete r;
  }
  for (const auto& [key, v] : agg) {
    b.add_sample(key.first,
                 {std::llround(v[0]), std::llround(v[1]), std::llround(v[2]), std::llround(v[3])},
                 {{"bytes", "", static_cast<int64_t>(key.second), "bytes"}});
  }
  return b.encode_gzip();
}

}  // namespace

int64_t set_memory_profile_rate(int64_t bytes) {
  if (bytes < 0)
    throw std::invalid_argument("goro::debug::set_memory_profile_rate(" + std::to_string(bytes) +
                                "): want a byte count >= 0 (0 turns sampling off)");
  st();
  heap::set_watched_free_hook(&on_free);
  return heap::set_alloc_sampler(bytes > 0 ? &on_sample : nullptr, bytes);
}

std::string heap_profile() {
  return build(false);
}

std::string allocs_profile() {
  return build(true);
}

}  // namespace goro::debug
