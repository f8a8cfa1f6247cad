#pragma once
// A blocking HTTP/1.1 test client over POSIX sockets, outside the goro
// runtime (the server under test runs in goro::run on another thread), and
// the harness that runs a goro::http::server there. Responses are parsed
// with http-parser in response mode, as the server parses requests.
#include <arpa/inet.h>
#include <dirent.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>

#include "goro.hpp"
#include "net/http/server.hpp"

namespace goro::http::testing {

inline int count_open_fds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) ++n;
    closedir(d);
  }
  return n;
}

/// Waits up to `limit` for the open fd count to come back to `want`.
inline int wait_fds(int want, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  int n = count_open_fds();
  while (n > want && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    n = count_open_fds();
  }
  return n;
}

struct response {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  bool chunked = false;
  std::string header(const std::string& n) const {
    auto it = headers.find(n);
    return it == headers.end() ? std::string() : it->second;
  }
};

/// One client connection to 127.0.0.1:port (5 s receive timeout).
class client {
 public:
  explicit client(uint16_t port, bool connect_now = true) : port_(port) {
    if (connect_now && !connect()) throw std::runtime_error("test client: connect failed");
  }
  ~client() { close(); }
  client(const client&) = delete;

  /// false when refused.
  bool connect() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
      return false;
    }
    return true;
  }
  void set_timeout(std::chrono::milliseconds t) {
    timeval tv{time_t(t.count() / 1000), suseconds_t(t.count() % 1000 * 1000)};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  int fd() const { return fd_; }

  /// false when the server closed or reset the connection.
  bool send(std::string_view s) {
    while (!s.empty()) {
      const ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      s.remove_prefix(size_t(n));
    }
    return true;
  }

  /// The next response; status 0 when the connection ended (or timed out)
  /// before a whole one. `head`: the request was HEAD (no body follows).
  response read(bool head = false) {
    response r;
    state st{&r, head};
    http_parser p;
    http_parser_init(&p, HTTP_RESPONSE);
    p.data = &st;
    for (;;) {
      if (!buf_.empty()) {
        const size_t n = http_parser_execute(&p, &settings(), buf_.data(), buf_.size());
        if (HTTP_PARSER_ERRNO(&p) == HPE_PAUSED) {
          buf_.erase(0, n);
          r.status = int(p.status_code);
          r.chunked = (p.flags & F_CHUNKED) != 0;
          return r;
        }
        if (HTTP_PARSER_ERRNO(&p) != HPE_OK) {
          r.status = -1;
          return r;
        }
        buf_.clear();
      }
      char tmp[65536];
      const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n == 0) {  // a body that ends with the connection
        http_parser_execute(&p, &settings(), nullptr, 0);
        if (HTTP_PARSER_ERRNO(&p) == HPE_PAUSED) {
          r.status = int(p.status_code);
          return r;
        }
      }
      if (n <= 0) return response{};
      buf_.assign(tmp, size_t(n));
    }
  }

  /// How the connection ends: 0 a clean close (EOF), ECONNRESET, or
  /// EAGAIN when it is still open after the receive timeout. Bytes that
  /// arrive first are returned in `rest`.
  int wait_close(std::string* rest = nullptr) {
    for (;;) {
      char tmp[4096];
      const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n == 0) return 0;
      if (n < 0) return errno == EWOULDBLOCK ? EAGAIN : errno;
      if (rest) rest->append(tmp, size_t(n));
    }
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  /// Closes with a reset (SO_LINGER 0).
  void reset() {
    linger l{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close();
  }

 private:
  struct state {
    response* r;
    bool head;
    std::string field;
    bool in_value = false;
  };
  static state& st(http_parser* p) { return *static_cast<state*>(p->data); }
  static const http_parser_settings& settings() {
    static const http_parser_settings s = [] {
      http_parser_settings s;
      http_parser_settings_init(&s);
      s.on_header_field = [](http_parser* p, const char* at, size_t n) {
        state& S = st(p);
        if (S.in_value) S.field.clear();
        S.in_value = false;
        for (size_t i = 0; i < n; ++i) S.field.push_back(char(std::tolower(at[i])));
        return 0;
      };
      s.on_header_value = [](http_parser* p, const char* at, size_t n) {
        state& S = st(p);
        S.in_value = true;
        S.r->headers[S.field].append(at, n);
        return 0;
      };
      s.on_headers_complete = [](http_parser* p) { return st(p).head ? 1 : 0; };
      s.on_body = [](http_parser* p, const char* at, size_t n) {
        st(p).r->body.append(at, n);
        return 0;
      };
      s.on_message_complete = [](http_parser* p) {
        http_parser_pause(p, 1);
        return 0;
      };
      return s;
    }();
    return s;
  }
  uint16_t port_;
  int fd_ = -1;
  std::string buf_;
};

/// A goro::http::server on 127.0.0.1:<port>, in goro::run on a thread of
/// its own. stop() shuts it down gracefully with `grace` and reports
/// whether every connection finished.
class running_server {
 public:
  running_server(handler h, server_options o = {}) {
    th_ = std::thread([this, h = std::move(h), o] { goro::run(main(h, o)); });
    while (port_.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~running_server() { stop(); }
  uint16_t port() const { return port_.load(); }
  /// Starts shutdown(grace); returns at once.
  void begin_stop(std::chrono::milliseconds grace = std::chrono::seconds(5)) {
    grace_ = grace;
    stop_.store(true);
  }
  /// Waits for the shutdown; true when it drained every connection.
  bool stop(std::chrono::milliseconds grace = std::chrono::seconds(5)) {
    if (!stop_.load()) begin_stop(grace);
    if (th_.joinable()) th_.join();
    return drained_.load();
  }
  bool shutdown_started() const { return shutting_.load(); }
  size_t connections() const { return conns_.load(); }

 private:
  task<int> main(handler h, server_options o) {
    auto ln = net::tcp_listener::listen("127.0.0.1:0");
    server srv(std::move(h), o);
    auto serving = goro::spawn(srv.serve(ln));
    port_.store(ln.port());
    while (!stop_.load()) {
      conns_.store(srv.connections());
      co_await goro::sleep_for(std::chrono::milliseconds(2));
    }
    shutting_.store(true);
    drained_.store(co_await srv.shutdown(goro::context::background().with_timeout(grace_)));
    co_await serving;
    co_return 0;
  }
  std::thread th_;
  std::atomic<uint16_t> port_{0};
  std::atomic<bool> stop_{false}, shutting_{false}, drained_{false};
  std::atomic<size_t> conns_{0};
  std::chrono::milliseconds grace_{5000};
};

}  // namespace goro::http::testing
