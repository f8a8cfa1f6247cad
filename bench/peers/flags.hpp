#pragma once
// Go-style command-line flags for goro-peers, so that run.sh can hand goro
// exactly the command line it gives the Go peer (bench/peers/run.sh).
//
// Accepted forms, as Go's flag package: `-name value`, `-name=value`, and
// the same with two dashes; a boolean flag alone means true, or takes
// `-name=false` (never a separate argument, as in Go). Parsing stops at the first non-flag argument
// or at `--`. Unknown flags, missing values and malformed integers print the error and the usage to
// stderr and exit with code 2 (Go's flag.ExitOnError); `-h` / `-help` print the usage and exit 0.

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace goro_peers {

/// A flag's value: integers are int64 (Go's int and int64 alike), floats
/// double (Go's fs.Float64: "2e6", "0.5", "512" all parse), booleans bool.
using flag_value = std::variant<int64_t, std::string, double, bool>;

class flag_set {
 public:
  explicit flag_set(std::string workload) : workload_(std::move(workload)) {}

  /// Declares an integer flag and returns a pointer to its value, valid for
  /// the flag_set's lifetime (Go's fs.Int).
  const int64_t* add_int(const std::string& name, int64_t def, const std::string& usage);
  /// Declares a floating-point flag (Go's fs.Float64).
  const double* add_float(const std::string& name, double def, const std::string& usage);
  /// Declares a string flag (Go's fs.String).
  const std::string* add_string(const std::string& name, std::string def, const std::string& usage);

  /// Declares a boolean flag (Go's fs.Bool).
  const bool* add_bool(const std::string& name, bool def, const std::string& usage);

  /// Parses args (everything after the workload name); exits on error.
  void parse(const std::vector<std::string>& args);

  /// Every flag's value by name, sorted (the JSON line's `params`).
  std::map<std::string, flag_value> values() const;

  /// Prints "Usage of <workload>:" and every flag, as Go's PrintDefaults.
  void print_usage() const;

  /// Prints `message` and the usage to stderr and exits with code 2.
  [[noreturn]] void fail(const std::string& message) const;

 private:
  struct flag {
    std::string name;
    std::string usage;
    flag_value def;
    flag_value value;
  };
  flag* find(const std::string& name);

  std::string workload_;
  // Pointers handed out by add_* point into these nodes, so a node-based
  // container (std::map) keeps them stable.
  std::map<std::string, flag> flags_;
};

}  // namespace goro_peers
