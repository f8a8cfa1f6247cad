#pragma once
// Holding coroutine-frame frees back while another thread reads frames it
// does not own (task dumps, debug/task_dump.cpp).
//
// A dump walks the await chains of tasks that run on other threads, without
// stopping them. A task it looks at may resume at any moment and free the
// frames of the coroutines it returns from. While a hold is active,
// frame_free parks every frame on a list instead of recycling it; the list
// is freed when the last hold ends. So a frame the reader reaches through a
// pointer that was valid when the hold began stays valid memory until the
// hold ends; the reader re-checks the task's state to tell a stale chain
// from a current one.
//
// Ordering is an asymmetric Dekker handshake (Linux membarrier, as in
// folly's asymmetric barrier and userspace RCU): frame_free reads the flag
// after a compiler-only barrier, and hold_frame_frees sets the flag and then
// issues membarrier(PRIVATE_EXPEDITED), which runs a full barrier on every
// thread of the process. Any free that missed the flag completed before the
// reader's first load. The cost on the free path is one relaxed load of a
// global that is written only by dumps.

#include <atomic>
#include <cstddef>

namespace goro::heap {

/// Starts a hold (nests). Returns false when the kernel offers no
/// membarrier: the caller must then not read other threads' frames.
bool hold_frame_frees() noexcept;
/// Ends a hold; the last one frees the frames held back.
void release_frame_frees() noexcept;

namespace detail {
inline constinit std::atomic<int> g_frame_holds{0};
/// frame_free's slow path while a hold is active: true if the frame was
/// kept for later.
bool defer_frame_free(void* p, std::size_t n) noexcept;
}  // namespace detail

}  // namespace goro::heap
