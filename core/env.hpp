#pragma once
// The value forms of GORO_* environment variables, and the one getenv.
// Which variables exist, and reading them, is core/settings.hpp's: it is the
// only caller of env::get for a GORO_* name.
//
// Every parser throws goro::config_error with a message that names the
// variable, the value as given and the accepted form, e.g.
//   GORO_MAXPROCS="abc": want a positive integer (e.g. GORO_MAXPROCS=4)
// Start-up code turns a config_error into one line on stderr and exit code 2
// (see goro::die); library callers and tests can catch it instead.

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace goro {

class config_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

namespace env {

/// The raw value of `name`, or nullopt when unset. Empty counts as unset,
/// as in Go (GOGC= behaves like no GOGC).
std::optional<std::string> get(const char* name);

/// A decimal integer in [lo, hi]: an optional '-' and digits only (no '+',
/// spaces, exponents or hex). `var` names the variable for messages.
int64_t parse_int(std::string_view var, std::string_view text, int64_t lo, int64_t hi);

/// A byte size: digits with an optional suffix B, KiB, MiB, GiB or TiB, as
/// GOMEMLIMIT accepts. SI-looking forms (K, M, KB, MB, ...) are rejected: it
/// would be ambiguous whether they mean powers of 1000 or 1024. No spaces, no
/// sign, no fractions. Overflow past INT64_MAX is an error.
int64_t parse_bytes(std::string_view var, std::string_view text);

/// A duration: digits with a unit ns, us, ms, s, m, h (Go's time.ParseDuration
/// subset without fractions or compound forms).
std::chrono::nanoseconds parse_duration(std::string_view var, std::string_view text);

/// GORO_DEBUG: "key=value,key=value". Returns the pairs keyed by name (a
/// later duplicate overwrites an earlier one); empty items are skipped, and an
/// item without '=', with an empty key or an empty value is an error. Keys are
/// validated by the caller against its own list with check_debug_keys.
std::map<std::string, std::string> parse_debug(std::string_view text);

/// Throws config_error if `kv` holds a key not in `known` (comma-separated
/// list for the message, e.g. "schedtrace, scheddetail, gctrace").
void check_debug_keys(const std::map<std::string, std::string>& kv,
                      std::initializer_list<std::string_view> known);

}  // namespace env
}  // namespace goro
