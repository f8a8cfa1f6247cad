// gc_pause_log: records each stop-the-world pause into a preallocated buffer.
//
// Boehm has one collection-event callback slot, which collection_events.cpp
// fills at init(). The log does not change that file: the first log chains
// its own callback in front of it (GC_get_on_collection_event, then
// GC_set_on_collection_event with a callback that calls the previous one
// first), once per process, and leaves it installed; the callback records
// only while a log is active. init() runs under std::call_once before the
// chaining, so the runtime's callback cannot be installed after ours and
// replace it.
//
// The callback runs on the collecting thread with Boehm's allocation lock
// held and possibly with the world stopped: it reads the monotonic clock and
// stores into the buffer and an atomic, nothing else. Activating and
// deactivating a log happen under the same lock (GC_call_with_alloc_lock),
// so no callback is halfway through a record when the log's buffer is
// freed. There is a single writer (one collection at a time), so a record
// is the store into buf[n] followed by a release store of n + 1; readers
// load n with acquire and copy buf[0, n).

#include "heap/gc_pause_log.hpp"

#include <gc.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>

#include "core/clock.hpp"
#include "heap/collector_init.hpp"

namespace goro {

struct gc_pause_log::state {
  explicit state(std::size_t cap) : capacity(cap), buf(new int64_t[cap]) {}
  const std::size_t capacity;
  const std::unique_ptr<int64_t[]> buf;  // [0, n) written by the callback only
  std::atomic<uint64_t> n{0};            // recorded pauses; release-stored by the callback
  std::atomic<uint64_t> dropped{0};      // pauses past capacity
};

namespace {

GC_on_collection_event_proc g_previous = nullptr;  // written once, before the chain is installed
gc_pause_log::state* g_active = nullptr;           // protected by Boehm's allocation lock
int64_t g_stop_begin = 0;                          // protected by Boehm's allocation lock

void on_collection_event(GC_EventType e) {
  if (g_previous != nullptr) g_previous(e);
  if (e == GC_EVENT_PRE_STOP_WORLD) {
    g_stop_begin = nanotime();
  } else if (e == GC_EVENT_POST_START_WORLD && g_active != nullptr) {
    const int64_t d = nanotime() - g_stop_begin;
    gc_pause_log::state* s = g_active;
    const uint64_t n = s->n.load(std::memory_order_relaxed);
    if (n < s->capacity) {
      s->buf[n] = d;
      s->n.store(n + 1, std::memory_order_release);
    } else {
      s->dropped.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void install_chain() {
  static std::once_flag once;
  std::call_once(once, [] {
    heap::init();  // the runtime's own callback goes in first
    g_previous = GC_get_on_collection_event();
    GC_set_on_collection_event(on_collection_event);
  });
}

// Replaces the active log under Boehm's allocation lock if it is `expected`.
struct swap_request {
  gc_pause_log::state* expected;
  gc_pause_log::state* desired;
  bool done;
};

void* swap_active_locked(void* arg) {
  auto* r = static_cast<swap_request*>(arg);
  r->done = g_active == r->expected;
  if (r->done) g_active = r->desired;
  return nullptr;
}

bool swap_active(gc_pause_log::state* expected, gc_pause_log::state* desired) {
  swap_request r{expected, desired, false};
  GC_call_with_alloc_lock(swap_active_locked, &r);
  return r.done;
}

}  // namespace

gc_pause_log::gc_pause_log(std::size_t capacity) {
  if (capacity == 0) throw std::invalid_argument("goro::gc_pause_log: capacity must be > 0");
  install_chain();
  s_ = std::make_unique<state>(capacity);
  if (!swap_active(nullptr, s_.get()))
    throw std::logic_error("goro::gc_pause_log: another gc_pause_log is already recording");
}

gc_pause_log::~gc_pause_log() {
  // s_ is the active log: only this log's constructor installed it.
  swap_active(s_.get(), nullptr);
}

std::vector<int64_t> gc_pause_log::pauses_ns() const {
  const uint64_t n = s_->n.load(std::memory_order_acquire);
  return std::vector<int64_t>(s_->buf.get(), s_->buf.get() + n);
}

uint64_t gc_pause_log::dropped() const noexcept {
  return s_->dropped.load(std::memory_order_relaxed);
}

}  // namespace goro
