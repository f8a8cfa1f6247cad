#include "core/env.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <limits>

namespace goro::env {
namespace {

[[noreturn]] void bad(std::string_view var, std::string_view text, std::string_view form) {
  std::string m;
  m.append(var).append("=\"").append(text).append("\": want ").append(form);
  throw config_error(m);
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

std::optional<std::string> get(const char* name) {
  // getenv races only with setenv/putenv, which goro never calls; a program
  // that does so on another thread while goro starts is on its own (as in Go).
  const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe)
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

int64_t parse_int(std::string_view var, std::string_view text, int64_t lo, int64_t hi) {
  std::string form = "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                     "] (e.g. " + std::string(var) + "=" + std::to_string(lo) + ")";
  std::string_view digits = text;
  bool neg = false;
  if (!digits.empty() && digits.front() == '-') {
    neg = true;
    digits.remove_prefix(1);
  }
  if (!all_digits(digits)) bad(var, text, form);
  // Parse the magnitude unsigned so "-9223372036854775808" (INT64_MIN, whose
  // magnitude does not fit in int64) is accepted where the range allows it.
  uint64_t mag = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), mag);
  if (ec != std::errc() || p != digits.data() + digits.size()) bad(var, text, form);
  constexpr uint64_t kMaxMag = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (mag > kMaxMag + (neg ? 1 : 0)) bad(var, text, form);
  int64_t v = neg ? static_cast<int64_t>(0 - mag) : static_cast<int64_t>(mag);
  if (v < lo || v > hi) bad(var, text, form);
  return v;
}

namespace {

struct unit {
  std::string_view name;
  int64_t scale;
};

// The one "number + unit" form: decimal digits, then one of `units` (an
// empty name allows a bare number), as a multiple of its scale. No sign,
// spaces or fractions; overflow past INT64_MAX is an error.
int64_t parse_with_unit(std::string_view var, std::string_view text,
                        std::initializer_list<unit> units, std::string_view form) {
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  const std::string_view num = text.substr(0, i), name = text.substr(i);
  if (num.empty()) bad(var, text, form);
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
  if (ec != std::errc() || p != num.data() + num.size()) bad(var, text, form);
  const unit* u =
      std::find_if(units.begin(), units.end(), [&](const unit& x) { return x.name == name; });
  if (u == units.end()) bad(var, text, form);
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (v > kMax / static_cast<uint64_t>(u->scale)) bad(var, text, form);
  return static_cast<int64_t>(v) * u->scale;
}

}  // namespace

int64_t parse_bytes(std::string_view var, std::string_view text) {
  return parse_with_unit(
      var, text,
      {{"", 1},
       {"B", 1},
       {"KiB", 1LL << 10},
       {"MiB", 1LL << 20},
       {"GiB", 1LL << 30},
       {"TiB", 1LL << 40}},
      "a byte count with an optional suffix B, KiB, MiB, GiB or TiB (e.g. 900MiB)");
}

std::chrono::nanoseconds parse_duration(std::string_view var, std::string_view text) {
  constexpr int64_t kSecond = 1000LL * 1000 * 1000;
  return std::chrono::nanoseconds(
      parse_with_unit(var, text,
                      {{"ns", 1},
                       {"us", 1000},
                       {"ms", 1'000'000},
                       {"s", kSecond},
                       {"m", 60 * kSecond},
                       {"h", 3600 * kSecond}},
                      "a duration: digits with a unit ns, us, ms, s, m or h (e.g. 250ms)"));
}

std::map<std::string, std::string> parse_debug(std::string_view text) {
  std::map<std::string, std::string> out;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == item.size())
      bad("GORO_DEBUG", item, "comma-separated key=value pairs (e.g. GORO_DEBUG=schedtrace=1000)");
    out[std::string(item.substr(0, eq))] = std::string(item.substr(eq + 1));
  }
  return out;
}

void check_debug_keys(const std::map<std::string, std::string>& kv,
                      std::initializer_list<std::string_view> known) {
  for (const auto& [k, v] : kv) {
    bool ok = false;
    for (auto n : known) ok = ok || n == k;
    if (ok) continue;
    std::string list;
    for (auto n : known) {
      if (!list.empty()) list += ", ";
      list += n;
    }
    bad("GORO_DEBUG", k + "=" + v, "one of the keys " + list);
  }
}

}  // namespace goro::env
