// goro::http's part of the metrics catalog: N clients (plain sockets,
// outside the runtime) hold connections to a goro::http::server and the
// open-connections gauge moves by N; the requests they send are counted
// as served; when they hang up the gauge comes back.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "core/metrics.hpp"
#include "net/http/router.hpp"
#include "tests/http_test_client.hpp"

namespace {

using namespace goro::http;
using goro::http::testing::client;
using goro::http::testing::running_server;

uint64_t metric(const char* name) {
  goro::metrics::sample s[1];
  s[0].name = name;
  goro::metrics::read(s);
  return s[0].value.uint64();
}

// Polls for up to 10 s until `name` reads `want` (the server's side of a
// connection is counted when its task runs, after the client's connect
// returns); returns the last value read.
uint64_t wait_for(const char* name, uint64_t want) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  uint64_t v = metric(name);
  while (v != want && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    v = metric(name);
  }
  return v;
}

router routes() {
  router r;
  r.handle("GET", "/hello", [](request&, response_writer& w) -> goro::task<void> {
    w.write("hi");
    co_return;
  });
  return r;
}

TEST(HttpMetrics, ConnectionsAndRequestsMoveTheCatalog) {
  running_server srv(routes());
  const uint64_t open0 = wait_for("/net/conns/open:conns", 0);
  const uint64_t accepted0 = metric("/net/conns/accepted:conns");
  const uint64_t requests0 = metric("/net/http/requests:requests");
  EXPECT_EQ(open0, 0u) << "only the listener exists yet";

  constexpr int kClients = 12, kRequests = 5;
  std::vector<std::unique_ptr<client>> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(std::make_unique<client>(srv.port()));
  EXPECT_EQ(wait_for("/net/conns/accepted:conns", accepted0 + kClients), accepted0 + kClients);
  EXPECT_EQ(wait_for("/net/conns/open:conns", open0 + kClients), open0 + kClients);

  for (auto& c : clients)
    for (int i = 0; i < kRequests; ++i) {
      ASSERT_TRUE(c->send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
      ASSERT_EQ(c->read().status, 200);
    }
  // Counted before the response is written, so every answer read is in.
  EXPECT_EQ(metric("/net/http/requests:requests"), requests0 + kClients * kRequests);

  // Half hang up: the server sees EOF, ends those connections.
  clients.resize(kClients / 2);
  EXPECT_EQ(wait_for("/net/conns/open:conns", open0 + kClients / 2), open0 + kClients / 2);
  clients.clear();
  EXPECT_EQ(wait_for("/net/conns/open:conns", open0), open0);
  EXPECT_EQ(metric("/net/conns/accepted:conns"), accepted0 + kClients);
  EXPECT_TRUE(srv.stop());
}

}  // namespace
