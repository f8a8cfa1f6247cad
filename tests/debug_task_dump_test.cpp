// Task dumps (debug/task_dump.hpp): async stacks with await sites, wait
// reasons, spawn sites; the grouped and proto goroutine profiles; SIGQUIT;
// the fatal paths.

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "debug/task_dump.hpp"
#include "goro.hpp"
#include "net/tcp.hpp"
#include "sched/detail/debug_hooks.hpp"
#include "sched/detail/debug_word.hpp"
#include "tests/test_support.hpp"

namespace {

using goro::test::procs;

int g_recv_line = 0, g_inner_call_line = 0, g_spawn_line = 0, g_mutex_line = 0;

goro::task<int> inner_wait(goro::chan<int> ch) {
  g_recv_line = __LINE__ + 1;
  auto v = co_await ch.recv();
  co_return v.value_or(-1);
}

goro::task<void> outer_wait(goro::chan<int> ch) {
  g_inner_call_line = __LINE__ + 1;
  int v = co_await inner_wait(ch);
  (void)v;
}

goro::task<void> lock_waiter(goro::mutex* m) {
  g_mutex_line = __LINE__ + 1;
  co_await m->lock();
  m->unlock();
}

std::size_t count_state(const std::vector<goro::debug::task_record>& rs, const std::string& s) {
  std::size_t n = 0;
  for (const auto& r : rs) n += r.state == s;
  return n;
}

// Runs `check` inside a runtime where 5 tasks wait in outer_wait ->
// inner_wait -> chan receive, 1 waits on a mutex and 1 sleeps.
template <class Check>
void with_waiting_tasks(Check check) {
  goro::run(
      [](Check check) -> goro::task<void> {
        goro::chan<int> ch;
        goro::mutex m;
        co_await m.lock();
        std::vector<goro::join_handle<void>> hs;
        for (int i = 0; i < 5; ++i) {
          g_spawn_line = __LINE__ + 1;
          hs.push_back(goro::spawn(outer_wait(ch)));
        }
        hs.push_back(goro::spawn(lock_waiter(&m)));
        hs.push_back(goro::spawn(
            []() -> goro::task<void> { co_await goro::sleep_for(std::chrono::hours(1)); }()));
        bool ok = co_await goro::test::yield_until([] {
          auto rs = goro::debug::task_records();
          return count_state(rs, "chan receive") == 5 && count_state(rs, "mutex") == 1 &&
                 count_state(rs, "sleep") == 1;
        });
        EXPECT_TRUE(ok) << "the tasks never all parked";
        check();
        m.unlock();
        for (int i = 0; i < 5; ++i) co_await ch.send(i);
        for (int i = 0; i < 6; ++i) co_await std::move(hs[i]);
        // the sleeper is left to shutdown
      }(check),
      procs(2));
}

std::string here() {
  return std::string(__FILE__);
}

TEST(TaskDump, FullDumpShowsAsyncStacksWaitReasonsAndSpawnSites) {
  std::string dump;
  with_waiting_tasks([&] {
    std::ostringstream os;
    goro::write_task_dump(os);
    dump = os.str();
  });
  // The current task first, running, with its native stack.
  EXPECT_EQ(dump.find("task "), 0u) << dump;
  EXPECT_NE(dump.find("[running]:"), std::string::npos) << dump;
  const std::string chain = "[chan receive]:\n{anonymous}::inner_wait(goro::chan<int>)\n\t" +
                            here() + ":" + std::to_string(g_recv_line) +
                            "\n{anonymous}::outer_wait(goro::chan<int>)\n\t" + here() + ":" +
                            std::to_string(g_inner_call_line) + "\ncreated by ";
  std::size_t n = 0;
  for (std::size_t at = dump.find(chain); at != std::string::npos; at = dump.find(chain, at + 1))
    ++n;
  EXPECT_EQ(n, 5u) << "want 5 copies of\n" << chain << "\nin\n" << dump;
  EXPECT_NE(dump.find(here() + ":" + std::to_string(g_spawn_line) + "\n"), std::string::npos)
      << dump;
  EXPECT_NE(dump.find("[mutex]:\n{anonymous}::lock_waiter(goro::mutex*)\n\t" + here() + ":" +
                      std::to_string(g_mutex_line)),
            std::string::npos)
      << dump;
  EXPECT_NE(dump.find("[sleep]:\n"), std::string::npos) << dump;
}

TEST(TaskDump, RecordsGiveTheSameChain) {
  std::vector<goro::debug::task_record> rs;
  with_waiting_tasks([&] { rs = goro::debug::task_records(); });
  int seen = 0;
  for (const auto& r : rs) {
    if (r.state != "chan receive") continue;
    ++seen;
    ASSERT_EQ(r.frames.size(), 2u);
    EXPECT_EQ(r.frames[0].function, "{anonymous}::inner_wait(goro::chan<int>)");
    EXPECT_EQ(r.frames[0].line, static_cast<uint32_t>(g_recv_line));
    EXPECT_EQ(r.frames[1].function, "{anonymous}::outer_wait(goro::chan<int>)");
    EXPECT_EQ(r.frames[1].file, here());
    EXPECT_EQ(r.created_by.line, static_cast<uint32_t>(g_spawn_line));
    EXPECT_LT(r.waiting_s, 60u);
    EXPECT_GT(r.id, 0u);
  }
  EXPECT_EQ(seen, 5);
}

TEST(TaskDump, GroupedProfileCountsIdenticalChains) {
  std::string text;
  with_waiting_tasks([&] {
    std::ostringstream os;
    goro::debug::write_goroutine_profile(os, 1);
    text = os.str();
  });
  EXPECT_EQ(text.rfind("goroutine profile: total ", 0), 0u) << text;
  const std::string group = "5 @ [chan receive]\n#\t{anonymous}::inner_wait(goro::chan<int>)\t" +
                            here() + ":" + std::to_string(g_recv_line) +
                            "\n#\t{anonymous}::outer_wait(goro::chan<int>)\t";
  EXPECT_NE(text.find(group), std::string::npos) << text;
  EXPECT_NE(text.find("1 @ [mutex]\n#\t{anonymous}::lock_waiter(goro::mutex*)"), std::string::npos)
      << text;
  EXPECT_THROW(
      {
        std::ostringstream os;
        goro::debug::write_goroutine_profile(os, 3);
      },
      std::invalid_argument);
}

// Each parking awaitable records its own co_await's line (its
// await_suspend's defaulted std::source_location). Every waiter yields
// first, on another line, so an awaitable that recorded nothing would
// show the yield's line instead.
struct park_sites {
  goro::chan<int> unbuffered;
  goro::chan<int> never;  // the select's channel: only the context ends its wait
  goro::chan<int> wrapped;
  goro::mutex mu;
  goro::rw_mutex rw;
  goro::semaphore sem{0};
  goro::wait_group wg;
  goro::context ctx = goro::context::background().with_cancel();
  goro::join_handle<void> joined;
  std::atomic<bool> release_blocking{false};
  // Function name -> the parking co_await's line. Every key is here
  // before the tasks start: each writes its own entry (at(), no insert),
  // so tasks on two Ps never change the map's structure.
  std::map<std::string, int> line = {{"park_recv", 0},     {"park_select", 0}, {"park_sleep", 0},
                                     {"park_mutex", 0},    {"park_rw", 0},     {"park_sem", 0},
                                     {"park_wg", 0},       {"park_ctx", 0},    {"park_join", 0},
                                     {"park_blocking", 0}, {"park_wrapped", 0}};
};

goro::task<void> park_recv(park_sites* p) {
  co_await goro::yield();
  p->line.at("park_recv") = __LINE__ + 1;
  (void)co_await p->unbuffered.recv();
}
goro::task<void> park_select(park_sites* p) {
  co_await goro::yield();
  p->line.at("park_select") = __LINE__ + 1;
  (void)co_await goro::select(goro::on_recv(p->never), goro::on_done(p->ctx));
}
goro::task<void> park_sleep(park_sites* p) {
  co_await goro::yield();
  p->line.at("park_sleep") = __LINE__ + 1;
  co_await goro::sleep_for(std::chrono::hours(1));
}
goro::task<void> park_mutex(park_sites* p) {
  co_await goro::yield();
  p->line.at("park_mutex") = __LINE__ + 1;
  co_await p->mu.lock();
  p->mu.unlock();
}
goro::task<void> park_rw(park_sites* p) {
  co_await goro::yield();
  p->line.at("park_rw") = __LINE__ + 1;
  co_await p->rw.lock_shared();
  p->rw.unlock_shared();
}
goro::task<void> park_sem(park_sites* p) {
  co_await goro::yield();
  p->line.at("park_sem") = __LINE__ + 1;
  co_await p->sem.acquire();
}
goro::task<void> park_wg(park_sites* p) {
  co_await goro::yield();
  p->line.at("park_wg") = __LINE__ + 1;
  co_await p->wg.wait();
}
goro::task<void> park_ctx(park_sites* p) {
  co_await goro::yield();
  p->line.at("park_ctx") = __LINE__ + 1;
  co_await p->ctx.done();
}
goro::task<void> park_join(park_sites* p) {
  co_await goro::yield();
  p->line.at("park_join") = __LINE__ + 1;
  co_await std::move(p->joined);
}
goro::task<void> park_blocking(park_sites* p) {
  co_await goro::yield();
  auto wait = [p] {
    while (!p->release_blocking.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  // One line: GCC gives a co_await the line its operand ends on.
  p->line.at("park_blocking") = __LINE__ + 1;
  co_await goro::blocking(wait);
}

// An awaitable from outside goro that wraps a goro one: it records its own
// co_await's site by forwarding the typed handle and a defaulted site.
template <class Inner>
struct forwarding_awaiter {
  Inner inner;
  bool await_ready() { return inner.await_ready(); }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h,
                     std::source_location site = std::source_location::current()) {
    return inner.await_suspend(h, site);
  }
  auto await_resume() { return inner.await_resume(); }
};

goro::task<void> park_wrapped(park_sites* p) {
  co_await goro::yield();
  p->line.at("park_wrapped") = __LINE__ + 1;
  (void)co_await forwarding_awaiter<goro::chan<int>::recv_awaiter>{p->wrapped.recv()};
}

TEST(TaskDump, EveryParkingAwaitableRecordsItsCoAwaitLine) {
  std::vector<goro::debug::task_record> rs;
  std::map<std::string, int> line;
  goro::run(
      [](std::vector<goro::debug::task_record>* rs,
         std::map<std::string, int>* line) -> goro::task<void> {
        park_sites p;
        co_await p.mu.lock();
        co_await p.rw.lock();
        p.wg.add(1);
        p.joined = goro::spawn(park_recv(&p));  // park_join waits for it
        std::vector<goro::join_handle<void>> hs;
        goro::join_handle<void> sleeper = goro::spawn(park_sleep(&p));
        for (auto fn : {park_select, park_mutex, park_rw, park_sem, park_wg, park_ctx, park_join,
                        park_blocking, park_wrapped})
          hs.push_back(goro::spawn(fn(&p)));
        const std::size_t want = hs.size() + 2;
        bool ok = co_await goro::test::yield_until([&] {
          *rs = goro::debug::task_records();
          std::size_t parked = 0;
          for (const auto& r : *rs)
            parked += r.state != "running" && r.state != "runnable" && !r.frames.empty();
          return parked == want;
        });
        EXPECT_TRUE(ok) << "the tasks never all parked";
        *line = p.line;
        p.release_blocking = true;
        p.mu.unlock();
        p.rw.unlock();
        p.sem.release();
        p.wg.done();
        p.ctx.cancel();                 // the select and the context wait
        co_await p.unbuffered.send(1);  // park_recv, then park_join
        co_await p.wrapped.send(1);
        for (auto& h : hs) co_await std::move(h);
        // the sleeper is left to shutdown
      }(&rs, &line),
      procs(2));
  const std::map<std::string, std::string> want_state = {
      {"park_recv", "chan receive"}, {"park_select", "select"},       {"park_sleep", "sleep"},
      {"park_mutex", "mutex"},       {"park_rw", "rw_mutex"},         {"park_sem", "semacquire"},
      {"park_wg", "wait_group"},     {"park_ctx", "context done"},    {"park_join", "task join"},
      {"park_blocking", "blocking"}, {"park_wrapped", "chan receive"}};
  std::set<std::string> seen;
  for (const auto& r : rs) {
    if (r.frames.empty()) continue;
    const std::string& fn = r.frames[0].function;
    for (const auto& [name, state] : want_state) {
      if (fn != "{anonymous}::" + name + "(park_sites*)") continue;
      seen.insert(name);
      EXPECT_EQ(r.state, state) << name;
      EXPECT_EQ(r.frames[0].file, here()) << name;
      EXPECT_EQ(r.frames[0].line, static_cast<uint32_t>(line[name])) << name;
    }
  }
  std::string listed;
  for (const auto& r : rs)
    listed += r.state + ": " + (r.frames.empty() ? "-" : r.frames[0].function) + "\n";
  EXPECT_EQ(seen.size(), want_state.size()) << listed;
}

// `go tool pprof` reads the proto form: -traces lists each chain with its
// count and the state label.
int g_accept_line = 0, g_read_line = 0, g_read_call_line = 0;

goro::task<void> accept_one(goro::net::tcp_listener* l) {
  try {
    g_accept_line = __LINE__ + 1;
    goro::net::tcp_stream s = co_await l->accept();
    ADD_FAILURE() << "accepted a connection nobody made";
  } catch (const goro::net::net_error& e) {
    EXPECT_EQ(e.kind(), goro::net::error_kind::closed);
  }
}

goro::task<std::size_t> read_inner(goro::net::tcp_stream* s) {
  std::byte buf[16];
  g_read_line = __LINE__ + 1;
  co_return co_await s->read_some(buf);
}

goro::task<void> read_outer(goro::net::tcp_stream* s) {
  g_read_call_line = __LINE__ + 1;
  const std::size_t n = co_await read_inner(s);
  EXPECT_EQ(n, 0u);  // the peer closed
}

// The number of "[io wait, N minutes]:\n" headers in `dump` followed by
// `rest` (any N: Go prints the wait from one minute on). No std::regex:
// GCC 12's -Wmaybe-uninitialized fires inside it in the ASan build.
int minutes_waits(const std::string& dump, const std::string& rest = "") {
  static const std::string head = "[io wait, ";
  static const std::string tail = " minutes]:\n";
  int n = 0;
  for (auto at = dump.find(head); at != std::string::npos; at = dump.find(head, at + 1)) {
    std::size_t k = at + head.size();
    const std::size_t digits = k;
    while (k < dump.size() && dump[k] >= '0' && dump[k] <= '9') ++k;
    if (k == digits || dump.compare(k, tail.size(), tail) != 0) continue;
    if (dump.compare(k + tail.size(), rest.size(), rest) == 0) ++n;
  }
  return n;
}

// Tasks parked in the netpoller (accept, read) show `[io wait, N
// minutes]` and their await chain, as Go shows `[IO wait, N minutes]`.
TEST(TaskDump, NetOperationsShowIoWaitWithTheirChains) {
  std::string dump;
  goro::run(
      [](std::string* dump) -> goro::task<void> {
        auto l = goro::net::tcp_listener::listen("127.0.0.1:0");
        auto client = co_await goro::net::connect("127.0.0.1:" + std::to_string(l.port()));
        goro::net::tcp_stream server = co_await l.accept();
        auto reader = goro::spawn(read_outer(&client));
        auto acceptor = goro::spawn(accept_one(&l));
        bool ok = co_await goro::test::yield_until(
            [] { return count_state(goro::debug::task_records(), "io wait") == 2; });
        EXPECT_TRUE(ok) << "the reader and the acceptor never both parked in the netpoller";
        // Make the waits look at least 150 s old: move the coarse wait clock
        // on (the dump reads it once; sysmon moves it on from there, by the
        // seconds that pass). Retry if a task parked again after the move
        // (a late poller event wakes it, it finds nothing and parks with
        // the moved clock as its start): each try moves the clock 150 s
        // past the previous one.
        const uint32_t base = goro::detail::coarse_seconds();
        for (uint32_t i = 1; i <= 8 && minutes_waits(*dump) != 2; ++i) {
          goro::detail::set_coarse_seconds(base + 150 * i);
          std::ostringstream os;
          goro::write_task_dump(os);
          *dump = os.str();
        }
        l.close();       // the acceptor fails with net_error{closed}
        server.close();  // the reader sees end of stream
        co_await std::move(reader);
        co_await std::move(acceptor);
      }(&dump),
      procs(2));
  EXPECT_EQ(minutes_waits(dump, "{anonymous}::accept_one(goro::net::tcp_listener*)\n\t" + here() +
                                    ":" + std::to_string(g_accept_line) + "\ncreated by "),
            1)
      << dump;
  EXPECT_EQ(
      minutes_waits(dump, "{anonymous}::read_inner(goro::net::tcp_stream*)\n\t" + here() + ":" +
                              std::to_string(g_read_line) +
                              "\n{anonymous}::read_outer(goro::net::tcp_stream*)\n\t" + here() +
                              ":" + std::to_string(g_read_call_line) + "\ncreated by "),
      1)
      << dump;
}

TEST(TaskDump, ProtoProfileReadsInGoToolPprof) {
  if (std::system("go version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no go toolchain";
  std::string proto;
  with_waiting_tasks([&] {
    std::ostringstream os;
    goro::debug::write_goroutine_profile(os, 0);
    proto = os.str();
  });
  const std::string path = testing::TempDir() + "goro_goroutine.pb.gz";
  std::ofstream(path, std::ios::binary) << proto;
  const std::string cmd = "go tool pprof -symbolize=none -traces " + path + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << out;
  EXPECT_NE(out.find("Type: goroutine"), std::string::npos) << out;
  EXPECT_NE(out.find("state:  chan receive"), std::string::npos) << out;
  EXPECT_NE(out.find("         5   {anonymous}::inner_wait(goro::chan<int>)\n"
                     "             {anonymous}::outer_wait(goro::chan<int>)"),
            std::string::npos)
      << out;
}

// SIGQUIT: "SIGQUIT: quit", every task, exit status 2 (Go's behaviour).
void quit_with_waiting_tasks() {
  with_waiting_tasks([] { std::raise(SIGQUIT); });
  std::exit(0);  // not reached
}

// The dump walks the registry's shards, and a task sits in the shard of the M
// that first ran it, so the receivers and the mutex waiter may come in either
// order.
TEST(TaskDump, SigquitDumpsEveryTaskAndExits2) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const std::string recv =
      "\\[chan receive\\]:\n\\{anonymous\\}::inner_wait\\(goro::chan<int>\\)\n\t";
  const std::string mutex = "\\[mutex\\]:\n\\{anonymous\\}::lock_waiter";
  EXPECT_EXIT(quit_with_waiting_tasks(), testing::ExitedWithCode(2),
              "SIGQUIT: quit\n\n(.|\n)*(" + recv + "(.|\n)*" + mutex + "|" + mutex + "(.|\n)*" +
                  recv + ")");
}

void quit_with_traceback_none() {
  goro::detail::g_traceback.store(goro::detail::traceback_level::none);
  with_waiting_tasks([] { std::raise(SIGQUIT); });
  std::exit(0);
}

TEST(TaskDump, TracebackNonePrintsNoTasks) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(quit_with_traceback_none(), testing::ExitedWithCode(2), "^SIGQUIT: quit\n\n$");
}

goro::task<void> recurse(int n) {
  if (n > 0) co_await recurse(n - 1);
}

void overrun_stack() {
  goro::set_max_stack(1 << 16);
  goro::run(recurse(100000), procs(1));
  std::exit(0);
}

TEST(TaskDump, StackOverrunPrintsTheOffendingChain) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(overrun_stack(), testing::ExitedWithCode(2),
              "task stack exceeds 65536-byte limit(.|\n)*\n\ntask [0-9]+ \\[running\\]:\n"
              "\\{anonymous\\}::recurse\\(int\\)\n\t.*debug_task_dump_test.cpp:[0-9]+\n"
              "\\{anonymous\\}::recurse\\(int\\)\n(.|\n)*frames elided(.|\n)*created by ");
}

// set_max_threads overruns (sched/limits.cpp) print the task that wanted
// the thread, as a stack overrun does: its await chain when it is suspended
// (a blocking call that needs a pool thread; a pinned task whose M hands its
// P off as it parks), its native stack when it runs.
void sleep_until(const std::atomic<bool>* flag) {
  while (!flag->load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

constexpr int kBlockingCallLine = __LINE__ + 2;
goro::task<void> blocking_leaf(std::atomic<bool>* never) {
  co_await goro::blocking([never] { goro::blocking_region([never] { sleep_until(never); }); });
}

constexpr int kLeafCallLine = __LINE__ + 2;
goro::task<void> blocking_middle(std::atomic<bool>* never) {
  co_await blocking_leaf(never);
}

void exceed_threads_in_a_chain() {
  goro::set_max_threads(4);
  goro::run(
      []() -> goro::task<void> {
        std::atomic<bool> never{false};
        std::vector<goro::join_handle<void>> hs;
        for (int i = 0; i < 16; ++i) hs.push_back(goro::spawn(blocking_middle(&never)));
        for (auto& h : hs) co_await std::move(h);
      }(),
      procs(1));
  std::exit(0);  // not reached
}

TEST(TaskDump, ThreadLimitOverrunPrintsTheBlockingTasksChain) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const std::string file = ".*debug_task_dump_test\\.cpp:";
  EXPECT_EXIT(exceed_threads_in_a_chain(), testing::ExitedWithCode(2),
              "goro: program exceeds 4-thread limit \\([^)]*\\)\n\ntask [0-9]+ \\[blocking\\]:\n"
              "\\{anonymous\\}::blocking_leaf\\(std::atomic<bool>\\*\\)\n\t" +
                  file + std::to_string(kBlockingCallLine) +
                  "\n\\{anonymous\\}::blocking_middle\\(std::atomic<bool>\\*\\)\n\t" + file +
                  std::to_string(kLeafCallLine) + "\ncreated by [^\n]*\n\t" + file);
}

// GORO_TRACEBACK, read from the environment by goro::run: `all` prints the
// other tasks after the offending one, `none` no task, `crash` the dump and
// then abort() (no core file here: RLIMIT_CORE is 0 in the child).
void exceed_threads_with_traceback(const char* level) {
  setenv("GORO_TRACEBACK", level, 1);
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  goro::set_max_threads(4);
  goro::runtime_options o;
  o.max_procs = 1;  // read_environment stays true
  goro::run(
      []() -> goro::task<void> {
        std::atomic<bool> never{false};
        goro::chan<int> ch;
        std::vector<goro::join_handle<void>> hs;
        for (int i = 0; i < 16; ++i) hs.push_back(goro::spawn(blocking_middle(&never)));
        co_await outer_wait(ch);  // parks first: the blockers run once it has (one P)
      }(),
      o);
  std::exit(0);  // not reached
}

TEST(TaskDump, TracebackAllPrintsTheOtherTasksAfterTheOffendingOne) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(exceed_threads_with_traceback("all"), testing::ExitedWithCode(2),
              "program exceeds 4-thread limit [^\n]*\n\ntask [0-9]+ \\[blocking\\]:\n"
              "\\{anonymous\\}::blocking_leaf(.|\n)*\n\ntask [0-9]+ \\[chan receive\\]:\n"
              "\\{anonymous\\}::inner_wait\\(goro::chan<int>\\)\n\t[^\n]*\n"
              "\\{anonymous\\}::outer_wait\\(goro::chan<int>\\)\n");
}

TEST(TaskDump, TracebackSingleIsTheDefaultAndPrintsOnlyTheOffendingTask) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(exceed_threads_with_traceback("single"), testing::ExitedWithCode(2),
              "program exceeds 4-thread limit [^\n]*\n\ntask [0-9]+ \\[blocking\\]:\n"
              "\\{anonymous\\}::blocking_leaf[^\n]*\n\t[^\n]*\n"
              "\\{anonymous\\}::blocking_middle[^\n]*\n\t[^\n]*\n"
              "created by [^\n]*\n\t[^\n]*\n\n$");
}

