// The userfaultfd VDB of goro's patched libgc (third_party/bdwgc/patches):
// which heap pages the collector is told were written, and that the
// collector's correctness depends on that report (a page dropped from it on
// purpose makes a minor collection free a reachable object).
//
// White-box: GC_read_dirty and GC_page_was_dirty are libgc-internal (hidden
// visibility, so linkable from a static libgc only); they are called with the
// allocation lock held, as the collector does.
#define GC_THREADS 1
#include <fcntl.h>
#include <gc/gc.h>
#include <gc/gc_mark.h>
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern "C" {
struct hblk;
void GC_read_dirty(int output_unneeded);  // GC_bool is int
int GC_page_was_dirty(struct hblk* h);
}

namespace {

constexpr std::size_t kPage = 4096;  // HBLKSIZE and the page size on x86-64

bool uffd_vdb_on() {
  return std::string_view(GC_get_vdb_name()) == "userfaultfd";
}

// Makes userfaultfd() fail with EPERM, as a seccomp policy or
// vm.unprivileged_userfaultfd=0 on an older kernel would.
void refuse_userfaultfd() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_userfaultfd, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(std::size(filter)), filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    std::perror("seccomp");
    std::_Exit(3);
  }
}

constexpr const char* kRefuseEnv = "BDWGC_TEST_REFUSE_USERFAULTFD";

class IncrementalEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (std::getenv(kRefuseEnv) != nullptr) refuse_userfaultfd();
    GC_INIT();
    GC_set_full_freq(100000);  // minor collections only, unless asked
    GC_enable_incremental();
  }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new IncrementalEnvironment);

struct DirtyQuery {
  char* base;
  std::size_t pages;
  std::vector<bool> dirty;
};

// Reads (and resets) the dirty bits as a collection does, then reports the
// pages of [base, base + pages * kPage) that were written since the last read.
std::vector<bool> read_dirty(char* base, std::size_t pages) {
  DirtyQuery q{base, pages, {}};
  GC_call_with_alloc_lock(
      [](void* arg) -> void* {
        auto* q = static_cast<DirtyQuery*>(arg);
        GC_read_dirty(0);
        for (std::size_t i = 0; i < q->pages; ++i)
          q->dirty.push_back(GC_page_was_dirty(reinterpret_cast<hblk*>(q->base + i * kPage)) != 0);
        return nullptr;
      },
      &q);
  return q.dirty;
}

std::vector<std::size_t> dirty_indices(const std::vector<bool>& d) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < d.size(); ++i)
    if (d[i]) out.push_back(i);
  return out;
}

// A large object starts on a page (block) boundary and owns its pages.
char* new_object_pages(std::size_t pages, bool may_hold_pointers) {
  auto* p = static_cast<char*>(may_hold_pointers ? GC_MALLOC(pages * kPage)
                                                 : GC_MALLOC_ATOMIC(pages * kPage));
  EXPECT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % kPage, 0u);
  return p;
}

void mark(void* p) {
  GC_call_with_alloc_lock(
      [](void* q) -> void* {
        GC_set_mark_bit(q);
        return nullptr;
      },
      p);
}

// Pages whose writes the VDB tracks: those of an in-use block that may hold
// pointers and has a marked object (patch 0002); other written pages are
// never protected again, so they read as dirty at every read.
char* new_pages(std::size_t pages) {
  char* p = new_object_pages(pages, true);
  mark(p);
  return p;
}

class UffdVdb : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!uffd_vdb_on())
      GTEST_SKIP() << "the userfaultfd VDB is not in use (vdb: " << GC_get_vdb_name()
                   << "); it needs Linux 6.7+ and userfaultfd allowed";
    GC_disable();  // no collection may consume the dirty bits meanwhile
  }
  void TearDown() override {
    if (uffd_vdb_on()) GC_enable();
  }
};

