// IndicatorSinks for the intel tests: one that keeps everything it is given and one
// that only counts (for the full maltrail tree). Independent of IndexBuilder.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "detect/indicator_index.h"

namespace aegis::intel::testing {

struct CollectedIndicator {
  IndicatorType type;
  std::string value;
  detect::MetaId meta;
};

class CollectingSink : public detect::IndicatorSink {
 public:
  detect::MetaId AddMeta(const IndicatorMeta& meta) override {
    metas.push_back(meta);
    return static_cast<detect::MetaId>(metas.size() - 1);
  }
  void Add(IndicatorType type, std::string_view value, detect::MetaId meta) override {
    indicators.push_back({type, std::string(value), meta});
  }

  // The first indicator with this value, or nullptr.
  const CollectedIndicator* Find(std::string_view value) const {
    for (const CollectedIndicator& indicator : indicators) {
      if (indicator.value == value) return &indicator;
    }
    return nullptr;
  }
  const IndicatorMeta& MetaOf(const CollectedIndicator& indicator) const { return metas.at(indicator.meta); }
  std::vector<std::string> Values() const {
    std::vector<std::string> out;
    for (const CollectedIndicator& indicator : indicators) out.push_back(indicator.value);
    return out;
  }

  std::vector<IndicatorMeta> metas;
  std::vector<CollectedIndicator> indicators;
};

class CountingSink : public detect::IndicatorSink {
 public:
  detect::MetaId AddMeta(const IndicatorMeta&) override { return static_cast<detect::MetaId>(metas++); }
  void Add(IndicatorType type, std::string_view value, detect::MetaId meta) override {
    ++by_type[static_cast<size_t>(type)];
    ++total;
    bytes += value.size();
    if (meta >= metas) ++bad_meta_ids;
  }

  uint64_t metas = 0;
  uint64_t total = 0;
  uint64_t bytes = 0;
  uint64_t bad_meta_ids = 0;
  uint64_t by_type[9] = {};
};

}  // namespace aegis::intel::testing
