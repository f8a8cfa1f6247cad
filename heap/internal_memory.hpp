#pragma once
// Runtime-internal memory: metadata that never holds user values or GC
// pointers (the scheduler, its Ps and Ms with their run-queue rings, timer
// heaps of frame handles, metric shards, I/O buffers). It comes from
// mimalloc when goro is built with it (GORO_HAVE_MIMALLOC; off in sanitizer
// builds, where it is plain malloc so the sanitizer sees every block).
//
// The collector does NOT scan this memory: a GC pointer stored only here
// does not keep its object alive (boehm-probe.md section 3, rows C and D).
// Anything that holds user values belongs in GC-visible memory instead
// (gc_allocator, gc_new).
//
// Accounting. Linking mimalloc replaces malloc and operator new for the
// whole process (boehm-probe.md section 9), so mimalloc's own counters
// cannot tell goro's blocks from the program's. internal_alloc therefore
// counts what it hands out itself (usable sizes, one relaxed atomic per
// call: these are long-lived, rarely allocated structures, not a fast
// path); internal_bytes_in_use() is that count, process_malloc_bytes() is
// everything malloc has committed (what a memory limit must see).

#include <cstddef>
#include <cstdint>
#include <new>

namespace goro::heap {

/// Never returns null: throws std::bad_alloc. `align` is a power of two.
void* internal_alloc(std::size_t n, std::size_t align = alignof(std::max_align_t));
void internal_free(void* p) noexcept;

/// Bytes goro's runtime holds through internal_alloc now (usable sizes).
uint64_t internal_bytes_in_use() noexcept;

/// Bytes the process's malloc has committed now, goro's and the program's
/// (mimalloc's committed bytes, less the never-touched part of the main
/// thread's eagerly committed first segment, see internal_memory.cpp; or
/// glibc malloc's arena and mmap bytes without mimalloc). The memory-limit
/// policy counts this as non-heap.
uint64_t process_malloc_bytes() noexcept;

/// Same as process_malloc_bytes (the name the collector's observation uses).
inline uint64_t internal_bytes() noexcept {
  return process_malloc_bytes();
}

/// Base for runtime structures that should come from internal memory when
/// created with `new` (or std::make_unique): class-level operator new and
/// delete, over-aligned types included.
struct internal_object {
  static void* operator new(std::size_t n) { return internal_alloc(n); }
  static void* operator new(std::size_t n, std::align_val_t a) {
    return internal_alloc(n, static_cast<std::size_t>(a));
  }
  static void operator delete(void* p) noexcept { internal_free(p); }
  static void operator delete(void* p, std::align_val_t) noexcept { internal_free(p); }
};

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
    return static_cast<T*>(internal_alloc(n * sizeof(T), alignof(T)));
  }
  void deallocate(T* p, std::size_t) noexcept { internal_free(p); }
  template <class U>
  friend bool operator==(const internal_allocator&, const internal_allocator<U>&) noexcept {
    return true;
  }
};

}  // namespace goro::heap
