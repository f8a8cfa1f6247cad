// The thread and stack safety nets (Go's debug.SetMaxThreads and
// debug.SetMaxStack) and goro's thread accounting.
//
// Threads. Every thread goro creates is counted by kind in the scheduler
// (workers, blocking, locked, sysmon) and in one total, nthreads, which the
// limit is checked against: a single fetch_add decides, so a pinned M
// changing kind (move_thread) can never make the sum look one too high.
// Like Go's checkmcount, the check happens when a thread is about to be
// created and when the limit is lowered, and exceeding it ends the process:
// a program creating threads without bound is broken, and queueing instead
// would turn it into a silent stall.
//
// Stack. Coroutine frames are heap blocks, so a runaway recursion of
// awaited tasks would not overflow anything until memory ran out. Each
// promise carries its chain's byte total (sched/task.hpp); this file only
// prints the report when it passes the limit. The report walks the chain
// from the innermost frame outwards through the promises' parent links and
// names each frame by its resume function: with GCC and Clang the first
// word of a coroutine frame is that function's address (the coroutine ABI
// both share). That function is a local symbol, which dladdr's dynamic
// symbol table never has, so the name comes from the module's ELF .symtab
// (present unless the binary is stripped; then the line shows module+offset
// for addr2line), demangled and shortened to "f(int) [coroutine]".

#include "sched/limits.hpp"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "core/demangle.hpp"
#include "core/fatal.hpp"
#include "sched/detail/debug_hooks.hpp"
#include "sched/detail/os_thread.hpp"
#include "sched/detail/runtime_hooks.hpp"
#include "sched/detail/scheduler.hpp"
#include "sched/detail/wait_reason.hpp"
#include "sched/task.hpp"

namespace goro::detail {
namespace {

std::atomic<int> g_max_threads{10000};  // Go's default maxmcount

std::atomic<int>& counter(scheduler& s, thread_kind k) noexcept {
  switch (k) {
    case thread_kind::worker:
      return s.nworkers;
    case thread_kind::blocking:
      return s.nblocking;
    case thread_kind::locked:
      return s.nlocked;
    case thread_kind::sysmon:
      return s.nsysmon;
  }
  return s.nworkers;
}

// Threads goro created: all but the one that called goro::run.
int created(const scheduler& s) noexcept {
  return s.nthreads.load(std::memory_order_seq_cst) - 1;
}

// Ends the process with Go's message and the task that wanted the thread:
// the running task (a wake-up or spawn that starts an M, set_max_threads
// from a task), the task whose blocking call needs a pool thread (suspended
// in submit_blocking: its await chain is complete and printed), or the
// pinned task whose M hands its P off as it parks (no task runs then).
[[noreturn]] void thread_limit_exceeded(scheduler& s, int limit, int count) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "program exceeds %d-thread limit (%d threads: %d workers, %d blocking, %d locked, "
                "%d sysmon)",
                limit, count, s.nworkers.load(), s.nblocking.load(), s.nlocked.load(),
                s.nsysmon.load());
  const task_header* t = current_task();
  if (t == nullptr && tl_m != nullptr) t = tl_m->lockedg;
  const promise_base* chain = nullptr;
  if (t != nullptr) {
    const wait_reason r = reason_of(t->wait_word.load(std::memory_order_acquire));
    if (r != wait_reason::running && r != wait_reason::none)  // suspended: resume is innermost
      chain = promise_base::from_frame(t->resume.address());
  }
  die_with_tasks(buf, t, chain);
}

