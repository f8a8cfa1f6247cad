// pprof profiles (debug/cpu_profile.hpp, debug/heap_profile.hpp), each read
// back with `go tool pprof` (golang-go): the expected functions must appear.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "debug/block_profile.hpp"
#include "debug/cpu_profile.hpp"
#include "debug/heap_profile.hpp"
#include "debug/task_dump.hpp"
#include "goro.hpp"
#include "tests/test_support.hpp"

namespace {

using goro::test::procs;

bool have_go() {
  static const bool ok = std::system("go version >/dev/null 2>&1") == 0;
  return ok;
}

// Runs `go tool pprof <args> <file>` on `profile`; returns rc and output.
std::pair<int, std::string> pprof(const std::string& profile, const std::string& args,
                                  const std::string& name) {
  // The process id in the name: copies of this test run side by side
  // (ctest -j, repeated runs) must not read each other's files.
  const std::string path = testing::TempDir() + std::to_string(::getpid()) + "-" + name;
  std::ofstream(path, std::ios::binary) << profile;
  const std::string cmd = "go tool pprof -symbolize=none " + args + " " + path + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int rc = pclose(p);
  std::remove(path.c_str());
  return {rc, out};
}

[[gnu::noinline]] uint64_t goro_test_spin_cpu(std::chrono::milliseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  uint64_t x = 1;
  while (std::chrono::steady_clock::now() < end)
    for (int i = 0; i < 10000; ++i) x = x * 6364136223846793005ull + 1442695040888963407ull;
  return x;
}

goro::task<uint64_t> spinning_task() {
  co_return goro_test_spin_cpu(std::chrono::milliseconds(600));
}

TEST(CpuProfile, SamplesTheBusyFunctionWithItsTask) {
#if defined(__SANITIZE_THREAD__)
  // TSan delivers SIGPROF late, from its own interceptors: every sample's
  // innermost frames are TSan's and the signal handler's.
  GTEST_SKIP() << "SIGPROF is deferred by ThreadSanitizer";
#endif
  if (!have_go()) GTEST_SKIP() << "no go toolchain";
  std::string prof;
  goro::run(
      [](std::string* prof) -> goro::task<void> {
        goro::debug::start_cpu_profile(100);
        EXPECT_TRUE(goro::debug::cpu_profile_running());
        EXPECT_THROW(goro::debug::start_cpu_profile(100), std::logic_error);
        const uint64_t x = co_await goro::spawn(spinning_task());
        EXPECT_NE(x, 0u);
        *prof = goro::debug::stop_cpu_profile();
      }(&prof),
      procs(2));
  EXPECT_FALSE(goro::debug::cpu_profile_running());
  auto [rc, top] = pprof(prof, "-top", "cpu.pb.gz");
  ASSERT_EQ(rc, 0) << top;
  EXPECT_NE(top.find("Type: cpu"), std::string::npos) << top;
  EXPECT_NE(top.find("goro_test_spin_cpu"), std::string::npos) << top;
  // The leaf of a sample is the interrupted function, never the profiler's
  // own frames (signal handler, stack capture, trampoline).
  EXPECT_EQ(top.find("capture"), std::string::npos) << top;
  EXPECT_EQ(top.find("on_sigprof"), std::string::npos) << top;
  EXPECT_EQ(top.find("__restore_rt"), std::string::npos) << top;
  // The busy function holds nearly all the flat time: the first row.
  const std::size_t header = top.find("flat%");
  ASSERT_NE(header, std::string::npos) << top;
  const std::size_t row = top.find('\n', header) + 1;
  EXPECT_NE(top.substr(row, top.find('\n', row) - row).find("goro_test_spin_cpu"),
            std::string::npos)
      << top;
  auto [rc2, tags] = pprof(prof, "-tags", "cpu.pb.gz");
  ASSERT_EQ(rc2, 0) << tags;
  EXPECT_NE(tags.find("task_created_by"), std::string::npos) << tags;
  EXPECT_NE(tags.find("debug_profiles_test.cpp"), std::string::npos) << tags;
}

TEST(CpuProfile, RejectsBadRatesAndStopWithoutStart) {
  EXPECT_THROW(goro::debug::start_cpu_profile(0), std::invalid_argument);
  EXPECT_THROW(goro::debug::start_cpu_profile(5000), std::invalid_argument);
  EXPECT_THROW(goro::debug::stop_cpu_profile(), std::logic_error);
}

}  // namespace

