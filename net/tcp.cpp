// TCP streams, listeners and connect (see net/tcp.hpp), and net_error.

#include "net/tcp.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>

#include "core/clock.hpp"
#include "net/detail/net_metrics.hpp"
#include "sched/blocking.hpp"

namespace goro::net {

// ------------------------------------------------------------ errors --

const char* to_string(error_kind k) noexcept {
  switch (k) {
    case error_kind::eof:
      return "end of file";
    case error_kind::reset:
      return "connection reset";
    case error_kind::timeout:
      return "i/o timeout";
    case error_kind::cancelled:
      return "operation cancelled";
    case error_kind::closed:
      return "use of closed network connection";
    case error_kind::refused:
      return "connection refused";
    case error_kind::address_in_use:
      return "address already in use";
    case error_kind::resolve:
      return "name resolution failed";
    case error_kind::fd_limit:
      return "too many open files";
    case error_kind::other:
      return "network error";
  }
  return "?";
}

namespace {

class category : public std::error_category {
 public:
  const char* name() const noexcept override { return "goro.net"; }
  std::string message(int v) const override { return to_string(static_cast<error_kind>(v)); }
};

}  // namespace

const std::error_category& net_category() noexcept {
  static const category c;
  return c;
}

error_kind kind_of_errno(int e) noexcept {
  switch (e) {
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
      return error_kind::reset;
    case ECONNREFUSED:
      return error_kind::refused;
    case ETIMEDOUT:
      return error_kind::timeout;
    case EADDRINUSE:
      return error_kind::address_in_use;
    case EMFILE:
    case ENFILE:
      return error_kind::fd_limit;
    case EBADF:
      return error_kind::closed;
    default:
      return error_kind::other;
  }
}

namespace {

std::string message(const char* op, const std::string& where, const std::string& tail) {
  std::string m = "goro::net: ";
  m += op;
  if (!where.empty()) m += " " + where;
  m += ": " + tail;
  return m;
}

}  // namespace

void throw_errno(const char* op, int e, const std::string& where) {
  throw net_error(kind_of_errno(e), message(op, where, std::generic_category().message(e)), e);
}

void throw_kind(const char* op, error_kind k, const std::string& where, const char* detail) {
  throw net_error(k, message(op, where, detail ? detail : to_string(k)));
}

// ----------------------------------------------------------- attempts --

namespace detail {

// read and send through syscall(): glibc's read() and send() are
// cancellation points, which wrap every call in enabling and disabling
// asynchronous cancellation (1.7% of the HTTP server's CPU under wrk, more
// than its whole poller); goro never cancels its threads.
namespace {
ssize_t plain_read(int fd, void* buf, std::size_t len) noexcept {
  return ::syscall(SYS_read, fd, buf, len);
}
ssize_t plain_send(int fd, const void* buf, std::size_t len, int flags) noexcept {
  return ::syscall(SYS_sendto, fd, buf, len, flags, nullptr, 0);
}
}  // namespace

bool read_attempt(io_waiter* w) noexcept {
  for (;;) {
    const ssize_t n = plain_read(w->pd->fd, w->buf, w->len);  // read(): pipes too (signals)
    if (n >= 0) {
      w->result = n;
      w->err = 0;
      return true;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    w->err = errno;
    return true;
  }
}

bool read_after_wait(io_waiter* w) noexcept {
  w->attempt = &read_attempt;
  return false;
}

namespace {
bool readable(io_waiter* w) noexcept {
  w->result = 0;
  w->err = 0;
  return true;
}
}  // namespace

bool wait_readable(io_waiter* w) noexcept {
  w->attempt = &readable;
  return false;
}

bool write_attempt(io_waiter* w) noexcept {
  for (;;) {
    // MSG_NOSIGNAL: a peer that reset gives EPIPE, not a SIGPIPE.
    const ssize_t n = plain_send(w->pd->fd, w->buf, w->len, MSG_NOSIGNAL);
    if (n >= 0) {
      w->result = n;
      w->err = 0;
      return true;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    w->err = errno;
    return true;
  }
}

namespace {

constexpr int64_t kBackoffMin = 5'000'000, kBackoffMax = 1'000'000'000;

goro::detail::task_header* backoff_fire(goro::detail::timer_node* n) noexcept {
  auto* b = static_cast<accept_backoff*>(n->arg);
  goro::detail::ready_batch batch;
  // As if a connection had arrived: the waiter retries accept.
  if (io_waiter* w = goro::detail::netpoll_unblock(b->pd, goro::detail::kRead, true))
    goro::detail::io_complete(w, &batch);
  return batch.head;  // readied by the timer runner after its last touch
}

// EMFILE/ENFILE: the connection stays in the backlog and no new edge comes
// for it, so a timer retries. Two nodes: the retry that hits the limit
// again runs inside the previous node's fire and arms the other one.
void arm_backoff(accept_backoff* b) noexcept {
  using goro::detail::timer_node;
  b->delay = b->delay == 0 ? kBackoffMin : std::min(2 * b->delay, kBackoffMax);
  timer_node* t0 = &b->timer[0];
  timer_node* t1 = &b->timer[1];
  if (t0->state.load(std::memory_order_acquire) == timer_node::kQueued ||
      t1->state.load(std::memory_order_acquire) == timer_node::kQueued)
    return;  // a retry is already scheduled
  timer_node* t = t0->state.load(std::memory_order_acquire) == timer_node::kRunning ? t1 : t0;
  t->when = nanotime() + b->delay;
  t->arg = b;
  t->fire = backoff_fire;
  t->state.store(timer_node::kIdle, std::memory_order_relaxed);
  goro::detail::timer_add(t);
}

}  // namespace

bool accept_attempt(io_waiter* w) noexcept {
  auto* b = static_cast<accept_backoff*>(w->buf);
  for (;;) {
    const int fd = ::accept4(w->pd->fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      b->delay = 0;
      w->result = fd;
      w->err = 0;
      return true;
    }
    const int e = errno;
    // A connection reset while queued, or a signal: take the next one.
    if (e == EINTR || e == ECONNABORTED) continue;
    if (e == EAGAIN || e == EWOULDBLOCK) return false;
    if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
      arm_backoff(b);
      return false;
    }
    w->err = e;
    return true;
  }
}

bool connect_attempt(io_waiter* w) noexcept {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(w->pd->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) {
    w->err = err;
    return true;
  }
  sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (::getpeername(w->pd->fd, reinterpret_cast<sockaddr*>(&ss), &sl) == 0) {
    w->err = 0;
    return true;
  }
  if (errno == ENOTCONN) return false;  // still in progress (a stale event)
  w->err = errno;
  return true;
}

accept_awaiter::~accept_awaiter() {
  goro::detail::timer_del(&backoff_.timer[0]);
  goro::detail::timer_del(&backoff_.timer[1]);
  // Accepted but never handed over (the frame destroyed before it resumed).
  if (w_.result >= 0) ::close(static_cast<int>(w_.result));
}

tcp_stream accept_awaiter::await_resume() {
  goro::detail::timer_del(&backoff_.timer[0]);
  goro::detail::timer_del(&backoff_.timer[1]);
  finish("accept");
  tcp_stream s(static_cast<int>(std::exchange(w_.result, -1)));
  count_accepted();
  return s;
}

}  // namespace detail

// -------------------------------------------------------- addresses --

namespace {

std::string format_address(const sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (sa->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return "?";
}

std::string sock_address(int fd, bool peer) {
  if (fd < 0) return {};
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  const int r = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                     : ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (r != 0) return {};
  return format_address(reinterpret_cast<const sockaddr*>(&ss));
}

struct host_port {
  std::string host;
  std::string port;
};

// "host:port", "[v6]:port", ":port"; the port a number in [0, 65535].
host_port split_address(std::string_view addr) {
  auto bad = [&](const char* why) {
    return std::invalid_argument("goro::net: address \"" + std::string(addr) + "\": " + why +
                                 " (want host:port, [ipv6]:port or :port, port 0-65535)");
  };
  host_port hp;
  std::string_view rest;
  if (!addr.empty() && addr.front() == '[') {
    const auto close = addr.find(']');
    if (close == std::string_view::npos) throw bad("missing ']'");
    hp.host = std::string(addr.substr(1, close - 1));
    rest = addr.substr(close + 1);
    if (rest.empty() || rest.front() != ':') throw bad("missing port");
    rest.remove_prefix(1);
  } else {
    const auto colon = addr.rfind(':');
    if (colon == std::string_view::npos) throw bad("missing port");
    hp.host = std::string(addr.substr(0, colon));
    if (hp.host.find(':') != std::string::npos) throw bad("an IPv6 host needs brackets");
    rest = addr.substr(colon + 1);
  }
  unsigned port = 0;
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), port);
  if (rest.empty() || ec != std::errc() || p != rest.data() + rest.size() || port > 65535)
    throw bad("bad port");
  hp.port = std::to_string(port);
  return hp;
}

struct addrinfo_deleter {
  void operator()(addrinfo* a) const noexcept { ::freeaddrinfo(a); }
};
using addrinfo_ptr = std::unique_ptr<addrinfo, addrinfo_deleter>;

void set_nodelay_fd(int fd, bool on) {
  const int v = on ? 1 : 0;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v);
}

int64_t deadline_ns(goro::clock::time_point t) noexcept {
  if (t == goro::clock::time_point::max()) return 0;
  return goro::detail::to_nanotime(t);
}

}  // namespace

