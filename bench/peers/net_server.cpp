#include "bench/peers/net_server.hpp"

#include <csignal>
#include <cstdio>
#include <utility>

#include "bench/peers/flags.hpp"

namespace goro_peers {

server_flags parse_server_flags(const char* name, const args_t& args) {
  flag_set fs(name);
  const std::string* addr = fs.add_string("addr", "127.0.0.1:8080", "listen address HOST:PORT");
  const int64_t* procs = fs.add_int("procs", 0, "GOMAXPROCS (0 = goro's default)");
  const int64_t* buf = fs.add_int("buf", 4096, "echo: read buffer bytes per connection");
  fs.parse(args);
  if (*procs < 0) fs.fail("-procs must be >= 0");
  if (*buf < 1 || *buf > (64 << 20)) fs.fail("-buf must be in [1, 67108864]");
  server_flags f;
  f.addr = *addr;
  f.opts.max_procs = static_cast<int>(std::min<int64_t>(*procs, 1 << 20));
  f.buf = *buf;
  return f;
}

goro::task<void> serve_until_signal(std::string addr,
                                    std::function<goro::task<void>(goro::net::tcp_stream)> serve) {
  goro::context stop = goro::signal::notify_context(goro::context::background(), {SIGTERM, SIGINT});
  goro::net::tcp_listener ln = goro::net::tcp_listener::listen(addr, {.backlog = 4096});
  for (;;) {
    goro::net::tcp_stream conn;
    try {
      conn = co_await ln.accept(stop);
    } catch (const goro::net::net_error& e) {
      if (e.kind() == goro::net::error_kind::cancelled || stop.is_done()) break;
      // A connection reset before it was accepted, and the like: keep serving
      // (fd exhaustion is retried inside accept itself).
      std::fprintf(stderr, "goro-peers: accept: %s\n", e.what());
      continue;
    }
    goro::spawn(serve(std::move(conn))).detach();
  }
  ln.close();
}

}  // namespace goro_peers
