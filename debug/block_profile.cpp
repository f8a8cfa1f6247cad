#include "debug/block_profile.hpp"

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <source_location>
#include <tuple>
#include <vector>

#include "core/fast_rand.hpp"
#include "debug/pprof_builder.hpp"
#include "debug/task_dump.hpp"
#include "sched/detail/block_timing.hpp"
#include "sched/detail/wait_reason.hpp"
#include "sched/task.hpp"

namespace goro::debug {
namespace {

using detail::wait_reason;
using site = std::tuple<const char*, const char*, uint32_t>;  // function, file, line

struct bucket {
  int64_t count = 0, delay = 0;
};

struct profile_state {
  std::mutex lock;
  std::map<std::vector<site>, bucket> buckets;
};

std::atomic<int64_t> g_block_rate{0};
std::atomic<int> g_mutex_fraction{0};
profile_state g_block, g_mutex;
thread_local fast_rand tl_rng(0x2545f4914f6cdd1dull ^ reinterpret_cast<uintptr_t>(&g_block_rate));

site site_of(const std::source_location& l) {
  return {l.function_name(), l.file_name(), l.line()};
}

// The waiting task's async stack; it is still suspended, so stable.
std::vector<site> chain_of(const detail::task_header* t) {
  std::vector<site> out;
  for (const detail::promise_base* p = detail::promise_base::from_frame(t->resume.address());
       p != nullptr && out.size() < 64; p = p->parent_)
    out.push_back(site_of(p->await_site_));
  return out;
}

void record(profile_state& s, const detail::task_header* t, int64_t delay, int64_t scale) {
  try {
    std::vector<site> key = chain_of(t);
    std::lock_guard lk(s.lock);
    bucket& b = s.buckets[std::move(key)];
    b.count += scale;
    b.delay += delay * scale;
  } catch (...) {  // out of memory: the event is dropped
  }
}

bool is_block_reason(wait_reason r) {
  switch (r) {
    case wait_reason::chan_receive:
    case wait_reason::chan_send:
    case wait_reason::select:
    case wait_reason::mutex:
    case wait_reason::rw_mutex:
    case wait_reason::wait_group:
    case wait_reason::semacquire:
    case wait_reason::once:
    case wait_reason::join:
    case wait_reason::context_done:
      return true;
    default:
      return false;
  }
}

void on_wait(const detail::task_header* t, int64_t delay, uint8_t reason) noexcept {
  const auto r = static_cast<wait_reason>(reason);
  if (!is_block_reason(r)) return;
  if (const int64_t rate = g_block_rate.load(std::memory_order_relaxed); rate > 0) {
    if (delay >= rate || static_cast<int64_t>(tl_rng.next() % static_cast<uint64_t>(rate)) < delay)
      record(g_block, t, delay, 1);
  }
  if (r == wait_reason::mutex || r == wait_reason::rw_mutex) {
    if (const int f = g_mutex_fraction.load(std::memory_order_relaxed); f > 0) {
      if (tl_rng.below(static_cast<uint32_t>(f)) == 0) record(g_mutex, t, delay, f);
    }
  }
}

void update_timing() {
  const bool on = g_block_rate.load() > 0 || g_mutex_fraction.load() > 0;
  detail::set_block_timing(on ? &on_wait : nullptr);
}

std::string build(profile_state& s) {
  std::map<std::vector<site>, bucket> copy;
  {
    std::lock_guard lk(s.lock);
    copy = s.buckets;
  }
  profile_builder b({{"contentions", "count"}, {"delay", "nanoseconds"}}, {"contentions", "count"},
                    1);
  b.set_time(std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count());
  for (const auto& [chain, bk] : copy) {
    std::vector<uint64_t> locs;
    for (const auto& [fn, file, line] : chain)
      locs.push_back(b.location(b.function(clean_function_name(fn), file), line));
    b.add_sample(locs, {bk.count, bk.delay});
  }
  return b.encode_gzip();
}

}  // namespace

int64_t set_block_profile_rate(int64_t rate_ns) {
  const int64_t old = g_block_rate.exchange(rate_ns > 0 ? rate_ns : 0);
  update_timing();
  return old;
}

int set_mutex_profile_fraction(int fraction) {
  if (fraction < 0) return g_mutex_fraction.load();
  const int old = g_mutex_fraction.exchange(fraction);
  update_timing();
  return old;
}

int64_t block_profile_rate() noexcept {
  return g_block_rate.load();
}

int mutex_profile_fraction() noexcept {
  return g_mutex_fraction.load();
}

std::string block_profile() {
  return build(g_block);
}

std::string mutex_profile() {
  return build(g_mutex);
}

}  // namespace goro::debug
