#pragma once
// A profile.proto writer (github.com/google/pprof proto/profile.proto;
// field numbers in ../shared/reference/formats.md section 1), gzip'd as
// `go tool pprof` expects. Hand-encoded like Go's runtime/pprof
// (protobuf.go): the message is small and flat, so a protobuf library
// would add a dependency and a code generator for a dozen fields.
//
// Strings, functions and locations are interned as they are added; every
// location carries its Line (function, line) and the one Mapping says
// has_functions, so pprof never tries to symbolize it again.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace goro::debug {

class profile_builder {
 public:
  struct value_type {
    std::string type, unit;
  };
  struct label {
    std::string key;
    std::string str;   // a string label, or
    int64_t num = 0;   // a numeric one (str empty)
    std::string unit;  // num's unit, e.g. "bytes"
  };

  profile_builder(std::vector<value_type> sample_types, value_type period_type, int64_t period);

  /// A Function id for (name, file), interned.
  uint64_t function(std::string_view name, std::string_view file);
  /// A Location id for a function at a line (and address, 0 if none), interned.
  uint64_t location(uint64_t function_id, int64_t line, uint64_t address = 0);
  /// One sample: locations leaf first, one value per sample type.
  void add_sample(const std::vector<uint64_t>& locations, const std::vector<int64_t>& values,
                  const std::vector<label>& labels = {});
  void set_time(int64_t time_nanos, int64_t duration_nanos = 0);
  void set_default_sample_type(std::string_view type);
  void add_comment(std::string_view text);

  /// The serialized Profile message.
  std::string encode();
  /// encode(), gzip'd (what /debug/pprof serves and pprof reads).
  std::string encode_gzip();

 private:
  int64_t str(std::string_view s);

  std::vector<value_type> sample_types_;
  value_type period_type_;
  int64_t period_;
  int64_t time_nanos_ = 0, duration_nanos_ = 0;
  int64_t default_type_ = 0;
  std::vector<int64_t> comments_;
  std::vector<std::string> strings_{""};
  std::map<std::string, int64_t, std::less<>> string_ids_{{"", 0}};
  std::map<std::pair<int64_t, int64_t>, uint64_t> functions_;  // (name, file) -> id
  std::map<std::tuple<uint64_t, int64_t, uint64_t>, uint64_t> locations_;
  std::string samples_;  // encoded Sample fields, in order
};

/// gzip (RFC 1952) of `data` at zlib's fastest level, as Go's pprof writes.
std::string gzip(std::string_view data);

}  // namespace goro::debug
