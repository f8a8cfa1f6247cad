#pragma once
// Boehm GC set-up, done once per process before any thread is registered:
// GC_INIT, automatic collection off (goro's driver decides when to collect),
// explicit thread registration allowed.

namespace goro::heap {

/// Idempotent and thread-safe. Called by the runtime at start-up and by
/// gc_new on first use.
void init();

}  // namespace goro::heap
