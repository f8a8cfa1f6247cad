// goro::context: cancellation trees, deadlines, done() and on_done in select.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <vector>

#include "goro.hpp"
#include "sched/detail/scheduler.hpp"
#include "tests/test_support.hpp"

namespace {

using namespace std::chrono_literals;
using goro::clock;
using goro::context;
using goro::context_error;

using goro::test::procs;

using goro::test::queued_timers;

TEST(Context, ADeadlineNeedsARunningRuntime) {
  EXPECT_THROW((void)context::background().with_timeout(1s), std::logic_error);
}

TEST(Context, BackgroundIsNeverDoneAndCannotBeCancelled) {
  context bg = context::background();
  EXPECT_FALSE(bg.is_done());
  EXPECT_EQ(bg.err(), context_error::none);
  EXPECT_FALSE(bg.deadline().has_value());
  EXPECT_THROW(bg.cancel(), std::logic_error);
}

TEST(Context, CancelWakesEveryWaiterOnce) {
  goro::run(
      []() -> goro::task<void> {
        context ctx = context::background().with_cancel();
        std::atomic<int> woke{0};
        std::vector<goro::join_handle<void>> hs;
        for (int i = 0; i < 100; ++i)
          hs.push_back(goro::spawn([](context ctx, std::atomic<int>* woke) -> goro::task<void> {
            co_await ctx.done();
            EXPECT_EQ(ctx.err(), context_error::cancelled);
            woke->fetch_add(1);
          }(ctx, &woke)));
        co_await goro::sleep_for(5ms);
        EXPECT_EQ(woke.load(), 0);
        ctx.cancel();
        ctx.cancel();  // idempotent
        for (auto& h : hs) co_await h;
        EXPECT_EQ(woke.load(), 100);
        co_await ctx.done();  // already done: returns at once
      }(),
      procs(2));
}

TEST(Context, CancellingAParentCancelsEveryDescendantButNotTheOtherWay) {
  context root = context::background().with_cancel();
  context a = root.with_cancel(), b = root.with_cancel();
  context a1 = a.with_cancel();
  a.cancel();
  EXPECT_EQ(a.err(), context_error::cancelled);
  EXPECT_EQ(a1.err(), context_error::cancelled);
  EXPECT_FALSE(root.is_done());
  EXPECT_FALSE(b.is_done());
  root.cancel();
  EXPECT_EQ(b.err(), context_error::cancelled);
  context late = a.with_cancel();  // from a cancelled parent: born cancelled
  EXPECT_EQ(late.err(), context_error::cancelled);
}

TEST(Context, ATimeoutCancelsWithDeadlineExceededAndWakesWaiters) {
  goro::run([]() -> goro::task<void> {
    auto t0 = clock::now();
    context ctx = context::background().with_timeout(30ms);
    EXPECT_TRUE(ctx.deadline().has_value());
    EXPECT_GE(ctx.deadline().value_or(t0), t0 + 30ms);
    context child = ctx.with_cancel();
    co_await child.done();
    EXPECT_GE(clock::now() - t0, 30ms);
    EXPECT_EQ(ctx.err(), context_error::deadline_exceeded);
    EXPECT_EQ(child.err(), context_error::deadline_exceeded);
    ctx.cancel();  // too late: the first reason stays
    EXPECT_EQ(ctx.err(), context_error::deadline_exceeded);
  }());
}

// Two parents, so that no assertion depends on how soon the task runs after
// a timer fires: the child with the earlier deadline of its own expires
// under a parent an hour away (so it expired by its own deadline, and the
// parent is certainly not done), and the child with the later deadline of
// its own expires with its parent's, not before it. (With one 20 ms parent,
// "the parent is not done once the 5 ms child is" failed on a loaded
// machine that ran the task more than 15 ms late.)
TEST(Context, AChildDeadlineIsTheEarlierOfItsOwnAndItsParents) {
  goro::run([]() -> goro::task<void> {
    context far_parent = context::background().with_timeout(1h);
    context sooner = far_parent.with_timeout(5ms);
    EXPECT_LT(*sooner.deadline(), *far_parent.deadline());
    co_await sooner.done();
    EXPECT_EQ(sooner.err(), context_error::deadline_exceeded);
    EXPECT_FALSE(far_parent.is_done());
    EXPECT_EQ(far_parent.err(), context_error::none);

    context near_parent = context::background().with_timeout(20ms);
    context later = near_parent.with_timeout(1h);
    EXPECT_EQ(*later.deadline(), *near_parent.deadline());
    co_await later.done();
    EXPECT_GE(clock::now(), *near_parent.deadline()) << "the child expired before its deadline";
    EXPECT_EQ(later.err(), context_error::deadline_exceeded);
    EXPECT_TRUE(near_parent.is_done());
  }());
}

TEST(Context, APassedDeadlineIsDoneAtOnceAndDroppedContextsLeaveNoTimer) {
  goro::run([]() -> goro::task<void> {
    context past = context::background().with_deadline(clock::now() - 1s);
    EXPECT_EQ(past.err(), context_error::deadline_exceeded);
    {
      context far = context::background().with_timeout(1h);
      EXPECT_EQ(queued_timers(), 1u);
    }
    EXPECT_EQ(queued_timers(), 0u);
    context c = context::background().with_timeout(1h);
    c.cancel();
    EXPECT_EQ(queued_timers(), 0u);  // a cancelled context stops its timer
    co_return;
  }());
}

TEST(Context, OnDoneInSelectBeatsASilentChannelAndLosesToAReadyOne) {
  goro::run([]() -> goro::task<void> {
    goro::chan<int> ch(1);
    context ctx = context::background().with_timeout(10ms);
    auto r = co_await goro::select(goro::on_recv(ch), goro::on_done(ctx));
    EXPECT_EQ(r.index(), 1u);

    context open = context::background().with_cancel();
    co_await ch.send(7);
    auto r2 = co_await goro::select(goro::on_recv(ch), goro::on_done(open));
    EXPECT_EQ(r2.index(), 0u);
    // The losing on_done left no waiter: cancelling now wakes nobody.
    open.cancel();

    // Waiting: a task cancels while we are parked in the select.
    context ctx3 = context::background().with_cancel();
    auto canceller = goro::spawn([](context c) -> goro::task<void> {
      co_await goro::sleep_for(5ms);
      c.cancel();
    }(ctx3));
    goro::chan<int> never;
    auto r3 = co_await goro::select(goro::on_recv(never), goro::on_done(ctx3));
    EXPECT_EQ(r3.index(), 1u);
    co_await canceller;
  }());
}

// Cancels race sends into selects that wait on both: every select fires one
// case, no value is lost or duplicated (TSan checks the locking).
TEST(Context, CancelRacingSendsLosesNothing) {
  goro::run(
      []() -> goro::task<void> {
        constexpr int kTasks = 200;
        goro::chan<int> ch;
        std::atomic<int> received{0}, cancelled{0}, sent{0};
        std::vector<context> ctxs;
        std::vector<goro::join_handle<void>> hs;
        for (int i = 0; i < kTasks; ++i) {
          ctxs.push_back(context::background().with_cancel());
          hs.push_back(goro::spawn([](goro::chan<int> ch, context c, std::atomic<int>* received,
                                      std::atomic<int>* cancelled) -> goro::task<void> {
            auto r = co_await goro::select(goro::on_recv(ch), goro::on_done(c));
            if (r.index() == 0)
              received->fetch_add(1);
            else
              cancelled->fetch_add(1);
          }(ch, ctxs.back(), &received, &cancelled)));
        }
        auto sender =
            goro::spawn([](goro::chan<int> ch, std::atomic<int>* sent) -> goro::task<void> {
              for (int i = 0; i < kTasks / 2; ++i) {
                auto r = co_await goro::select(goro::on_send(ch, i), goro::on_timeout(20ms));
                if (r.index() == 0) sent->fetch_add(1);
              }
            }(ch, &sent));
        for (int i = 0; i < kTasks; i += 2) ctxs[i].cancel();
        co_await sender;
        for (auto& c : ctxs) c.cancel();
        for (auto& h : hs) co_await h;
        EXPECT_EQ(received.load() + cancelled.load(), kTasks);
        EXPECT_EQ(received.load(), sent.load());
      }(),
      procs(2));
}

}  // namespace
