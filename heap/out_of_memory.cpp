// Running out of collected memory.
//
// With automatic collection off, Boehm never collects on its own when an
// allocation finds no room under GC_set_max_heap_size (or the OS refuses to
// map more): it returns null (boehm-probe.md section 2). Its out-of-memory
// hook (GC_set_oom_fn) runs instead, without the allocation lock held, on
// the allocating thread. goro's hook runs a full collection through the
// driver (waiting for one already in progress) and retries the request
// once; if that fails too the program is out of memory for real, and it dies
// with one clear message carrying the heap statistics, as Go's "fatal error:
// out of memory" does. Nobody gets a null pointer back.
//
// The hook only learns the size, not the kind. A retry as a scanned,
// collectable object is safe for normal and pointer-free requests; coroutine frames are
// uncollectable, and the frame pool says so through set_retry_kind() around its own Boehm calls.
//
// Boehm's "Out of Memory! ... Returning NULL!" warning precedes every hook
// call, even the ones the retry then satisfies, and its "Repeated
// allocation of very large block" warning is about its own trigger, which
// goro has switched off; both are filtered. Other warnings go to stderr.

#include <gc.h>
#include <gc/gc_mark.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "core/fatal.hpp"
#include "heap/collector.hpp"
#include "heap/detail/driver.hpp"
#include "heap/heap_stats.hpp"

namespace goro::heap::detail {
namespace {

constinit thread_local retry_kind tl_retry_kind = retry_kind::normal;  // owner thread
constinit thread_local bool tl_in_hook = false;                        // owner thread

// A collectable retry uses goro's whole-object scanned kind: Boehm's NORMAL
// kind would leave the last word unscanned in an exact-size object from
// allocate_object (heap/exact_alloc.cpp), and scanning one word more of any
// other request is harmless.
void* retry(std::size_t n) {
  if (tl_retry_kind == retry_kind::uncollectable) return GC_MALLOC_UNCOLLECTABLE(n);
  return GC_generic_malloc(n, scanned_kind());
}

void* GC_CALLBACK on_out_of_memory(std::size_t n) {
  if (tl_in_hook || collecting_on_this_thread()) return nullptr;  // nested: let the outer call die
  tl_in_hook = true;
  void* p = nullptr;
  // The heap cap (the memory limit's room) first: the driver collects or
  // raises the cap, a few times if other threads take the room meanwhile.
  // The first round may collect; later rounds (the collection did not free
  // a fit, or other threads took the room first) raise the cap.
  for (int attempt = 0; attempt < 4 && p == nullptr; ++attempt) {
    if (!make_room(n, attempt > 0)) break;
    p = retry(n);
  }
  if (p == nullptr) {
    // No cap in the way: the OS refused. Collect once and retry, as before
    // the cap existed.
    collect(collection_reason::out_of_memory);
    p = retry(n);
  }
  tl_in_hook = false;
  if (p == nullptr) die_out_of_memory(n);
  return p;
}

void GC_CALLBACK on_warning(char* msg, GC_word arg) {
  if (std::strstr(msg, "Out of Memory") != nullptr) return;
  if (std::strstr(msg, "Repeated allocation of very large block") != nullptr) return;
  char buf[512];
  const int prefix = std::snprintf(buf, sizeof buf, "goro: collector warning: ");
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  // Boehm's warnings are printf formats with one word-sized argument.
  int n = std::snprintf(buf + prefix, sizeof buf - static_cast<std::size_t>(prefix), msg,
                        static_cast<unsigned long>(arg));
#pragma GCC diagnostic pop
  if (n < 0) return;
  std::size_t len = std::strlen(buf);
  if (len > 0 && buf[len - 1] != '\n' && len + 1 < sizeof buf) buf[len++] = '\n';
  if (::write(2, buf, len) < 0) return;
}

double mib(uint64_t b) {
  return static_cast<double>(b) / (1 << 20);
}

}  // namespace

void install_out_of_memory_handling() noexcept {
  GC_set_warn_proc(on_warning);
  GC_set_oom_fn(on_out_of_memory);
}

void set_retry_kind(retry_kind k) noexcept {
  tl_retry_kind = k;
}

void die_out_of_memory(std::size_t request) noexcept {
  const heap_stats s = read_heap_stats();
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "out of memory: cannot allocate %zu bytes from the collected heap after a full "
                "collection (heap mapped %.1f MiB, in use after last collection %.1f MiB, free "
                "%.1f MiB, released to the OS %.1f MiB, allocated since last collection %.1f "
                "MiB, collections %llu, coroutine frames %.1f MiB, runtime-internal %.1f MiB, "
                "all malloc %.1f MiB, thread stacks %.1f MiB)",
                request, mib(s.heap_mapped_bytes), mib(s.live_bytes), mib(s.heap_free_bytes),
                mib(s.released_bytes), mib(s.allocated_since_gc_bytes),
                static_cast<unsigned long long>(s.collections), mib(s.frames_bytes),
                mib(s.mimalloc_bytes), mib(s.process_malloc_bytes), mib(s.thread_stack_bytes));
  fatal(buf);
}

}  // namespace goro::heap::detail
