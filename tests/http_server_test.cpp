// The HTTP/1.1 server over real loopback sockets: a client outside the
// runtime (tests/http_test_client.hpp) against goro::http::server running
// in goro::run on another thread.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <string>
#include <vector>

#include "heap/collector_init.hpp"
#include "http_test_client.hpp"
#include "net/http/router.hpp"

namespace goro::http {
namespace {

using namespace std::chrono_literals;
using testing::client;
using testing::response;
using testing::running_server;

size_t query_number(const request& r, std::string_view key) {
  const std::string_view q = r.query();
  const size_t at = q.find(key);
  if (at == std::string_view::npos) return 0;
  return std::stoul(std::string(q.substr(at + key.size() + 1)));
}

router test_routes() {
  router r;
  r.handle("GET", "/hello", [](request&, response_writer& w) -> task<void> {
    w.add_header("Content-Type", "text/plain");
    w.write("Hello, World!");
    co_return;
  });
  r.handle("POST", "/echo", [](request& req, response_writer& w) -> task<void> {
    w.write(req.body());
    co_return;
  });
  r.handle("GET", "/path", [](request& req, response_writer& w) -> task<void> {
    w.write(req.target());
    co_return;
  });
  r.handle("GET", "/stream", [](request&, response_writer& w) -> task<void> {
    for (int i = 0; i < 3; ++i) {
      w.write("part" + std::to_string(i) + ";");
      co_await w.flush();
    }
  });
  r.handle("GET", "/slow", [](request& req, response_writer& w) -> task<void> {
    co_await goro::sleep_for(std::chrono::milliseconds(query_number(req, "ms")));
    w.write("slow done");
  });
  r.handle("GET", "/big", [](request& req, response_writer& w) -> task<void> {
    const std::string block(64 << 10, 'b');
    for (size_t n = query_number(req, "kib") / 64; n > 0; --n) {
      w.write(block);
      co_await w.flush();
    }
  });
  r.handle("GET", "/throw", [](request&, response_writer&) -> task<void> {
    throw std::runtime_error("the test handler fails on purpose");
    co_return;
  });
  r.handle("GET", "/close", [](request&, response_writer& w) -> task<void> {
    w.add_header("Connection", "close");
    w.write("bye");
    co_return;
  });
  return r;
}

const std::string get_hello = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";

// The server still answers a good request on a new connection.
void expect_serving(uint16_t port) {
  client c(port);
  ASSERT_TRUE(c.send(get_hello));
  response r = c.read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "Hello, World!");
}

class HttpServer : public ::testing::Test {
 protected:
  void SetUp() override {
    // The collector's own descriptors are the process's, opened once at its
    // start (GORO_GC_MODE=concurrent: the userfaultfd and /proc/self/pagemap
    // of the patched libgc's dirty-page tracker), not the server's: count
    // from after them.
    goro::heap::init();
    fds_at_start_ = testing::count_open_fds();
  }
  void TearDown() override {
    srv_.reset();
    EXPECT_EQ(testing::wait_fds(fds_at_start_), fds_at_start_) << "open fds leaked";
  }
  running_server& start(server_options o = {}) {
    srv_ = std::make_unique<running_server>(test_routes(), o);
    return *srv_;
  }
  int fds_at_start_ = 0;
  std::unique_ptr<running_server> srv_;
};

TEST_F(HttpServer, KeepAliveServesManyRequestsOnOneConnection) {
  auto& s = start();
  client c(s.port());
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(c.send(get_hello));
    response r = c.read();
    ASSERT_EQ(r.status, 200) << "request " << i;
    EXPECT_EQ(r.body, "Hello, World!");
    EXPECT_EQ(r.header("content-length"), "13");
    EXPECT_EQ(r.header("content-type"), "text/plain");
    EXPECT_EQ(r.header("server"), "goro");
    EXPECT_EQ(r.header("date").size(), 29u);
    EXPECT_EQ(r.header("connection"), "");
  }
}

