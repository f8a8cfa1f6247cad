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

/// The same reason as a number: the /gc/mode/reason:reason metric. Values
/// are never renumbered (dashboards keep them).
enum class gc_mode_why : uint8_t {
  default_mode = 0,      ///< GORO_GC_MODE unset: stw
  asked_stw = 1,         ///< GORO_GC_MODE=stw
  asked_concurrent = 2,  ///< GORO_GC_MODE=concurrent, granted
  packaged_libgc = 3,    ///< concurrent asked for; goro built without the patched libgc
  uffd_refused = 4,      ///< concurrent asked for; userfaultfd() refused here
  uffd_no_async_wp = 5,  ///< concurrent asked for; no asynchronous write-protect (Linux < 6.7)
};

gc_mode_why gc_mode_reason_code() noexcept;

}  // namespace goro::heap
