// Sigma correlation rules (specification v2 plus the v2.1 metric types): parsing
// of the `correlation:` section and the windows of CorrelationEngine.
//
// Window semantics (all types):
// - Windows follow event time. Each group (correlation + group-by values) keeps the
//   newest event time it has seen; its window is [newest - timespan, newest].
//   An event older than newest - timespan is dropped (too late); an older event
//   inside the timespan is inserted in time order and counts. Entries that fall
//   out of the window when `newest` moves are evicted.
// - When a correlation fires, the group's window is reset (emptied) so that a burst
//   raises one alert, not one per further event (the usual SIEM choice). Events
//   stamped earlier than the firing event that arrive afterwards belong to the
//   window that already fired and are ignored; events with the same or a later
//   time start the next window.
//   Exception: value_percentile without `percentile:` (rarity mode, below) keeps
//   its window, because the window is the baseline the rarity is measured on.
// - Types and the number compared with the condition:
//   event_count       number of matches in the window.
//   value_count       distinct values of `field` (matches without it are ignored).
//   temporal          distinct referenced rules seen in the window; no condition
//                     means all of them.
//   temporal_ordered  length of the longest prefix of `rules:` that occurs in that
//                     order in the window (equal times count as in order); no
//                     condition means all of them.
//   value_sum/avg     sum/mean of numeric `field` (non-numeric values ignored).
//   value_percentile  with `percentile: P`: the P-th percentile of numeric `field`,
//                     linear interpolation between closest ranks (numpy "linear",
//                     Excel PERCENTILE.INC). Without `percentile:` (the form of the
//                     spec's own test, "process name seen in <= 1% of processes"):
//                     rarity mode, the share in percent (0-100) of the group's
//                     matches in the window whose `field` equals this match's.
// - Group-by fields absent from a match group by the empty string. Aliases map a
//   group-by (or `field`) name to a per-rule field, keyed by the rule reference as
//   written in `rules:`; a rule with no alias entry reads the name itself.
// - Chaining: a fired correlation is fed back into OnMatch (inside the same call)
//   with its rule index, the time of the firing event and its group as fields.
//   Chains deeper than kMaxChainDepth (a reference cycle) stop there.
//
// Memory: `max_groups` bounds the groups over all correlations (least recently
// updated evicted first, counted in stats().evicted_groups). Within a group,
// event_count keeps timestamps, value_count keeps value -> (newest time, matches),
// the numeric types keep (time, number), rarity keeps (time, value) and a count per
// value, temporal keeps times per referenced rule (only the newest when unordered).
// Each is capped at kMaxEntriesPerGroup entries (temporal_ordered: kMaxTimesPerRule
// per rule), dropping the oldest beyond that. So a condition above the cap (e.g. event_count `gt:
// 100000`) can never be reached; such thresholds are far beyond what a window should hold.
#include "detect/sigma_correlation.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <deque>
#include <iterator>
#include <limits>
#include <list>
#include <unordered_map>
#include <utility>
#include <variant>

