// The collection mode, chosen once before the first collection.
//
// stw (the default): GC_gcollect marks the whole heap with the world stopped,
// in parallel (collector.cpp).
//
// concurrent (GORO_GC_MODE=concurrent, only with goro's patched libgc,
// GORO_PATCHED_GC): Boehm's incremental mode with the userfaultfd dirty-page
// tracking of third_party/bdwgc/patches/0001. A collection is one short stop
// (roots and the pages written since the last one, bounded by the time limit
// below), marking with the world running on the background marker thread
// (heap/mark_worker.cpp: Boehm's incremental steps, which hold its
// allocation lock one step at a time), precleaning rounds that read and
// rescan the pages written meanwhile with the world still running (patch
// 0007), and a final stop that rescans the roots and the pages written
// since the last round. Most collections are partial
// (Boehm's generational mode: objects marked by an earlier collection stay
// marked); every GC_full_freq-th one is full. The kernel is the write
// barrier, so coroutine frames and system calls writing into the heap need
// nothing.
//
// Asked for and not possible (the packaged libgc; a kernel before 6.7 or
// userfaultfd refused, probed here exactly as the patch probes it), the mode
// stays stw and gc_mode_reason() says why. Boehm's other dirty-bit trackers
// are never used: mprotect's makes read() into the heap fail with EFAULT.

#include "heap/gc_mode.hpp"

#include <gc.h>

#include <atomic>
#include <string>
#include <string_view>

#include "core/fatal.hpp"
#include "core/settings.hpp"
#include "heap/detail/gc_mode.hpp"

#ifdef GORO_PATCHED_GC
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#endif

namespace goro::heap {
namespace {

std::atomic<gc_mode> g_mode{gc_mode::stw};  // set once by choose_gc_mode
std::atomic<gc_mode_why> g_why{gc_mode_why::default_mode};

void set_reason(gc_mode_why why) noexcept {
  g_why.store(why, std::memory_order_relaxed);
}

#ifdef GORO_PATCHED_GC
// The first stop of a concurrent cycle, and each timed attempt at the final
// one, gives up after this long (Boehm's GC_time_limit); the marking then
// goes on with the world running. After kPriorAttempts timed attempts the
// final stop runs to the end, with Boehm's parallel markers (sooner with
// patch 0006: after an attempt whose time went before it could mark, which
// at 256 MiB live cut a cycle's stops from 11 to 3). With precleaning
// (0007) and the restart that does not wait (0009) a timed attempt is
// the longest stop there is: goro-peers garbage's max pause was the limit
// plus 0.2-0.3 ms at 64 MiB (5.24 ms at 5, 3.32 at 3, 2.46 at 2; medians
// of 5, interleaved, quiet 2-vCPU VM), and at 256 MiB 5.14 against 4.38 ms
// (the first limit, 5 ms, came from ../shared/reference/boehm-incremental.md,
// untuned). A shorter attempt that marks too little only brings the untimed
// one sooner (patch 0006).
constexpr unsigned long kTimeLimitMs = 2;
constexpr int kPriorAttempts = 10;

// Boehm's assist: while a cycle marks, every allocation slow path (a
// free-list refill) does GC_rate mark steps. Boehm's default, 10, leaves the
// marking to the collecting thread, which the tasks outrun: the heap grew
// to 1.5x its goal during a cycle and the mode used 1.4x stw's CPU. At 1600
// (goro-peers garbage, 2 runs each, loaded 2-vCPU VM, 2026-12-06) the
// allocating tasks pay for the marking as Go's assists make them: 64 MiB
// live: RSS 1.07x stw's (217 -> 161 MiB), CPU 1.16x, latency p99 at or
// below stw's; 256 MiB: RSS 1.01x, CPU 1.07x. 400 was between; 6400 no
// better than 1600.
constexpr int kRate = 1600;

// Precleaning (patch 0007): once the background marking has drained, the
// dirty pages are read (and protected again) and rescanned with the world
// running, at most this many times (two, then more while the dirty set
// halves), so the final stop reads, protects and rescans only the pages
// written during the last round. Without it the final stop re-protected
// every block marked during the cycle: 15-90 ms of it at 64-256 MiB live;
// with it the max pause of goro-peers garbage fell from 43 / 79 ms to
// 14 / 18 ms at 64 / 256 MiB (medians of 3, interleaved, load 4-5).
constexpr int kPrecleanRounds = 4;
// Restarting the world without waiting (patch 0009): Boehm's GC_start_world
// otherwise waits, allocation lock held, until the scheduler has run every
// restarted thread far enough to acknowledge its restart (so that a lost
// restart signal could be sent again; Linux does not lose them). On the
// loaded 2-vCPU VM that wait was up to 10-14 ms of a stop whose marking took
// a few. A thread that is slow to leave the suspend handler is waited for
// by the next stop instead, which signals it again.
constexpr bool kWaitForRestart = false;

// What the patch needs from the kernel: a userfaultfd with asynchronous
// write-protection (and PAGEMAP_SCAN, which came with it in Linux 6.7 and
// which the patch probes itself; a mismatch shows in GC_get_vdb_name).
// gc_mode_why::asked_concurrent when available, else why not.
gc_mode_why probe_kernel_write_tracking() {
  constexpr unsigned kUserModeOnly = 1;                   // UFFD_USER_MODE_ONLY
  constexpr uint64_t kWpUnpopulated = uint64_t{1} << 13;  // UFFD_FEATURE_WP_UNPOPULATED
  constexpr uint64_t kWpAsync = uint64_t{1} << 15;        // UFFD_FEATURE_WP_ASYNC
  int fd = static_cast<int>(syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK | kUserModeOnly));
  if (fd < 0) fd = static_cast<int>(syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK));
  if (fd < 0) return gc_mode_why::uffd_refused;
  uffdio_api api{};
  api.api = UFFD_API;
  api.features = kWpAsync | kWpUnpopulated;
  const bool async_wp = ioctl(fd, UFFDIO_API, &api) == 0;
  close(fd);
  return async_wp ? gc_mode_why::asked_concurrent : gc_mode_why::uffd_no_async_wp;
}
#endif

}  // namespace

