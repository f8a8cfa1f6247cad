// What the collector can see (issue 11, items 1-3): objects reachable only
// from an on_gc_pressure callback's captures, only from an exception (in
// flight or stored in an exception_ptr), or only from the stack of a thread
// goro did not start, must survive collections; a thread that is not
// attached gets a clear error instead of silent loss.
//
// Each test holds its objects through a hidden pointer with a Boehm
// "disappearing link", which the collector clears when the object dies, and
// keeps a control group that nothing holds, to show the collector did run.

#include <gc.h>
#include <gtest/gtest.h>
#include <poll.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "goro.hpp"
#include "heap/detail/roots.hpp"

namespace {

struct node {
  uint64_t magic;
  node* self;
};
constexpr uint64_t kMagic = 0x5EED5EEDull;

// A set of n objects, each watched through a disappearing link.
template <int N>
struct watched {
  void* links[N] = {};
  bool made[N] = {};
  // Allocates object i and watches it (call from a noinline helper so no
  // copy of the pointer stays in this frame).
  node* make(int i) {
    node* x = goro::gc_new<node>(node{kMagic + static_cast<uint64_t>(i), nullptr});
    x->self = x;
    made[i] = true;
    links[i] = reinterpret_cast<void*>(GC_HIDE_POINTER(x));
    GC_general_register_disappearing_link(&links[i], x);
    return x;
  }
  int cleared() const {
    int c = 0;
    for (int i = 0; i < N; ++i) c += made[i] && links[i] == nullptr;
    return c;
  }
  ~watched() {
    for (void*& l : links)
      if (l) GC_unregister_disappearing_link(&l);
  }
};

[[maybe_unused]] __attribute__((noinline)) void clear_stack() {
  volatile char buf[64 << 10];
  for (std::size_t i = 0; i < sizeof buf; i += 64) buf[i] = 0;
}

[[maybe_unused]] __attribute__((noinline)) void collect_twice() {
  clear_stack();
  goro::gc();
  goro::gc();
}

[[maybe_unused]] bool intact(const node* x, int i) {
  return x && x->self == x && x->magic == kMagic + static_cast<uint64_t>(i);
}

// Control: objects nothing holds are collected (else the tests prove nothing).
[[maybe_unused]] __attribute__((noinline)) void make_garbage(watched<8>& w) {
  for (int i = 0; i < 8; ++i) (void)w.make(i);
}

// ---- 1. on_gc_pressure callbacks keep their captures alive ---------------

struct many {
  node* a;
  node* b;
  std::array<uint64_t, 6> pad;
  node* c;
};

std::atomic<uint64_t> g_sink{0};

__attribute__((noinline)) std::vector<goro::gc_pressure_subscription> subscribe(watched<8>& w) {
  std::vector<goro::gc_pressure_subscription> ids;
  // One pointer (std::function would keep it inline, in unscanned memory).
  ids.push_back(goro::on_gc_pressure(
      [p = w.make(0)](const goro::gc_pressure_event&) { g_sink += p->magic; }));
  // Several, past any small-buffer size.
  many m{w.make(1), w.make(2), {}, w.make(3)};
  ids.push_back(goro::on_gc_pressure(
      [m](const goro::gc_pressure_event&) { g_sink += m.a->magic + m.b->magic + m.c->magic; }));
  // A gc_vector (its storage is collected memory) captured by value.
  goro::gc_vector<node*> v;
  v.push_back(w.make(4));
  v.push_back(w.make(5));
  ids.push_back(goro::on_gc_pressure(
      [v = std::move(v)](const goro::gc_pressure_event&) { g_sink += v[0]->magic; }));
  // Through a named gc_pressure_callback, copied.
  goro::gc_pressure_callback cb = [q = w.make(6)](const goro::gc_pressure_event&) {
    g_sink += q->magic;
  };
  goro::gc_pressure_callback copy = cb;
  ids.push_back(goro::on_gc_pressure(copy));
  // A mutable lambda with a node it replaces.
  ids.push_back(goro::on_gc_pressure(
      [r = w.make(7)](const goro::gc_pressure_event&) mutable { g_sink += r->magic; }));
  return ids;
}

TEST(Visibility, GcObjectsCapturedByAPressureCallbackStayAlive) {
  goro::gc();
  watched<8> kept, dropped;
  auto ids = subscribe(kept);
  make_garbage(dropped);
  collect_twice();
  EXPECT_GE(dropped.cleared(), 7) << "control: unreachable nodes should be collected";
  EXPECT_EQ(kept.cleared(), 0) << "objects captured only by pressure callbacks were collected";
  for (auto id : ids) EXPECT_TRUE(goro::remove_gc_pressure_callback(id));
  // Unsubscribed: the captures are garbage now. Conservative scanning may
  // keep one or two through a stale word (under ASan, 2 of 6 runs kept two
  // at the end of session 6, cause not found); a removal that kept its
  // captures would keep all eight.
  collect_twice();
  EXPECT_GE(kept.cleared(), 6) << "a removed callback still holds its captures";
}

// ---- 2. exceptions carrying GC pointers ---------------------------------

struct my_error : std::runtime_error {
  node* p;
  explicit my_error(node* p) : std::runtime_error("my_error"), p(p) {}
};
struct plain_error {  // not a std::exception
  int code;
  node* p;
};
struct big_error {  // bigger than any inline buffer
  std::array<node*, 40> ps;
};

__attribute__((noinline)) goro::task<int> throw_my_error(watched<8>* w, int i) {
  co_await goro::yield();
  throw my_error(w->make(i));
}
__attribute__((noinline)) goro::task<void> throw_plain(watched<8>* w, int i) {
  co_await goro::yield();
  throw plain_error{7, w->make(i)};
}
__attribute__((noinline)) goro::task<void> throw_big(watched<8>* w, int i) {
  co_await goro::yield();
  big_error e{};
  e.ps[39] = w->make(i);
  throw e;
}

TEST(Visibility, AnExceptionStoredInATaskKeepsItsGcObjectsAlive) {
  goro::gc();
  watched<8> kept, dropped;
  goro::run([](watched<8>* kept, watched<8>* dropped) -> goro::task<void> {
    auto a = goro::spawn(throw_my_error(kept, 0));
    auto b = goro::spawn(throw_plain(kept, 1));
    auto c = goro::spawn(throw_big(kept, 2));
    while (!a.done() || !b.done() || !c.done()) co_await goro::yield();
    make_garbage(*dropped);
    collect_twice();  // the exceptions wait in the tasks' promises
    EXPECT_GE(dropped->cleared(), 7) << "control";
    EXPECT_EQ(kept->cleared(), 0) << "objects held only by stored exceptions were collected";
    try {
      (void)co_await a;
      ADD_FAILURE() << "no exception";
    } catch (const my_error& e) {
      EXPECT_TRUE(intact(e.p, 0));
    }
    try {
      co_await b;
      ADD_FAILURE() << "no exception";
    } catch (const plain_error& e) {
      EXPECT_TRUE(intact(e.p, 1));
    }
    try {
      co_await c;
      ADD_FAILURE() << "no exception";
    } catch (const big_error& e) {
      EXPECT_TRUE(intact(e.ps[39], 2));
    }
  }(&kept, &dropped));
}

TEST(Visibility, AnExceptionInFlightOrInAnExceptionPtrKeepsItsGcObjectsAlive) {
  goro::gc();
  watched<8> kept, dropped;
  make_garbage(dropped);
  // In the handler: a collection there (any allocation may run one).
  watched<8> inflight;
  try {
    throw my_error(inflight.make(0));
  } catch (const my_error& e) {
    collect_twice();
    EXPECT_EQ(inflight.cleared(), 0) << "collected while its exception was being handled";
    EXPECT_TRUE(intact(e.p, 0));
  }
  // Held by the program in an exception_ptr, in ordinary (unscanned) memory.
  auto* held = new std::vector<std::exception_ptr>;
  held->push_back(std::make_exception_ptr(plain_error{1, kept.make(1)}));
  try {
    throw big_error{{kept.make(2)}};
  } catch (...) {
    held->push_back(std::current_exception());
  }
  collect_twice();
  EXPECT_GE(dropped.cleared(), 7) << "control";
  EXPECT_EQ(kept.cleared(), 0) << "objects held only by exception_ptrs were collected";
  try {
    std::rethrow_exception((*held)[0]);
  } catch (const plain_error& e) {
    EXPECT_TRUE(intact(e.p, 1));
  }
  try {
    std::rethrow_exception((*held)[1]);
  } catch (const big_error& e) {
    EXPECT_TRUE(intact(e.ps[0], 2));
  }
  const std::size_t before = goro::heap::detail::exception_roots();
  delete held;  // the last references: the objects are freed and no longer scanned
  EXPECT_EQ(goro::heap::detail::exception_roots(), before - 2);
  collect_twice();
  EXPECT_GE(kept.cleared(), 2) << "a freed exception is still scanned";
}

TEST(Visibility, ExceptionsFromBlockingCallsAndFromTheRootTaskKeepTheirGcObjects) {
  goro::gc();
  watched<8> kept;
  // Through goro::blocking: stored in the awaiter until the task resumes.
  goro::run([](watched<8>* kept) -> goro::task<void> {
    try {
      co_await goro::blocking([kept] {
        node* x = kept->make(0);
        throw my_error(x);
      });
    } catch (const my_error& e) {
      EXPECT_TRUE(intact(e.p, 0));
    }
  }(&kept));
  // Out of goro::run: stored while the runtime shuts down, then rethrown.
  try {
    goro::run([](watched<8>* kept) -> goro::task<void> {
      co_await goro::yield();
      throw my_error(kept->make(1));
    }(&kept));
  } catch (const my_error& e) {
    collect_twice();
    EXPECT_TRUE(intact(e.p, 1));
  }
}

// ---- 3. threads goro did not start ---------------------------------------

TEST(Visibility, AnUnattachedThreadGetsAClearErrorFromGcNew) {
  goro::gc();  // the heap is up, on the main thread
  std::string what;
  std::thread([&] {
    try {
      (void)goro::gc_new<node>(node{1, nullptr});
    } catch (const std::logic_error& e) {
      what = e.what();
    }
    try {
      (void)goro::gc_new_array<node*>(1000);  // the large-object path too
      what += " | no error from gc_new_array";
    } catch (const std::logic_error&) {
    }
  }).join();
  EXPECT_NE(what.find("goro::thread_attachment"), std::string::npos) << what;
  EXPECT_EQ(what.find("no error"), std::string::npos) << what;
}

TEST(Visibility, AnAttachedThreadsStackKeepsItsObjectsAlive) {
  goro::gc();
  watched<8> kept, dropped;
  std::atomic<int> phase{0};
  int ok = 0;
  std::thread t([&] {
    goro::thread_attachment attach;
    node* held[8];
    for (int i = 0; i < 8; ++i) held[i] = kept.make(i);
    phase = 1;
    while (phase.load() != 2) std::this_thread::yield();
    for (int i = 0; i < 8; ++i) ok += intact(held[i], i);
    asm volatile("" : : "r"(held) : "memory");
  });
  while (phase.load() != 1) std::this_thread::yield();
  make_garbage(dropped);
  collect_twice();
  EXPECT_GE(dropped.cleared(), 7) << "control";
  EXPECT_EQ(kept.cleared(), 0) << "objects on an attached thread's stack were collected";
  phase = 2;
  t.join();
  EXPECT_EQ(ok, 8);
}

TEST(VisibilityDeathTest, AThreadThatIsFirstToTouchTheHeapStillMustAttach) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // A fresh process whose first heap use is on a thread of its own: that
  // thread is not left registered (it would exit registered and hang the
  // next collection), it gets the error, and the main thread still works.
  EXPECT_EXIT(
      {
        bool threw = false;
        std::thread([&] {
          try {
            (void)goro::gc_new<node>(node{1, nullptr});
          } catch (const std::logic_error&) {
            threw = true;
          }
        }).join();
        std::thread([] {
          goro::thread_attachment a;
          (void)goro::gc_new<node>(node{2, nullptr});
        }).join();
        node* x = goro::gc_new<node>(node{3, nullptr});
        goro::gc();
        std::exit(threw && x->magic == 3 ? 0 : 1);
      },
      testing::ExitedWithCode(0), "");
}

