// What the kernel charges per 4 KiB page for the write barrier of the
// patched collector's concurrent mode (third_party/bdwgc, patches 0001 and
// 0002): userfaultfd asynchronous write-protection (UFFD_FEATURE_WP_ASYNC)
// read and re-armed with the PAGEMAP_SCAN ioctl of /proc/self/pagemap.
// No collector is involved: each benchmark maps its own anonymous memory,
// registers it the way the patch does, and times one kernel operation.
//
//   build/release/bench/uffd_wp_bench --benchmark_min_time=0.1
//       --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// (about 5 minutes on the 2-vCPU VM; BM_protect_scan has its own minimum
// time, see its registration).
//
// Benchmarks (MiB = the range; spinner = 1: a second thread of this process
// spins on the other CPU, so a TLB flush of this mm must interrupt it):
//
//   BM_null_syscall       getppid(), per call: entering and leaving the kernel.
//   BM_first_touch_fault  first write to each page of a fresh mapping: the
//                         ordinary minor fault (allocate + zero a page), what
//                         stop-the-world mode pays for a new heap page.
//   BM_wp_fault           first write to each populated, write-protected page:
//                         the fault the concurrent mode pays when the mutator
//                         writes a page the collector protected (the kernel
//                         resolves it itself, no signal, no copy).
//   BM_protect_scan       PAGEMAP_SCAN with PM_SCAN_WP_MATCHING |
//                         PM_SCAN_CHECK_WPASYNC on PAGE_IS_WRITTEN pages:
//                         reads which pages were written and protects them
//                         again, atomically. Patterns (arg "written"):
//                           0 none written, one call over the range (the walk)
//                           1 every page written, one call (one run)
//                           2 every other page written, one call (many
//                             single-page runs)
//                           3 every other page written, one call per written
//                             page (patch 0002 protects tracked runs one call
//                             each; freed blocks make them single pages)
//                           4 every other page written, read only (no
//                             PM_SCAN_WP_MATCHING: patch 0002's first pass)
//   BM_unprotect_page     UFFDIO_WRITEPROTECT without MODE_WP on one page per
//                         call (unprotecting freed blocks one by one).
//   BM_unprotect_range    the same, one call for the whole range.
//
// Counters: cpu_ns_per_page is this thread's CPU time (CLOCK_THREAD_CPUTIME_ID,
// which includes the kernel's time on its behalf) per page the operation
// touched (per written page for patterns 1-4, per page of the range for 0);
// wall_ns_per_page the same in wall time; faults_per_page the minor faults
// (getrusage) per page, which checks that each timed write faulted once.
// Iteration time is the wall time of the timed part only (manual time):
// protecting, populating and unmapping happen outside it.
//
// Where userfaultfd, asynchronous write-protection or PAGEMAP_SCAN are not
// available (kernels before 6.7, a seccomp filter, vm.unprivileged_userfaultfd
// with an old kernel) every benchmark that needs them reports an error
// instead, so the binary builds and runs everywhere.

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

// The uapi of Linux 6.7+ (linux/fs.h, linux/userfaultfd.h), repeated because
// the C library's kernel headers may be older than the running kernel.
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
constexpr std::uint64_t kFeatureWpUnpopulated = std::uint64_t{1} << 13;
constexpr std::uint64_t kFeatureWpAsync = std::uint64_t{1} << 15;

struct page_region {  // struct page_region of linux/fs.h
  std::uint64_t start;
  std::uint64_t end;
  std::uint64_t categories;
};

struct pm_scan_arg {  // struct pm_scan_arg of linux/fs.h
  std::uint64_t size;
  std::uint64_t flags;
  std::uint64_t start;
  std::uint64_t end;
  std::uint64_t walk_end;
  std::uint64_t vec;
  std::uint64_t vec_len;
  std::uint64_t max_pages;
  std::uint64_t category_inverted;
  std::uint64_t category_mask;
  std::uint64_t category_anyof_mask;
  std::uint64_t return_mask;
};

