#pragma once
// The blocking pool's state (implementation in sched/blocking_pool.cpp).
// Internal; in a header so the scheduler can own it and tests can read it.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "sched/detail/blocking_job.hpp"

namespace goro::detail {

struct blocking_pool {
  struct worker {
    std::thread thread;
    bool exited = false;  // protected by blocking_pool::lock
    int number = 0;  // 1 for the first thread the pool started (trace tracks); set before start
  };

  // --- protected by `lock` ---
  std::mutex lock;
  std::condition_variable work;  // idle threads wait here for a job or stop
  blocking_job* head = nullptr;  // FIFO of jobs not yet started
  blocking_job* tail = nullptr;
  int queued = 0;   // jobs in the FIFO
  int idle = 0;     // threads waiting on `work` or between jobs (will pop)
  int running = 0;  // threads inside a job
  bool stopping = false;
  std::vector<std::unique_ptr<worker>> threads;  // live, and exited not yet joined
  uint64_t started_total = 0;                    // threads ever started (tests: reuse)

  int64_t keep_alive_ns = 0;  // read-only after start
};

}  // namespace goro::detail
