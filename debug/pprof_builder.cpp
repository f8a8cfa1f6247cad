#include "debug/pprof_builder.hpp"

#include <unistd.h>
#include <zlib.h>

#include <climits>
#include <stdexcept>

namespace goro::debug {
namespace {

// Wire types: 0 varint, 2 length-delimited.
void varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void field_varint(std::string& out, int field, uint64_t v) {
  varint(out, static_cast<uint64_t>(field) << 3);
  varint(out, v);
}
void field_int(std::string& out, int field, int64_t v) {  // int64: two's complement, not zigzag
  field_varint(out, field, static_cast<uint64_t>(v));
}
void field_bytes(std::string& out, int field, std::string_view b) {
  varint(out, (static_cast<uint64_t>(field) << 3) | 2);
  varint(out, b.size());
  out.append(b);
}
void field_packed(std::string& out, int field, const std::vector<uint64_t>& v) {
  std::string body;
  for (uint64_t x : v) varint(body, x);
  field_bytes(out, field, body);
}

std::string self_exe() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string("goro");
}

}  // namespace

profile_builder::profile_builder(std::vector<value_type> sample_types, value_type period_type,
                                 int64_t period)
    : sample_types_(std::move(sample_types)),
      period_type_(std::move(period_type)),
      period_(period) {}

int64_t profile_builder::str(std::string_view s) {
  if (auto it = string_ids_.find(s); it != string_ids_.end()) return it->second;
  const auto id = static_cast<int64_t>(strings_.size());
  strings_.emplace_back(s);
  string_ids_.emplace(std::string(s), id);
  return id;
}

uint64_t profile_builder::function(std::string_view name, std::string_view file) {
  const auto key = std::make_pair(str(name), str(file));
  auto [it, added] = functions_.try_emplace(key, functions_.size() + 1);
  return it->second;
}

uint64_t profile_builder::location(uint64_t function_id, int64_t line, uint64_t address) {
  auto [it, added] =
      locations_.try_emplace(std::make_tuple(function_id, line, address), locations_.size() + 1);
  return it->second;
}

void profile_builder::add_sample(const std::vector<uint64_t>& locations,
                                 const std::vector<int64_t>& values,
                                 const std::vector<label>& labels) {
  if (values.size() != sample_types_.size())
    throw std::invalid_argument("profile_builder: a sample needs one value per sample type");
  std::string s;
  field_packed(s, 1, locations);
  std::vector<uint64_t> v(values.begin(), values.end());
  field_packed(s, 2, v);
  for (const label& l : labels) {
    std::string m;
    field_int(m, 1, str(l.key));
    if (!l.str.empty()) {
      field_int(m, 2, str(l.str));
    } else {
      field_int(m, 3, l.num);
      if (!l.unit.empty()) field_int(m, 4, str(l.unit));
    }
    field_bytes(s, 3, m);
  }
  field_bytes(samples_, 2, s);
}

void profile_builder::set_time(int64_t time_nanos, int64_t duration_nanos) {
  time_nanos_ = time_nanos;
  duration_nanos_ = duration_nanos;
}

void profile_builder::set_default_sample_type(std::string_view type) {
  default_type_ = str(type);
}

void profile_builder::add_comment(std::string_view text) {
  comments_.push_back(str(text));
}

std::string profile_builder::encode() {
  std::string out;
  auto value_type_msg = [&](const value_type& t) {
    std::string m;
    field_int(m, 1, str(t.type));
    field_int(m, 2, str(t.unit));
    return m;
  };
  for (const value_type& t : sample_types_) field_bytes(out, 1, value_type_msg(t));
  out += samples_;
  {  // one mapping: the executable, every location already symbolized
    std::string m;
    field_varint(m, 1, 1);
    field_int(m, 5, str(self_exe()));
    field_varint(m, 7, 1);  // has_functions
    field_varint(m, 8, 1);  // has_filenames
    field_varint(m, 9, 1);  // has_line_numbers
    field_bytes(out, 3, m);
  }
  for (const auto& [key, id] : locations_) {
    const auto& [fn, line, address] = key;
    std::string m, l;
    field_varint(m, 1, id);
    field_varint(m, 2, 1);
    if (address) field_varint(m, 3, address);
    field_varint(l, 1, fn);
    field_int(l, 2, line);
    field_bytes(m, 4, l);
    field_bytes(out, 4, m);
  }
  for (const auto& [key, id] : functions_) {
    std::string m;
    field_varint(m, 1, id);
    field_int(m, 2, key.first);
    field_int(m, 3, key.first);  // system_name = name, as Go writes
    field_int(m, 4, key.second);
    field_bytes(out, 5, m);
  }
  if (time_nanos_) field_int(out, 9, time_nanos_);
  if (duration_nanos_) field_int(out, 10, duration_nanos_);
  field_bytes(out, 11, value_type_msg(period_type_));
  field_int(out, 12, period_);
  for (int64_t c : comments_) field_int(out, 13, c);
  if (default_type_) field_int(out, 14, default_type_);
  // Last, so every string above is interned (Go does the same).
  for (const std::string& s : strings_) field_bytes(out, 6, s);
  return out;
}

std::string profile_builder::encode_gzip() {
  return gzip(encode());
}

std::string gzip(std::string_view data) {
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("gzip: deflateInit2 failed");
  std::string out(deflateBound(&z, data.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("gzip: deflate did not finish");
  return out;
}

}  // namespace goro::debug
