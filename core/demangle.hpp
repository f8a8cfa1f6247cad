#pragma once
// C++ symbol names for people: one wrapper around abi::__cxa_demangle.

#include <optional>
#include <string>

namespace goro::detail {

/// The demangled form of `mangled`, or nullopt when it is not a valid
/// mangled name.
std::optional<std::string> try_demangle(const char* mangled);

/// The demangled form of `mangled`, or `mangled` itself when it does not
/// demangle (a C symbol, a typeid name on another ABI).
std::string demangle(const char* mangled);

}  // namespace goro::detail