TEST(TaskDump, TracebackNonePrintsOnlyTheMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(exceed_threads_with_traceback("none"), testing::ExitedWithCode(2),
              "^goro: program exceeds 4-thread limit \\([^)]*\\)\n\n$");
}

TEST(TaskDump, TracebackCrashAbortsAfterTheDump) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(exceed_threads_with_traceback("crash"), testing::KilledBySignal(SIGABRT),
              "program exceeds 4-thread limit [^\n]*\n\ntask [0-9]+ \\[blocking\\]:\n"
              "\\{anonymous\\}::blocking_leaf(.|\n)*\\[chan receive\\]:\n");
}

constexpr int kPinnedWaitLine = __LINE__ + 3;
goro::task<void> pinned_waiter(goro::chan<int> never) {
  co_await goro::lock_os_thread();
  co_await never.recv();
}

void exceed_threads_with_pinned_tasks() {
  goro::set_max_threads(5);
  goro::run(
      []() -> goro::task<void> {
        goro::chan<int> never;
        std::vector<goro::join_handle<void>> hs;
        for (int i = 0; i < 16; ++i) hs.push_back(goro::spawn(pinned_waiter(never)));
        for (auto& h : hs) co_await std::move(h);
      }(),
      procs(1));  // one P: only the pinned Ms' hand-offs start threads, never a spawn
  std::exit(0);   // not reached
}

