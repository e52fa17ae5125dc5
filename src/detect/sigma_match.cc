// Matching events against a RuleSet.
//
// Per event: (1) route: the event's format and routing fields (Channel, EventID, ...)
// select the logsource groups it reaches; routes are cached by those values. (2)
// scan: the values of the fields the route's rules look for literals in go to one
// Hyperscan vectored scan, which reports each literal present once. (3) evaluate:
// the rules owning a reported literal, and the route's rules without usable
// literals, are evaluated in full. The prefilter is sound: a literal is only
// required of a rule when no match is possible without it, so skipping a rule whose
// literals are absent never loses a detection.
#include <hs/hs.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>
#include <unordered_set>

#include "core/observables.h"
#include "detect/sigma_internal.h"

namespace aegis::detect::sigma {

using namespace internal;

namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool SimpleGlob(std::string_view pattern, std::string_view text) {
  // `*` and `?` over bytes; inputs are already lower-case.
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

struct Route {
  std::vector<uint64_t> bits;            // rules reachable from this route
  std::vector<uint32_t> always;          // reachable rules evaluated without a literal hit
  std::vector<uint32_t> keyword_groups;  // reached groups with keyword literals
  bool any = false;                      // some rule is reachable
};

bool Has(const std::vector<uint64_t>& bits, uint32_t i) { return (bits[i >> 6] >> (i & 63)) & 1; }

int OnLiteral(unsigned int id, unsigned long long, unsigned long long, unsigned int,
              void* context) {
  static_cast<std::vector<uint32_t>*>(context)->push_back(id);
  return 0;
}

std::string_view Basename(std::string_view source) {
  const size_t cut = source.find_last_of("/:");
  return cut == std::string_view::npos ? source : source.substr(cut + 1);
}

}  // namespace

struct Matcher::Impl {
  std::shared_ptr<const RuleSet> set;
  hs_scratch_t* scratch = nullptr;              // big enough for both literal sets
  std::vector<std::string_view> routing_names;  // interned
  std::unordered_map<std::string, std::unique_ptr<Route>> routes;
  std::string key;
  std::vector<uint32_t> hits;
  std::vector<uint32_t> rule_stamp;
  uint32_t stamp = 0;
  std::vector<uint32_t> candidates;
  std::vector<std::string> lower;
  std::vector<uint32_t> lower_stamp;
  std::vector<signed char> memo;
  // Direct-mapped cache: interned field name -> index into prefilter.fields (-1: none).
  struct Slot {
    const char* name = nullptr;
    int index = -1;
  };
  std::array<Slot, 1024> slots{};
  std::string joined;  // all values of the event, for keyword scans
  const Event* event = nullptr;
  MatcherStats stats;
  bool use_prefilter = true;
  bool scratch_ok = true;    // false: Hyperscan scratch could not be had; no prefilter
  bool scan_failed = false;  // a scan of this event failed: evaluate every routed rule

  explicit Impl(std::shared_ptr<const RuleSet> rules) : set(std::move(rules)) {
    for (const RouteGroup& g : set->groups) {
      if (g.keywords.db && hs_alloc_scratch(g.keywords.db, &scratch) != HS_SUCCESS) {
        scratch_ok = false;
      }
    }
    for (const FieldAtoms& f : set->prefilter.fields) {
      if (f.literals.db && hs_alloc_scratch(f.literals.db, &scratch) != HS_SUCCESS) {
        scratch_ok = false;
      }
    }
    for (const auto& f : set->mapping.routing_fields) routing_names.push_back(Intern(f));
    rule_stamp.assign(set->rules.size(), 0);
    size_t max_selections = 0;
    for (const auto& r : set->rules) max_selections = std::max(max_selections, r.selections.size());
    memo.assign(max_selections, -1);
  }
  ~Impl() {
    if (scratch) hs_free_scratch(scratch);
  }

  // ---- field access ----

  // The event's value `index` in lower case, computed once per event. Match() sizes
  // the cache for the event first, so views stay valid for the whole event.
  std::string_view LowerOf(size_t index) {
    if (lower_stamp[index] != stamp) {
      const std::string& v = event->fields()[index].value;
      std::string& out = lower[index];
      out.resize(v.size());
      for (size_t i = 0; i < v.size(); ++i) out[i] = Lower(v[i]);
      lower_stamp[index] = stamp;
    }
    return lower[index];
  }

