#pragma once
// A standard allocator whose storage the collector scans, so a container can
// hold GC pointers (or structs holding them) and keep those objects alive.
//
//   goro::gc_vector<node*> v;          // std::vector<node*, gc_allocator<node*>>
//   v.push_back(goro::gc_new<node>()); // the node lives as long as v can reach it
//
// The container's own header (the std::vector object: begin/end pointers)
// must itself be somewhere the collector scans: a registered thread's stack,
// a coroutine frame, a collected object, or static data. A gc_vector member
// of an object in malloc or mimalloc memory loses its storage at the next
// collection.
//
// Storage for arithmetic and enum element types is pointer-free (never
// scanned). Freed storage of 512 bytes or more goes back to Boehm at once;
// smaller blocks are left to the collector (see detail/allocate.hpp).
//
// In contrast, std::vector<T*> with the default allocator keeps its buffer in
// operator-new memory, which the collector never scans: the pointed-to
// objects may be reclaimed while the vector still points at them
// (boehm-probe.md section 3, row F). Never keep the only pointer to a GC
// object there.

#include <cstddef>
#include <new>
#include <type_traits>

#include "heap/detail/allocate.hpp"
#include "heap/detail/pointer_free.hpp"

namespace goro {

template <class T>
class gc_allocator {
 public:
  using value_type = T;
  using propagate_on_container_move_assignment = std::true_type;
  using is_always_equal = std::true_type;

  gc_allocator() noexcept = default;
  template <class U>
  gc_allocator(const gc_allocator<U>&) noexcept {}

  [[nodiscard]] T* allocate(std::size_t n) {
    static_assert(alignof(T) <= heap::detail::kMaxGcAlign,
                  "goro::gc_allocator: the collected heap aligns to 16 bytes; T needs more");
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(heap::detail::allocate(n * sizeof(T), heap::detail::pointer_free_v<T>));
  }

  void deallocate(T* p, std::size_t n) noexcept { heap::detail::release(p, n * sizeof(T)); }

  template <class U>
  friend bool operator==(const gc_allocator&, const gc_allocator<U>&) noexcept {
    return true;
  }
};

}  // namespace goro
