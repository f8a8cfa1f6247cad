// The table of GORO_* settings and their parsing; see core/settings.hpp for
// how to add one. The only getenv of a GORO_* variable is in this file.

#include "core/settings.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <string>

#include "core/fatal.hpp"

namespace goro::settings {
namespace {

// Every GORO_* variable and GORO_DEBUG key. Keep in step with the README's
// list of variables.
constexpr setting kSettings[] = {
    // sched: the number of Ps. hi is kMaxProcs (sched/detail/cpu_limit.hpp;
    // tests/sched_maxprocs_test.cpp checks they agree).
    {"GORO_MAXPROCS", kind::integer, 1, 1024, "", "sched"},
    // heap: GOGC and GOMEMLIMIT.
    {"GORO_GC", kind::integer_or_off, 0, 1'000'000'000,
     "off or a percentage in [0, 1000000000] (e.g. GORO_GC=100)", "heap"},
    {"GORO_MEMLIMIT", kind::bytes_or_off, 0, INT64_MAX,
     "off or a byte count with an optional B, KiB, MiB, GiB or TiB suffix (e.g. "
     "GORO_MEMLIMIT=900MiB)",
     "heap"},
    // heap: how collections run (heap/gc_mode.cpp).
    {"GORO_GC_MODE", kind::choice, 0, 0, "stw or concurrent (e.g. GORO_GC_MODE=concurrent)", "heap",
     "stw concurrent"},
    // GORO_DEBUG=key=value,...
    {"GORO_DEBUG=schedtrace", kind::integer, 1, 3'600'000, "", "sched"},
    {"GORO_DEBUG=scheddetail", kind::integer, 0, 1, "", "sched"},
    {"GORO_DEBUG=gctrace", kind::integer, 0, 1, "", "heap"},
    {"GORO_DEBUG=gcstress", kind::integer, 0, 1'000'000'000, "", "heap"},
    // debug: the debug server (debug/server/server.hpp), started with the
    // runtime when GORO_DEBUG_ADDR is set. The token is never printed.
    {"GORO_DEBUG_ADDR", kind::host_port, 0, 65535,
     "host:port with a port in [0, 65535], a loopback host unless GORO_DEBUG_TOKEN is set "
     "(e.g. GORO_DEBUG_ADDR=127.0.0.1:6060)",
     "debug"},
    {"GORO_DEBUG_TOKEN", kind::secret, 0, 0,
     "visible ASCII characters without spaces (e.g. GORO_DEBUG_TOKEN=$(openssl rand -hex 16))",
     "debug"},
    // debug: Go's GOTRACEBACK (what a fatal error and SIGQUIT print;
    // sched/detail/debug_hooks.hpp), and a whole-program execution trace
    // written at exit (debug/trace.cpp).
    {"GORO_TRACEBACK", kind::choice, 0, 0, "none, single, all or crash (e.g. GORO_TRACEBACK=all)",
     "sched", "none single all crash"},
    {"GORO_TRACE", kind::text, 0, 0, "a file path (e.g. GORO_TRACE=/tmp/trace.json)", "debug"},
};

constexpr std::string_view kDebugPrefix = "GORO_DEBUG=";

bool is_debug_key(std::string_view name) noexcept {
  return name.substr(0, kDebugPrefix.size()) == kDebugPrefix;
}

// "host:port", "[v6]:port" or ":port" with a decimal port in [lo, hi].
bool valid_host_port(std::string_view t, int64_t lo, int64_t hi) {
  std::string_view port;
  if (!t.empty() && t.front() == '[') {
    const size_t close = t.find("]:");
    if (close == std::string_view::npos || close == 1) return false;
    port = t.substr(close + 2);
  } else {
    const size_t colon = t.rfind(':');
    if (colon == std::string_view::npos) return false;
    if (t.substr(0, colon).find(':') != std::string_view::npos) return false;  // bare IPv6
    port = t.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5) return false;
  int64_t n = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  return n >= lo && n <= hi;
}

bool valid_secret(std::string_view t) {
  for (char c : t)
    if (c < 0x21 || c > 0x7e) return false;
  return !t.empty();
}

const setting& find(std::string_view name) {
  for (const setting& s : kSettings)
    if (s.name == name) return s;
  fatal("settings: " + std::string(name) + " is not in the table (core/settings.cpp)");
}

// The raw text of a setting: the variable, or the key's value in GORO_DEBUG.
std::optional<std::string> raw(const setting& s) {
  if (!is_debug_key(s.name)) return env::get(std::string(s.name).c_str());
  const auto debug = env::get("GORO_DEBUG");
  if (!debug) return std::nullopt;
  const auto kv = env::parse_debug(*debug);
  const auto it = kv.find(std::string(s.name.substr(kDebugPrefix.size())));
  if (it == kv.end()) return std::nullopt;
  return it->second;
}

// The name used in error lines: "GORO_GC", or "GORO_DEBUG gctrace" for a key.
std::string display_name(const setting& s) {
  if (!is_debug_key(s.name)) return std::string(s.name);
  return "GORO_DEBUG " + std::string(s.name.substr(kDebugPrefix.size()));
}

[[noreturn]] void bad(const setting& s, std::string_view text) {
  throw config_error(display_name(s) + "=\"" + std::string(text) + "\": want " +
                     std::string(s.form));
}

value parse(const setting& s, const std::string& text) {
  value v;
  const std::string var = display_name(s);
  // A custom form replaces the parser's own message, so the line names the
  // whole accepted form ("off or ...").
  auto with_form = [&](auto&& f) {
    if (s.form.empty()) return f();
    try {
      return f();
    } catch (const config_error&) {
      bad(s, text);
    }
  };
  switch (s.form_kind) {
    case kind::integer:
      v.number = with_form([&] { return env::parse_int(var, text, s.lo, s.hi); });
      break;
    case kind::integer_or_off:
      if (text == "off") {
        v.off = true;
        break;
      }
      v.number = with_form([&] { return env::parse_int(var, text, s.lo, s.hi); });
      break;
    case kind::bytes_or_off:
      if (text == "off") {
        v.off = true;
        break;
      }
      v.number = with_form([&] { return env::parse_bytes(var, text); });
      if (v.number < s.lo || v.number > s.hi) bad(s, text);
      break;
    case kind::duration:
      v.number = with_form([&] { return env::parse_duration(var, text).count(); });
      if (v.number < s.lo || v.number > s.hi) bad(s, text);
      break;
    case kind::text:
      v.text = text;
      break;
    case kind::host_port:
      if (!valid_host_port(text, s.lo, s.hi)) bad(s, text);
      v.text = text;
      break;
    case kind::secret:
      // The line says how long the value is, never what it is.
      if (!valid_secret(text))
        throw config_error(var + " (" + std::to_string(text.size()) + " bytes, not shown): want " +
                           std::string(s.form));
      v.text = text;
      break;
    case kind::choice: {
      std::string_view rest = s.choices;
      for (int64_t i = 0; !rest.empty(); ++i) {
        const std::size_t sp = rest.find(' ');
        if (rest.substr(0, sp) == text) {
          v.number = i;
          v.text = text;
          return v;
        }
        rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
      }
      bad(s, text);
    }
  }
  return v;
}

}  // namespace

const setting* begin() noexcept {
  return std::begin(kSettings);
}

const setting* end() noexcept {
  return std::end(kSettings);
}

value parse(std::string_view name, const std::string& text) {
  return parse(find(name), text);
}

const setting& entry(std::string_view name) {
  return find(name);
}

std::optional<value> get(std::string_view name) {
  const setting& s = find(name);
  const auto text = raw(s);
  if (!text) return std::nullopt;
  return parse(s, *text);
}

std::optional<int64_t> integer(std::string_view name) {
  if (find(name).form_kind != kind::integer)
    fatal("settings: " + std::string(name) + " is not an integer");
  const auto v = get(name);
  if (!v) return std::nullopt;
  return v->number;
}

std::optional<int64_t> number_or(std::string_view name, int64_t off_value) {
  const kind k = find(name).form_kind;
  if (k != kind::integer_or_off && k != kind::bytes_or_off)
    fatal("settings: " + std::string(name) + " has no \"off\"");
  const auto v = get(name);
  if (!v) return std::nullopt;
  return v->off ? off_value : v->number;
}

std::optional<std::chrono::nanoseconds> duration(std::string_view name) {
  if (find(name).form_kind != kind::duration)
    fatal("settings: " + std::string(name) + " is not a duration");
  const auto v = get(name);
  if (!v) return std::nullopt;
  return std::chrono::nanoseconds(v->number);
}

std::optional<std::string> text(std::string_view name) {
  const kind k = find(name).form_kind;
  if (k != kind::text && k != kind::host_port && k != kind::secret && k != kind::choice)
    fatal("settings: " + std::string(name) + " is not text");
  const auto v = get(name);
  if (!v) return std::nullopt;
  return v->text;
}

std::optional<int64_t> choice(std::string_view name) {
  if (find(name).form_kind != kind::choice)
    fatal("settings: " + std::string(name) + " is not a choice");
  const auto v = get(name);
  if (!v) return std::nullopt;
  return v->number;
}

void validate_environment() {
  // GORO_DEBUG first: its own syntax, then its keys against the table.
  if (const auto debug = env::get("GORO_DEBUG")) {
    const auto kv = env::parse_debug(*debug);
    for (const auto& [key, val] : kv) {
      const std::string name = std::string(kDebugPrefix) + key;
      if (std::none_of(std::begin(kSettings), std::end(kSettings),
                       [&](const setting& s) { return s.name == name; })) {
        std::string keys;
        for (const setting& s : kSettings) {
          if (!is_debug_key(s.name)) continue;
          if (!keys.empty()) keys += ", ";
          keys += s.name.substr(kDebugPrefix.size());
        }
        throw config_error("GORO_DEBUG=\"" + key + "=" + val + "\": want one of the keys " + keys);
      }
    }
  }
  for (const setting& s : kSettings) get(s.name);
}

void validate_environment_or_exit() {
  try {
    validate_environment();
  } catch (const config_error& e) {
    die(e.what(), 2);
  }
}

}  // namespace goro::settings
