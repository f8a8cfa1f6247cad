#include "core/env.hpp"

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
  int64_t v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || p != digits.data() + digits.size()) bad(var, text, form);
  if (neg) v = -v;
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
  unsigned shift = 0;
  if (unit.empty() || unit == "B") shift = 0;
  else if (unit == "KiB") shift = 10;
  else if (unit == "MiB") shift = 20;
  else if (unit == "GiB") shift = 30;
  else if (unit == "TiB") shift = 40;
  else bad(var, text, form);
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (v > (kMax >> shift)) bad(var, text, form);
  return static_cast<int64_t>(v << shift);
}

std::chrono::nanoseconds parse_duration(std::string_view var, std::string_view text) {
  constexpr std::string_view form = "a duration: digits with a unit ns, us, ms, s, m or h (e.g. 250ms)";
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  std::string_view num = text.substr(0, i), unit = text.substr(i);
  if (num.empty()) bad(var, text, form);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
  if (ec != std::errc() || p != num.data() + num.size()) bad(var, text, form);
  int64_t mul = 0;
  if (unit == "ns") mul = 1;
  else if (unit == "us") mul = 1000;
  else if (unit == "ms") mul = 1000 * 1000;
  else if (unit == "s") mul = 1000LL * 1000 * 1000;
  else if (unit == "m") mul = 60LL * 1000 * 1000 * 1000;
  else if (unit == "h") mul = 3600LL * 1000 * 1000 * 1000;
  else bad(var, text, form);
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
