// The debug server (debug/server/server.hpp) in process: the token gate,
// the loopback rule, /debug/gc's parameters, serve() and stop(), and the
// GORO_DEBUG_ADDR start-up, which must never keep goro::run from returning.
// (tests/debug_server_check.py drives it from outside with curl.)

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "debug/server/endpoints.hpp"
#include "debug/server/server.hpp"
#include "goro.hpp"
#include "http_test_client.hpp"

namespace {

using goro::http::testing::client;
using goro::http::testing::response;
using goro::http::testing::running_server;
using namespace std::chrono_literals;

response get(uint16_t port, const std::string& path, const std::string& auth = "",
             const std::string& method = "GET") {
  client c(port);
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: x\r\n";
  if (!auth.empty()) req += "Authorization: " + auth + "\r\n";
  req += "Content-Length: 0\r\n\r\n";
  EXPECT_TRUE(c.send(req));
  return c.read();
}

TEST(DebugServer, TokenEqualIsExact) {
  EXPECT_TRUE(goro::debug::token_equal("s3cret", "s3cret"));
  EXPECT_FALSE(goro::debug::token_equal("s3cre", "s3cret"));
  EXPECT_FALSE(goro::debug::token_equal("s3crett", "s3cret"));
  EXPECT_FALSE(goro::debug::token_equal("S3cret", "s3cret"));
  EXPECT_FALSE(goro::debug::token_equal("", "s3cret"));
  EXPECT_FALSE(goro::debug::token_equal(std::string("s3cret\0", 7), "s3cret"));
  EXPECT_FALSE(goro::debug::token_equal("", ""));  // no token is never a match
}

TEST(DebugServer, LoopbackHosts) {
  for (const char* h : {"127.0.0.1", "127.1.2.3", "::1", "localhost", "::ffff:127.0.0.1"})
    EXPECT_TRUE(goro::debug::is_loopback_host(h)) << h;
  for (const char* h : {"", "0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "example.com",
                        "localhost.example.com", "::ffff:10.0.0.1"})
    EXPECT_FALSE(goro::debug::is_loopback_host(h)) << h;
}

TEST(DebugServer, QueryParsing) {
  using goro::debug::detail::parse_query;
  const auto kv = parse_query("a=1&&b=x%20y+z&c&d=%zz");
  ASSERT_EQ(kv.size(), 4u);
  EXPECT_EQ(kv[0], (std::pair<std::string, std::string>{"a", "1"}));
  EXPECT_EQ(kv[1], (std::pair<std::string, std::string>{"b", "x y z"}));
  EXPECT_EQ(kv[2], (std::pair<std::string, std::string>{"c", ""}));
  EXPECT_EQ(kv[3], (std::pair<std::string, std::string>{"d", "%zz"}));
}

TEST(DebugServer, GcParamsAreCheckedBeforeAnyIsSet) {
  using goro::debug::detail::apply_gc_params;
  const int percent = goro::set_gc_percent(100);
  const int64_t limit = goro::set_memory_limit(goro::no_memory_limit);
  EXPECT_EQ(apply_gc_params("gc_percent=70&memory_limit=1x"),
            "memory_limit=\"1x\": want off or a byte count with an optional B, KiB, MiB, GiB or "
            "TiB suffix (e.g. memory_limit=900MiB)");
  EXPECT_EQ(goro::set_gc_percent(100), 100);  // untouched: gc_percent was valid, the limit not
  EXPECT_EQ(goro::set_memory_limit(-1), goro::no_memory_limit);
  EXPECT_EQ(apply_gc_params("gc_percent=70&memory_limit=512MiB"), std::nullopt);
  EXPECT_EQ(goro::set_gc_percent(100), 70);
  EXPECT_EQ(goro::set_memory_limit(-1), int64_t{512} << 20);
  EXPECT_EQ(apply_gc_params("gc_percent=off"), std::nullopt);
  EXPECT_EQ(goro::set_gc_percent(100), -1);
  EXPECT_EQ(apply_gc_params("memory_limit=off"), std::nullopt);
  EXPECT_EQ(goro::set_memory_limit(-1), goro::no_memory_limit);
  EXPECT_EQ(apply_gc_params("gc_percent=1000000001"),
            "gc_percent=\"1000000001\": want off or a percentage in [0, 1000000000] (e.g. "
            "gc_percent=100)");
  EXPECT_EQ(apply_gc_params("limit=5"),
            "unknown parameter \"limit\": want gc_percent and/or memory_limit");
  goro::set_gc_percent(percent);
  goro::set_memory_limit(limit);
}

TEST(DebugServer, EveryEndpointWantsTheToken) {
  running_server srv(goro::debug::make_handler("t0ken"));
  for (const std::string path : {"/metrics", "/debug/pprof/", "/debug/gc", "/nope"}) {
    for (const std::string& auth :
         {std::string(), std::string("Bearer wrong"), std::string("Bearer t0ke"),
          std::string("Basic t0ken"), std::string("t0ken")}) {
      const response r = get(srv.port(), path, auth);
      EXPECT_EQ(r.status, 401) << path << " " << auth;
      EXPECT_EQ(r.body, "401 Unauthorized\n");
      EXPECT_EQ(r.header("www-authenticate"), "Bearer");
    }
    const response ok = get(srv.port(), path, "Bearer t0ken");
    EXPECT_EQ(ok.status, path == "/nope" ? 404 : 200) << path;
    EXPECT_EQ(get(srv.port(), path, "bearer t0ken").status, ok.status) << path;
  }
  const response gc = get(srv.port(), "/debug/gc", "Bearer t0ken");
  EXPECT_EQ(gc.header("content-type"), "application/json");
  EXPECT_NE(gc.body.find("\"pressure_state\":\"normal\""), std::string::npos) << gc.body;
  EXPECT_NE(gc.body.find("\"limiter_on\":false"), std::string::npos) << gc.body;
  const response bad = get(srv.port(), "/debug/gc?gc_percent=x", "Bearer t0ken", "POST");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("gc_percent=\\\"x\\\": want off or a percentage"), std::string::npos)
      << bad.body;
}

