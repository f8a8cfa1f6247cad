#pragma once
// Runs a function that may sleep (a futex wait, epoll_wait) with the calling
// thread marked as "blocked" for the collector (GC_do_blocking): a collection
// neither signals nor waits for it. The function must not touch GC objects.
// It costs a few hundred ns, so use it only around a real sleep.

#include <utility>

namespace goro::heap {

namespace detail {
void do_blocking(void (*fn)(void*), void* arg);
/// thread_attachment records the calling thread's registration, so a park
/// need not ask Boehm (which takes its allocation lock).
void note_registered(bool registered) noexcept;
}  // namespace detail

template <class F>
void blocking_region(F&& f) {
  auto thunk = [](void* p) { (*static_cast<std::remove_reference_t<F>*>(p))(); };
  detail::do_blocking(thunk, static_cast<void*>(&f));
}

}  // namespace goro::heap
