// Task dumps (debug/task_dump.hpp explains what is recorded and how).
//
// One walker, read_tasks(), reads the registry into fixed-size raw records
// (no allocation: the SIGQUIT handler and the fatal paths use it too), and
// one formatter writes a record to a sink: a file descriptor through a
// stack buffer (signal and fatal paths) or a std::ostream.

#include "debug/task_dump.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <source_location>
#include <stdexcept>
#include <string_view>

#include "debug/heap_profile.hpp"
#include "debug/pprof_builder.hpp"
#include "debug/symbolize.hpp"
#include "heap/detail/collection_events.hpp"
#include "heap/frame_hold.hpp"
#include "sched/detail/debug_hooks.hpp"
#include "sched/detail/debug_word.hpp"
#include "sched/detail/registry.hpp"
#include "sched/detail/runtime_hooks.hpp"
#include "sched/detail/scheduler.hpp"
#include "sched/detail/wait_reason.hpp"
#include "sched/task.hpp"

namespace goro::debug {
namespace {

using detail::promise_base;
using detail::task_header;
using detail::wait_reason;

constexpr int kMaxFrames = 100;  // Go's traceback prints 100 frames, then elides

struct raw_task {
  uint64_t id = 0;
  wait_reason state = wait_reason::none;
  uint32_t since_s = 0;
  /// The coarse clock when the walk began: one reading for the whole dump,
  /// so every wait is measured against the same instant however long the
  /// dump takes (symbolizing the running task's native stack can take a
  /// second on a loaded machine).
  uint32_t now_s = detail::coarse_seconds();
  bool current = false;
  int nframes = 0;
  uint64_t depth = 0;
  std::source_location frames[kMaxFrames];
  std::source_location spawn;
};

// Fills `rt` from a promise chain (innermost first).
void read_chain(const promise_base* p, raw_task& rt) {
  for (; p != nullptr; p = p->parent_) {
    if (rt.nframes < kMaxFrames) rt.frames[rt.nframes++] = p->await_site_;
    if (++rt.depth > (uint64_t{1} << 32)) break;  // a cycle would be a corrupt chain
  }
}

// Reads one registered task; false if it is not worth listing (finished,
// waiting only for its join handle to be dropped).
bool read_task(const task_header* t, const task_header* self, bool chains, raw_task& rt) {
  if (t->join_state.load(std::memory_order_acquire) & detail::kComplete) return false;
  rt.id = t->id;
  rt.spawn = t->spawn_site;
  rt.current = t == self;
  rt.nframes = 0;
  rt.depth = 0;
  const uint32_t st = t->wait_word.load(std::memory_order_acquire);
  rt.state = detail::reason_of(st);
  rt.since_s = detail::since_of(st);
  if (!chains || rt.state == wait_reason::running || rt.state == wait_reason::none) return true;
  read_chain(promise_base::from_frame(t->resume.address()), rt);  // the innermost co_await first
  if (t->wait_word.load(std::memory_order_acquire) != st) {       // ran meanwhile: chain stale
    rt.state = wait_reason::running;
    rt.nframes = 0;
    rt.depth = 0;
  }
  return true;
}

// Calls f(raw_task&) for every live task. Returns false when no runtime runs.
template <class F>
bool read_tasks(F&& f) {
  detail::scheduler* s = detail::sched();
  if (s == nullptr) return false;
  const bool chains = heap::hold_frame_frees();
  const task_header* self = detail::current_task();
  raw_task rt;
  for (detail::registry_shard* r = s->newest_shard.load(std::memory_order_acquire); r;
       r = r->older) {
    for (auto* c = r->newest.load(std::memory_order_acquire); c; c = c->older) {
      for (auto& slot : c->slots) {
        const task_header* t = slot.load(std::memory_order_acquire);
        if (t == nullptr || t == detail::registry_shard::kFreeSlot) continue;
        if (read_task(t, self, chains, rt)) f(rt);
      }
    }
  }
  if (chains) heap::release_frame_frees();
  return true;
}

// A function name without its return type and, for GCC's coroutine actor
// names, without the frame parameter, in two pieces to concatenate (no
// allocation: the signal path uses it). GCC gives a co_await's
// source_location either the coroutine's own signature
//   "goro::task<int> ns::worker(goro::chan<int>)"
// or its actor's, whose parameter type is scoped in the unqualified name:
//   "void ns::worker(worker(goro::chan<int>)::_ZN2ns6workerE....Frame*)".
// Both become "ns::worker(goro::chan<int>)".
struct name_parts {
  std::string_view a, b;
};

// Index of the '(' that opens the parameter list: the first one outside
// template brackets, skipping the one in "operator()".
std::size_t params_open(std::string_view s) {
  int depth = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '<') {
      if (!(i >= 8 && s.substr(i - 8, 8) == "operator")) ++depth;
    } else if (c == '>') {
      if (depth > 0) --depth;
    } else if (c == '(' && depth == 0) {
      if (i >= 8 && s.substr(i - 8, 8) == "operator" && s.substr(i, 2) == "()") {
        ++i;
        continue;
      }
      return i;
    }
  }
  return std::string_view::npos;
}

