#pragma once
// goro::http::request_parser: a connection's read buffer and the
// http-parser (nodejs/http-parser 2.9, Debian's libhttp-parser-dev) state
// that turns its bytes into requests, one at a time. No sockets: the server
// reads into prepare(), commit()s what it read and calls parse(); the fuzz
// target (tests/fuzz/http_request_fuzz.cpp) drives the same calls.
//
// Buffer layout, all offsets into buf_:
//
//   [0, base_)        consumed requests (dropped at the next compaction)
//   [base_, parsed_)  the current request's bytes fed to http-parser; while
//                     its headers are incomplete or it is complete, all of
//                     them (the views point here); in the body phase the
//                     header block [base_, base_ + head_len_) and body bytes
//                     already copied out, which compaction drops
//   [parsed_, end_)   received, not parsed yet (pipelined requests)
//   [end_, cap_)      free space for the next read
//
// Spans recorded in the callbacks are offsets from base_, so compaction
// (memmove to the front) and growth (realloc) keep them valid; they become
// string_views only when the request is complete.
//
// Limits (the status each gives): request line + headers > max_header_bytes
// or more than max_headers lines (431), target > max_uri_bytes (414), body
// > max_body_bytes (413, before any body byte is read when Content-Length
// says so), a version other than 1.x (505), anything else malformed (400):
// both Content-Length and Transfer-Encoding (RFC 9112 §6.1: request
// smuggling), a duplicate or invalid Content-Length, no or several Host
// headers in HTTP/1.1, bad chunk sizes, control bytes in headers. After an
// error the parser stops: the server answers and closes the connection, and
// never parses what follows (a smuggled second request).

#include <http_parser.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "net/http/parse_limits.hpp"
#include "net/http/request.hpp"

namespace goro::http {

class request_parser {
 public:
  enum class result {
    need_more,      ///< read more into prepare(), then commit() and parse() again
    need_continue,  ///< headers done, Expect: 100-continue: send "100 Continue", parse() again
    complete,       ///< current() is a whole request; next() when answered
    error,          ///< error_status() / error_message(); close after answering
  };

  explicit request_parser(const parse_limits& limits);
  request_parser(const request_parser&) = delete;
  request_parser& operator=(const request_parser&) = delete;
  ~request_parser();

  /// Free space to read into (at least `min_free` bytes); compacts or grows.
  std::span<char> prepare(size_t min_free = 4096);
  /// `n` bytes were read into the span prepare() gave.
  void commit(size_t n) noexcept { end_ += n; }

  /// Parses buffered bytes up to the end of the current request.
  result parse();

  /// The request parse() reported complete.
  request& current() noexcept { return req_; }
  /// Drops the current request; the next parse() starts on the next one.
  void next();

  /// No byte of a request is buffered or parsed: between requests. (Line
  /// breaks between requests, which http-parser skips, do not count.)
  bool idle() const noexcept;
  /// The current request's headers are complete (its body is being read).
  bool in_body() const noexcept { return phase_ == phase::body; }
  /// Received bytes not yet parsed (pipelined requests).
  size_t buffered() const noexcept { return end_ - parsed_; }
  /// Between requests (idle()), gives back the read buffer and the header
  /// tables: a connection waiting for its next request holds none. The
  /// thread keeps one released set for the next prepare() it serves (no
  /// malloc per keep-alive request); the rest is freed.
  void release_buffer() noexcept;

  /// The status parse() failed with (400, 413, 414, 417, 431, 505).
  int error_status() const noexcept { return err_status_; }
  /// Why, naming the value and the limit or accepted form.
  const std::string& error_message() const noexcept { return err_msg_; }

 private:
  enum class phase : uint8_t { start, head, body, done, failed };
  struct span_off {
    uint32_t off = 0, len = 0;
  };
  struct header_off {
    span_off name, value;
  };

  // What release_buffer gives back, kept per thread for the next request
  // (request_parser.cpp).
  struct spares;
  static spares& thread_spares() noexcept;

  static int on_message_begin(http_parser* p);
  static int on_url(http_parser* p, const char* at, size_t n);
  static int on_header_field(http_parser* p, const char* at, size_t n);
  static int on_header_value(http_parser* p, const char* at, size_t n);
  static int on_headers_complete(http_parser* p);
  static int on_body(http_parser* p, const char* at, size_t n);
  static int on_message_complete(http_parser* p);
  static int on_chunk_header(http_parser* p);
  static const http_parser_settings settings_;

  int fail(int status, std::string msg);
  int check_headers();
  void fail_from_parser();
  void finish_request();
  uint32_t offset(const char* at) const noexcept {
    return static_cast<uint32_t>(at - (buf_.get() + base_));
  }
  std::string_view view(span_off s) const noexcept { return {buf_.get() + base_ + s.off, s.len}; }

  const parse_limits limits_;
  http_parser parser_;
  std::unique_ptr<char[]> buf_;
  size_t cap_ = 0, base_ = 0, parsed_ = 0, end_ = 0;
  phase phase_ = phase::start;
  size_t head_len_ = 0;       // header block bytes (from base_) once headers are done
  size_t head_fed_ = 0;       // bytes fed to the parser for this request's head
  size_t trailer_bytes_ = 0;  // chunked trailers seen (dropped, but limited)
  bool last_was_value_ = false;
  bool expect_continue_ = false;
  bool continue_sent_ = false;
  span_off url_;
  std::vector<header_off> head_offs_;
  std::string body_;
  request req_;
  int err_status_ = 0;
  std::string err_msg_;
};

}  // namespace goro::http