// ------------------------------------------------------------ stream --

tcp_stream::tcp_stream(int fd) {
  const int fl = ::fcntl(fd, F_GETFL);
  if (fl >= 0 && !(fl & O_NONBLOCK)) ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  try {
    pd_ = goro::detail::netpoll_open(fd);
  } catch (...) {
    ::close(fd);
    throw;
  }
  detail::count_opened();
  set_nodelay_fd(fd, true);  // Go's default
}

tcp_stream& tcp_stream::operator=(tcp_stream&& o) noexcept {
  if (this != &o) {
    if (pd_) {
      close();
      goro::detail::netpoll_release(pd_);
    }
    pd_ = std::exchange(o.pd_, nullptr);
  }
  return *this;
}

tcp_stream::~tcp_stream() {
  if (pd_) {
    close();
    goro::detail::netpoll_release(pd_);
  }
}

void tcp_stream::close() noexcept {
  // Counted once, by whichever close closed it (metrics: /net/conns/open).
  if (pd_ && goro::detail::netpoll_close(pd_)) detail::count_closed();
}

task<void> tcp_stream::read_exact(std::span<std::byte> buf) {
  while (!buf.empty()) {
    const std::size_t n = co_await read_some(buf);
    if (n == 0) throw_kind("read", error_kind::eof, {}, "unexpected end of file");
    buf = buf.subspan(n);
  }
}

