// The debug server's profile endpoints, Go's net/http/pprof surface over
// the producers in debug/ (cpu_profile, heap_profile, block_profile,
// task_dump, trace):
//   /debug/pprof/profile?seconds=N   CPU profile over N seconds (default 30)
//   /debug/pprof/heap, /allocs       sampled heap (?gc=1 collects first)
//   /debug/pprof/goroutine?debug=N   0 gzip'd proto, 1 grouped text, 2 full dump
//   /debug/pprof/block, /mutex       blocking and mutex contention
//   /debug/pprof/trace?seconds=N     execution trace, Chrome JSON (default 1)

#include <charconv>
#include <chrono>
#include <sstream>
#include <stdexcept>
#include <string>

#include "debug/block_profile.hpp"
#include "debug/cpu_profile.hpp"
#include "debug/heap_profile.hpp"
#include "debug/server/endpoints.hpp"
#include "debug/task_dump.hpp"
#include "debug/trace.hpp"
#include "heap/gc.hpp"
#include "sched/timer.hpp"

namespace goro::debug::detail {
namespace {

constexpr int kMaxSeconds = 3600;

// A parameter's value (the last one given), nullopt when absent.
std::optional<std::string> param(const http::request& req, std::string_view name) {
  std::optional<std::string> v;
  for (auto& [k, val] : parse_query(req.query()))
    if (k == name) v = val;
  return v;
}

void bad_request(http::response_writer& w, const std::string& msg) {
  w.set_status(400);
  w.add_header("Content-Type", "text/plain; charset=utf-8");
  w.write(msg + "\n");
}

// ?name=N with N in [lo, hi], `def` when absent; nullopt after a 400.
std::optional<int> int_param(const http::request& req, http::response_writer& w,
                             std::string_view name, int lo, int hi, int def) {
  const auto v = param(req, name);
  if (!v) return def;
  int n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (v->empty() || ec != std::errc() || p != v->data() + v->size() || n < lo || n > hi) {
    bad_request(w, std::string(name) + "=\"" + *v + "\": want an integer in [" +
                       std::to_string(lo) + ", " + std::to_string(hi) + "] (e.g. " +
                       std::string(name) + "=" + std::to_string(def) + ")");
    return std::nullopt;
  }
  return n;
}

void send_profile(http::response_writer& w, const std::string& name, const std::string& body) {
  w.add_header("Content-Type", "application/octet-stream");
  w.add_header("Content-Disposition", "attachment; filename=\"" + name + "\"");
  w.add_header("X-Content-Type-Options", "nosniff");
  w.write(body);
}

void conflict(http::response_writer& w, const char* what) {
  w.set_status(409);
  w.add_header("Content-Type", "text/plain; charset=utf-8");
  w.write(std::string(what) + " is already running (one at a time, as Go)\n");
}

task<void> get_profile(http::request& req, http::response_writer& w) {
  const auto seconds = int_param(req, w, "seconds", 1, kMaxSeconds, 30);
  if (!seconds) co_return;
  try {
    start_cpu_profile();
  } catch (const std::logic_error&) {
    conflict(w, "a CPU profile");
    co_return;
  }
  co_await sleep_for(std::chrono::seconds(*seconds));
  send_profile(w, "profile", stop_cpu_profile());
}

task<void> get_heap(http::request& req, http::response_writer& w) {
  const auto gc_first = int_param(req, w, "gc", 0, 1, 0);
  if (!gc_first) co_return;
  if (*gc_first) goro::gc();
  send_profile(w, "heap", heap_profile());
}

task<void> get_allocs(http::request& req, http::response_writer& w) {
  const auto gc_first = int_param(req, w, "gc", 0, 1, 0);
  if (!gc_first) co_return;
  if (*gc_first) goro::gc();
  send_profile(w, "allocs", allocs_profile());
}

task<void> get_goroutine(http::request& req, http::response_writer& w) {
  const auto level = int_param(req, w, "debug", 0, 2, 0);
  if (!level) co_return;
  std::ostringstream out;
  write_goroutine_profile(out, *level);
  if (*level == 0) {
    send_profile(w, "goroutine", out.str());
  } else {
    w.add_header("Content-Type", "text/plain; charset=utf-8");
    w.write(out.str());
  }
}

// Off (rate 0, the default) the profile is empty, as Go serves it; the
// header says why, so an operator does not read "no contention" into it.
task<void> get_block(http::request&, http::response_writer& w) {
  if (block_profile_rate() == 0)
    w.add_header("X-Goro-Profile-Off",
                 "block profile rate is 0: call goro::debug::set_block_profile_rate(ns)");
  send_profile(w, "block", block_profile());
  co_return;
}

task<void> get_mutex(http::request&, http::response_writer& w) {
  if (mutex_profile_fraction() == 0)
    w.add_header("X-Goro-Profile-Off",
                 "mutex profile fraction is 0: call goro::debug::set_mutex_profile_fraction(n)");
  send_profile(w, "mutex", mutex_profile());
  co_return;
}

task<void> get_trace(http::request& req, http::response_writer& w) {
  const auto seconds = int_param(req, w, "seconds", 1, kMaxSeconds, 1);
  if (!seconds) co_return;
  try {
    start_trace();
  } catch (const std::logic_error&) {
    conflict(w, "a trace");
    co_return;
  }
  co_await sleep_for(std::chrono::seconds(*seconds));
  w.add_header("Content-Type", "application/json");
  w.add_header("Content-Disposition", "attachment; filename=\"trace.json\"");
  w.write(stop_trace());
}

}  // namespace

void add_profile_endpoints(http::router& r) {
  r.handle("GET", "/debug/pprof/profile", get_profile);
  r.handle("GET", "/debug/pprof/heap", get_heap);
  r.handle("GET", "/debug/pprof/allocs", get_allocs);
  r.handle("GET", "/debug/pprof/goroutine", get_goroutine);
  r.handle("GET", "/debug/pprof/block", get_block);
  r.handle("GET", "/debug/pprof/mutex", get_mutex);
  r.handle("GET", "/debug/pprof/trace", get_trace);
}

}  // namespace goro::debug::detail
