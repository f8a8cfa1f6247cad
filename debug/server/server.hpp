#pragma once
// goro::debug::serve: the debug server, Go's net/http/pprof and expvar
// surface for a goro program, on goro's own HTTP server (net/http) as tasks
// on the runtime's poller.
//
//   // from code, inside goro::run:
//   auto dbg = goro::debug::serve({.address = "127.0.0.1:6060", .token = token});
//   ...
//   co_await dbg.stop();
//
//   # or in any goro program, started with the runtime:
//   GORO_DEBUG_ADDR=127.0.0.1:6060 GORO_DEBUG_TOKEN=$(openssl rand -hex 16) ./service
//   curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:6060/debug/gc
//
// Endpoints (README "The debug server"):
//   GET  /metrics           goro's metrics catalog in Prometheus text format
//                           (prometheus-cpp's TextSerializer, goro::prometheus)
//   GET  /debug/pprof/      an index of what is served
//   GET  /debug/gc          the collector's and the pacer's state as JSON
//   POST /debug/gc?gc_percent=N|off&memory_limit=BYTES|off
//                           sets them (the forms of GORO_GC and
//                           GORO_MEMLIMIT) and answers the new state; a bad
//                           value is a 400 naming it and the accepted form
// Anything else is a 404.
//
// Access: with a token, every request (every path, unknown ones too) must
// carry "Authorization: Bearer <token>", compared in constant time;
// otherwise 401 with a body that says nothing about the program. Without a
// token the server listens only on a loopback address (127.0.0.0/8, ::1,
// "localhost"); a non-loopback address without a token is refused. The
// token is never printed.
//
// The server's tasks are ordinary goro tasks: they end with the run, so a
// debug server never keeps goro::run from returning.

#include <cstdint>
#include <memory>
#include <string>

#include "net/http/server.hpp"
#include "sched/join_handle.hpp"
#include "sched/task.hpp"

namespace goro::debug {

struct server_options {
  /// "host:port" (port 0: any free one). Loopback unless a token is set.
  std::string address = "127.0.0.1:6060";
  /// The bearer token every request must carry; empty: none (loopback only).
  /// Visible ASCII without spaces.
  std::string token;
};

namespace detail {
struct server_state;
}

/// A running debug server. Dropping the handle leaves it running until the
/// run ends; stop() ends it earlier.
class server_handle {
 public:
  server_handle() = default;
  server_handle(server_handle&&) noexcept;
  server_handle& operator=(server_handle&&) noexcept;
  ~server_handle();

  /// The address it listens on, e.g. "127.0.0.1:6060", and its port.
  std::string address() const;
  uint16_t port() const noexcept;

  /// Stops accepting, lets requests in progress finish for up to a second
  /// (then cuts them off), and waits for the server's task. Once only.
  task<void> stop();

 private:
  friend server_handle serve(server_options o);
  std::shared_ptr<detail::server_state> s_;
  join_handle<void> serving_;
};

/// Starts the debug server as a task on the running runtime. Throws
/// std::invalid_argument for a malformed address or token, or a non-loopback
/// address without a token (the message names the address and what is
/// accepted); goro::net::net_error when it cannot listen; std::logic_error
/// outside goro::run.
server_handle serve(server_options o);

/// The endpoints as one handler, the token check included, to mount on a
/// server of one's own (the token rules of serve() apply; no address check).
http::handler make_handler(std::string token);

/// Whether `host` (a literal IP or "localhost", no port) names only
/// loopback addresses: 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104, "localhost".
/// "" (every interface) is not loopback.
bool is_loopback_host(std::string_view host);

/// Constant-time comparison of a presented token with the expected one: the
/// time depends on the expected token's length only.
bool token_equal(std::string_view presented, std::string_view expected) noexcept;

}  // namespace goro::debug
