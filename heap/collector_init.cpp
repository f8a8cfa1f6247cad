#include "heap/collector_init.hpp"

#include <gc.h>

#include <mutex>

namespace goro::heap {

void init() {
  static std::once_flag once;
  std::call_once(once, [] {
    GC_INIT();
    GC_set_disable_automatic_collection(1);
    GC_allow_register_threads();
  });
}

}  // namespace goro::heap
