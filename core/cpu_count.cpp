#include "core/cpu_count.hpp"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <thread>

namespace goro::detail {

int affinity_cpu_count() {
  // Start at glibc's fixed cpu_set_t size and double while the kernel says
  // the mask is too small (EINVAL), as glibc's nproc does.
  for (int n = CPU_SETSIZE; n <= (1 << 22); n *= 2) {
    cpu_set_t* set = CPU_ALLOC(n);
    if (set == nullptr) break;
    size_t size = CPU_ALLOC_SIZE(n);
    CPU_ZERO_S(size, set);
    int rc = sched_getaffinity(0, size, set);
    int err = errno;
    int count = rc == 0 ? CPU_COUNT_S(size, set) : 0;
    CPU_FREE(set);
    if (rc == 0) return std::max(count, 1);
    if (err != EINVAL) break;
  }
  return static_cast<int>(std::max(std::thread::hardware_concurrency(), 1u));
}

int num_cpu() {
  static const int n = affinity_cpu_count();
  return n;
}

namespace {
// Take the snapshot while the process starts, before anyone can change the
// mask, rather than at the first call.
[[maybe_unused]] const int g_num_cpu_at_start = num_cpu();
}  // namespace

}  // namespace goro::detail
