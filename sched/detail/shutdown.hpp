#pragma once
// Steps of goro::run's shutdown that live outside the scheduler loop.

namespace goro::detail {

struct scheduler;

/// Every worker has stopped, no frame is destroyed yet: takes each task
/// parked on a mutex, rw_mutex, semaphore, wait_group or once off that
/// primitive's queue (sched/shutdown.cpp).
void unlink_parked_waiters(scheduler& s) noexcept;

}  // namespace goro::detail
