#pragma once
// goro::http::parse_limits: the bounds a request must stay within (the
// status each gives is in request_parser.hpp). server_options extends it.

#include <cstddef>

namespace goro::http {

struct parse_limits {
  /// Request line plus header lines, in bytes (Go: DefaultMaxHeaderBytes).
  size_t max_header_bytes = 1 << 20;
  /// Header lines per request (hyper's default; Go has no count limit).
  size_t max_headers = 100;
  /// The request target (Go has none beyond max_header_bytes; Apache's
  /// LimitRequestLine is 8190).
  size_t max_uri_bytes = 8 << 10;
  /// The decoded body (Go has none by default: http.MaxBytesReader).
  size_t max_body_bytes = 10 << 20;
};

}  // namespace goro::http
