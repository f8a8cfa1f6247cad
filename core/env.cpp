#include "core/env.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <iterator>
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
  const char* v = std::getenv(name);
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

int64_t parse_bytes(std::string_view var, std::string_view text) {
  constexpr std::string_view form =
      "a byte count with an optional suffix B, KiB, MiB, GiB or TiB (e.g. 900MiB)";
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  std::string_view num = text.substr(0, i), unit = text.substr(i);
  if (num.empty()) bad(var, text, form);
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
  if (ec != std::errc() || p != num.data() + num.size()) bad(var, text, form);
  struct suffix {
    std::string_view name;
    unsigned shift;
  };
  constexpr suffix kSuffixes[] = {{"", 0},     {"B", 0},    {"KiB", 10},
                                  {"MiB", 20}, {"GiB", 30}, {"TiB", 40}};
  const suffix* s = std::find_if(std::begin(kSuffixes), std::end(kSuffixes),
                                 [&](const suffix& x) { return x.name == unit; });
  if (s == std::end(kSuffixes)) bad(var, text, form);
  unsigned shift = s->shift;
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (v > (kMax >> shift)) bad(var, text, form);
  return static_cast<int64_t>(v << shift);
}

std::chrono::nanoseconds parse_duration(std::string_view var, std::string_view text) {
  constexpr std::string_view form =
      "a duration: digits with a unit ns, us, ms, s, m or h (e.g. 250ms)";
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  std::string_view num = text.substr(0, i), unit = text.substr(i);
  if (num.empty()) bad(var, text, form);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
  if (ec != std::errc() || p != num.data() + num.size()) bad(var, text, form);
  struct unit_ns {
    std::string_view name;
    int64_t ns;
  };
  constexpr unit_ns kUnits[] = {{"ns", 1},
                                {"us", 1000},
                                {"ms", 1000 * 1000},
                                {"s", 1000LL * 1000 * 1000},
                                {"m", 60LL * 1000 * 1000 * 1000},
                                {"h", 3600LL * 1000 * 1000 * 1000}};
  const unit_ns* u = std::find_if(std::begin(kUnits), std::end(kUnits),
                                  [&](const unit_ns& x) { return x.name == unit; });
  if (u == std::end(kUnits)) bad(var, text, form);
  int64_t mul = u->ns;
  if (v > std::numeric_limits<int64_t>::max() / mul) bad(var, text, form);
  return std::chrono::nanoseconds(v * mul);
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