const char* to_string(gc_mode m) noexcept {
  return m == gc_mode::concurrent ? "concurrent" : "stw";
}

gc_mode current_gc_mode() noexcept {
  return g_mode.load(std::memory_order_relaxed);
}

const char* gc_mode_reason() noexcept {
  switch (g_why.load(std::memory_order_relaxed)) {
    case gc_mode_why::default_mode:
      return "default";
    case gc_mode_why::asked_stw:
      return "GORO_GC_MODE=stw";
    case gc_mode_why::asked_concurrent:
      return "GORO_GC_MODE=concurrent (userfaultfd dirty pages)";
    case gc_mode_why::packaged_libgc:
      return "concurrent asked for, but goro is built with the packaged libgc "
             "(GORO_PATCHED_GC=OFF); stw";
    case gc_mode_why::uffd_refused:
      return "concurrent asked for, but userfaultfd() is refused here; stw";
    case gc_mode_why::uffd_no_async_wp:
      return "concurrent asked for, but the kernel lacks asynchronous userfaultfd "
             "write-protection (Linux 6.7+); stw";
  }
  return "?";
}

gc_mode_why gc_mode_reason_code() noexcept {
  return g_why.load(std::memory_order_relaxed);
}

namespace detail {

void choose_gc_mode() {
  const auto want = settings::text("GORO_GC_MODE");  // validated at start-up
  if (!want || *want == "stw") {
    set_reason(want ? gc_mode_why::asked_stw : gc_mode_why::default_mode);
    return;
  }
#ifndef GORO_PATCHED_GC
  set_reason(gc_mode_why::packaged_libgc);
#else
  if (const gc_mode_why why = probe_kernel_write_tracking(); why != gc_mode_why::asked_concurrent) {
    set_reason(why);
    return;
  }
  GC_set_manual_vdb_allowed(0);  // never the barrier-less manual tracker
  GC_set_time_limit(kTimeLimitMs);
  GC_set_max_prior_attempts(kPriorAttempts);
  GC_set_rate(kRate);
  GC_set_preclean_rounds(kPrecleanRounds);
  GC_set_wait_for_restart(kWaitForRestart);
  GC_enable_incremental();
  const std::string_view vdb = GC_get_vdb_name();
  if (vdb != "userfaultfd")
    fatal("heap: GORO_GC_MODE=concurrent: libgc chose the \"" + std::string(vdb) +
          "\" dirty-page tracker though userfaultfd probed usable");
  g_mode.store(gc_mode::concurrent);
  set_reason(gc_mode_why::asked_concurrent);
#endif
}

mark_cpu concurrent_mark_cpu() noexcept {
  mark_cpu m;
#ifdef GORO_PATCHED_GC
  if (current_gc_mode() != gc_mode::concurrent) return m;
  m.assist_ns = static_cast<int64_t>(GC_get_incremental_mark_ns(1));
  m.dedicated_ns = static_cast<int64_t>(GC_get_incremental_mark_ns(0));
#endif
  return m;
}

}  // namespace detail
}  // namespace goro::heap
