// Sigma correlation rules (internal to detect): parsing the `correlation:` section
// and the per-thread engine that counts base-rule matches in time windows.
//
// The loader (sigma_load.cc) parses each correlation document with
// ParseCorrelation, then resolves `rules:` references to rule indices (base rules
// or other correlations, for chaining) and fills `CorrelationSpec::rule_indices`.
// The detector feeds every base-rule match to CorrelationEngine::OnMatch; fired
// correlations are fed back in for chains.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace YAML {
class Node;
}

namespace aegis::detect::sigma {

enum class CorrelationType : unsigned char {
  kEventCount,
  kValueCount,
  kTemporal,
  kTemporalOrdered,
  kValueSum,
  kValueAvg,
  kValuePercentile,
};
std::string_view CorrelationTypeName(CorrelationType type);

enum class CompareOp : unsigned char { kGt, kGte, kLt, kLte, kEq, kNeq };

struct CorrelationCondition {
  // All comparisons must hold (e.g. gte: 10 and lt: 100).
  std::vector<std::pair<CompareOp, double>> comparisons;
  std::string field;      // value_count / value_sum / value_avg / value_percentile
  double percentile = 0;  // value_percentile: which percentile (0-100)
  // (negative when `percentile:` is absent: then value_percentile compares the share,
  // in percent, of the group's matches whose `field` equals this match's; see .cc)
};

struct CorrelationSpec {
  CorrelationType type = CorrelationType::kEventCount;
  std::vector<std::string> rule_refs;  // as written in `rules:` (names or ids)
  std::vector<uint32_t> rule_indices;  // resolved by the loader, same order
  std::vector<std::string> group_by;   // field names (or alias names)
  int64_t timespan_ns = 0;
  CorrelationCondition condition;
  // alias name -> (rule ref as written -> field name in that rule's events)
  std::map<std::string, std::map<std::string, std::string>> aliases;
  bool generate = false;  // base rules also raise their own alerts
};

// Parses the `correlation:` mapping of a rule document (the whole document is
// passed). Errors name the offending key and why.
Result<CorrelationSpec> ParseCorrelation(const YAML::Node& document);

// Reads a field of the thing that matched (an event for base rules, the group
// key of a fired correlation for chains); nullopt when absent.
using FieldLookup = std::function<std::optional<std::string>(std::string_view field)>;

// A correlation that fired.
struct CorrelationHit {
  uint32_t correlation = 0;                                // rule index of the correlation
  int64_t first_ns = 0, last_ns = 0;                       // event times of the window
  uint64_t events = 0;                                     // base matches in the window
  double value = 0;                                        // the aggregated value compared
  std::vector<std::pair<std::string, std::string>> group;  // group-by name, value
};

struct CorrelationStats {
  uint64_t evicted_groups = 0;  // dropped because the group ceiling was reached
  uint64_t groups = 0;          // groups held now
};

// Keeps the windows of every correlation rule. Not thread-safe: one per thread.
class CorrelationEngine {
 public:
  // `specs[i]` belongs to rule index `rule_of[i]`. `max_groups` bounds memory over
  // all correlations: when exceeded, the least recently updated group is evicted
  // and counted.
  CorrelationEngine(std::vector<CorrelationSpec> specs, std::vector<uint32_t> rule_of,
                    size_t max_groups);
  ~CorrelationEngine();

  // Rule `rule` (a base rule or a correlation) matched at `time_ns`. Appends every
  // correlation that fires because of it, including chained ones (a fired
  // correlation is fed back with its group as `fields`). Aliases are resolved with
  // the spec's rule_refs/rule_indices pairs. Events may arrive out of order inside
  // a timespan; windows follow event time, not arrival time.
  void OnMatch(uint32_t rule, int64_t time_ns, const FieldLookup& fields,
               std::vector<CorrelationHit>& out);
  // True when some correlation references rule index `rule`.
  bool IsReferenced(uint32_t rule) const;
  CorrelationStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aegis::detect::sigma
