#pragma once
// TCP for goro tasks (Go's net.TCPConn / net.TCPListener):
//
//   auto ln = goro::net::tcp_listener::listen("127.0.0.1:0");
//   goro::net::tcp_stream conn = co_await ln.accept();
//   std::size_t n = co_await conn.read_some(buf);      // 0: the peer closed
//   co_await conn.write_all(std::span(buf).first(n));
//
//   goro::net::tcp_stream c = co_await goro::net::connect("localhost:8080");
//
// Every socket is non-blocking and registered with the runtime's poller
// (sched/detail/netpoll.hpp). read_some, write_some and accept are
// awaiters that try the system call first and park the task only when it
// would block; no frame or allocation per call. read_exact and write_all
// are tasks that loop over them.
//
// Failures throw net_error (net/error.hpp) with a kind: eof (read_exact
// only; read_some yields 0 at end of stream), reset, timeout, cancelled,
// closed, refused, address_in_use, resolve, fd_limit, other.
//
// Deadlines have Go's SetDeadline meaning: an absolute time after which
// pending and later operations of that direction fail with timeout, until
// the deadline is moved (time_point::max() clears it). The context
// overloads fail with cancelled as soon as the context is done.
//
// Buffers are any memory, the collected heap included (a pointer-free
// gc_new_array_noscan<std::byte>): the task's frame holds the span while it
// waits, so the buffer stays alive; the poller may complete the read into
// it on another thread before the task resumes.
//
// One reader and one writer at a time per stream (two concurrent reads are
// a fatal error); close() and the deadline setters may be called from any
// task. A stream and a listener belong to the runtime they were made in.

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <source_location>
#include <span>
#include <string>
#include <string_view>

#include "net/detail/io_op.hpp"
#include "net/error.hpp"
#include "sched/context.hpp"
#include "sched/task.hpp"
#include "sched/timer.hpp"

namespace goro::net {

class tcp_stream;
class tcp_listener;

namespace detail {

bool read_attempt(io_waiter* w) noexcept;
/// The first attempt of a read on a drained socket: none (wait for the
/// poller), then read_attempt.
bool read_after_wait(io_waiter* w) noexcept;
/// The same wait with no read after it: the socket is readable, yield 0.
bool wait_readable(io_waiter* w) noexcept;
bool write_attempt(io_waiter* w) noexcept;
bool accept_attempt(io_waiter* w) noexcept;
bool connect_attempt(io_waiter* w) noexcept;

/// co_await stream.read_some(buf): the bytes read, 0 at end of stream.
///
/// After a read that came back short of its buffer (the socket was
/// drained), the next one waits for the poller's readiness event before its
/// first read(2), instead of trying one that would only say EAGAIN: one
/// system call per message instead of two for a request/response or echo
/// loop (mio does the same: it clears readiness on a short read). Correct
/// because the socket is edge-triggered: bytes that arrive after the short
/// read raise an event, which either finds this waiter parked or leaves
/// "ready" in its slot for io_park to retry the read at once.
///
/// With an empty buffer and `wait_if_empty` (read_or_wait), a drained
/// socket is only waited for: the awaiter yields 0 once it is readable,
/// having read nothing, so that the caller need not hold a buffer while it
/// waits.
class [[nodiscard]] read_awaiter : private io_op {
 public:
  read_awaiter(poll_desc* pd, std::span<std::byte> buf, const goro::context* ctx,
               bool wait_if_empty = false) noexcept
      : io_op(pd, goro::detail::kRead, first_attempt(pd, buf.empty(), wait_if_empty), ctx) {
    w_.buf = buf.data();
    w_.len = buf.size();
  }
  bool await_ready() noexcept { return start(); }
  using io_op::await_suspend;
  std::size_t await_resume() {
    if (w_.pd) w_.pd->read_drained.store(false, std::memory_order_relaxed);
    finish("read");
    const auto n = static_cast<std::size_t>(w_.result);
    if (n < w_.len) w_.pd->read_drained.store(true, std::memory_order_relaxed);
    return n;
  }

