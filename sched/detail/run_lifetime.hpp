#pragma once
// What outlives one goro::run: the claim that makes runs exclusive, and the
// run epoch that tells a join handle whether its task's frame still exists.
//
// Claim. goro::run takes the claim with one atomic exchange before doing
// anything else, so of two threads calling it at the same moment exactly
// one runs and the other gets the "already running" error; checking the
// scheduler pointer and storing it later (two steps) let both through, and
// one of them then parked for ever. The claim is given back after the
// scheduler is gone.
//
// Epoch. Every frame is destroyed when a run ends, but a join_handle (or
// anything else holding a frame) may live on in a global or a service
// object. The epoch counts the runs that have ended; a handle records it
// at spawn and, once it has moved on, treats its frame as gone.

#include <atomic>
#include <cstdint>
#include <stdexcept>

namespace goro::detail {

/// Runs ended so far (bumped after a run's frames are destroyed).
inline std::atomic<uint64_t> g_run_epoch{0};

inline uint64_t run_epoch() noexcept {
  return g_run_epoch.load(std::memory_order_acquire);
}

/// Held by goro::run for its whole duration (see the file comment).
class run_claim {
 public:
  run_claim() {
    if (claimed().exchange(true, std::memory_order_acq_rel))
      throw std::logic_error("goro::run: a goro runtime is already running in this process");
  }
  ~run_claim() {
    g_run_epoch.fetch_add(1, std::memory_order_acq_rel);
    claimed().store(false, std::memory_order_release);
  }
  run_claim(const run_claim&) = delete;
  run_claim& operator=(const run_claim&) = delete;

 private:
  static std::atomic<bool>& claimed() noexcept {
    static std::atomic<bool> c{false};
    return c;
  }
};

}  // namespace goro::detail
