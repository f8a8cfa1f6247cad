// A goro program whose live set grows toward a memory limit while it churns
// garbage, for the real cgroup test in tests/heap_memlimit_test.cpp:
//   goro-memlimit-grow LIVE_MIB GARBAGE_MIB
// Builds a live set of LIVE_MIB of 128-byte objects, allocating 4x as much
// short-lived garbage between steps, then churns GARBAGE_MIB more with the
// live set held; at most 1 MiB per millisecond (a service's allocation
// rate, not a tight loop: goro's pacer, like Go's, does not promise to hold
// a limit against unbounded allocation on every core). Prints "limit=<bytes> source=<name>
// transitions=<n> worst=<state>" and exits 0 if it finished (a process killed by the OOM killer
// prints nothing). Before that, "rss= managed= uncounted=": the resident memory the kernel counts,
// what goro's memory limit counts (heap_stats::managed_bytes) and the difference.

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "goro.hpp"
#include "heap/heap_stats.hpp"
#include "heap/memory_limit_default.hpp"

namespace {

// 120 bytes: 128 in Boehm (one byte more, rounded to 16-byte granules).
// Small objects, as a service allocates. (With objects of whole 4 KiB
// blocks the heap once ran to 2-3x the limit in this test: a 4 KiB object
// took two blocks, see heap/exact_alloc.cpp and goro-memlimit-sizes.)
struct chunk {
  chunk* next;
  char bytes[120 - sizeof(chunk*)];
};
constexpr long kPerMiB = (1 << 20) / 128;
static_assert(std::is_trivially_destructible_v<chunk>);

std::atomic<int> g_worst{0};
std::atomic<uint64_t> g_events{0};

goro::task<int> grow(long live_mib, long garbage_mib) {
  chunk* live = nullptr;
  const long live_chunks = live_mib * kPerMiB;
  volatile char sink = 0;
  for (long i = 0; i < live_chunks; ++i) {
    chunk* c = goro::gc_new<chunk>();
    c->next = live;
    c->bytes[0] = static_cast<char>(i);
    live = c;
    for (int g = 0; g < 4; ++g) sink = sink + goro::gc_new<chunk>()->bytes[0];
    if (i % (kPerMiB / 4) == 0) co_await goro::sleep_for(std::chrono::milliseconds(1));
  }
  for (long i = 0; i < garbage_mib * kPerMiB; ++i) {
    sink = sink + goro::gc_new<chunk>()->bytes[0];
    if (i % kPerMiB == 0) co_await goro::sleep_for(std::chrono::milliseconds(1));
  }
  long n = 0;
  for (chunk* c = live; c; c = c->next) ++n;
  co_return n == live_chunks ? 0 : 3;
}

// VmRSS of this process in bytes (0 if unreadable).
long long rss_bytes() {
  std::ifstream f("/proc/self/status");
  std::string k;
  while (f >> k) {
    if (k == "VmRSS:") {
      long long kb = 0;
      f >> kb;
      return kb * 1024;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s LIVE_MIB GARBAGE_MIB\n", argv[0]);
    return 2;
  }
  goro::on_gc_pressure([](const goro::gc_pressure_event& e) {
    g_events.fetch_add(1);
    int w = g_worst.load();
    while (static_cast<int>(e.to) > w &&
           !g_worst.compare_exchange_weak(w, static_cast<int>(e.to))) {
    }
  });
  const int rc = goro::run(grow(std::atol(argv[1]), std::atol(argv[2])));
  // What the limit counts against what the kernel counts, at the end.
  const long long managed = static_cast<long long>(goro::read_heap_stats().managed_bytes());
  std::printf("rss=%lld managed=%lld uncounted=%lld\n", rss_bytes(), managed,
              rss_bytes() - managed);
  std::printf("limit=%lld source=%s transitions=%llu worst=%s\n",
              static_cast<long long>(goro::set_memory_limit(-1)),
              goro::heap::to_string(goro::heap::memory_limit_source_now()),
              static_cast<unsigned long long>(g_events.load()),
              goro::pacer::to_string(static_cast<goro::pacer::pressure_state>(g_worst.load())));
  return rc;
}
