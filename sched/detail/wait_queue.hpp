#pragma once
// Intrusive FIFO lists of parked tasks (Go's waitq of sudogs).
//
// A wait_node lives in the awaiter object of the task that is parked, that
// is inside the task's coroutine frame, so parking allocates nothing and
// the node (and any value it points at) is as GC-visible as the frame.
//
// Every list belongs to one primitive and is protected by that primitive's
// lock; so are the prev/next/linked fields of every node on it. A node is
// linked at most once at a time. Removing a node clears its links (a stale
// word into a dead frame could keep garbage alive, see DESIGN.md).
//
// Waking protocol, shared by every user of these lists: the waker unlinks
// the node under the lock, writes any result into the parked task's
// awaiter, releases the lock and only then calls detail::ready(task). After
// ready() the waker must not touch the node again: the task may already
// be running on another worker and its frame may be gone. `linked` being
// false is therefore also how a resumed awaiter knows it was woken (the
// write happens-before its resumption through the run queue).

#include <cstddef>
#include <cstdint>

#include "sched/detail/task_header.hpp"

namespace goro::detail {

struct wait_node {
  wait_node* prev = nullptr;
  wait_node* next = nullptr;
  bool linked = false;
};

/// A FIFO of nodes of type N (derived from wait_node).
template <class N>
class wait_queue {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }
  N* front() const noexcept { return static_cast<N*>(head_); }

  void push_back(N* n) noexcept {
    wait_node* b = n;
    b->prev = tail_;
    b->next = nullptr;
    b->linked = true;
    if (tail_)
      tail_->next = b;
    else
      head_ = b;
    tail_ = b;
    ++size_;
  }

  N* pop_front() noexcept {
    wait_node* b = head_;
    if (!b) return nullptr;
    unlink(b);
    return static_cast<N*>(b);
  }

  /// Removes `n` if it is on this list (callers know it can only be on
  /// this one). Returns whether it was.
  bool remove(N* n) noexcept {
    wait_node* b = n;
    if (!b->linked) return false;
    unlink(b);
    return true;
  }

  /// Moves every node to `out` (appended), leaving this list empty.
  void splice_to(wait_queue& out) noexcept {
    while (N* n = pop_front()) out.push_back(n);
  }

 private:
  void unlink(wait_node* b) noexcept {
    if (b->prev)
      b->prev->next = b->next;
    else
      head_ = b->next;
    if (b->next)
      b->next->prev = b->prev;
    else
      tail_ = b->prev;
    b->prev = b->next = nullptr;
    b->linked = false;
    --size_;
  }

  wait_node* head_ = nullptr;
  wait_node* tail_ = nullptr;
  std::size_t size_ = 0;
};

/// A parked task in a sync primitive (mutex, rw_mutex, wait_group,
/// semaphore, once): the task and how much it asked for.
struct sync_waiter : wait_node {
  task_header* task = nullptr;
  int64_t amount = 0;  // semaphore permits; unused elsewhere
  /// The primitive, and how to take this node off its queue (taking the
  /// primitive's lock); set by note_parked.
  void* prim = nullptr;
  void (*unlink)(sync_waiter*) noexcept = nullptr;
};

/// Shutdown and sync primitives. When the root task of goro::run ends, the
/// frames of tasks still parked are destroyed in no particular order, and a
/// primitive may live in one of them, in a global, or in GC memory. A
/// waiter that unlinked itself from its frame's destructor could touch a
/// primitive in a frame destroyed before it; one that did not left a
/// dangling node in a primitive that lives on (a global wait_group crashed
/// the next run's done(), a unique_lock released at shutdown handed the
/// mutex to a freed node). So a task parked on a primitive records its node
/// (note_parked, under the primitive's lock), and shutdown, once every
/// worker has stopped and before any frame is destroyed, calls each parked
/// node's `unlink` while every primitive still exists
/// (unlink_parked_waiters, sched/shutdown.cpp). Channels and contexts keep
/// their state alive by reference count and need none of this.
inline void note_parked(task_header* t, sync_waiter* w, void* prim,
                        void (*unlink)(sync_waiter*) noexcept) noexcept {
  w->prim = prim;
  w->unlink = unlink;
  t->parked = w;
}

/// Called by the awaiter when its task resumes (woken or not parked).
inline void note_resumed(sync_waiter* w) noexcept {
  if (w->task && w->task->parked == w) w->task->parked = nullptr;
}

/// Wakes every waiter on `q`, which the caller detached from its primitive
/// under the primitive's lock and now owns; call it after unlocking. Each
/// node is unlinked before its task is readied, and not touched after.
template <class N, class Ready>
void wake_all(wait_queue<N>& q, Ready&& ready_fn) noexcept {
  while (N* n = q.pop_front()) ready_fn(n->task);
}

}  // namespace goro::detail
