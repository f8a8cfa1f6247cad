#pragma once
// Which types the collector need not scan.

#include <cstddef>
#include <type_traits>

namespace goro::heap::detail {

/// Arithmetic and enumeration types hold no pointers, so arrays of them go
/// to Boehm's pointer-free ("atomic") kind: never scanned, never zeroed by
/// Boehm. An integer that disguises a pointer (uintptr_t) does NOT keep its
/// object alive.
template <class T>
inline constexpr bool pointer_free_v =
    std::is_arithmetic_v<std::remove_cv_t<T>> || std::is_enum_v<std::remove_cv_t<T>>;

/// Boehm returns 16-byte-aligned memory on x86-64 (two-word granules).
inline constexpr std::size_t kMaxGcAlign = 16;

}  // namespace goro::heap::detail
