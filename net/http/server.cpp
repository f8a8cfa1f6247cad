#include "net/http/server.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <string>

#include "core/clock.hpp"
#include "net/detail/net_metrics.hpp"
#include "net/http/request_parser.hpp"
#include "net/http/wire.hpp"
#include "sched/join_handle.hpp"
#include "sched/select.hpp"
#include "sched/semaphore.hpp"
#include "sched/timer.hpp"

namespace goro::http {

namespace detail {

class connection;

// What the server and its connections share. Connections hold it by
// shared_ptr, so a server object may go away before its last connection.
struct server_state {
  server_state(handler h, server_options o)
      : handle(std::move(h)), opts(o), slots(o.max_connections ? int64_t(o.max_connections) : 0) {}

  const handler handle;
  const server_options opts;
  goro::semaphore slots;  // max_connections permits (unused when 0)

  std::atomic<bool> shutting_down{false};
  std::atomic<size_t> live{0};  // connections registered and not yet gone
  goro::context drained = goro::context::background().with_cancel();  // cancelled at live == 0
                                                                      // during shutdown
  // The listener serve() accepts from, for shutdown() to close. Guarded by mu.
  net::tcp_listener* listener = nullptr;

  // Every open connection (intrusive list), for shutdown. Guarded by mu.
  std::mutex mu;
  connection* head = nullptr;

  void add(connection* c);
  void remove(connection* c);
};

enum class conn_state : int { active, idle, closed };

class connection final : public response_sink {
 public:
  connection(std::shared_ptr<server_state> s, net::tcp_stream st)
      : srv_(std::move(s)), stream_(std::move(st)), parser_(srv_->opts) {}

  /// The connection's task: serves requests until the connection ends,
  /// then unregisters and frees it (`self` owns this connection).
  task<void> run(std::unique_ptr<connection> self);
  task<void> send_now(response_writer& w) override;

  // Shutdown's view: an idle connection is closed at once.
  std::atomic<conn_state> state{conn_state::active};
  net::tcp_stream& stream() noexcept { return stream_; }
  connection* prev = nullptr;
  connection* next = nullptr;

 private:
  task<void> write_out();
  void arm_write_deadline();
  task<void> linger();
  void move_read_deadline(int64_t want, int64_t timeout);
  void log_handler_error(const char* what);