  static bool NameIs(const Field& f, const std::vector<std::string_view>& names) {
    for (const auto& n : names) {
      if (f.key.original.data() == n.data() || f.key.name.data() == n.data()) return true;
    }
    return false;
  }

  std::string_view RoutingValue(size_t i) {
    const std::string& name = set->mapping.routing_fields[i];
    if (name == "$format") return FormatName(event->format);
    if (name == "$source") return Basename(event->source);
    const char* ptr = routing_names[i].data();
    for (const Field& f : event->fields()) {
      if (f.key.original.data() == ptr || f.key.name.data() == ptr) return f.value;
    }
    return {};
  }

  // ---- routing ----

  const Route& RouteFor() {
    key.clear();
    for (size_t i = 0; i < routing_names.size(); ++i) {
      key += RoutingValue(i);
      key += '\x1f';
    }
    auto it = routes.find(key);
    if (it != routes.end()) return *it->second;
    if (routes.size() >= 4096) routes.clear();
    auto route = std::make_unique<Route>();
    BuildRoute(*route);
    return *routes.emplace(key, std::move(route)).first->second;
  }

  void BuildRoute(Route& route) {
    std::unordered_set<std::string> products, categories, services;
    std::vector<std::string> values(routing_names.size());
    for (size_t i = 0; i < routing_names.size(); ++i) {
      values[i] = std::string(RoutingValue(i));
      for (char& c : values[i]) c = Lower(c);
    }
    auto value_of = [&](const std::string& field) -> const std::string* {
      const auto& names = set->mapping.routing_fields;
      auto pos = std::lower_bound(names.begin(), names.end(), field);
      if (pos == names.end() || *pos != field) return nullptr;
      return &values[pos - names.begin()];
    };
    for (const LogsourceEntry& e : set->mapping.entries) {
      bool matched = false;
      for (const auto& alternative : e.when) {
        bool all = true;
        for (const SourceTest& t : alternative) {
          const std::string* v = value_of(t.field);
          bool any = false;
          if (v && !v->empty()) {
            for (const auto& want : t.values) {
              if (SimpleGlob(want, *v)) {
                any = true;
                break;
              }
            }
          }
          if (!any) {
            all = false;
            break;
          }
        }
        if (all) {
          matched = true;
          break;
        }
      }
      if (!matched) continue;
      if (!e.product.empty()) products.insert(e.product);
      if (!e.category.empty()) categories.insert(e.category);
      if (!e.service.empty()) services.insert(e.service);
    }
    route.bits.assign((set->rules.size() + 63) / 64, 0);
    for (const RouteGroup& g : set->groups) {
      if ((!g.product.empty() && !products.count(g.product)) ||
          (!g.category.empty() && !categories.count(g.category)) ||
          (!g.service.empty() && !services.count(g.service))) {
        continue;
      }
      for (uint32_t r : g.rules) {
        route.any = true;
        route.bits[r >> 6] |= uint64_t{1} << (r & 63);
        if (set->always[r]) route.always.push_back(r);
      }
      if (g.keywords.db)
        route.keyword_groups.push_back(static_cast<uint32_t>(&g - set->groups.data()));
    }
    std::sort(route.always.begin(), route.always.end());
  }

  int FieldAtomsIndex(const char* name) {
    Slot& slot = slots[(reinterpret_cast<uintptr_t>(name) >> 3) & (slots.size() - 1)];
    if (slot.name == name) return slot.index;
    const auto& index = set->prefilter.field_index;
    auto it = index.find(name);
    slot.name = name;
    slot.index = it == index.end() ? -1 : static_cast<int>(it->second);
    return slot.index;
  }

  void Candidate(uint32_t r, const Route& route) {
    if (rule_stamp[r] == stamp || !Has(route.bits, r)) return;
    rule_stamp[r] = stamp;
    candidates.push_back(r);
  }

  void HashAtoms(const FieldAtoms& atoms, size_t index, const Route& route) {
    if (atoms.exact.empty() && atoms.tail.empty()) return;
    const std::string_view lower = LowerOf(index);
    if (!atoms.exact.empty()) {
      key.assign(lower);
      if (auto it = atoms.exact.find(key); it != atoms.exact.end()) {
        for (uint32_t r : it->second) Candidate(r, route);
      }
    }
    if (!atoms.tail.empty()) {
      const size_t slash = lower.rfind('\\');
      if (slash != std::string_view::npos) {
        key.assign(lower.substr(slash));
        if (auto it = atoms.tail.find(key); it != atoms.tail.end()) {
          for (uint32_t r : it->second) Candidate(r, route);
        }
      }
    }
  }