TEST_F(HttpServer, PipelinedResponsesComeInRequestOrder) {
  auto& s = start();
  client c(s.port());
  std::string batch;
  for (int i = 0; i < 100; ++i)
    batch += "GET /path?i=" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\n\r\n";
  // Mixed with slow handlers: order must not depend on completion time.
  batch +=
      "GET /slow?ms=50 HTTP/1.1\r\nHost: t\r\n\r\nGET /path?i=last HTTP/1.1\r\nHost: t\r\n\r\n";
  ASSERT_TRUE(c.send(batch));
  for (int i = 0; i < 100; ++i) {
    response r = c.read();
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "/path?i=" + std::to_string(i));
  }
  EXPECT_EQ(c.read().body, "slow done");
  EXPECT_EQ(c.read().body, "/path?i=last");
}

TEST_F(HttpServer, RequestBodiesSizedAndChunked) {
  auto& s = start();
  client c(s.port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world"));
  EXPECT_EQ(c.read().body, "hello world");
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
  ASSERT_TRUE(c.send("4\r\nwiki\r\n"));
  std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(c.send("5;ext=1\r\npedia\r\n0\r\nTrailer: x\r\n\r\n"));
  response r = c.read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "wikipedia");
  // A large body, in many reads.
  const std::string big(3 << 20, 'z');
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                     std::to_string(big.size()) + "\r\n\r\n" + big));
  r = c.read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), big.size());
  EXPECT_TRUE(r.body == big);
}

TEST_F(HttpServer, FlushedResponsesAreChunked) {
  auto& s = start();
  client c(s.port());
  ASSERT_TRUE(c.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n"));
  response r = c.read();
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.chunked);
  EXPECT_EQ(r.header("transfer-encoding"), "chunked");
  EXPECT_EQ(r.body, "part0;part1;part2;");
  // HTTP/1.0 has no chunks: the body ends with the connection.
  client d(s.port());
  ASSERT_TRUE(d.send("GET /stream HTTP/1.0\r\n\r\n"));
  r = d.read();
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.chunked);
  EXPECT_EQ(r.body, "part0;part1;part2;");
  EXPECT_EQ(r.header("connection"), "close");
}

TEST_F(HttpServer, HeadGetsTheLengthAndNoBody) {
  auto& s = start();
  client c(s.port());
  ASSERT_TRUE(c.send("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n" + get_hello));
  response r = c.read(/*head=*/true);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-length"), "13");
  EXPECT_EQ(r.body, "");
  // Had a body been sent, this would read it as a response and fail.
  r = c.read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "Hello, World!");
}

TEST_F(HttpServer, ExpectContinueGetsA100BeforeTheBody) {
  auto& s = start();
  client c(s.port());
  ASSERT_TRUE(c.send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
  response r = c.read();
  ASSERT_EQ(r.status, 100);
  ASSERT_TRUE(c.send("data"));
  r = c.read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "data");
  // Too large: the final status instead of 100, before any body byte.
  client d(s.port());
  ASSERT_TRUE(
      d.send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: "
             "99999999\r\n\r\n"));
  EXPECT_EQ(d.read().status, 413);
}

// Who decides whether a connection stays open after a response.
struct keep_alive_case {
  const char* why;
  std::string request;
  const char* connection;  // the response's Connection header
  std::string body;
  bool closes;  // else: a second request is served on it
};

