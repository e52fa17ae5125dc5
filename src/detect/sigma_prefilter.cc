// The Sigma prefilter, built at load time: for every routed rule, the atoms (exact
// values, path tails, literals) at least one of which any event it matches has, and
// the per-field Hyperscan literal sets and hash tables that find them (docs/SIGMA.md,
// "How matching is fast").
#include <hs/hs.h>

#include <algorithm>
#include <optional>
#include <set>

#include "detect/sigma_internal.h"

namespace aegis::detect::sigma::internal {
namespace {

// A rule's requirement is a set of atoms, at least one of which every matching event
// has. Atoms are checked per event in three ways: an exact field value (hash lookup),
// the tail of a path-like field after its last backslash (hash lookup, for
// `endswith: '\x.exe'`), or a literal anywhere in a field (one Hyperscan scan).
// Among the alternatives an AND offers, the most selective one is kept.

struct Atom {
  AtomKind kind = AtomKind::kScan;
  std::string text;                     // lower-case
  std::vector<std::string_view> names;  // fields it must be in (empty: any field)

  // Higher is more selective. Short values (event ids, single characters) are weak.
  size_t Score() const {
    const size_t n = text.size();
    if (kind == AtomKind::kScan) return std::min<size_t>(n, 12);
    return n >= 6 ? 14 : n;
  }
};

struct Requirement {
  bool usable = false;
  std::vector<Atom> atoms;

  size_t Score() const {
    size_t m = SIZE_MAX;
    for (const auto& a : atoms) m = std::min(m, a.Score());
    return atoms.empty() ? 0 : m;
  }
};

Requirement Union(Requirement a, const Requirement& b) {
  if (!a.usable || !b.usable) return {};
  a.atoms.insert(a.atoms.end(), b.atoms.begin(), b.atoms.end());
  return a;
}

// The better of two requirements for an AND: both must hold, one is enough to check.
const Requirement& Better(const Requirement& a, const Requirement& b) {
  if (!a.usable) return b;
  if (!b.usable) return a;
  const size_t sa = a.Score(), sb = b.Score();
  if (sa != sb) return sa > sb ? a : b;
  return a.atoms.size() <= b.atoms.size() ? a : b;
}

constexpr size_t kMinLiteral = 2;

std::optional<Atom> AtomFor(const FieldTest& test, const ValueTest& v) {
  Atom atom;
  if (!test.field.empty()) atom.names = test.names;
  if (v.kind == ValueTest::kPattern) {
    const Pattern& p = v.pattern;
    std::string lower = p.literal;
    for (char& c : lower) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    }
    if (!test.field.empty() && p.shape == Pattern::kExact && !lower.empty()) {
      atom.kind = AtomKind::kExact;
      atom.text = std::move(lower);
      return atom;
    }
    if (!test.field.empty() && p.shape == Pattern::kSuffix) {
      const size_t slash = lower.rfind('\\');
      if (slash != std::string::npos && slash + 1 < lower.size()) {
        atom.kind = AtomKind::kTail;
        atom.text = lower.substr(slash);
        return atom;
      }
    }
    atom.text = RequiredLiteral(p);
  } else if (v.kind == ValueTest::kRegex) {
    atom.text = v.pattern.literal;
  } else {
    return std::nullopt;
  }
  // A single character occurs almost everywhere: no use as a prefilter. (Measured:
  // a minimum of 2 evaluates the fewest rules per event for the fastest matching.)
  if (atom.text.size() < kMinLiteral) return std::nullopt;
  atom.kind = AtomKind::kScan;
  return atom;
}

Requirement FieldRequirement(const FieldTest& test) {
  if (test.negate || test.time_part != TimePart::kNone) return {};
  std::vector<Requirement> groups;
  for (const auto& group : test.values) {
    Requirement g;
    g.usable = true;
    for (const ValueTest& v : group) {
      auto atom = AtomFor(test, v);
      if (!atom) return {};
      g.atoms.push_back(std::move(*atom));
    }
    groups.push_back(std::move(g));
  }
  if (groups.empty()) return {};
  if (test.all) {
    // Every group must match: any one group's atoms are required.
    const Requirement* best = &groups[0];
    for (const auto& g : groups) best = &Better(*best, g);
    return *best;
  }
  Requirement all = groups[0];
  for (size_t i = 1; i < groups.size(); ++i) all = Union(std::move(all), groups[i]);
  return all;
}

Requirement SelectionRequirement(const Selection& sel) {
  Requirement result;
  bool first = true;
  for (const auto& alternative : sel.alternatives) {
    Requirement best;
    for (const FieldTest& test : alternative) {
      Requirement r = FieldRequirement(test);
      best = Better(best, r);
    }
    if (!best.usable) return {};
    result = first ? best : Union(std::move(result), best);
    first = false;
  }
  return result;
}

Requirement ConditionRequirement(const CondNode& node, const std::vector<Selection>& sels) {
  switch (node.kind) {
    case CondNode::kSelection:
      return SelectionRequirement(sels[node.selection]);
    case CondNode::kAnd: {
      Requirement best;
      for (const auto& c : node.children) {
        Requirement r = ConditionRequirement(c, sels);
        best = Better(best, r);
      }
      return best;
    }
    case CondNode::kOr: {
      Requirement all;
      bool first = true;
      for (const auto& c : node.children) {
        Requirement r = ConditionRequirement(c, sels);
        if (!r.usable) return {};
        all = first ? r : Union(std::move(all), r);
        first = false;
      }
      return all;
    }
    default:
      return {};
  }
}

}  // namespace

