// GORO_* value parsing (core/env.hpp): accepted forms, range and overflow
// checks, and messages that name the variable, the value and the form.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <limits>
#include <string>

#include "core/env.hpp"
#include "tests/config_error_of.hpp"

namespace env = goro::env;
using namespace std::chrono_literals;

namespace {

using goro::testing::error_of;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

}  // namespace

// ---- get --------------------------------------------------------------------

TEST(EnvGet, UnsetAndEmptyAreBothUnset) {
  unsetenv("GORO_TEST_VAR");
  EXPECT_EQ(env::get("GORO_TEST_VAR"), std::nullopt);
  setenv("GORO_TEST_VAR", "", 1);
  EXPECT_EQ(env::get("GORO_TEST_VAR"), std::nullopt);
  setenv("GORO_TEST_VAR", "x y", 1);
  EXPECT_EQ(env::get("GORO_TEST_VAR"), "x y");
  unsetenv("GORO_TEST_VAR");
}

// ---- parse_int --------------------------------------------------------------

TEST(EnvParseInt, InRange) {
  EXPECT_EQ(env::parse_int("V", "5", 1, 10), 5);
  EXPECT_EQ(env::parse_int("V", "1", 1, 10), 1);
  EXPECT_EQ(env::parse_int("V", "10", 1, 10), 10);
  EXPECT_EQ(env::parse_int("V", "007", 1, 10), 7);
  EXPECT_EQ(env::parse_int("V", "-3", -5, 5), -3);
  EXPECT_EQ(env::parse_int("V", "0", -5, 5), 0);
  EXPECT_EQ(env::parse_int("V", "-0", -5, 5), 0);
}

TEST(EnvParseInt, Int64Extremes) {
  EXPECT_EQ(env::parse_int("V", "9223372036854775807", kMin, kMax), kMax);
  EXPECT_EQ(env::parse_int("V", "-9223372036854775808", kMin, kMax), kMin);
  EXPECT_EQ(env::parse_int("V", "-9223372036854775807", kMin, kMax), kMin + 1);
  EXPECT_THROW(env::parse_int("V", "9223372036854775808", kMin, kMax), goro::config_error);
  EXPECT_THROW(env::parse_int("V", "-9223372036854775809", kMin, kMax), goro::config_error);
  EXPECT_THROW(env::parse_int("V", "99999999999999999999999", kMin, kMax), goro::config_error);
}

TEST(EnvParseInt, OutOfRange) {
  EXPECT_THROW(env::parse_int("V", "0", 1, 10), goro::config_error);
  EXPECT_THROW(env::parse_int("V", "11", 1, 10), goro::config_error);
  EXPECT_THROW(env::parse_int("V", "-1", 1, 10), goro::config_error);
  EXPECT_THROW(env::parse_int("V", "-6", -5, 5), goro::config_error);
}

TEST(EnvParseInt, NotAnInteger) {
  for (const char* bad : {"", "-", "abc", " 1", "1 ", "+1", "1.0", "1e3", "0x10", "1_000", "--1",
                          "1-", "\xef\xbc\x91"})
    EXPECT_THROW(env::parse_int("V", bad, -100, 100), goro::config_error) << "'" << bad << "'";
}

TEST(EnvParseInt, MessageNamesVariableValueAndForm) {
  EXPECT_EQ(error_of([] { env::parse_int("GORO_X", "abc", 1, 64); }),
            "GORO_X=\"abc\": want an integer in [1, 64] (e.g. GORO_X=1)");
  EXPECT_EQ(error_of([] { env::parse_int("GORO_X", "65", 1, 64); }),
            "GORO_X=\"65\": want an integer in [1, 64] (e.g. GORO_X=1)");
}

// ---- parse_bytes ------------------------------------------------------------

TEST(EnvParseBytes, Suffixes) {
  EXPECT_EQ(env::parse_bytes("V", "0"), 0);
  EXPECT_EQ(env::parse_bytes("V", "123"), 123);
  EXPECT_EQ(env::parse_bytes("V", "123B"), 123);
  EXPECT_EQ(env::parse_bytes("V", "1KiB"), 1024);
  EXPECT_EQ(env::parse_bytes("V", "900MiB"), 900LL << 20);
  EXPECT_EQ(env::parse_bytes("V", "2GiB"), 2LL << 30);
  EXPECT_EQ(env::parse_bytes("V", "3TiB"), 3LL << 40);
  EXPECT_EQ(env::parse_bytes("V", "0TiB"), 0);
}

TEST(EnvParseBytes, Overflow) {
  EXPECT_EQ(env::parse_bytes("V", "9223372036854775807"), kMax);
  EXPECT_EQ(env::parse_bytes("V", "9223372036854775807B"), kMax);
  EXPECT_THROW(env::parse_bytes("V", "9223372036854775808"), goro::config_error);
  EXPECT_THROW(env::parse_bytes("V", "99999999999999999999999"), goro::config_error);
  // INT64_MAX >> 40 = 8388607: the largest TiB count that fits.
  EXPECT_EQ(env::parse_bytes("V", "8388607TiB"), 8388607LL << 40);
  EXPECT_THROW(env::parse_bytes("V", "8388608TiB"), goro::config_error);
  EXPECT_EQ(env::parse_bytes("V", "8589934591GiB"), 8589934591LL << 30);
  EXPECT_THROW(env::parse_bytes("V", "8589934592GiB"), goro::config_error);
}

