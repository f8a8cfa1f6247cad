// The one table of GORO_* settings (core/settings.hpp): every variable and
// GORO_DEBUG key has an entry, values parse by their kind, and a bad value
// fails the same way everywhere: a config_error naming the variable, the
// value and the accepted form, or (validate_environment_or_exit) that line
// on stderr and exit code 2.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <set>
#include <string>

#include "core/settings.hpp"
#include "tests/config_error_of.hpp"

namespace settings = goro::settings;
using namespace std::chrono_literals;

namespace {

using goro::testing::error_of;

// Sets one variable for the test's duration and clears the others goro reads.
class Settings : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"GORO_MAXPROCS", "GORO_GC", "GORO_MEMLIMIT", "GORO_GC_MODE", "GORO_DEBUG",
                          "GORO_DEBUG_ADDR", "GORO_DEBUG_TOKEN", "GORO_TRACEBACK", "GORO_TRACE"})
      unsetenv(v);
  }
  void TearDown() override { SetUp(); }
};

}  // namespace

TEST_F(Settings, EveryEntryHasAUniqueGoroName) {
  std::set<std::string> seen;
  for (const settings::setting* s = settings::begin(); s != settings::end(); ++s) {
    const std::string name(s->name);
    EXPECT_EQ(name.rfind("GORO_", 0), 0u) << name;
    EXPECT_TRUE(seen.insert(name).second) << "twice: " << name;
    EXPECT_FALSE(s->used_by.empty()) << name;
  }
  EXPECT_TRUE(seen.count("GORO_MAXPROCS") && seen.count("GORO_GC") && seen.count("GORO_MEMLIMIT") &&
              seen.count("GORO_DEBUG=gctrace") && seen.count("GORO_DEBUG=schedtrace"));
}

TEST_F(Settings, UnsetAndEmptyAreUnset) {
  EXPECT_EQ(settings::integer("GORO_MAXPROCS"), std::nullopt);
  setenv("GORO_MAXPROCS", "", 1);
  EXPECT_EQ(settings::integer("GORO_MAXPROCS"), std::nullopt);
  EXPECT_EQ(settings::number_or("GORO_GC", -1), std::nullopt);
}

TEST_F(Settings, OffAndNumbers) {
  setenv("GORO_GC", "off", 1);
  EXPECT_EQ(settings::number_or("GORO_GC", -1), -1);
  setenv("GORO_GC", "250", 1);
  EXPECT_EQ(settings::number_or("GORO_GC", -1), 250);
  setenv("GORO_MEMLIMIT", "900MiB", 1);
  EXPECT_EQ(settings::number_or("GORO_MEMLIMIT", INT64_MAX), 900LL << 20);
  setenv("GORO_MEMLIMIT", "off", 1);
  EXPECT_EQ(settings::number_or("GORO_MEMLIMIT", INT64_MAX), INT64_MAX);
}

TEST_F(Settings, AChoiceIsOneOfItsWords) {
  EXPECT_EQ(settings::text("GORO_GC_MODE"), std::nullopt);
  setenv("GORO_GC_MODE", "stw", 1);
  EXPECT_EQ(settings::text("GORO_GC_MODE"), "stw");
  setenv("GORO_GC_MODE", "concurrent", 1);
  EXPECT_EQ(settings::text("GORO_GC_MODE"), "concurrent");
  for (const char* bad : {"Concurrent", "st", "stw|concurrent", "stwx", "concurrent "}) {
    setenv("GORO_GC_MODE", bad, 1);
    EXPECT_EQ(error_of([] { settings::text("GORO_GC_MODE"); }),
              std::string("GORO_GC_MODE=\"") + bad +
                  "\": want stw or concurrent (e.g. GORO_GC_MODE=concurrent)");
  }
}

TEST_F(Settings, DebugKeysAreReadFromGoroDebug) {
  setenv("GORO_DEBUG", "schedtrace=250,gctrace=1", 1);
  EXPECT_EQ(settings::integer("GORO_DEBUG=schedtrace"), 250);
  EXPECT_EQ(settings::integer("GORO_DEBUG=gctrace"), 1);
  EXPECT_EQ(settings::integer("GORO_DEBUG=scheddetail"), std::nullopt);
  setenv("GORO_DEBUG", "gctrace=2", 1);
  EXPECT_EQ(error_of([] { settings::integer("GORO_DEBUG=gctrace"); }),
            "GORO_DEBUG gctrace=\"2\": want an integer in [0, 1] (e.g. GORO_DEBUG gctrace=0)");
}

