// The debug server's endpoints: /debug/gc (the operator's gc_percent and
// memory_limit, as Go's debug.SetGCPercent / SetMemoryLimit but over HTTP),
// /metrics, and the /debug/pprof/ index.

#include "debug/server/endpoints.hpp"

#include <cstdint>
#include <string>

#include "core/env.hpp"
#include "core/settings.hpp"
#include "debug/prometheus/runtime_collector.hpp"
#include "heap/gc_pressure.hpp"
#include "heap/gc_settings.hpp"
#include "heap/heap_stats.hpp"
#include "heap/memory_limit_default.hpp"
#include "pacer/pressure.hpp"

namespace goro::debug::detail {
namespace {

// A byte count that may be "none" (UINT64_MAX): null in JSON.
void put_bytes(std::string& out, const char* key, uint64_t v) {
  out += '"';
  out += key;
  out += "\":";
  out += v == UINT64_MAX ? std::string("null") : std::to_string(v);
  out += ',';
}

template <class T>
void put_number(std::string& out, const char* key, T v) {
  out += '"';
  out += key;
  out += "\":";
  out += std::to_string(v);
  out += ',';
}

void put_text(std::string& out, const char* key, const char* v) {
  out += '"';
  out += key;
  out += "\":\"";
  out += v;  // fixed names only (normal, env, ...): nothing to escape
  out += "\",";
}

void put_bool(std::string& out, const char* key, bool v) {
  out += '"';
  out += key;
  out += "\":";
  out += v ? "true" : "false";
  out += ',';
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 &&
               hex_digit(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The accepted form of a parameter: the GORO_* variable's, spoken of the
// parameter ("off or a percentage in [0, 1000000000] (e.g. gc_percent=100)").
std::string form_of(std::string_view setting, std::string_view param) {
  std::string form(settings::entry(setting).form);
  const std::string from = std::string(setting) + "=", to = std::string(param) + "=";
  for (size_t at = form.find(from); at != std::string::npos; at = form.find(from, at + to.size()))
    form.replace(at, from.size(), to);
  return form;
}

std::string json_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      static const char* hex = "0123456789abcdef";
      out += "\\u00";
      out += hex[(c >> 4) & 0xf];
      out += hex[c & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

std::string error_json(std::string_view msg) {
  return "{\"error\":\"" + json_escape(msg) + "\"}\n";
}

task<void> get_gc(http::request&, http::response_writer& w) {
  w.add_header("Content-Type", "application/json");
  w.add_header("Cache-Control", "no-store");
  w.write(gc_state_json());
  co_return;
}

task<void> post_gc(http::request& req, http::response_writer& w) {
  w.add_header("Content-Type", "application/json");
  w.add_header("Cache-Control", "no-store");
  // The query, or a form body (curl -d gc_percent=50), or both.
  std::string params(req.query());
  const auto type = req.header("Content-Type");
  if (!req.body().empty() && (!type || type->starts_with("application/x-www-form-urlencoded"))) {
    if (!params.empty()) params += '&';
    params += req.body();
  }
  if (auto err = apply_gc_params(params)) {
    w.set_status(400);
    w.write(error_json(*err));
    co_return;
  }
  w.write(gc_state_json());
}

task<void> get_metrics(http::request&, http::response_writer& w) {
  w.add_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  w.write(goro::prometheus::render_text());
  co_return;
}

task<void> get_index(http::request& req, http::response_writer& w) {
  if (req.path() != "/debug/pprof/") {  // the prefix route: nothing else under it yet
    w.set_status(404);
    w.add_header("Content-Type", "text/plain; charset=utf-8");
    w.write("404 page not found\n");
    co_return;
  }
  w.add_header("Content-Type", "text/html; charset=utf-8");
  w.write(
      "<html><head><title>goro debug</title></head><body>\n"
      "<h1>goro debug</h1>\n<table>\n"
      "<tr><td><a href=\"/debug/pprof/profile?seconds=30\">profile</a></td><td>CPU profile "
      "(?seconds=N, default 30)</td></tr>\n"
      "<tr><td><a href=\"/debug/pprof/heap\">heap</a></td><td>sampled live heap "
      "(?gc=1 collects first)</td></tr>\n"
      "<tr><td><a href=\"/debug/pprof/allocs\">allocs</a></td><td>sampled allocations "
      "since the start</td></tr>\n"
      "<tr><td><a href=\"/debug/pprof/goroutine?debug=1\">goroutine</a></td><td>every task "
      "(?debug=0 profile, 1 grouped by await chain, 2 full dump)</td></tr>\n"
      "<tr><td><a href=\"/debug/pprof/block\">block</a></td><td>time blocked on channels, "
      "select, wait groups (off, and empty, until set_block_profile_rate)</td></tr>\n"
      "<tr><td><a href=\"/debug/pprof/mutex\">mutex</a></td><td>contention on goro's "
      "mutexes (off, and empty, until set_mutex_profile_fraction)</td></tr>\n"
      "<tr><td><a href=\"/debug/pprof/trace?seconds=1\">trace</a></td><td>execution trace, "
      "Chrome trace-event JSON (?seconds=N, default 1)</td></tr>\n"
      "<tr><td><a href=\"/debug/gc\">/debug/gc</a></td><td>the collector's and the pacer's "
      "state (JSON); POST /debug/gc?gc_percent=N|off&amp;memory_limit=BYTES|off sets "
      "them</td></tr>\n"
      "<tr><td><a href=\"/metrics\">/metrics</a></td><td>the runtime metrics catalog, "
      "Prometheus text format</td></tr>\n"
      "</table>\n</body></html>\n");
  co_return;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view q) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!q.empty()) {
    const size_t amp = q.find('&');
    const std::string_view item = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos)
      out.emplace_back(unescape(item), "");
    else
      out.emplace_back(unescape(item.substr(0, eq)), unescape(item.substr(eq + 1)));
  }
  return out;
}

std::string gc_state_json() {
  const heap_stats st = read_heap_stats();
  std::string out = "{";
  put_number(out, "gc_percent", st.gc_percent);
  put_number(out, "memory_limit", st.memory_limit);  // none: INT64_MAX, as Go reports it
  put_text(out, "memory_limit_source", heap::to_string(heap::memory_limit_source_now()));
  put_bytes(out, "heap_goal", st.heap_goal_bytes);
  put_bytes(out, "next_trigger", st.next_trigger_bytes);
  put_number(out, "heap_live", st.live_bytes);
  put_number(out, "heap_mapped", st.heap_mapped_bytes);
  put_number(out, "heap_allocated_since_gc", st.allocated_since_gc_bytes);
  put_number(out, "managed_bytes", st.managed_bytes());
  put_number(out, "cycles", st.collections);
  put_text(out, "pressure_state", pacer::to_string(gc_pressure()));
  put_number(out, "pressure_transitions", gc_pressure_transitions());
  put_bool(out, "limiter_on", st.gc_limiter_engaged);
  put_number(out, "limiter_engagements", st.gc_limiter_engagements);
  put_number(out, "last_pause_ns", st.last_pause_ns);
  put_number(out, "total_pause_ns", st.total_pause_ns);
  put_number(out, "gc_cpu_ns", st.gc_cpu_ns);
  out.back() = '}';
  out += '\n';
  return out;
}

std::optional<std::string> apply_gc_params(std::string_view params) {
  std::optional<int> percent;
  std::optional<int64_t> limit;
  const auto kv = parse_query(params);
  if (kv.empty())
    return std::string(
        "no setting given: want gc_percent=N|off and/or memory_limit=BYTES|off, in the query "
        "(POST /debug/gc?gc_percent=50) or a form body");
  for (const auto& [key, val] : kv) {
    const bool is_percent = key == "gc_percent", is_limit = key == "memory_limit";
    if (!is_percent && !is_limit)
      return "unknown parameter \"" + key + "\": want gc_percent and/or memory_limit";
    const char* setting = is_percent ? "GORO_GC" : "GORO_MEMLIMIT";
    settings::value v;
    try {
      if (val.empty()) throw config_error("empty");
      v = settings::parse(setting, val);
    } catch (const config_error&) {
      return key + "=\"" + val + "\": want " + form_of(setting, key);
    }
    if (is_percent)
      percent = v.off ? -1 : static_cast<int>(v.number);
    else
      limit = v.off ? no_memory_limit : v.number;
  }
  if (percent) set_gc_percent(*percent);
  if (limit) set_memory_limit(*limit);
  return std::nullopt;
}

void add_endpoints(http::router& r) {
  r.handle("GET", "/debug/gc", get_gc);
  r.handle("POST", "/debug/gc", post_gc);
  r.handle("GET", "/metrics", get_metrics);
  r.handle("GET", "/debug/pprof/", get_index);
  add_profile_endpoints(r);
}

}  // namespace goro::debug::detail
