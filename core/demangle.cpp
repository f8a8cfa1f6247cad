#include "core/demangle.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

namespace goro::detail {

std::optional<std::string> try_demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> out(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), &std::free);
  if (status != 0 || !out) return std::nullopt;
  return std::string(out.get());
}

std::string demangle(const char* mangled) {
  return try_demangle(mangled).value_or(mangled);
}

}  // namespace goro::detail