TEST_F(UffdVdb, StoreAndReadSyscallAreDirtyUntouchedAndLoadedAreNot) {
  char* p = new_pages(8);
  p[5 * kPage] = 1;  // populated before the reads: stays clean below
  read_dirty(p, 8);
  EXPECT_EQ(dirty_indices(read_dirty(p, 8)), std::vector<std::size_t>{});

  *reinterpret_cast<volatile char*>(p + 1 * kPage + 100) = 1;  // plain store
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_EQ(write(fds[1], "hello", 5), 5);
  ASSERT_EQ(read(fds[0], p + 3 * kPage + 7, 5), 5);  // the kernel writes the page
  close(fds[0]);
  close(fds[1]);
  EXPECT_EQ(std::memcmp(p + 3 * kPage + 7, "hello", 5), 0);
  volatile char sink = p[5 * kPage] + p[6 * kPage];  // loads only
  (void)sink;

  EXPECT_EQ(dirty_indices(read_dirty(p, 8)), (std::vector<std::size_t>{1, 3}));
  // The read re-protected them: nothing is written since.
  EXPECT_EQ(dirty_indices(read_dirty(p, 8)), std::vector<std::size_t>{});
  p[3 * kPage] = 2;
  EXPECT_EQ(dirty_indices(read_dirty(p, 8)), std::vector<std::size_t>{3});
}

TEST_F(UffdVdb, ProcessVmWritevIsDirty) {
  char* p = new_pages(4);
  read_dirty(p, 4);
  char msg[] = "written by process_vm_writev";
  iovec local{msg, sizeof msg};
  iovec remote{p + 2 * kPage + 64, sizeof msg};
  ASSERT_EQ(process_vm_writev(getpid(), &local, 1, &remote, 1, 0),
            static_cast<ssize_t>(sizeof msg));
  EXPECT_EQ(dirty_indices(read_dirty(p, 4)), std::vector<std::size_t>{2});
}

// A written page of a block the collector would not rescan anyway
// (pointer-free, or with no marked object) is not protected again: sweeping
// and allocating there take no write fault, and it reads as dirty at every
// read until its block has a marked object; then it is tracked again.
TEST_F(UffdVdb, PagesThatCannotHidePointersAreLeftUnprotected) {
  const std::vector<std::size_t> all{0, 1, 2, 3};
  char* atomic = new_object_pages(4, false);
  char* unmarked = new_object_pages(4, true);
  for (std::size_t i = 0; i < 4; ++i) atomic[i * kPage] = unmarked[i * kPage] = 1;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(dirty_indices(read_dirty(atomic, 4)), all) << "read " << i;
    EXPECT_EQ(dirty_indices(read_dirty(unmarked, 4)), all) << "read " << i;
  }
  mark(unmarked);
  EXPECT_EQ(dirty_indices(read_dirty(unmarked, 4)), all);
  EXPECT_EQ(dirty_indices(read_dirty(unmarked, 4)), std::vector<std::size_t>{});
  unmarked[3 * kPage] = 2;
  EXPECT_EQ(dirty_indices(read_dirty(unmarked, 4)), std::vector<std::size_t>{3});
  EXPECT_EQ(dirty_indices(read_dirty(atomic, 4)), all);
}

// More written runs than one PAGEMAP_SCAN returns (1024 regions): the scan
// goes on from where the kernel stopped, losing and inventing nothing.
TEST_F(UffdVdb, ManyWrittenRunsAreAllReported) {
  constexpr std::size_t kPages = 5000;
  const auto heap_before = GC_get_heap_size();
  char* p = new_pages(kPages);
  // A heap section added since the last read is reported wholly dirty once.
  if (GC_get_heap_size() > heap_before) {
    auto first = read_dirty(p, kPages);
    EXPECT_EQ(dirty_indices(first).size(), kPages);
  }
  read_dirty(p, kPages);
  std::vector<std::size_t> want;
  for (std::size_t i = 0; i < kPages; i += 2) {
    p[i * kPage + 8] = 1;
    want.push_back(i);
  }
  EXPECT_EQ(dirty_indices(read_dirty(p, kPages)), want);
  EXPECT_EQ(dirty_indices(read_dirty(p, kPages)), std::vector<std::size_t>{});
}