Result<void> BuildPrefilter(RuleSet& rules, size_t* literal_count, size_t* hashed_count,
                           size_t* always_count) {
  const size_t n = rules.rules.size();
  rules.always.assign(n, false);
  Prefilter& pf = rules.prefilter;
  auto field_of = [&](std::string_view name) -> FieldAtoms& {
    auto [it, inserted] = pf.field_index.emplace(name.data(), pf.fields.size());
    if (inserted) pf.fields.emplace_back();
    return pf.fields[it->second];
  };
  auto add_rule = [](std::vector<uint32_t>& rules, uint32_t rule) {
    if (rules.empty() || rules.back() != rule) rules.push_back(rule);
  };
  auto add_literal = [&](LiteralSet& set, const std::string& text, uint32_t rule) {
    auto [it, inserted] = set.ids.emplace(text, static_cast<uint32_t>(set.literals.size()));
    if (inserted) {
      set.literals.push_back(text);
      set.rules_of_literal.emplace_back();
    }
    add_rule(set.rules_of_literal[it->second], rule);
  };
  std::set<std::string> distinct, hashed;
  for (uint32_t i = 0; i < n; ++i) {
    const Rule& rule = rules.rules[i];
    if (rule.route_group < 0) continue;
    Requirement req = ConditionRequirement(rule.condition, rule.selections);
    if (!req.usable || req.atoms.empty()) {
      rules.always[i] = true;
      ++*always_count;
      continue;
    }
    for (const Atom& atom : req.atoms) {
      (atom.kind == AtomKind::kScan ? distinct : hashed).insert(atom.text);
      if (atom.kind == AtomKind::kScan && atom.names.empty()) {
        add_literal(rules.groups[rule.route_group].keywords, atom.text, i);
      } else if (atom.kind == AtomKind::kScan) {
        for (auto name : atom.names) add_literal(field_of(name).literals, atom.text, i);
      } else {
        for (auto name : atom.names) {
          FieldAtoms& f = field_of(name);
          auto& map = atom.kind == AtomKind::kExact ? f.exact : f.tail;
          add_rule(map[atom.text], i);
        }
      }
    }
  }
  *literal_count = distinct.size();
  *hashed_count = hashed.size();
  // Field literal sets scan the lower-cased value (the matcher lower-cases each field
  // once per event anyway), so they are compiled case-sensitive: Hyperscan is faster
  // that way. Keyword sets scan the original values, caseless.
  auto compile = [](LiteralSet& set, unsigned mode, unsigned case_flag) -> Result<void> {
    set.ids.clear();
    if (set.literals.empty()) return {};
    std::vector<const char*> exprs;
    std::vector<size_t> lens;
    std::vector<unsigned> flags, ids;
    for (uint32_t i = 0; i < set.literals.size(); ++i) {
      exprs.push_back(set.literals[i].data());
      lens.push_back(set.literals[i].size());
      flags.push_back(case_flag | HS_FLAG_SINGLEMATCH);
      ids.push_back(i);
    }
    hs_compile_error_t* error = nullptr;
    if (hs_compile_lit_multi(exprs.data(), flags.data(), ids.data(), lens.data(),
                             static_cast<unsigned>(exprs.size()), mode, nullptr, &set.db,
                             &error) != HS_SUCCESS) {
      std::string reason = error && error->message ? error->message : "unknown error";
      hs_free_compile_error(error);
      return Fail("Hyperscan could not compile the rule literals: " + reason);
    }
    return {};
  };
  for (RouteGroup& g : rules.groups) {
    if (auto ok = compile(g.keywords, HS_MODE_BLOCK, HS_FLAG_CASELESS); !ok) return ok;
  }
  for (FieldAtoms& f : pf.fields) {
    if (auto ok = compile(f.literals, HS_MODE_BLOCK, 0); !ok) return ok;
  }
  return {};
}

}  // namespace aegis::detect::sigma::internal
