#pragma once
// The default collection policy: goro's pacer (pacer/pacer.hpp) behind the
// driver's collection_policy seam. See pacer_policy.cpp.

#include <cstdint>

#include "heap/collection_policy.hpp"
#include "heap/gctrace.hpp"
#include "pacer/pacer.hpp"

namespace goro::heap {

/// Feeds the pacer the driver's observations and returns its decisions;
/// reads gc_percent, the memory limit and procs from heap/gc_settings.hpp at
/// every check. Called under the driver's policy lock only (the pacer is not
/// thread-safe).
class pacer_policy final : public collection_policy {
 public:
  pacer_policy();
  /// With the pacer's tuning (tests: e.g. the GC CPU limiter off, to measure
  /// the goal and the cap alone).
  explicit pacer_policy(const pacer::pacer_tuning& tuning);

  uint64_t trigger(const heap_observation& now) override;
  void collected(const collection_record& r) override;
  uint64_t retained_heap(const heap_observation& now, uint64_t trigger) override;
  uint64_t heap_room(const heap_observation& now) override;
  bool collect_when_full(const heap_observation& now) override;

  /// The model, for tests and metrics.
  const pacer::pacer& model() const noexcept { return pacer_; }
  /// The last check's decision.
  const pacer::decision& last_decision() const noexcept { return last_; }

 private:
  void sync_settings() noexcept;
  void publish() noexcept;

  pacer::pacer pacer_;
  pacer::decision last_;
  uint64_t admit_heap_ = 0;  // heap_alloc at the check that admitted the collection
};

/// The memory sample the pacer sees for an observation (exposed for tests).
pacer::memory_sample memory_sample_of(const heap_observation& o) noexcept;

}  // namespace goro::heap
