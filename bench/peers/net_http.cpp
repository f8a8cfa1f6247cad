// http: the HTTP/1.1 server of the network rows (bench/run's http-hello,
// http-alloc and idle-conns rows) on goro::http, answering as the Go peer's
// `netpeers http` (bench/peers/net/go/servers.go) and the hyper peer do:
//
//   GET /hello      13-byte "Hello, World!", text/plain
//   GET /alloc?n=K  K short-lived 128-byte objects on the collected heap
//                   (each kept reachable by an 8-slot ring for 8 iterations,
//                   then garbage), then a 1 KiB text/plain body computed from
//                   them: byte for byte the Go peer's allocWork (netpeers
//                   check compares it)
//   POST /echo      the request body (Content-Length or chunked)
//   other methods   405; other paths 404
//
// One handler switches on the path and parses the query by hand, as both
// peers do. Runs until SIGTERM or SIGINT, then shuts the server down
// gracefully (in-flight requests finish, idle connections close; at most 5 s).

#include <array>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <string>
#include <string_view>

#include "bench/peers/net_server.hpp"
#include "bench/peers/workloads.hpp"

namespace goro_peers {

// The Go peer's allocWork, in goro: n short-lived 128-byte objects (Go's
// new(obj128), zeroed), each reachable from an 8-slot ring for 8
// iterations, then a freshly allocated 1 KiB body that depends on them. A
// plain function, not a coroutine: the ring lives on the worker's stack,
// which the collector scans.
//
// gc_new, not gc_new_noscan (Go's obj128 is noscan): the pointer-free fast
// path (heap/small_alloc.cpp) chains its per-thread free objects through
// their first word inside Boehm's PTRFREE kind, which the collector never
// scans, so a collection frees every chained object but the first while it
// is still on the chain; under this load the chain then points into reused
// memory and gc_new_noscan crashes (SIGSEGV in small_alloc within seconds of
// wrk on /alloc?n=100). The scanned kind keeps its chain alive.
std::string alloc_work(int64_t n) {
  struct obj128 {
    uint8_t b[128];
  };
  std::array<obj128*, 8> ring{};
  uint64_t sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    obj128* o = goro::gc_new<obj128>();
    o->b[i % 128] = static_cast<uint8_t>(i);
    ring[static_cast<size_t>(i & 7)] = o;
    sum += static_cast<uint64_t>(o->b[(i * 7) % 128]) + static_cast<uint64_t>(i);
  }
  // Keep the ring (and so every allocation) observable.
  asm volatile("" : : "r"(ring.data()) : "memory");
  std::string body(1024, '\0');
  for (size_t j = 0; j < body.size(); ++j) body[j] = static_cast<char>('a' + (j + sum) % 26);
  return body;
}

// The integer value of key in a raw query (0 when absent or malformed),
// clamped to [0, 1e6], as the Go peer's queryInt.
int64_t query_int(std::string_view raw, std::string_view key) {
  while (!raw.empty()) {
    const size_t amp = raw.find('&');
    const std::string_view kv = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view() : raw.substr(amp + 1);
    const size_t eq = kv.find('=');
    if (eq == std::string_view::npos || kv.substr(0, eq) != key) continue;
    std::string_view v = kv.substr(eq + 1);
    if (v.starts_with('+')) v.remove_prefix(1);  // strconv.Atoi takes a sign
    int64_t n = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size() || v.empty() || n < 0) return 0;
    return n > 1'000'000 ? 1'000'000 : n;
  }
  return 0;
}

namespace {

goro::task<void> handle(goro::http::request& r, goro::http::response_writer& w) {
  if (r.method() == "POST" && r.path() == "/echo") {
    w.add_header("Content-Type", "application/octet-stream");
    w.write(r.body());
    co_return;
  }
  if (r.method() != "GET") {
    w.set_status(405);
    w.add_header("Content-Type", "text/plain; charset=utf-8");
    w.write("method not allowed\n");
    co_return;
  }
  if (r.path() == "/hello") {
    w.add_header("Content-Type", "text/plain");
    w.write("Hello, World!");
  } else if (r.path() == "/alloc") {
    const std::string body = alloc_work(query_int(r.query(), "n"));
    w.add_header("Content-Type", "text/plain");
    w.write(body);
  } else {
    w.set_status(404);
    w.add_header("Content-Type", "text/plain; charset=utf-8");
    w.write("404 page not found\n");
  }
  co_return;
}

goro::task<void> http_root(std::string addr) {
  goro::context stop = goro::signal::notify_context(goro::context::background(), {SIGTERM, SIGINT});
  goro::http::server srv(handle);
  goro::net::tcp_listener ln = goro::net::tcp_listener::listen(addr, {.backlog = 4096});
  goro::join_handle<void> serving = goro::spawn(srv.serve(ln));
  co_await stop.done();
  co_await srv.shutdown(goro::context::background().with_timeout(std::chrono::seconds(5)));
  co_await serving;
}

}  // namespace

void run_http(const args_t& args) {
  const server_flags f = parse_server_flags("http", args);
  goro::run(http_root(f.addr), f.opts);
}

}  // namespace goro_peers
