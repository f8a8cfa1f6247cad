// The request path without sockets: http-parser glue (request assembly,
// limits, chunked bodies, smuggling rules) and response serialization.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "net/http/request_parser.hpp"
#include "net/http/response_writer.hpp"
#include "net/http/wire.hpp"

namespace goro::http {

// Reaches the writer's server-side calls, as the server does.
class response_serializer {
 public:
  static void reset(response_writer& w, bool head, bool http10) { w.reset(nullptr, head, http10); }
  static bool finish(response_writer& w, std::string& out, bool closing) {
    return w.append_rest(out, closing);
  }
};

namespace {

using result = request_parser::result;

struct parsed {
  int status = 0;  // 0: parsed; else the error status
  std::string message;
  std::vector<std::string> bodies, paths, methods;
  bool continue_asked = false;
};

// Feeds `input` in pieces of `step` bytes (0: all at once), collecting every
// complete request.
parsed feed(const std::string& input, size_t step = 0, parse_limits limits = {}) {
  request_parser p(limits);
  parsed out;
  size_t at = 0;
  for (;;) {
    result r = p.parse();
    while (r == result::complete || r == result::need_continue) {
      if (r == result::need_continue) {
        out.continue_asked = true;
      } else {
        out.bodies.emplace_back(p.current().body());
        out.paths.emplace_back(p.current().path());
        out.methods.emplace_back(p.current().method());
        p.next();
      }
      r = p.parse();
    }
    if (r == result::error) {
      out.status = p.error_status();
      out.message = p.error_message();
      return out;
    }
    if (at == input.size()) return out;
    const size_t n = step ? std::min(step, input.size() - at) : input.size() - at;
    auto space = p.prepare(n);
    std::copy_n(input.data() + at, n, space.data());
    p.commit(n);
    at += n;
  }
}

const std::string get_hello = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";

TEST(HttpParser, ParsesARequestLineHeadersAndQuery) {
  request_parser p({});
  const std::string in =
      "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: example\r\nX-Thing:  v  \r\nX-Empty:\r\n\r\n";
  auto space = p.prepare(in.size());
  std::copy(in.begin(), in.end(), space.data());
  p.commit(in.size());
  ASSERT_EQ(p.parse(), result::complete);
  const request& r = p.current();
  EXPECT_EQ(r.method(), "GET");
  EXPECT_EQ(r.target(), "/a/b?x=1&y=2");
  EXPECT_EQ(r.path(), "/a/b");
  EXPECT_EQ(r.query(), "x=1&y=2");
  EXPECT_EQ(r.version_major(), 1);
  EXPECT_EQ(r.version_minor(), 1);
  ASSERT_EQ(r.headers().size(), 3u);
  EXPECT_EQ(r.header("host"), "example");
  EXPECT_EQ(r.header("X-THING"), "v  ");  // http-parser strips leading whitespace only
  EXPECT_EQ(r.header("x-empty"), "");
  EXPECT_FALSE(r.header("missing").has_value());
  EXPECT_TRUE(r.keep_alive());
  p.next();
  EXPECT_TRUE(p.idle());
}

TEST(HttpParser, PipelinedRequestsComeOutOneAtATimeInOrder) {
  std::string in;
  for (int i = 0; i < 20; ++i)
    in += "POST /r" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n" +
          std::to_string(i % 10) + "!";
  for (size_t step : {size_t{0}, size_t{1}, size_t{7}, size_t{100}}) {
    parsed out = feed(in, step);
    ASSERT_EQ(out.status, 0) << out.message;
    ASSERT_EQ(out.paths.size(), 20u) << "step " << step;
    for (int i = 0; i < 20; ++i) {
      EXPECT_EQ(out.paths[i], "/r" + std::to_string(i));
      EXPECT_EQ(out.bodies[i], std::to_string(i % 10) + "!");
    }
  }
}

TEST(HttpParser, DecodesChunkedBodiesAndDropsTrailers) {
  const std::string in =
      "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n1;ext=1\r\n,\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n" +
      get_hello;
  for (size_t step : {size_t{0}, size_t{1}, size_t{3}}) {
    parsed out = feed(in, step);
    ASSERT_EQ(out.status, 0) << out.message;
    ASSERT_EQ(out.bodies.size(), 2u);
    EXPECT_EQ(out.bodies[0], "hello, world");
    EXPECT_EQ(out.paths[1], "/hello");
  }
}

TEST(HttpParser, KeepsTheHeadersWhileALargeBodyStreamsThrough) {
  std::string body(300000, 'b');
  for (size_t i = 0; i < body.size(); ++i) body[i] = char('a' + i % 26);
  const std::string in = "PUT /big HTTP/1.1\r\nHost: h\r\nX-Keep: yes\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body;
  request_parser p({});
  size_t at = 0;
  result r = p.parse();
  while (r == result::need_more) {
    const size_t n = std::min<size_t>(4096, in.size() - at);
    auto space = p.prepare(4096);
    ASSERT_GE(space.size(), 4096u);
    std::copy_n(in.data() + at, n, space.data());
    p.commit(n);
    at += n;
    r = p.parse();
  }
  ASSERT_EQ(r, result::complete);
  EXPECT_EQ(p.current().header("x-keep"), "yes");
  EXPECT_EQ(p.current().path(), "/big");
  EXPECT_EQ(p.current().body(), body);
}

TEST(HttpParser, AsksForContinueBeforeTheBody) {
  const std::string head =
      "POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
  request_parser p({});
  auto space = p.prepare(head.size());
  std::copy(head.begin(), head.end(), space.data());
  p.commit(head.size());
  ASSERT_EQ(p.parse(), result::need_continue);
  EXPECT_TRUE(p.in_body());
  ASSERT_EQ(p.parse(), result::need_more);
  space = p.prepare(3);
  std::copy_n("abc", 3, space.data());
  p.commit(3);
  ASSERT_EQ(p.parse(), result::complete);
  EXPECT_EQ(p.current().body(), "abc");
  // Without a body there is nothing to continue to.
  parsed out = feed("GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(out.status, 0);
  EXPECT_FALSE(out.continue_asked);
  EXPECT_EQ(
      feed("POST / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx").status,
      417);
}

struct bad_case {
  const char* name;
  std::string input;
  int status;
};

TEST(HttpParser, HostileRequestsGetTheirStatus) {
  parse_limits small;
  small.max_header_bytes = 1024;
  small.max_uri_bytes = 64;
  small.max_body_bytes = 100;
  small.max_headers = 10;
  std::string many_headers = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 11; ++i) many_headers += "X-" + std::to_string(i) + ": v\r\n";
  const std::vector<bad_case> cases = {
      {"garbage request line", "\x01\x02\x03 / HTTP/1.1\r\n\r\n", 400},
      {"no version (HTTP/0.9)", "GET /\r\nHost: x\r\n\r\n", 505},
      {"malformed version", "GET / HTTP/x.1\r\nHost: x\r\n\r\n", 400},
      {"version 2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
      {"version 0.9", "GET / HTTP/0.9\r\nHost: x\r\n\r\n", 505},
      {"unknown method", "FROB / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"NUL in a header value", std::string("GET / HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n", 36),
       400},
      {"control byte in a header value",
       "GET / HTTP/1.1\r\nHost: x\r\nX: a\x01"
       "b\r\n\r\n",
       400},
      {"space in a header name", "GET / HTTP/1.1\r\nHost: x\r\nX Y: a\r\n\r\n", 400},
      {"missing Host", "GET / HTTP/1.1\r\n\r\n", 400},
      {"two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"invalid Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", 400},
      {"negative Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400},
      {"duplicate Content-Length",
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400},
      {"conflicting Content-Length",
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", 400},
      {"CL then TE (smuggling)",
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
       400},
      {"TE then CL (smuggling)",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
       "0\r\n\r\n",
       400},
      {"TE not ending in chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
       400},
      {"bad chunk size", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
       400},
      {"overflowing chunk size",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
       "fffffffffffffffffffff\r\n",
       400},
      {"huge chunk size",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffff\r\n", 413},
      {"chunks past the body limit",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string("40\r\n") +
           std::string(64, 'a') + "\r\n40\r\n" + std::string(64, 'a') + "\r\n",
       413},
      {"Content-Length past the body limit",
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n", 413},
      {"long target", "GET /" + std::string(100, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
      {"oversized headers",
       "GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(2000, 'v') + "\r\n\r\n", 431},
      {"endless line breaks", std::string(2000, '\n'), 431},
      {"too many header lines", many_headers + "\r\n", 431},
      {"oversized trailers",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: " +
           std::string(2000, 't') + "\r\n\r\n",
       431},
      {"body longer than declared (the rest is a bad request)",
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nabcdef\r\n\r\n", 400},
  };
  for (const bad_case& c : cases) {
    for (size_t step : {size_t{0}, size_t{1}}) {
      parsed out = feed(c.input, step, small);
      EXPECT_EQ(out.status, c.status) << c.name << " (step " << step << "): " << out.message;
      EXPECT_FALSE(out.message.empty()) << c.name;
      for (const std::string& path : out.paths) EXPECT_NE(path, "/smuggled") << c.name;
    }
  }
}

TEST(HttpParser, ErrorsSayWhatWasWrong) {
  parsed out =
      feed("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_NE(out.message.find("both Content-Length and Transfer-Encoding"), std::string::npos)
      << out.message;
  parse_limits l;
  l.max_body_bytes = 10;
  out = feed("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n", 0, l);
  EXPECT_NE(out.message.find("Content-Length of 11 bytes exceeds the limit of 10"),
            std::string::npos)
      << out.message;
  EXPECT_THROW(request_parser(parse_limits{.max_header_bytes = 0}), std::invalid_argument);
}

TEST(HttpParser, ConnectionCloseAndHttp10ClearKeepAlive) {
  request_parser p({});
  const std::string in =
      "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET / HTTP/1.0\r\n\r\n"
      "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
  auto space = p.prepare(in.size());
  std::copy(in.begin(), in.end(), space.data());
  p.commit(in.size());
  ASSERT_EQ(p.parse(), result::complete);
  EXPECT_FALSE(p.current().keep_alive());
  p.next();
  ASSERT_EQ(p.parse(), result::complete);
  EXPECT_FALSE(p.current().keep_alive());
  EXPECT_EQ(p.current().version_minor(), 0);
  p.next();
  ASSERT_EQ(p.parse(), result::complete);
  EXPECT_TRUE(p.current().keep_alive());
}

TEST(HttpParser, AbsoluteFormTargetsGiveTheirPath) {
  parsed out = feed("GET http://example.com/p/q?z=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
  ASSERT_EQ(out.status, 0) << out.message;
  EXPECT_EQ(out.paths[0], "/p/q");
}

// Keep-alive connections give their read buffer and header tables back
// between requests (release_buffer) and the thread hands them to the next
// parser that reads: a parser must see only its own request's bytes and
// headers, whichever parser's tables it got.
TEST(HttpParser, ReleasedBuffersCarryNothingIntoTheNextRequest) {
  auto put = [](request_parser& p, const std::string& in) {
    auto space = p.prepare(512);
    ASSERT_GE(space.size(), in.size());
    std::copy(in.begin(), in.end(), space.data());
    p.commit(in.size());
  };
  request_parser pa({}), pb({});
  request_parser* x = &pa;
  request_parser* y = &pb;
  request_parser& a0 = pa;
  put(a0, "GET /a HTTP/1.1\r\nHost: a\r\nX-One: 1\r\nX-Two: 2\r\nX-Three: 3\r\n\r\n");
  ASSERT_EQ(a0.parse(), result::complete);
  EXPECT_EQ(a0.current().headers().size(), 4u);
  a0.next();
  a0.release_buffer();
  for (int round = 0; round < 3; ++round) {
    request_parser& a = *x;
    request_parser& b = *y;
    // b takes what a gave back; a, reading again while b holds it, gets
    // its own; then both give back and swap roles.
    put(b, "GET /b HTTP/1.1\r\nHost: b\r\n\r\n");
    put(a, "POST /a2 HTTP/1.1\r\nHost: a2\r\nContent-Length: 2\r\n\r\nok");
    ASSERT_EQ(b.parse(), result::complete);
    ASSERT_EQ(a.parse(), result::complete);
    EXPECT_EQ(b.current().path(), "/b");
    ASSERT_EQ(b.current().headers().size(), 1u);
    EXPECT_EQ(b.current().header("host"), "b");
    EXPECT_FALSE(b.current().header("x-one").has_value());
    EXPECT_EQ(a.current().path(), "/a2");
    EXPECT_EQ(a.current().headers().size(), 2u);
    EXPECT_EQ(a.current().header("host"), "a2");
    EXPECT_EQ(a.current().body(), "ok");
    a.next();
    b.next();
    b.release_buffer();
    a.release_buffer();
    std::swap(x, y);
  }
}

std::string finish(response_writer& w, bool closing = false) {
  std::string out;
  response_serializer::finish(w, out, closing);
  // The Date line changes every second: check its shape, then drop it.
  const size_t d = out.find("Date: ");
  EXPECT_NE(d, std::string::npos);
  const size_t e = out.find("\r\n", d);
  EXPECT_EQ(e - d, 35u) << out.substr(d, e - d);  // "Date: Sun, 06 Nov 1994 08:49:37 GMT"
  out.erase(d, e + 2 - d);
  return out;
}

TEST(HttpResponse, SizedResponse) {
  response_writer w;
  response_serializer::reset(w, false, false);
  w.add_header("Content-Type", "text/plain");
  w.write("Hello, World!");
  EXPECT_EQ(finish(w),
            "HTTP/1.1 200 OK\r\nServer: goro\r\nContent-Type: text/plain\r\n"
            "Content-Length: 13\r\n\r\nHello, World!");
}

TEST(HttpResponse, HeadCountsTheBodyAndSendsNone) {
  response_writer w;
  response_serializer::reset(w, true, false);
  w.write("Hello, World!");
  EXPECT_EQ(finish(w), "HTTP/1.1 200 OK\r\nServer: goro\r\nContent-Length: 13\r\n\r\n");
}

TEST(HttpResponse, ClosingAndHttp10) {
  response_writer w;
  response_serializer::reset(w, false, false);
  w.set_status(404);
  EXPECT_EQ(finish(w, true),
            "HTTP/1.1 404 Not Found\r\nServer: goro\r\nContent-Length: 0\r\nConnection: "
            "close\r\n\r\n");
  response_serializer::reset(w, false, true);
  EXPECT_EQ(finish(w),
            "HTTP/1.1 200 OK\r\nServer: goro\r\nContent-Length: 0\r\nConnection: "
            "keep-alive\r\n\r\n");
  response_serializer::reset(w, false, false);
  w.add_header("Connection", "close");
  std::string out;
  EXPECT_TRUE(response_serializer::finish(w, out, false));
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos);
}

TEST(HttpResponse, NoContentHasNoBodyOrLength) {
  response_writer w;
  response_serializer::reset(w, false, false);
  w.set_status(204);
  w.write("ignored");
  EXPECT_EQ(finish(w), "HTTP/1.1 204 No Content\r\nServer: goro\r\n\r\n");
}

TEST(HttpResponse, AWrongContentLengthBecomesA500AndACloses) {
  response_writer w;
  response_serializer::reset(w, false, false);
  w.add_header("Content-Length", "5");
  w.write("abc");
  std::string out;
  EXPECT_TRUE(response_serializer::finish(w, out, false));
  EXPECT_EQ(out.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("set Content-Length 5 and wrote 3 bytes"), std::string::npos) << out;
}

TEST(HttpResponse, BadHeadersAreRefused) {
  response_writer w;
  response_serializer::reset(w, false, false);
  EXPECT_THROW(w.add_header("X-Bad", "a\r\nInjected: 1"), std::invalid_argument);
  EXPECT_THROW(w.add_header("Bad Name", "v"), std::invalid_argument);
  EXPECT_THROW(w.add_header("Content-Length", "12a"), std::invalid_argument);
  EXPECT_THROW(w.add_header("Transfer-Encoding", "chunked"), std::invalid_argument);
  EXPECT_THROW(w.set_status(99), std::invalid_argument);
  EXPECT_THROW(w.set_status(600), std::invalid_argument);
}

TEST(HttpWire, ChunksAndErrorAnswers) {
  std::string out;
  wire::append_chunk(out, std::string(300, 'x'));
  EXPECT_EQ(out.substr(0, 5), "12c\r\n");
  EXPECT_EQ(out.size(), 5 + 300 + 2u);
  out.clear();
  wire::append_chunk(out, "");
  EXPECT_TRUE(out.empty());
  wire::append_error_response(out, 431, "too big");
  const std::string body = "431 Request Header Fields Too Large: too big\n";
  EXPECT_NE(out.find("Content-Length: " + std::to_string(body.size()) + "\r\n"), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - body.size()), body);
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos);
}

}  // namespace
}  // namespace goro::http
