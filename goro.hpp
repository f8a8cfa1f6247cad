#pragma once
// goro: a Go-style runtime for C++20. The one header users include.

#include "core/env.hpp"
#include "core/fatal.hpp"
