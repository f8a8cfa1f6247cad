// goro::signal (see net/signal.hpp): a self-pipe written by the handler,
// read by one dispatcher task per runtime through the poller.

#include "net/signal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "net/tcp.hpp"
#include "sched/join_handle.hpp"
#include "sched/run.hpp"
#include "sched/select.hpp"

namespace goro::signal {
namespace {

// The pipe: made once per process, never closed (the handler may run at
// any time). The dispatcher reads a dup of the read end.
std::atomic<int> g_pipe_w{-1};
int g_pipe_r = -1;

struct subscriber {
  uint64_t mask[2] = {0, 0};  // signals 1..127
  std::weak_ptr<goro::detail::context_state> ctx;
  std::optional<goro::chan<int>> ch;
  bool wants(int sig) const noexcept { return (mask[sig / 64] >> (sig % 64)) & 1; }
};

std::mutex g_lock;
std::vector<subscriber> g_subs;     // under g_lock
bool g_installed[NSIG] = {};        // under g_lock
bool g_dispatcher_running = false;  // under g_lock: in the current runtime

void on_signal(int sig) {
  const int saved = errno;
  const unsigned char b = static_cast<unsigned char>(sig);
  if (const int fd = g_pipe_w.load(std::memory_order_relaxed); fd >= 0) (void)!::write(fd, &b, 1);
  errno = saved;
}

void check_signal(int sig) {
  const char* why = nullptr;
  if (sig <= 0 || sig >= NSIG || sig >= 128)
    why = "not a signal number";
  else if (sig == SIGQUIT)
    why = "SIGQUIT is reserved for goro's task dump";
  else if (sig == SIGKILL || sig == SIGSTOP)
    why = "it cannot be caught";
  else if (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL || sig == SIGTRAP ||
           sig == SIGSYS)
    why = "a fault signal cannot be delivered as an event";
  else if (sig == SIGPWR || sig == SIGXCPU)
    why = "the garbage collector uses it to stop the world";
  if (why)
    throw std::invalid_argument("goro::signal: signal " + std::to_string(sig) + ": " + why +
                                " (want a signal such as SIGINT, SIGTERM, SIGHUP, SIGUSR1)");
}

// When the dispatcher's frame goes away (its runtime shut down): the
// subscriptions end with the runtime, and the next one starts its own
// dispatcher. The handlers stay (the signals stay caught, as in Go).
struct dispatcher_guard {
  ~dispatcher_guard() {
    std::lock_guard lk(g_lock);
    g_dispatcher_running = false;
    g_subs.clear();
  }
};

task<void> dispatcher(int fd) {
  dispatcher_guard guard;
  goro::net::tcp_stream pipe(fd);
  unsigned char buf[64];
  for (;;) {
    const std::size_t n = co_await pipe.read_some(std::as_writable_bytes(std::span(buf)));
    if (n == 0) co_return;
    for (std::size_t i = 0; i < n; ++i) {
      const int sig = buf[i];
      std::vector<std::shared_ptr<goro::detail::context_state>> cancel;
      std::vector<goro::chan<int>> send;
      {
        std::lock_guard lk(g_lock);
        for (auto it = g_subs.begin(); it != g_subs.end();) {
          if (it->ch) {
            if (it->wants(sig)) send.push_back(*it->ch);
            ++it;
            continue;
          }
          auto c = it->ctx.lock();
          if (!c || it->wants(sig)) {
            if (c) cancel.push_back(std::move(c));
            it = g_subs.erase(it);  // delivered once, or its context is gone
          } else {
            ++it;
          }
        }
      }
      for (auto& c : cancel) c->cancel(goro::context_error::cancelled);
      for (auto& ch : send) (void)co_await goro::select(goro::on_send(ch, sig), goro::otherwise());
    }
  }
}

// Requires g_lock. Makes the pipe, installs handlers, starts the
// dispatcher in the running runtime.
void subscribe_locked(std::initializer_list<int> signals, subscriber sub) {
  for (int sig : signals) check_signal(sig);
  if (!goro::running())
    throw std::logic_error("goro::signal: needs a running goro runtime (inside goro::run)");
  if (g_pipe_w.load(std::memory_order_relaxed) < 0) {
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
      throw std::system_error(errno, std::generic_category(), "goro::signal: pipe2");
    g_pipe_r = fds[0];
    g_pipe_w.store(fds[1], std::memory_order_relaxed);
  }
  if (!g_dispatcher_running) {
    const int fd = ::fcntl(g_pipe_r, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "goro::signal: dup");
    goro::spawn(dispatcher(fd)).detach();
    g_dispatcher_running = true;
  }
  for (int sig : signals) sub.mask[sig / 64] |= uint64_t{1} << (sig % 64);
  g_subs.push_back(std::move(sub));
  for (int sig : signals) {
    if (g_installed[sig]) continue;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (::sigaction(sig, &sa, nullptr) != 0)
      throw std::system_error(errno, std::generic_category(), "goro::signal: sigaction");
    g_installed[sig] = true;
  }
}

}  // namespace

goro::context notify_context(const goro::context& parent, std::initializer_list<int> signals) {
  goro::context ctx = parent.with_cancel();
  subscriber sub;
  sub.ctx = goro::detail::done_case_access::state(ctx);
  std::lock_guard lk(g_lock);
  subscribe_locked(signals, std::move(sub));
  return ctx;
}

goro::chan<int> notify(std::initializer_list<int> signals) {
  goro::chan<int> ch(16);
  subscriber sub;
  sub.ch = ch;
  std::lock_guard lk(g_lock);
  subscribe_locked(signals, std::move(sub));
  return ch;
}

void stop(const goro::chan<int>& ch) {
  std::lock_guard lk(g_lock);
  std::erase_if(g_subs, [&](const subscriber& s) { return s.ch && *s.ch == ch; });
}

}  // namespace goro::signal