namespace aegis::detect::sigma {
namespace {

constexpr size_t kMaxEntriesPerGroup = 100'000;
constexpr size_t kMaxTimesPerRule = 4'096;
constexpr int kMaxChainDepth = 16;
constexpr int64_t kMinTime = std::numeric_limits<int64_t>::min();

int64_t SaturatingSub(int64_t a, int64_t b) {  // b >= 0
  return a < kMinTime + b ? kMinTime : a - b;
}

// ---- Parsing -------------------------------------------------------------------------

Error MakeError(std::string field, std::string reason) {
  Error e;
  e.field = std::move(field);
  e.reason = std::move(reason);
  return e;
}

// `key` is relative to the `correlation:` mapping ("correlation" for the mapping itself).
std::unexpected<Error> Bad(std::string key, std::string why) {
  if (key == "correlation") return std::unexpected<Error>(MakeError(key, key + ": " + why));
  std::string reason = "correlation '" + key + "': " + why;
  return std::unexpected<Error>(MakeError("correlation." + key, std::move(reason)));
}

std::optional<double> ParseNumber(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

std::optional<CorrelationType> TypeFromName(std::string_view name) {
  static constexpr std::pair<std::string_view, CorrelationType> kTypes[] = {
      {"event_count", CorrelationType::kEventCount},
      {"value_count", CorrelationType::kValueCount},
      {"temporal", CorrelationType::kTemporal},
      {"temporal_ordered", CorrelationType::kTemporalOrdered},
      {"value_sum", CorrelationType::kValueSum},
      {"value_avg", CorrelationType::kValueAvg},
      {"value_percentile", CorrelationType::kValuePercentile},
  };
  for (const auto& [n, t] : kTypes) {
    if (n == name) return t;
  }
  return std::nullopt;
}

bool IsTemporal(CorrelationType t) {
  return t == CorrelationType::kTemporal || t == CorrelationType::kTemporalOrdered;
}
bool NeedsField(CorrelationType t) {
  return t == CorrelationType::kValueCount || t == CorrelationType::kValueSum ||
         t == CorrelationType::kValueAvg || t == CorrelationType::kValuePercentile;
}

// `<count><unit>` with unit s, m, h, d (and w, as pySigma accepts).
Result<int64_t> ParseTimespan(const std::string& text) {
  if (text.size() < 2) return Bad("timespan", "'" + text + "' is not <number><s|m|h|d>");
  std::string_view digits(text.data(), text.size() - 1);
  int64_t unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1'000'000'000LL;
      break;
    case 'm':
      unit = 60LL * 1'000'000'000LL;
      break;
    case 'h':
      unit = 3600LL * 1'000'000'000LL;
      break;
    case 'd':
      unit = 86400LL * 1'000'000'000LL;
      break;
    case 'w':
      unit = 7 * 86400LL * 1'000'000'000LL;
      break;
    default:
      return Bad("timespan", "'" + text + "' has no unit: use <number><s|m|h|d>, e.g. 5m");
  }
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Bad("timespan", "'" + text + "' is not <number><s|m|h|d>, e.g. 1h");
  }
  int64_t count = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) {
    return Bad("timespan", "'" + text + "' is out of range");
  }
  if (count <= 0) return Bad("timespan", "'" + text + "' must be greater than zero");
  // At most ~100 years, far from overflowing int64 nanoseconds.
  if (count > 100LL * 366 * 86400 * 1'000'000'000LL / unit) {
    return Bad("timespan", "'" + text + "' is too long (more than 100 years)");
  }
  return count * unit;
}

Result<std::vector<std::string>> StringList(const YAML::Node& node, const std::string& key) {
  std::vector<std::string> out;
  if (node.IsScalar()) {
    out.push_back(node.Scalar());
  } else if (node.IsSequence()) {
    for (const auto& item : node) {
      if (!item.IsScalar()) return Bad(key, "entries must be strings");
      out.push_back(item.Scalar());
    }
  } else {
    return Bad(key, "must be a string or a list of strings");
  }
  for (const auto& s : out) {
    if (s.empty()) return Bad(key, "has an empty entry");
  }
  return out;
}

