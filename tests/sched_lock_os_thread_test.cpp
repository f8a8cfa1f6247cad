// lock_os_thread / unlock_os_thread: a pinned task runs only on its own
// thread (thread ids, thread_local state), its thread runs nothing else,
// locks nest, too many unlocks is an error the caller sees, a task that
// ends pinned takes its thread with it, and blocking(fn) from a pinned task
// runs on the pinned thread without stalling the P.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/spin_lock.hpp"
#include "goro.hpp"
#include "tests/test_support.hpp"

namespace {

using goro::test::procs;
using goro::test::yield_until;

using namespace std::chrono_literals;

// Thread-local state reached through functions the compiler cannot inline,
// so a coroutine that moved threads could not read a cached TLS address.
thread_local int tl_value = 0;
[[gnu::noinline]] int read_tl() {
  return tl_value;
}
[[gnu::noinline]] void write_tl(int v) {
  tl_value = v;
}
[[gnu::noinline]] std::thread::id this_thread_id() {
  return std::this_thread::get_id();
}

// Thread ids seen by tasks other than the pinned one.
struct id_log {
  goro::spin_lock lock;
  std::set<std::thread::id> ids;
  void add(std::thread::id id) {
    std::lock_guard lk(lock);
    ids.insert(id);
  }
};

goro::task<void> busy_logger(id_log* log, std::atomic<bool>* stop) {
  while (!stop->load()) {
    log->add(this_thread_id());
    co_await goro::yield();
  }
}

TEST(LockOSThread, PinnedTaskStaysOnItsThreadAndTheThreadRunsNothingElse) {
  struct result {
    bool same_thread = true;
    bool tl_kept = true;
    bool others_avoided_it = true;
    int others_seen = 0;
  };
  auto r = goro::run(
      []() -> goro::task<result> {
        result out;
        co_await goro::lock_os_thread();
        const auto mine = this_thread_id();
        write_tl(4242);
        id_log log;
        std::atomic<bool> stop{false};
        std::vector<goro::join_handle<void>> others;
        for (int i = 0; i < 6; ++i) others.push_back(goro::spawn(busy_logger(&log, &stop)));
        // A strict ping-pong (a baton holds one post), so no wake-up is lost.
        goro::test::baton ping, pong;
        auto pinger =
            goro::spawn([](goro::test::baton* ping, goro::test::baton* pong) -> goro::task<void> {
              for (int i = 0; i < 200; ++i) {
                ping->post();
                co_await pong->wait();
              }
            }(&ping, &pong));
        for (int i = 0; i < 400; ++i) {
          if (i % 2 == 0) {
            co_await goro::yield();
          } else {
            co_await ping.wait();  // woken from other threads
            pong.post();
          }
          if (this_thread_id() != mine) out.same_thread = false;
          if (read_tl() != 4242) out.tl_kept = false;
        }
        co_await pinger;
        stop = true;
        for (auto& h : others) co_await h;
        out.others_seen = static_cast<int>(log.ids.size());
        out.others_avoided_it = log.ids.count(mine) == 0;
        goro::unlock_os_thread();
        co_return out;
      }(),
      procs(2));
  EXPECT_TRUE(r.same_thread) << "a pinned task moved to another thread";
  EXPECT_TRUE(r.tl_kept) << "thread_local state changed under a pinned task";
  EXPECT_TRUE(r.others_avoided_it) << "another task ran on the pinned thread";
  EXPECT_GE(r.others_seen, 1);
}

TEST(LockOSThread, LocksNestAndTooManyUnlocksThrow) {
  auto r = goro::run(
      []() -> goro::task<std::vector<std::string>> {
        std::vector<std::string> out;
        co_await goro::lock_os_thread();
        co_await goro::lock_os_thread();
        const auto mine = this_thread_id();
        out.push_back(std::to_string(goro::thread_counts().locked));
        goro::unlock_os_thread();  // still pinned: one lock left
        bool stayed = true;
        for (int i = 0; i < 100; ++i) {
          co_await goro::yield();
          if (this_thread_id() != mine) stayed = false;
        }
        out.push_back(stayed ? "stayed" : "moved");
        goro::unlock_os_thread();
        out.push_back(std::to_string(goro::thread_counts().locked));
        try {
          goro::unlock_os_thread();
          out.push_back("no error");
        } catch (const std::logic_error& e) {
          out.push_back(e.what());
        }
        co_return out;
      }(),
      procs(2));
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0], "1");
  EXPECT_EQ(r[1], "stayed");
  EXPECT_EQ(r[2], "0");
  EXPECT_NE(r[3].find("more unlock_os_thread calls than lock_os_thread"), std::string::npos)
      << r[3];
}

