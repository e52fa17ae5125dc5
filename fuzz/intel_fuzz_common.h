// Shared by the intel fuzz targets: a sink that checks what the loaders hand it.
// Every accepted value must be non-empty, carry a registered meta id, and survive
// being vetted again as its own type unchanged (normalisation is idempotent; URLs
// only need to be accepted again, since a scheme-less key may lose a default port).
#pragma once

#include <cstdint>
#include <string_view>

#include "intel/intel.h"

namespace aegis::intel::fuzzing {

class CheckingSink : public detect::IndicatorSink {
 public:
  detect::MetaId AddMeta(const IndicatorMeta& meta) override {
    if (meta.confidence < 0 || meta.confidence > 100) __builtin_trap();
    return metas_++;
  }
  void Add(IndicatorType type, std::string_view value, detect::MetaId meta) override {
    if (value.empty() || meta >= metas_) __builtin_trap();
    auto again = VetValue(value, type, /*allow_private=*/true);
    if (!again) __builtin_trap();
    if (type != IndicatorType::kUrl && (again->type != type || again->value != value)) __builtin_trap();
  }

 private:
  detect::MetaId metas_ = 0;
};

// Checks the report's books balance.
inline void CheckReport(const LoadReport& report) {
  uint64_t by_type = 0;
  for (const auto& [type, count] : report.accepted_by_type) by_type += count;
  uint64_t by_reason = 0;
  for (const auto& [reason, count] : report.rejected_by_reason) by_reason += count;
  uint64_t not_loaded = 0;
  for (const auto& [reason, count] : report.not_loaded_by_reason) not_loaded += count;
  if (by_type != report.accepted || by_reason != report.rejected || not_loaded != report.not_loaded) {
    __builtin_trap();
  }
}

}  // namespace aegis::intel::fuzzing
