// goro::signal: signals delivered through the poller as a cancelled
// context or a channel value.

#include <gtest/gtest.h>

#include <csignal>
#include <stdexcept>

#include "goro.hpp"
#include "tests/test_support.hpp"

namespace {

using namespace std::chrono_literals;
using goro::task;

// Waits for ctx to be done, at most `limit`; true if it was.
task<bool> done_within(goro::context ctx, std::chrono::milliseconds limit) {
  auto r = co_await goro::select(goro::on_done(ctx), goro::on_timeout(limit));
  co_return r.index() == 0;
}

TEST(NetSignal, NotifyContextIsCancelledBySignal) {
  goro::run(
      []() -> task<void> {
        goro::context ctx =
            goro::signal::notify_context(goro::context::background(), {SIGUSR1, SIGTERM});
        EXPECT_FALSE(ctx.is_done());
        EXPECT_FALSE(co_await done_within(ctx, 20ms));
        ::raise(SIGTERM);  // would end the process without the subscription
        EXPECT_TRUE(co_await done_within(ctx, 5s));
        EXPECT_EQ(ctx.err(), goro::context_error::cancelled);
        // A second context for the same signal.
        goro::context again = goro::signal::notify_context(goro::context::background(), {SIGUSR1});
        ::raise(SIGUSR1);
        EXPECT_TRUE(co_await done_within(again, 5s));
      }(),
      goro::test::procs(2));
}

TEST(NetSignal, NotifyChannelReceivesEachSignal) {
  goro::run(
      []() -> task<void> {
        goro::chan<int> sigs = goro::signal::notify({SIGUSR2, SIGHUP});
        ::raise(SIGUSR2);
        auto a = co_await sigs.recv();
        EXPECT_EQ(a.value_or(0), SIGUSR2);
        ::raise(SIGHUP);
        auto b = co_await sigs.recv();
        EXPECT_EQ(b.value_or(0), SIGHUP);
        goro::signal::stop(sigs);
        ::raise(SIGUSR2);  // caught, delivered to nobody
        auto r = co_await goro::select(goro::on_recv(sigs), goro::on_timeout(50ms));
        EXPECT_EQ(r.index(), 1u);
      }(),
      goro::test::procs(2));
}

TEST(NetSignal, ReservedSignalsAreRefused) {
  goro::run(
      []() -> task<void> {
        for (int sig : {SIGQUIT, SIGKILL, SIGSEGV, SIGPWR, SIGXCPU, 0, 4096}) {
          std::string what;
          try {
            (void)goro::signal::notify({sig});
          } catch (const std::invalid_argument& e) {
            what = e.what();
          }
          EXPECT_NE(what.find("signal " + std::to_string(sig)), std::string::npos) << what;
        }
        co_return;
      }(),
      goro::test::procs(1));
}

TEST(NetSignal, ARuntimeLaterStartsItsOwnDispatcher) {
  for (int round = 0; round < 2; ++round) {
    goro::run(
        []() -> task<void> {
          goro::context ctx = goro::signal::notify_context(goro::context::background(), {SIGUSR1});
          ::raise(SIGUSR1);
          EXPECT_TRUE(co_await done_within(ctx, 5s));
        }(),
        goro::test::procs(2));
  }
}

}  // namespace