// The name of the function containing `addr` from the ELF symbol table of
// the file `path` (loaded at `base`): .symtab has the local symbols that
// dladdr's dynamic table lacks (a coroutine's resume function is local:
// "f(int) [clone .actor]"). Empty when the file has no such symbol
// (stripped) or cannot be read. Only used on the way to a fatal exit.
std::string symtab_name(const char* path, uintptr_t base, uintptr_t addr) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  struct stat st {};
  void* map = MAP_FAILED;
  if (::fstat(fd, &st) == 0 && st.st_size > static_cast<off_t>(sizeof(Elf64_Ehdr)))
    map = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return {};
  const auto* bytes = static_cast<const char*>(map);
  const auto size = static_cast<uint64_t>(st.st_size);
  std::string out;
  const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(bytes);
  const bool ok = std::memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 &&
                  eh->e_ident[EI_CLASS] == ELFCLASS64 && eh->e_shoff > 0 &&
                  eh->e_shoff + uint64_t{eh->e_shnum} * sizeof(Elf64_Shdr) <= size;
  // Symbol values are offsets from the load address in a PIE or shared
  // object, absolute addresses in a fixed-address executable.
  const uint64_t want = eh->e_type == ET_DYN ? addr - base : addr;
  const auto* sh = ok ? reinterpret_cast<const Elf64_Shdr*>(bytes + eh->e_shoff) : nullptr;
  for (unsigned i = 0; ok && i < eh->e_shnum && out.empty(); ++i) {
    if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum) continue;
    const Elf64_Shdr& strs = sh[sh[i].sh_link];
    if (sh[i].sh_offset + sh[i].sh_size > size || strs.sh_offset + strs.sh_size > size) continue;
    const auto* syms = reinterpret_cast<const Elf64_Sym*>(bytes + sh[i].sh_offset);
    const uint64_t n = sh[i].sh_size / sizeof(Elf64_Sym);
    for (uint64_t k = 0; k < n; ++k) {
      if (ELF64_ST_TYPE(syms[k].st_info) != STT_FUNC || syms[k].st_name >= strs.sh_size) continue;
      if (want >= syms[k].st_value && want - syms[k].st_value < syms[k].st_size) {
        out = bytes + strs.sh_offset + syms[k].st_name;
        break;
      }
    }
  }
  ::munmap(map, static_cast<size_t>(st.st_size));
  return out;
}

// GCC names a coroutine's resume function after the coroutine, with its
// frame type as the parameter: "f(f(int)::_Z1fi.Frame*) [clone .actor]".
// The mangled name inside is the coroutine's own: "f(int) [coroutine]".
std::string coroutine_name(const std::string& actor) {
  const auto at = actor.find("::_Z");
  const auto end = actor.find(".Frame*", at == std::string::npos ? 0 : at);
  if (at == std::string::npos || end == std::string::npos) return actor;
  const std::string mangled = actor.substr(at + 2, end - at - 2);
  const auto name = try_demangle(mangled.c_str());
  return name ? *name + " [coroutine]" : actor;
}

// "f(int) [coroutine]" for a coroutine's resume function; module+offset
// (for addr2line) when no symbol covers it.
std::string frame_name(void* resume_fn) {
  char buf[64];
  if (!resume_fn) return "?";
  Dl_info info{};
  if (dladdr(resume_fn, &info) == 0) {
    std::snprintf(buf, sizeof buf, "%p", resume_fn);
    return buf;
  }
  if (info.dli_sname) return demangle(info.dli_sname);
  const auto base = reinterpret_cast<uintptr_t>(info.dli_fbase);
  const auto at = reinterpret_cast<uintptr_t>(resume_fn);
  std::string name = info.dli_fname ? symtab_name(info.dli_fname, base, at) : "";
  if (name.empty()) name = symtab_name("/proc/self/exe", base, at);
  if (!name.empty()) return coroutine_name(demangle(name.c_str()));
  std::snprintf(buf, sizeof buf, "+0x%" PRIxPTR, at - base);
  return std::string(info.dli_fname ? info.dli_fname : "?") + buf;
}

}  // namespace

