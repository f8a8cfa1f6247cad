#pragma once
// The gctrace line (GORO_DEBUG=gctrace=1); its fields are explained in
// heap/gctrace.cpp.

#include <cstddef>
#include <cstdint>

#include "heap/collection_policy.hpp"
#include "pacer/pacer.hpp"

namespace goro::heap {

/// Formats a gctrace line (without newline) into `buf`; returns its length
/// (snprintf's, may exceed `size`). Exposed for tests.
int format_gctrace(char* buf, std::size_t size, const collection_record& r,
                   const pacer::cycle_report& rep, uint64_t heap_at_check, int64_t memory_limit,
                   int procs, pacer::pressure_state state) noexcept;

}  // namespace goro::heap
