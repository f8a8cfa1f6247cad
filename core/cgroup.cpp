// See core/cgroup.hpp. Moved here from sched/maxprocs.cpp (where the CPU
// quota walk began) when the memory limit needed the same walk.

#include "core/cgroup.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>

namespace goro::cgroup {
namespace {

// ---- text helpers -----------------------------------------------------------

// Whether the comma-separated `list` holds exactly `item`.
bool list_has(std::string_view list, std::string_view item) {
  while (true) {
    size_t c = list.find(',');
    if (list.substr(0, c) == item) return true;
    if (c == std::string_view::npos) return false;
    list.remove_prefix(c + 1);
  }
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    size_t i = s.find(sep);
    out.push_back(s.substr(0, i));
    if (i == std::string_view::npos) return out;
    s.remove_prefix(i + 1);
  }
}

// mountinfo escapes ' ', '\t', '\n' and '\\' as a backslash and three octal
// digits (Linux show_path). Bad escapes are kept as they are.
std::string unescape_mount_path(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\\' && i + 3 < in.size()) {
      int v = 0;
      bool ok = true;
      for (size_t k = 1; k <= 3; ++k) {
        char c = in[i + k];
        ok = ok && c >= '0' && c <= '7';
        v = v * 8 + (c - '0');
      }
      if (ok && v < 256) {
        out.push_back(static_cast<char>(v));
        i += 3;
        continue;
      }
    }
    out.push_back(in[i]);
  }
  return out;
}

// /proc/self/mountinfo can be long on hosts with many mounts.
constexpr std::size_t kProcFileCap = 16 << 20;

// ---- locating the cgroup ----------------------------------------------------

struct proc_cgroup {
  std::optional<std::string> v1;  // path in the v1 hierarchy holding the controller
  std::optional<std::string> v2;  // path from the "0::" line
};

// Lines are "hierarchy-ID:controller-list:path" (man 7 cgroups). Lines that do
// not fit are skipped rather than failing the whole file.
proc_cgroup parse_proc_cgroup(std::string_view text, std::string_view controller) {
  proc_cgroup out;
  for (std::string_view line : split(text, '\n')) {
    size_t a = line.find(':');
    if (a == std::string_view::npos) continue;
    size_t b = line.find(':', a + 1);
    if (b == std::string_view::npos) continue;
    std::string_view id = line.substr(0, a), ctl = line.substr(a + 1, b - a - 1);
    std::string_view path = line.substr(b + 1);
    if (path.empty() || path.front() != '/') continue;
    if (id == "0" && ctl.empty()) {
      out.v2 = std::string(path);
    } else if (!out.v1 && list_has(ctl, controller)) {
      out.v1 = std::string(path);
    }
  }
  return out;
}

struct mount {
  std::string root;   // field 4: the mount's root within the cgroup fs
  std::string point;  // field 5: where it is mounted
};

// Fields: ID parent maj:min root point options [optional...] - fstype source
// superoptions. Returns the cgroup2 mounts (v2) or the cgroup v1 mounts whose
// super options list the controller.
std::vector<mount> find_mounts(std::string_view mountinfo, bool v2, std::string_view controller) {
  std::vector<mount> out;
  for (std::string_view line : split(mountinfo, '\n')) {
    std::vector<std::string_view> f = split(line, ' ');
    auto sep = std::find(f.begin(), f.end(), std::string_view("-"));
    if (sep == f.end() || sep - f.begin() < 6 || f.end() - sep < 2) continue;
    std::string_view type = sep[1];
    bool match = false;
    if (v2) {
      match = type == "cgroup2";
    } else {
      match = type == "cgroup" && f.end() - sep >= 4 && list_has(sep[3], controller);
    }
    if (match) out.push_back({unescape_mount_path(f[3]), unescape_mount_path(f[4])});
  }
  return out;
}

// The directories to read, leaf first, up to the mount point; empty when the
// cgroup path is not inside any of `mounts`.
std::vector<std::filesystem::path> cgroup_dirs(const std::filesystem::path& root,
                                               const std::vector<mount>& mounts,
                                               std::string_view path) {
  // Prefer the mount that shows the most of the hierarchy (shortest root), so
  // the walk sees as many ancestors as possible.
  const mount* best = nullptr;
  std::string_view rel;
  for (const mount& m : mounts) {
    std::string_view r = m.root;
    while (!r.empty() && r.back() == '/') r.remove_suffix(1);  // "/" -> ""
    if (path.substr(0, r.size()) != r) continue;
    if (path.size() > r.size() && path[r.size()] != '/') continue;  // "/a" vs "/ab"
    if (best == nullptr || m.root.size() < best->root.size()) {
      best = &m;
      rel = path.substr(r.size());
    }
  }
  if (best == nullptr) return {};

  std::vector<std::string_view> parts;
  for (std::string_view p : split(rel, '/')) {
    if (p.empty() || p == ".") continue;
    if (p == "..") return {};  // outside the mount (cgroup namespace): unreachable
    parts.push_back(p);
  }
  std::filesystem::path dir = root / std::filesystem::path(best->point).relative_path();
  std::vector<std::filesystem::path> out{dir};
  for (std::string_view p : parts) {
    dir /= p;
    out.push_back(dir);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace

std::string_view trim(std::string_view s) {
  constexpr std::string_view ws = " \t\r\n";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

// A whole-string decimal int64 with an optional '-'; nullopt otherwise.
std::optional<int64_t> to_i64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// A small file's contents, or nullopt if it cannot be read. `cap` bounds the
// read so a wrong path (a huge file, a FIFO that never ends) cannot hurt.
std::optional<std::string> read_text(const std::filesystem::path& p, std::size_t cap) {
  std::ifstream f(p, std::ios::binary);
  if (!f) return std::nullopt;
  std::string out;
  char buf[4096];
  while (out.size() < cap && f.read(buf, sizeof buf).gcount() > 0) {
    out.append(buf, static_cast<size_t>(f.gcount()));
    if (!f) break;
  }
  if (f.bad()) return std::nullopt;
  if (out.size() > cap) out.resize(cap);
  return out;
}

location locate(const sources& src, std::string_view controller) {
  proc_cgroup pc = parse_proc_cgroup(src.proc_self_cgroup, controller);
  // A v1 hierarchy with the controller wins over v2, as in Go: on hybrid
  // hosts the v2 hierarchy then lacks it. If the v1 hierarchy is listed but
  // not mounted where we can see it, try v2.
  if (pc.v1) {
    auto dirs = cgroup_dirs(src.root, find_mounts(src.mountinfo, false, controller), *pc.v1);
    if (!dirs.empty()) return {std::move(dirs), false};
  }
  if (pc.v2) {
    auto dirs = cgroup_dirs(src.root, find_mounts(src.mountinfo, true, controller), *pc.v2);
    if (!dirs.empty()) return {std::move(dirs), true};
  }
  return {};
}

location locate(const std::filesystem::path& root, std::string_view controller) {
  auto cg = read_text(root / "proc/self/cgroup", kProcFileCap);
  auto mi = read_text(root / "proc/self/mountinfo", kProcFileCap);
  if (!cg || !mi) return {};
  return locate(sources{std::move(*cg), std::move(*mi), root}, controller);
}

}  // namespace goro::cgroup
