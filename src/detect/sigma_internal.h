// Sigma internals shared by the loader, the matcher and the detector: the compiled
// form of a rule (selections of field tests, a condition tree), the logsource
// mapping, and the prefilter that finds candidate rules with Hyperscan.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/event.h"
#include "detect/sigma.h"
#include "detect/sigma_correlation.h"

struct hs_database;
struct hs_scratch;

namespace aegis::detect::sigma::internal {

// ---- Strings and patterns ------------------------------------------------------

// A Sigma string after escape processing: literal bytes and the wildcards `*`, `?`.
struct PatternToken {
  enum Kind : unsigned char { kLiteral, kStar, kOne } kind = kLiteral;
  std::string text;  // kLiteral only
};
using SigmaString = std::vector<PatternToken>;

// Parses escapes: `\*`, `\?` and `\\` are literal `*`, `?`, `\`; any other backslash
// is itself; unescaped `*` and `?` are wildcards.
SigmaString ParseSigmaString(std::string_view raw);
// A plain literal (no wildcards).
SigmaString LiteralString(std::string_view text);
// True when the string has no wildcards; `out` receives its text.
bool IsPlain(const SigmaString& s, std::string* out = nullptr);
std::string DisplayString(const SigmaString& s);  // `*` and `?` shown, escapes re-added

// A compiled glob, matched case-insensitively (ASCII) unless `cased`.
struct Pattern {
  enum Shape : unsigned char { kExact, kPrefix, kSuffix, kContains, kGlob, kAnything };
  Shape shape = kExact;
  bool cased = false;
  std::string literal;             // kExact..kContains; lower-case unless cased
  std::vector<PatternToken> glob;  // kGlob; literals lower-case unless cased
};
Pattern CompilePattern(const SigmaString& s, bool cased);
// `value` is the field value; `lower` is the same value lower-cased (ASCII).
bool PatternMatches(const Pattern& p, std::string_view value, std::string_view lower);
// The longest literal run every match must contain (lower-case), for the prefilter.
std::string RequiredLiteral(const Pattern& p);

// ---- Compiled rules ------------------------------------------------------------

struct Regex;  // PCRE2 code (sigma_value.cc)
void RegexDeleter(Regex* r);
using RegexPtr = std::shared_ptr<Regex>;
// Compiles a Sigma `re` value; flags from the i/m/s sub-modifiers.
Result<RegexPtr> CompileRegex(std::string_view pattern, bool caseless, bool multiline, bool dotall);
// Runs the regex; nullopt when PCRE2 gave up (match limit).
std::optional<bool> RegexMatches(const Regex& re, std::string_view value);
// The longest literal the regex certainly contains (lower-case), or "" when none is
// known. Conservative: only for simple top-level regex text.
std::string RegexRequiredLiteral(std::string_view pattern, bool caseless);

enum class TimePart : unsigned char { kNone, kMinute, kHour, kDay, kWeek, kMonth, kYear };

struct Cidr {
  std::array<unsigned char, 16> bytes{};
  int bits = 0;
  bool v6 = false;
};

struct ValueTest {
  enum Kind : unsigned char { kPattern, kRegex, kCidr, kCompare, kExists, kNull, kFieldRef };
  Kind kind = kPattern;
  Pattern pattern;
  RegexPtr regex;
  Cidr cidr;
  CompareOp op = CompareOp::kEq;
  double number = 0;
  bool exists = true;                          // kExists
  std::vector<std::string_view> ref_names;     // kFieldRef: names of the other field
  Pattern::Shape ref_shape = Pattern::kExact;  // kFieldRef: equals/startswith/...
  bool ref_cased = false;
  std::string display;  // the value as written, for alerts
};

struct FieldTest {
  std::string field;                    // Sigma field name; "" for keywords
  std::vector<std::string_view> names;  // interned event names that resolve it
  // One group per value as written; a group holds its expansions (windash,
  // base64offset, placeholders), any of which may match. Groups are ORed, or ANDed
  // with `all`.
  std::vector<std::vector<ValueTest>> values;
  bool all = false;
  bool negate = false;  // neq
  TimePart time_part = TimePart::kNone;
};

struct Selection {
  std::string name;
  // OR over alternatives; each alternative is an AND of field tests.
  std::vector<std::vector<FieldTest>> alternatives;
};

struct CondNode {
  enum Kind : unsigned char { kSelection, kAnd, kOr, kNot, kTrue, kFalse };
  Kind kind = kTrue;
  int selection = -1;
  std::vector<CondNode> children;
};

// Parses a condition (one string) over the named selections. Errors name the
// position and the problem.
Result<CondNode> ParseCondition(std::string_view text, const std::vector<Selection>& selections);

struct Rule {
  RuleInfo info;
  std::vector<Selection> selections;
  CondNode condition;
  int route_group = -1;        // index of the logsource group, -1 when unrouted
  bool correlation = false;    // a correlation rule (no selections)
  int correlation_index = -1;  // into RuleSet::correlations
  bool active = true;          // false: needs placeholders that are not configured
};

// ---- Logsource mapping ---------------------------------------------------------

struct SourceTest {
  std::string field;                // "$format", "$source" or an event field name
  std::vector<std::string> values;  // any of these (lower-case globs with * and ?)
};

struct LogsourceEntry {
  std::string product, category, service;     // tags given to matching events
  std::vector<std::vector<SourceTest>> when;  // OR of ANDs
};

struct LogsourceMapping {
  std::vector<LogsourceEntry> entries;
  // product ("" = every product) -> Sigma field -> more event field names
  std::map<std::string, std::map<std::string, std::vector<std::string>>> fields;
  std::vector<std::string> routing_fields;  // event fields the entries look at
};

Result<LogsourceMapping> ParseLogsourceMapping(std::string_view yaml, std::string_view origin);
std::string_view BuiltinLogsourceMapping();

// ---- The rule set --------------------------------------------------------------

enum class AtomKind : unsigned char { kScan, kExact, kTail };

// Literals found by one Hyperscan scan.
struct LiteralSet {
  hs_database* db = nullptr;
  std::vector<std::vector<uint32_t>> rules_of_literal;  // literal id -> rules
  std::vector<std::string> literals;
  std::unordered_map<std::string, uint32_t> ids;  // while building
  LiteralSet() = default;
  LiteralSet(LiteralSet&& other) noexcept;
  LiteralSet& operator=(LiteralSet&&) = delete;
  ~LiteralSet();
};

// The atoms of one field name: checked by hash lookups, and by a scan of the field's
// value with the field's own literal set (smaller sets scan faster).
struct FieldAtoms {
  std::unordered_map<std::string, std::vector<uint32_t>> exact;  // whole value -> rules
  std::unordered_map<std::string, std::vector<uint32_t>> tail;   // from the last '\\'
  LiteralSet literals;
};

struct Prefilter {
  std::vector<FieldAtoms> fields;
  std::unordered_map<const char*, uint32_t> field_index;  // interned name -> fields[]
};

// Builds the prefilter of `rules` (after routing): fills RuleSet::always, the
// per-field atoms and literal sets, and the groups' keyword sets. Counts the distinct
// literals (Hyperscan), the distinct values and path tails (hash lookups), and the
// rules without a usable atom.
Result<void> BuildPrefilter(RuleSet& rules, size_t* literal_count, size_t* hashed_count,
                           size_t* always_count);

// Rules grouped by logsource: an event reaches whole groups.
struct RouteGroup {
  std::string product, category, service;
  std::vector<uint32_t> rules;
  // Keyword literals of the group's rules: every field of an event that reaches the
  // group is scanned for them (kept per group, so the sets stay small).
  LiteralSet keywords;
};

}  // namespace aegis::detect::sigma::internal

namespace aegis::detect::sigma {

class RuleSet {
 public:
  ~RuleSet();
  std::vector<internal::Rule> rules;
  std::vector<internal::RouteGroup> groups;
  internal::LogsourceMapping mapping;
  internal::Prefilter prefilter;
  std::vector<bool> always;  // rule has no usable literal
  std::vector<CorrelationSpec> correlations;
  std::vector<uint32_t> correlation_rule;    // correlation index -> rule index
  std::vector<bool> correlation_referenced;  // rule index -> some correlation uses it
};

}  // namespace aegis::detect::sigma
