#pragma once
// goro::unique_lock<M>: owns an exclusive lock on a goro::mutex or
// goro::rw_mutex and releases it when it goes out of scope.
//
//   auto lk = co_await m.scoped_lock();   // parks until locked
//   ... critical section ...
//                                         // unlocked here (or lk.unlock())
//
// Unlike std::unique_lock it is only made by the scoped_lock() awaitables
// (the lock is already held) and cannot re-lock: locking may park, which a
// constructor or a plain member function cannot do.

#include "sched/detail/lock_owner.hpp"

namespace goro {

template <class M>
class [[nodiscard]] unique_lock : public detail::lock_owner<M, detail::release_exclusive> {
 public:
  using detail::lock_owner<M, detail::release_exclusive>::lock_owner;
};

}  // namespace goro
