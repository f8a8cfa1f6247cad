#pragma once
// Test helper for the GORO_* parsers (core_env_test, core_settings_test).

#include <string>

#include "core/env.hpp"

namespace goro::testing {

/// The message of the config_error that `f` throws, or "" if it does not.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const goro::config_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace goro::testing
