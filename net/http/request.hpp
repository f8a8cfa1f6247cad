#pragma once
// goro::http::request: one parsed HTTP/1.1 request, as a handler sees it.
//
// Every view (method, target, header names and values, body) points into the
// connection's buffers and stays valid until the handler's task completes;
// copy what must outlive it. The body has been read in full (within
// server_options::max_body_bytes) before the handler runs, Content-Length
// or chunked; chunked trailers are dropped.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace goro::http {

namespace detail {
class connection;
}

/// One header line as received (name in its original case).
struct header_field {
  std::string_view name;
  std::string_view value;
};

/// ASCII case-insensitive comparison of header names and tokens.
bool iequals(std::string_view a, std::string_view b) noexcept;

class request {
 public:
  /// "GET", "POST", ... (the methods http-parser knows).
  std::string_view method() const noexcept { return method_; }
  /// The request target as sent: "/path?query" (or an absolute URL).
  std::string_view target() const noexcept { return target_; }
  /// The target's path: "/path" (not percent-decoded).
  std::string_view path() const noexcept { return path_; }
  /// The target's query without the '?', empty when there is none.
  std::string_view query() const noexcept { return query_; }
  /// 1 and 0 or 1 (HTTP/1.0, HTTP/1.1).
  int version_major() const noexcept { return major_; }
  int version_minor() const noexcept { return minor_; }
  /// Every header line in the order received.
  std::span<const header_field> headers() const noexcept { return headers_; }
  /// The first header named `name` (case-insensitive), if any.
  std::optional<std::string_view> header(std::string_view name) const noexcept;
  /// The decoded body (Content-Length or chunked), empty when there is none.
  std::string_view body() const noexcept { return body_; }
  /// Whether the client lets the connection stay open after this request.
  bool keep_alive() const noexcept { return keep_alive_; }
  /// The peer's "host:port" ("" when not known).
  std::string_view remote_address() const noexcept { return remote_; }

 private:
  friend class request_parser;
  friend class detail::connection;
  std::string_view method_, target_, path_, query_, body_, remote_;
  std::vector<header_field> headers_;
  int major_ = 1, minor_ = 1;
  bool keep_alive_ = true;
};

}  // namespace goro::http
