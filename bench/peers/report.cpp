#include "bench/peers/report.hpp"

#include <sys/resource.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "core/clock.hpp"
#include "heap/gc_mode.hpp"

namespace goro_peers {

namespace {

// The implementation's version, as Go's runtime.Version(): the compiler is
// part of it because frames and inlining depend on it.
constexpr const char* kVersion = "goro-0.1.0 g++-" __VERSION__;

void append_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

// Shortest round-trip decimal without an exponent, as Go's encoding/json
// writes most floats; NaN and infinities (not JSON) become null.
void append_number(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[400];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  out.append(buf, r.ptr);
}

void append_number(std::string& out, int64_t v) {
  out += std::to_string(v);
}

}  // namespace

std::string verdict(bool ok, const std::string& detail) {
  return (ok ? "ok " : "MISMATCH ") + detail;
}

double process_cpu_seconds() {
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

int64_t peak_rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atoll(line.c_str() + 6) * 1024;
  }
  return -1;
}

run_report::run_report(std::string workload, std::string label,
                       std::map<std::string, flag_value> params, int procs)
    : workload_(std::move(workload)),
      label_(std::move(label)),
      params_(std::move(params)),
      procs_(procs) {}

void run_report::begin() {
  cpu0_s_ = process_cpu_seconds();
  t0_ns_ = goro::nanotime();
}

void run_report::end(double ops, std::string ops_unit, std::string check) {
  wall_s_ = static_cast<double>(goro::nanotime() - t0_ns_) / 1e9;
  // getrusage has microsecond resolution; round off the subtraction's noise.
  cpu_s_ = std::round((process_cpu_seconds() - cpu0_s_) * 1e6) / 1e6;
  ops_ = ops;
  ops_unit_ = std::move(ops_unit);
  check_ = std::move(check);
  peak_rss_bytes_ = peak_rss_bytes();
}

std::string run_report::json() const {
  std::string o = "{\"impl\":\"goro\",\"version\":";
  append_string(o, kVersion);
  o += ",\"label\":";
  append_string(o, label_);
  o += ",\"workload\":";
  append_string(o, workload_);
  o += ",\"params\":{";
  bool first = true;
  for (const auto& [name, v] : params_) {
    if (!first) o += ',';
    first = false;
    append_string(o, name);
    o += ':';
    if (const int64_t* i = std::get_if<int64_t>(&v))
      append_number(o, *i);
    else if (const bool* b = std::get_if<bool>(&v))
      o += *b ? "true" : "false";
    else if (const double* d = std::get_if<double>(&v))
      append_number(o, *d);
    else
      append_string(o, std::get<std::string>(v));
  }
  o += "},\"procs\":";
  append_number(o, static_cast<int64_t>(procs_));
  o += ",\"wall_s\":";
  append_number(o, wall_s_);
  o += ",\"ops\":";
  append_number(o, ops_);
  o += ",\"ops_unit\":";
  append_string(o, ops_unit_);
  o += ",\"ops_per_s\":";
  append_number(o, wall_s_ > 0 ? ops_ / wall_s_ : 0.0);
  o += ",\"cpu_s\":";
  append_number(o, cpu_s_);
  o += ",\"peak_rss_bytes\":";
  append_number(o, peak_rss_bytes_);
  if (have_gc_) {
    o += ",\"gc_cycles\":";
    append_number(o, static_cast<int64_t>(gc_cycles_));
    o += ",\"gc_cpu_fraction\":";
    append_number(o, gc_cpu_fraction_);
    o += ",\"gc_cpu_source\":";
    append_string(o, gc_cpu_source_);
  } else {
    o += ",\"gc_cycles\":null,\"gc_cpu_fraction\":null,\"gc_cpu_source\":null";
  }
  o += ",\"check\":";
  append_string(o, check_);
  for (const auto& [name, raw] : extra_) {
    o += ',';
    append_string(o, name);
    o += ':';
    o += raw;
  }
  // Which collector mode ran (fixed at start-up): a driver comparing
  // GORO_GC_MODE=stw with concurrent (bench/gc-modes) checks that it got
  // the mode it asked for, not the stw fallback.
  o += ",\"gc_mode\":";
  append_string(o, goro::heap::to_string(goro::heap::current_gc_mode()));
  o += ",\"gc_mode_reason\":";
  append_string(o, goro::heap::gc_mode_reason());
  o += '}';
  return o;
}

void run_report::set_gc(uint64_t cycles, double cpu_fraction, std::string source) {
  have_gc_ = true;
  gc_cycles_ = cycles;
  gc_cpu_fraction_ = cpu_fraction;
  gc_cpu_source_ = std::move(source);
}

void run_report::add_field(std::string name, std::string raw_json) {
  extra_.emplace_back(std::move(name), std::move(raw_json));
}

void json_writer::comma() {
  if (need_comma_) out_ += ',';
  need_comma_ = true;
}

json_writer& json_writer::begin_object() {
  comma();
  out_ += '{';
  need_comma_ = false;
  return *this;
}

json_writer& json_writer::end_object() {
  out_ += '}';
  need_comma_ = true;
  return *this;
}

json_writer& json_writer::begin_array() {
  comma();
  out_ += '[';
  need_comma_ = false;
  return *this;
}

json_writer& json_writer::end_array() {
  out_ += ']';
  need_comma_ = true;
  return *this;
}

json_writer& json_writer::key(const std::string& k) {
  comma();
  append_string(out_, k);
  out_ += ':';
  need_comma_ = false;
  return *this;
}

json_writer& json_writer::value(double v) {
  comma();
  append_number(out_, v);
  return *this;
}

json_writer& json_writer::value(int64_t v) {
  comma();
  append_number(out_, v);
  return *this;
}

json_writer& json_writer::value(uint64_t v) {
  comma();
  out_ += std::to_string(v);
  return *this;
}

json_writer& json_writer::value(bool v) {
  comma();
  out_ += v ? "true" : "false";
  return *this;
}

json_writer& json_writer::value(const std::string& v) {
  comma();
  append_string(out_, v);
  return *this;
}

json_writer& json_writer::null() {
  comma();
  out_ += "null";
  return *this;
}

}  // namespace goro_peers