  const std::shared_ptr<server_state> srv_;
  net::tcp_stream stream_;
  request_parser parser_;
  response_writer writer_;
  std::string out_;             // responses not yet written, in request order
  std::string remote_;          // the peer's address, read once
  int64_t read_deadline_ = 0;   // nanotime; 0: none set
  int64_t write_deadline_ = 0;  // nanotime; 0: none set
  bool closing_ = false;        // the current response is the last
  bool sink_failed_ = false;    // a handler's flush failed writing to the socket
};

void server_state::add(connection* c) {
  std::lock_guard lk(mu);
  c->next = head;
  if (head) head->prev = c;
  head = c;
}

void server_state::remove(connection* c) {
  std::lock_guard lk(mu);
  if (c->prev) c->prev->next = c->next;
  if (c->next) c->next->prev = c->prev;
  if (head == c) head = c->next;
}

namespace {

int64_t ns(std::chrono::nanoseconds d) noexcept {
  return d.count();
}

// The clock of the per-request deadline bookkeeping (request_start, the
// read and write deadlines): the coarse clock, three reads per request at
// 14 ns instead of 60 (core/clock.hpp). Up to one tick early
// (1-10 ms) on top of the eighth a deadline may move by.
int64_t deadline_now() noexcept {
  return goro::coarse_nanotime();
}

goro::clock::time_point at(int64_t nanotime) noexcept {
  return goro::clock::time_point(std::chrono::nanoseconds(nanotime));
}

std::span<const std::byte> bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// The output buffer an idle connection gives back, kept for the next
// response this thread writes: one per thread, as the parser keeps a read
// buffer (request_parser.cpp), so that a keep-alive request does not cost a
// malloc and a free for its response while an idle connection holds none.
constexpr size_t kSpareOutMax = 4096;
thread_local std::string t_spare_out;

bool has_heap_buffer(const std::string& s) noexcept {
  return s.capacity() > std::string().capacity();
}

void give_back_out(std::string& out) noexcept {
  out.clear();
  if (!has_heap_buffer(t_spare_out) && out.capacity() <= kSpareOutMax)
    t_spare_out.swap(out);
  else
    std::string().swap(out);
}

void take_spare_out(std::string& out) noexcept {
  if (!has_heap_buffer(out) && out.empty() && has_heap_buffer(t_spare_out)) out.swap(t_spare_out);
}

}  // namespace

// Moves the read deadline to `want` (nanotime; 0: none) unless it is
// already within timeout/8 of it (see the header: no re-arm per request).
void connection::move_read_deadline(int64_t want, int64_t timeout) {
  if (want == 0) {
    if (read_deadline_ != 0) {
      stream_.set_read_deadline(goro::clock::time_point::max());
      read_deadline_ = 0;
    }
    return;
  }
  const int64_t diff = read_deadline_ > want ? read_deadline_ - want : want - read_deadline_;
  if (read_deadline_ != 0 && diff <= timeout / 8) return;
  stream_.set_read_deadline(at(want));
  read_deadline_ = want;
}

// Moves the write deadline to now + write_timeout, unless it is within an
// eighth of the timeout of that already.
void connection::arm_write_deadline() {
  const int64_t wt = ns(srv_->opts.write_timeout);
  if (wt <= 0) return;
  const int64_t want = deadline_now() + wt;
  const int64_t diff = write_deadline_ > want ? write_deadline_ - want : want - write_deadline_;
  if (write_deadline_ == 0 || diff > wt / 8) {
    stream_.set_write_deadline(at(want));
    write_deadline_ = want;
  }
}

// Writes out_ (every response ready so far) with as few write calls as the
// socket allows: one, normally. A task of its own, called once per batch of
// responses: its frame (from the frame pool, a few pointer moves) exists
// only while it writes, where a write awaiter inlined in run() would sit in
// every idle connection's frame.
task<void> connection::write_out() {
  if (out_.empty()) co_return;
  arm_write_deadline();
  size_t done = 0;
  while (done < out_.size()) done += co_await stream_.write_some(bytes(out_).subspan(done));
  out_.clear();
}

task<void> connection::send_now(response_writer& w) {
  if (!w.headers_sent_) w.append_head(out_, closing_, false);
  w.append_body(out_);
  sink_failed_ = true;
  co_await write_out();
  sink_failed_ = false;
}

// After answering a bad request: stop sending, read and drop what the
// client still sends for a short while, then close. Closing with unread
// bytes in the socket would send a reset, which can destroy the answer
// before the client reads it.
task<void> connection::linger() {
  const int64_t l = ns(srv_->opts.lingering_close);
  if (l <= 0) co_return;
  try {
    stream_.shutdown_write();
    stream_.set_read_deadline(at(nanotime() + l));
    std::byte sink[4096];
    size_t dropped = 0;
    while (dropped < (1u << 20)) {
      const size_t n = co_await stream_.read_some(sink);
      if (n == 0) break;
      dropped += n;
    }
  } catch (const net::net_error&) {
  }
}

void connection::log_handler_error(const char* what) {
  const request& r = parser_.current();
  std::fprintf(stderr, "goro::http: the handler for %.*s %.*s from %s threw: %s\n",
               int(r.method().size()), r.method().data(), int(r.target().size()), r.target().data(),
               remote_.c_str(), what);
}

// When the connection's task ends, whatever ended it (a reset, a timeout,
// a close by shutdown are all normal ends), or when its frame is destroyed
// suspended (a runtime that stops): unregisters and frees the connection.
struct connection_end {
  std::shared_ptr<server_state> s;
  std::unique_ptr<connection> c;
  ~connection_end() {
    s->remove(c.get());
    c.reset();
    if (s->opts.max_connections) s->slots.release();
    if (s->live.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
        s->shutting_down.load(std::memory_order_seq_cst))
      s->drained.cancel();
  }
};

// The connection's only coroutine frame (no task around it awaiting it: an
// idle connection holds one frame, not two). Its size is part of an idle
// connection's cost: 696 bytes today (GCC 12, release, measured from the
// DWARF frame type), which Boehm keeps in its 816-byte class, five to a 4 KiB
// block; at 672 bytes or less it would be six to a block. Cold paths belong in
// their own tasks (write_out, linger). `end` frees this connection
// when the frame goes, so nothing below touches a member after that.
task<void> connection::run(std::unique_ptr<connection> self) {
  const connection_end end{srv_, std::move(self)};
  try {
    remote_ = stream_.remote_address();
    int64_t request_start = 0;  // deadline_now() at the current request's first byte
    bool error_answered = false;
    for (;;) {
      const request_parser::result r = parser_.parse();
      if (r == request_parser::result::complete) {
        request& req = parser_.current();
        req.remote_ = remote_;
        take_spare_out(out_);
        closing_ = !req.keep_alive() || srv_->shutting_down.load(std::memory_order_relaxed);
        writer_.reset(this, req.method() == "HEAD", req.version_minor() == 0);
        bool failed = false;
        try {
          co_await srv_->handle(req, writer_);
        } catch (const net::net_error& e) {
          if (sink_failed_) throw;  // a flush to this client failed: nothing to answer
          log_handler_error(e.what());
          failed = true;
        } catch (const std::exception& e) {
          log_handler_error(e.what());
          failed = true;
        } catch (...) {
          log_handler_error("a non-standard exception");
          failed = true;
        }
        bool close_after;
        if (failed) {
          if (!writer_.headers_sent()) wire::append_error_response(out_, 500, "the handler failed");
          close_after = true;
        } else {
          // A shutdown that began while the handler ran ends the connection.
          closing_ = closing_ || srv_->shutting_down.load(std::memory_order_relaxed);
          close_after = writer_.append_rest(out_, closing_);
        }
        net::detail::count_http_request();  // metrics: /net/http/requests
        parser_.next();
        if (close_after) break;
        if (!parser_.idle()) request_start = deadline_now();  // the next request is pipelined
        // Many pipelined responses are written together, but not without bound.
        if (out_.size() >= (64u << 10)) co_await write_out();
        continue;
      }
      if (r == request_parser::result::need_continue) {
        out_.append("HTTP/1.1 100 Continue\r\n\r\n");
        co_await write_out();
        continue;
      }
      if (r == request_parser::result::error) {
        wire::append_error_response(out_, parser_.error_status(), parser_.error_message());
        error_answered = true;
        break;
      }
      // need_more: send what is ready first (the client may be waiting for it).
      if (!out_.empty()) co_await write_out();
      const bool idle = parser_.idle();
      if (idle) {
        state.store(conn_state::idle, std::memory_order_seq_cst);
        if (srv_->shutting_down.load(std::memory_order_seq_cst)) co_return;
        const int64_t it = ns(srv_->opts.idle_timeout);
        move_read_deadline(it > 0 ? deadline_now() + it : 0, it);
      } else if (!parser_.in_body()) {
        const int64_t t = ns(srv_->opts.read_header_timeout);
        move_read_deadline(t > 0 ? request_start + t : 0, t);
      } else {
        const int64_t t = ns(srv_->opts.read_timeout);
        move_read_deadline(t > 0 ? request_start + t : 0, t);
      }
      // Between requests with the socket drained (the last read came back
      // short: read_some's next read waits for the poller, see net/tcp.hpp),
      // the connection waits for the next one holding no read buffer and no
      // output buffer (read_or_wait yields 0 with an empty span once the
      // socket is readable): 1 KiB less per idle connection, and no more
      // system calls than the read it replaces. Then, or when bytes may be
      // waiting already, it reads into a small buffer (most requests fit in
      // 1 KiB); a request under way reads in 4 KiB steps at least.
      const bool wait_bare = idle && net::detail::read_drained(stream_);
      if (wait_bare) {
        parser_.release_buffer();
        give_back_out(out_);
      }
      std::span<char> space = wait_bare ? std::span<char>() : parser_.prepare(idle ? 512 : 4096);
      size_t n;
      try {
        for (;;) {
          n = co_await net::detail::read_or_wait(stream_, std::as_writable_bytes(space));
          if (!space.empty()) break;
          space = parser_.prepare(512);  // readable: now the buffer
        }
      } catch (const net::net_error& e) {
        if (e.kind() != net::error_kind::timeout || idle) throw;
        // A slow request (slowloris): say so, then close.
        wire::append_error_response(out_, 408,
                                    parser_.in_body()
                                        ? "the request body did not arrive within read_timeout"
                                        : "the request headers did not arrive within "
                                          "read_header_timeout");
        error_answered = true;
        break;
      }
      if (n == 0) co_return;  // the client closed (mid-request: nothing to answer)
      if (idle) {
        conn_state expected = conn_state::idle;
        if (!state.compare_exchange_strong(expected, conn_state::active)) co_return;  // shut down
        request_start = deadline_now();
      }
      parser_.commit(n);
    }
    co_await write_out();
    if (error_answered || parser_.buffered() > 0) co_await linger();
  } catch (const net::net_error&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "goro::http: connection ended by an error: %s\n", e.what());
  }
}

}  // namespace detail