TEST(TaskDump, ThreadLimitOverrunPrintsThePinnedTaskThatParked) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(exceed_threads_with_pinned_tasks(), testing::ExitedWithCode(2),
              "goro: program exceeds 5-thread limit [^\n]*\n\ntask [0-9]+ \\[chan receive\\]:\n"
              "\\{anonymous\\}::pinned_waiter\\(goro::chan<int>\\)\n\t"
              ".*debug_task_dump_test\\.cpp:" +
                  std::to_string(kPinnedWaitLine) + "\n(.|\n)*created by ");
}

void lower_threads_below_count() {
  goro::run(
      []() -> goro::task<void> {
        co_await goro::blocking([] {});
        goro::set_max_threads(1);
      }(),
      procs(1));
  std::exit(0);  // not reached
}

TEST(TaskDump, ThreadLimitLoweredByARunningTaskPrintsItsStack) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(lower_threads_below_count(), testing::ExitedWithCode(2),
              "goro: program exceeds 1-thread limit [^\n]*\n\ntask [0-9]+ \\[running\\]:\n"
              "(.|\n)*goro::set_max_threads(.|\n)*lower_threads_below_count(.|\n)*created by ");
}

// goro::fatal (a broken runtime invariant) prints the task that raised it,
// as Go's throw prints the goroutine, then aborts.
goro::task<void> fatal_inner() {
  goro::fatal("invariant broken on purpose");
  co_return;
}

