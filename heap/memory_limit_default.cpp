// The memory limit's default from the cgroup. See
// heap/memory_limit_default.hpp.

#include "heap/memory_limit_default.hpp"

#include <algorithm>
#include <atomic>

#include "heap/detail/gc_knobs.hpp"

namespace goro::heap {
namespace {

// v1 reports "no limit" as PAGE_COUNTER_MAX pages, which depends on the
// page size (9223372036854771712 with 4 KiB pages); anything from 2^62 up is
// no real limit on any machine goro runs on.
constexpr uint64_t kUnlimitedFrom = uint64_t{1} << 62;

std::atomic<uint64_t> g_seen{0};  // atomic: the last hard limit read, 0 none

std::optional<uint64_t> tightest(const cgroup::location& loc) {
  std::optional<uint64_t> best;
  for (const auto& d : loc.dirs) {
    const char* file = loc.v2 ? "memory.max" : "memory.limit_in_bytes";
    auto t = cgroup::read_text(d / file, cgroup::kLimitFileCap);
    if (!t) continue;
    auto l = loc.v2 ? parse_memory_max(*t) : parse_limit_in_bytes(*t);
    if (l && (!best || *l < *best)) best = l;
  }
  return best;
}

}  // namespace

const char* to_string(memory_limit_source s) noexcept {
  switch (s) {
    case memory_limit_source::none:
      return "none";
    case memory_limit_source::env:
      return "GORO_MEMLIMIT";
    case memory_limit_source::code:
      return "set_memory_limit";
    case memory_limit_source::cgroup:
      return "cgroup";
  }
  return "?";
}

int64_t soft_limit_for(uint64_t hard) noexcept {
  const uint64_t soft =
      std::min(hard - hard / 10, hard > kUncountedReserve ? hard - kUncountedReserve : 0);
  const uint64_t floor = hard / 2;
  return static_cast<int64_t>(std::min<uint64_t>(std::max(soft, floor), INT64_MAX));
}

std::optional<uint64_t> parse_memory_max(std::string_view text) {
  const std::string_view t = cgroup::trim(text);
  if (t == "max") return std::nullopt;
  auto v = cgroup::to_i64(t);
  if (!v || *v < 0 || static_cast<uint64_t>(*v) >= kUnlimitedFrom) return std::nullopt;
  return static_cast<uint64_t>(*v);
}

std::optional<uint64_t> parse_limit_in_bytes(std::string_view text) {
  auto v = cgroup::to_i64(cgroup::trim(text));
  if (!v || *v < 0 || static_cast<uint64_t>(*v) >= kUnlimitedFrom) return std::nullopt;
  return static_cast<uint64_t>(*v);
}

std::optional<uint64_t> cgroup_memory_limit(const cgroup::sources& src) {
  return tightest(cgroup::locate(src, "memory"));
}

std::optional<uint64_t> cgroup_memory_limit(const std::filesystem::path& root) {
  return tightest(cgroup::locate(root, "memory"));
}

memory_limit_source memory_limit_source_now() noexcept {
  return detail::memory_limit_source_setting();
}

uint64_t cgroup_memory_limit_seen() noexcept {
  return g_seen.load(std::memory_order_relaxed);
}

memory_limit_source refresh_memory_limit_default(const std::filesystem::path& root) {
  const memory_limit_source now = detail::memory_limit_source_setting();
  if (now == memory_limit_source::env || now == memory_limit_source::code) return now;
  const std::optional<uint64_t> hard = cgroup_memory_limit(root);
  g_seen.store(hard.value_or(0), std::memory_order_relaxed);
  detail::apply_default_memory_limit(hard ? soft_limit_for(*hard) : -1);
  return detail::memory_limit_source_setting();
}

}  // namespace goro::heap
