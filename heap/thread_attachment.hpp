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
