#pragma once
// The collected heap's allocation entry points under gc_new and
// gc_allocator (defined in heap/collector.cpp).

#include <cstddef>

namespace goro::heap::detail {

/// Allocates `n` bytes of collected memory (zeroed unless pointer_free),
/// counts them toward the trigger, and may run a collection first. Never
/// returns null: out of memory after a collection and a retry is fatal.
void* allocate(std::size_t n, bool pointer_free);

/// Frees memory that allocate() returned and nothing else can still reach.
/// Blocks under 512 bytes are left to the collector (GC_FREE takes Boehm's
/// global lock, which costs more than they are worth).
void release(void* p, std::size_t n) noexcept;

using finalizer_fn = void (*)(void* obj, void* unused);
/// Registers `fn` to run on `obj` once it is unreachable (finalizer_thread.cpp).
void register_finalizer(void* obj, finalizer_fn fn);

}  // namespace goro::heap::detail
