// Pressure subscribers and the delivery of what a collection has to say.
//
// A collection ends inside the driver's locks (collect_mu, policy_mu), where
// nothing may print, allocate from the collected heap, or call user code that
// might allocate and so collect again. The policy stages the gctrace line and
// the pressure transition in thread-local slots of the collecting thread; the
// driver calls deliver_staged_news() on that thread once it has released the
// locks. Thread-local works because the staging and the delivery are always
// the same thread, one collection apart at most.
//
// Subscribers are a list under sub_mu. Delivery copies the callbacks it will
// call (reference-counted, so an unsubscribe during delivery does not destroy a
// callback being run) and calls them without the lock, so a callback may
// subscribe or unsubscribe.

#include "heap/gc_pressure.hpp"

#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

#include "heap/detail/gc_knobs.hpp"

namespace goro {
namespace {

// The callbacks' callables live in scanned memory (gc_pressure_callback);
// this list, in ordinary memory, holds only references to them.
struct subscriber {
  gc_pressure_subscription id;
  gc_pressure_callback cb;
};

struct subscribers {
  std::mutex mu;
  std::vector<subscriber> list;          // protected by mu
  gc_pressure_subscription next_id = 1;  // protected by mu
};
subscribers& subs() {
  static auto* s = new subscribers;  // never destroyed: callbacks may run at exit
  return *s;
}

struct published_state {
  std::atomic<uint8_t> state{0};         // atomic: pacer::pressure_state
  std::atomic<uint64_t> transitions{0};  // atomic
};
published_state g_state;

// Owner thread only (the collecting thread; see the file comment).
struct staged_news {
  char line[256];
  std::size_t line_len;
  bool has_change;
  gc_pressure_event event;
};
constinit thread_local staged_news tl_news{};

}  // namespace

gc_pressure_subscription on_gc_pressure(gc_pressure_callback cb) {
  if (!cb) throw std::invalid_argument("goro::on_gc_pressure: empty callback");
  std::lock_guard lk(subs().mu);
  const gc_pressure_subscription id = subs().next_id++;
  subs().list.push_back({id, std::move(cb)});
  return id;
}

bool remove_gc_pressure_callback(gc_pressure_subscription id) {
  std::lock_guard lk(subs().mu);
  auto& l = subs().list;
  for (auto it = l.begin(); it != l.end(); ++it) {
    if (it->id == id) {
      l.erase(it);
      return true;
    }
  }
  return false;
}

gc_pressure_state gc_pressure() noexcept {
  return static_cast<gc_pressure_state>(g_state.state.load(std::memory_order_relaxed));
}

uint64_t gc_pressure_transitions() noexcept {
  return g_state.transitions.load(std::memory_order_relaxed);
}

namespace heap::detail {

void stage_trace_line(const char* line, std::size_t n) noexcept {
  if (n >= sizeof tl_news.line) n = sizeof tl_news.line - 1;
  std::memcpy(tl_news.line, line, n);
  tl_news.line[n] = '\n';
  tl_news.line_len = n + 1;
}

void stage_pressure_change(pacer::pressure_change c, uint64_t cycle,
                           uint64_t transitions) noexcept {
  if (!c.changed()) return;
  tl_news.has_change = true;
  tl_news.event = {c.from, c.to, cycle, transitions};
}

void publish_pressure_state(pacer::pressure_state s, uint64_t transitions) noexcept {
  g_state.state.store(static_cast<uint8_t>(s), std::memory_order_relaxed);
  g_state.transitions.store(transitions, std::memory_order_relaxed);
}

void deliver_staged_news() {
  if (tl_news.line_len > 0) {
    std::fwrite(tl_news.line, 1, tl_news.line_len, stderr);
    tl_news.line_len = 0;
  }
  if (!tl_news.has_change) return;
  tl_news.has_change = false;
  const gc_pressure_event e = tl_news.event;
  std::vector<gc_pressure_callback> calls;  // copies: an unsubscribe cannot free one mid-call
  {
    std::lock_guard lk(subs().mu);
    calls.reserve(subs().list.size());
    for (const auto& s : subs().list) calls.push_back(s.cb);
  }
  for (const auto& cb : calls) cb(e);
}

}  // namespace heap::detail
}  // namespace goro