goro::task<void> fatal_outer() {
  co_await fatal_inner();
}

void raise_fatal_in_a_task() {
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  goro::run(fatal_outer(), procs(1));
  std::exit(0);  // not reached
}

TEST(TaskDump, FatalErrorPrintsTheRunningTask) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(raise_fatal_in_a_task(), testing::KilledBySignal(SIGABRT),
              "^goro: fatal error: invariant broken on purpose\n\ntask [0-9]+ \\[running\\]:\n"
              "(.|\n)*goro::fatal(.|\n)*fatal_inner(.|\n)*created by ");
}

TEST(TaskDump, TracebackSettingIsValidated) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        setenv("GORO_TRACEBACK", "everything", 1);
        goro::run([]() -> goro::task<void> { co_return; }());
        std::exit(0);
      },
      testing::ExitedWithCode(2), "GORO_TRACEBACK=\"everything\": want none, single, all or crash");
}

TEST(TaskDump, CleansGccCoroutineNames) {
  EXPECT_EQ(goro::debug::clean_function_name("void f(f(int)::_Z1fi.Frame*)"), "f(int)");
  EXPECT_EQ(
      goro::debug::clean_function_name("void ns::c::m(ns::c::m(int) const::_ZNK2ns1c1mEi.Frame*)"),
      "ns::c::m(int) const");
  EXPECT_EQ(
      goro::debug::clean_function_name("void {anonymous}::r({anonymous}::r(int)::_Z1ri.Frame*)"),
      "{anonymous}::r(int)");
  EXPECT_EQ(goro::debug::clean_function_name("goro::task<int> {anonymous}::w(goro::chan<int>)"),
            "{anonymous}::w(goro::chan<int>)");
  EXPECT_EQ(goro::debug::clean_function_name("int main()"), "main()");
}

TEST(TaskDump, NoRuntimeNoTasks) {
  std::ostringstream os;
  goro::write_task_dump(os);
  EXPECT_EQ(os.str(), "goro: no runtime is running: no tasks\n");
  EXPECT_TRUE(goro::debug::task_records().empty());
}

}  // namespace
