#include "net/http/wire.hpp"

#include <http_parser.h>
#include <time.h>

namespace goro::http::wire {

std::string_view reason(int status) noexcept {
  const char* r = http_status_str(static_cast<http_status>(status));
  if (!r || r[0] == '<') return "Unknown";
  return r;
}

void append_decimal(std::string& out, uint64_t v) {
  char tmp[24];
  char* p = tmp + sizeof tmp;
  do {
    *--p = char('0' + v % 10);
    v /= 10;
  } while (v);
  out.append(p, tmp + sizeof tmp - p);
}

void append_status_line(std::string& out, int status) {
  if (status == 200) {
    out.append("HTTP/1.1 200 OK\r\n");
    return;
  }
  out.append("HTTP/1.1 ");
  append_decimal(out, static_cast<uint64_t>(status));
  out.push_back(' ');
  out.append(reason(status));
  out.append("\r\n");
}

void append_date(std::string& out) {
  // Per thread, so no lock or shared cache line; reformatted when the
  // second changes (CLOCK_REALTIME_COARSE: a vDSO read, no syscall).
  struct cache {
    time_t sec = -1;
    char line[64];
    size_t len = 0;
  };
  thread_local cache c;
  timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  if (ts.tv_sec != c.sec) {
    tm t;
    gmtime_r(&ts.tv_sec, &t);
    c.len = strftime(c.line, sizeof c.line, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &t);
    c.sec = ts.tv_sec;
  }
  out.append(c.line, c.len);
}

void append_chunk(std::string& out, std::string_view data) {
  if (data.empty()) return;
  char tmp[20];
  char* p = tmp + sizeof tmp;
  size_t n = data.size();
  do {
    *--p = "0123456789abcdef"[n & 15];
    n >>= 4;
  } while (n);
  out.append(p, tmp + sizeof tmp - p);
  out.append("\r\n");
  out.append(data);
  out.append("\r\n");
}

void append_error_response(std::string& out, int status, std::string_view message) {
  append_status_line(out, status);
  append_date(out);
  out.append("Server: ");
  out.append(server_name);
  out.append("\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n");
  const std::string_view r = reason(status);
  // "431 Request Header Fields Too Large: <message>\n"
  const size_t len = 3 + 1 + r.size() + (message.empty() ? 0 : 2 + message.size()) + 1;
  out.append("Content-Length: ");
  append_decimal(out, len);
  out.append("\r\n\r\n");
  append_decimal(out, static_cast<uint64_t>(status));
  out.push_back(' ');
  out.append(r);
  if (!message.empty()) {
    out.append(": ");
    out.append(message);
  }
  out.push_back('\n');
}

namespace {
// RFC 9110 tchar: letters, digits and !#$%&'*+-.^_`|~
struct token_table {
  bool ok[256] = {};
  constexpr token_table() {
    for (int c = 'a'; c <= 'z'; ++c) ok[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) ok[c] = true;
    for (int c = '0'; c <= '9'; ++c) ok[c] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~")) ok[static_cast<unsigned char>(c)] = true;
  }
};
constexpr token_table token_chars;
}  // namespace

bool valid_header_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (char c : name)
    if (!token_chars.ok[static_cast<unsigned char>(c)]) return false;
  return true;
}

bool valid_header_value(std::string_view value) noexcept {
  for (char c : value)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

}  // namespace goro::http::wire
