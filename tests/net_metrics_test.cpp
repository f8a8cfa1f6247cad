// The network layer's part of the metrics catalog (/net/...): open streams,
// accepted and dialed connections, counted once per stream however it is
// closed, with both ends of each connection in this process.

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include "core/metrics.hpp"
#include "goro.hpp"
#include "tests/test_support.hpp"

namespace {

using goro::task;
using goro::net::tcp_listener;
using goro::net::tcp_stream;

uint64_t metric(const char* name) {
  goro::metrics::sample s[1];
  s[0].name = name;
  goro::metrics::read(s);
  return s[0].value.uint64();
}

struct counts {
  uint64_t open, accepted, dialed;
  static counts now() {
    return {metric("/net/conns/open:conns"), metric("/net/conns/accepted:conns"),
            metric("/net/conns/dialed:conns")};
  }
};

task<void> open_and_close(int n) {
  const counts before = counts::now();
  auto ln = tcp_listener::listen("127.0.0.1:0");
  std::vector<tcp_stream> served(n), dialed(n);
  auto acceptor = goro::spawn([](tcp_listener& l, std::vector<tcp_stream>& out) -> task<void> {
    for (auto& s : out) s = co_await l.accept();
  }(ln, served));
  for (auto& s : dialed) s = co_await goro::net::connect("127.0.0.1:" + std::to_string(ln.port()));
  co_await acceptor;

  counts c = counts::now();
  EXPECT_EQ(c.open, before.open + 2 * n) << "both ends of each connection are goro streams";
  EXPECT_EQ(c.accepted, before.accepted + n);
  EXPECT_EQ(c.dialed, before.dialed + n);

  // close() counts once, however often it is called; the destructor after
  // it counts nothing more.
  for (auto& s : dialed) {
    s.close();
    s.close();
  }
  EXPECT_EQ(counts::now().open, before.open + n);
  dialed.clear();
  EXPECT_EQ(counts::now().open, before.open + n);

  // Destroying an open stream closes it; so does moving another over it.
  served.resize(n / 2);
  EXPECT_EQ(counts::now().open, before.open + n / 2);
  served[0] = tcp_stream();
  EXPECT_EQ(counts::now().open, before.open + n / 2 - 1);
  served.clear();
  c = counts::now();
  EXPECT_EQ(c.open, before.open);
  EXPECT_EQ(c.accepted, before.accepted + n) << "a counter never goes back";
  EXPECT_EQ(c.dialed, before.dialed + n);
  ln.close();
  EXPECT_EQ(counts::now().open, before.open) << "a listener is not a connection";
}

TEST(NetMetrics, OpenGaugeFollowsConnectionsAndCountersOnlyGrow) {
  goro::run(open_and_close(16), goro::test::procs(2));
}

TEST(NetMetrics, OnOneP) {
  goro::run(open_and_close(8), goro::test::procs(1));
}

// A socket the program made itself, wrapped in a stream, is a connection
// too (neither accepted nor dialed).
task<void> wrapped() {
  const counts before = counts::now();
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  {
    tcp_stream a(sv[0]), b(sv[1]);
    const counts c = counts::now();
    EXPECT_EQ(c.open, before.open + 2);
    EXPECT_EQ(c.accepted, before.accepted);
    EXPECT_EQ(c.dialed, before.dialed);
    tcp_stream moved(std::move(a));
    EXPECT_EQ(counts::now().open, before.open + 2) << "a move is not a new connection";
  }
  EXPECT_EQ(counts::now().open, before.open);
  co_return;
}

TEST(NetMetrics, WrappedSocketsCount) {
  goro::run(wrapped(), goro::test::procs(1));
}

TEST(NetMetrics, CatalogEntries) {
  namespace m = goro::metrics;
  for (const char* name :
       {"/net/conns/accepted:conns", "/net/conns/dialed:conns", "/net/http/requests:requests"}) {
    const m::description* d = m::find(name);
    ASSERT_NE(d, nullptr) << name;
    EXPECT_EQ(d->kind, m::kind::counter) << name;
    EXPECT_TRUE(d->cumulative) << name;
  }
  const m::description* open = m::find("/net/conns/open:conns");
  ASSERT_NE(open, nullptr);
  EXPECT_EQ(open->kind, m::kind::gauge);
  EXPECT_EQ(open->source, m::source::net);
}

}  // namespace