void os_thread_failed(const scheduler& s, int err) noexcept {
  // Go's words (runtime.newosproc); `have` leaves out the one that failed.
  const int have = s.nthreads.load(std::memory_order_relaxed) - 1;
  std::string msg = "runtime: failed to create new OS thread (have " + std::to_string(have) +
                    " already; errno=" + std::to_string(err) + ")";
  if (err == EAGAIN) msg += "\nruntime: may need to increase max user processes (ulimit -u)";
  die(msg, 2);
}

void add_thread(scheduler& s, thread_kind k) {
  counter(s, k).fetch_add(1, std::memory_order_seq_cst);
  const int now = s.nthreads.fetch_add(1, std::memory_order_seq_cst);  // +1 new, -1 run thread
  const int limit = g_max_threads.load(std::memory_order_relaxed);
  if (now > limit) thread_limit_exceeded(s, limit, now);
}

void remove_thread(scheduler& s, thread_kind k) noexcept {
  s.nthreads.fetch_sub(1, std::memory_order_seq_cst);
  counter(s, k).fetch_sub(1, std::memory_order_seq_cst);
}

void move_thread(scheduler& s, thread_kind from, thread_kind to) noexcept {
  counter(s, from).fetch_sub(1, std::memory_order_seq_cst);
  counter(s, to).fetch_add(1, std::memory_order_seq_cst);
}

void stack_exceeded(const promise_base* top, void* top_frame) noexcept {
  constexpr int kInner = 16;  // innermost frames printed, then the root
  const uint64_t limit = g_max_stack_bytes.load(std::memory_order_relaxed);
  uint64_t depth = 0;
  for (const promise_base* p = top; p; p = p->parent_) ++depth;
  task_header* t = current_task();
  std::string msg = "task stack exceeds " + std::to_string(limit) + "-byte limit (task " +
                    std::to_string(t ? t->id : 0) + ": " + std::to_string(depth) +
                    " awaited frames, " + std::to_string(top->chain_bytes_) + " bytes)";
  auto line = [&](uint64_t i, const promise_base* p, void* frame) {
    const uint64_t own = p->chain_bytes_ - (p->parent_ ? p->parent_->chain_bytes_ : 0);
    msg += "\n  #" + std::to_string(i) + " " + frame_name(*static_cast<void**>(frame)) + " (" +
           std::to_string(own) + "-byte frame)";
  };
  const promise_base* p = top;
  void* frame = top_frame;
  for (uint64_t i = 0; p; ++i) {
    if (i < kInner || i + 1 == depth) {
      line(i, p, frame);
    } else if (i == kInner) {
      msg += "\n  ... " + std::to_string(depth - kInner - 1) + " frames elided ...";
    }
    frame = p->continuation_.address();
    p = p->parent_;
  }
  die_with_tasks(msg, current_task(), top->parent_);
}

}  // namespace goro::detail

namespace goro {

int set_max_threads(int n) {
  if (n < 1)
    throw std::invalid_argument("goro::set_max_threads(" + std::to_string(n) +
                                "): want a thread count >= 1");
  const int old = detail::g_max_threads.exchange(n, std::memory_order_seq_cst);
  if (detail::scheduler* s = detail::sched()) {
    const int now = detail::created(*s);
    if (now > n) detail::thread_limit_exceeded(*s, n, now);  // as Go's checkmcount
  }
  return old;
}

int64_t set_max_stack(int64_t bytes) {
  if (bytes < 1)
    throw std::invalid_argument("goro::set_max_stack(" + std::to_string(bytes) +
                                "): want a byte count >= 1");
  return static_cast<int64_t>(
      detail::g_max_stack_bytes.exchange(static_cast<uint64_t>(bytes), std::memory_order_relaxed));
}

thread_count thread_counts() noexcept {
  thread_count c;
  if (detail::scheduler* s = detail::sched()) {
    c.workers = s->nworkers.load();
    c.blocking = s->nblocking.load();
    c.locked = s->nlocked.load();
    c.sysmon = s->nsysmon.load();
  }
  return c;
}

}  // namespace goro
