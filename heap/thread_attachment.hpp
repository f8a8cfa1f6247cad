#pragma once
// RAII registration of the calling thread with the collector.
//
// Every thread that runs tasks or touches GC objects must be registered so
// its stack and registers are scanned. A registered thread that exits
// without unregistering hangs the next collection, so registration is only
// available as this RAII type. Nested attachments on one thread are counted
// (the primordial thread is registered by GC_INIT and never unregistered).
// An attachment also counts the thread's stack in the heap statistics and,
// on detach, adds the thread's unflushed allocation count to the driver's.

#include <cstdint>

namespace goro::heap {

namespace detail {
/// Throws std::logic_error unless the calling thread may allocate from the
/// collected heap: a thread registered with the collector (goro's own
/// threads, any thread holding a thread_attachment) or the process's main
/// thread (registered on first use). The allocation slow paths call it; the
/// answer is cached per thread.
void require_attached();
}  // namespace detail

class thread_attachment {
 public:
  thread_attachment();
  ~thread_attachment();
  thread_attachment(const thread_attachment&) = delete;
  thread_attachment& operator=(const thread_attachment&) = delete;

 private:
  bool registered_here_ = false;
};

}  // namespace goro::heap

namespace goro {

/// Registers the calling thread with the collector for the attachment's
/// lifetime (RAII; nestable). A thread goro did not start (a std::thread, a
/// thread of a C library's callback) must hold one while it allocates with
/// gc_new or holds GC pointers on its stack: only attached threads' stacks
/// are scanned, so an unattached thread's objects would be collected under
/// it. gc_new on such a thread throws std::logic_error instead. Create it
/// at the top of the thread function; it must be destroyed on the thread
/// that made it, before the thread exits. The main thread is attached
/// automatically; threads of goro (workers, blocking pool) are attached.
using thread_attachment = heap::thread_attachment;

}  // namespace goro
