#include "net/http/response_writer.hpp"

#include <stdexcept>

#include "net/http/request.hpp"
#include "net/http/wire.hpp"

namespace goro::http {

namespace {
bool bodyless(int status) noexcept {
  return status == 204 || status == 304;
}
}  // namespace

void response_writer::reset(detail::response_sink* sink, bool head_request, bool http10) {
  sink_ = sink;
  head_.clear();
  body_.clear();
  written_ = 0;
  content_length_.reset();
  status_ = 200;
  framing_ = framing::sized;
  has_date_ = has_server_ = close_ = false;
  head_request_ = discard_body_ = head_request;
  http10_ = http10;
  headers_sent_ = false;
  length_mismatch_ = false;
}

void response_writer::set_status(int code) {
  if (headers_sent_)
    throw std::logic_error("goro::http: set_status(" + std::to_string(code) +
                           ") after the headers were sent");
  if (code < 200 || code > 599)
    throw std::invalid_argument("goro::http: status " + std::to_string(code) +
                                " is out of range: accepted 200-599");
  status_ = code;
}

void response_writer::add_header(std::string_view name, std::string_view value) {
  if (headers_sent_)
    throw std::logic_error("goro::http: add_header(\"" + std::string(name) +
                           "\") after the headers were sent");
  if (!wire::valid_header_name(name))
    throw std::invalid_argument("goro::http: header name \"" + std::string(name) +
                                "\" is not a token (letters, digits and !#$%&'*+-.^_`|~)");
  if (!wire::valid_header_value(value))
    throw std::invalid_argument("goro::http: the value of header \"" + std::string(name) +
                                "\" holds CR, LF or NUL");
  if (iequals(name, "content-length")) {
    uint64_t n = 0;
    if (value.empty() || value.size() > 19)
      throw std::invalid_argument("goro::http: Content-Length \"" + std::string(value) +
                                  "\" is not a decimal number below 10^19");
    for (char c : value) {
      if (c < '0' || c > '9')
        throw std::invalid_argument("goro::http: Content-Length \"" + std::string(value) +
                                    "\" is not a decimal number below 10^19");
      n = n * 10 + uint64_t(c - '0');
    }
    content_length_ = n;
    return;  // the server writes it
  }
  if (iequals(name, "transfer-encoding"))
    throw std::invalid_argument(
        "goro::http: Transfer-Encoding is chosen by the server (flush() without Content-Length "
        "streams a chunked body)");
  if (iequals(name, "connection")) {
    if (value.find("close") != std::string_view::npos) close_ = true;
    return;  // the server writes Connection
  }
  if (iequals(name, "date")) has_date_ = true;
  if (iequals(name, "server")) has_server_ = true;
  head_.append(name);
  head_.append(": ");
  head_.append(value);
  head_.append("\r\n");
}

task<void> response_writer::flush() {
  if (!sink_) throw std::logic_error("goro::http: flush() on a response_writer with no connection");
  co_await sink_->send_now(*this);
}

void response_writer::append_head(std::string& out, bool closing, bool final) {
  wire::append_status_line(out, status_);
  if (!has_date_) wire::append_date(out);
  if (!has_server_) {
    out.append("Server: ");
    out.append(wire::server_name);
    out.append("\r\n");
  }
  out.append(head_);
  if (bodyless(status_)) {
    framing_ = framing::none;
    discard_body_ = true;
  } else if (final) {
    framing_ = framing::sized;
    const uint64_t n = head_request_ && content_length_ ? *content_length_ : written_;
    out.append("Content-Length: ");
    wire::append_decimal(out, n);
    out.append("\r\n");
  } else if (content_length_) {
    framing_ = framing::sized;
    out.append("Content-Length: ");
    wire::append_decimal(out, *content_length_);
    out.append("\r\n");
  } else if (http10_) {
    framing_ = framing::until_close;
    closing = true;
  } else if (!head_request_) {
    framing_ = framing::chunked;
    out.append("Transfer-Encoding: chunked\r\n");
  } else {
    framing_ = framing::none;  // HEAD: the headers say nothing about a length
  }
  if (closing || close_)
    out.append("Connection: close\r\n");
  else if (http10_)
    out.append("Connection: keep-alive\r\n");
  out.append("\r\n");
  headers_sent_ = true;
}

void response_writer::append_body(std::string& out) {
  if (!discard_body_) {
    if (framing_ == framing::chunked)
      wire::append_chunk(out, body_);
    else if (framing_ != framing::none)
      out.append(body_);
  }
  body_.clear();
}

bool response_writer::append_rest(std::string& out, bool closing) {
  if (!headers_sent_) {
    if (content_length_ && !head_request_ && !bodyless(status_) && *content_length_ != written_) {
      // The handler promised one length and wrote another: a framing error
      // the client cannot recover from, answered as one (Go closes too).
      const std::string why = "the handler set Content-Length " + std::to_string(*content_length_) +
                              " and wrote " + std::to_string(written_) + " bytes";
      body_.clear();
      wire::append_error_response(out, 500, why);
      length_mismatch_ = true;
      return true;
    }
    append_head(out, closing, true);
    append_body(out);
    return closing || close_;
  }
  append_body(out);
  if (framing_ == framing::chunked) out.append("0\r\n\r\n");
  if (framing_ == framing::sized && content_length_ && !head_request_ &&
      written_ != *content_length_)
    length_mismatch_ = true;
  return closing || close_ || framing_ == framing::until_close || length_mismatch_;
}

}  // namespace goro::http