goro::task<void> lock_in_a_callee() {
  co_await goro::lock_os_thread();
}

// The lock belongs to the goroutine (the spawned task), not to the awaited
// coroutine that took it.
TEST(LockOSThread, ALockTakenInAnAwaitedCalleePinsTheWholeTask) {
  auto r = goro::run(
      []() -> goro::task<std::string> {
        co_await lock_in_a_callee();
        const auto mine = this_thread_id();
        for (int i = 0; i < 100; ++i) {
          co_await goro::yield();
          if (this_thread_id() != mine) co_return "moved";
        }
        goro::unlock_os_thread();
        co_return std::to_string(goro::thread_counts().locked);
      }(),
      procs(2));
  EXPECT_EQ(r, "0");
}

TEST(LockOSThread, UnlockOutsideATaskThrows) {
  EXPECT_THROW(goro::unlock_os_thread(), std::logic_error);
}

// Marks, from its destructor, that the thread it lives in has exited.
struct exit_witness {
  std::atomic<int>* exits = nullptr;
  ~exit_witness() {
    if (exits) exits->fetch_add(1);
  }
};
thread_local exit_witness tl_witness;
[[gnu::noinline]] void arm_witness(std::atomic<int>* exits) {
  tl_witness.exits = exits;
}

TEST(LockOSThread, TaskThatEndsPinnedTakesItsThreadWithIt) {
  std::atomic<int> exits{0};
  auto r = goro::run(
      [](std::atomic<int>* exits) -> goro::task<std::vector<int>> {
        std::vector<int> out;
        const int workers_before = goro::thread_counts().workers;
        auto h = goro::spawn([](std::atomic<int>* exits) -> goro::task<std::thread::id> {
          co_await goro::lock_os_thread();
          arm_witness(exits);
          co_await goro::yield();
          co_return this_thread_id();  // ends pinned
        }(exits));
        const auto gone = co_await h;
        // The thread exits (its thread_local destructor runs) while the
        // runtime keeps going.
        out.push_back(co_await yield_until([exits] { return exits->load() == 1; }));
        out.push_back(goro::thread_counts().locked);
        // Other tasks still run, and never on the exited thread.
        id_log log;
        std::atomic<bool> stop{false};
        std::vector<goro::join_handle<void>> others;
        for (int i = 0; i < 4; ++i) others.push_back(goro::spawn(busy_logger(&log, &stop)));
        for (int i = 0; i < 100; ++i) co_await goro::yield();
        stop = true;
        for (auto& o : others) co_await o;
        out.push_back(static_cast<int>(log.ids.count(gone)));
        out.push_back(goro::thread_counts().workers >= 1 && workers_before >= 1);
        co_return out;
      }(&exits),
      procs(2));
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0], 1) << "the pinned thread did not exit when its task ended";
  EXPECT_EQ(r[1], 0);
  EXPECT_EQ(r[2], 0) << "a task ran on the thread of a task that ended pinned";
  EXPECT_EQ(r[3], 1);
}

