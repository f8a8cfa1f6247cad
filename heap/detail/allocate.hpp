#pragma once
// The collected heap's allocation entry points under gc_new and
// gc_allocator (defined in heap/collector.cpp).

#include <cstddef>

namespace goro::heap::detail {

/// Allocates `n` bytes of collected memory (zeroed unless pointer_free),
/// counts them toward the trigger, and may run a collection first. Never
/// returns null: out of memory after a collection and a retry is fatal.
void* allocate(std::size_t n, bool pointer_free);

/// One object (gc_new, gc_new_noscan) of `n` bytes, above the small-object
/// path's sizes: as allocate(), but without the byte Boehm adds for
/// one-past-the-end pointers (heap/exact_alloc.cpp says why a single
/// object does not need it and what it saves: a 4 KiB object takes one
/// block instead of two).
void* allocate_object(std::size_t n, bool pointer_free);

/// Frees memory that allocate() returned and nothing else can still reach.
/// Blocks under 512 bytes are left to the collector (GC_FREE takes Boehm's
/// global lock, which costs more than they are worth).
void release(void* p, std::size_t n) noexcept;

using finalizer_fn = void (*)(void* obj, void* unused);
/// Registers `fn` to run on `obj` once it is unreachable (finalizer_thread.cpp).
void register_finalizer(void* obj, finalizer_fn fn);

}  // namespace goro::heap::detail