// A forked child has no registration from its parent: it tracks its own
// writes after re-registering (the first read reports everything).
TEST_F(UffdVdb, ForkedChildTracksItsOwnWrites) {
  char* p = new_pages(4);
  read_dirty(p, 4);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int code = 0;
    if (!uffd_vdb_on()) code = 10;
    read_dirty(p, 4);  // registers the child's heap
    if (!dirty_indices(read_dirty(p, 4)).empty()) code = 11;
    p[1 * kPage] = 1;
    if (dirty_indices(read_dirty(p, 4)) != std::vector<std::size_t>{1}) code = 12;
    _exit(code);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: VDB off in the child, 11: spurious dirty pages, "
                                       "12: the child's write was not reported";
  // The parent's tracking is unaffected.
  p[2 * kPage] = 1;
  EXPECT_EQ(dirty_indices(read_dirty(p, 4)), std::vector<std::size_t>{2});
}

// Where userfaultfd is refused, the incremental mode falls back to the
// mprotect VDB, as the packaged libgc uses.
TEST(UffdVdbFallback, RefusedUserfaultfdFallsBackToMprotect) {
  if (std::getenv(kRefuseEnv) != nullptr) GTEST_SKIP() << "the child's own run";
  char self[4096] = {};
  ASSERT_GT(readlink("/proc/self/exe", self, sizeof self - 1), 0);
  const std::string cmd = std::string(kRefuseEnv) + "=1 '" + self +
                          "' --gtest_filter=UffdVdbFallback.InRefusingChild >/dev/null 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0)
      << "the child (userfaultfd refused) did not pass, run: " << cmd;
}

TEST(UffdVdbFallback, InRefusingChild) {
  if (std::getenv(kRefuseEnv) == nullptr)
    GTEST_SKIP() << "runs in RefusedUserfaultfdFallsBackToMprotect's child";
  EXPECT_EQ(syscall(__NR_userfaultfd, 0), -1);
  EXPECT_EQ(std::string_view(GC_get_vdb_name()), "mprotect");
  EXPECT_NE(GC_incremental_protection_needs(), GC_PROTECTS_NONE);
  void** p = static_cast<void**>(GC_MALLOC(64));
  p[0] = GC_MALLOC(64);  // a write fault handled by the mprotect VDB
  GC_gcollect();
  EXPECT_NE(p[0], nullptr);
}

// --- The collector depends on the report ----------------------------------

constexpr int kOld = 64;
constexpr std::size_t kOldBytes = 4 * kPage;  // large objects, several pages each
constexpr std::size_t kFirstPageSlot = 7;
constexpr std::size_t kLastPageSlot = 3 * kPage / sizeof(void*) + 7;
void** g_old[kOld];  // static roots: the old objects stay reachable
bool g_drop_old_pages = false;
int g_pagemap_fd = -1;

// Consumes the "written" state of the old objects' pages behind the
// collector's back: what a VDB that loses a page would do.
void drop_old_pages() {
  struct page_region {
    std::uint64_t start, end, categories;
  };
  struct pm_scan_arg {
    std::uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted,
        category_mask, category_anyof_mask, return_mask;
  };
  std::array<page_region, 8> vec{};
  for (void** o : g_old) {
    pm_scan_arg arg{};
    arg.size = sizeof arg;
    arg.flags = 1;  // PM_SCAN_WP_MATCHING
    arg.start = reinterpret_cast<std::uintptr_t>(o);
    arg.end = arg.start + kOldBytes;
    arg.vec = reinterpret_cast<std::uintptr_t>(vec.data());
    arg.vec_len = vec.size();
    arg.category_mask = arg.return_mask = 2;  // PAGE_IS_WRITTEN
    ioctl(g_pagemap_fd, _IOWR('f', 16, pm_scan_arg), &arg);
  }
}

void on_collection_event(GC_EventType e) {
  if (e == GC_EVENT_POST_STOP_WORLD && g_drop_old_pages) drop_old_pages();
}

bool is_marked(void* p) {
  return GC_call_with_alloc_lock([](void* q) -> void* { return GC_is_marked(q) ? q : nullptr; },
                                 p) != nullptr;
}

