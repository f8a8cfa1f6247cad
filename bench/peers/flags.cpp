#include "bench/peers/flags.hpp"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace goro_peers {

const bool* flag_set::add_bool(const std::string& name, bool def, const std::string& usage) {
  flag& f = flags_[name];
  f = flag{name, usage, def, def};
  return &std::get<bool>(f.value);
}

const int64_t* flag_set::add_int(const std::string& name, int64_t def, const std::string& usage) {
  flag& f = flags_[name];
  f = flag{name, usage, def, def};
  return &std::get<int64_t>(f.value);
}

const double* flag_set::add_float(const std::string& name, double def, const std::string& usage) {
  flag& f = flags_[name];
  f = flag{name, usage, def, def};
  return &std::get<double>(f.value);
}

const std::string* flag_set::add_string(const std::string& name, std::string def,
                                        const std::string& usage) {
  flag& f = flags_[name];
  f = flag{name, usage, def, def};
  return &std::get<std::string>(f.value);
}

flag_set::flag* flag_set::find(const std::string& name) {
  auto it = flags_.find(name);
  return it == flags_.end() ? nullptr : &it->second;
}

void flag_set::print_usage() const {
  std::fprintf(stderr, "Usage of %s:\n", workload_.c_str());
  for (const auto& [name, f] : flags_) {
    if (const bool* b = std::get_if<bool>(&f.def)) {
      std::fprintf(stderr, "  -%s\n    \t%s%s\n", name.c_str(), f.usage.c_str(),
                   *b ? " (default true)" : "");
    } else if (std::holds_alternative<int64_t>(f.def)) {
      std::fprintf(stderr, "  -%s int\n    \t%s (default %lld)\n", name.c_str(), f.usage.c_str(),
                   static_cast<long long>(std::get<int64_t>(f.def)));
    } else if (std::holds_alternative<double>(f.def)) {
      std::fprintf(stderr, "  -%s float\n    \t%s (default %g)\n", name.c_str(), f.usage.c_str(),
                   std::get<double>(f.def));
    } else {
      std::fprintf(stderr, "  -%s string\n    \t%s (default \"%s\")\n", name.c_str(),
                   f.usage.c_str(), std::get<std::string>(f.def).c_str());
    }
  }
}

void flag_set::fail(const std::string& message) const {
  std::fprintf(stderr, "%s\n", message.c_str());
  print_usage();
  std::exit(2);
}

namespace {

// Go's strconv.ParseInt(s, 0, 64): optional sign, then decimal, 0x hex,
// 0o / leading-0 octal or 0b binary. Underscores are not accepted here.
bool parse_int64(const std::string& s, int64_t* out) {
  if (s.empty()) return false;
  std::size_t i = 0;
  bool neg = false;
  if (s[i] == '+' || s[i] == '-') neg = s[i++] == '-';
  int base = 10;
  if (s.size() > i + 1 && s[i] == '0') {
    char c = s[i + 1];
    if (c == 'x' || c == 'X')
      base = 16, i += 2;
    else if (c == 'b' || c == 'B')
      base = 2, i += 2;
    else if (c == 'o' || c == 'O')
      base = 8, i += 2;
    else
      base = 8, i += 1;
  }
  if (i >= s.size()) return false;
  const std::string digits = s.substr(i);
  if (digits[0] == '+' || digits[0] == '-' || digits[0] == ' ') return false;
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(digits.c_str(), &end, base);
  if (errno != 0 || end != digits.c_str() + digits.size()) return false;
  const unsigned long long limit = neg ? 1ULL << 63 : (1ULL << 63) - 1;
  if (v > limit) return false;
  *out = neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  return true;
}

}  // namespace

void flag_set::parse(const std::vector<std::string>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() < 2 || a[0] != '-') return;  // first non-flag ends the flags
    std::size_t dashes = a[1] == '-' ? 2 : 1;
    if (dashes == 2 && a.size() == 2) return;  // "--" terminates
    std::string name = a.substr(dashes);
    if (name.empty() || name[0] == '-' || name[0] == '=') fail("bad flag syntax: " + a);
    std::string value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      has_value = true;
    }
    flag* f = find(name);
    if (!f) {
      if (name == "h" || name == "help") {
        print_usage();
        std::exit(0);
      }
      fail("flag provided but not defined: -" + name);
    }
    if (std::holds_alternative<bool>(f->value)) {
      // Go's strconv.ParseBool.
      if (!has_value || value == "1" || value == "t" || value == "T" || value == "true" ||
          value == "TRUE" || value == "True") {
        f->value = true;
      } else if (value == "0" || value == "f" || value == "F" || value == "false" ||
                 value == "FALSE" || value == "False") {
        f->value = false;
      } else {
        fail("invalid boolean value \"" + value + "\" for -" + name + ": parse error");
      }
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) fail("flag needs an argument: -" + name);
      value = args[++i];
    }
    if (std::holds_alternative<int64_t>(f->value)) {
      int64_t v = 0;
      if (!parse_int64(value, &v))
        fail("invalid value \"" + value + "\" for flag -" + name + ": parse error");
      f->value = v;
    } else if (std::holds_alternative<double>(f->value)) {
      // Go's strconv.ParseFloat(s, 64): the whole string, finite or not.
      errno = 0;
      char* end = nullptr;
      const double v = value.empty() ? 0 : std::strtod(value.c_str(), &end);
      if (value.empty() || errno != 0 || end != value.c_str() + value.size() ||
          std::isspace(static_cast<unsigned char>(value[0])))
        fail("invalid value \"" + value + "\" for flag -" + name + ": parse error");
      f->value = v;
    } else {
      f->value = value;
    }
  }
}

std::map<std::string, flag_value> flag_set::values() const {
  std::map<std::string, flag_value> out;
  for (const auto& [name, f] : flags_) out.emplace(name, f.value);
  return out;
}

}  // namespace goro_peers
