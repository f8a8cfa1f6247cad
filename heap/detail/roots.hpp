#pragma once
// Memory outside the collected heap that the collector scans as a root
// (heap/roots.cpp). Not public API.
//
//   root_alloc / root_free: blocks that are scanned but never collected
//     (Boehm's uncollectable kind), for runtime-held user values such as
//     on_gc_pressure callbacks and their captures.
//   Exceptions: every C++ exception object, from its allocation by `throw`
//     (or make_exception_ptr) to its release, is a scanned range, so a GC
//     pointer it carries stays alive in flight and while stored in an
//     exception_ptr (roots.cpp says how).

#include <cstddef>

namespace goro::heap::detail {

/// `n` zeroed bytes, 16-byte aligned, scanned by the collector and never
/// collected; initialises the heap on first use. Never null (out of memory
/// is fatal).
void* root_alloc(std::size_t n);

/// Frees a root_alloc block (null is ignored).
void root_free(void* p) noexcept;

/// Exception objects scanned as roots right now (for tests).
std::size_t exception_roots() noexcept;

/// Installs the collector hook that scans exception objects; called once by
/// heap::init().
void install_root_scanning();

}  // namespace goro::heap::detail