Result<CorrelationSpec> ParseImpl(const YAML::Node& document) {
  if (!document.IsMap()) return Bad("correlation", "the rule document is not a mapping");
  const YAML::Node corr = document["correlation"];
  if (!corr) return Bad("correlation", "missing");
  if (!corr.IsMap()) return Bad("correlation", "must be a mapping");

  static constexpr std::string_view kKnownKeys[] = {"type",      "rules",   "group-by", "timespan",
                                                    "condition", "aliases", "generate"};
  for (const auto& kv : corr) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
    if (std::find(std::begin(kKnownKeys), std::end(kKnownKeys), key) == std::end(kKnownKeys)) {
      return Bad(key.empty() ? "?" : key, "unknown key");
    }
  }

  CorrelationSpec spec;
  // type
  const YAML::Node type = corr["type"];
  if (!type) return Bad("type", "missing");
  if (!type.IsScalar()) return Bad("type", "must be a string");
  auto t = TypeFromName(type.Scalar());
  if (!t) {
    return Bad("type", "unknown type '" + type.Scalar() +
                           "' (event_count, value_count, temporal, temporal_ordered, "
                           "value_sum, value_avg, value_percentile)");
  }
  spec.type = *t;

  // rules
  const YAML::Node rules = corr["rules"];
  if (!rules || rules.IsNull()) return Bad("rules", "missing: list the referenced rules");
  auto refs = StringList(rules, "rules");
  if (!refs) return std::unexpected(refs.error());
  if (refs->empty()) return Bad("rules", "is empty: list the referenced rules");
  for (size_t i = 0; i < refs->size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if ((*refs)[i] == (*refs)[j]) return Bad("rules", "'" + (*refs)[i] + "' is listed twice");
    }
  }
  spec.rule_refs = std::move(*refs);

  // group-by (optional)
  if (const YAML::Node gb = corr["group-by"]; gb && !gb.IsNull()) {
    auto names = StringList(gb, "group-by");
    if (!names) return std::unexpected(names.error());
    spec.group_by = std::move(*names);
  }

  // timespan
  const YAML::Node ts = corr["timespan"];
  if (!ts || ts.IsNull()) return Bad("timespan", "missing (e.g. 5m, 1h, 30s, 2d)");
  if (!ts.IsScalar()) return Bad("timespan", "must be a string such as 5m");
  auto span = ParseTimespan(ts.Scalar());
  if (!span) return std::unexpected(span.error());
  spec.timespan_ns = *span;

  // condition
  const YAML::Node cond = corr["condition"];
  bool has_percentile = false;
  if (!cond || cond.IsNull()) {
    if (!IsTemporal(spec.type)) return Bad("condition", "missing (e.g. condition: {gte: 10})");
  } else if (cond.IsScalar()) {
    return Bad("condition",
               "must be a mapping such as {gte: 10}; boolean expressions over "
               "rule names are not supported");
  } else if (!cond.IsMap()) {
    return Bad("condition", "must be a mapping such as {gte: 10}");
  } else {
    static constexpr std::pair<std::string_view, CompareOp> kOps[] = {
        {"gt", CompareOp::kGt},   {"gte", CompareOp::kGte}, {"lt", CompareOp::kLt},
        {"lte", CompareOp::kLte}, {"eq", CompareOp::kEq},   {"neq", CompareOp::kNeq},
    };
    for (const auto& kv : cond) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
      const std::string where = "condition." + (key.empty() ? std::string("?") : key);
      if (key == "field") {
        if (!kv.second.IsScalar() || kv.second.Scalar().empty()) {
          return Bad(where, "must be one field name");
        }
        spec.condition.field = kv.second.Scalar();
        continue;
      }
      if (key == "percentile") {
        if (spec.type != CorrelationType::kValuePercentile) {
          return Bad(where, "is only used by value_percentile");
        }
        auto p = kv.second.IsScalar() ? ParseNumber(kv.second.Scalar()) : std::nullopt;
        if (!p || *p < 0 || *p > 100) return Bad(where, "must be a number from 0 to 100");
        spec.condition.percentile = *p;
        has_percentile = true;
        continue;
      }
      auto op = std::find_if(std::begin(kOps), std::end(kOps),
                             [&](const auto& o) { return o.first == key; });
      if (op == std::end(kOps)) {
        return Bad(where, "unknown key (gt, gte, lt, lte, eq, neq, field, percentile)");
      }
      auto v = kv.second.IsScalar() ? ParseNumber(kv.second.Scalar()) : std::nullopt;
      if (!v) return Bad(where, "must be a number");
      spec.condition.comparisons.emplace_back(op->second, *v);
    }
    if (spec.condition.comparisons.empty() && !IsTemporal(spec.type)) {
      return Bad("condition", "has no comparison (gt, gte, lt, lte, eq or neq)");
    }
  }
  if (NeedsField(spec.type) && spec.condition.field.empty()) {
    return Bad("condition.field", std::string("missing: ") +
                                      std::string(CorrelationTypeName(spec.type)) +
                                      " needs the field whose values it aggregates");
  }
  if (!NeedsField(spec.type) && !spec.condition.field.empty()) {
    return Bad("condition.field",
               std::string("is not used by ") + std::string(CorrelationTypeName(spec.type)));
  }
  if (spec.type == CorrelationType::kValuePercentile && !has_percentile) {
    spec.condition.percentile = -1;  // rarity mode (see the header comment)
  }

  // aliases (optional)
  if (const YAML::Node al = corr["aliases"]; al && !al.IsNull()) {
    if (!al.IsMap()) return Bad("aliases", "must be a mapping alias -> {rule: field}");
    for (const auto& kv : al) {
      if (!kv.first.IsScalar() || kv.first.Scalar().empty()) {
        return Bad("aliases", "alias names must be strings");
      }
      const std::string alias = kv.first.Scalar();
      if (!kv.second.IsMap()) return Bad("aliases." + alias, "must be a mapping rule -> field");
      auto& per_rule = spec.aliases[alias];
      for (const auto& rf : kv.second) {
        if (!rf.first.IsScalar() || !rf.second.IsScalar() || rf.second.Scalar().empty()) {
          return Bad("aliases." + alias, "entries must be rule: field name");
        }
        per_rule[rf.first.Scalar()] = rf.second.Scalar();
      }
    }
  }

  // generate (optional)
  if (const YAML::Node gen = corr["generate"]; gen && !gen.IsNull()) {
    bool value = false;
    if (!gen.IsScalar() || !YAML::convert<bool>::decode(gen, value)) {
      return Bad("generate", "must be true or false");
    }
    spec.generate = value;
  }
  return spec;
}

