#pragma once
// Allocation in the collected heap.
//
// Objects from these calls are never freed by the program: the collector
// reclaims them once nothing it scans points at them (registered thread
// stacks, coroutine frames, other GC objects, gc_allocator containers,
// static data). A pointer kept only in malloc, mimalloc or std-allocator
// memory does NOT keep an object alive.
//
// The collector does not run destructors, so gc_new requires a trivially
// destructible T. A type that needs its destructor run says so at the call
// site with gc_new_with_finalizer (a last resort, as Go's SetFinalizer).

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

#include "heap/detail/allocate.hpp"
#include "heap/detail/pointer_free.hpp"
#include "heap/detail/small_alloc.hpp"

namespace goro {

namespace heap::detail {
template <class T, class... Args>
T* construct_at(void* p, Args&&... args) {
  if constexpr (std::is_constructible_v<T, Args...>) {
    return ::new (p) T(std::forward<Args>(args)...);
  } else {
    return ::new (p) T{std::forward<Args>(args)...};
  }
}

template <class T>
void check_gc_alignment() {
  static_assert(alignof(T) <= kMaxGcAlign,
                "goro: the collected heap aligns objects to 16 bytes; this type needs more");
}

template <class T>
void run_destructor(void* obj, void*) {
  static_cast<T*>(obj)->~T();
}

// One object (not an array): small ones take the inline free-list path.
inline void* allocate_one(std::size_t n, bool pointer_free) {
  if (n <= kSmallMaxBytes) return small_alloc(n, pointer_free);
  return allocate_object(n, pointer_free);
}

inline std::size_t array_bytes(std::size_t n, std::size_t size) {
  if (size != 0 && n > static_cast<std::size_t>(-1) / size) throw std::bad_array_new_length();
  return n * size;
}
}  // namespace heap::detail

/// A new T in the collected heap, constructed from args (parentheses, or
/// braces for aggregates). Pointer-free for arithmetic and enum T.
template <class T, class... Args>
[[nodiscard]] T* gc_new(Args&&... args) {
  static_assert(std::is_trivially_destructible_v<T>,
                "goro::gc_new<T>: T has a non-trivial destructor, and the collector never runs "
                "destructors. Make T trivially destructible (hold GC pointers and gc_allocator "
                "containers' storage, not owning members), or call "
                "goro::gc_new_with_finalizer<T>(...) to have ~T() run after T becomes "
                "unreachable.");
  heap::detail::check_gc_alignment<T>();
  void* p = heap::detail::allocate_one(sizeof(T), heap::detail::pointer_free_v<T>);
  return heap::detail::construct_at<T>(p, std::forward<Args>(args)...);
}

/// A new T that the collector never scans: the caller promises T holds no
/// pointers to collected objects (Go's "noscan"), e.g. a struct of numbers
/// or a byte buffer. A GC pointer stored in it does not keep its object
/// alive. Cheaper to allocate and to collect.
template <class T, class... Args>
[[nodiscard]] T* gc_new_noscan(Args&&... args) {
  static_assert(std::is_trivially_destructible_v<T>,
                "goro::gc_new_noscan<T>: T has a non-trivial destructor, and the collector never "
                "runs destructors");
  static_assert(!std::is_pointer_v<T>, "goro::gc_new_noscan<T>: T is a pointer; use gc_new<T>");
  heap::detail::check_gc_alignment<T>();
  void* p = heap::detail::allocate_one(sizeof(T), true);
  return heap::detail::construct_at<T>(p, std::forward<Args>(args)...);
}

/// n value-initialised Ts in one collected block (zero for numbers).
/// Pointer-free for arithmetic and enum T. Throws std::bad_array_new_length
/// if n * sizeof(T) overflows.
template <class T>
[[nodiscard]] T* gc_new_array(std::size_t n) {
  static_assert(std::is_trivially_destructible_v<T>,
                "goro::gc_new_array<T>: T has a non-trivial destructor, and the collector never "
                "runs destructors");
  heap::detail::check_gc_alignment<T>();
  void* p = heap::detail::allocate(heap::detail::array_bytes(n, sizeof(T)),
                                   heap::detail::pointer_free_v<T>);
  T* a = static_cast<T*>(p);
  for (std::size_t i = 0; i < n; ++i) ::new (static_cast<void*>(a + i)) T();
  return a;
}

/// gc_new_array for element types the caller promises hold no GC pointers
/// (see gc_new_noscan).
template <class T>
[[nodiscard]] T* gc_new_array_noscan(std::size_t n) {
  static_assert(std::is_trivially_destructible_v<T>,
                "goro::gc_new_array_noscan<T>: T has a non-trivial destructor, and the collector "
                "never runs destructors");
  static_assert(!std::is_pointer_v<T>,
                "goro::gc_new_array_noscan<T>: T is a pointer; use gc_new_array<T>");
  heap::detail::check_gc_alignment<T>();
  void* p = heap::detail::allocate(heap::detail::array_bytes(n, sizeof(T)), true);
  T* a = static_cast<T*>(p);
  for (std::size_t i = 0; i < n; ++i) ::new (static_cast<void*>(a + i)) T();
  return a;
}

/// A new T whose destructor runs on goro's finalizer thread some time after
/// the object becomes unreachable (Go's runtime.SetFinalizer). There is no
/// promise when, or that it runs before the program exits; a cycle of
/// finalizable objects is never finalized. Keep finalizers for releasing
/// outside resources (a file descriptor) that a program forgot to close.
template <class T, class... Args>
[[nodiscard]] T* gc_new_with_finalizer(Args&&... args) {
  heap::detail::check_gc_alignment<T>();
  void* p = heap::detail::allocate(sizeof(T), false);
  T* obj = heap::detail::construct_at<T>(p, std::forward<Args>(args)...);
  if constexpr (!std::is_trivially_destructible_v<T>)
    heap::detail::register_finalizer(obj, &heap::detail::run_destructor<T>);
  return obj;
}

}  // namespace goro
