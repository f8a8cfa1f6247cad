#include "heap/thread_attachment.hpp"

#include <gc.h>
#include <pthread.h>

#include "heap/collector.hpp"
#include "heap/collector_init.hpp"
#include "heap/detail/small_alloc.hpp"

namespace goro::heap {
namespace {

// The reserved size of the calling thread's stack, or 0 if unknown.
int64_t own_stack_bytes() noexcept {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return 0;
  void* addr = nullptr;
  std::size_t size = 0;
  const int rc = pthread_attr_getstack(&attr, &addr, &size);
  pthread_attr_destroy(&attr);
  return rc == 0 ? static_cast<int64_t>(size) : 0;
}

}  // namespace

thread_attachment::thread_attachment() {
  init();
  if (GC_thread_is_registered()) return;
  GC_stack_base sb;
  GC_get_stack_base(&sb);
  registered_here_ = GC_register_my_thread(&sb) == GC_SUCCESS;
  if (registered_here_) {
    stack_bytes_ = own_stack_bytes();
    detail::add_stack_bytes(stack_bytes_);
  }
}

thread_attachment::~thread_attachment() {
  detail::flush_allocation_count();
  if (registered_here_) {
    detail::drop_small_lists();
    detail::add_stack_bytes(-stack_bytes_);
    GC_unregister_my_thread();
  }
}

}  // namespace goro::heap