// ---- Engine helpers ---------------------------------------------------------------

bool Holds(CompareOp op, double value, double limit) {
  switch (op) {
    case CompareOp::kGt:
      return value > limit;
    case CompareOp::kGte:
      return value >= limit;
    case CompareOp::kLt:
      return value < limit;
    case CompareOp::kLte:
      return value <= limit;
    case CompareOp::kEq:
      return value == limit;
    case CompareOp::kNeq:
      return value != limit;
  }
  return false;
}

// Linear interpolation between closest ranks; `values` is reordered.
double Percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  p = std::clamp(p, 0.0, 100.0);
  const double rank = p / 100.0 * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  std::nth_element(values.begin(), values.begin() + lo, values.end());
  const double a = values[lo];
  if (hi == lo || rank == static_cast<double>(lo)) return a;
  const double b = *std::min_element(values.begin() + lo + 1, values.end());
  return a + (b - a) * (rank - static_cast<double>(lo));
}

// Inserts `v` into a deque sorted by `.first` (time), after equal times.
template <typename D, typename V>
void InsertSorted(D& d, V&& v) {
  if (d.empty() || d.back().first <= v.first) {
    d.push_back(std::forward<V>(v));
    return;
  }
  auto it = std::upper_bound(d.begin(), d.end(), v.first,
                             [](int64_t t, const auto& e) { return t < e.first; });
  d.insert(it, std::forward<V>(v));
}

struct EventCountWindow {
  std::deque<int64_t> times;  // sorted
};
struct ValueCountWindow {
  using ByTime = std::multimap<int64_t, std::string>;
  struct Seen {
    ByTime::iterator newest;  // entry in by_time
    uint64_t matches = 0;     // matches with this value since it entered the window
  };
  ByTime by_time;  // newest time of each value
  std::unordered_map<std::string, Seen> values;
  // Sum of Seen::matches: the matches of the window, counting every match of a value
  // that is still in it (older matches of that value included).
  uint64_t events = 0;
};
struct NumericWindow {  // value_sum, value_avg, value_percentile with `percentile:`
  std::deque<std::pair<int64_t, double>> entries;  // sorted by time
  long double sum = 0;
};
struct RarityWindow {                                   // value_percentile without `percentile:`
  std::deque<std::pair<int64_t, std::string>> entries;  // sorted by time
  std::unordered_map<std::string, uint32_t> counts;
};
struct TemporalWindow {
  std::vector<std::deque<int64_t>> times;  // per referenced rule (slot), sorted
};
using Window =
    std::variant<EventCountWindow, ValueCountWindow, NumericWindow, RarityWindow, TemporalWindow>;

}  // namespace

