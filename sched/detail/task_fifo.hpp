#pragma once
// The global run queue's storage: a FIFO of task pointers kept in chunks of
// 510 (one 4 KiB block each), not linked through the tasks.
//
// Why not an intrusive list (Go's gQueue, Tokio's inject queue): moving a
// batch between a P's ring and a linked global queue writes, and later
// follows, the `next` word of every task, and by the time a task comes off
// the global queue its frame is cold, so each pop is a cache miss. Skynet
// spends ~20% of its time there (perf, 2 workers). Pointers in chunks move
// with memcpy-like loops over contiguous memory and no frame is touched
// until the task runs. One emptied chunk is kept as a spare so a queue that
// hovers around a chunk boundary does not allocate on every push. Chunks
// are runtime metadata (plain operator new, i.e. mimalloc): they hold task
// pointers whose frames are kept alive by the collector's roots elsewhere.
// Not thread-safe: the scheduler lock protects it.

#include <cstdint>

#include "sched/detail/task_header.hpp"

namespace goro::detail {

class task_fifo {
 public:
  task_fifo() = default;
  task_fifo(const task_fifo&) = delete;
  task_fifo& operator=(const task_fifo&) = delete;
  ~task_fifo() {
    while (head_) {
      chunk* c = head_;
      head_ = c->next;
      delete c;
    }
    delete spare_;
  }

  uint64_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  void push_back(task_header* t) {
    if (!tail_ || tail_->end == chunk::kCap) grow();
    tail_->v[tail_->end++] = t;
    ++size_;
  }

  void push_many(task_header* const* v, uint32_t n) {
    for (uint32_t i = 0; i < n;) {
      if (!tail_ || tail_->end == chunk::kCap) grow();
      uint32_t k = chunk::kCap - tail_->end;
      if (k > n - i) k = n - i;
      for (uint32_t j = 0; j < k; ++j) tail_->v[tail_->end + j] = v[i + j];
      tail_->end += k;
      i += k;
    }
    size_ += n;
  }

  task_header* pop_front() noexcept {
    if (size_ == 0) return nullptr;
    task_header* t = head_->v[head_->begin++];
    --size_;
    if (head_->begin == head_->end) retire_head();
    return t;
  }

 private:
  struct chunk {
    static constexpr uint32_t kCap = 510;
    chunk* next = nullptr;
    uint32_t begin = 0, end = 0;
    task_header* v[kCap];
  };

  void grow() {
    chunk* c = spare_ ? spare_ : new chunk;
    spare_ = nullptr;
    c->next = nullptr;
    c->begin = c->end = 0;
    if (tail_)
      tail_->next = c;
    else
      head_ = c;
    tail_ = c;
  }

  void retire_head() noexcept {
    chunk* c = head_;
    if (c == tail_) {  // the only chunk: reuse it in place
      c->begin = c->end = 0;
      return;
    }
    head_ = c->next;
    if (spare_)
      delete c;
    else
      spare_ = c;
  }

  chunk* head_ = nullptr;
  chunk* tail_ = nullptr;
  chunk* spare_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace goro::detail
