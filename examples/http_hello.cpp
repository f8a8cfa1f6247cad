// A minimal goro::http service, the server wrk measures:
//   GET  /hello  -> "Hello, World!" (text/plain)
//   POST /echo   -> the request body (Content-Length or chunked)
//
//   build/release/examples/example_http_hello --addr 127.0.0.1:8080 [--procs 2]
//   wrk -t2 -c64 -d10s http://127.0.0.1:8080/hello
//
// Runs until SIGINT or SIGTERM, then shuts down gracefully (5 s).
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "goro.hpp"
#include "net/http/router.hpp"
#include "net/http/server.hpp"
#include "net/signal.hpp"

namespace {

goro::task<int> serve(std::string addr) {
  goro::http::router r;
  r.handle("GET", "/hello",
           [](goro::http::request&, goro::http::response_writer& w) -> goro::task<void> {
             w.add_header("Content-Type", "text/plain");
             w.write("Hello, World!");
             co_return;
           });
  r.handle("POST", "/echo",
           [](goro::http::request& req, goro::http::response_writer& w) -> goro::task<void> {
             w.write(req.body());
             co_return;
           });
  auto ln = goro::net::tcp_listener::listen(addr);
  goro::http::server srv(r);
  auto serving = goro::spawn(srv.serve(ln));
  std::printf("http_hello: listening on %s\n", ln.local_address().c_str());
  std::fflush(stdout);
  const goro::context stop =
      goro::signal::notify_context(goro::context::background(), {SIGINT, SIGTERM});
  co_await stop.done();
  const bool drained =
      co_await srv.shutdown(goro::context::background().with_timeout(std::chrono::seconds(5)));
  co_await serving;
  std::printf("http_hello: shut down (%s)\n", drained ? "drained" : "deadline passed");
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string addr = "127.0.0.1:8080";
  goro::runtime_options opts;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--addr") && i + 1 < argc) {
      addr = argv[++i];
    } else if (!std::strcmp(argv[i], "--procs") && i + 1 < argc) {
      opts.max_procs = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--addr HOST:PORT] [--procs N]\n", argv[0]);
      return 2;
    }
  }
  return goro::run(serve(addr), opts);
}
