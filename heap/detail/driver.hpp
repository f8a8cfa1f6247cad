#pragma once
// Entry points the heap files use among themselves (not public API).

#include <cstddef>
#include <cstdint>

namespace goro::heap::detail {

/// True once init() has finished. An acquire load.
bool initialized() noexcept;

/// Computes the first trigger; init() calls it once Boehm is set up.
void start_driver();

/// True while the calling thread is inside a driver collection.
bool collecting_on_this_thread() noexcept;

/// Installs the out-of-memory hook and the warning filter (out_of_memory.cpp).
void install_out_of_memory_handling() noexcept;

/// Prints the heap statistics and the failed request, then dies.
[[noreturn]] void die_out_of_memory(std::size_t request) noexcept;

/// Which allocator an out-of-memory retry must use on this thread: the frame
/// pool sets `uncollectable` around its own Boehm calls (retrying a frame
/// request as a collectable object would let the collector free a live frame).
/// The out-of-memory hook's first resort (collector.cpp, "Holding a memory
/// limit"): an allocation of `request` bytes found the heap at its cap.
/// Either collects (the policy admits a limit-driven collection) or raises
/// the cap a step, then returns so the caller retries. Returns false when
/// neither can help (no cap is set, or it was already raised for this
/// request): the failure is the OS's, and the caller reports it.
bool make_room(std::size_t request, bool already_raised);

/// The heap bytes a collected object occupies: Boehm's size for it (its
/// size class: the size map rounds some requests up, 1025 bytes to 1360),
/// whole 4 KiB blocks for objects above half a block. What allocate()
/// charges toward the trigger.
int64_t occupied_bytes(const void* p) noexcept;

/// goro's scanned object kind (small_alloc.cpp): cleared on allocation, and
/// its descriptor covers the whole object, last word included (Boehm's
/// NORMAL kind skips it when interior pointers are on). Valid after init().
int scanned_kind();

enum class retry_kind { normal, uncollectable };
void set_retry_kind(retry_kind k) noexcept;

}  // namespace goro::heap::detail
