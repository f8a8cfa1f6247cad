#pragma once
// goro::shared_lock<M>: owns a shared (read) lock on a goro::rw_mutex and
// releases it when it goes out of scope.
//
//   auto rl = co_await rw.scoped_lock_shared();
//
// Made only by scoped_lock_shared(); see unique_lock.hpp for why it cannot
// re-lock.

#include "sched/detail/lock_owner.hpp"

namespace goro {

template <class M>
class [[nodiscard]] shared_lock : public detail::lock_owner<M, detail::release_shared> {
 public:
  using detail::lock_owner<M, detail::release_shared>::lock_owner;
};

}  // namespace goro
