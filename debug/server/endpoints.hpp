#pragma once
// The debug server's endpoints other than the token check (server.cpp):
// /debug/gc, /metrics, the /debug/pprof/ index (endpoints.cpp) and the
// profiles (profiles.cpp). Not for users.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/http/router.hpp"

namespace goro::debug::detail {

/// The collector's and the pacer's state, one JSON object (a line).
std::string gc_state_json();

/// Applies the parameters of POST /debug/gc ("gc_percent=N|off",
/// "memory_limit=BYTES|off", '&'-separated, percent-encoded). Every value is
/// checked before any is set. Returns the error line for a 400, or nullopt
/// when they were applied.
std::optional<std::string> apply_gc_params(std::string_view params);

/// "a=1&b=x%20y" -> {{"a","1"},{"b","x y"}} ('+' is a space; a malformed
/// escape is kept as it is).
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view q);

/// Adds every endpoint to `r` (the profile endpoints too).
void add_endpoints(http::router& r);

/// Adds the /debug/pprof/ profile endpoints (profiles.cpp).
void add_profile_endpoints(http::router& r);

}  // namespace goro::debug::detail
