#include "heap/blocking_region.hpp"

#include <gc.h>

namespace goro::heap::detail {

namespace {
struct call {
  void (*fn)(void*);
  void* arg;
};
void* trampoline(void* p) {
  auto* c = static_cast<call*>(p);
  c->fn(c->arg);
  return nullptr;
}
}  // namespace

void do_blocking(void (*fn)(void*), void* arg) {
  if (!GC_thread_is_registered()) {
    fn(arg);
    return;
  }
  call c{fn, arg};
  GC_do_blocking(trampoline, &c);
}

}  // namespace goro::heap::detail