namespace heapprof {

struct node {
  node* next;
  char pad[48];
};

// Allocates `n` nodes; returns them as a list (kept alive by the caller).
[[gnu::noinline]] node* goro_test_retained_nodes(int n) {
  node* head = nullptr;
  for (int i = 0; i < n; ++i) {
    node* x = goro::gc_new<node>();
    x->next = head;
    head = x;
  }
  return head;
}

// A node above the small size classes: gc_new takes the exact-size path
// (heap/exact_alloc.cpp), which the sampler missed.
struct large_node {
  large_node* next;
  char pad[8 * 1024];
};

[[gnu::noinline]] large_node* goro_test_retained_large_nodes(int n) {
  large_node* head = nullptr;
  for (int i = 0; i < n; ++i) {
    large_node* x = goro::gc_new<large_node>();
    x->next = head;
    head = x;
  }
  return head;
}

// Allocates `n` nodes that become garbage at once.
[[gnu::noinline]] uint64_t goro_test_garbage_nodes(int n) {
  uint64_t sum = 0;
  for (int i = 0; i < n; ++i) {
    node* x = goro::gc_new<node>();
    sum += reinterpret_cast<uintptr_t>(x) & 0xff;
  }
  return sum;
}

TEST(HeapProfile, AttributesAllocatedAndInUseBytesToTheirFunctions) {
#if defined(__SANITIZE_THREAD__)
  // In-use bytes come from collections (Boehm's disappearing links), and
  // TSan defers Boehm's stop-the-world signals: collections stall.
  GTEST_SKIP() << "collections do not run reliably under ThreadSanitizer";
#endif
  if (!have_go()) GTEST_SKIP() << "no go toolchain";
  std::string heap, allocs;
  goro::run(
      [](std::string* heap, std::string* allocs) -> goro::task<void> {
        // 64 bytes x 400k = 25 MiB retained, 100 MiB garbage.
        node* keep = goro_test_retained_nodes(400'000);
        // 8 KiB x 2000 = 16 MiB retained in large objects.
        large_node* keep_large = goro_test_retained_large_nodes(2000);
        EXPECT_NE(goro_test_garbage_nodes(1'600'000), 0u);
        goro::gc();
        *heap = goro::debug::heap_profile();
        *allocs = goro::debug::allocs_profile();
        int n = 0;
        for (node* x = keep; x; x = x->next) ++n;
        EXPECT_EQ(n, 400'000);
        n = 0;
        for (large_node* x = keep_large; x; x = x->next) ++n;
        EXPECT_EQ(n, 2000);
        co_return;
      }(&heap, &allocs),
      procs(1));
  auto [rc, inuse] = pprof(heap, "-top", "heap.pb.gz");
  ASSERT_EQ(rc, 0) << inuse;
  EXPECT_NE(inuse.find("Type: inuse_space"), std::string::npos) << inuse;
  EXPECT_NE(inuse.find("goro_test_retained_nodes"), std::string::npos) << inuse;
  EXPECT_NE(inuse.find("goro_test_retained_large_nodes"), std::string::npos) << inuse;
  auto [rc2, alloc] = pprof(allocs, "-top", "allocs.pb.gz");
  ASSERT_EQ(rc2, 0) << alloc;
  EXPECT_NE(alloc.find("Type: alloc_space"), std::string::npos) << alloc;
  EXPECT_NE(alloc.find("goro_test_garbage_nodes"), std::string::npos) << alloc;
  EXPECT_NE(alloc.find("goro_test_retained_nodes"), std::string::npos) << alloc;
  // The garbage was 4x the retained bytes: the estimate must say roughly so.
  auto [rc3, raw] = pprof(allocs, "-top -sample_index=alloc_space -unit=MB", "allocs.pb.gz");
  ASSERT_EQ(rc3, 0) << raw;
  auto mb_of = [&](const std::string& fn) {
    const std::size_t at = raw.find(fn);
    if (at == std::string::npos) return -1.0;
    const std::size_t line = raw.rfind('\n', at) + 1;
    return std::atof(raw.c_str() + line + raw.substr(line).find_first_not_of(' '));
  };
  const double garbage = mb_of("goro_test_garbage_nodes"),
               retained = mb_of("goro_test_retained_nodes");
  EXPECT_GT(garbage, 60) << raw;
  EXPECT_LT(garbage, 160) << raw;
  EXPECT_GT(retained, 12) << raw;
  EXPECT_LT(retained, 40) << raw;
  const double large = mb_of("goro_test_retained_large_nodes");
  EXPECT_GT(large, 8) << raw;
  EXPECT_LT(large, 32) << raw;
}

TEST(HeapProfile, SampledObjectsFreedExplicitlyAreUnwatchedFirst) {
  // gc_allocator containers give storage of 512 bytes and more back with
  // GC_FREE. A sampled one stayed watched (a Boehm disappearing link), and
  // a later collection read the mark bit of the freed, reused or unmapped
  // block: HeapConcurrency crashed 3 of 3 runs with the default rate.
  // Sample every hand-out, free explicitly, collect, and the heap profile
  // still counts the freed samples.
  goro::heap::thread_attachment attach;
  const int64_t old = goro::debug::set_memory_profile_rate(1);
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 200; ++i) {
      goro::gc_vector<uint64_t> v;
      for (uint64_t k = 0; k < 64u + static_cast<uint64_t>(i % 7) * 512u; ++k) v.push_back(k);
      ASSERT_EQ(v[63], 63u);
    }
    goro::gc();
  }
  const std::string profile = goro::debug::allocs_profile();
  goro::debug::set_memory_profile_rate(old);
  EXPECT_FALSE(profile.empty());
}

// Large enough for the exact-size path, each one a hand-out the sampler
// sees (heap/alloc_sample.hpp); the sink keeps them from being optimised out.
struct large_block {
  char bytes[16 * 1024];
};
large_block* volatile g_sink = nullptr;

TEST(HeapProfile, AChildForkedWhileAnotherThreadSamplesCanSample) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "ThreadSanitizer does not support fork() from a multi-threaded process";
#endif
  // The sampler's lock, held by another thread at the fork, stayed locked
  // in the child, whose first sampled allocation then waited forever. With
  // every hand-out sampled and a thread sampling large blocks without
  // pause, some of 80 forks (4 of 40 in one run) hung before the fork handlers took the lock
  // across the fork.
  goro::heap::thread_attachment attach;
  const int64_t old = goro::debug::set_memory_profile_rate(1);
  std::atomic<bool> stop{false};
  std::thread sampler([&] {
    goro::heap::thread_attachment a;
    while (!stop.load(std::memory_order_relaxed)) g_sink = goro::gc_new<large_block>();
  });
  int hung = 0, failed = 0;
  for (int i = 0; i < 80; ++i) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      for (int k = 0; k < 16; ++k) g_sink = goro::gc_new<large_block>();
      _exit(0);
    }
    int st = 0;
    pid_t done = 0;
    // A child that has not exited in 30 s is stuck (it needs milliseconds).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while ((done = waitpid(pid, &st, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (done == 0) {
      ::kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      ++hung;
    } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      ++failed;
    }
  }
  stop.store(true);
  sampler.join();
  goro::debug::set_memory_profile_rate(old);
  EXPECT_EQ(hung, 0) << "children stuck in a sampled allocation";
  EXPECT_EQ(failed, 0);
}

