// The debug server: the address and token checks, the bearer-token gate in
// front of every endpoint, and the server's task.

#include "debug/server/server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "debug/server/endpoints.hpp"
#include "net/error.hpp"
#include "net/tcp.hpp"
#include "sched/context.hpp"
#include "sched/run.hpp"

namespace goro::debug {

namespace detail {

struct server_state {
  explicit server_state(http::handler h, http::server_options o) : srv(std::move(h), o) {}
  http::server srv;
  net::tcp_listener ln;
  bool stopped = false;
};

}  // namespace detail

namespace {

// The host part of "host:port", "[v6]:port" or ":port" (nullopt: malformed).
std::optional<std::string> host_of(std::string_view addr) {
  if (!addr.empty() && addr.front() == '[') {
    const size_t close = addr.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    return std::string(addr.substr(1, close - 1));
  }
  const size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return std::string(addr.substr(0, colon));
}

bool valid_token(std::string_view t) {
  for (char c : t)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

// The 401: the same few bytes whatever was asked, nothing about the program.
task<void> unauthorized(http::response_writer& w) {
  w.set_status(401);
  w.add_header("WWW-Authenticate", "Bearer");
  w.add_header("Content-Type", "text/plain; charset=utf-8");
  w.add_header("Cache-Control", "no-store");
  w.write("401 Unauthorized\n");
  co_return;
}

bool authorized(const http::request& req, std::string_view token) {
  if (token.empty()) return true;
  const auto auth = req.header("Authorization");
  if (!auth) return false;
  constexpr std::string_view scheme = "bearer ";
  if (auth->size() < scheme.size() || !http::iequals(auth->substr(0, scheme.size()), scheme))
    return false;
  std::string_view presented = auth->substr(scheme.size());
  while (!presented.empty() && presented.front() == ' ') presented.remove_prefix(1);
  return token_equal(presented, token);
}

task<void> serve_task(std::shared_ptr<detail::server_state> s) {
  try {
    co_await s->srv.serve(s->ln);
  } catch (const net::net_error&) {
    // The listener closed under it: the server is over either way.
  }
}

}  // namespace

bool token_equal(std::string_view presented, std::string_view expected) noexcept {
  // Every byte of the expected token is looked at whatever the presented one
  // holds; no early exit on a mismatch or a shorter input.
  unsigned diff = presented.size() == expected.size() ? 0u : 1u;
  for (size_t i = 0; i < expected.size(); ++i) {
    const unsigned char p = i < presented.size() ? static_cast<unsigned char>(presented[i])
                                                 : static_cast<unsigned char>(0);
    diff |= static_cast<unsigned>(p ^ static_cast<unsigned char>(expected[i]));
  }
  // Keep the compiler from turning the loop into an early-exit comparison.
  asm volatile("" : "+r"(diff));
  return diff == 0 && !expected.empty();
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  const std::string h(host);
  in_addr a4{};
  if (::inet_pton(AF_INET, h.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6{};
  if (::inet_pton(AF_INET6, h.c_str(), &a6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
  return false;
}

http::handler make_handler(std::string token) {
  if (!valid_token(token))
    throw std::invalid_argument(
        "goro::debug: the token (" + std::to_string(token.size()) +
        " bytes, not shown) must be visible ASCII characters without spaces");
  auto r = std::make_shared<http::router>();
  detail::add_endpoints(*r);
  return [r, token = std::move(token)](http::request& req, http::response_writer& w) {
    if (!authorized(req, token)) return unauthorized(w);
    return (*r)(req, w);
  };
}

server_handle serve(server_options o) {
  if (!running())
    throw std::logic_error(
        "goro::debug::serve: no goro runtime is running (call it inside "
        "goro::run)");
  const auto host = host_of(o.address);
  if (!host)
    throw std::invalid_argument("goro::debug::serve: address \"" + o.address +
                                "\": want host:port (e.g. 127.0.0.1:6060)");
  if (o.token.empty() && !is_loopback_host(*host))
    throw std::invalid_argument(
        "goro::debug::serve: address \"" + o.address +
        "\" is not a loopback address and no token is set: want a loopback host (127.0.0.1, "
        "[::1], localhost) or a token (GORO_DEBUG_TOKEN)");
  http::server_options so;
  so.max_connections = 64;  // a debug port is not a service port
  auto s = std::make_shared<detail::server_state>(make_handler(o.token), so);
  s->ln = net::tcp_listener::listen(o.address);
  if (o.token.empty()) {
    // What was bound, not what was asked: a name could resolve elsewhere.
    const std::string bound = s->ln.local_address();
    const auto bound_host = host_of(bound);
    if (!bound_host || !is_loopback_host(*bound_host)) {
      s->ln.close();
      throw std::invalid_argument("goro::debug::serve: address \"" + o.address + "\" bound " +
                                  bound +
                                  ", not a loopback address, and no token is set: want a "
                                  "loopback host or a token (GORO_DEBUG_TOKEN)");
    }
  }
  server_handle h;
  h.s_ = s;
  h.serving_ = spawn(serve_task(s));
  return h;
}

server_handle::server_handle(server_handle&&) noexcept = default;
server_handle& server_handle::operator=(server_handle&&) noexcept = default;
server_handle::~server_handle() {
  // Dropping the join handle detaches the server's task: it serves on.
}

std::string server_handle::address() const {
  return s_ ? s_->ln.local_address() : std::string();
}

uint16_t server_handle::port() const noexcept {
  return s_ ? s_->ln.port() : 0;
}

task<void> server_handle::stop() {
  if (!s_ || s_->stopped) throw std::logic_error("goro::debug::server_handle::stop: not running");
  s_->stopped = true;
  co_await s_->srv.shutdown(context::background().with_timeout(std::chrono::seconds(1)));
  co_await std::move(serving_);
}

}  // namespace goro::debug