constexpr unsigned long kPagemapScan = _IOWR('f', 16, pm_scan_arg);
constexpr std::uint64_t kScanWpMatching = std::uint64_t{1} << 0;
constexpr std::uint64_t kScanCheckWpAsync = std::uint64_t{1} << 1;
constexpr std::uint64_t kPageIsWritten = std::uint64_t{1} << 1;
constexpr std::uint64_t kPageIsPresent = std::uint64_t{1} << 3;
constexpr std::uint64_t kPageIsSwapped = std::uint64_t{1} << 4;

constexpr std::size_t kPage = 4096;
// Regions one PAGEMAP_SCAN call may return: the patch's UFFD_VDB_VEC_LEN.
constexpr std::size_t kVecLen = 1024;

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

// An anonymous mapping of 4 KiB pages (no THP), optionally registered with
// an asynchronous write-protecting userfaultfd as patch 0001 registers a heap
// section, plus a /proc/self/pagemap descriptor for PAGEMAP_SCAN.
class wp_area {
 public:
  wp_area() = default;
  wp_area(const wp_area&) = delete;
  wp_area& operator=(const wp_area&) = delete;
  ~wp_area() { close_all(); }

  // Maps `bytes` (a multiple of kPage); with `track`, opens the userfaultfd,
  // registers the mapping and probes PAGEMAP_SCAN. "" on success, else why not.
  std::string open(std::size_t bytes, bool track) {
    bytes_ = bytes;
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return errno_text("mmap");
    base_ = static_cast<char*>(p);
    madvise(base_, bytes_, MADV_NOHUGEPAGE);  // per-page faults; may be absent
    if (!track) return "";
#ifdef __NR_userfaultfd
    uffd_ =
        static_cast<int>(syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY));
    if (uffd_ < 0) uffd_ = static_cast<int>(syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK));
#else
    errno = ENOSYS;
#endif
    if (uffd_ < 0) return errno_text("userfaultfd unavailable (syscall)");
    uffdio_api api{};
    api.api = UFFD_API;
    api.features = kFeatureWpAsync | kFeatureWpUnpopulated;
    if (ioctl(uffd_, UFFDIO_API, &api) != 0)
      return errno_text("userfaultfd asynchronous write-protection unavailable (UFFDIO_API)");
    uffdio_register reg{};
    reg.range.start = reinterpret_cast<std::uintptr_t>(base_);
    reg.range.len = bytes_;
    reg.mode = UFFDIO_REGISTER_MODE_WP;
    if (ioctl(uffd_, UFFDIO_REGISTER, &reg) != 0)
      return errno_text("userfaultfd write-protect registration failed (UFFDIO_REGISTER)");
    pagemap_ = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (pagemap_ < 0) return errno_text("/proc/self/pagemap");
    vec_.resize(kVecLen);
    std::size_t runs = 0;
    if (scan(base_, base_ + kPage, kScanCheckWpAsync, runs) < 0)
      return errno_text("PAGEMAP_SCAN unavailable (Linux 6.7+)");
    return "";
  }

  char* base() const {
    return base_;
  }
  std::size_t bytes() const {
    return bytes_;
  }
  std::size_t pages() const {
    return bytes_ / kPage;
  }

  // Writes one byte to every `stride`-th page.
  void write_pages(std::size_t stride) {
    for (std::size_t i = 0; i < pages(); i += stride)
      static_cast<volatile char*>(base_)[i * kPage] = static_cast<char>(i);
  }

  // UFFDIO_WRITEPROTECT over [p, p + len); `protect` false unprotects.
  bool writeprotect(char* p, std::size_t len, bool protect) {
    uffdio_writeprotect wp{};
    wp.range.start = reinterpret_cast<std::uintptr_t>(p);
    wp.range.len = len;
    wp.mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0;
    return ioctl(uffd_, UFFDIO_WRITEPROTECT, &wp) == 0;
  }

  // PAGEMAP_SCAN of the written, present pages of [from, to) with `flags`,
  // calling again while the result vector fills. The pages reported, -1 on
  // an error or a range that is not registered; `runs` gets the regions.
  long scan(char* from, char* to, std::uint64_t flags, std::size_t& runs) {
    pm_scan_arg arg{};
    arg.size = sizeof(arg);
    arg.flags = flags;
    arg.start = reinterpret_cast<std::uintptr_t>(from);
    arg.end = reinterpret_cast<std::uintptr_t>(to);
    arg.vec = reinterpret_cast<std::uintptr_t>(vec_.data());
    arg.vec_len = vec_.size();
    arg.category_mask = kPageIsWritten;
    arg.category_anyof_mask = kPageIsPresent | kPageIsSwapped;  // as patch 0002
    arg.return_mask = kPageIsWritten;
    long pages = 0;
    for (;;) {
      long n = ioctl(pagemap_, kPagemapScan, &arg);
      if (n < 0 || arg.walk_end <= arg.start || arg.walk_end > arg.end) return -1;
      for (long i = 0; i < n; i++) {
        const auto& r = vec_[static_cast<std::size_t>(i)];
        pages += static_cast<long>((r.end - r.start) / kPage);
      }
      runs += static_cast<std::size_t>(n);
      if (arg.walk_end == arg.end) return pages;
      // The vector was full. Linux 6.18 may leave walk_end at a 2 MiB
      // boundary before the end of the last region returned (seen when the
      // vector fills on the range's last written page); resuming there
      // reports those regions again when they were only read.
      arg.start = arg.walk_end;
      if (n > 0 && vec_[static_cast<std::size_t>(n - 1)].end > arg.start)
        arg.start = vec_[static_cast<std::size_t>(n - 1)].end;
      if (arg.start >= arg.end) return pages;
    }
  }

 private:
  void close_all() {
    if (pagemap_ >= 0) close(pagemap_);
    if (uffd_ >= 0) close(uffd_);
    if (base_ != nullptr) munmap(base_, bytes_);
  }

  char* base_ = nullptr;
  std::size_t bytes_ = 0;
  int uffd_ = -1;
  int pagemap_ = -1;
  std::vector<page_region> vec_;
};