namespace {
void check_options(const server_options& o) {
  auto check = [](std::chrono::nanoseconds d, const char* name) {
    if (d.count() < 0)
      throw std::invalid_argument(std::string("goro::http: server_options::") + name + " is " +
                                  std::to_string(d.count()) +
                                  " ns: accepted 0 (no timeout) or a positive duration");
  };
  check(o.idle_timeout, "idle_timeout");
  check(o.read_header_timeout, "read_header_timeout");
  check(o.read_timeout, "read_timeout");
  check(o.write_timeout, "write_timeout");
  check(o.lingering_close, "lingering_close");
  request_parser probe(o);  // checks the parse limits
}
}  // namespace

server::server(handler h, server_options o) {
  if (!h) throw std::invalid_argument("goro::http::server: the handler is empty");
  check_options(o);
  s_ = std::make_shared<detail::server_state>(std::move(h), o);
}

server::~server() = default;

size_t server::connections() const noexcept {
  return s_->live.load(std::memory_order_relaxed);
}

const server_options& server::options() const noexcept {
  return s_->opts;
}

task<void> server::serve(net::tcp_listener& ln) {
  const std::shared_ptr<detail::server_state> s = s_;
  {
    std::lock_guard lk(s->mu);
    if (s->listener) throw std::logic_error("goro::http::server::serve: already serving");
    s->listener = &ln;
  }
  struct unset {
    detail::server_state* s;
    ~unset() {
      std::lock_guard lk(s->mu);
      s->listener = nullptr;
    }
  } unset_on_exit{s.get()};
  std::chrono::milliseconds retry{0};  // Go's tempDelay: 5 ms doubling to 1 s
  for (;;) {
    if (s->opts.max_connections) co_await s->slots.acquire();
    net::tcp_stream st;
    bool failed = false;
    try {
      st = co_await ln.accept();
      retry = std::chrono::milliseconds(0);
    } catch (const net::net_error& e) {
      if (s->opts.max_connections) s->slots.release();
      if (s->shutting_down.load()) co_return;
      if (e.kind() == net::error_kind::closed) throw;  // the listener is gone
      // Anything else (fd exhaustion is retried inside accept itself) is
      // taken as passing, as Go's Serve does: say so, wait, accept again.
      retry = retry.count() ? std::min(retry * 2, std::chrono::milliseconds(1000))
                            : std::chrono::milliseconds(5);
      std::fprintf(stderr, "goro::http: accept failed: %s; retrying in %lld ms\n", e.what(),
                   static_cast<long long>(retry.count()));
      failed = true;
    }
    if (failed) {
      co_await goro::sleep_for(retry);
      continue;
    }
    s->live.fetch_add(1, std::memory_order_seq_cst);
    if (s->shutting_down.load(std::memory_order_seq_cst)) {
      st.close();
      if (s->opts.max_connections) s->slots.release();
      if (s->live.fetch_sub(1) == 1) s->drained.cancel();
      co_return;
    }
    auto c = std::make_unique<detail::connection>(s, std::move(st));
    s->add(c.get());
    detail::connection* const raw = c.get();
    goro::spawn(raw->run(std::move(c)));
  }
}