task<void> tcp_stream::read_exact(std::span<std::byte> buf, const goro::context& ctx) {
  const goro::context c = ctx;  // the task may run after the caller's reference is gone
  while (!buf.empty()) {
    const std::size_t n = co_await read_some(buf, c);
    if (n == 0) throw_kind("read", error_kind::eof, {}, "unexpected end of file");
    buf = buf.subspan(n);
  }
}

task<void> tcp_stream::write_all(std::span<const std::byte> buf) {
  while (!buf.empty()) buf = buf.subspan(co_await write_some(buf));
}

task<void> tcp_stream::write_all(std::span<const std::byte> buf, const goro::context& ctx) {
  const goro::context c = ctx;
  while (!buf.empty()) buf = buf.subspan(co_await write_some(buf, c));
}

void tcp_stream::set_read_deadline(goro::clock::time_point t) {
  if (pd_) goro::detail::netpoll_set_deadline(pd_, 1, deadline_ns(t));
}
void tcp_stream::set_write_deadline(goro::clock::time_point t) {
  if (pd_) goro::detail::netpoll_set_deadline(pd_, 2, deadline_ns(t));
}
void tcp_stream::set_deadline(goro::clock::time_point t) {
  if (pd_) goro::detail::netpoll_set_deadline(pd_, 3, deadline_ns(t));
}

void tcp_stream::set_nodelay(bool on) {
  if (is_open()) set_nodelay_fd(pd_->fd, on);
}

void tcp_stream::shutdown_write() {
  if (!is_open()) throw_kind("shutdown", error_kind::closed);
  if (::shutdown(pd_->fd, SHUT_WR) != 0) throw_errno("shutdown", errno);
}

std::string tcp_stream::local_address() const {
  return sock_address(fd(), false);
}
std::string tcp_stream::remote_address() const {
  return sock_address(fd(), true);
}

// ---------------------------------------------------------- listener --

tcp_listener tcp_listener::listen(std::string_view addr, listen_options o) {
  host_port hp = split_address(addr);
  auto open_bind = [&](const sockaddr* sa, socklen_t len, bool dual) -> int {
    const int fd = ::socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    const int one = 1, zero = 0;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (o.reuse_port && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      const int e = errno;
      ::close(fd);
      return -e;
    }
    if (dual) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (::bind(fd, sa, len) != 0 || ::listen(fd, o.backlog) != 0) {
      const int e = errno;
      ::close(fd);
      return -e;
    }
    return fd;
  };
  int fd = -1;
  if (hp.host.empty()) {
    // Every interface: an IPv6 socket that takes IPv4 too, else IPv4 only.
    sockaddr_in6 a6{};
    a6.sin6_family = AF_INET6;
    a6.sin6_addr = in6addr_any;
    a6.sin6_port = htons(static_cast<uint16_t>(std::stoi(hp.port)));
    fd = open_bind(reinterpret_cast<sockaddr*>(&a6), sizeof a6, true);
    if (fd == -EAFNOSUPPORT) {
      sockaddr_in a4{};
      a4.sin_family = AF_INET;
      a4.sin_addr.s_addr = htonl(INADDR_ANY);
      a4.sin_port = a6.sin6_port;
      fd = open_bind(reinterpret_cast<sockaddr*>(&a4), sizeof a4, false);
    }
  } else {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    if (int rc = ::getaddrinfo(hp.host.c_str(), hp.port.c_str(), &hints, &res); rc != 0)
      throw_kind("listen", error_kind::resolve, std::string(addr), ::gai_strerror(rc));
    addrinfo_ptr list(res);
    fd = -EADDRNOTAVAIL;
    for (addrinfo* ai = res; ai; ai = ai->ai_next) {
      fd = open_bind(ai->ai_addr, ai->ai_addrlen, false);
      if (fd >= 0) break;
    }
  }
  if (fd < 0) throw_errno("listen", -fd, std::string(addr));
  tcp_listener l;
  try {
    l.pd_ = goro::detail::netpoll_open(fd);
  } catch (...) {
    ::close(fd);
    throw;
  }
  l.local_ = sock_address(fd, false);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    l.port_ = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                             : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  }
  return l;
}

