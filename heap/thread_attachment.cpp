#include "heap/thread_attachment.hpp"

#include <gc.h>

#include "heap/collector_init.hpp"

namespace goro::heap {

thread_attachment::thread_attachment() {
  init();
  if (GC_thread_is_registered()) return;
  GC_stack_base sb;
  GC_get_stack_base(&sb);
  registered_here_ = GC_register_my_thread(&sb) == GC_SUCCESS;
}

thread_attachment::~thread_attachment() {
  if (registered_here_) GC_unregister_my_thread();
}

}  // namespace goro::heap
