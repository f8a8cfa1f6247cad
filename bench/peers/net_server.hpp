#pragma once
// What goro-peers' network servers (`echo`, `http`) share: the Go network
// peer's command line (bench/peers/net/go/main.go: -addr, -procs, -buf) and
// the accept loop that ends on SIGTERM or SIGINT.

#include <cstdint>
#include <functional>
#include <string>

#include "bench/peers/workloads.hpp"
#include "goro.hpp"

namespace goro_peers {

/// A network server's command line: `<name> -addr HOST:PORT -procs N [-buf B]`.
struct server_flags {
  std::string addr;
  goro::runtime_options opts;  // max_procs from -procs (0 = goro's default)
  int64_t buf = 4096;          // echo: read buffer bytes per connection
};

/// Parses args as netpeers does (exit 2 with the usage on a bad line).
server_flags parse_server_flags(const char* name, const args_t& args);

/// Listens on addr (backlog 4096, as the peers: Go takes somaxconn, 4096
/// here) and spawns serve(conn) for every accepted connection until SIGTERM
/// or SIGINT arrives; then it stops accepting and returns (goro::run's
/// shutdown destroys the connection tasks). Throws net_error when addr
/// cannot be bound.
goro::task<void> serve_until_signal(std::string addr,
                                    std::function<goro::task<void>(goro::net::tcp_stream)> serve);

}  // namespace goro_peers