tcp_listener& tcp_listener::operator=(tcp_listener&& o) noexcept {
  if (this != &o) {
    if (pd_) goro::detail::netpoll_release(pd_);
    pd_ = std::exchange(o.pd_, nullptr);
    port_ = o.port_;
    local_ = std::move(o.local_);
  }
  return *this;
}

tcp_listener::~tcp_listener() {
  if (pd_) goro::detail::netpoll_release(pd_);
}

void tcp_listener::set_deadline(goro::clock::time_point t) {
  if (pd_) goro::detail::netpoll_set_deadline(pd_, 1, deadline_ns(t));
}

void tcp_listener::close() noexcept {
  if (pd_) goro::detail::netpoll_close(pd_);
}

// ----------------------------------------------------------- connect --

namespace {

struct resolved {
  int rc = 0;
  addrinfo_ptr list;
};

// A done context fails the dial before each step that could wait: before
// resolving, after the resolver returns (getaddrinfo on the blocking pool
// cannot be interrupted; its answer is dropped) and before each address.
void check_dial_context(const goro::context& ctx, bool has_ctx, const std::string& addr) {
  if (!has_ctx) return;
  const goro::context_error e = ctx.err();
  if (e == goro::context_error::none) return;
  throw_kind("dial", error_kind::cancelled, addr,
             e == goro::context_error::deadline_exceeded ? "context deadline exceeded"
                                                         : "context cancelled");
}

task<tcp_stream> connect_impl(std::string addr, goro::context ctx, bool has_ctx) {
  host_port hp = split_address(addr);
  check_dial_context(ctx, has_ctx, addr);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
  const char* host = hp.host.empty() ? nullptr : hp.host.c_str();
  resolved r;
  {
    addrinfo* res = nullptr;
    r.rc = ::getaddrinfo(host, hp.port.c_str(), &hints, &res);  // numeric: no I/O
    r.list.reset(res);
  }
  if (r.rc == EAI_NONAME && host) {
    hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
    r = co_await goro::blocking([&]() {
      addrinfo* res = nullptr;
      resolved out;
      out.rc = ::getaddrinfo(host, hp.port.c_str(), &hints, &res);
      out.list.reset(res);
      return out;
    });
  }
  check_dial_context(ctx, has_ctx, addr);
  if (r.rc != 0) throw_kind("dial", error_kind::resolve, addr, ::gai_strerror(r.rc));
  std::exception_ptr last;
  for (addrinfo* ai = r.list.get(); ai; ai = ai->ai_next) {
    check_dial_context(ctx, has_ctx, addr);
    const int fd = ::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last = std::make_exception_ptr(
          net_error(kind_of_errno(errno), "goro::net: dial " + addr + ": socket failed", errno));
      continue;
    }
    const int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    const int e = rc == 0 ? 0 : errno;
    // EINTR: the connection goes on in the background, as EINPROGRESS (a
    // second connect() would only say EALREADY).
    if (rc != 0 && e != EINPROGRESS && e != EINTR) {
      ::close(fd);
      last = std::make_exception_ptr(
          net_error(kind_of_errno(e),
                    "goro::net: dial " + addr + ": " + std::generic_category().message(e), e));
      continue;
    }
    tcp_stream s(fd);  // owns fd from here on
    try {
      if (rc != 0)
        co_await detail::connect_awaiter(detail::stream_access::pd(s), has_ctx ? &ctx : nullptr);
      detail::count_dialed();
      co_return std::move(s);
    } catch (const net_error& ex) {
      if (ex.kind() == error_kind::cancelled || ex.kind() == error_kind::timeout) throw;
      last = std::current_exception();
    }
  }
  if (last) std::rethrow_exception(last);
  throw_kind("dial", error_kind::resolve, addr, "no addresses");
}

}  // namespace

task<tcp_stream> connect(std::string_view addr) {
  return connect_impl(std::string(addr), goro::context(), false);
}

task<tcp_stream> connect(std::string_view addr, const goro::context& ctx) {
  return connect_impl(std::string(addr), ctx, true);
}

}  // namespace goro::net
