// Edges of the scheduler's public types (issue 11): sizes and durations at
// their limits, objects that outlive goro::run, two runs at once, awaiting
// from a coroutine that is not a goro task.

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <cmath>
#include <coroutine>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <limits>
#include <optional>
#include <ratio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "goro.hpp"
#include "sched/detail/scheduler.hpp"
#include "tests/test_support.hpp"

namespace {

using namespace std::chrono_literals;
using goro::context;
using goro::context_error;
using goro::test::procs;

// ---- chan capacity (Go: "makechan: size out of range") --------------------

template <class T>
void expect_capacity_refused(std::size_t cap) {
  try {
    goro::chan<T> ch(cap);
    ADD_FAILURE() << "chan<" << sizeof(T) << "-byte T>(" << cap << ") was made, capacity "
                  << ch.capacity();
  } catch (const std::length_error& e) {
    EXPECT_NE(std::string(e.what()).find("makechan: size out of range"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find(std::to_string(cap)), std::string::npos) << e.what();
  }
}

struct big {
  char bytes[4096];
};

TEST(ChanCapacity, ACapacityWhoseBufferWouldWrapOrPassTwoToThe48IsRefused) {
  constexpr std::size_t max = std::numeric_limits<std::size_t>::max();
  // These wrapped to a tiny buffer: capacity * sizeof(T) is a multiple of 2^64.
  expect_capacity_refused<uint64_t>(max / 4 + 1);
  expect_capacity_refused<uint64_t>(std::size_t{1} << 61);
  expect_capacity_refused<big>(std::size_t{1} << 52);
  expect_capacity_refused<std::string>(max / 2);
  // No wrap, but past any allocation (Go's maxAlloc).
  expect_capacity_refused<char>(max);
  expect_capacity_refused<char>((std::size_t{1} << 48) + 1);
  expect_capacity_refused<uint32_t>((std::size_t{1} << 46) + 1);
  // Ordinary capacities still work.
  goro::chan<uint64_t> ok(1000);
  EXPECT_EQ(ok.capacity(), 1000u);
}

}  // namespace
