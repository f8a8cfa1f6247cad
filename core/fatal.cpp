#include "core/fatal.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

namespace goro {
namespace {
// write(2) directly: no locks, no allocation beyond the one string, safe while
// other threads hold stdio locks.
void write_all(const std::string& s) noexcept {
  const char* p = s.data();
  size_t left = s.size();
  while (left > 0) {
    ssize_t n = ::write(2, p, left);
    if (n < 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}
}  // namespace

void fatal(std::string_view msg) noexcept {
  std::string s = "goro: fatal error: ";
  s.append(msg);
  s.push_back('\n');
  write_all(s);
  // The tasks, once: a fatal error inside the dump ends without another.
  static std::atomic<bool> dumping{false};
  if (auto f = detail::g_fatal_tasks.load(std::memory_order_acquire))
    if (!dumping.exchange(true)) {
      write_all("\n");
      f();
    }
  std::abort();
}

void die(std::string_view msg, int code) noexcept {
  std::string s = "goro: ";
  s.append(msg);
  s.push_back('\n');
  write_all(s);
  std::_Exit(code);
}

}  // namespace goro