TEST_F(HttpServer, ConnectionCloseEndsTheConnection) {
  auto& s = start();
  const std::vector<keep_alive_case> cases = {
      {"the client asks to close", "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
       "close", "Hello, World!", true},
      {"HTTP/1.0 closes by default", "GET /hello HTTP/1.0\r\n\r\n", "close", "Hello, World!", true},
      {"the handler asks to close", "GET /close HTTP/1.1\r\nHost: t\r\n\r\n", "close", "bye", true},
      {"HTTP/1.0 keep-alive stays open", "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
       "keep-alive", "Hello, World!", false},
      {"HTTP/1.1 stays open by default", get_hello, "", "Hello, World!", false},
  };
  for (const keep_alive_case& k : cases) {
    SCOPED_TRACE(k.why);
    client c(s.port());
    ASSERT_TRUE(c.send(k.request));
    response r = c.read();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, k.body);
    EXPECT_EQ(r.header("connection"), k.connection);
    if (k.closes) {
      EXPECT_EQ(c.wait_close(), 0);
    } else {
      ASSERT_TRUE(c.send(get_hello));
      EXPECT_EQ(c.read().status, 200);
    }
  }
}

TEST_F(HttpServer, RoutesAndFailingHandlers) {
  auto& s = start();
  client c(s.port());
  ASSERT_TRUE(c.send("GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_EQ(c.read().status, 404);
  ASSERT_TRUE(c.send("DELETE /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
  response r = c.read();
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("allow"), "GET");
  ASSERT_TRUE(c.send("GET /throw HTTP/1.1\r\nHost: t\r\n\r\n"));
  r = c.read();
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(c.wait_close(), 0);
  expect_serving(s.port());
}

struct hostile {
  const char* name;
  std::string bytes;
  int status;  // 0: a close without an answer is right
};

TEST_F(HttpServer, HostileRequestsGetTheirStatusAndTheServerKeepsServing) {
  server_options o;
  o.max_header_bytes = 8 << 10;
  o.max_uri_bytes = 1024;
  o.max_body_bytes = 64 << 10;
  auto& s = start(o);
  const std::vector<hostile> cases = {
      {"garbage request line", "\x16\x03\x01\x02\x00 hello\r\n\r\n", 400},
      {"no method", "/ HTTP/1.1\r\nHost: t\r\n\r\n", 400},
      {"bad version", "GET / HTTP/1.x\r\nHost: t\r\n\r\n", 400},
      {"version 2.0", "GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505},
      {"version 3.1", "GET / HTTP/3.1\r\nHost: t\r\n\r\n", 505},
      {"NUL in a header", std::string("GET / HTTP/1.1\r\nHost: t\r\nX: a\0b\r\n\r\n", 36), 400},
      {"control byte in a header", "GET / HTTP/1.1\r\nHost: t\r\nX: a\x07z\r\n\r\n", 400},
      {"NUL in the target", std::string("GET /a\0b HTTP/1.1\r\nHost: t\r\n\r\n", 30), 400},
      {"missing Host", "GET / HTTP/1.1\r\n\r\n", 400},
      {"bad chunk size",
       "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n", 400},
      {"chunk size overflowing 64 bits",
       "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
       "ffffffffffffffffffffffff\r\n",
       400},
      {"huge chunk size",
       "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n7fffffff\r\n", 413},
      {"invalid Content-Length", "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 12abc\r\n\r\n",
       400},
      {"duplicate Content-Length",
       "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400},
      {"Content-Length and Transfer-Encoding (smuggling)",
       "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\nGET /path?smuggled HTTP/1.1\r\nHost: t\r\n\r\n",
       400},
      {"Transfer-Encoding and Content-Length (smuggling)",
       "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n"
       "0\r\n\r\nGET /path?smuggled HTTP/1.1\r\nHost: t\r\n\r\n",
       400},
      {"oversized headers",
       "GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(20000, 'h') + "\r\n\r\n", 431},
      {"long target", "GET /" + std::string(5000, 'u') + " HTTP/1.1\r\nHost: t\r\n\r\n", 414},
      {"body over the limit",
       "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n" +
           std::string(100000, 'b'),
       413},
      {"unsupported Expect",
       "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: x\r\nContent-Length: 1\r\n\r\n", 417},
      {"truncated request, then EOF", "GET /hello HTTP/1.1\r\nHost:", 0},
  };
  for (const hostile& h : cases) {
    SCOPED_TRACE(h.name);
    client c(s.port());
    c.send(h.bytes);
    if (h.status == 0) ::shutdown(c.fd(), SHUT_WR);
    response r = c.read();
    EXPECT_EQ(r.status, h.status);
    if (h.status) {
      EXPECT_NE(r.body.find(std::to_string(h.status)), std::string::npos) << r.body;
      EXPECT_EQ(r.header("connection"), "close");
    }
    std::string rest;
    EXPECT_EQ(c.wait_close(&rest), 0) << "the connection must close cleanly";
    EXPECT_EQ(rest.find("smuggled"), std::string::npos) << "a smuggled request was answered";
    expect_serving(s.port());
  }
}

TEST_F(HttpServer, ABodyLongerThanDeclaredIsABadNextRequest) {
  auto& s = start();
  client c(s.port());
  ASSERT_TRUE(
      c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabcdefgh\r\n\r\n"));
  response r = c.read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "abc");
  EXPECT_EQ(c.read().status, 400);  // "defgh" is no request line
  EXPECT_EQ(c.wait_close(), 0);
  expect_serving(s.port());
}

TEST_F(HttpServer, ASlowClientHitsTheReadHeaderTimeout) {
  server_options o;
  o.read_header_timeout = 300ms;
  auto& s = start(o);
  client c(s.port());
  const std::string req = get_hello;
  const auto begin = std::chrono::steady_clock::now();
  size_t sent = 0;
  // One byte every 100 ms (10x faster than the one a second, so
  // the test is quick; still far slower than the timeout allows).
  while (sent < req.size() && c.send(req.substr(sent, 1))) {
    ++sent;
    std::this_thread::sleep_for(100ms);
    if (std::chrono::steady_clock::now() - begin > 600ms) break;
  }
  c.set_timeout(3s);
  response r = c.read();
  EXPECT_EQ(r.status, 408);
  const auto took = std::chrono::steady_clock::now() - begin;
  EXPECT_LT(took, 3s);
  EXPECT_LT(sent, req.size()) << "the server waited for the whole slow request";
  expect_serving(s.port());
}

TEST_F(HttpServer, ASlowBodyHitsTheReadTimeout) {
  server_options o;
  o.read_timeout = 300ms;
  auto& s = start(o);
  client c(s.port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc"));
  c.set_timeout(3s);
  response r = c.read();
  EXPECT_EQ(r.status, 408);
  EXPECT_NE(r.body.find("read_timeout"), std::string::npos) << r.body;
  expect_serving(s.port());
}

TEST_F(HttpServer, AClientThatStopsReadingHitsTheWriteTimeout) {
  server_options o;
  o.write_timeout = 300ms;
  auto& s = start(o);
  client c(s.port());
  // 256 MiB streamed to a client that reads nothing: the socket buffers
  // fill, the write waits, the deadline ends it.
  ASSERT_TRUE(c.send("GET /big?kib=262144 HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto end = std::chrono::steady_clock::now() + 2s;
  while (s.connections() == 0 && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(1ms);
  ASSERT_EQ(s.connections(), 1u);
  end = std::chrono::steady_clock::now() + 5s;
  while (s.connections() > 0 && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(s.connections(), 0u) << "the stalled write was not given up";
  expect_serving(s.port());
}

TEST_F(HttpServer, IdleConnectionsAreClosedAfterTheIdleTimeout) {
  server_options o;
  o.idle_timeout = 200ms;
  auto& s = start(o);
  client c(s.port());
  ASSERT_TRUE(c.send(get_hello));
  EXPECT_EQ(c.read().status, 200);
  c.set_timeout(3s);
  EXPECT_EQ(c.wait_close(), 0);
}

TEST_F(HttpServer, ClientsResettingMidRequestAndMidResponse) {
  auto& s = start();
  for (int i = 0; i < 20; ++i) {
    client c(s.port());
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly part");
    std::this_thread::sleep_for(1ms);
    c.reset();
  }
  for (int i = 0; i < 5; ++i) {
    client c(s.port());
    ASSERT_TRUE(c.send("GET /big?kib=8192 HTTP/1.1\r\nHost: t\r\n\r\n"));
    char tmp[1000];
    ASSERT_GT(::recv(c.fd(), tmp, sizeof tmp, 0), 0);
    c.reset();
  }
  expect_serving(s.port());
}

TEST_F(HttpServer, FiveThousandConnectionsOpenedAndDropped) {
  auto& s = start();
  std::vector<std::unique_ptr<client>> conns;
  for (int i = 0; i < 5000; ++i) {
    conns.push_back(std::make_unique<client>(s.port()));
    if (i % 3 == 1) conns.back()->send("GET /hello HTTP/1.1\r\nHo");  // mid-request
    if (i % 3 == 2) conns.back()->send(get_hello);                    // answer unread
  }
  for (int i = 0; i < 5000; ++i) {
    if (i % 2)
      conns[i]->reset();
    else
      conns[i]->close();
  }
  conns.clear();
  const auto end = std::chrono::steady_clock::now() + 10s;
  while (s.connections() > 0 && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(s.connections(), 0u);
  expect_serving(s.port());
}

TEST_F(HttpServer, MaxConnectionsStopsAcceptingAtTheLimit) {
  server_options o;
  o.max_connections = 2;
  auto& s = start(o);
  client a(s.port()), b(s.port());
  ASSERT_TRUE(a.send(get_hello));
  ASSERT_TRUE(b.send(get_hello));
  EXPECT_EQ(a.read().status, 200);
  EXPECT_EQ(b.read().status, 200);
  client c(s.port());  // in the backlog, not accepted
  ASSERT_TRUE(c.send(get_hello));
  c.set_timeout(300ms);
  EXPECT_EQ(c.read().status, 0) << "served past max_connections";
  a.close();
  c.set_timeout(3s);
  EXPECT_EQ(c.read().status, 200);
}

TEST_F(HttpServer, GracefulShutdownFinishesInFlightClosesIdleRefusesNew) {
  auto& s = start();
  client idle(s.port());
  ASSERT_TRUE(idle.send(get_hello));
  ASSERT_EQ(idle.read().status, 200);
  client busy(s.port());
  ASSERT_TRUE(busy.send("GET /slow?ms=1000 HTTP/1.1\r\nHost: t\r\n\r\n"));
  std::this_thread::sleep_for(100ms);  // the slow handler is running
  s.begin_stop(10s);
  // The idle connection is closed at once, while the slow request is still
  // in its handler (no byte of its answer has come).
  idle.set_timeout(3s);
  EXPECT_EQ(idle.wait_close(), 0);
  char probe;
  EXPECT_EQ(::recv(busy.fd(), &probe, 1, MSG_DONTWAIT | MSG_PEEK), -1)
      << "the idle connection was closed only after the request in flight finished";
  // New connections are refused.
  client late(s.port(), false);
  EXPECT_FALSE(late.connect());
  // The request in flight completes, and its connection closes after it.
  response r = busy.read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "slow done");
  EXPECT_EQ(r.header("connection"), "close");
  EXPECT_EQ(busy.wait_close(), 0);
  EXPECT_TRUE(s.stop());
}

TEST_F(HttpServer, ShutdownPastItsDeadlineClosesWhatIsLeft) {
  auto& s = start();
  client busy(s.port());
  ASSERT_TRUE(busy.send("GET /slow?ms=3000 HTTP/1.1\r\nHost: t\r\n\r\n"));
  std::this_thread::sleep_for(100ms);
  const auto begin = std::chrono::steady_clock::now();
  EXPECT_FALSE(s.stop(200ms));
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 2s);
  busy.set_timeout(3s);
  const int how = busy.wait_close();
  EXPECT_TRUE(how == 0 || how == ECONNRESET) << how;
}

}  // namespace
}  // namespace goro::http
