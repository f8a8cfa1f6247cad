#pragma once
// goro::http::response_writer: how a handler answers (Go's
// http.ResponseWriter).
//
//   w.set_status(201);                       // before the first flush; default 200
//   w.add_header("Content-Type", "application/json");
//   w.write(body);                            // buffered
//   co_await w.flush();                       // optional: send what is written now
//
// A handler that never flushes gets a sized response: Content-Length is the
// number of bytes written (for HEAD, the bytes the handler would have
// sent; the body itself is dropped). Flushing sends the headers first:
// with the handler's own Content-Length it streams exactly that many bytes,
// otherwise the body is chunked (HTTP/1.1) or ends when the connection
// closes (HTTP/1.0). Date and Server are added unless the handler set them.
// Responses to pipelined requests leave in request order, several per
// write when they are ready together.
//
// Header names must be RFC 9110 tokens and values must not hold CR, LF or
// NUL (std::invalid_argument otherwise: no response splitting).
// "Connection: close" from the handler closes the connection after the
// response; Transfer-Encoding is the server's to choose and is refused.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "sched/task.hpp"

namespace goro::http {

class response_writer;

namespace detail {
class connection;

/// The connection side of a response_writer: sends the bytes so far.
class response_sink {
 public:
  virtual task<void> send_now(response_writer& w) = 0;

 protected:
  ~response_sink() = default;
};
}  // namespace detail

class response_writer {
 public:
  /// The status code, 200-599 (std::invalid_argument otherwise, or
  /// std::logic_error once the headers have been sent).
  void set_status(int code);
  int status() const noexcept { return status_; }
  /// Adds a header line (several with one name are allowed).
  void add_header(std::string_view name, std::string_view value);
  /// Appends to the body.
  void write(std::string_view data) {
    if (!discard_body_) body_.append(data);
    written_ += data.size();
  }
  void write(std::span<const std::byte> data) {
    write(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
  }
  /// Sends the headers (first time) and the body written so far.
  task<void> flush();
  /// Whether the headers have gone out (flush() was awaited).
  bool headers_sent() const noexcept { return headers_sent_; }

 private:
  friend class detail::connection;
  friend class response_serializer;  // tests
  enum class framing : uint8_t { sized, chunked, until_close, none };

  void reset(detail::response_sink* sink, bool head_request, bool http10);
  /// Appends the status line and headers; decides the framing.
  void append_head(std::string& out, bool closing, bool final);
  /// Appends the body bytes written since the last call, framed.
  void append_body(std::string& out);
  /// Appends everything that has not been sent: the whole response, or the
  /// rest of a streamed one and its end.
  /// Returns whether the connection must close after it.
  bool append_rest(std::string& out, bool closing);

  detail::response_sink* sink_ = nullptr;
  std::string head_;  // "Name: value\r\n" lines from the handler
  std::string body_;  // written, not yet sent
  uint64_t written_ = 0;
  std::optional<uint64_t> content_length_;
  int status_ = 200;
  framing framing_ = framing::sized;
  bool has_date_ = false, has_server_ = false;
  bool close_ = false;         // the handler asked for Connection: close
  bool head_request_ = false;  // HEAD: the body is counted, not sent
  bool discard_body_ = false;
  bool http10_ = false;
  bool headers_sent_ = false;
  bool length_mismatch_ = false;
};

}  // namespace goro::http