TEST(DebugServer, ABadTokenIsRefusedWithoutBeingShown) {
  try {
    goro::debug::make_handler("two words");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).find("two"), std::string::npos) << e.what();
  }
}

goro::task<int> serve_and_stop(std::string* error) {
  // Not loopback, no token: refused.
  for (const char* addr : {"0.0.0.0:0", ":0", "[::]:0"}) {
    try {
      goro::debug::serve({.address = addr, .token = ""});
      *error += std::string("served on ") + addr + "; ";
    } catch (const std::invalid_argument& e) {
      const std::string what = e.what();
      if (what.find("is not a loopback address and no token is set") == std::string::npos)
        *error += what + "; ";
    }
  }
  auto h = goro::debug::serve({.address = "127.0.0.1:0", .token = "tok"});
  const uint16_t port = h.port();
  if (port == 0 || h.address() != "127.0.0.1:" + std::to_string(port)) *error += h.address();
  // A blocking client on the blocking pool (the server runs on the workers).
  const int status =
      co_await goro::blocking([port] { return get(port, "/debug/gc", "Bearer tok").status; });
  co_await h.stop();
  // Stopped: connections are refused.
  const bool refused = co_await goro::blocking([port] { return !client(port, false).connect(); });
  if (!refused) *error += "still accepting after stop; ";
  co_return status;
}

TEST(DebugServer, ServeFromCodeAndStop) {
  std::string error;
  EXPECT_EQ(goro::run(serve_and_stop(&error)), 200);
  EXPECT_EQ(error, "");
  EXPECT_THROW(goro::debug::serve({}), std::logic_error);  // outside goro::run
}

TEST(DebugServer, TheEnvironmentStartsItAndRunStillReturns) {
  setenv("GORO_DEBUG_ADDR", "127.0.0.1:0", 1);
  setenv("GORO_DEBUG_TOKEN", "env-token", 1);
  ::testing::internal::CaptureStderr();
  std::atomic<int> port{0};
  // The root returns at once, with the debug server running: run returns.
  const auto t0 = std::chrono::steady_clock::now();
  goro::run([]() -> goro::task<void> { co_return; }());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  const std::string err = ::testing::internal::GetCapturedStderr();
  unsetenv("GORO_DEBUG_ADDR");
  unsetenv("GORO_DEBUG_TOKEN");
  EXPECT_NE(err.find("goro: debug server on http://127.0.0.1:"), std::string::npos) << err;
  EXPECT_EQ(err.find("env-token"), std::string::npos) << err;
  // And it is gone with the run: its port refuses.
  const size_t at = err.find("127.0.0.1:") + 10;
  port = std::stoi(err.substr(at));
  EXPECT_FALSE(client(static_cast<uint16_t>(port.load()), false).connect());
}

TEST(DebugServer, ANonLoopbackAddressWithoutATokenExits2) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        setenv("GORO_DEBUG_ADDR", "0.0.0.0:0", 1);
        unsetenv("GORO_DEBUG_TOKEN");
        goro::run([]() -> goro::task<void> { co_return; }());
      },
      ::testing::ExitedWithCode(2),
      "^goro: GORO_DEBUG_ADDR=\"0\\.0\\.0\\.0:0\": address \"0\\.0\\.0\\.0:0\" "
      "is not a loopback address and no token is set");
}

}  // namespace