std::string_view CorrelationTypeName(CorrelationType type) {
  switch (type) {
    case CorrelationType::kEventCount:
      return "event_count";
    case CorrelationType::kValueCount:
      return "value_count";
    case CorrelationType::kTemporal:
      return "temporal";
    case CorrelationType::kTemporalOrdered:
      return "temporal_ordered";
    case CorrelationType::kValueSum:
      return "value_sum";
    case CorrelationType::kValueAvg:
      return "value_avg";
    case CorrelationType::kValuePercentile:
      return "value_percentile";
  }
  return "unknown";
}

Result<CorrelationSpec> ParseCorrelation(const YAML::Node& document) {
  try {
    return ParseImpl(document);
  } catch (const YAML::Exception& e) {
    return Bad("correlation", std::string("cannot be read: ") + e.what());
  } catch (const std::exception& e) {
    return Bad("correlation", std::string("cannot be read: ") + e.what());
  }
}

// ---- CorrelationEngine ---------------------------------------------------------------

struct CorrelationEngine::Impl {
  struct Compiled {
    CorrelationSpec spec;
    uint32_t rule = std::numeric_limits<uint32_t>::max();  // its own rule index
    bool has_rule = false;
    // Per slot (position in rule_indices): the field read for each group-by name
    // and for condition.field, aliases applied.
    std::vector<std::vector<std::string>> group_fields;
    std::vector<std::string> value_field;
    bool rarity = false;
  };
  struct Reference {
    uint32_t spec = 0;
    std::vector<uint32_t> slots;  // positions of the rule in rule_indices
  };
  struct Group {
    std::string key;
    uint32_t spec = 0;
    std::vector<std::pair<std::string, std::string>> group;
    int64_t newest = kMinTime;
    bool seen = false;
    int64_t reset_ns = kMinTime;  // matches earlier than this belong to a fired window
    Window window;
  };

  std::vector<Compiled> specs;
  std::unordered_map<uint32_t, std::vector<Reference>> refs;
  size_t max_groups = 1;
  std::list<Group> lru;  // front: most recently updated
  std::unordered_map<std::string, std::list<Group>::iterator> index;
  uint64_t evicted = 0;

  void Feed(uint32_t rule, int64_t time_ns, const FieldLookup& fields,
            std::vector<CorrelationHit>& out, int depth);
  std::optional<CorrelationHit> Update(uint32_t spec_index, const std::vector<uint32_t>& slots,
                                       int64_t time_ns, const FieldLookup& fields);
  Group& FindOrCreate(uint32_t spec_index, std::vector<std::string> values);
};

namespace {

std::string Resolve(const CorrelationSpec& spec, size_t slot, const std::string& name) {
  auto alias = spec.aliases.find(name);
  if (alias == spec.aliases.end() || slot >= spec.rule_refs.size()) return name;
  auto field = alias->second.find(spec.rule_refs[slot]);
  return field == alias->second.end() ? name : field->second;
}

Window MakeWindow(const CorrelationSpec& spec, bool rarity) {
  switch (spec.type) {
    case CorrelationType::kEventCount:
      return EventCountWindow{};
    case CorrelationType::kValueCount:
      return ValueCountWindow{};
    case CorrelationType::kTemporal:
    case CorrelationType::kTemporalOrdered:
      return TemporalWindow{std::vector<std::deque<int64_t>>(spec.rule_indices.size())};
    case CorrelationType::kValueSum:
    case CorrelationType::kValueAvg:
      return NumericWindow{};
    case CorrelationType::kValuePercentile:
      if (rarity) return RarityWindow{};
      return NumericWindow{};
  }
  return EventCountWindow{};
}

void AppendKeyPart(std::string& key, std::string_view part) {
  const uint32_t n = static_cast<uint32_t>(part.size());
  key.append(reinterpret_cast<const char*>(&n), sizeof n);
  key.append(part);
}

}  // namespace