// Start of the name: after the return type's last top-level space.
std::size_t name_start(std::string_view s, std::size_t open) {
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < open; ++i) {
    const char c = s[i];
    if (c == '<' || c == '(') ++depth;
    if ((c == '>' || c == ')') && depth > 0) --depth;
    if (c == ' ' && depth == 0) start = i + 1;
  }
  return start;
}

name_parts clean(std::string_view s) {
  const std::size_t open = params_open(s);
  if (open == std::string_view::npos) return {s, {}};
  const std::size_t start = name_start(s, open);
  const std::string_view name = s.substr(start, open - start);
  const std::size_t z = s.rfind("::_Z");
  if (z == std::string_view::npos || z < open || s.find(".Frame*)", z) == std::string_view::npos)
    return {s.substr(start), {}};
  // Actor: the parameter's scope is "<unqualified name>(<args>)...".
  const std::string_view scope = s.substr(open + 1, z - open - 1);
  std::string_view tail = name;
  for (;;) {
    if (scope.size() > tail.size() && scope.starts_with(tail) && scope[tail.size()] == '(')
      return {name, scope.substr(tail.size())};
    const std::size_t sep = tail.find("::");
    if (sep == std::string_view::npos) break;
    tail.remove_prefix(sep + 2);
  }
  return {name, "()"};
}

// ---------------------------------------------------------------- sinks --

