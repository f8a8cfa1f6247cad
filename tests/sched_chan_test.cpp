// goro::chan: rendezvous and buffered semantics, FIFO order, close, errors,
// handle sharing, many producers and consumers with no lost or duplicated
// values, GC visibility of buffered values. Modelled on Go's
// runtime/chan_test.go.

#include <gc.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "goro.hpp"
#include "heap/gc.hpp"
#include "heap/gc_new.hpp"
#include "tests/test_support.hpp"

namespace {

constexpr int kItemsPerProducer = goro::test::kSanitized ? 5'000 : 100'000;

using goro::test::procs;

static_assert(std::is_copy_constructible_v<goro::chan<int>>, "chan is a shared handle");
static_assert(std::is_nothrow_move_constructible_v<goro::chan<int>>);

TEST(Chan, UnbufferedSendWaitsForAReceiver) {
  goro::run(
      []() -> goro::task<void> {
        goro::chan<int> ch;
        std::atomic<bool> sent{false};
        auto sender = [](goro::chan<int> ch, std::atomic<bool>* sent) -> goro::task<void> {
          co_await ch.send(7);
          sent->store(true);
        };
        auto h = goro::spawn(sender(ch, &sent));
        for (int i = 0; i < 100; ++i) co_await goro::yield();
        EXPECT_FALSE(sent.load()) << "an unbuffered send completed with no receiver";
        auto v = co_await ch.recv();
        EXPECT_EQ(v, 7);
        co_await h;
        EXPECT_TRUE(sent.load());
      }(),
      procs(2));
}

TEST(Chan, BufferedSendsCompleteUntilFullAndKeepFifoOrder) {
  goro::run(
      []() -> goro::task<void> {
        goro::chan<int> ch(3);
        EXPECT_EQ(ch.capacity(), 3u);
        for (int i = 0; i < 3; ++i) co_await ch.send(i);  // must not park
        EXPECT_EQ(ch.size(), 3u);
        std::atomic<bool> fourth{false};
        auto h = goro::spawn([](goro::chan<int> ch, std::atomic<bool>* f) -> goro::task<void> {
          co_await ch.send(3);
          f->store(true);
        }(ch, &fourth));
        for (int i = 0; i < 100; ++i) co_await goro::yield();
        EXPECT_FALSE(fourth.load()) << "a send into a full buffer completed";
        for (int i = 0; i < 4; ++i) EXPECT_EQ(co_await ch.recv(), i);
        co_await h;
        EXPECT_EQ(ch.size(), 0u);
      }(),
      procs(2));
}

TEST(Chan, OneProducerKeepsItsOrderThroughASmallBuffer) {
  // Go's TestChan: values from one sender arrive in order, whether they go
  // through the buffer or are handed to a parked receiver.
  for (std::size_t cap : {0u, 1u, 2u, 5u, 100u}) {
    int bad = goro::run(
        [](std::size_t cap) -> goro::task<int> {
          goro::chan<int> ch(cap);
          constexpr int n = 20'000;
          auto prod = goro::spawn([](goro::chan<int> ch) -> goro::task<void> {
            for (int i = 0; i < n; ++i) co_await ch.send(i);
            ch.close();
          }(ch));
          int expect = 0, bad = 0;
          while (auto v = co_await ch.recv()) bad += *v != expect++;
          co_await prod;
          co_return bad + (expect != n);
        }(cap),
        procs(4));
    EXPECT_EQ(bad, 0) << "capacity " << cap;
  }
}

TEST(Chan, CloseWakesEveryParkedReceiverWithNoValue) {
  goro::run(
      []() -> goro::task<void> {
        goro::chan<int> ch;
        std::atomic<int> woke_empty{0};
        std::vector<goro::join_handle<void>> hs;
        for (int i = 0; i < 50; ++i)
          hs.push_back(goro::spawn([](goro::chan<int> ch, std::atomic<int>* n) -> goro::task<void> {
            auto v = co_await ch.recv();
            if (!v) n->fetch_add(1);
          }(ch, &woke_empty)));
        for (int i = 0; i < 100; ++i) co_await goro::yield();
        ch.close();
        for (auto& h : hs) co_await h;
        EXPECT_EQ(woke_empty.load(), 50);
        auto again = co_await ch.recv();  // closed and drained: never parks
        EXPECT_FALSE(again.has_value());
      }(),
      procs(4));
}

TEST(Chan, CloseMakesParkedSendersThrow) {
  goro::run(
      []() -> goro::task<void> {
        goro::chan<std::string> ch(1);
        co_await ch.send("buffered");
        std::atomic<int> threw{0};
        std::vector<goro::join_handle<void>> hs;
        for (int i = 0; i < 10; ++i)
          hs.push_back(
              goro::spawn([](goro::chan<std::string> ch, std::atomic<int>* n) -> goro::task<void> {
                try {
                  co_await ch.send("parked");
                } catch (const goro::channel_closed_error& e) {
                  if (std::string(e.what()) == "send on closed channel") n->fetch_add(1);
                }
              }(ch, &threw)));
        for (int i = 0; i < 100; ++i) co_await goro::yield();
        ch.close();
        for (auto& h : hs) co_await h;
        EXPECT_EQ(threw.load(), 10);
        // The value buffered before close can still be received.
        EXPECT_EQ(co_await ch.recv(), std::optional<std::string>("buffered"));
        EXPECT_FALSE((co_await ch.recv()).has_value());
      }(),
      procs(2));
}

TEST(Chan, SendOnClosedAndCloseOfClosedAreErrors) {
  goro::run([]() -> goro::task<void> {
    goro::chan<int> ch(4);
    co_await ch.send(1);
    ch.close();
    try {
      co_await ch.send(2);
      ADD_FAILURE() << "send on a closed channel did not throw";
    } catch (const goro::channel_closed_error& e) {
      EXPECT_STREQ(e.what(), "send on closed channel");
    }
    try {
      ch.close();
      ADD_FAILURE() << "second close did not throw";
    } catch (const std::logic_error& e) {
      EXPECT_STREQ(e.what(), "close of closed channel");
    }
    EXPECT_EQ(co_await ch.recv(), 1);
    EXPECT_EQ(co_await ch.recv(), std::nullopt);
  }());
}

TEST(Chan, CopiesShareOneChannelAndMovedFromIsNil) {
  goro::run([]() -> goro::task<void> {
    goro::chan<int> a(2);
    goro::chan<int> b = a;
    EXPECT_TRUE(a == b);
    co_await a.send(5);
    EXPECT_EQ(co_await b.recv(), 5);
    goro::chan<int> c = std::move(a);
    EXPECT_FALSE(static_cast<bool>(a));
    EXPECT_TRUE(c == b);
    bool threw = false;
    try {
      co_await a.send(1);
    } catch (const std::logic_error&) {
      threw = true;
    }
    EXPECT_TRUE(threw);
    EXPECT_THROW(a.close(), std::logic_error);
  }());
}

TEST(Chan, MoveOnlyValuesAreMovedThrough) {
  auto r = goro::run([]() -> goro::task<int> {
    goro::chan<std::unique_ptr<int>> ch(1);
    co_await ch.send(std::make_unique<int>(41));
    auto p = co_await ch.recv();
    co_return **p + 1;
  }());
  EXPECT_EQ(r, 42);
}

TEST(Chan, BufferedValuesLeftAtTheEndAreDestroyed) {
  auto counter = std::make_shared<int>(0);
  {
    goro::chan<std::shared_ptr<int>> ch(8);
    goro::run([](goro::chan<std::shared_ptr<int>> ch, std::shared_ptr<int> c) -> goro::task<void> {
      for (int i = 0; i < 5; ++i) co_await ch.send(c);
    }(ch, counter));
    EXPECT_EQ(counter.use_count(), 6);
  }
  EXPECT_EQ(counter.use_count(), 1) << "values still buffered when the channel died leaked";
}

// 8 producers x 8 consumers; every value arrives exactly once.
void many_to_many(std::size_t cap, int procs_n) {
  constexpr int kProducers = 8, kConsumers = 8;
  const int total = kProducers * kItemsPerProducer;
  std::vector<std::atomic<uint8_t>> seen(static_cast<std::size_t>(total));
  std::atomic<int64_t> received{0};
  goro::run(
      [](std::size_t cap, std::vector<std::atomic<uint8_t>>* seen,
         std::atomic<int64_t>* received) -> goro::task<void> {
        goro::chan<int> ch(cap);
        goro::wait_group producers;
        std::vector<goro::join_handle<void>> consumers;
        for (int c = 0; c < kConsumers; ++c)
          consumers.push_back(
              goro::spawn([](goro::chan<int> ch, std::vector<std::atomic<uint8_t>>* seen,
                             std::atomic<int64_t>* received) -> goro::task<void> {
                int64_t n = 0;
                while (auto v = co_await ch.recv()) {
                  (*seen)[static_cast<std::size_t>(*v)].fetch_add(1, std::memory_order_relaxed);
                  ++n;
                }
                received->fetch_add(n);
              }(ch, seen, received)));
        producers.add(kProducers);
        for (int p = 0; p < kProducers; ++p)
          goro::spawn([](goro::chan<int> ch, goro::wait_group* wg, int p) -> goro::task<void> {
            for (int i = 0; i < kItemsPerProducer; ++i) co_await ch.send(p * kItemsPerProducer + i);
            wg->done();
          }(ch, &producers, p))
              .detach();
        co_await producers.wait();
        ch.close();
        for (auto& h : consumers) co_await h;
      }(cap, &seen, &received),
      procs(procs_n));
  EXPECT_EQ(received.load(), total);
  int lost = 0, dup = 0;
  for (auto& s : seen) {
    uint8_t k = s.load();
    lost += k == 0;
    dup += k > 1;
  }
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(dup, 0);
}

TEST(Chan, EightProducersEightConsumersUnbufferedLoseAndDuplicateNothing) {
  many_to_many(0, 4);
}
TEST(Chan, EightProducersEightConsumersBufferedLoseAndDuplicateNothing) {
  many_to_many(64, 4);
}
TEST(Chan, EightProducersEightConsumersOnTwoProcs) {
  many_to_many(1, 2);
}

// ---- runtime shutdown ----------------------------------------------------

TEST(Chan, TasksParkedWhenTheRuntimeStopsLeaveNoWaiterBehind) {
  // Frames of tasks still parked when goro::run returns are destroyed; their
  // waiters must unlink, so the channel stays usable in a later run.
  goro::chan<int> ch, other;
  goro::run(
      [](goro::chan<int> ch, goro::chan<int> other) -> goro::task<void> {
        goro::spawn([](goro::chan<int> ch) -> goro::task<void> { (void)co_await ch.recv(); }(ch))
            .detach();
        goro::spawn([](goro::chan<int> ch, goro::chan<int> o) -> goro::task<void> {
          (void)co_await goro::select(goro::on_recv(ch), goro::on_send(o, 1));
        }(ch, other))
            .detach();
        for (int i = 0; i < 50; ++i) co_await goro::yield();
      }(ch, other),
      procs(2));
  int idx = goro::run([](goro::chan<int> ch, goro::chan<int> other) -> goro::task<int> {
    auto r = co_await goro::select(goro::on_send(ch, 5), goro::on_recv(other), goro::otherwise());
    co_return static_cast<int>(r.index());
  }(ch, other));
  EXPECT_EQ(idx, 2) << "a destroyed task's waiter was still linked";
}

TEST(Chan, AChannelHeldOnlyByParkedTasksIsFreedAtShutdown) {
  // The root drops its handles; only the parked tasks' frames hold the
  // channels. Destroying them in any order must not touch freed memory
  // (ASan), and the last one must free the channel: its buffered values are
  // destroyed then, which the token's use count shows.
  auto token = std::make_shared<int>(7);
  goro::run(
      [](std::shared_ptr<int> token) -> goro::task<void> {
        {
          goro::chan<std::string> ch;
          for (int i = 0; i < 4; ++i)
            goro::spawn([](goro::chan<std::string> ch) -> goro::task<void> {
              (void)co_await ch.recv();
            }(ch))
                .detach();
          goro::spawn([](goro::chan<std::string> ch) -> goro::task<void> {
            goro::chan<std::string> never;
            (void)co_await goro::select(goro::on_recv(never), goro::on_recv(ch));
          }(ch))
              .detach();
          // A full buffered channel with parked senders: buffer and
          // awaiters hold copies of the token.
          goro::chan<std::shared_ptr<int>> full(2);
          co_await full.send(token);
          co_await full.send(token);
          for (int i = 0; i < 3; ++i)
            goro::spawn(
                [](goro::chan<std::shared_ptr<int>> c, std::shared_ptr<int> t) -> goro::task<void> {
                  co_await c.send(std::move(t));
                }(full, token))
                .detach();
        }
        for (int i = 0; i < 50; ++i) co_await goro::yield();
        EXPECT_EQ(token.use_count(), 2 + 2 + 3)
            << "the test's and the root's, 2 buffered, 3 parked sends";
      }(token),
      procs(2));
  EXPECT_EQ(token.use_count(), 1) << "a channel held only by parked tasks was not freed";
}

// ---- GC visibility -------------------------------------------------------

struct gc_node {
  uint64_t magic;
  gc_node* self;
};

[[maybe_unused]] __attribute__((noinline)) void clear_stack() {
  volatile char buf[64 << 10];
  for (std::size_t i = 0; i < sizeof buf; i += 64) buf[i] = 0;
}

// Creates n nodes whose only strong references go into `sink` (if any);
// slots hold hidden pointers that the collector clears when a node dies.
[[maybe_unused]] __attribute__((noinline)) goro::task<void> fill(void** slots, int n,
                                                                 goro::chan<gc_node*>* sink) {
  for (int i = 0; i < n; ++i) {
    gc_node* x = goro::gc_new<gc_node>(gc_node{0xC0FFEEull + static_cast<uint64_t>(i), nullptr});
    x->self = x;
    slots[i] = reinterpret_cast<void*>(GC_HIDE_POINTER(x));
    GC_general_register_disappearing_link(&slots[i], x);
    if (sink) co_await sink->send(x);
  }
}

[[maybe_unused]] int count_cleared(void** slots, int n) {
  int c = 0;
  for (int i = 0; i < n; ++i) c += slots[i] == nullptr;
  return c;
}

TEST(Chan, BufferedValuesAreVisibleToTheCollector) {
#if defined(GORO_FRAMES_MALLOC)
  GTEST_SKIP() << "frames and channel buffers are malloc memory in this build";
#else
  constexpr int n = 500;
  static void* kept[n];
  static void* dropped[n];
  int kept_cleared = -1, dropped_cleared = -1, intact = 0;
  goro::run([](int* kc, int* dc, int* intact) -> goro::task<void> {
    goro::chan<gc_node*> ch(n);
    co_await fill(kept, n, &ch);         // the buffer holds the only references
    co_await fill(dropped, n, nullptr);  // control: nothing holds these
    clear_stack();
    goro::gc();
    goro::gc();
    *kc = count_cleared(kept, n);
    *dc = count_cleared(dropped, n);
    for (int i = 0; i < n; ++i) {
      gc_node* x = *co_await ch.recv();
      *intact += x->self == x && x->magic == 0xC0FFEEull + static_cast<uint64_t>(i);
    }
  }(&kept_cleared, &dropped_cleared, &intact));
  EXPECT_GE(dropped_cleared, n * 9 / 10)
      << "control: the collector should reclaim unreachable nodes";
  EXPECT_EQ(kept_cleared, 0) << "nodes referenced only from a channel buffer were collected";
  EXPECT_EQ(intact, n);
#endif
}

}  // namespace
