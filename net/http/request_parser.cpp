#include "net/http/request_parser.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "net/http/wire.hpp"

namespace goro::http {

namespace {

// http-parser's own header limit is a process-wide setting (80 KiB compiled
// in). Ours is per server and enforced by feeding at most the limit's worth
// of head bytes, so the library's is raised out of the way once.
constexpr uint32_t library_header_limit = 1u << 30;

void raise_library_limit() {
  static const bool done = (http_parser_set_max_header_size(library_header_limit), true);
  (void)done;
}

char lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

request_parser& self(http_parser* p) noexcept {
  return *static_cast<request_parser*>(p->data);
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::optional<std::string_view> request::header(std::string_view name) const noexcept {
  for (const header_field& h : headers_)
    if (iequals(h.name, name)) return h.value;
  return std::nullopt;
}

const http_parser_settings request_parser::settings_ = {
    .on_message_begin = &request_parser::on_message_begin,
    .on_url = &request_parser::on_url,
    .on_status = nullptr,
    .on_header_field = &request_parser::on_header_field,
    .on_header_value = &request_parser::on_header_value,
    .on_headers_complete = &request_parser::on_headers_complete,
    .on_body = &request_parser::on_body,
    .on_message_complete = &request_parser::on_message_complete,
    .on_chunk_header = &request_parser::on_chunk_header,
    .on_chunk_complete = nullptr,
};

request_parser::request_parser(const parse_limits& limits) : limits_(limits) {
  if (limits.max_header_bytes == 0 || limits.max_header_bytes > library_header_limit)
    throw std::invalid_argument("goro::http: max_header_bytes " +
                                std::to_string(limits.max_header_bytes) +
                                " is out of range: accepted 1 to 1073741824");
  if (limits.max_uri_bytes == 0 || limits.max_headers == 0)
    throw std::invalid_argument(
        "goro::http: max_uri_bytes and max_headers must be at least 1 (got " +
        std::to_string(limits.max_uri_bytes) + " and " + std::to_string(limits.max_headers) + ")");
  raise_library_limit();
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
}

request_parser::~request_parser() = default;

// The read buffer and header tables an idle connection gives back
// (release_buffer), kept for the next request this thread reads: one set per
// thread. Between two keep-alive requests a connection releases them and
// takes them again (so that an idle connection holds none); without the
// spares that is three mallocs and frees per request, often on different
// threads as the connection's task moves between them.
namespace {
constexpr size_t kFirstBuffer = 1024;
constexpr size_t kSpareHeaders = 16;
}  // namespace

struct request_parser::spares {
  std::unique_ptr<char[]> buf;  // kFirstBuffer bytes
  std::vector<header_off> offs;
  std::vector<header_field> fields;
};

request_parser::spares& request_parser::thread_spares() noexcept {
  thread_local spares s;
  return s;
}

std::span<char> request_parser::prepare(size_t min_free) {
  if (cap_ - end_ >= min_free) return {buf_.get() + end_, cap_ - end_};
  // Compact: drop consumed requests (and, in the body phase, body bytes
  // already copied out), keeping what the recorded offsets point at.
  char* b = buf_.get();
  if (phase_ == phase::body) {
    const size_t rest = end_ - parsed_;
    if (base_ != 0) std::memmove(b, b + base_, head_len_);
    std::memmove(b + head_len_, b + parsed_, rest);
    parsed_ = head_len_;
    end_ = head_len_ + rest;
  } else if (base_ != 0) {
    std::memmove(b, b + base_, end_ - base_);
    parsed_ -= base_;
    end_ -= base_;
  }
  base_ = 0;
  if (cap_ - end_ < min_free) {
    // 1 KiB first (a typical request, and all an idle connection holds),
    // then doubling.
    const size_t cap = std::max({cap_ * 2, end_ + min_free, kFirstBuffer});
    spares* sp = !buf_ && cap == kFirstBuffer ? &thread_spares() : nullptr;
    if (sp && sp->buf) {
      buf_ = std::move(sp->buf);
      if (head_offs_.capacity() == 0) head_offs_.swap(sp->offs);
      if (req_.headers_.capacity() == 0) req_.headers_.swap(sp->fields);
    } else {
      std::unique_ptr<char[]> grown(new char[cap]);
      if (end_) std::memcpy(grown.get(), buf_.get(), end_);
      buf_ = std::move(grown);
    }
    cap_ = cap;
  }
  return {buf_.get() + end_, cap_ - end_};
}

request_parser::result request_parser::parse() {
  for (;;) {
    switch (phase_) {
      case phase::failed:
        return result::error;
      case phase::done:
        return result::complete;
      default:
        break;
    }
    const size_t avail = end_ - parsed_;
    if (avail == 0) return result::need_more;
    size_t feed = avail;
    const bool in_head = phase_ == phase::start || phase_ == phase::head;
    if (in_head) feed = std::min(avail, limits_.max_header_bytes - head_fed_);
    const size_t n = http_parser_execute(&parser_, &settings_, buf_.get() + parsed_, feed);
    parsed_ += n;
    if (in_head) head_fed_ += n;
    const http_errno e = HTTP_PARSER_ERRNO(&parser_);
    if (e == HPE_PAUSED) {
      http_parser_pause(&parser_, 0);
      if (phase_ == phase::done) {
        finish_request();
        return result::complete;
      }
      if (phase_ == phase::body && expect_continue_ && !continue_sent_) {
        continue_sent_ = true;
        return result::need_continue;
      }
      continue;
    }
    if (e != HPE_OK) {
      fail_from_parser();
      return result::error;
    }
    if ((phase_ == phase::start || phase_ == phase::head) &&
        head_fed_ >= limits_.max_header_bytes) {
      fail(431, "the request line and headers exceed " + std::to_string(limits_.max_header_bytes) +
                    " bytes (server_options::max_header_bytes)");
      return result::error;
    }
  }
}

void request_parser::next() {
  phase_ = phase::start;
  base_ = parsed_;
  head_fed_ = 0;
  head_len_ = 0;
  req_.headers_.clear();
  req_.body_ = {};
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
  // A large upload must not pin its buffers for the connection's life.
  constexpr size_t keep = 64 << 10;
  if (body_.capacity() > keep) std::string().swap(body_);
  const size_t rest = end_ - parsed_;
  if (cap_ > keep && rest <= 4096) {
    std::unique_ptr<char[]> small(new char[4096]);
    if (rest) std::memcpy(small.get(), buf_.get() + parsed_, rest);
    buf_ = std::move(small);
    cap_ = 4096;
    base_ = parsed_ = 0;
    end_ = rest;
  }
}

void request_parser::release_buffer() noexcept {
  if (!idle()) return;
  spares& sp = thread_spares();
  if (cap_ == kFirstBuffer && !sp.buf) {
    sp.buf = std::move(buf_);
    head_offs_.clear();
    req_.headers_.clear();
    if (sp.offs.capacity() == 0 && head_offs_.capacity() <= kSpareHeaders) sp.offs.swap(head_offs_);
    if (sp.fields.capacity() == 0 && req_.headers_.capacity() <= kSpareHeaders)
      sp.fields.swap(req_.headers_);
  }
  buf_.reset();
  cap_ = base_ = parsed_ = end_ = 0;
  std::vector<header_off>().swap(head_offs_);
  std::vector<header_field>().swap(req_.headers_);
}

bool request_parser::idle() const noexcept {
  return phase_ == phase::start && parsed_ == end_;
}

int request_parser::fail(int status, std::string msg) {
  err_status_ = status;
  err_msg_ = std::move(msg);
  phase_ = phase::failed;
  return -1;
}

int request_parser::on_message_begin(http_parser* p) {
  request_parser& s = self(p);
  s.phase_ = phase::head;
  s.url_ = {};
  s.head_offs_.clear();
  s.body_.clear();
  s.last_was_value_ = false;
  s.expect_continue_ = false;
  s.continue_sent_ = false;
  s.trailer_bytes_ = 0;
  return 0;
}

int request_parser::on_url(http_parser* p, const char* at, size_t n) {
  request_parser& s = self(p);
  if (s.url_.len == 0) s.url_.off = s.offset(at);
  s.url_.len += static_cast<uint32_t>(n);
  if (s.url_.len > s.limits_.max_uri_bytes)
    return s.fail(414, "the request target is longer than " +
                           std::to_string(s.limits_.max_uri_bytes) +
                           " bytes (server_options::max_uri_bytes)");
  return 0;
}

int request_parser::on_header_field(http_parser* p, const char* at, size_t n) {
  request_parser& s = self(p);
  if (s.phase_ == phase::body) {  // a chunked body's trailer: dropped, but bounded
    s.trailer_bytes_ += n;
    if (s.trailer_bytes_ > s.limits_.max_header_bytes)
      return s.fail(431, "the chunked body's trailers exceed " +
                             std::to_string(s.limits_.max_header_bytes) +
                             " bytes (server_options::max_header_bytes)");
    return 0;
  }
  if (s.last_was_value_ || s.head_offs_.empty()) {
    if (s.head_offs_.size() >= s.limits_.max_headers)
      return s.fail(431, "more than " + std::to_string(s.limits_.max_headers) +
                             " header lines (server_options::max_headers)");
    if (s.head_offs_.capacity() == 0) s.head_offs_.reserve(8);  // once, not 1, 2, 4, 8
    s.head_offs_.push_back({{s.offset(at), static_cast<uint32_t>(n)}, {}});
  } else {
    s.head_offs_.back().name.len += static_cast<uint32_t>(n);
  }
  s.last_was_value_ = false;
  return 0;
}

int request_parser::on_header_value(http_parser* p, const char* at, size_t n) {
  request_parser& s = self(p);
  if (s.phase_ == phase::body) {
    s.trailer_bytes_ += n;
    if (s.trailer_bytes_ > s.limits_.max_header_bytes)
      return s.fail(431, "the chunked body's trailers exceed " +
                             std::to_string(s.limits_.max_header_bytes) +
                             " bytes (server_options::max_header_bytes)");
    return 0;
  }
  span_off& v = s.head_offs_.back().value;
  if (!s.last_was_value_) v.off = s.offset(at);
  v.len += static_cast<uint32_t>(n);
  s.last_was_value_ = true;
  return 0;
}

int request_parser::on_headers_complete(http_parser* p) {
  request_parser& s = self(p);
  s.phase_ = phase::body;
  size_t end = s.url_.off + s.url_.len;
  for (const header_off& h : s.head_offs_)
    end = std::max({end, size_t{h.name.off} + h.name.len, size_t{h.value.off} + h.value.len});
  s.head_len_ = end;
  return s.check_headers();
}

int request_parser::check_headers() {
  if (parser_.http_major != 1)
    return fail(505, "HTTP version " + std::to_string(parser_.http_major) + "." +
                         std::to_string(parser_.http_minor) +
                         " is not supported: this server speaks HTTP/1.0 and HTTP/1.1");
  int content_length = 0, transfer_encoding = 0, host = 0;
  std::string_view expect;
  bool has_expect = false;
  for (const header_off& h : head_offs_) {
    const std::string_view name = view(h.name);
    if (!wire::valid_header_name(name))
      return fail(400, "invalid header name \"" + std::string(name.substr(0, 64)) +
                           "\": expected a token (letters, digits and !#$%&'*+-.^_`|~)");
    if (iequals(name, "content-length")) {
      ++content_length;
    } else if (iequals(name, "transfer-encoding")) {
      ++transfer_encoding;
    } else if (iequals(name, "host")) {
      ++host;
    } else if (iequals(name, "expect")) {
      has_expect = true;
      expect = trim(view(h.value));
    }
  }
  // http-parser rejects these itself; checked again so that no setting or
  // version of the library can let a smuggled request through.
  if (content_length && transfer_encoding)
    return fail(400,
                "both Content-Length and Transfer-Encoding: rejected as request smuggling "
                "(RFC 9112 section 6.1)");
  if (content_length > 1) return fail(400, "more than one Content-Length header");
  if (parser_.http_minor >= 1 && host == 0) return fail(400, "missing required Host header");
  if (host > 1) return fail(400, "more than one Host header");
  if ((parser_.flags & F_CONTENTLENGTH) && parser_.content_length > limits_.max_body_bytes)
    return fail(413, "a Content-Length of " + std::to_string(parser_.content_length) +
                         " bytes exceeds the limit of " + std::to_string(limits_.max_body_bytes) +
                         " (server_options::max_body_bytes)");
  const bool has_body =
      (parser_.flags & F_CHUNKED) || ((parser_.flags & F_CONTENTLENGTH) && parser_.content_length);
  if (has_expect) {
    if (!iequals(expect, "100-continue"))
      return fail(417,
                  "Expect: \"" + std::string(expect) + "\" is not supported: only 100-continue");
    if (has_body && parser_.http_minor >= 1) {
      expect_continue_ = true;
      http_parser_pause(&parser_, 1);
    }
  }
  if (parser_.flags & F_CONTENTLENGTH) body_.reserve(parser_.content_length);
  return 0;
}

int request_parser::on_body(http_parser* p, const char* at, size_t n) {
  request_parser& s = self(p);
  if (s.body_.size() + n > s.limits_.max_body_bytes)
    return s.fail(413, "the request body exceeds " + std::to_string(s.limits_.max_body_bytes) +
                           " bytes (server_options::max_body_bytes)");
  s.body_.append(at, n);
  return 0;
}

int request_parser::on_chunk_header(http_parser* p) {
  request_parser& s = self(p);
  if (p->content_length > s.limits_.max_body_bytes - s.body_.size())
    return s.fail(413, "a chunk of " + std::to_string(p->content_length) +
                           " bytes takes the request body past " +
                           std::to_string(s.limits_.max_body_bytes) +
                           " bytes (server_options::max_body_bytes)");
  return 0;
}

int request_parser::on_message_complete(http_parser* p) {
  request_parser& s = self(p);
  s.phase_ = phase::done;
  http_parser_pause(p, 1);  // one request at a time: the next waits for next()
  return 0;
}

void request_parser::fail_from_parser() {
  if (phase_ == phase::failed) return;  // a callback said why
  const http_errno e = HTTP_PARSER_ERRNO(&parser_);
  std::string why;
  int status = 400;
  switch (e) {
    case HPE_HEADER_OVERFLOW:
      status = 431;
      why = "the request headers are too large";
      break;
    case HPE_UNEXPECTED_CONTENT_LENGTH: {
      bool te = false;
      for (const header_off& h : head_offs_) te |= iequals(view(h.name), "transfer-encoding");
      why = te ? "both Content-Length and Transfer-Encoding: rejected as request smuggling "
                 "(RFC 9112 section 6.1)"
               : "more than one Content-Length header";
      break;
    }
    case HPE_INVALID_CONTENT_LENGTH:
      why = phase_ == phase::body ? "invalid chunk size (not hexadecimal, or too large)"
                                  : "invalid Content-Length: expected decimal digits";
      break;
    case HPE_INVALID_CHUNK_SIZE:
      why = "invalid chunk size line: expected hexadecimal digits then CRLF";
      break;
    case HPE_INVALID_VERSION:
      why = "malformed HTTP version in the request line: expected HTTP/1.0 or HTTP/1.1";
      break;
    case HPE_INVALID_METHOD:
      why = "unknown or malformed method in the request line";
      break;
    case HPE_INVALID_TRANSFER_ENCODING:
      why = "Transfer-Encoding must end with chunked";
      break;
    case HPE_INVALID_HEADER_TOKEN:
      why = "invalid character in a header name or value (control bytes and NUL are not allowed)";
      break;
    default:
      why = http_errno_description(e);
      break;
  }
  fail(status, "bad request: " + why + " (http-parser " + http_errno_name(e) + ")");
}

void request_parser::finish_request() {
  const char* const b = buf_.get() + base_;
  req_.method_ = http_method_str(static_cast<http_method>(parser_.method));
  req_.target_ = view(url_);
  req_.major_ = parser_.http_major;
  req_.minor_ = parser_.http_minor;
  req_.keep_alive_ = http_should_keep_alive(&parser_) != 0 && !parser_.upgrade;
  const std::string_view t = req_.target_;
  req_.path_ = t;
  req_.query_ = {};
  if (!t.empty() && t.front() != '/' && t != "*") {  // absolute form: http://host/path?q
    http_parser_url u;
    http_parser_url_init(&u);
    const bool connect = parser_.method == HTTP_CONNECT;
    if (http_parser_parse_url(t.data(), t.size(), connect, &u) == 0) {
      req_.path_ = (u.field_set & (1 << UF_PATH))
                       ? t.substr(u.field_data[UF_PATH].off, u.field_data[UF_PATH].len)
                       : std::string_view("/");
      if (u.field_set & (1 << UF_QUERY))
        req_.query_ = t.substr(u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
    }
  } else if (const size_t q = t.find('?'); q != std::string_view::npos) {
    req_.path_ = t.substr(0, q);
    req_.query_ = t.substr(q + 1);
  }
  req_.headers_.clear();
  req_.headers_.reserve(head_offs_.size());
  for (const header_off& h : head_offs_)
    req_.headers_.push_back({{b + h.name.off, h.name.len}, {b + h.value.off, h.value.len}});
  req_.body_ = body_;
}

}  // namespace goro::http
