// libFuzzer target for the HTTP request path: request_parser (http-parser
// glue, limits, chunked bodies, smuggling rules) and the error answers.
// Built and run by scripts/fuzz-http (clang-14, -fsanitize=fuzzer,address).
//
// Input: byte 0 picks the split size the bytes arrive in (as reads of a
// socket would), byte 1 the limits (defaults or small ones that the input
// can reach); the rest is the connection's bytes. Checked for every input:
// - parsing in pieces gives exactly what parsing all at once gives (the
//   requests, their parts, and whether it ends in an error);
// - every request respects the limits; every error is one of the statuses
//   the server sends, with a message;
// - every view a request hands out is readable (ASan checks the reads).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "net/http/request_parser.hpp"
#include "net/http/wire.hpp"

namespace {

using goro::http::parse_limits;
using goro::http::request_parser;
using result = request_parser::result;

void check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "http_request_fuzz: invariant broken: %s\n", what);
    abort();
  }
}

// Everything observable about how `in` parsed, as one string.
std::string run(std::string_view in, size_t step, const parse_limits& limits) {
  request_parser p(limits);
  std::string log, answer;
  size_t at = 0;
  for (;;) {
    result r = p.parse();
    while (r == result::complete || r == result::need_continue) {
      if (r == result::need_continue) {
        log += "[continue]";
      } else {
        const goro::http::request& q = p.current();
        check(q.target().size() <= limits.max_uri_bytes, "target within max_uri_bytes");
        check(q.body().size() <= limits.max_body_bytes, "body within max_body_bytes");
        check(q.headers().size() <= limits.max_headers, "headers within max_headers");
        check(q.version_major() == 1, "version 1.x");
        check(q.path().size() <= q.target().size(), "path within target");
        log += "[";
        log += q.method();
        log += ' ';
        log += q.target();
        log += ' ';
        log += q.path();
        log += '?';
        log += q.query();
        log += q.keep_alive() ? " ka" : " close";
        for (const auto& h : q.headers()) {
          log += '|';
          log += h.name;
          log += ':';
          log += h.value;
        }
        log += "|body=";
        log += q.body();
        log += ']';
        p.next();
      }
      r = p.parse();
    }
    if (r == result::error) {
      const int s = p.error_status();
      check(s == 400 || s == 413 || s == 414 || s == 417 || s == 431 || s == 505,
            "error status is one the server sends");
      check(!p.error_message().empty(), "error has a message");
      answer.clear();
      goro::http::wire::append_error_response(answer, s, p.error_message());
      check(answer.rfind("HTTP/1.1 ", 0) == 0, "error answer starts with a status line");
      // Which limit or rule trips first can depend on where the reads split
      // the bytes (a long invalid target is 414 when its first pieces
      // arrive alone, 400 when the parser sees it whole), so the status is
      // left out of the comparison; that it is an error is not.
      log += "[error]";
      return log;
    }
    if (at == in.size()) {
      log += p.idle() ? "[idle]" : "[partial]";
      return log;
    }
    const size_t n = std::min(step, in.size() - at);
    auto space = p.prepare(n);
    check(space.size() >= n, "prepare gives the space asked for");
    std::copy_n(in.data() + at, n, space.data());
    p.commit(n);
    at += n;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t step = 1 + data[0] % 64;
  parse_limits limits;
  if (data[1] & 1) {
    limits.max_header_bytes = 256;
    limits.max_uri_bytes = 32;
    limits.max_body_bytes = 64;
    limits.max_headers = 8;
  }
  const std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  const std::string whole = run(in, in.size() ? in.size() : 1, limits);
  const std::string pieces = run(in, step, limits);
  if (whole != pieces) {
    fprintf(stderr, "whole:  %s\npieces: %s\n", whole.c_str(), pieces.c_str());
    check(false, "parsing in pieces gives what parsing all at once gives");
  }
  return 0;
}