task<bool> server::shutdown(const goro::context& ctx) {
  const std::shared_ptr<detail::server_state> s = s_;
  s->shutting_down.store(true, std::memory_order_seq_cst);
  auto close_where = [&](bool only_idle) {
    std::lock_guard lk(s->mu);
    if (s->listener) {
      // shutdown(SHUT_RD) takes a listening socket out of LISTEN at once
      // (Linux: new connects are refused from here on). close() alone
      // closes the fd only when the pending accept has ended, which can
      // be after the idle connections below are closed.
      if (const int fd = s->listener->fd(); fd >= 0) ::shutdown(fd, SHUT_RD);
      s->listener->close();
    }
    for (detail::connection* c = s->head; c; c = c->next) {
      detail::conn_state idle = detail::conn_state::idle;
      if (!only_idle || c->state.compare_exchange_strong(idle, detail::conn_state::closed))
        c->stream().close();
    }
  };
  close_where(true);
  if (s->live.load(std::memory_order_seq_cst) == 0) co_return true;
  auto r = co_await goro::select(goro::on_done(s->drained), goro::on_done(ctx));
  if (r.index() == 0) co_return true;
  // Out of time: close the rest; their tasks end as their I/O fails.
  close_where(false);
  co_return s->live.load() == 0;
}

}  // namespace goro::http