 private:
  static auto first_attempt(poll_desc* pd, bool empty, bool wait_if_empty) noexcept
      -> bool (*)(io_waiter*) noexcept {
    if (!pd || !pd->read_drained.load(std::memory_order_relaxed)) return read_attempt;
    if (!empty) return read_after_wait;
    return wait_if_empty ? wait_readable : read_attempt;
  }
};

/// co_await stream.write_some(buf): the bytes written (at least 1 unless
/// buf is empty).
class [[nodiscard]] write_awaiter : private io_op {
 public:
  write_awaiter(poll_desc* pd, std::span<const std::byte> buf, const goro::context* ctx) noexcept
      : io_op(pd, goro::detail::kWrite, write_attempt, ctx) {
    w_.buf = const_cast<std::byte*>(buf.data());
    w_.len = buf.size();
  }
  bool await_ready() noexcept { return start(); }
  using io_op::await_suspend;
  std::size_t await_resume() {
    finish("write");
    return static_cast<std::size_t>(w_.result);
  }
};

struct stream_access;

/// Accept's state beside its waiter: the EMFILE/ENFILE back-off timers.
struct accept_backoff {
  goro::detail::timer_node timer[2];
  int64_t delay = 0;  // ns, 0: not backing off
  poll_desc* pd = nullptr;
};

/// co_await listener.accept(): the next connection.
class [[nodiscard]] accept_awaiter : private io_op {
 public:
  accept_awaiter(poll_desc* pd, const goro::context* ctx) noexcept
      : io_op(pd, goro::detail::kRead, accept_attempt, ctx) {
    backoff_.pd = pd;
    w_.buf = &backoff_;
    w_.result = -1;
  }
  ~accept_awaiter();
  accept_awaiter(const accept_awaiter&) = delete;
  bool await_ready() noexcept { return start(); }
  using io_op::await_suspend;
  tcp_stream await_resume();

 private:
  accept_backoff backoff_;
};

/// The wait for a non-blocking connect to complete.
class [[nodiscard]] connect_awaiter : private io_op {
 public:
  connect_awaiter(poll_desc* pd, const goro::context* ctx) noexcept
      : io_op(pd, goro::detail::kWrite, connect_attempt, ctx) {}
  bool await_ready() noexcept { return start(); }
  using io_op::await_suspend;
  void await_resume() { finish("connect"); }
};

}  // namespace detail

/// A connected TCP socket. Move-only; the destructor closes it.
class tcp_stream {
 public:
  tcp_stream() noexcept = default;
  /// Takes a connected socket (made non-blocking here) into the runtime's
  /// poller. Throws std::logic_error outside a runtime.
  explicit tcp_stream(int fd);
  tcp_stream(tcp_stream&& o) noexcept : pd_(std::exchange(o.pd_, nullptr)) {}
  tcp_stream& operator=(tcp_stream&& o) noexcept;
  tcp_stream(const tcp_stream&) = delete;
  tcp_stream& operator=(const tcp_stream&) = delete;
  ~tcp_stream();

  /// Reads what is available, waiting until something is: yields the byte
  /// count, 0 at end of stream (or for an empty buf).
  detail::read_awaiter read_some(std::span<std::byte> buf) noexcept { return {pd_, buf, nullptr}; }
  detail::read_awaiter read_some(std::span<std::byte> buf, const goro::context& ctx) noexcept {
    return {pd_, buf, &ctx};
  }
  /// Writes some of buf, waiting until the socket takes at least a byte.
  detail::write_awaiter write_some(std::span<const std::byte> buf) noexcept {
    return {pd_, buf, nullptr};
  }
  detail::write_awaiter write_some(std::span<const std::byte> buf,
                                   const goro::context& ctx) noexcept {
    return {pd_, buf, &ctx};
  }
  /// Fills buf; net_error{eof} when the stream ends first.
  task<void> read_exact(std::span<std::byte> buf);
  task<void> read_exact(std::span<std::byte> buf, const goro::context& ctx);
  /// Writes all of buf (partial writes continued).
  task<void> write_all(std::span<const std::byte> buf);
  task<void> write_all(std::span<const std::byte> buf, const goro::context& ctx);

