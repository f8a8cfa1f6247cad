// Scheduler micro benchmarks: Tokio's four (spawn_many, yield_many,
// ping_pong, chained_spawn; tokio-rs/tokio benches/rt_multi_threaded.rs, see
// ../shared/reference/executor-anchors.md §4.1) and fib(30) as tasks.
//
// Every benchmark runs inside ONE goro::run with 2 Ps: goro::run starts and
// stops the runtime, which is not what is measured, so the benchmark loop
// (`for (auto _ : state)`) runs inside the root task. The root task may
// resume on another worker thread after each co_await, so timings use real
// time and process CPU time (UseRealTime, MeasureProcessCPUTime), never the
// CPU time of one thread. Google Benchmark's State is touched by one task
// at a time; the scheduler's hand-offs order those touches.
//
//   build/release/bench/sched_bench --benchmark_repetitions=5
//
// Sizes are Tokio's: 10,000 spawns, 200 tasks x 1,000 yields, 1,000
// ping-pongs, a chain of 1,000. Waiting uses task_latch (bench/peers), a
// one-waiter countdown; a task_latch(1) is also the payload-less oneshot of
// the ping-pong benchmark (Tokio's oneshot::channel::<()>).

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <thread>

#include "bench/peers/latch.hpp"
#include "goro.hpp"
#include "heap/thread_attachment.hpp"