// ---- 10. signals inside goro::blocking -----------------------------------

// Collections stop the world with signals: a poll in a blocking call is cut
// short with EINTR (the documented behaviour), unless it runs inside
// goro::blocking_region, which collections neither signal nor wait for.
TEST(Visibility, ABlockingRegionIsNotInterruptedByCollections) {
  using namespace std::chrono;
  std::atomic<bool> stop{false};
  std::thread collector([&] {
    goro::thread_attachment attach;
    while (!stop.load()) {
      goro::gc();
      std::this_thread::sleep_for(5ms);
    }
  });
  int plain_rc = 0, plain_errno = 0, region_rc = -2;
  milliseconds region_took{};
  goro::run([](int* prc, int* perr, int* rrc, milliseconds* took) -> goro::task<void> {
    co_await goro::blocking([&] {
      *prc = ::poll(nullptr, 0, 2000);
      *perr = errno;
    });
    co_await goro::blocking([&] {
      const auto t0 = steady_clock::now();
      goro::blocking_region([&] { *rrc = ::poll(nullptr, 0, 300); });
      *took = duration_cast<milliseconds>(steady_clock::now() - t0);
    });
  }(&plain_rc, &plain_errno, &region_rc, &region_took));
  stop = true;
  collector.join();
  EXPECT_EQ(plain_rc, -1) << "a poll outside a blocking region was expected to see EINTR";
  EXPECT_EQ(plain_errno, EINTR);
  EXPECT_EQ(region_rc, 0) << "the poll in a blocking region was interrupted";
  EXPECT_GE(region_took.count(), 300);
}

}  // namespace