  void set_read_deadline(goro::clock::time_point t);
  void set_write_deadline(goro::clock::time_point t);
  void set_deadline(goro::clock::time_point t);
  void set_nodelay(bool on);
  /// Half-close: sends FIN; reads continue.
  void shutdown_write();
  /// Closes the socket; pending operations fail with net_error{closed}.
  /// Any task may call it; idempotent.
  void close() noexcept;
  bool is_open() const noexcept { return pd_ && !goro::detail::netpoll_closed(pd_); }
  /// The socket, -1 once closed.
  int fd() const noexcept { return is_open() ? pd_->fd : -1; }
  /// "127.0.0.1:8080", "[::1]:8080".
  std::string local_address() const;
  std::string remote_address() const;

 private:
  friend struct detail::stream_access;
  detail::poll_desc* pd_ = nullptr;
};

namespace detail {
struct stream_access {
  static poll_desc* pd(const tcp_stream& s) noexcept { return s.pd_; }
};

/// Whether the stream's last read came back short of its buffer (the
/// socket was drained then; read_some's next read waits for the poller).
inline bool read_drained(const tcp_stream& s) noexcept {
  const poll_desc* pd = stream_access::pd(s);
  return pd && pd->read_drained.load(std::memory_order_relaxed);
}

/// read_some, except that with an empty buffer on a drained stream it waits
/// until the socket is readable and yields 0 without reading (goro::http's
/// idle connections wait so, holding no read buffer).
inline read_awaiter read_or_wait(tcp_stream& s, std::span<std::byte> buf) noexcept {
  return {stream_access::pd(s), buf, nullptr, true};
}
}  // namespace detail

struct listen_options {
  int backlog = SOMAXCONN;
  bool reuse_port = false;  // SO_REUSEPORT: several listeners share the port
};

/// A listening TCP socket. Move-only; the destructor closes it.
class tcp_listener {
 public:
  tcp_listener() noexcept = default;
  /// Binds and listens: "127.0.0.1:8080", "[::1]:0", "localhost:9000",
  /// ":0" (every interface, IPv6 and IPv4). Port 0 picks a free port, see
  /// port(). SO_REUSEADDR is set. Throws std::invalid_argument for a
  /// malformed address and net_error when the socket cannot be bound.
  static tcp_listener listen(std::string_view addr, listen_options o = {});
  tcp_listener(tcp_listener&& o) noexcept
      : pd_(std::exchange(o.pd_, nullptr)), port_(o.port_), local_(std::move(o.local_)) {}
  tcp_listener& operator=(tcp_listener&& o) noexcept;
  tcp_listener(const tcp_listener&) = delete;
  tcp_listener& operator=(const tcp_listener&) = delete;
  ~tcp_listener();

  uint16_t port() const noexcept { return port_; }
  std::string local_address() const { return local_; }

  /// The next connection (TCP_NODELAY set). Under fd exhaustion
  /// (EMFILE/ENFILE) it waits and retries, 5 ms doubling to 1 s, as Go's
  /// http.Server does, rather than failing or spinning.
  detail::accept_awaiter accept() noexcept { return {pd_, nullptr}; }
  detail::accept_awaiter accept(const goro::context& ctx) noexcept { return {pd_, &ctx}; }
  void set_deadline(goro::clock::time_point t);
  /// Stops listening; a pending accept fails with net_error{closed}.
  void close() noexcept;
  bool is_open() const noexcept { return pd_ && !goro::detail::netpoll_closed(pd_); }
  int fd() const noexcept { return is_open() ? pd_->fd : -1; }

 private:
  detail::poll_desc* pd_ = nullptr;
  uint16_t port_ = 0;
  std::string local_;
};

/// Connects to "host:port" (host: a name, an IPv4 address or a bracketed
/// IPv6 one; empty: the local system). Names are resolved with getaddrinfo
/// on the blocking pool; every address is tried in turn.
task<tcp_stream> connect(std::string_view addr);
task<tcp_stream> connect(std::string_view addr, const goro::context& ctx);

}  // namespace goro::net