// A young object that is white: objects on a thread-local free list during
// the last collection were marked (so the sweep would not take them back),
// and are allocated black; they would survive a missed page anyway.
void* new_white_object() {
  for (;;) {
    void* p = GC_MALLOC(64);
    if (!is_marked(p)) return p;
  }
}

__attribute__((noinline)) void store_young_into_old(std::vector<void*>& links, std::size_t slot) {
  for (int i = 0; i < kOld; ++i) {
    void* young = new_white_object();
    std::memset(young, 0x5a, 64);
    links[i] = young;
    ASSERT_EQ(GC_general_register_disappearing_link(&links[i], young), GC_SUCCESS);
    g_old[i][slot] = young;  // the only reference: in an old, marked object
  }
}

__attribute__((noinline)) void clear_stack() {
  volatile char buf[16384];
  std::memset(const_cast<char*>(buf), 0, sizeof buf);
}

// Allocates garbage until one (minor) collection has run.
void run_one_collection() {
  const auto gc_no = GC_get_gc_no();
  for (int i = 0; i < 1'000'000 && GC_get_gc_no() == gc_no; ++i) GC_MALLOC_ATOMIC(256);
  ASSERT_NE(GC_get_gc_no(), gc_no);
}

// How many young objects a minor collection freed though an old object
// still points to each.
int lost_young_objects(bool drop, std::size_t slot = kFirstPageSlot) {
  std::vector<void*> links(kOld);  // malloc memory: not scanned by the GC
  GC_gcollect();                   // full: the old objects are marked
  store_young_into_old(links, slot);
  clear_stack();
  g_drop_old_pages = drop;
  run_one_collection();
  g_drop_old_pages = false;
  int lost = 0;
  for (int i = 0; i < kOld; ++i) {
    if (links[i] == nullptr && g_old[i][slot] != nullptr) ++lost;
    if (links[i] != nullptr) GC_unregister_disappearing_link(&links[i]);
    g_old[i][slot] = nullptr;
  }
  return lost;
}

TEST(UffdVdbCollector, MinorCollectionKeepsYoungObjectsOnlyIfTheOldPageIsReported) {
  if (!uffd_vdb_on())
    GTEST_SKIP() << "the userfaultfd VDB is not in use (vdb: " << GC_get_vdb_name() << ")";
  g_pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(g_pagemap_fd, 0);
  for (auto& o : g_old) o = static_cast<void**>(GC_MALLOC(kOldBytes));
  GC_set_on_collection_event(on_collection_event);

  EXPECT_EQ(lost_young_objects(false), 0) << "the collector freed objects reachable from old ones";
  // Dropping the old objects' pages from the report must be caught: the
  // collector then frees (nearly) every young object, though reachable.
  EXPECT_GE(lost_young_objects(true), kOld * 9 / 10)
      << "a page dropped from the dirty report went unnoticed";
  EXPECT_EQ(lost_young_objects(false), 0);
  // Patch 0004 rescans only the written pages of a marked large object:
  // a pointer stored in its last page alone must be found there.
  EXPECT_EQ(lost_young_objects(false, kLastPageSlot), 0)
      << "a pointer in a written page of a large object was missed";
  EXPECT_GE(lost_young_objects(true, kLastPageSlot), kOld * 9 / 10)
      << "a dropped page of a large object went unnoticed";
  EXPECT_EQ(lost_young_objects(false, kLastPageSlot), 0);

  GC_set_on_collection_event(nullptr);
  close(g_pagemap_fd);
}

// --- Precleaning (patch 0007) ---------------------------------------------