// kind::choice: the word's index in the entry's list (GORO_TRACEBACK's
// order is traceback_level's), anything else an error naming the words.
TEST_F(Settings, ChoicesAndText) {
  EXPECT_EQ(settings::choice("GORO_TRACEBACK"), std::nullopt);
  setenv("GORO_TRACEBACK", "none", 1);
  EXPECT_EQ(settings::choice("GORO_TRACEBACK"), 0);
  setenv("GORO_TRACEBACK", "crash", 1);
  EXPECT_EQ(settings::choice("GORO_TRACEBACK"), 3);
  setenv("GORO_TRACEBACK", "al", 1);
  EXPECT_EQ(error_of([] { settings::validate_environment(); }),
            "GORO_TRACEBACK=\"al\": want none, single, all or crash (e.g. GORO_TRACEBACK=all)");
  unsetenv("GORO_TRACEBACK");
  setenv("GORO_TRACE", "/tmp/t.json", 1);
  EXPECT_EQ(settings::text("GORO_TRACE"), "/tmp/t.json");
}

TEST_F(Settings, ABadValueNamesTheVariableTheValueAndTheForm) {
  setenv("GORO_GC", "OFF", 1);
  EXPECT_EQ(error_of([] { settings::number_or("GORO_GC", -1); }),
            "GORO_GC=\"OFF\": want off or a percentage in [0, 1000000000] (e.g. GORO_GC=100)");
  setenv("GORO_GC", "100", 1);
  setenv("GORO_MEMLIMIT", "1.5GiB", 1);
  EXPECT_EQ(error_of([] { settings::validate_environment(); }),
            "GORO_MEMLIMIT=\"1.5GiB\": want off or a byte count with an optional B, KiB, MiB, "
            "GiB or TiB suffix (e.g. GORO_MEMLIMIT=900MiB)");
}

TEST_F(Settings, ValidationRejectsAnUnknownDebugKey) {
  setenv("GORO_DEBUG", "gctrace=1,gctrcae=1", 1);
  EXPECT_EQ(
      error_of([] { settings::validate_environment(); }),
      "GORO_DEBUG=\"gctrcae=1\": want one of the keys schedtrace, scheddetail, gctrace, gcstress");
  setenv("GORO_DEBUG", "gctrace=1,schedtrace=1000", 1);
  EXPECT_EQ(error_of([] { settings::validate_environment(); }), "");
}

TEST_F(Settings, DebugAddrIsHostColonPort) {
  for (const char* ok : {"127.0.0.1:6060", "[::1]:0", ":6060", "localhost:65535"}) {
    setenv("GORO_DEBUG_ADDR", ok, 1);
    EXPECT_EQ(settings::text("GORO_DEBUG_ADDR"), ok);
  }
  for (const char* bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "::1:80", "[::1]80",
                          "127.0.0.1:http", "127.0.0.1:-1"}) {
    setenv("GORO_DEBUG_ADDR", bad, 1);
    EXPECT_EQ(error_of([] { settings::validate_environment(); }),
              std::string("GORO_DEBUG_ADDR=\"") + bad +
                  "\": want host:port with a port in [0, 65535], a loopback host unless "
                  "GORO_DEBUG_TOKEN is set (e.g. GORO_DEBUG_ADDR=127.0.0.1:6060)");
  }
}

TEST_F(Settings, ABadTokenIsRejectedWithoutBeingShown) {
  setenv("GORO_DEBUG_TOKEN", "s3cret-token", 1);
  EXPECT_EQ(settings::text("GORO_DEBUG_TOKEN"), "s3cret-token");
  setenv("GORO_DEBUG_TOKEN", "s3cret token", 1);
  const std::string e = error_of([] { settings::validate_environment(); });
  EXPECT_EQ(e,
            "GORO_DEBUG_TOKEN (12 bytes, not shown): want visible ASCII characters without "
            "spaces (e.g. GORO_DEBUG_TOKEN=$(openssl rand -hex 16))");
  EXPECT_EQ(e.find("s3cret"), std::string::npos);
}

TEST_F(Settings, ParseReadsATextInTheFormOfAnEntry) {
  EXPECT_TRUE(settings::parse("GORO_GC", "off").off);
  EXPECT_EQ(settings::parse("GORO_GC", "250").number, 250);
  EXPECT_EQ(settings::parse("GORO_MEMLIMIT", "64MiB").number, 64 << 20);
  EXPECT_EQ(error_of([] { settings::parse("GORO_GC", "lots"); }),
            "GORO_GC=\"lots\": want off or a percentage in [0, 1000000000] (e.g. GORO_GC=100)");
}

TEST_F(Settings, ValidateOrExitPrintsOneLineAndExitsWith2) {
  EXPECT_EXIT(
      {
        setenv("GORO_MAXPROCS", "abc", 1);
        settings::validate_environment_or_exit();
      },
      ::testing::ExitedWithCode(2),
      "^goro: GORO_MAXPROCS=\"abc\": want an integer in \\[1, 1024\\] \\(e\\.g\\. "
      "GORO_MAXPROCS=1\\)\n$");
}