  // Hash atoms and the field's literal scan.
  void Check(const FieldAtoms& atoms, size_t index, const Route& route) {
    HashAtoms(atoms, index, route);
    if (!atoms.literals.db) return;
    const std::string_view value = LowerOf(index);  // the set is lower-case, case-sensitive
    hits.clear();
    stats.scanned_bytes += value.size();
    if (hs_scan(atoms.literals.db, value.data(), static_cast<unsigned int>(value.size()), 0,
                scratch, OnLiteral, &hits) != HS_SUCCESS) {
      scan_failed = true;
    }
    for (uint32_t literal : hits) {
      for (uint32_t r : atoms.literals.rules_of_literal[literal]) Candidate(r, route);
    }
  }

  // ---- evaluation ----

  bool ValueOn(const FieldTest& test, const ValueTest& v, size_t index) {
    const std::string& value = event->fields()[index].value;
    switch (v.kind) {
      case ValueTest::kPattern:
        return PatternMatches(v.pattern, value,
                              v.pattern.cased ? std::string_view(value) : LowerOf(index));
      case ValueTest::kRegex: {
        auto r = RegexMatches(*v.regex, value);
        if (!r) {
          ++stats.regex_errors;
          return false;
        }
        return *r;
      }
      case ValueTest::kCidr: {
        auto ip = ParseIp(value);
        if (!ip || ip->v6 != v.cidr.v6) return false;
        int bits = v.cidr.bits;
        for (int i = 0; bits > 0; ++i, bits -= 8) {
          const unsigned mask = bits >= 8 ? 0xFF : (0xFF << (8 - bits)) & 0xFF;
          if ((ip->bytes[i] & mask) != (v.cidr.bytes[i] & mask)) return false;
        }
        return true;
      }
      case ValueTest::kCompare: {
        double number = 0;
        if (test.time_part != TimePart::kNone) {
          auto ns = ParseTime(value);
          if (!ns) return false;
          const time_t seconds = static_cast<time_t>(std::floor(*ns / 1e9));
          std::tm tm{};
          gmtime_r(&seconds, &tm);
          switch (test.time_part) {
            case TimePart::kMinute:
              number = tm.tm_min;
              break;
            case TimePart::kHour:
              number = tm.tm_hour;
              break;
            case TimePart::kDay:
              number = tm.tm_mday;
              break;
            case TimePart::kMonth:
              number = tm.tm_mon + 1;
              break;
            case TimePart::kYear:
              number = tm.tm_year + 1900;
              break;
            case TimePart::kWeek: {
              char buf[8];
              std::strftime(buf, sizeof buf, "%V", &tm);
              number = std::atoi(buf);
              break;
            }
            case TimePart::kNone:
              break;
          }
        } else {
          if (value.empty()) return false;
          char* end = nullptr;
          number = std::strtod(value.c_str(), &end);
          if (end != value.c_str() + value.size()) {
            // hexadecimal values (0x1F) compare by their number too
            if (value.size() > 2 && value[0] == '0' && (value[1] == 'x' || value[1] == 'X')) {
              number = static_cast<double>(std::strtoull(value.c_str(), &end, 16));
              if (end != value.c_str() + value.size()) return false;
            } else {
              return false;
            }
          }
        }
        switch (v.op) {
          case CompareOp::kLt:
            return number < v.number;
          case CompareOp::kLte:
            return number <= v.number;
          case CompareOp::kGt:
            return number > v.number;
          case CompareOp::kGte:
            return number >= v.number;
          case CompareOp::kEq:
            return number == v.number;
          case CompareOp::kNeq:
            return number != v.number;
        }
        return false;
      }
      case ValueTest::kFieldRef: {
        const auto fields = event->fields();
        for (size_t j = 0; j < fields.size(); ++j) {
          if (!NameIs(fields[j], v.ref_names)) continue;
          const std::string_view mine = v.ref_cased ? std::string_view(value) : LowerOf(index);
          const std::string_view other =
              v.ref_cased ? std::string_view(fields[j].value) : LowerOf(j);
          bool ok = false;
          switch (v.ref_shape) {
            case Pattern::kPrefix:
              ok = mine.starts_with(other);
              break;
            case Pattern::kSuffix:
              ok = mine.ends_with(other);
              break;
            case Pattern::kContains:
              ok = mine.find(other) != std::string_view::npos;
              break;
            default:
              ok = mine == other;
              break;
          }
          if (ok) return true;
        }
        return false;
      }
      case ValueTest::kExists:
      case ValueTest::kNull:
        return false;  // handled by presence
    }
    return false;
  }