TEST(EnvParseBytes, BadForms) {
  for (const char* bad :
       {"",   "MiB",   "900MB", "900mb",  "900M", "900K", "1kib", "12 MiB", " 12MiB", "12MiB ",
        "-1", "-1MiB", "+1",    "1.5GiB", "1e9",  "1 B",  "1BB",  "1MiBB",  "1PiB",   "0x10"})
    EXPECT_THROW(env::parse_bytes("V", bad), goro::config_error) << "'" << bad << "'";
}

TEST(EnvParseBytes, Message) {
  EXPECT_EQ(error_of([] { env::parse_bytes("GORO_MEMLIMIT", "900MB"); }),
            "GORO_MEMLIMIT=\"900MB\": want a byte count with an optional suffix B, KiB, MiB, GiB "
            "or TiB (e.g. 900MiB)");
}

// ---- parse_duration ---------------------------------------------------------

TEST(EnvParseDuration, Units) {
  EXPECT_EQ(env::parse_duration("V", "7ns"), 7ns);
  EXPECT_EQ(env::parse_duration("V", "10us"), 10us);
  EXPECT_EQ(env::parse_duration("V", "250ms"), 250ms);
  EXPECT_EQ(env::parse_duration("V", "0s"), 0s);
  EXPECT_EQ(env::parse_duration("V", "3s"), 3s);
  EXPECT_EQ(env::parse_duration("V", "5m"), 5min);
  EXPECT_EQ(env::parse_duration("V", "1h"), 1h);
}

TEST(EnvParseDuration, Overflow) {
  EXPECT_EQ(env::parse_duration("V", "9223372036854775807ns").count(), kMax);
  EXPECT_EQ(env::parse_duration("V", "2562047h"), 2562047h);
  EXPECT_THROW(env::parse_duration("V", "2562048h"), goro::config_error);
  EXPECT_THROW(env::parse_duration("V", "9223372036854775808ns"), goro::config_error);
  EXPECT_THROW(env::parse_duration("V", "9223372036854775807s"), goro::config_error);
}

TEST(EnvParseDuration, BadForms) {
  for (const char* bad : {"", "10", "s", "-1s", "+1s", "1.5s", "10 s", "1d", "1S", "1MS", "1µs",
                          "1h30m", "1sec", " 1s", "1s "})
    EXPECT_THROW(env::parse_duration("V", bad), goro::config_error) << "'" << bad << "'";
}

TEST(EnvParseDuration, Message) {
  EXPECT_EQ(error_of([] { env::parse_duration("GORO_T", "1.5s"); }),
            "GORO_T=\"1.5s\": want a duration: digits with a unit ns, us, ms, s, m or h (e.g. "
            "250ms)");
}

// ---- parse_debug ------------------------------------------------------------

TEST(EnvParseDebug, Pairs) {
  EXPECT_TRUE(env::parse_debug("").empty());
  auto kv = env::parse_debug("schedtrace=1000,scheddetail=1");
  ASSERT_EQ(kv.size(), 2u);
  EXPECT_EQ(kv["schedtrace"], "1000");
  EXPECT_EQ(kv["scheddetail"], "1");
}

TEST(EnvParseDebug, EmptyItemsAreSkipped) {
  auto kv = env::parse_debug(",a=1,,b=2,");
  ASSERT_EQ(kv.size(), 2u);
  EXPECT_EQ(kv["a"], "1");
  EXPECT_EQ(kv["b"], "2");
  EXPECT_TRUE(env::parse_debug(",,,").empty());
}

TEST(EnvParseDebug, LaterDuplicatesWin) {
  auto kv = env::parse_debug("a=1,b=2,a=3");
  ASSERT_EQ(kv.size(), 2u);
  EXPECT_EQ(kv["a"], "3");
}

TEST(EnvParseDebug, ValueMayHoldEquals) {
  auto kv = env::parse_debug("a=b=c");
  EXPECT_EQ(kv["a"], "b=c");
}

TEST(EnvParseDebug, MissingKeyOrValue) {
  for (const char* bad : {"a", "a=1,b", "=1", "a=", "a=1,=", "="})
    EXPECT_THROW(env::parse_debug(bad), goro::config_error) << "'" << bad << "'";
  EXPECT_EQ(error_of([] { env::parse_debug("schedtrace=1000,oops"); }),
            "GORO_DEBUG=\"oops\": want comma-separated key=value pairs (e.g. "
            "GORO_DEBUG=schedtrace=1000)");
}

// ---- check_debug_keys -------------------------------------------------------

TEST(EnvCheckDebugKeys, KnownKeysPass) {
  EXPECT_NO_THROW(env::check_debug_keys(env::parse_debug("schedtrace=1000,scheddetail=1"),
                                        {"schedtrace", "scheddetail", "gctrace"}));
  EXPECT_NO_THROW(env::check_debug_keys({}, {"schedtrace"}));
}

TEST(EnvCheckDebugKeys, UnknownKeyNamesTheKnownOnes) {
  EXPECT_EQ(error_of([] {
              env::check_debug_keys(env::parse_debug("schedtrace=1000,bogus=7"),
                                    {"schedtrace", "scheddetail", "gctrace"});
            }),
            "GORO_DEBUG=\"bogus=7\": want one of the keys schedtrace, scheddetail, gctrace");
  // Keys are case-sensitive, as in Go's GODEBUG.
  EXPECT_THROW(env::check_debug_keys(env::parse_debug("SchedTrace=1"), {"schedtrace"}),
               goro::config_error);
}