CorrelationEngine::CorrelationEngine(std::vector<CorrelationSpec> specs,
                                     std::vector<uint32_t> rule_of, size_t max_groups)
    : impl_(std::make_unique<Impl>()) {
  impl_->max_groups = std::max<size_t>(max_groups, 1);
  impl_->specs.reserve(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    Impl::Compiled c;
    c.spec = std::move(specs[i]);
    if (i < rule_of.size()) {
      c.rule = rule_of[i];
      c.has_rule = true;
    }
    c.rarity = c.spec.type == CorrelationType::kValuePercentile && c.spec.condition.percentile < 0;
    const size_t slots = c.spec.rule_indices.size();
    c.group_fields.resize(slots);
    c.value_field.resize(slots);
    for (size_t s = 0; s < slots; ++s) {
      for (const auto& g : c.spec.group_by) c.group_fields[s].push_back(Resolve(c.spec, s, g));
      if (!c.spec.condition.field.empty()) {
        c.value_field[s] = Resolve(c.spec, s, c.spec.condition.field);
      }
    }
    const uint32_t spec_index = static_cast<uint32_t>(impl_->specs.size());
    for (size_t s = 0; s < slots; ++s) {
      auto& list = impl_->refs[c.spec.rule_indices[s]];
      auto it = std::find_if(list.begin(), list.end(),
                             [&](const Impl::Reference& r) { return r.spec == spec_index; });
      if (it == list.end()) {
        list.push_back({spec_index, {}});
        it = std::prev(list.end());
      }
      it->slots.push_back(static_cast<uint32_t>(s));
    }
    impl_->specs.push_back(std::move(c));
  }
}

CorrelationEngine::~CorrelationEngine() = default;

bool CorrelationEngine::IsReferenced(uint32_t rule) const { return impl_->refs.contains(rule); }

CorrelationStats CorrelationEngine::stats() const {
  CorrelationStats s;
  s.evicted_groups = impl_->evicted;
  s.groups = impl_->index.size();
  return s;
}

void CorrelationEngine::OnMatch(uint32_t rule, int64_t time_ns, const FieldLookup& fields,
                                std::vector<CorrelationHit>& out) {
  try {
    impl_->Feed(rule, time_ns, fields, out, 0);
  } catch (...) {
    // A failing lookup or an allocation failure drops this match, nothing more.
  }
}

void CorrelationEngine::Impl::Feed(uint32_t rule, int64_t time_ns, const FieldLookup& fields,
                                   std::vector<CorrelationHit>& out, int depth) {
  auto found = refs.find(rule);
  if (found == refs.end()) return;
  std::vector<CorrelationHit> fired;
  for (const Reference& ref : found->second) {
    if (auto hit = Update(ref.spec, ref.slots, time_ns, fields)) fired.push_back(std::move(*hit));
  }
  if (fired.empty()) return;
  out.insert(out.end(), fired.begin(), fired.end());
  if (depth + 1 >= kMaxChainDepth) return;
  for (const CorrelationHit& hit : fired) {
    // hit.correlation is the fired correlation's rule index (when known).
    bool known = false;
    for (const Compiled& c : specs) {
      if (c.has_rule && c.rule == hit.correlation) {
        known = true;
        break;
      }
    }
    if (!known) continue;
    const auto& group = hit.group;
    FieldLookup lookup = [&group](std::string_view name) -> std::optional<std::string> {
      for (const auto& [n, v] : group) {
        if (n == name) return v;
      }
      return std::nullopt;
    };
    Feed(hit.correlation, hit.last_ns, lookup, out, depth + 1);
  }
}

CorrelationEngine::Impl::Group& CorrelationEngine::Impl::FindOrCreate(
    uint32_t spec_index, std::vector<std::string> values) {
  std::string key;
  key.append(reinterpret_cast<const char*>(&spec_index), sizeof spec_index);
  for (const auto& v : values) AppendKeyPart(key, v);
  if (auto it = index.find(key); it != index.end()) {
    lru.splice(lru.begin(), lru, it->second);
    return *it->second;
  }
  const Compiled& c = specs[spec_index];
  Group g;
  g.key = key;
  g.spec = spec_index;
  g.group.reserve(values.size());
  for (size_t i = 0; i < values.size() && i < c.spec.group_by.size(); ++i) {
    g.group.emplace_back(c.spec.group_by[i], std::move(values[i]));
  }
  g.window = MakeWindow(c.spec, c.rarity);
  lru.push_front(std::move(g));
  index.emplace(std::move(key), lru.begin());
  while (index.size() > max_groups && lru.size() > 1) {
    index.erase(lru.back().key);
    lru.pop_back();
    ++evicted;
  }
  return lru.front();
}

