// echo: the TCP echo server of the network rows (bench/run's tcp-echo-c64),
// as the Go peer's `netpeers echo` (bench/peers/net/go/servers.go): one task
// and one -buf byte read buffer (4 KiB) per connection; whatever arrives is
// written back. TCP_NODELAY is on for accepted sockets (goro's default, as
// Go's). Runs until SIGTERM or SIGINT.

#include <cstddef>
#include <cstdio>
#include <memory>
#include <span>

#include "bench/peers/net_server.hpp"
#include "bench/peers/workloads.hpp"

namespace goro_peers {
namespace {

goro::task<void> echo_conn(goro::net::tcp_stream conn, size_t buf_size) {
  // The buffer is plain memory (no pointers), allocated once per connection
  // as the Go peer's make([]byte, 4096).
  std::unique_ptr<std::byte[]> buf(new std::byte[buf_size]);
  const std::span<std::byte> b(buf.get(), buf_size);
  try {
    for (;;) {
      const size_t n = co_await conn.read_some(b);
      if (n == 0) break;
      co_await conn.write_all(b.first(n));
    }
  } catch (const goro::net::net_error&) {
    // reset, closed: the connection is over, as in the Go peer.
  }
}

}  // namespace

void run_echo(const args_t& args) {
  const server_flags f = parse_server_flags("echo", args);
  const size_t buf = static_cast<size_t>(f.buf);
  goro::run(serve_until_signal(
                f.addr, [buf](goro::net::tcp_stream c) { return echo_conn(std::move(c), buf); }),
            f.opts);
}

}  // namespace goro_peers