TEST(HeapProfile, RateIsValidated) {
  EXPECT_THROW(goro::debug::set_memory_profile_rate(-1), std::invalid_argument);
  const int64_t old = goro::debug::set_memory_profile_rate(1 << 20);
  EXPECT_EQ(old, goro::debug::kDefaultMemProfileRate);
  EXPECT_EQ(goro::debug::set_memory_profile_rate(old), 1 << 20);
}

}  // namespace heapprof

namespace blockprof {

// Holds `m` from before `locked` is closed until `release` is.
goro::task<void> goro_test_lock_holder(goro::mutex* m, goro::chan<int> locked,
                                       goro::chan<int> release) {
  co_await m->lock();
  locked.close();
  co_await release.recv();
  m->unlock();
}

// Both waiters parked: the block and mutex profiles must see them wait
// however late a loaded machine runs them (a sleep was not enough: the
// waiter sometimes ran after the holder had let go).
goro::task<void> wait_for_waiters() {
  bool ok = co_await goro::test::yield_until([] {
    int mutex = 0, recv = 0;  // the lock waiter; the channel waiter and the holder
    for (const auto& r : goro::debug::task_records()) {
      mutex += r.state == "mutex";
      recv += r.state == "chan receive";
    }
    return mutex == 1 && recv == 2;
  });
  EXPECT_TRUE(ok) << "the lock and channel waiters never both parked";
}

goro::task<void> goro_test_lock_waiter(goro::mutex* m) {
  co_await m->lock();
  m->unlock();
}

goro::task<int> goro_test_chan_waiter(goro::chan<int> ch) {
  auto v = co_await ch.recv();
  co_return v.value_or(0);
}

// A runtime where one task waits 20 ms or more on a goro::mutex
// (goro_test_lock_waiter) and one on a channel receive
// (goro_test_chan_waiter); then the block and mutex profiles.
void run_lock_and_chan_waiters(std::string* block, std::string* mutex) {
  goro::run(
      [](std::string* block, std::string* mutex) -> goro::task<void> {
        goro::mutex m;
        goro::chan<int> ch, locked, release;
        auto h1 = goro::spawn(goro_test_lock_holder(&m, locked, release));
        co_await locked.recv();
        auto h2 = goro::spawn(goro_test_lock_waiter(&m));
        auto h3 = goro::spawn(goro_test_chan_waiter(ch));
        co_await wait_for_waiters();
        co_await goro::sleep_for(std::chrono::milliseconds(20));
        release.close();
        co_await ch.send(7);
        EXPECT_EQ(co_await std::move(h3), 7);
        co_await std::move(h1);
        co_await std::move(h2);
        *block = goro::debug::block_profile();
        *mutex = goro::debug::mutex_profile();
      }(block, mutex),
      procs(2));
}

TEST(BlockProfile, BlockAndMutexProfilesNameTheWaitingTasks) {
  if (!have_go()) GTEST_SKIP() << "no go toolchain";
  std::string block, mutex;
  EXPECT_EQ(goro::debug::set_block_profile_rate(1), 0);
  EXPECT_EQ(goro::debug::set_mutex_profile_fraction(1), 0);
  EXPECT_EQ(goro::debug::set_mutex_profile_fraction(-1), 1);
  run_lock_and_chan_waiters(&block, &mutex);
  goro::debug::set_block_profile_rate(0);
  goro::debug::set_mutex_profile_fraction(0);
  auto [rc, b] = pprof(block, "-top -nodefraction=0", "block.pb.gz");
  ASSERT_EQ(rc, 0) << b;
  EXPECT_NE(b.find("Type: delay"), std::string::npos) << b;
  EXPECT_NE(b.find("goro_test_chan_waiter"), std::string::npos) << b;
  EXPECT_NE(b.find("goro_test_lock_waiter"), std::string::npos) << b;
  auto [rc2, mu] = pprof(mutex, "-top -nodefraction=0", "mutex.pb.gz");
  ASSERT_EQ(rc2, 0) << mu;
  EXPECT_NE(mu.find("goro_test_lock_waiter"), std::string::npos) << mu;
  EXPECT_EQ(mu.find("goro_test_chan_waiter"), std::string::npos) << mu;
}

// Go's knobs read back, and off (0, the default) means an empty profile:
// a wait while off is not recorded.
TEST(BlockProfile, RatesReadBackAndOffRecordsNothing) {
  EXPECT_EQ(goro::debug::block_profile_rate(), 0);
  EXPECT_EQ(goro::debug::mutex_profile_fraction(), 0);
  EXPECT_EQ(goro::debug::set_block_profile_rate(-5), 0);  // <= 0: off, as Go
  EXPECT_EQ(goro::debug::block_profile_rate(), 0);
  EXPECT_EQ(goro::debug::set_block_profile_rate(1000), 0);
  EXPECT_EQ(goro::debug::block_profile_rate(), 1000);
  EXPECT_EQ(goro::debug::set_block_profile_rate(0), 1000);
  EXPECT_EQ(goro::debug::set_mutex_profile_fraction(5), 0);
  EXPECT_EQ(goro::debug::mutex_profile_fraction(), 5);
  EXPECT_EQ(goro::debug::set_mutex_profile_fraction(-1), 5);  // negative: only reads
  EXPECT_EQ(goro::debug::set_mutex_profile_fraction(0), 5);
  // Profiles are cumulative over the process (as Go's): what a test run
  // before this one in the same process recorded stays. Waits while off
  // must add nothing to it.
  const std::string block_before = goro::debug::block_profile();
  const std::string mutex_before = goro::debug::mutex_profile();
  std::string block, mutex;
  run_lock_and_chan_waiters(&block, &mutex);
  if (!have_go()) GTEST_SKIP() << "no go toolchain to read the profiles";
  // The totals line ("Showing nodes accounting for X, ... of Y total").
  auto total = [](const std::string& profile) {
    auto [rc, top] = pprof(profile, "-top", "off.pb.gz");
    EXPECT_EQ(rc, 0) << top;
    const auto at = top.find("Showing nodes accounting for");
    return at == std::string::npos ? top : top.substr(at, top.find('\n', at) - at);
  };
  EXPECT_EQ(total(block), total(block_before));
  EXPECT_EQ(total(mutex), total(mutex_before));
}

}  // namespace blockprof
