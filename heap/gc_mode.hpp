#pragma once
// How collections run: stop-the-world (the default), or mostly-concurrent
// marking on goro's patched collector (GORO_GC_MODE=concurrent; see
// heap/gc_mode.cpp and third_party/bdwgc/README.md).

#include <cstdint>

namespace goro::heap {

enum class gc_mode : uint8_t {
  stw,         ///< every collection marks the whole heap with the world stopped
  concurrent,  ///< Boehm's incremental mode on the kernel's dirty-page tracking
};

const char* to_string(gc_mode m) noexcept;

/// The mode in force (fixed at start-up).
gc_mode current_gc_mode() noexcept;

/// Why that mode: "default", "GORO_GC_MODE=stw", "GORO_GC_MODE=concurrent",
/// or why concurrent was asked for and not given (the packaged libgc, the
/// kernel's userfaultfd refused...). A static string.
const char* gc_mode_reason() noexcept;

}  // namespace goro::heap
