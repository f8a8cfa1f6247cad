#pragma once
// Runtime-internal memory: metadata that never holds user values or GC
// pointers (run-queue rings, timer heaps of frame handles, metric shards, I/O
// buffers). It comes from mimalloc when goro is built with it
// (GORO_HAVE_MIMALLOC; off in sanitizer builds, where it is plain malloc so
// the sanitizer sees every block).
//
// The collector does NOT scan this memory: a GC pointer stored only here
// does not keep its object alive (boehm-probe.md section 3, rows C and D).
// Anything that holds user values belongs in GC-visible memory instead
// (gc_allocator, gc_new).
//
// Linking mimalloc replaces malloc and operator new for the whole process
// (boehm-probe.md section 9), so "internal" bytes are everything malloc'd.

#include <cstddef>
#include <cstdint>
#include <new>

namespace goro::heap {

/// Never returns null: throws std::bad_alloc.
void* internal_alloc(std::size_t n);
void internal_free(void* p) noexcept;

/// Bytes of runtime-internal memory committed now (mimalloc's committed
/// bytes, less the never-touched part of the main thread's eagerly
/// committed first segment, see internal_memory.cpp; or glibc malloc's
/// arena and mmap bytes without mimalloc).
uint64_t internal_bytes() noexcept;

/// A standard allocator over internal_alloc for containers of metadata.
template <class T>
class internal_allocator {
 public:
  using value_type = T;
  internal_allocator() noexcept = default;
  template <class U>
  internal_allocator(const internal_allocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(internal_alloc(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t) noexcept { internal_free(p); }
  template <class U>
  friend bool operator==(const internal_allocator&, const internal_allocator<U>&) noexcept {
    return true;
  }
};

}  // namespace goro::heap
