#include "core/futex.hpp"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

#include "core/clock.hpp"

namespace goro {
namespace {
long sys_futex(std::atomic<uint32_t>* addr, int op, uint32_t val, const timespec* ts) noexcept {
  return ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(addr), op, val, ts, nullptr, 0);
}

}  // namespace

#if defined(__SANITIZE_THREAD__)
// Under ThreadSanitizer the wait polls in nanosleep instead of sleeping on
// the futex. TSan runs an asynchronous signal's handler at once only inside
// the libc calls it knows to block (nanosleep, poll, pthread_cond_wait...);
// anywhere else it queues the signal until the thread leaves an intercepted
// call, and a raw futex syscall is no such call. Boehm stops the world with
// signals, so a thread parked on a futex never acknowledged the stop and
// the collection waited forever ("Signals delivery fails constantly"), and
// so did one parked through GC_do_blocking, which takes the collector's
// lock on entry (heap/blocking_region.cpp). Flushing the queue with a
// no-op intercepted call between futex waits was measured not to be
// enough (Boehm's second stop still failed), nanosleep is. The sleep
// backs off from 20 us to 4 ms: wake-ups are slower, which only a
// sanitizer build pays; at 4 ms an idle runtime's 4 threads cost 1.3-2.1%
// of a CPU (13-21 ms a second here; tests/test_support.hpp's idle bound).
bool futex_word::wait(uint32_t expected, int64_t timeout_ns) noexcept {
  const int64_t deadline = timeout_ns < 0 ? -1 : nanotime() + timeout_ns;
  int64_t nap = 20'000;
  for (;;) {
    if (word_.load(std::memory_order_acquire) != expected) return true;
    int64_t left = nap;
    if (deadline >= 0) {
      left = std::min(nap, deadline - nanotime());
      if (left <= 0) return false;
    }
    timespec ts{0, static_cast<long>(left)};
    nanosleep(&ts, nullptr);
    nap = std::min<int64_t>(nap * 2, 4'000'000);
  }
}
#else
bool futex_word::wait(uint32_t expected, int64_t timeout_ns) noexcept {
  const int64_t deadline = timeout_ns < 0 ? -1 : nanotime() + timeout_ns;
  for (;;) {
    if (word_.load(std::memory_order_acquire) != expected) return true;
    timespec ts{}, *tsp = nullptr;
    if (deadline >= 0) {
      int64_t left = deadline - nanotime();
      if (left <= 0) return false;
      ts.tv_sec = left / 1'000'000'000;
      ts.tv_nsec = left % 1'000'000'000;
      tsp = &ts;
    }
    long r = sys_futex(&word_, FUTEX_WAIT_PRIVATE, expected, tsp);
    if (r == 0) return true;  // woken (possibly spuriously): caller re-checks
    if (errno == EAGAIN) return true;
    if (errno == ETIMEDOUT) return false;
    // EINTR (a collection's stop signal): retry with the remaining time.
  }
}
#endif

void futex_word::wake(int n) noexcept {
  sys_futex(&word_, FUTEX_WAKE_PRIVATE, n, nullptr);
}
void futex_word::wake_all() noexcept {
  wake(INT_MAX);
}

bool parker::wait(int64_t timeout_ns) noexcept {
  const int64_t deadline = timeout_ns < 0 ? -1 : nanotime() + timeout_ns;
  for (;;) {
    uint32_t one = 1;
    if (state_.word().compare_exchange_strong(one, 0, std::memory_order_acquire)) return true;
    int64_t left = -1;
    if (deadline >= 0) {
      left = deadline - nanotime();
      if (left <= 0) return false;
    }
    state_.wait(0, left);
  }
}

void parker::post() noexcept {
  if (state_.word().exchange(1, std::memory_order_release) == 0) state_.wake(1);
}

}  // namespace goro