  // Evaluates one field test; on success, `record` (when given) receives the field.
  bool EvalField(const FieldTest& test, std::vector<MatchedField>* record,
                 const std::string& selection) {
    const auto fields = event->fields();
    size_t instances[16];
    size_t count = 0;
    const bool keyword = test.names.empty();
    if (!keyword) {
      for (size_t i = 0; i < fields.size() && count < 16; ++i) {
        if (NameIs(fields[i], test.names)) instances[count++] = i;
      }
    }
    size_t matched_at = SIZE_MAX;
    auto group_ok = [&](const std::vector<ValueTest>& group) {
      for (const ValueTest& v : group) {
        if (v.kind == ValueTest::kNull) {
          if (count == 0) return true;
          continue;
        }
        if (v.kind == ValueTest::kExists) {
          if (v.exists == (count > 0)) {
            if (count > 0) matched_at = instances[0];
            return true;
          }
          continue;
        }
        if (keyword) {
          for (size_t i = 0; i < fields.size(); ++i) {
            if (ValueOn(test, v, i)) {
              matched_at = i;
              return true;
            }
          }
        } else {
          for (size_t k = 0; k < count; ++k) {
            if (ValueOn(test, v, instances[k])) {
              matched_at = instances[k];
              return true;
            }
          }
        }
      }
      return false;
    };
    bool result;
    if (test.all) {
      result = true;
      for (const auto& g : test.values) {
        if (!group_ok(g)) {
          result = false;
          break;
        }
      }
    } else {
      result = false;
      for (const auto& g : test.values) {
        if (group_ok(g)) {
          result = true;
          break;
        }
      }
    }
    if (test.negate) return !result;
    if (result && record && matched_at != SIZE_MAX) {
      const Field& f = fields[matched_at];
      record->push_back({f.key.name, f.key.original, f.value, selection});
    }
    return result;
  }

  bool EvalSelection(const Selection& sel, std::vector<MatchedField>* record) {
    for (const auto& alternative : sel.alternatives) {
      bool all = true;
      const size_t mark = record ? record->size() : 0;
      for (const FieldTest& t : alternative) {
        if (!EvalField(t, record, sel.name)) {
          all = false;
          break;
        }
      }
      if (all) return true;
      if (record) record->resize(mark);
    }
    return false;
  }

  bool EvalCond(const Rule& rule, const CondNode& node) {
    switch (node.kind) {
      case CondNode::kSelection: {
        signed char& m = memo[node.selection];
        if (m < 0) m = EvalSelection(rule.selections[node.selection], nullptr) ? 1 : 0;
        return m == 1;
      }
      case CondNode::kAnd:
        for (const auto& c : node.children) {
          if (!EvalCond(rule, c)) return false;
        }
        return true;
      case CondNode::kOr:
        for (const auto& c : node.children) {
          if (EvalCond(rule, c)) return true;
        }
        return false;
      case CondNode::kNot:
        return !EvalCond(rule, node.children[0]);
      case CondNode::kTrue:
        return true;
      case CondNode::kFalse:
        return false;
    }
    return false;
  }

  // Collects the fields of the selections that made the rule match (not negated).
  void Explain(const Rule& rule, const CondNode& node, bool positive,
               std::vector<MatchedField>& out, std::vector<bool>& done) {
    switch (node.kind) {
      case CondNode::kSelection:
        if (positive && memo[node.selection] == 1 && !done[node.selection]) {
          done[node.selection] = true;
          EvalSelection(rule.selections[node.selection], &out);
        }
        return;
      case CondNode::kNot:
        Explain(rule, node.children[0], !positive, out, done);
        return;
      default:
        for (const auto& c : node.children) Explain(rule, c, positive, out, done);
    }
  }

  bool Evaluate(uint32_t index, std::vector<RuleMatch>& out) {
    const Rule& rule = set->rules[index];
    std::fill(memo.begin(), memo.begin() + rule.selections.size(), -1);
    if (!EvalCond(rule, rule.condition)) return false;
    RuleMatch match;
    match.rule = index;
    std::vector<bool> done(rule.selections.size(), false);
    Explain(rule, rule.condition, true, match.fields, done);
    out.push_back(std::move(match));
    return true;
  }

