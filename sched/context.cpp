// goro::context: the cancellation tree (see sched/context.hpp for the
// semantics).
//
// Ownership: a child holds its parent (shared_ptr) for its deadline and to
// unlink itself; a parent knows its children only weakly, through a link
// node inside each child, so dropping a child's last handle frees it.
//
// Locks: each node has one short lock for its waiters, its children list
// and the link nodes of its children. cancel() never holds two at once: it
// marks the node done and detaches its waiters and children under its own
// lock, wakes the waiters after unlocking, then cancels each child (which
// takes the child's lock) and finally unlinks itself from its parent (the
// parent's lock). The timer's fire calls cancel() with no lock held, and
// the destructor's timer_del waits for a running fire, so a fire never
// touches a freed node.

#include "sched/context.hpp"

#include <vector>

namespace goro {

const char* to_string(context_error e) noexcept {
  switch (e) {
    case context_error::none:
      return "none";
    case context_error::cancelled:
      return "context cancelled";
    case context_error::deadline_exceeded:
      return "context deadline exceeded";
  }
  return "?";
}

namespace detail {

context_state::context_state(std::shared_ptr<context_state> parent, int64_t deadline,
                             bool own_timer) noexcept
    : parent_(std::move(parent)), deadline_(deadline), own_timer_(own_timer) {}

context_state::~context_state() {
  if (timer_started_) timer_del(&timer_);  // waits out a fire in progress
  if (parent_) parent_->unlink_child(&in_parent_);
}

void context_state::unlink_child(child_link* c) noexcept {
  short_lock_guard lk(lock_);
  children_.remove(c);
}

void context_state::attach(const std::shared_ptr<context_state>& child) {
  if (context_state* parent = child->parent_.get()) {
    context_error parent_err;
    {
      short_lock_guard lk(parent->lock_);
      parent_err = parent->err_.load(std::memory_order_relaxed);
      if (parent_err == context_error::none) {
        child->in_parent_.child = child;
        parent->children_.push_back(&child->in_parent_);
      }
    }
    if (parent_err != context_error::none) {
      child->cancel(parent_err);
      return;
    }
  }
  if (child->own_timer_) {
    if (child->deadline_ <= nanotime()) {
      child->cancel(context_error::deadline_exceeded);
      return;
    }
    child->timer_.when = child->deadline_;
    child->timer_.arg = child.get();
    child->timer_.fire = [](timer_node* n) noexcept -> task_header* {
      static_cast<context_state*>(n->arg)->cancel(context_error::deadline_exceeded);
      return nullptr;
    };
    child->timer_started_ = true;
    timer_add(&child->timer_);
  }
}

void context_state::cancel(context_error why) noexcept {
  wait_queue<ctx_waiter> wake;
  std::vector<std::shared_ptr<context_state>> kids;
  {
    short_lock_guard lk(lock_);
    if (err_.load(std::memory_order_relaxed) != context_error::none) return;  // once
    err_.store(why, std::memory_order_release);
    // Waiters: plain ones all wake; a select's wakes if this case wins it.
    while (ctx_waiter* w = waiters_.pop_front()) {
      if (w->sel && !w->sel->try_claim(w->index)) continue;  // another case fired
      wake.push_back(w);
    }
    while (child_link* c = children_.pop_front())
      if (auto k = c->child.lock()) kids.push_back(std::move(k));
  }
  // Wake after unlocking; a node is not touched after its task is ready.
  while (ctx_waiter* w = wake.pop_front()) {
    if (w->notify)
      w->notify(w);
    else
      ready(w->task);
  }
  for (auto& k : kids) k->cancel(why);
  // A done context no longer needs its timer or its place in the parent.
  // timer_remove never waits: called from the timer's own fire it just
  // finds the node running (this very call).
  if (timer_started_) timer_remove(&timer_);
  if (parent_) parent_->unlink_child(&in_parent_);
}

}  // namespace detail

context context::with_cancel() const {
  auto s = std::make_shared<detail::context_state>(s_, s_ ? s_->deadline() : 0, false);
  detail::context_state::attach(s);
  return context(std::move(s));
}

context context::with_deadline_ns(int64_t when) const {
  const int64_t inherited = s_ ? s_->deadline() : 0;
  // The parent's earlier deadline cancels the parent, hence this child: a
  // timer of our own is needed only when our deadline is the earlier one.
  const bool own = inherited == 0 || when < inherited;
  auto s = std::make_shared<detail::context_state>(s_, own ? when : inherited, own);
  detail::context_state::attach(s);
  return context(std::move(s));
}

void context::cancel() const {
  if (!s_)
    throw std::logic_error(
        "goro::context::cancel: the background context cannot be cancelled; cancel a context "
        "made with with_cancel, with_timeout or with_deadline");
  s_->cancel(context_error::cancelled);
}

context_error context::err() const noexcept {
  return s_ ? s_->err() : context_error::none;
}

std::optional<clock::time_point> context::deadline() const noexcept {
  if (!s_ || s_->deadline() == 0) return std::nullopt;
  return clock::time_point(std::chrono::nanoseconds(s_->deadline()));
}

}  // namespace goro