struct sink {
  virtual void put(std::string_view s) = 0;
  void num(uint64_t v) {
    char b[24];
    int n = 0;
    do {
      b[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v);
    std::reverse(b, b + n);
    put(std::string_view(b, static_cast<std::size_t>(n)));
  }
  void hex(uint64_t v) {
    char b[24];
    int n = 0;
    do {
      b[n++] = "0123456789abcdef"[v & 15];
      v >>= 4;
    } while (v);
    std::reverse(b, b + n);
    put("0x");
    put(std::string_view(b, static_cast<std::size_t>(n)));
  }

 protected:
  ~sink() = default;
};

// write(2) through a stack buffer: usable in a signal handler.
struct fd_sink final : sink {
  explicit fd_sink(int fd) : fd(fd) {}
  ~fd_sink() { flush(); }
  void put(std::string_view s) override {
    while (!s.empty()) {
      if (n == sizeof buf) flush();
      const std::size_t k = std::min(s.size(), sizeof buf - n);
      std::memcpy(buf + n, s.data(), k);
      n += k;
      s.remove_prefix(k);
    }
  }
  void flush() {
    const char* p = buf;
    while (n > 0) {
      const ssize_t w = ::write(fd, p, n);
      if (w <= 0) break;
      p += w;
      n -= static_cast<std::size_t>(w);
    }
    n = 0;
  }
  int fd;
  char buf[4096];
  std::size_t n = 0;
};

struct stream_sink final : sink {
  explicit stream_sink(std::ostream& os) : os(os) {}
  void put(std::string_view s) override {
    os.write(s.data(), static_cast<std::streamsize>(s.size()));
  }
  std::ostream& os;
};

// ----------------------------------------------------------- formatting --

// Seconds from the wait's start to the walk's, on the coarse clock that wraps at 2^23.
uint32_t waited_s(const raw_task& rt) {
  return (rt.now_s - rt.since_s) & detail::kCoarseSecondsMask;
}

void put_header(sink& o, const raw_task& rt) {
  o.put("task ");
  o.num(rt.id);
  o.put(" [");
  o.put(detail::wait_reason_name(rt.state));
  const uint32_t waited = waited_s(rt);
  if (rt.state != wait_reason::running && waited >= 60) {  // Go: only from one minute on
    o.put(", ");
    o.num(waited / 60);
    o.put(waited < 120 ? " minute" : " minutes");
  }
  o.put("]:\n");
}

void put_name(sink& o, const char* function) {
  const name_parts n = clean(function);
  o.put(n.a);
  o.put(n.b);
}

void put_site(sink& o, const std::source_location& l) {
  put_name(o, l.function_name());
  o.put("\n\t");
  o.put(l.file_name());
  o.put(":");
  o.num(l.line());
  o.put("\n");
}

// The calling thread's native stack, symbolized (the current task).
void put_native_stack(sink& o, int skip) {
  uintptr_t pcs[64];
  const int n = capture_stack(pcs, 64);
  symbolizer sym;
  for (int i = skip; i < n; ++i) {
    const symbol s = sym.lookup(pcs[i] - (i > 0 ? 1 : 0));
    if (!s.function.empty()) {
      o.put(s.function);
    } else {
      o.put("?");
    }
    o.put("\n\t");
    if (!s.file.empty()) {
      o.put(s.file);
      o.put(":");
      o.num(static_cast<uint64_t>(s.line));
    } else {
      o.put(s.module.empty() ? std::string_view("?") : std::string_view(s.module));
    }
    o.put(" pc=");
    o.hex(pcs[i]);
    o.put("\n");
    if (s.function.find("goro::detail::execute") != std::string::npos) break;  // the worker loop
  }
}

void put_task(sink& o, const raw_task& rt, bool native_current) {
  put_header(o, rt);
  for (int i = 0; i < rt.nframes; ++i) put_site(o, rt.frames[i]);
  if (rt.depth > static_cast<uint64_t>(rt.nframes)) {
    o.put("...");
    o.num(rt.depth - static_cast<uint64_t>(rt.nframes));
    o.put(" frames elided...\n");
  }
  if (rt.state == wait_reason::running && rt.nframes == 0) {
    if (rt.current && native_current) {
      put_native_stack(o, 3);
    } else if (!rt.current) {
      o.put("\ttask running on another thread; stack unavailable\n");
    }
  }
  o.put("created by ");
  put_site(o, rt.spawn);
  o.put("\n");
}

// The full dump: the current task first, as Go does.
void write_dump(sink& o, bool native_current) {
  bool any = false;
  const bool ok = read_tasks([&](const raw_task& rt) {
    if (rt.current) {
      put_task(o, rt, native_current);
      any = true;
    }
  });
  if (!ok) {
    o.put("goro: no runtime is running: no tasks\n");
    return;
  }
  read_tasks([&](const raw_task& rt) {
    if (!rt.current) put_task(o, rt, native_current);
    any = true;
  });
  if (!any) o.put("goro: no live tasks\n");
}

// ------------------------------------------------- signal and fatal hooks --

void on_sigquit(int) {
  const int saved = errno;
  {
    fd_sink o(2);
    o.put("SIGQUIT: quit\n\n");
    if (detail::g_traceback.load(std::memory_order_relaxed) != detail::traceback_level::none)
      write_dump(o, false);
  }
  errno = saved;
  if (detail::g_traceback.load(std::memory_order_relaxed) == detail::traceback_level::crash) {
    ::signal(SIGABRT, SIG_DFL);
    ::abort();
  }
  ::_exit(2);
}

void on_fatal(const task_header* offending, const promise_base* chain) noexcept {
  const auto level = detail::g_traceback.load(std::memory_order_relaxed);
  if (level == detail::traceback_level::none) return;
  fd_sink o(2);
  if (offending != nullptr) {
    raw_task rt;
    rt.id = offending->id;
    // Running (a stack overrun; a thread-limit overrun in a running task) or
    // suspended (a thread-limit overrun for its blocking call or its pinned
    // M's hand-off), as its wait word says.
    rt.state = detail::reason_of(offending->wait_word.load(std::memory_order_acquire));
    rt.spawn = offending->spawn_site;
    rt.current = true;
    read_chain(chain, rt);
    put_task(o, rt, chain == nullptr);
  }
  if (level == detail::traceback_level::single) return;
  read_tasks([&](const raw_task& rt) {
    if (!rt.current) put_task(o, rt, false);
  });
}

// goro::fatal's (core/fatal.cpp): the task running on this thread, if any.
// Not with the world stopped for a collection: a stopped thread may hold
// the malloc lock the symbolizer needs, and the abort must not hang.
void on_core_fatal() noexcept {
  if (heap::detail::world_stopped()) return;
  if (const task_header* t = detail::current_task()) on_fatal(t, nullptr);
}

struct installer {
  installer() {
    detail::g_fatal_dump.store(&on_fatal, std::memory_order_release);
    goro::detail::g_fatal_tasks.store(&on_core_fatal, std::memory_order_release);
    set_memory_profile_rate(kDefaultMemProfileRate);  // Go's default MemProfileRate
    struct sigaction old {};
    if (::sigaction(SIGQUIT, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) {
      struct sigaction sa {};
      sa.sa_handler = on_sigquit;
      sigemptyset(&sa.sa_mask);
      sa.sa_flags = SA_RESTART;
      ::sigaction(SIGQUIT, &sa, nullptr);
    }
  }
} g_installer;

// ------------------------------------------------------------- records --

task_frame to_frame(const std::source_location& l) {
  return task_frame{clean_function_name(l.function_name()), l.file_name(), l.line()};
}

// Grouping key: same state, same await sites, same spawn site. Source
// locations are static data, so their pointers identify sites.
using group_key = std::vector<const void*>;
group_key key_of(const raw_task& rt) {
  group_key k;
  k.reserve(3 * static_cast<std::size_t>(rt.nframes) + 4);
  k.push_back(detail::wait_reason_name(rt.state));
  for (int i = 0; i < rt.nframes; ++i) {
    k.push_back(rt.frames[i].function_name());
    k.push_back(rt.frames[i].file_name());
    k.push_back(reinterpret_cast<const void*>(static_cast<uintptr_t>(rt.frames[i].line())));
  }
  k.push_back(rt.spawn.function_name());
  k.push_back(rt.spawn.file_name());
  k.push_back(reinterpret_cast<const void*>(static_cast<uintptr_t>(rt.spawn.line())));
  return k;
}

}  // namespace

std::string clean_function_name(const char* compiler_name) {
  const name_parts n = clean(compiler_name);
  return std::string(n.a) + std::string(n.b);
}

std::vector<task_record> task_records() {
  std::vector<task_record> out;
  read_tasks([&](const raw_task& rt) {
    task_record r;
    r.id = rt.id;
    r.state = detail::wait_reason_name(rt.state);
    r.waiting_s = rt.state == wait_reason::running ? 0 : waited_s(rt);
    r.current = rt.current;
    for (int i = 0; i < rt.nframes; ++i) r.frames.push_back(to_frame(rt.frames[i]));
    r.elided = rt.depth - static_cast<uint64_t>(rt.nframes);
    r.created_by = to_frame(rt.spawn);
    out.push_back(std::move(r));
  });
  return out;
}

void write_goroutine_profile(std::ostream& os, int debug) {
  if (debug == 2) {
    write_task_dump(os);
    return;
  }
  if (debug != 0 && debug != 1)
    throw std::invalid_argument("goroutine profile: debug=" + std::to_string(debug) +
                                ": want 0 (proto), 1 (grouped text) or 2 (full dump)");
  struct group {
    uint64_t count = 0;
    raw_task* first = nullptr;
  };
  std::map<group_key, group> groups;
  std::vector<std::unique_ptr<raw_task>> keep;
  uint64_t total = 0;
  read_tasks([&](const raw_task& rt) {
    ++total;
    group& g = groups[key_of(rt)];
    if (g.count++ == 0) {
      keep.push_back(std::make_unique<raw_task>(rt));
      g.first = keep.back().get();
    }
  });
  std::vector<group*> order;
  for (auto& [k, g] : groups) order.push_back(&g);
  std::stable_sort(order.begin(), order.end(),
                   [](const group* a, const group* b) { return a->count > b->count; });
  if (debug == 1) {  // Go's printCountProfile, with sites instead of PCs
    stream_sink o(os);
    o.put("goroutine profile: total ");
    o.num(total);
    o.put("\n");
    for (const group* g : order) {
      const raw_task& rt = *g->first;
      o.num(g->count);
      o.put(" @ [");
      o.put(detail::wait_reason_name(rt.state));
      o.put("]\n");
      for (int i = 0; i < rt.nframes; ++i) {
        o.put("#\t");
        put_name(o, rt.frames[i].function_name());
        o.put("\t");
        o.put(rt.frames[i].file_name());
        o.put(":");
        o.num(rt.frames[i].line());
        o.put("\n");
      }
      o.put("#\tcreated by ");
      put_name(o, rt.spawn.function_name());
      o.put("\t");
      o.put(rt.spawn.file_name());
      o.put(":");
      o.num(rt.spawn.line());
      o.put("\n\n");
    }
    return;
  }
  profile_builder b({{"goroutine", "count"}}, {"goroutine", "count"}, 1);
  b.set_time(std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count());
  for (const group* g : order) {
    const raw_task& rt = *g->first;
    std::vector<uint64_t> locs;
    for (int i = 0; i < rt.nframes; ++i) {
      const auto& f = rt.frames[i];
      locs.push_back(
          b.location(b.function(clean_function_name(f.function_name()), f.file_name()), f.line()));
    }
    // The spawn site as the outermost frame: "created by" in the text forms.
    locs.push_back(
        b.location(b.function(clean_function_name(rt.spawn.function_name()), rt.spawn.file_name()),
                   rt.spawn.line()));
    b.add_sample(locs, {static_cast<int64_t>(g->count)},
                 {{"state", detail::wait_reason_name(rt.state)}});
  }
  const std::string z = b.encode_gzip();
  os.write(z.data(), static_cast<std::streamsize>(z.size()));
}

}  // namespace goro::debug

namespace goro {

void write_task_dump(std::ostream& os) {
  debug::stream_sink o(os);
  debug::write_dump(o, true);
}

}  // namespace goro

// Referenced by the linker flag in debug/CMakeLists.txt so this object (and
// its installer) is part of every program that links goro::debug.
extern "C" {
[[gnu::used]] int goro_debug_task_dump_anchor = 0;
}
