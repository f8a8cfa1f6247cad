// The soft memory limit across object sizes, for measuring (README, "The
// pacer against Go": object sizes and scattered live sets):
//   goro-memlimit-sizes LIMIT_MIB SIZE LIVE_FRACTION KIND [REPLACE_X]
// Sets the limit, builds a live set of objects of SIZE bytes (16, 64, 256,
// 512, 1024, 2048, 3000, 4096, 8192, 16384 or 65536; 0 = a mix of 16 B to
// 64 KiB) taking LIVE_FRACTION of the limit with its pointer array, then
// replaces REPLACE_X (default 2) times the limit of entries at random slots,
// so survivors are scattered over every block. KIND: s = scanned single
// objects (gc_new), n = pointer-free single objects (gc_new_noscan), a =
// pointer-free arrays (gc_new_array_noscan<char>). Samples
// heap_stats::managed_bytes() every millisecond and after every 256
// allocations, and prints one line: the peak while growing and overall as
// a multiple of the limit, live after the last collection, collections,
// the pressure state, how often the GC CPU limiter engaged, and the pause
// time spent while replacing.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "heap/gc.hpp"
#include "heap/gc_new.hpp"
#include "heap/gc_settings.hpp"
#include "heap/heap_stats.hpp"

constexpr uint64_t kMiB = 1 << 20;
template <std::size_t N>
struct obj {
  obj* next;
  char pad[N - sizeof(void*)];
};
template <std::size_t N>
struct raw {
  char pad[N];
};

std::atomic<uint64_t> peak{0};
std::atomic<bool> stop{false};
void sample() {
  uint64_t m = goro::read_heap_stats().managed_bytes();
  uint64_t p = peak.load();
  while (m > p && !peak.compare_exchange_weak(p, m)) {
  }
}

void** volatile g_live = nullptr;

template <std::size_t N>
void* one(char kind) {
  if (kind == 's') return goro::gc_new<obj<N>>();
  if (kind == 'n') return goro::gc_new_noscan<raw<N>>();
  return goro::gc_new_array_noscan<char>(N);
}

void* make(std::size_t n, char kind, uint64_t i) {
  if (n == 0) {  // mixed
    static const std::size_t sizes[] = {16, 64, 256, 1024, 4096, 16384, 65536};
    n = sizes[(i * 2654435761u >> 7) % 7];
  }
  switch (n) {
    case 16:
      return one<16>(kind);
    case 64:
      return one<64>(kind);
    case 256:
      return one<256>(kind);
    case 512:
      return one<512>(kind);
    case 1024:
      return one<1024>(kind);
    case 2048:
      return one<2048>(kind);
    case 3000:
      return one<3000>(kind);
    case 4096:
      return one<4096>(kind);
    case 8192:
      return one<8192>(kind);
    case 16384:
      return one<16384>(kind);
    case 65536:
      return one<65536>(kind);
  }
  std::fprintf(stderr,
               "goro-memlimit-sizes: no object type of %zu bytes (want 0, 16, 64, 256, 512, "
               "1024, 2048, 3000, 4096, 8192, 16384 or 65536)\n",
               n);
  std::exit(2);
}

int main(int argc, char** argv) {
  if (argc < 5 || std::strchr("sna", argv[4][0]) == nullptr) {
    std::fprintf(stderr, "usage: %s LIMIT_MIB SIZE LIVE_FRACTION s|n|a [REPLACE_X]\n", argv[0]);
    return 2;
  }
  const uint64_t limit = std::atoll(argv[1]) * kMiB;
  const std::size_t size = std::atoll(argv[2]);
  const double frac = std::atof(argv[3]);
  const char kind = argv[4][0];
  const double churn_x = argc > 5 ? std::atof(argv[5]) : 2;
  goro::set_memory_limit(limit);
  std::thread poller([] {
    while (!stop) {
      sample();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  const std::size_t avg = size == 0 ? (16 + 64 + 256 + 1024 + 4096 + 16384 + 65536) / 7 : size;
  const uint64_t n = static_cast<uint64_t>(frac * limit / (avg + 8));
  g_live = goro::gc_new_array<void*>(n);
  auto t0 = std::chrono::steady_clock::now();
  // grow
  uint64_t i = 0;
  for (; i < n; ++i) {
    g_live[i] = make(size, kind, i);
    if ((i & 255) == 0) sample();
  }
  const uint64_t peak_grow = peak.load();
  // churn: replace random live slots, churn_x * limit bytes
  uint64_t x = 88172645463325252ull;
  const uint64_t churn = static_cast<uint64_t>(churn_x * limit / avg);
  const goro::heap_stats h0 = goro::read_heap_stats();
  for (uint64_t k = 0; k < churn; ++k) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    g_live[x % n] = make(size, kind, k + i);
    if ((k & 255) == 0) sample();
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stop = true;
  poller.join();
  const goro::heap_stats h = goro::read_heap_stats();
  std::printf(
      "limit=%llu size=%zu frac=%.2f kind=%c peak_grow=%.2fx peak=%.2fx end=%.2fx live=%.1fMiB "
      "coll=%llu state=%s limiter_eng=%llu secs=%.1f meta=%.1f churn_gc_ms=%.0f\n",
      (unsigned long long)(limit / kMiB), size, frac, kind, (double)peak_grow / limit,
      (double)peak.load() / limit, (double)h.managed_bytes() / limit, (double)h.live_bytes / kMiB,
      (unsigned long long)h.collections, goro::pacer::to_string(h.gc_pressure),
      (unsigned long long)h.gc_limiter_engagements, secs, (double)h.collector_metadata_bytes / kMiB,
      (double)(h.total_pause_ns - h0.total_pause_ns) / 1e6);
}