TEST(LockOSThread, UnlockedThreadGoesBackToWork) {
  std::atomic<int> exits{0};
  goro::run(
      [](std::atomic<int>* exits) -> goro::task<void> {
        for (int round = 0; round < 20; ++round) {
          co_await goro::spawn([](std::atomic<int>* exits) -> goro::task<void> {
            co_await goro::lock_os_thread();
            arm_witness(exits);
            co_await goro::yield();
            goro::unlock_os_thread();  // ends unpinned: the thread stays
          }(exits));
        }
        // Twenty tasks unlocked before ending: no thread exited. (How many
        // workers exist is not checked: a pinned task's hand-offs may start
        // an M while another is on its way to the idle list, as in Go.)
        EXPECT_EQ(exits->load(), 0);
        EXPECT_EQ(goro::thread_counts().locked, 0);
      }(&exits),
      procs(2));
  // The witnesses fire at shutdown, when every worker exits.
  EXPECT_GE(exits.load(), 1);
}

TEST(LockOSThread, BlockingFromAPinnedTaskRunsOnItsThreadWithoutStallingTheP) {
  struct state {
    std::atomic<int64_t> spins{0};
    std::atomic<bool> stop{false};
  } st;
  struct result {
    bool same_thread = false;
    bool progressed = false;
    bool after = false;
  };
  auto r = goro::run(
      [](state* st) -> goro::task<result> {
        result out;
        auto spinner = goro::spawn([](state* st) -> goro::task<void> {
          while (!st->stop.load()) {
            st->spins.fetch_add(1);
            co_await goro::yield();
          }
        }(st));
        co_await goro::lock_os_thread();
        const auto mine = this_thread_id();
        for (int i = 0; i < 3; ++i) {
          auto [tid, ok] = co_await goro::blocking([st] {
            const int64_t from = st->spins.load();
            const int64_t end = goro::nanotime() + 20'000'000'000;
            while (st->spins.load() < from + 200 && goro::nanotime() < end)
              std::this_thread::sleep_for(100us);
            return std::pair{this_thread_id(), st->spins.load() >= from + 200};
          });
          out.same_thread = tid == mine;
          out.progressed = ok;
          out.after = this_thread_id() == mine;
          if (!out.same_thread || !out.progressed || !out.after) break;
        }
        goro::unlock_os_thread();
        st->stop = true;
        co_await spinner;
        co_return out;
      }(&st),
      procs(1));
  EXPECT_TRUE(r.same_thread) << "blocking(fn) of a pinned task ran on another thread";
  EXPECT_TRUE(r.progressed) << "the P stalled during a pinned task's blocking call";
  EXPECT_TRUE(r.after) << "the pinned task moved after its blocking call";
}

// Stress for TSan: several pinned tasks and plain tasks wake each other.
TEST(LockOSThread, ManyPinnedTasksPingPongWithPlainOnes) {
  constexpr int kPairs = 6, kRounds = 300;
  auto moved = goro::run(
      []() -> goro::task<int> {
        std::vector<goro::join_handle<int>> hs;
        std::vector<std::unique_ptr<goro::test::baton>> batons;
        for (int i = 0; i < 2 * kPairs; ++i)
          batons.push_back(std::make_unique<goro::test::baton>());
        for (int i = 0; i < kPairs; ++i) {
          goro::test::baton* a = batons[2 * i].get();
          goro::test::baton* b = batons[2 * i + 1].get();
          hs.push_back(
              goro::spawn([](goro::test::baton* in, goro::test::baton* out) -> goro::task<int> {
                co_await goro::lock_os_thread();
                const auto mine = this_thread_id();
                int moved = 0;
                for (int k = 0; k < kRounds; ++k) {
                  out->post();
                  co_await in->wait();
                  if (this_thread_id() != mine) ++moved;
                }
                co_return moved;  // ends pinned
              }(a, b)));
          hs.push_back(
              goro::spawn([](goro::test::baton* in, goro::test::baton* out) -> goro::task<int> {
                for (int k = 0; k < kRounds; ++k) {
                  co_await in->wait();
                  out->post();
                }
                co_return 0;
              }(b, a)));
        }
        int moved = 0;
        for (auto& h : hs) moved += co_await h;
        co_return moved;
      }(),
      procs(2));
  EXPECT_EQ(moved, 0);
}

}  // namespace
