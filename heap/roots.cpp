// Roots the collector would not find by itself (see detail/roots.hpp).
//
// Exceptions. A thrown object lives in memory the C++ runtime takes from
// malloc (__cxa_allocate_exception), which the collector never scans, and
// goro stores exception_ptrs to such objects (a task's promise, a blocking
// call's result, run()'s error) for as long as nobody has awaited them. So
// `throw my_error{gc_new<T>()}` from a task that is awaited after a
// collection handed the catcher a dangling pointer; so did a collection
// during the unwinding or inside the catch block. goro therefore defines
// __cxa_allocate_exception and __cxa_free_exception itself: each calls the
// C++ runtime's own (found with dlsym(RTLD_NEXT)) and records or forgets the
// object's range [object, object + size) in a table, and the collector's
// push-other-roots hook scans every recorded range. The object is thus
// visible from the moment it is allocated to the moment the last
// exception_ptr (or the handler) lets go of it, whoever holds it. libstdc++
// calls both functions through its PLT, so exceptions it throws itself go
// through them too; the executable's definitions take precedence over the
// shared library's (as a replaced operator new does).
//
// What it does not cover: memory the exception object points to outside
// itself (a std::string's or a std::vector's heap buffer): only the object's
// own bytes are scanned.
//
// Locking. The table changes under Boehm's allocation lock (and a spin lock
// of its own, for callers before the collector is initialised, when the
// allocation lock may be a no-op). A collection holds the allocation lock
// with the world stopped, so the hook reads the table while no change can
// be half done. Taking the allocation lock per throw costs about as much as
// an uncontended mutex: nothing beside a throw's own microseconds.

#include "heap/detail/roots.hpp"

#include <dlfcn.h>
#include <gc.h>
#include <gc/gc_mark.h>

#include <cstdio>
#include <cstdlib>
#include <new>
#include <unordered_map>

#include "core/fatal.hpp"
#include "core/spin_lock.hpp"
#include "heap/collector_init.hpp"

namespace goro::heap::detail {
namespace {

using alloc_fn = void* (*)(std::size_t) noexcept;
using free_fn = void (*)(void*) noexcept;

struct exception_table {
  spin_lock lock;
  std::unordered_map<void*, std::size_t> ranges;  // object -> bytes; under the allocation lock
};
exception_table& table() {
  static auto* t = new exception_table;  // never destroyed: exceptions may be freed at exit
  return *t;
}

template <class F>
F next_symbol(const char* name) noexcept {
  void* p = dlsym(RTLD_NEXT, name);
  if (p == nullptr) {
    std::fprintf(stderr, "goro: fatal: %s not found in the C++ runtime (dlsym: %s)\n", name,
                 dlerror());
    std::abort();
  }
  return reinterpret_cast<F>(p);
}

struct change {
  void* obj;
  std::size_t bytes;
  bool add;
};

void apply(void* arg) noexcept {
  auto* c = static_cast<change*>(arg);
  exception_table& t = table();
  std::lock_guard lk(t.lock);
  try {
    if (c->add)
      t.ranges.emplace(c->obj, c->bytes);
    else
      t.ranges.erase(c->obj);
  } catch (...) {
    // Out of memory for the table: this object is not scanned (as before
    // this table existed); the throw itself goes on.
  }
}

void* GC_CALLBACK apply_locked(void* arg) {
  apply(arg);
  return nullptr;
}

void record(void* obj, std::size_t bytes, bool add) noexcept {
  change c{obj, bytes, add};
  GC_call_with_alloc_lock(apply_locked, &c);
}

GC_push_other_roots_proc g_next_push = nullptr;  // written once, in install_root_scanning

void GC_CALLBACK push_roots() {
  if (g_next_push) g_next_push();
  for (const auto& [obj, bytes] : table().ranges) {
    char* lo = static_cast<char*>(obj);
    GC_push_all_eager(lo, lo + bytes);
  }
}

}  // namespace

void* root_alloc(std::size_t n) {
  init();
  void* p = GC_MALLOC_UNCOLLECTABLE(n == 0 ? 1 : n);
  if (p == nullptr) fatal("root_alloc: out of memory");
  return p;
}

void root_free(void* p) noexcept {
  if (p) GC_FREE(p);
}

std::size_t exception_roots() noexcept {
  exception_table& t = table();
  std::lock_guard lk(t.lock);
  return t.ranges.size();
}

void install_root_scanning() {
  // Under heap::init's call_once, before the first collection.
  g_next_push = GC_get_push_other_roots();
  GC_set_push_other_roots(push_roots);
}

}  // namespace goro::heap::detail

extern "C" {

// The Itanium C++ ABI's allocation of a thrown object (see the file comment).
void* __cxa_allocate_exception(std::size_t thrown_size) noexcept {
  static const auto real =
      goro::heap::detail::next_symbol<goro::heap::detail::alloc_fn>("__cxa_allocate_exception");
  void* obj = real(thrown_size);
  goro::heap::detail::record(obj, thrown_size, true);
  return obj;
}

void __cxa_free_exception(void* obj) noexcept {
  static const auto real =
      goro::heap::detail::next_symbol<goro::heap::detail::free_fn>("__cxa_free_exception");
  goro::heap::detail::record(obj, 0, false);
  real(obj);
}

}  // extern "C"