namespace {

using goro_peers::task_latch;

constexpr int kProcs = 2;
constexpr int64_t kSpawnMany = 10'000;
constexpr int64_t kYieldTasks = 200;
constexpr int64_t kYields = 1'000;
constexpr int64_t kPingPongs = 1'000;
constexpr int64_t kChain = 1'000;
constexpr int kFibN = 30;

// Runs body(state) as the root task of one goro::run with kProcs Ps.
template <class Body>
void in_runtime(benchmark::State& state, Body body) {
  goro::runtime_options opts;
  opts.max_procs = kProcs;
  goro::run(body(state), opts);
}

// ------------------------------------------------------------ spawn_many --

goro::task<void> count_down(task_latch* done) {
  done->count_down();
  co_return;
}

// spawn_many_local: a task spawns 10,000 tasks and waits for all of them.
void BM_spawn_many_local(benchmark::State& state) {
  in_runtime(state, [](benchmark::State& st) -> goro::task<void> {
    for (auto _ : st) {
      task_latch done(kSpawnMany);
      for (int64_t i = 0; i < kSpawnMany; ++i) goro::spawn(count_down(&done)).detach();
      co_await done.wait();
    }
    st.SetItemsProcessed(st.iterations() * kSpawnMany);
  });
}

// A counter a plain thread can block on while tasks count it down.
struct blocking_countdown {
  std::atomic<int64_t> left{0};
  void count_down() noexcept {
    if (left.fetch_sub(1, std::memory_order_acq_rel) == 1) left.notify_one();
  }
  void wait() noexcept {
    for (int64_t v = left.load(std::memory_order_acquire); v != 0;
         v = left.load(std::memory_order_acquire))
      left.wait(v, std::memory_order_acquire);
  }
};

goro::task<void> count_down_remote(blocking_countdown* done) {
  done->count_down();
  co_return;
}

// spawn_many_remote: 10,000 spawns from a thread that is not a goro worker
// (Tokio's spawn_many_remote_idle: rt.spawn from the benchmark thread). The
// thread calling goro::run is blocked inside it, so the root task starts a
// plain thread for the loop and waits for it with a latch; the 2 Ps stay
// free for the spawned tasks. From a non-worker, goro::spawn puts each task
// on the global queue (under the scheduler lock) and wakes an idle P.
void BM_spawn_many_remote(benchmark::State& state) {
  in_runtime(state, [](benchmark::State& st) -> goro::task<void> {
    task_latch finished(1);
    std::thread remote([&st, &finished] {
      goro::heap::thread_attachment attach;  // it allocates frames
      for (auto _ : st) {
        blocking_countdown done;
        done.left.store(kSpawnMany, std::memory_order_relaxed);
        for (int64_t i = 0; i < kSpawnMany; ++i) goro::spawn(count_down_remote(&done)).detach();
        done.wait();
      }
      st.SetItemsProcessed(st.iterations() * kSpawnMany);
      finished.count_down();
    });
    co_await finished.wait();
    remote.join();  // it has only its return left to do
  });
}

// ------------------------------------------------------------ yield_many --

goro::task<void> yield_k(task_latch* done) {
  for (int64_t j = 0; j < kYields; ++j) co_await goro::yield();
  done->count_down();
}

// yield_many: 200 tasks each yield 1,000 times.
void BM_yield_many(benchmark::State& state) {
  in_runtime(state, [](benchmark::State& st) -> goro::task<void> {
    for (auto _ : st) {
      task_latch done(kYieldTasks);
      for (int64_t i = 0; i < kYieldTasks; ++i) goro::spawn(yield_k(&done)).detach();
      co_await done.wait();
    }
    st.SetItemsProcessed(st.iterations() * kYieldTasks * kYields);
  });
}

// ------------------------------------------------------------- ping_pong --

goro::task<void> pong(task_latch* ping, task_latch* pong_back) {
  co_await ping->wait();
  pong_back->count_down();
}

goro::task<void> ping(task_latch* all_done) {
  task_latch ping_msg(1), pong_msg(1);  // two oneshot<()>
  goro::spawn(pong(&ping_msg, &pong_msg)).detach();
  ping_msg.count_down();
  co_await pong_msg.wait();
  all_done->count_down();
}

// ping_pong: 1,000 times, spawn a task that spawns a partner and exchanges
// two messages with it.
void BM_ping_pong(benchmark::State& state) {
  in_runtime(state, [](benchmark::State& st) -> goro::task<void> {
    for (auto _ : st) {
      task_latch done(kPingPongs);
      for (int64_t i = 0; i < kPingPongs; ++i) goro::spawn(ping(&done)).detach();
      co_await done.wait();
    }
    st.SetItemsProcessed(st.iterations() * kPingPongs);
  });
}

// --------------------------------------------------------- chained_spawn --

goro::task<void> chain_link(int64_t n, task_latch* done) {
  if (n == 0)
    done->count_down();
  else
    goro::spawn(chain_link(n - 1, done)).detach();
  co_return;
}

// chained_spawn: a chain of 1,000 tasks, each spawning the next.
void BM_chained_spawn(benchmark::State& state) {
  in_runtime(state, [](benchmark::State& st) -> goro::task<void> {
    for (auto _ : st) {
      task_latch done(1);
      goro::spawn(chain_link(kChain, &done)).detach();
      co_await done.wait();
    }
    st.SetItemsProcessed(st.iterations() * kChain);
  });
}

// ------------------------------------------------------------------- fib --

// Tasks in fib(n)'s call tree: 1 + tasks(n-1) + tasks(n-2); 2,692,537 at 30.
constexpr int64_t fib_tasks(int n) {
  return n < 2 ? 1 : 1 + fib_tasks(n - 1) + fib_tasks(n - 2);
}
constexpr int64_t fib_value(int n) {
  return n < 2 ? n : fib_value(n - 1) + fib_value(n - 2);
}

// Both children awaited in place: a frame each, symmetric transfer in and
// out, no scheduler involvement. The cost of a task as a function call.
goro::task<int64_t> fib_await(int n) {
  if (n < 2) co_return n;
  const int64_t a = co_await fib_await(n - 1);
  const int64_t b = co_await fib_await(n - 2);
  co_return a + b;
}

// Both children spawned and joined: every node but the root is a goroutine
// of its own, so the run queues, stealing and join wake-ups are exercised.
goro::task<int64_t> fib_spawn(int n) {
  if (n < 2) co_return n;
  auto a = goro::spawn(fib_spawn(n - 1));
  auto b = goro::spawn(fib_spawn(n - 2));
  const int64_t x = co_await a;
  const int64_t y = co_await b;
  co_return x + y;
}

// Fork-join as Cilk and libfork write it: spawn one child, await the other
// in place, then join. Half the spawns of fib_spawn.
goro::task<int64_t> fib_fork(int n) {
  if (n < 2) co_return n;
  auto a = goro::spawn(fib_fork(n - 1));
  const int64_t y = co_await fib_fork(n - 2);
  const int64_t x = co_await a;
  co_return x + y;
}

template <goro::task<int64_t> (*Fib)(int)>
void BM_fib(benchmark::State& state) {
  in_runtime(state, [](benchmark::State& st) -> goro::task<void> {
    for (auto _ : st) {
      const int64_t v = co_await Fib(kFibN);
      if (v != fib_value(kFibN)) st.SkipWithError("fib: wrong result");
    }
    st.SetItemsProcessed(st.iterations() * fib_tasks(kFibN));
  });
}

#define GORO_SCHED_BENCH(fn) BENCHMARK(fn)->UseRealTime()->MeasureProcessCPUTime()

GORO_SCHED_BENCH(BM_spawn_many_local);
GORO_SCHED_BENCH(BM_spawn_many_remote);
GORO_SCHED_BENCH(BM_yield_many);
GORO_SCHED_BENCH(BM_ping_pong);
GORO_SCHED_BENCH(BM_chained_spawn);
GORO_SCHED_BENCH(BM_fib<fib_await>)->Name("BM_fib_await/30");
GORO_SCHED_BENCH(BM_fib<fib_spawn>)->Name("BM_fib_spawn/30");
GORO_SCHED_BENCH(BM_fib<fib_fork>)->Name("BM_fib_fork/30");

}  // namespace

BENCHMARK_MAIN();