// How many young objects one incremental cycle freed though an old object
// points to each, the pointers stored into the old (marked, scanned,
// protected) objects after the cycle's first stop, while it marks with the
// world running. With drop, every later world-stopped read misses the old
// pages: only a precleaning round (a read with the world running, then a
// rescan of the marked objects on the pages it reports) can find them.
int lost_young_objects_in_a_cycle(int preclean_rounds, bool drop) {
  std::vector<void*> links(kOld);  // malloc memory: not scanned by the GC
  std::vector<void*> young(kOld);
  GC_gcollect();  // full: the old objects are marked and their pages protected
  for (int i = 0; i < kOld; ++i) {
    young[i] = new_white_object();
    std::memset(young[i], 0x5a, 64);
    links[i] = young[i];
    EXPECT_EQ(GC_general_register_disappearing_link(&links[i], young[i]), GC_SUCCESS);
  }
  const unsigned long time_limit = GC_get_time_limit();
  GC_set_time_limit(0);  // the first stop gives up at its first look at the clock
  GC_set_preclean_rounds(preclean_rounds);
  const auto gc_no = GC_get_gc_no();
  GC_start_incremental_collection();
  const bool marking = GC_get_gc_no() == gc_no;  // the first stop did not finish the cycle
  for (int i = 0; i < kOld; ++i) g_old[i][kFirstPageSlot] = young[i];
  young.assign(kOld, nullptr);
  clear_stack();
  g_drop_old_pages = drop;
  while (GC_collect_a_little() != 0) {
  }
  g_drop_old_pages = false;
  GC_set_preclean_rounds(0);
  GC_set_time_limit(time_limit);
  EXPECT_TRUE(marking) << "the cycle ended at its first stop: nothing was stored while it marked";
  EXPECT_EQ(GC_get_gc_no(), gc_no + 1);
  int lost = 0;
  for (int i = 0; i < kOld; ++i) {
    if (links[i] == nullptr && g_old[i][kFirstPageSlot] != nullptr) ++lost;
    if (links[i] != nullptr) GC_unregister_disappearing_link(&links[i]);
    g_old[i][kFirstPageSlot] = nullptr;
  }
  return lost;
}

TEST(UffdVdbCollector, PrecleaningRescansPagesWrittenWhileTheCycleMarks) {
  if (!uffd_vdb_on())
    GTEST_SKIP() << "the userfaultfd VDB is not in use (vdb: " << GC_get_vdb_name() << ")";
  g_pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(g_pagemap_fd, 0);
  for (auto& o : g_old)
    if (o == nullptr) o = static_cast<void**>(GC_MALLOC(kOldBytes));
  GC_set_on_collection_event(on_collection_event);

  EXPECT_EQ(lost_young_objects_in_a_cycle(0, false), 0)
      << "the final stop lost pointers stored while the cycle marked";
  EXPECT_EQ(lost_young_objects_in_a_cycle(4, false), 0)
      << "precleaning lost pointers stored while the cycle marked";
  // The final stop's read alone is what finds the stores without
  // precleaning: dropping the old pages there loses (nearly) every young
  // object. So the drop is effective...
  EXPECT_GE(lost_young_objects_in_a_cycle(0, true), kOld * 9 / 10)
      << "a page dropped from the final stop's report went unnoticed";
  // ...and with precleaning nothing is lost though the final stop misses
  // the pages: a precleaning round read them, protected them again and
  // rescanned the old objects with the world running. A round that lost a
  // page (read and protected it but did not rescan it) fails here.
  EXPECT_EQ(lost_young_objects_in_a_cycle(4, true), 0)
      << "a page written before a precleaning round was not rescanned by it";
  EXPECT_EQ(lost_young_objects_in_a_cycle(1, true), 0);

  GC_set_on_collection_event(nullptr);
  close(g_pagemap_fd);
}

// Patch 0009: GC_set_wait_for_restart(0). The mutator thread runs at
// SCHED_IDLE on the collecting thread's CPU, so once the collector has sent
// it the restart signal it does not run until the collector sleeps. At the
// end of each collection (GC_EVENT_POST_START_WORLD, on the collecting
// thread) the mutator's restart signal is then still pending if the
// collector did not wait for it; waiting, the collector sleeps until the
// mutator has taken it. Either way every object reachable only from the
// mutator's stack survives (the stops that follow a restart the mutator has
// not yet taken wait for it there).
std::atomic<pid_t> g_mutator_tid{0};
std::atomic<int> g_restart_pending{0};

