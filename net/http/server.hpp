#pragma once
// goro::http::server: an HTTP/1.1 server, one task per connection (Go's
// net/http model).
//
//   goro::http::router r;
//   r.handle("GET", "/hello", [](goro::http::request&, goro::http::response_writer& w)
//                                 -> goro::task<void> {
//     w.add_header("Content-Type", "text/plain");
//     w.write("Hello, World!");
//     co_return;
//   });
//   goro::http::server srv(r);
//   auto ln = goro::net::tcp_listener::listen("127.0.0.1:8080");
//   goro::spawn(srv.serve(ln));             // returns once shutdown() starts
//   ...
//   co_await srv.shutdown(goro::context::background().with_timeout(5s));
//
// What a connection does: keep-alive (HTTP/1.1 by default, HTTP/1.0 with
// "Connection: keep-alive"), pipelining (requests handled one after the
// other, responses in request order and written together when several are
// ready), bodies in Content-Length or chunked form read in full before the
// handler runs, "100 Continue" sent once the headers of a request that asks
// for it have passed the limits, HEAD, Connection: close.
//
// A request that breaks a rule or a limit gets its status (400, 408, 413,
// 414, 417, 431, 505) with a text body saying what was wrong, then the
// connection is closed after the client's remaining bytes are drained for
// up to lingering_close (so the answer is not lost to a reset). Nothing
// after a bad request is parsed: no smuggled second request is answered.
// A handler that throws gets a 500 (if nothing was sent yet) and the
// connection is closed; the exception is printed to stderr.
//
// Timeouts (zero: none), each a read or write deadline on the socket:
//   idle_timeout         waiting for the first byte of the next request
//   read_header_timeout  from that byte to the end of the headers (408)
//   read_timeout         from that byte to the end of the body (408)
//   write_timeout        each response's writes, from when it starts
// Go's http.Server leaves all of these unset (no limit); goro's defaults
// bound a slow or idle client (the values Cloudflare's Go guidance gives).
// A deadline is moved only when it is more than an eighth of its timeout
// away from where it should be, so a busy connection does not re-arm a
// timer per request: a timeout fires between 7/8 and 9/8 of its value.
//
// shutdown(ctx) (Go's Server.Shutdown): closes the listener (new connects
// are refused), closes idle connections, lets requests in progress finish
// and their connections close after the response, and returns true when
// every connection is gone, or false when ctx ends first (the rest are then
// closed: their handlers run on, their writes fail).

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

#include "net/http/parse_limits.hpp"
#include "net/http/request.hpp"
#include "net/http/response_writer.hpp"
#include "net/tcp.hpp"
#include "sched/context.hpp"
#include "sched/task.hpp"

namespace goro::http {

/// A request handler: reads the request, answers through the writer.
using handler = std::function<task<void>(request&, response_writer&)>;

struct server_options : parse_limits {
  std::chrono::nanoseconds idle_timeout = std::chrono::seconds(120);
  std::chrono::nanoseconds read_header_timeout = std::chrono::seconds(10);
  std::chrono::nanoseconds read_timeout = std::chrono::seconds(60);
  std::chrono::nanoseconds write_timeout = std::chrono::seconds(60);
  /// How long a connection closed for a bad request keeps reading (and
  /// dropping) what the client still sends (Go: rstAvoidanceDelay).
  std::chrono::nanoseconds lingering_close = std::chrono::milliseconds(500);
  /// Connections served at once; 0: no limit (Go has none either:
  /// netutil.LimitListener). At the limit the server stops accepting.
  size_t max_connections = 0;
};

namespace detail {
struct server_state;
}

class server {
 public:
  /// Throws std::invalid_argument for a limit out of range or a negative
  /// timeout, naming it.
  explicit server(handler h, server_options o = {});
  server(const server&) = delete;
  server& operator=(const server&) = delete;
  /// Connections still open keep the server's state alive and end on
  /// their own; await shutdown() first to end them in order.
  ~server();

  /// Accepts connections from `ln` and serves each in a task of its own,
  /// until shutdown() (then returns) or until accepting fails for a reason
  /// other than fd exhaustion (then throws the net_error). One listener per
  /// server at a time.
  task<void> serve(net::tcp_listener& ln);

  /// Graceful shutdown, see above. True: every connection finished.
  task<bool> shutdown(const goro::context& ctx);

  /// Connections open now.
  size_t connections() const noexcept;
  const server_options& options() const noexcept;

 private:
  std::shared_ptr<detail::server_state> s_;
};

}  // namespace goro::http