long minor_faults() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return ru.ru_minflt;
}

std::int64_t clock_ns(clockid_t c) {
  timespec ts{};
  clock_gettime(c, &ts);
  return std::int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// Times the parts of an iteration that are the operation, and turns the
// totals into the per-page counters.
class page_timer {
 public:
  void start() {
    faults_ = minor_faults();
    wall_ = clock_ns(CLOCK_MONOTONIC);
    cpu_ = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  }
  void stop(benchmark::State& state, std::size_t pages) {
    const std::int64_t cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu_;
    const std::int64_t wall = clock_ns(CLOCK_MONOTONIC) - wall_;
    total_faults_ += minor_faults() - faults_;
    total_cpu_ += cpu;
    total_wall_ += wall;
    total_pages_ += pages;
    state.SetIterationTime(static_cast<double>(wall) * 1e-9);
  }
  void report(benchmark::State& state) const {
    if (total_pages_ == 0) return;
    const auto n = static_cast<double>(total_pages_);
    state.counters["cpu_ns_per_page"] = static_cast<double>(total_cpu_) / n;
    state.counters["wall_ns_per_page"] = static_cast<double>(total_wall_) / n;
    state.counters["faults_per_page"] = static_cast<double>(total_faults_) / n;
  }

 private:
  long faults_ = 0;
  std::int64_t wall_ = 0;
  std::int64_t cpu_ = 0;
  long total_faults_ = 0;
  std::int64_t total_cpu_ = 0;
  std::int64_t total_wall_ = 0;
  std::size_t total_pages_ = 0;
};

// Pins this thread to one CPU and, when asked, runs a thread of the same
// process spinning on another, so that this mm is live there and a TLB flush
// must interrupt it (an IPI), as it must when a collector thread protects
// pages while mutators run. Without the spinner this thread is pinned alone
// (the other CPU's lazy TLB is not flushed). Restores the affinity at the end.
class cpu_setup {
 public:
  std::string start(bool spinner) {
    if (sched_getaffinity(0, sizeof(saved_), &saved_) != 0) return errno_text("sched_getaffinity");
    int cpus[2] = {-1, -1};
    int found = 0;
    for (int c = 0; c < CPU_SETSIZE && found < 2; c++)
      if (CPU_ISSET(c, &saved_)) cpus[found++] = c;
    if (found < 2 && spinner) return "the spinner variant needs two CPUs in the affinity mask";
    cpu_set_t mine;
    CPU_ZERO(&mine);
    CPU_SET(cpus[0], &mine);
    if (sched_setaffinity(0, sizeof(mine), &mine) != 0) return errno_text("sched_setaffinity");
    pinned_ = true;
    if (!spinner) return "";
    const int other = cpus[1];
    spin_ = std::thread([this, other] {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(other, &set);
      pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
      running_.store(true, std::memory_order_release);
      while (!stop_.load(std::memory_order_relaxed)) {
      }
    });
    while (!running_.load(std::memory_order_acquire)) std::this_thread::yield();
    return "";
  }
  ~cpu_setup() {
    stop_.store(true, std::memory_order_relaxed);
    if (spin_.joinable()) spin_.join();
    if (pinned_) sched_setaffinity(0, sizeof(saved_), &saved_);
  }

 private:
  cpu_set_t saved_{};
  bool pinned_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<bool> running_{false};
  std::thread spin_;
};

std::size_t range_bytes(const benchmark::State& state) {
  return static_cast<std::size_t>(state.range(0)) << 20;
}

// Reports `why` as the benchmark's error; false if there is none.
bool skip_if(benchmark::State& state, const std::string& why) {
  if (why.empty()) return false;
  state.SkipWithError(why.c_str());
  return true;
}

// The floor under every operation here: one system call that does nothing
// (getppid), i.e. entering and leaving the kernel, per "page" (per call).
void BM_null_syscall(benchmark::State& state) {
  cpu_setup cpus;
  if (skip_if(state, cpus.start(state.range(0) != 0))) return;
  constexpr std::size_t kCalls = 1000;
  page_timer t;
  for (auto _ : state) {
    t.start();
    for (std::size_t i = 0; i < kCalls; i++) benchmark::DoNotOptimize(syscall(SYS_getppid));
    t.stop(state, kCalls);
  }
  t.report(state);
}

void BM_first_touch_fault(benchmark::State& state) {
  cpu_setup cpus;
  if (skip_if(state, cpus.start(state.range(1) != 0))) return;
  page_timer t;
  for (auto _ : state) {
    wp_area area;
    if (skip_if(state, area.open(range_bytes(state), false))) break;
    t.start();
    area.write_pages(1);
    t.stop(state, area.pages());
  }
  t.report(state);
}

void BM_wp_fault(benchmark::State& state) {
  cpu_setup cpus;
  if (skip_if(state, cpus.start(state.range(1) != 0))) return;
  wp_area area;
  if (skip_if(state, area.open(range_bytes(state), true))) return;
  area.write_pages(1);  // populate
  page_timer t;
  bool checked = false;
  for (auto _ : state) {
    if (!area.writeprotect(area.base(), area.bytes(), true)) {
      state.SkipWithError("UFFDIO_WRITEPROTECT failed");
      break;
    }
    if (!checked) {  // the pages are protected: a scan finds none written
      std::size_t runs = 0;
      if (area.scan(area.base(), area.base() + area.bytes(), kScanCheckWpAsync, runs) != 0) {
        state.SkipWithError("pages still written after UFFDIO_WRITEPROTECT");
        break;
      }
      checked = true;
    }
    t.start();
    area.write_pages(1);
    t.stop(state, area.pages());
  }
  t.report(state);
}

enum scan_pattern : int {
  kNoneWritten = 0,
  kAllWritten = 1,
  kEveryOther = 2,
  kEveryOtherPerPage = 3,
  kEveryOtherReadOnly = 4,
};

void BM_protect_scan(benchmark::State& state) {
  const auto pattern = static_cast<scan_pattern>(state.range(1));
  cpu_setup cpus;
  if (skip_if(state, cpus.start(state.range(2) != 0))) return;
  wp_area area;
  if (skip_if(state, area.open(range_bytes(state), true))) return;
  area.write_pages(1);  // populate: the scan's anyof mask skips empty pages
  const std::size_t stride = pattern == kAllWritten ? 1 : 2;
  const std::size_t written = pattern == kNoneWritten ? 0 : (area.pages() + stride - 1) / stride;
  const std::uint64_t flags =
      kScanCheckWpAsync | (pattern == kEveryOtherReadOnly ? 0 : kScanWpMatching);
  char* const begin = area.base();
  char* const end = begin + area.bytes();
  page_timer t;
  std::size_t runs = 0;
  std::size_t scans = 0;
  for (auto _ : state) {
    // Untimed: protect everything, then write the pattern (wp faults).
    if (!area.writeprotect(begin, area.bytes(), true)) {
      state.SkipWithError("UFFDIO_WRITEPROTECT failed");
      break;
    }
    if (pattern != kNoneWritten) area.write_pages(stride);
    long found = 0;
    t.start();
    if (pattern == kEveryOtherPerPage) {
      for (char* p = begin; p < end && found >= 0; p += stride * kPage) {
        const long n = area.scan(p, p + kPage, flags, runs);
        found = n < 0 ? -1 : found + n;
      }
    } else {
      found = area.scan(begin, end, flags, runs);
    }
    t.stop(state, pattern == kNoneWritten ? area.pages() : written);
    scans++;
    if (found != static_cast<long>(written)) {
      state.SkipWithError("PAGEMAP_SCAN found another number of written pages than were written");
      break;
    }
  }
  t.report(state);
  if (scans > 0)
    state.counters["runs_per_scan"] = static_cast<double>(runs) / static_cast<double>(scans);
}

// Unprotecting a protected range: one UFFDIO_WRITEPROTECT call per page
// (what unprotecting scattered freed blocks costs) or one for the range.
void unprotect(benchmark::State& state, bool per_page) {
  cpu_setup cpus;
  if (skip_if(state, cpus.start(state.range(1) != 0))) return;
  wp_area area;
  if (skip_if(state, area.open(range_bytes(state), true))) return;
  area.write_pages(1);
  page_timer t;
  for (auto _ : state) {
    if (!area.writeprotect(area.base(), area.bytes(), true)) {
      state.SkipWithError("UFFDIO_WRITEPROTECT failed");
      break;
    }
    bool ok = true;
    t.start();
    if (per_page) {
      for (std::size_t i = 0; i < area.pages() && ok; i++)
        ok = area.writeprotect(area.base() + i * kPage, kPage, false);
    } else {
      ok = area.writeprotect(area.base(), area.bytes(), false);
    }
    t.stop(state, area.pages());
    if (!ok) {
      state.SkipWithError("UFFDIO_WRITEPROTECT (unprotect) failed");
      break;
    }
  }
  t.report(state);
}

void BM_unprotect_page(benchmark::State& state) {
  unprotect(state, true);
}
void BM_unprotect_range(benchmark::State& state) {
  unprotect(state, false);
}

// Ranges 1, 8 and 64 MiB: from a few heap blocks' worth to a heap section
// larger than the caches and the TLB.
const std::vector<std::int64_t> kMiB = {1, 8, 64};
const std::vector<std::int64_t> kSpinner = {0, 1};

// The per-page benchmarks' arguments: each range, with and without a second
// thread spinning on the other CPU.
void each_range_with_and_without_spinner(benchmark::internal::Benchmark* b) {
  b->ArgsProduct({kMiB, kSpinner})
      ->ArgNames({"MiB", "spinner"})
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_null_syscall)->ArgsProduct({kSpinner})->ArgNames({"spinner"})->UseManualTime();
BENCHMARK(BM_first_touch_fault)->Apply(each_range_with_and_without_spinner);
BENCHMARK(BM_wp_fault)->Apply(each_range_with_and_without_spinner);
BENCHMARK(BM_protect_scan)
    ->ArgsProduct({kMiB,
                   {kNoneWritten, kAllWritten, kEveryOther, kEveryOtherPerPage,
                    kEveryOtherReadOnly},
                   kSpinner})
    ->ArgNames({"MiB", "written", "spinner"})
    // The untimed part (the faults that write the pattern) costs up to 100x
    // the timed scan: a shorter minimum keeps a 64 MiB run to seconds.
    ->MinTime(0.01)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_unprotect_page)->Apply(each_range_with_and_without_spinner);
BENCHMARK(BM_unprotect_range)->Apply(each_range_with_and_without_spinner);

}  // namespace

BENCHMARK_MAIN();