bool restart_signal_pending(pid_t tid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/status", static_cast<int>(tid));
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[4096];
  const ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  const char* p = std::strstr(buf, "\nSigPnd:");  // the thread's own pending set
  if (p == nullptr) return false;
  const unsigned long long pending = std::strtoull(p + 8, nullptr, 16);
  return ((pending >> (GC_get_thr_restart_signal() - 1)) & 1) != 0;
}

void GC_CALLBACK on_restart_event(GC_EventType e) {
  if (e == GC_EVENT_POST_START_WORLD && restart_signal_pending(g_mutator_tid.load()))
    g_restart_pending.fetch_add(1);
}

struct Node {
  Node* next;
  std::size_t value;
};

// Restarts (of kCollections) after which the mutator had not yet taken
// its restart signal; sets *lost when the mutator found its list damaged.
int restarts_not_taken(int wait, bool* lost) {
  cpu_set_t saved;
  EXPECT_EQ(sched_getaffinity(0, sizeof saved, &saved), 0);
  cpu_set_t one;
  CPU_ZERO(&one);
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &saved)) {
      CPU_SET(c, &one);
      break;
    }
  EXPECT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
  std::atomic<bool> stop{false}, ready{false}, damaged{false};
  std::thread mutator([&] {
    GC_stack_base sb;
    GC_get_stack_base(&sb);
    GC_register_my_thread(&sb);
    sched_param sp{};
    pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
    g_mutator_tid.store(static_cast<pid_t>(syscall(SYS_gettid)));
    ready.store(true);
    while (!stop.load()) {
      Node* head = nullptr;  // reachable only from this stack
      for (std::size_t i = 0; i < 64; ++i) {
        auto* n = static_cast<Node*>(GC_MALLOC(sizeof(Node)));
        n->next = head;
        n->value = i * 7919;
        head = n;
      }
      for (int spin = 0; spin < 1000 && !stop.load(); ++spin) {
      }
      std::size_t i = 64;
      for (Node* n = head; n != nullptr; n = n->next)
        if (n->value != --i * 7919) damaged.store(true);
      if (i != 0) damaged.store(true);
    }
    GC_unregister_my_thread();
  });
  while (!ready.load()) std::this_thread::yield();
  GC_set_wait_for_restart(wait);
  g_restart_pending.store(0);
  GC_set_on_collection_event(on_restart_event);
  constexpr int kCollections = 40;
  for (int i = 0; i < kCollections; ++i) {
    GC_gcollect();
    for (int k = 0; k < 8; ++k) (void)GC_MALLOC(64);  // allocate between stops
  }
  GC_set_on_collection_event(nullptr);
  GC_set_wait_for_restart(1);
  stop.store(true);
  mutator.join();
  EXPECT_EQ(sched_setaffinity(0, sizeof saved, &saved), 0);
  *lost = damaged.load();
  return g_restart_pending.load();
}

TEST(RestartWithoutWaiting, CollectorGoesOnBeforeTheThreadRunsAndNothingIsLost) {
  EXPECT_EQ(GC_get_wait_for_restart(), 1) << "waiting is the default";
  GC_allow_register_threads();
  bool lost = false;
  EXPECT_EQ(restarts_not_taken(1, &lost), 0)
      << "waiting for restarts, a collection ended before the thread took its restart";
  EXPECT_FALSE(lost) << "an object reachable from the thread's stack was freed (waiting)";
  EXPECT_GE(restarts_not_taken(0, &lost), 1)
      << "without waiting, no collection ended before the restarted thread ran";
  EXPECT_FALSE(lost) << "an object reachable from the thread's stack was freed (not waiting)";
}

// --- A full collection's start (patch 0008) ---------------------------------