  // Evaluates every rule the route reaches (no prefilter).
  void EvaluateAllRouted(const Route& route, std::vector<RuleMatch>& out) {
    candidates.clear();
    for (uint32_t r = 0; r < set->rules.size(); ++r) {
      if (Has(route.bits, r)) candidates.push_back(r);
    }
    stats.candidates += candidates.size();
    for (uint32_t r : candidates) {
      if (Evaluate(r, out)) ++stats.matches;
    }
  }

  void Match(const Event& ev, std::vector<RuleMatch>& out) {
    event = &ev;
    ++stats.events;
    if (++stamp == 0) {  // wrapped: reset the stamps
      std::fill(rule_stamp.begin(), rule_stamp.end(), 0);
      std::fill(lower_stamp.begin(), lower_stamp.end(), 0);
      stamp = 1;
    }
    if (lower.size() < ev.size()) {
      lower.resize(ev.size());
      lower_stamp.resize(ev.size(), 0);
    }
    const Route& route = RouteFor();
    if (!route.any) {
      ++stats.unrouted_events;
      return;
    }
    candidates.clear();
    hits.clear();
    if (!use_prefilter) {
      EvaluateAllRouted(route, out);
      return;
    }
    scan_failed = false;
    const auto& fields_atoms = set->prefilter.fields;
    const auto fields = ev.fields();
    for (size_t i = 0; i < fields.size(); ++i) {
      const Field& f = fields[i];
      if (f.value.empty()) continue;
      const int a = FieldAtomsIndex(f.key.original.data());
      const int b =
          f.key.name.data() == f.key.original.data() ? -1 : FieldAtomsIndex(f.key.name.data());
      if (a >= 0) Check(fields_atoms[a], i, route);
      if (b >= 0) Check(fields_atoms[b], i, route);
    }
    if (!route.keyword_groups.empty()) {
      // Keywords may be in any field: all values, joined by newlines, in one block
      // scan (much faster than a vectored scan of many short values).
      joined.clear();
      for (const Field& f : fields) {
        joined += f.value;
        joined += '\n';
      }
      stats.scanned_bytes += joined.size();
      for (uint32_t g : route.keyword_groups) {
        const LiteralSet& keywords = set->groups[g].keywords;
        hits.clear();
        if (hs_scan(keywords.db, joined.data(), static_cast<unsigned int>(joined.size()), 0,
                    scratch, OnLiteral, &hits) != HS_SUCCESS) {
          scan_failed = true;
        }
        for (uint32_t literal : hits) {
          for (uint32_t r : keywords.rules_of_literal[literal]) Candidate(r, route);
        }
      }
    }
    if (scan_failed) {
      // Never lose a detection to a failed scan (Hyperscan out of memory, say).
      ++stats.scan_errors;
      EvaluateAllRouted(route, out);
      return;
    }
    candidates.insert(candidates.end(), route.always.begin(), route.always.end());
    std::sort(candidates.begin(), candidates.end());
    stats.candidates += candidates.size();
    for (uint32_t r : candidates) {
      if (Evaluate(r, out)) ++stats.matches;
    }
  }
};

MatcherStats& operator+=(MatcherStats& into, const MatcherStats& more) {
  into.events += more.events;
  into.unrouted_events += more.unrouted_events;
  into.candidates += more.candidates;
  into.scanned_bytes += more.scanned_bytes;
  into.matches += more.matches;
  into.regex_errors += more.regex_errors;
  into.scan_errors += more.scan_errors;
  return into;
}

Matcher::Matcher(std::shared_ptr<const RuleSet> rules, MatcherOptions options)
    : impl_(std::make_unique<Impl>(std::move(rules))) {
  impl_->use_prefilter = options.prefilter && impl_->scratch_ok;
}
Matcher::~Matcher() = default;
void Matcher::Match(const Event& event, std::vector<RuleMatch>& out) { impl_->Match(event, out); }
const RuleSet& Matcher::rules() const { return *impl_->set; }
const MatcherStats& Matcher::stats() const { return impl_->stats; }

void RuleSetHandle::Set(std::shared_ptr<const RuleSet> rules) {
  std::lock_guard lock(rules_mutex_);
  rules_ = std::move(rules);
  generation_.fetch_add(1, std::memory_order_release);
}
std::shared_ptr<const RuleSet> RuleSetHandle::Get() const {
  std::lock_guard lock(rules_mutex_);
  return rules_;
}

}  // namespace aegis::detect::sigma
