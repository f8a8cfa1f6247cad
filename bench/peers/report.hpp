#pragma once
// One measured run of a workload and the JSON line that describes it.
//
// The line has the Go peer's fields in the Go peer's order
// (bench/peers/go/run.go, type Result) so that `gopeers summarize`
// reads goro's lines beside Go's and Tokio's:
//
//   impl version label workload params procs wall_s ops ops_unit ops_per_s
//   cpu_s peak_rss_bytes gc_cycles gc_cpu_fraction gc_cpu_source check
//
// What is measured, as in the peers: wall_s and cpu_s (getrusage
// user+system, all threads) cover the workload only, from begin() to end(),
// both called inside the root task, so runtime start-up and shutdown are
// not counted (the Go peer's main goroutine also starts with the runtime
// already up). peak_rss_bytes is VmHWM from /proc/self/status (whole process
// lifetime). The three gc_* fields are null unless a workload sets them
// (set_gc); workloads with more to say (the Go peer's "heap" object, the
// per-250-ms "windows" array, latency percentiles) add fields after "check"
// with add_field, writing their values with json_writer. Every line then
// ends with goro's own gc_mode ("stw" or "concurrent") and gc_mode_reason
// (heap/gc_mode.hpp): the mode that ran, whatever GORO_GC_MODE asked for.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "bench/peers/flags.hpp"

namespace goro_peers {

class run_report {
 public:
  run_report(std::string workload, std::string label, std::map<std::string, flag_value> params,
             int procs);

  /// Starts the clock and the CPU-time counter.
  void begin();
  /// Stops them and records the result; `check` starts with "ok" or says
  /// what was wrong.
  void end(double ops, std::string ops_unit, std::string check);

  /// The collector's share of the run, as the Go peer reports it.
  void set_gc(uint64_t cycles, double cpu_fraction, std::string source);

  /// Appends `"name":raw_json` after "check"; `raw_json` must be one JSON
  /// value (json_writer makes one).
  void add_field(std::string name, std::string raw_json);

  /// Wall seconds and VmHWM recorded by end().
  double wall_s() const { return wall_s_; }
  int64_t peak_rss() const { return peak_rss_bytes_; }

  /// The JSON line (no trailing newline).
  std::string json() const;

 private:
  std::string workload_;
  std::string label_;
  std::map<std::string, flag_value> params_;
  int procs_;
  int64_t t0_ns_ = 0;
  double cpu0_s_ = 0;
  double wall_s_ = 0;
  double ops_ = 0;
  std::string ops_unit_;
  double cpu_s_ = 0;
  int64_t peak_rss_bytes_ = -1;
  std::string check_;
  bool have_gc_ = false;
  uint64_t gc_cycles_ = 0;
  double gc_cpu_fraction_ = 0;
  std::string gc_cpu_source_;
  std::vector<std::pair<std::string, std::string>> extra_;
};

/// Builds one JSON value: objects and arrays nest with begin_*/end_*, keys
/// precede values inside objects; numbers are written as encoding/json
/// writes them (non-finite doubles become null).
class json_writer {
 public:
  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();
  json_writer& key(const std::string& k);
  json_writer& value(double v);
  json_writer& value(int64_t v);
  json_writer& value(uint64_t v);
  json_writer& value(int v) { return value(static_cast<int64_t>(v)); }
  json_writer& value(bool v);
  json_writer& value(const std::string& v);
  json_writer& value(const char* v) { return value(std::string(v)); }
  json_writer& null();
  /// A key and its value in one call.
  template <class V>
  json_writer& field(const std::string& k, const V& v) {
    key(k);
    return value(v);
  }
  const std::string& str() const { return out_; }

 private:
  void comma();
  std::string out_;
  bool need_comma_ = false;
};

/// "ok <detail>" or "MISMATCH <detail>", as the Go peer's verdict().
std::string verdict(bool ok, const std::string& detail);

/// Process user+system CPU seconds (getrusage RUSAGE_SELF).
double process_cpu_seconds();

/// VmHWM in bytes, -1 when /proc/self/status cannot be read.
int64_t peak_rss_bytes();

}  // namespace goro_peers