// Which pages of [p, p + pages * kPage) read as written (not write-protected)
// now, without changing anything (PAGEMAP_SCAN without PM_SCAN_WP_MATCHING).
std::vector<bool> written_now(const char* p, std::size_t pages) {
  struct page_region {
    std::uint64_t start, end, categories;
  };
  struct pm_scan_arg {
    std::uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted,
        category_mask, category_anyof_mask, return_mask;
  };
  std::vector<bool> out(pages, false);
  std::array<page_region, 64> vec{};
  pm_scan_arg arg{};
  arg.size = sizeof arg;
  arg.start = reinterpret_cast<std::uintptr_t>(p);
  arg.end = arg.start + pages * kPage;
  arg.vec = reinterpret_cast<std::uintptr_t>(vec.data());
  arg.vec_len = vec.size();
  arg.category_mask = arg.return_mask = 2;  // PAGE_IS_WRITTEN
  const long n = ioctl(g_pagemap_fd, _IOWR('f', 16, pm_scan_arg), &arg);
  EXPECT_GE(n, 0) << "PAGEMAP_SCAN";
  for (long r = 0; r < n; ++r)
    for (std::uint64_t a = vec[r].start; a < vec[r].end; a += kPage)
      out[(a - arg.start) / kPage] = true;
  return out;
}

constexpr std::size_t kFullStartPages = 8;
void** g_survivor = nullptr;  // a static root

__attribute__((noinline)) std::uintptr_t new_written_garbage() {
  char* g = new_object_pages(kFullStartPages, true);
  std::memset(g, 0x11, kFullStartPages * kPage);
  return ~reinterpret_cast<std::uintptr_t>(g);  // hidden from the collector
}

// How many pages of an 8-page pointer-holding object, written (so populated
// and unprotected) just before, are write-protected once the first stop of
// an incremental full collection has read the dirty pages: an object that
// survived the collection before (survivor), or garbage allocated since.
int pages_protected_at_full_start(bool survivor) {
  const char* object = nullptr;
  if (survivor) {
    g_survivor = reinterpret_cast<void**>(new_object_pages(kFullStartPages, true));
    GC_gcollect();  // marks it
    object = reinterpret_cast<const char*>(g_survivor);
    std::memset(g_survivor, 0, kFullStartPages * kPage);
  } else {
    GC_gcollect();
    const std::uintptr_t hidden = new_written_garbage();
    clear_stack();
    object = reinterpret_cast<const char*>(~hidden);
  }
  EXPECT_EQ(dirty_indices(written_now(object, kFullStartPages)).size(), kFullStartPages);
  const unsigned long time_limit = GC_get_time_limit();
  GC_set_time_limit(0);  // the first stop gives up at its first look at the clock
  GC_set_full_freq(0);   // and starts a full collection
  GC_set_preclean_rounds(4);
  const auto gc_no = GC_get_gc_no();
  GC_start_incremental_collection();
  const bool marking = GC_get_gc_no() == gc_no;
  const auto written = dirty_indices(written_now(object, kFullStartPages)).size();
  while (GC_collect_a_little() != 0) {
  }
  GC_set_preclean_rounds(0);
  GC_set_full_freq(100000);
  GC_set_time_limit(time_limit);
  g_survivor = nullptr;
  EXPECT_TRUE(marking) << "the collection ended at its first stop";
  EXPECT_EQ(GC_get_gc_no(), gc_no + 1);
  return static_cast<int>(kFullStartPages - written);
}

// The start of a full collection protects the blocks that survived the
// collection before, so that its final stop does not rescan every page of
// them written before it (patch 0002), but not blocks allocated since
// (patch 0008): those hold mostly garbage, which the sweep frees, and each
// of their pages took a write fault when it was reused.
TEST(UffdVdbCollector, FullCollectionStartProtectsTheLastSurvivorsOnly) {
  if (!uffd_vdb_on())
    GTEST_SKIP() << "the userfaultfd VDB is not in use (vdb: " << GC_get_vdb_name() << ")";
  g_pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(g_pagemap_fd, 0);
  EXPECT_EQ(pages_protected_at_full_start(true), 8) << "a survivor's pages were left unprotected";
  EXPECT_EQ(pages_protected_at_full_start(false), 0) << "new garbage's pages were protected";
  EXPECT_EQ(pages_protected_at_full_start(true), 8);
  close(g_pagemap_fd);
}

}  // namespace
