// GORO_GC, GORO_MEMLIMIT and GORO_DEBUG=gctrace=1, read once when the heap
// starts. Every case runs in a death-test child (re-executed, threadsafe
// style) that sets the variable before anything touches the heap.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>

#include "heap/collector_init.hpp"
#include "heap/gc.hpp"
#include "heap/gc_new.hpp"
#include "heap/gc_settings.hpp"
#include "tests/heap_test_support.hpp"

namespace {

using goro::test::allocate_garbage;
using goro::test::blob;

class HeapPacerEnv : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

void start_with(const char* var, const char* value) {
  setenv(var, value, 1);
  goro::heap::init();
}

TEST_F(HeapPacerEnv, MalformedGcPercentStopsStartUp) {
  EXPECT_EXIT(start_with("GORO_GC", "abc"), ::testing::ExitedWithCode(2),
              "^goro: GORO_GC=\"abc\": want off or a percentage in \\[0, 1000000000\\] "
              "\\(e\\.g\\. GORO_GC=100\\)\n$");
  EXPECT_EXIT(start_with("GORO_GC", "-5"), ::testing::ExitedWithCode(2), "GORO_GC=\"-5\": want");
  EXPECT_EXIT(start_with("GORO_GC", "OFF"), ::testing::ExitedWithCode(2), "GORO_GC=\"OFF\": want");
}

TEST_F(HeapPacerEnv, MalformedMemoryLimitStopsStartUp) {
  EXPECT_EXIT(start_with("GORO_MEMLIMIT", "512MB"), ::testing::ExitedWithCode(2),
              "^goro: GORO_MEMLIMIT=\"512MB\": want off or a byte count with an optional B, "
              "KiB, MiB, GiB or TiB suffix \\(e\\.g\\. GORO_MEMLIMIT=900MiB\\)\n$");
  EXPECT_EXIT(start_with("GORO_MEMLIMIT", "1.5GiB"), ::testing::ExitedWithCode(2),
              "GORO_MEMLIMIT=\"1.5GiB\": want");
  EXPECT_EXIT(start_with("GORO_MEMLIMIT", "99999999999TiB"), ::testing::ExitedWithCode(2),
              "GORO_MEMLIMIT=\"99999999999TiB\": want");
}

TEST_F(HeapPacerEnv, MalformedGctraceStopsStartUp) {
  EXPECT_EXIT(start_with("GORO_DEBUG", "gctrace=2"), ::testing::ExitedWithCode(2),
              "GORO_DEBUG gctrace=\"2\": want");
}

TEST_F(HeapPacerEnv, WellFormedValuesAreTheStartingSettings) {
  EXPECT_EXIT(
      {
        setenv("GORO_GC", "off", 1);
        setenv("GORO_MEMLIMIT", "900MiB", 1);
        const bool ok =
            goro::set_memory_limit(-1) == int64_t{900} << 20 && goro::set_gc_percent(50) == -1;
        std::exit(ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(
      {
        setenv("GORO_GC", "250", 1);
        setenv("GORO_MEMLIMIT", "off", 1);
        const bool ok =
            goro::set_memory_limit(-1) == goro::no_memory_limit && goro::set_gc_percent(100) == 250;
        std::exit(ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// One line per collection, Go's shape plus goro's reason and state.
constexpr const char* kBody =
    "@[0-9]+\\.[0-9]{3}s [0-9]+%: [0-9]+\\.[0-9]{3}\\+[0-9]+\\.[0-9]{3}\\+[0-9]+\\.[0-9]{3} "
    "ms clock, [0-9]+ ms cpu, [0-9]+->[0-9]+->[0-9]+ MB, ";

TEST_F(HeapPacerEnv, GctracePrintsOneLinePerCollection) {
  const std::string forced =
      std::string("^gc 1 ") + kBody +
      "[0-9]+ MB goal, no limit, [0-9]+ P, trigger=forced, state=normal, mode=stw\n";
  EXPECT_EXIT(
      {
        start_with("GORO_DEBUG", "gctrace=1");
        goro::gc();
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), forced);
  const std::string paced = std::string("gc [0-9]+ ") + kBody +
                            "[0-9]+ MB goal, 256 MB limit, [0-9]+ P, trigger=gc_percent, "
                            "state=normal, mode=[a-z]+\n";  // GORO_GC_MODE may be set
  EXPECT_EXIT(
      {
        setenv("GORO_MEMLIMIT", "256MiB", 1);
        start_with("GORO_DEBUG", "schedtrace=1000,gctrace=1");
        allocate_garbage(16 << 20);
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), paced);
  EXPECT_EXIT(
      {
        setenv("GORO_GC", "off", 1);
        start_with("GORO_DEBUG", "gctrace=1");
        goro::gc();
        std::exit(0);
      },
      ::testing::ExitedWithCode(0),
      "no goal, no limit, [0-9]+ P, trigger=forced, state=normal, mode=stw\n");
}

TEST_F(HeapPacerEnv, NoGctraceByDefault) {
  EXPECT_EXIT(
      {
        goro::heap::init();
        goro::gc();
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "^$");
}

}  // namespace