std::optional<CorrelationHit> CorrelationEngine::Impl::Update(uint32_t spec_index,
                                                              const std::vector<uint32_t>& slots,
                                                              int64_t time_ns,
                                                              const FieldLookup& fields) {
  const Compiled& c = specs[spec_index];
  const CorrelationSpec& spec = c.spec;
  if (slots.empty()) return std::nullopt;
  const uint32_t slot0 = slots.front();

  // The value this match contributes, if the type needs one.
  std::optional<std::string> raw_value;
  std::optional<double> number;
  if (NeedsField(spec.type)) {
    raw_value = fields ? fields(c.value_field[slot0]) : std::nullopt;
    if (!raw_value) return std::nullopt;  // matches without the field are not counted
    if (!c.rarity && spec.type != CorrelationType::kValueCount) {
      number = ParseNumber(*raw_value);
      if (!number) return std::nullopt;  // not a number: not aggregated
    }
  }

  std::vector<std::string> values;
  values.reserve(spec.group_by.size());
  for (const auto& f : c.group_fields[slot0]) {
    std::optional<std::string> v = fields ? fields(f) : std::nullopt;
    values.push_back(v ? std::move(*v) : std::string());
  }
  Group& g = FindOrCreate(spec_index, std::move(values));

  // Window bounds in event time.
  if (time_ns < g.reset_ns) return std::nullopt;
  if (g.seen && time_ns < SaturatingSub(g.newest, spec.timespan_ns)) return std::nullopt;
  if (!g.seen || time_ns > g.newest) g.newest = time_ns;
  g.seen = true;
  const int64_t cutoff = SaturatingSub(g.newest, spec.timespan_ns);

  CorrelationHit hit;
  hit.correlation = c.has_rule ? c.rule : spec_index;
  hit.last_ns = g.newest;
  double value = 0;
  bool reset = true;

  if (auto* w = std::get_if<EventCountWindow>(&g.window)) {
    auto& d = w->times;
    if (d.empty() || d.back() <= time_ns) {
      d.push_back(time_ns);
    } else {
      d.insert(std::upper_bound(d.begin(), d.end(), time_ns), time_ns);
    }
    while (!d.empty() && d.front() < cutoff) d.pop_front();
    while (d.size() > kMaxEntriesPerGroup) d.pop_front();
    value = static_cast<double>(d.size());
    hit.events = d.size();
    hit.first_ns = d.front();
  } else if (auto* w = std::get_if<ValueCountWindow>(&g.window)) {
    auto it = w->values.find(*raw_value);
    if (it == w->values.end()) {
      auto pos = w->by_time.emplace(time_ns, *raw_value);
      it = w->values.emplace(*raw_value, ValueCountWindow::Seen{pos, 0}).first;
    } else if (it->second.newest->first < time_ns) {
      w->by_time.erase(it->second.newest);
      it->second.newest = w->by_time.emplace(time_ns, *raw_value);
    }
    ++it->second.matches;
    ++w->events;
    while (!w->by_time.empty() &&
           (w->by_time.begin()->first < cutoff || w->by_time.size() > kMaxEntriesPerGroup)) {
      auto gone = w->values.find(w->by_time.begin()->second);
      if (gone != w->values.end()) {
        w->events -= std::min(w->events, gone->second.matches);
        w->values.erase(gone);
      }
      w->by_time.erase(w->by_time.begin());
    }
    value = static_cast<double>(w->values.size());
    hit.events = w->events;
    hit.first_ns = w->by_time.empty() ? time_ns : w->by_time.begin()->first;
  } else if (auto* w = std::get_if<NumericWindow>(&g.window)) {
    InsertSorted(w->entries, std::pair<int64_t, double>(time_ns, *number));
    w->sum += *number;
    while (!w->entries.empty() &&
           (w->entries.front().first < cutoff || w->entries.size() > kMaxEntriesPerGroup)) {
      w->sum -= w->entries.front().second;
      w->entries.pop_front();
    }
    if (w->entries.empty()) w->sum = 0;  // no drift carried into the next window
    const size_t n = w->entries.size();
    if (spec.type == CorrelationType::kValueSum) {
      value = static_cast<double>(w->sum);
    } else if (spec.type == CorrelationType::kValueAvg) {
      value = n ? static_cast<double>(w->sum / static_cast<long double>(n)) : 0;
    } else {
      std::vector<double> nums;
      nums.reserve(n);
      for (const auto& e : w->entries) nums.push_back(e.second);
      value = Percentile(nums, spec.condition.percentile);
    }
    hit.events = n;
    hit.first_ns = n ? w->entries.front().first : time_ns;
  } else if (auto* w = std::get_if<RarityWindow>(&g.window)) {
    reset = false;  // the window is the baseline
    InsertSorted(w->entries, std::pair<int64_t, std::string>(time_ns, *raw_value));
    ++w->counts[*raw_value];
    while (!w->entries.empty() &&
           (w->entries.front().first < cutoff || w->entries.size() > kMaxEntriesPerGroup)) {
      auto it = w->counts.find(w->entries.front().second);
      if (it != w->counts.end() && --it->second == 0) w->counts.erase(it);
      w->entries.pop_front();
    }
    const size_t n = w->entries.size();
    auto it = w->counts.find(*raw_value);
    const double count = it == w->counts.end() ? 0 : it->second;
    value = n ? count * 100.0 / static_cast<double>(n) : 0;
    hit.events = n;
    hit.first_ns = n ? w->entries.front().first : time_ns;
  } else if (auto* w = std::get_if<TemporalWindow>(&g.window)) {
    const bool ordered = spec.type == CorrelationType::kTemporalOrdered;
    for (uint32_t s : slots) {
      if (s >= w->times.size()) continue;
      auto& d = w->times[s];
      if (!ordered) {
        // Only the newest time of each rule matters without order.
        if (d.empty())
          d.push_back(time_ns);
        else
          d.front() = std::max(d.front(), time_ns);
        continue;
      }
      if (d.empty() || d.back() <= time_ns)
        d.push_back(time_ns);
      else
        d.insert(std::upper_bound(d.begin(), d.end(), time_ns), time_ns);
      while (d.size() > kMaxTimesPerRule) d.pop_front();
    }
    size_t present = 0, events = 0;
    int64_t first = time_ns;
    for (auto& d : w->times) {
      while (!d.empty() && d.front() < cutoff) d.pop_front();
      if (d.empty()) continue;
      ++present;
      events += d.size();
      first = std::min(first, d.front());
    }
    if (ordered) {
      size_t matched = 0;
      int64_t prev = cutoff;
      for (const auto& d : w->times) {
        auto next = std::lower_bound(d.begin(), d.end(), prev);
        if (next == d.end()) break;
        prev = *next;
        ++matched;
      }
      value = static_cast<double>(matched);
    } else {
      value = static_cast<double>(present);
    }
    hit.events = events;
    hit.first_ns = first;
  }

  bool fires = true;
  if (spec.condition.comparisons.empty()) {
    // temporal / temporal_ordered without a condition: every referenced rule.
    fires = IsTemporal(spec.type) && value >= static_cast<double>(spec.rule_indices.size());
  } else {
    for (const auto& [op, limit] : spec.condition.comparisons) {
      if (!Holds(op, value, limit)) {
        fires = false;
        break;
      }
    }
  }
  if (!fires) return std::nullopt;

  hit.value = value;
  hit.group = g.group;
  if (reset) {
    g.window = MakeWindow(spec, c.rarity);
    g.reset_ns = g.newest;
  }
  return hit;
}

}  // namespace aegis::detect::sigma
