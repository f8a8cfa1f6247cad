#pragma once
// Block and mutex profiles (Go's /debug/pprof/block and /debug/pprof/mutex)
// from timed task waits (sched/detail/block_timing.hpp), by the waiting
// task's async stack (its await sites, innermost first).
//
// block: time tasks spent parked on channels, select, mutexes, wait
// groups, semaphores, once, join handles and context done (not sleep,
// yield, blocking calls or IO wait, as Go leaves out time.Sleep, Gosched,
// syscalls and netpoll). Go's rate: a wait of `rate` ns or longer is always
// recorded, a shorter one with probability duration/rate.
// mutex: waits on goro::mutex and goro::rw_mutex, 1 in `fraction` of them,
// values scaled by `fraction` (Go scales the same way). Go attributes
// mutex delay to the stack that unlocked; goro attributes it to the
// waiter's await chain, which it has for free.
//
// Both are off by default (Go's defaults); while either is on, every park
// and resume of a task takes a clock read and a sharded lock.

#include <cstdint>
#include <string>

namespace goro::debug {

/// Go's runtime.SetBlockProfileRate: <= 0 off, 1 every wait, else the
/// sampling rate in ns. Returns the previous rate.
int64_t set_block_profile_rate(int64_t rate_ns);
/// Go's runtime.SetMutexProfileFraction: 0 off, n: 1 in n waits; a
/// negative value only reads. Returns the previous fraction.
int set_mutex_profile_fraction(int fraction);
/// The current settings (0: that profile is off, the default, and stays
/// empty; the debug server says so in an X-Goro-Profile-Off header).
int64_t block_profile_rate() noexcept;
int mutex_profile_fraction() noexcept;

/// gzip'd profile.proto: contentions/count, delay/nanoseconds.
std::string block_profile();
std::string mutex_profile();

}  // namespace goro::debug
