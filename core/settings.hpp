#pragma once
// Every GORO_* environment variable goro reads, in one place.
//
// The table in core/settings.cpp lists each variable, and each key of
// GORO_DEBUG, with its value form, its bounds and the layer that reads it.
// Nothing else in goro reads a GORO_* variable: a layer asks for its
// setting through the accessors below, which parse it with the table's
// entry. validate_environment() checks every variable that is set, so a bad
// value anywhere fails at start-up (the heap's init and goro::run call
// it), and fails the same way for every variable: one line on stderr
//   goro: GORO_MAXPROCS="abc": want an integer in [1, 1024] (e.g. GORO_MAXPROCS=1)
// and exit code 2. The accessors throw goro::config_error with that line
// instead, for library callers and tests.
//
// Adding a variable or a GORO_DEBUG key takes two steps:
//   1. One line in kSettings (core/settings.cpp), e.g.
//        {"GORO_TRACE", kind::text, 0, 0, "a file path (e.g. GORO_TRACE=/tmp/t.out)", "debug"},
//        {"GORO_DEBUG=gcstress", kind::integer, 0, 1'000'000, "", "heap"},
//      (a GORO_DEBUG key is named "GORO_DEBUG=<key>"; `form` may stay empty
//      for kind::integer, whose message says the range).
//   2. Read it where it is used, with the accessor for its kind:
//        settings::integer("GORO_DEBUG=gcstress")   // std::optional<int64_t>
//        settings::text("GORO_TRACE")               // std::optional<std::string>
//        settings::choice("GORO_TRACEBACK")         // the word's index
//      An accessor asked for a name the table lacks is a bug: fatal().
// Then say what it does in the README's list of variables.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/env.hpp"

namespace goro::settings {

/// The value forms.
enum class kind {
  integer,         ///< a decimal integer in [lo, hi]
  integer_or_off,  ///< "off", or a decimal integer in [lo, hi]
  bytes_or_off,    ///< "off", or a byte count (env::parse_bytes) in [lo, hi]
  duration,        ///< digits with a unit ns..h (env::parse_duration), in ns in [lo, hi]
  text,            ///< any non-empty string
  host_port,       ///< "host:port", "[v6]:port" or ":port", port a number in [0, 65535]
  secret,          ///< visible ASCII without spaces; never echoed in an error line
  choice,          ///< one of the words in `choices`; the number is its index
};

/// One entry of the table.
struct setting {
  std::string_view name;     ///< "GORO_MAXPROCS", or "GORO_DEBUG=gctrace" for a GORO_DEBUG key
  kind form_kind;            ///< how the value is parsed
  int64_t lo, hi;            ///< bounds for the numeric kinds
  std::string_view form;     ///< the accepted form in the error line (empty: derived)
  std::string_view used_by;  ///< the layer that reads it (documentation)
  std::string_view choices;  ///< kind::choice: the accepted words, space-separated
};

/// Every setting goro knows, in table order.
const setting* begin() noexcept;
const setting* end() noexcept;

/// A parsed value: `off` for "off" (the *_or_off kinds), else `number`
/// (integers, bytes, durations in ns) or `text`.
struct value {
  bool off = false;
  int64_t number = 0;
  std::string text;
};

/// The value of `name` (a table name), nullopt when unset or empty (as in
/// Go, an empty variable counts as unset). Throws config_error on a bad
/// value.
std::optional<value> get(std::string_view name);

/// kind::integer settings.
std::optional<int64_t> integer(std::string_view name);
/// kind::integer_or_off and kind::bytes_or_off: the number, or `off_value`
/// for "off".
std::optional<int64_t> number_or(std::string_view name, int64_t off_value);
/// kind::duration settings.
std::optional<std::chrono::nanoseconds> duration(std::string_view name);
/// kind::text, kind::host_port, kind::secret and kind::choice settings.
std::optional<std::string> text(std::string_view name);
/// kind::choice settings: the index of the word in the entry's `choices`.
std::optional<int64_t> choice(std::string_view name);

/// Parses `text` as the value of the table entry `name` (what get() does
/// with the environment's text): for values that come from elsewhere in the
/// same form, e.g. the debug server's POST /debug/gc?gc_percent=off.
/// Throws config_error naming `name`.
value parse(std::string_view name, const std::string& text);

/// The entry named `name` (fatal() when the table lacks it).
const setting& entry(std::string_view name);

/// Parses every setting that is set, and checks that GORO_DEBUG names only
/// keys in the table. Throws config_error for the first bad one.
void validate_environment();
/// validate_environment(), ending the process on a bad value: the error
/// line on stderr, exit code 2 (goro::die).
void validate_environment_or_exit();

}  // namespace goro::settings
