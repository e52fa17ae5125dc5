// Loading Sigma rules: YAML documents → compiled rules, filters applied, correlations
// resolved, logsource groups formed, and the Hyperscan prefilter built.
//
// Every problem with one rule is reported as a LoadIssue (file, line, rule, reason)
// and only that rule is skipped. yaml-cpp throws; its exceptions are caught here, at
// load time, and never reach matching.
#include <hs/hs.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_map>

#include "core/observables.h"
#include "detect/sigma_internal.h"

namespace aegis::detect::sigma {

RuleSet::~RuleSet() = default;

namespace internal {
LiteralSet::LiteralSet(LiteralSet&& other) noexcept
    : db(std::exchange(other.db, nullptr)),
      rules_of_literal(std::move(other.rules_of_literal)),
      literals(std::move(other.literals)),
      ids(std::move(other.ids)) {}

LiteralSet::~LiteralSet() {
  if (db) hs_free_database(db);
}
}  // namespace internal

size_t RuleCount(const RuleSet& rules) { return rules.rules.size(); }
const RuleInfo& RuleAt(const RuleSet& rules, size_t index) { return rules.rules[index].info; }

namespace internal {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

// An error about one rule, thrown inside the loader only and turned into a LoadIssue.
struct RuleError {
  int line = 0;
  std::string reason;
};

[[noreturn]] void Throw(const YAML::Node& node, std::string reason) {
  throw RuleError{node.IsDefined() ? node.Mark().line + 1 : 0, std::move(reason)};
}

std::string Scalar(const YAML::Node& node, std::string_view what) {
  if (!node.IsScalar()) Throw(node, std::string(what) + " must be a single value");
  return node.Scalar();
}

// ---- Value encodings -----------------------------------------------------------

std::string Base64(std::string_view bytes) {
  static constexpr char kTable[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                       (uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += kTable[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                       (uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8);
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// The three base64 forms of `data` at byte offsets 0, 1 and 2 inside a longer
// string, cut to the characters that do not depend on the neighbours.
std::vector<std::string> Base64Offsets(std::string_view data) {
  static constexpr size_t kStart[] = {0, 2, 3};
  std::vector<std::string> out;
  for (size_t i = 0; i < 3; ++i) {
    std::string shifted(i, ' ');
    shifted += data;
    std::string encoded = Base64(shifted);
    const size_t end_cut = ((data.size() + i) % 3 == 0) ? 0 : ((data.size() + i) % 3 == 1 ? 3 : 2);
    if (encoded.size() < kStart[i] + end_cut) continue;
    out.push_back(encoded.substr(kStart[i], encoded.size() - kStart[i] - end_cut));
  }
  return out;
}

// UTF-8 → UTF-16 (LE or BE). Invalid bytes are encoded as U+FFFD.
std::string Utf16(std::string_view text, bool big_endian) {
  std::string out;
  auto put = [&](uint32_t unit) {
    const char lo = static_cast<char>(unit & 0xFF), hi = static_cast<char>(unit >> 8);
    if (big_endian) {
      out += hi;
      out += lo;
    } else {
      out += lo;
      out += hi;
    }
  };
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    uint32_t cp = 0xFFFD;
    size_t len = 1;
    if (c < 0x80) {
      cp = c;
    } else if ((c >> 5) == 6 && i + 1 < text.size()) {
      cp = ((c & 0x1F) << 6) | (text[i + 1] & 0x3F);
      len = 2;
    } else if ((c >> 4) == 14 && i + 2 < text.size()) {
      cp = ((c & 0x0F) << 12) | ((text[i + 1] & 0x3F) << 6) | (text[i + 2] & 0x3F);
      len = 3;
    } else if ((c >> 3) == 30 && i + 3 < text.size()) {
      cp = ((c & 0x07) << 18) | ((text[i + 1] & 0x3F) << 12) | ((text[i + 2] & 0x3F) << 6) |
           (text[i + 3] & 0x3F);
      len = 4;
    }
    i += len;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put(0xD800 | (cp >> 10));
      put(0xDC00 | (cp & 0x3FF));
    } else {
      put(cp);
    }
  }
  return out;
}

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// windash: every `-` or `/` that starts a word (not preceded by a word character,
// followed by one) becomes each of - / – — ―, independently.
std::vector<SigmaString> Windash(const SigmaString& s) {
  static const std::string_view kDashes[] = {"-", "/", "\xE2\x80\x93", "\xE2\x80\x94",
                                             "\xE2\x80\x95"};
  std::vector<SigmaString> results(1);
  for (size_t t = 0; t < s.size(); ++t) {
    const PatternToken& tok = s[t];
    if (tok.kind != PatternToken::kLiteral) {
      for (auto& r : results) r.push_back(tok);
      continue;
    }
    // Split the literal at flag dashes.
    std::vector<std::string> pieces{""};
    std::vector<bool> dash_after;
    for (size_t i = 0; i < tok.text.size(); ++i) {
      const char c = tok.text[i];
      char prev = 0;
      if (i > 0) {
        prev = tok.text[i - 1];
      } else if (t > 0 && s[t - 1].kind == PatternToken::kLiteral && !s[t - 1].text.empty()) {
        prev = s[t - 1].text.back();
      }
      const bool prev_word = prev != 0 && IsWordChar(prev);
      const bool next_word = i + 1 < tok.text.size() && IsWordChar(tok.text[i + 1]);
      if ((c == '-' || c == '/') && !prev_word && next_word) {
        pieces.emplace_back();
        dash_after.push_back(true);
      } else {
        pieces.back() += c;
      }
    }
    std::vector<std::string> variants{pieces[0]};
    for (size_t p = 1; p < pieces.size(); ++p) {
      std::vector<std::string> next;
      for (const auto& v : variants) {
        for (auto d : kDashes) next.push_back(v + std::string(d) + pieces[p]);
      }
      variants = std::move(next);
      if (variants.size() > 3125) throw RuleError{0, "windash: too many dashes in one value"};
    }
    std::vector<SigmaString> expanded;
    for (const auto& r : results) {
      for (const auto& v : variants) {
        SigmaString copy = r;
        if (!v.empty()) copy.push_back({PatternToken::kLiteral, v});
        expanded.push_back(std::move(copy));
      }
    }
    results = std::move(expanded);
  }
  return results;
}

// Replaces %name% placeholders (not preceded by a backslash) in a raw value with each
// configured value. Throws when a placeholder has no values; `missing` names it.
std::vector<std::string> ExpandPlaceholders(
    const std::string& raw, const std::map<std::string, std::vector<std::string>>& values,
    std::string* missing) {
  std::vector<std::string> out{""};
  size_t i = 0;
  while (i < raw.size()) {
    if (raw[i] == '%' && (i == 0 || raw[i - 1] != '\\')) {
      const size_t end = raw.find('%', i + 1);
      if (end != std::string::npos && end > i + 1) {
        const std::string name = raw.substr(i + 1, end - i - 1);
        const bool word = std::all_of(name.begin(), name.end(), IsWordChar);
        if (word) {
          auto it = values.find(name);
          if (it == values.end() || it->second.empty()) {
            *missing = name;
            return {};
          }
          std::vector<std::string> next;
          for (const auto& o : out) {
            for (const auto& v : it->second) next.push_back(o + v);
          }
          out = std::move(next);
          i = end + 1;
          continue;
        }
      }
    }
    if (raw[i] == '\\' && i + 1 < raw.size() && raw[i + 1] == '%') {
      for (auto& o : out) o += '%';
      i += 2;
      continue;
    }
    for (auto& o : out) o += raw[i];
    ++i;
  }
  return out;
}

Cidr ParseCidrValue(const YAML::Node& node, const std::string& text) {
  const size_t slash = text.find('/');
  const auto ip = ParseIp(text.substr(0, slash));
  if (!ip) Throw(node, "cidr: '" + text + "' is not an IP network");
  Cidr c;
  c.v6 = ip->v6;
  std::copy(ip->bytes.begin(), ip->bytes.end(), c.bytes.begin());
  const int max_bits = c.v6 ? 128 : 32;
  c.bits = max_bits;
  if (slash != std::string::npos) {
    const std::string bits = text.substr(slash + 1);
    if (bits.empty() || bits.size() > 3 || !std::all_of(bits.begin(), bits.end(), ::isdigit)) {
      Throw(node, "cidr: '" + text + "' has a bad prefix length");
    }
    c.bits = std::stoi(bits);
    if (c.bits > max_bits) Throw(node, "cidr: '" + text + "' prefix is longer than the address");
  }
  return c;
}

std::optional<double> ParseNumber(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return v;
}

// ---- Rule parsing ----------------------------------------------------------------

struct Context {
  const LoadOptions* options;
  const LogsourceMapping* mapping;
  std::string product;  // of the rule being parsed
  bool needs_placeholder = false;
  std::string missing_placeholder;
};

std::vector<std::string_view> ResolveNames(const std::string& field, const Context& ctx) {
  std::vector<std::string_view> names{Intern(field)};
  for (const std::string& product : {ctx.product, std::string()}) {
    auto p = ctx.mapping->fields.find(product);
    if (p == ctx.mapping->fields.end()) continue;
    auto f = p->second.find(field);
    if (f == p->second.end()) continue;
    for (const auto& alias : f->second) {
      const std::string_view interned = Intern(alias);
      if (std::find(names.begin(), names.end(), interned) == names.end()) {
        names.push_back(interned);
      }
    }
  }
  return names;
}

FieldTest ParseFieldTest(const std::string& key, const YAML::Node& value, Context& ctx) {
  FieldTest test;
  std::vector<std::string> modifiers;
  {
    size_t start = 0;
    const size_t bar = key.find('|');
    test.field = key.substr(0, bar);
    if (bar != std::string::npos) {
      start = bar + 1;
      while (start <= key.size()) {
        const size_t next = key.find('|', start);
        modifiers.push_back(key.substr(start, next == std::string::npos ? next : next - start));
        if (next == std::string::npos) break;
        start = next + 1;
      }
    }
  }
  if (!test.field.empty()) test.names = ResolveNames(test.field, ctx);

  enum class Type { kString, kRegex, kCidr, kExists, kFieldRef, kCompare, kTime };
  Type type = Type::kString;
  bool cased = false, re_i = false, re_m = false, re_s = false, expand = false;
  CompareOp compare = CompareOp::kEq;
  bool has_compare = false;
  Pattern::Shape shape = Pattern::kExact;
  // String transformations in the order written.
  std::vector<std::string> transforms;
  for (const std::string& m : modifiers) {
    if (m == "contains") {
      shape = Pattern::kContains;
      transforms.push_back(m);
    } else if (m == "startswith") {
      shape = Pattern::kPrefix;
      transforms.push_back(m);
    } else if (m == "endswith") {
      shape = Pattern::kSuffix;
      transforms.push_back(m);
    } else if (m == "all") {
      test.all = true;
    } else if (m == "cased") {
      cased = true;
    } else if (m == "neq") {
      test.negate = true;
    } else if (m == "re") {
      type = Type::kRegex;
    } else if (m == "i" || m == "ignorecase") {
      re_i = true;
    } else if (m == "m" || m == "multiline") {
      re_m = true;
    } else if (m == "s" || m == "dotall") {
      re_s = true;
    } else if (m == "cidr") {
      type = Type::kCidr;
    } else if (m == "exists") {
      type = Type::kExists;
    } else if (m == "fieldref") {
      type = Type::kFieldRef;
    } else if (m == "lt" || m == "lte" || m == "gt" || m == "gte") {
      has_compare = true;
      compare = m == "lt"    ? CompareOp::kLt
                : m == "lte" ? CompareOp::kLte
                : m == "gt"  ? CompareOp::kGt
                             : CompareOp::kGte;
      if (type != Type::kTime) type = Type::kCompare;
    } else if (m == "minute" || m == "hour" || m == "day" || m == "week" || m == "month" ||
               m == "year") {
      type = Type::kTime;
      test.time_part = m == "minute"  ? TimePart::kMinute
                       : m == "hour"  ? TimePart::kHour
                       : m == "day"   ? TimePart::kDay
                       : m == "week"  ? TimePart::kWeek
                       : m == "month" ? TimePart::kMonth
                                      : TimePart::kYear;
    } else if (m == "expand") {
      expand = true;
    } else if (m == "base64" || m == "base64offset" || m == "wide" || m == "utf16le" ||
               m == "utf16be" || m == "utf16" || m == "windash") {
      transforms.push_back(m);
    } else {
      Throw(value, "unknown modifier '" + m + "' in '" + key + "'");
    }
  }
  if ((re_i || re_m || re_s) && type != Type::kRegex) {
    Throw(value, "modifiers i, m and s only apply to 're' (in '" + key + "')");
  }
  if (test.field.empty() && (type == Type::kExists || type == Type::kFieldRef)) {
    Throw(value, "'" + key + "' needs a field name");
  }
  // A field-less key ('|all', '|cased', ...) holds keywords: full-text searches, so
  // the value may be anywhere in a field's value, after any encoding.
  if (test.field.empty() && type == Type::kString && shape == Pattern::kExact) {
    transforms.push_back("contains");
  }

  std::vector<YAML::Node> raw_values;
  if (value.IsSequence()) {
    for (const auto& v : value) raw_values.push_back(v);
    if (raw_values.empty()) raw_values.push_back(YAML::Node(YAML::NodeType::Null));
  } else {
    raw_values.push_back(value);
  }
  // (`all` on a single value is accepted: it changes nothing, and SigmaHQ has rules
  // that do it.)

  for (const YAML::Node& node : raw_values) {
    std::vector<ValueTest> group;
    if (node.IsNull()) {
      if (test.field.empty()) Throw(node, "a keyword cannot be null");
      ValueTest v;
      v.kind = ValueTest::kNull;
      v.display = "null";
      group.push_back(std::move(v));
      test.values.push_back(std::move(group));
      continue;
    }
    if (!node.IsScalar()) Throw(node, "values of '" + key + "' must be plain values");
    const std::string text = node.Scalar();
    switch (type) {
      case Type::kRegex: {
        // PCRE2 searches (unanchored), which is what `re` and `re|contains` mean;
        // startswith/endswith anchor the pattern.
        std::string pattern = text;
        if (shape == Pattern::kPrefix) pattern = "^(?:" + pattern + ")";
        if (shape == Pattern::kSuffix) pattern = "(?:" + pattern + ")$";
        auto re = CompileRegex(pattern, re_i, re_m, re_s);
        if (!re) Throw(node, "'" + key + "': " + re.error().reason);
        ValueTest v;
        v.kind = ValueTest::kRegex;
        v.regex = std::move(*re);
        v.display = text;
        // A literal usable by the prefilter (only when no alternation was wrapped).
        v.pattern.literal = RegexRequiredLiteral(text, re_i);
        group.push_back(std::move(v));
        break;
      }
      case Type::kCidr: {
        ValueTest v;
        v.kind = ValueTest::kCidr;
        v.cidr = ParseCidrValue(node, text);
        v.display = text;
        group.push_back(std::move(v));
        break;
      }
      case Type::kExists: {
        const std::string lower = Lower(text);
        if (lower != "true" && lower != "false") Throw(node, "exists needs true or false");
        ValueTest v;
        v.kind = ValueTest::kExists;
        v.exists = lower == "true";
        v.display = lower;
        group.push_back(std::move(v));
        break;
      }
      case Type::kFieldRef: {
        ValueTest v;
        v.kind = ValueTest::kFieldRef;
        v.ref_names = ResolveNames(text, ctx);
        v.ref_shape = shape;
        v.ref_cased = cased;
        v.display = text;
        group.push_back(std::move(v));
        break;
      }
      case Type::kCompare:
      case Type::kTime: {
        const auto number = ParseNumber(text);
        if (!number) Throw(node, "'" + key + "' needs a number, not '" + text + "'");
        ValueTest v;
        v.kind = ValueTest::kCompare;
        v.op = has_compare ? compare : CompareOp::kEq;
        v.number = *number;
        v.display = text;
        group.push_back(std::move(v));
        break;
      }
      case Type::kString: {
        std::vector<std::string> raws{text};
        if (expand) {
          std::string missing;
          raws = ExpandPlaceholders(text, ctx.options->placeholders, &missing);
          if (raws.empty()) {
            ctx.needs_placeholder = true;
            if (ctx.missing_placeholder.empty()) ctx.missing_placeholder = missing;
            raws = {text};  // kept as written; the rule is inactive
          }
        }
        std::vector<SigmaString> strings;
        for (const auto& r : raws) strings.push_back(ParseSigmaString(r));
        for (const std::string& t : transforms) {
          std::vector<SigmaString> next;
          for (SigmaString& s : strings) {
            if (t == "contains" || t == "startswith" || t == "endswith") {
              if (t != "startswith" && (s.empty() || s.front().kind != PatternToken::kStar)) {
                s.insert(s.begin(), {PatternToken::kStar, {}});
              }
              if (t != "endswith" && (s.empty() || s.back().kind != PatternToken::kStar)) {
                s.push_back({PatternToken::kStar, {}});
              }
              next.push_back(std::move(s));
            } else if (t == "windash") {
              for (auto& w : Windash(s)) next.push_back(std::move(w));
            } else {
              std::string plain;
              if (t == "base64" || t == "base64offset") {
                if (!IsPlain(s, &plain)) {
                  Throw(node, t + " cannot encode a value with wildcards ('" + text + "')");
                }
                if (t == "base64") {
                  next.push_back(LiteralString(Base64(plain)));
                } else {
                  for (auto& b : Base64Offsets(plain)) next.push_back(LiteralString(b));
                }
              } else {  // wide, utf16le, utf16be, utf16: encode literal parts
                SigmaString encoded;
                bool first = true;
                for (const auto& tok : s) {
                  if (tok.kind != PatternToken::kLiteral) {
                    encoded.push_back(tok);
                    continue;
                  }
                  std::string text16;
                  if (t == "utf16" && first) text16 = "\xFF\xFE";
                  text16 += Utf16(tok.text, t == "utf16be");
                  encoded.push_back({PatternToken::kLiteral, std::move(text16)});
                  first = false;
                }
                next.push_back(std::move(encoded));
              }
            }
          }
          strings = std::move(next);
        }
        for (const SigmaString& s : strings) {
          ValueTest v;
          v.kind = ValueTest::kPattern;
          v.pattern = CompilePattern(s, cased);
          v.display = DisplayString(s);
          group.push_back(std::move(v));
        }
        break;
      }
    }
    test.values.push_back(std::move(group));
  }
  return test;
}

Selection ParseSelection(const std::string& name, const YAML::Node& node, Context& ctx) {
  Selection sel;
  sel.name = name;
  auto keyword = [&](std::vector<YAML::Node> values) {
    FieldTest test;
    for (const auto& v : values) {
      if (!v.IsScalar()) Throw(v, "keyword values must be plain values");
      ValueTest value;
      value.kind = ValueTest::kPattern;
      SigmaString s = ParseSigmaString(v.Scalar());
      // Keywords are full-text searches: the value may be anywhere in a field.
      if (s.empty() || s.front().kind != PatternToken::kStar) {
        s.insert(s.begin(), {PatternToken::kStar, {}});
      }
      if (s.back().kind != PatternToken::kStar) s.push_back({PatternToken::kStar, {}});
      value.pattern = CompilePattern(s, false);
      value.display = v.Scalar();
      test.values.push_back({std::move(value)});
    }
    return test;
  };
  auto map_alternative = [&](const YAML::Node& map) {
    std::vector<FieldTest> tests;
    for (const auto& kv : map) {
      const std::string key = kv.first.as<std::string>();
      tests.push_back(ParseFieldTest(key, kv.second, ctx));
    }
    if (tests.empty()) Throw(map, "search identifier '" + name + "' has an empty map");
    return tests;
  };
  if (node.IsMap()) {
    sel.alternatives.push_back(map_alternative(node));
  } else if (node.IsSequence()) {
    if (node.size() == 0) Throw(node, "search identifier '" + name + "' is an empty list");
    std::vector<YAML::Node> scalars;
    for (const auto& item : node) {
      if (item.IsMap()) {
        sel.alternatives.push_back(map_alternative(item));
      } else if (item.IsScalar()) {
        scalars.push_back(item);
      } else if (item.IsSequence()) {
        std::vector<YAML::Node> inner(item.begin(), item.end());
        sel.alternatives.push_back({keyword(inner)});
      } else {
        Throw(item, "search identifier '" + name + "' holds a null");
      }
    }
    if (!scalars.empty()) sel.alternatives.push_back({keyword(scalars)});
  } else if (node.IsScalar()) {
    sel.alternatives.push_back({keyword({node})});
  } else {
    Throw(node, "search identifier '" + name + "' is empty");
  }
  return sel;
}

// Parses the `detection` section into selections and a condition.
void ParseDetection(const YAML::Node& detection, Context& ctx, Rule& rule) {
  if (!detection.IsMap()) Throw(detection, "detection must be a map");
  YAML::Node condition;
  for (const auto& kv : detection) {
    const std::string key = kv.first.as<std::string>();
    if (key == "condition") {
      condition = kv.second;
      continue;
    }
    if (key == "timeframe") continue;  // Sigma v1 aggregation window; unused in v2
    rule.selections.push_back(ParseSelection(key, kv.second, ctx));
  }
  if (!condition.IsDefined() || condition.IsNull()) Throw(detection, "detection has no condition");
  std::vector<std::string> conditions;
  if (condition.IsSequence()) {
    for (const auto& c : condition) conditions.push_back(Scalar(c, "condition"));
  } else {
    conditions.push_back(Scalar(condition, "condition"));
  }
  if (conditions.empty()) Throw(condition, "condition is an empty list");
  CondNode root;
  root.kind = CondNode::kOr;
  for (const auto& text : conditions) {
    auto parsed = ParseCondition(text, rule.selections);
    if (!parsed) Throw(condition, "condition '" + text + "': " + parsed.error().reason);
    root.children.push_back(std::move(*parsed));
  }
  rule.condition = root.children.size() == 1 ? std::move(root.children[0]) : std::move(root);
}

void ParseMeta(const YAML::Node& doc, RuleInfo& info, const std::string& path) {
  info.path = path;
  const YAML::Node title = doc["title"];
  if (!title.IsDefined() || !title.IsScalar() || title.Scalar().empty()) {
    Throw(doc, "the rule has no title");
  }
  info.title = title.Scalar();
  if (const auto id = doc["id"]) info.id = Scalar(id, "id");
  if (const auto name = doc["name"]) info.name = Scalar(name, "name");
  if (info.id.empty()) info.id = info.name.empty() ? info.title : info.name;
  if (const auto status = doc["status"]) info.status = Lower(Scalar(status, "status"));
  if (const auto level = doc["level"]) {
    const auto parsed = ParseSeverity(Scalar(level, "level"));
    if (!parsed) Throw(level, "unknown level '" + level.Scalar() + "'");
    info.level = *parsed;
  }
  if (const auto tags = doc["tags"]) {
    if (!tags.IsSequence()) Throw(tags, "tags must be a list");
    for (const auto& t : tags) info.tags.push_back(Scalar(t, "tag"));
  }
}

void ParseLogsource(const YAML::Node& doc, RuleInfo& info, bool required) {
  const YAML::Node ls = doc["logsource"];
  if (!ls.IsDefined()) {
    if (required) Throw(doc, "the rule has no logsource");
    return;
  }
  if (!ls.IsMap()) Throw(ls, "logsource must be a map");
  if (const auto p = ls["product"]) info.product = Lower(Scalar(p, "logsource.product"));
  if (const auto c = ls["category"]) info.category = Lower(Scalar(c, "logsource.category"));
  if (const auto s = ls["service"]) info.service = Lower(Scalar(s, "logsource.service"));
}

struct PendingFilter {
  std::string path;
  int line = 0;
  std::string title;
  RuleInfo logsource;  // product/category/service of the filter
  std::vector<std::string> refs;
  bool any = false;
  std::vector<Selection> selections;
  CondNode condition;
};

struct PendingCorrelation {
  size_t rule_index;
  int line = 0;
};

class Loader {
 public:
  Loader(const LoadOptions& options, LogsourceMapping mapping) : options_(options) {
    set_ = std::make_shared<RuleSet>();
    set_->mapping = std::move(mapping);
  }

  void LoadText(std::string_view text, const std::string& origin) {
    std::vector<YAML::Node> docs;
    try {
      docs = YAML::LoadAll(std::string(text));
    } catch (const YAML::Exception& ex) {
      Issue(origin, ex.mark.line >= 0 ? ex.mark.line + 1 : 0, "", "YAML: " + ex.msg);
      return;
    }
    for (const YAML::Node& doc : docs) {
      if (doc.IsNull()) continue;
      LoadDocument(doc, origin);
    }
  }

  Result<LoadResult> Finish();
  LoadResult result;

 private:
  void Issue(const std::string& path, int line, const std::string& rule, std::string reason) {
    result.issues.push_back({path, line, rule, std::move(reason)});
  }

  void LoadDocument(const YAML::Node& doc, const std::string& path) {
    std::string title;
    try {
      if (!doc.IsMap()) Throw(doc, "a Sigma document must be a map");
      if (const auto t = doc["title"]; t.IsDefined() && t.IsScalar()) title = t.Scalar();
      if (doc["correlation"]) {
        LoadCorrelation(doc, path);
      } else if (doc["filter"]) {
        LoadFilter(doc, path);
      } else if (doc["detection"]) {
        LoadRule(doc, path);
      } else {
        Throw(doc, "not a Sigma rule: no detection, correlation or filter section");
      }
    } catch (const RuleError& e) {
      Issue(path, e.line, title, e.reason);
    } catch (const YAML::Exception& ex) {
      Issue(path, ex.mark.line >= 0 ? ex.mark.line + 1 : 0, title, "YAML: " + ex.msg);
    }
  }

  void LoadRule(const YAML::Node& doc, const std::string& path) {
    Rule rule;
    ParseMeta(doc, rule.info, path);
    ParseLogsource(doc, rule.info, true);
    Context ctx{&options_, &set_->mapping, rule.info.product, false, {}};
    ParseDetection(doc["detection"], ctx, rule);
    if (ctx.needs_placeholder) {
      rule.active = false;
      result.warnings.push_back({path, doc.Mark().line + 1, rule.info.title,
                                 "inactive: placeholder %" + ctx.missing_placeholder +
                                     "% has no values (set sigma.placeholders)"});
    }
    set_->rules.push_back(std::move(rule));
  }

  void LoadFilter(const YAML::Node& doc, const std::string& path) {
    PendingFilter f;
    f.path = path;
    f.line = doc.Mark().line + 1;
    RuleInfo meta;
    ParseMeta(doc, meta, path);
    f.title = meta.title;
    ParseLogsource(doc, f.logsource, true);
    const YAML::Node filter = doc["filter"];
    if (!filter.IsMap()) Throw(filter, "filter must be a map");
    const YAML::Node rules = filter["rules"];
    if (!rules.IsDefined()) Throw(filter, "filter has no `rules`");
    if (rules.IsScalar()) {
      const std::string r = rules.Scalar();
      if (r == "any" || r == "all") {
        f.any = true;
      } else {
        f.refs.push_back(r);
      }
    } else if (rules.IsSequence()) {
      for (const auto& r : rules) f.refs.push_back(Scalar(r, "filter rule reference"));
      if (f.refs.empty()) f.any = true;
    } else {
      Throw(rules, "filter `rules` must be a list of rule ids or names");
    }
    Context ctx{&options_, &set_->mapping, f.logsource.product, false, {}};
    YAML::Node condition;
    for (const auto& kv : filter) {
      const std::string key = kv.first.as<std::string>();
      if (key == "rules") continue;
      if (key == "condition") {
        condition = kv.second;
        continue;
      }
      f.selections.push_back(ParseSelection(key, kv.second, ctx));
    }
    if (!condition.IsDefined()) Throw(filter, "filter has no condition");
    if (!condition.IsScalar()) Throw(condition, "a filter condition must be one string");
    auto parsed = ParseCondition(condition.Scalar(), f.selections);
    if (!parsed) Throw(condition, "condition: " + parsed.error().reason);
    f.condition = std::move(*parsed);
    filters_.push_back(std::move(f));
  }

  void LoadCorrelation(const YAML::Node& doc, const std::string& path) {
    Rule rule;
    ParseMeta(doc, rule.info, path);
    auto spec = ParseCorrelation(doc);
    if (!spec) Throw(doc, spec.error().reason);
    rule.correlation = true;
    rule.info.is_correlation = true;
    rule.correlation_index = static_cast<int>(set_->correlations.size());
    rule.condition.kind = CondNode::kFalse;
    set_->correlations.push_back(std::move(*spec));
    set_->correlation_rule.push_back(static_cast<uint32_t>(set_->rules.size()));
    pending_correlations_.push_back({set_->rules.size(), doc.Mark().line + 1});
    set_->rules.push_back(std::move(rule));
  }

  void ApplyFilters();
  void ResolveCorrelations();
  void ApplyRuleFilter();
  void GroupByLogsource();

  const LoadOptions& options_;
  std::shared_ptr<RuleSet> set_;
  std::vector<PendingFilter> filters_;
  std::vector<PendingCorrelation> pending_correlations_;
};

void ShiftSelections(CondNode& node, int offset) {
  if (node.kind == CondNode::kSelection) node.selection += offset;
  for (auto& c : node.children) ShiftSelections(c, offset);
}

void Loader::ApplyFilters() {
  for (size_t fi = 0; fi < filters_.size(); ++fi) {
    const PendingFilter& f = filters_[fi];
    size_t applied = 0;
    for (Rule& rule : set_->rules) {
      if (rule.correlation) continue;
      const RuleInfo& ls = f.logsource;
      if ((!ls.product.empty() && ls.product != rule.info.product) ||
          (!ls.category.empty() && ls.category != rule.info.category) ||
          (!ls.service.empty() && ls.service != rule.info.service)) {
        continue;
      }
      const bool named =
          f.any || std::any_of(f.refs.begin(), f.refs.end(), [&](const auto& r) {
            return r == rule.info.id || (!rule.info.name.empty() && r == rule.info.name);
          });
      if (!named) continue;
      const int offset = static_cast<int>(rule.selections.size());
      for (const Selection& s : f.selections) {
        Selection copy = s;
        copy.name = "_filter" + std::to_string(fi) + "_" + s.name;
        rule.selections.push_back(std::move(copy));
      }
      CondNode filter_condition = f.condition;
      ShiftSelections(filter_condition, offset);
      CondNode both;
      both.kind = CondNode::kAnd;
      both.children.push_back(std::move(rule.condition));
      both.children.push_back(std::move(filter_condition));
      rule.condition = std::move(both);
      ++applied;
    }
    if (applied == 0) {
      result.warnings.push_back({f.path, f.line, f.title,
                                 "filter applies to no loaded rule (check `rules` and logsource)"});
    }
    result.filters += applied > 0 ? 1 : 0;
  }
}

void Loader::ResolveCorrelations() {
  std::unordered_map<std::string, uint32_t> by_ref;
  for (uint32_t i = 0; i < set_->rules.size(); ++i) {
    by_ref.emplace(set_->rules[i].info.id, i);
    if (!set_->rules[i].info.name.empty()) by_ref.emplace(set_->rules[i].info.name, i);
  }
  std::vector<bool> referenced_without_generate(set_->rules.size(), false);
  std::vector<bool> referenced_with_generate(set_->rules.size(), false);
  std::vector<bool> broken(set_->rules.size(), false);
  for (const auto& pending : pending_correlations_) {
    Rule& rule = set_->rules[pending.rule_index];
    CorrelationSpec& spec = set_->correlations[rule.correlation_index];
    spec.rule_indices.clear();
    for (const std::string& ref : spec.rule_refs) {
      auto it = by_ref.find(ref);
      if (it == by_ref.end()) {
        Issue(rule.info.path, pending.line, rule.info.title,
              "correlation refers to rule '" + ref + "', which is not loaded");
        broken[pending.rule_index] = true;
        break;
      }
      if (it->second == pending.rule_index) {
        Issue(rule.info.path, pending.line, rule.info.title, "correlation refers to itself");
        broken[pending.rule_index] = true;
        break;
      }
      spec.rule_indices.push_back(it->second);
      (spec.generate ? referenced_with_generate : referenced_without_generate)[it->second] = true;
    }
    if (broken[pending.rule_index]) continue;
    // Aliases may name a rule differently from `rules:` (its name there, its id
    // here): key them by the reference `rules:` uses, which the engine looks up.
    for (auto& [alias, per_rule] : spec.aliases) {
      std::map<std::string, std::string> rekeyed;
      for (const auto& [ref, field] : per_rule) {
        auto it = by_ref.find(ref);
        std::string key = ref;
        if (it != by_ref.end()) {
          for (size_t k = 0; k < spec.rule_indices.size(); ++k) {
            if (spec.rule_indices[k] == it->second) key = spec.rule_refs[k];
          }
        }
        rekeyed[key] = field;
      }
      per_rule = std::move(rekeyed);
    }
  }
  for (size_t i = 0; i < set_->rules.size(); ++i) {
    if (referenced_without_generate[i] && !referenced_with_generate[i]) {
      set_->rules[i].info.generate = false;
    }
  }
  // Broken correlations raise nothing; they are reported above. Keep their slots
  // (indices stay stable) but make them unreachable.
  for (size_t i = 0; i < set_->rules.size(); ++i) {
    if (broken[i]) {
      set_->rules[i].active = false;
      set_->correlations[set_->rules[i].correlation_index].rule_indices.clear();
    }
  }
}

bool Keep(const RuleInfo& info, const RuleFilter& filter) {
  if (info.level < filter.min_level) return false;
  if (filter.statuses.empty()) {
    if (info.status == "deprecated" || info.status == "unsupported") return false;
  } else if (std::find(filter.statuses.begin(), filter.statuses.end(), info.status) ==
             filter.statuses.end()) {
    return false;
  }
  if (!filter.tags.empty()) {
    bool any = false;
    for (const auto& want : filter.tags) {
      for (const auto& tag : info.tags) {
        if (tag == want ||
            (tag.starts_with(want) && tag.size() > want.size() && tag[want.size()] == '.')) {
          any = true;
        }
      }
    }
    if (!any) return false;
  }
  return true;
}

void Loader::ApplyRuleFilter() {
  // Rules dropped by the filter stay in place when a kept correlation needs them
  // (they then raise no alert of their own).
  std::vector<bool> keep(set_->rules.size());
  for (size_t i = 0; i < set_->rules.size(); ++i)
    keep[i] = Keep(set_->rules[i].info, options_.filter);
  std::vector<bool> needed = keep;
  bool changed = true;
  while (changed) {
    changed = false;
    for (size_t c = 0; c < set_->correlations.size(); ++c) {
      if (!needed[set_->correlation_rule[c]]) continue;
      for (uint32_t r : set_->correlations[c].rule_indices) {
        if (!needed[r]) {
          needed[r] = true;
          changed = true;
        }
      }
    }
  }
  std::vector<int> new_index(set_->rules.size(), -1);
  std::vector<Rule> rules;
  for (size_t i = 0; i < set_->rules.size(); ++i) {
    if (!needed[i]) {
      ++result.filtered_out;
      continue;
    }
    if (!keep[i]) {
      set_->rules[i].info.generate = false;
      ++result.filtered_out;
    }
    new_index[i] = static_cast<int>(rules.size());
    rules.push_back(std::move(set_->rules[i]));
  }
  std::vector<CorrelationSpec> correlations;
  std::vector<uint32_t> correlation_rule;
  for (Rule& rule : rules) {
    if (!rule.correlation) continue;
    CorrelationSpec spec = std::move(set_->correlations[rule.correlation_index]);
    for (auto& r : spec.rule_indices) r = static_cast<uint32_t>(new_index[r]);
    rule.correlation_index = static_cast<int>(correlations.size());
    correlations.push_back(std::move(spec));
    correlation_rule.push_back(static_cast<uint32_t>(&rule - rules.data()));
  }
  set_->rules = std::move(rules);
  set_->correlations = std::move(correlations);
  set_->correlation_rule = std::move(correlation_rule);
}

void Loader::GroupByLogsource() {
  std::map<std::tuple<std::string, std::string, std::string>, int> index;
  // Which tags the mapping can give at all; a rule asking for a tag nobody gives is
  // unrouted.
  std::set<std::string> products, categories, services;
  for (const auto& e : set_->mapping.entries) {
    if (!e.product.empty()) products.insert(e.product);
    if (!e.category.empty()) categories.insert(e.category);
    if (!e.service.empty()) services.insert(e.service);
  }
  for (uint32_t i = 0; i < set_->rules.size(); ++i) {
    Rule& rule = set_->rules[i];
    if (rule.correlation) continue;
    const RuleInfo& info = rule.info;
    const bool routable = (info.product.empty() || products.count(info.product)) &&
                          (info.category.empty() || categories.count(info.category)) &&
                          (info.service.empty() || services.count(info.service)) &&
                          !(info.product.empty() && info.category.empty() && info.service.empty());
    if (!routable) {
      ++result.unrouted;
      continue;
    }
    if (!rule.active) continue;
    auto key = std::make_tuple(info.product, info.category, info.service);
    auto [it, inserted] = index.emplace(key, static_cast<int>(set_->groups.size()));
    if (inserted) {
      RouteGroup& group = set_->groups.emplace_back();
      group.product = info.product;
      group.category = info.category;
      group.service = info.service;
    }
    rule.route_group = it->second;
    set_->groups[it->second].rules.push_back(i);
  }
}

Result<LoadResult> Loader::Finish() {
  ApplyFilters();
  ResolveCorrelations();
  ApplyRuleFilter();
  set_->correlation_referenced.assign(set_->rules.size(), false);
  for (const CorrelationSpec& spec : set_->correlations) {
    for (uint32_t r : spec.rule_indices) set_->correlation_referenced[r] = true;
  }
  GroupByLogsource();
  for (const Rule& r : set_->rules) {
    if (!r.active && !r.correlation) ++result.inactive;
    if (r.correlation)
      ++result.correlations;
    else
      ++result.rules_loaded;
  }
  if (auto built = BuildPrefilter(*set_, &result.literals, &result.hashed_atoms,
                                    &result.always_evaluated); !built) {
    return std::unexpected(built.error());
  }
  result.rules = set_;
  return std::move(result);
}

Result<LogsourceMapping> LoadMapping(const LoadOptions& options) {
  if (options.logsource_mapping_path.empty()) {
    return ParseLogsourceMapping(BuiltinLogsourceMapping(), "built-in sigma-logsources.yml");
  }
  std::ifstream in(options.logsource_mapping_path, std::ios::binary);
  if (!in) {
    Error e;
    e.where = options.logsource_mapping_path;
    e.reason = "cannot read the logsource mapping";
    return std::unexpected(std::move(e));
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParseLogsourceMapping(text.str(), options.logsource_mapping_path);
}

}  // namespace
}  // namespace internal

Result<LoadResult> LoadRules(std::span<const std::string> paths, const LoadOptions& options) {
  auto mapping = internal::LoadMapping(options);
  if (!mapping) return std::unexpected(mapping.error());
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      std::vector<std::string> found;
      for (auto it = std::filesystem::recursive_directory_iterator(
               path, std::filesystem::directory_options::skip_permission_denied, ec);
           !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_regular_file(ec)) continue;
        const std::string ext = it->path().extension().string();
        if (ext == ".yml" || ext == ".yaml") found.push_back(it->path().string());
      }
      if (ec) {
        Error e;
        e.where = path;
        e.reason = "cannot list the folder: " + ec.message();
        return std::unexpected(std::move(e));
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (std::filesystem::exists(path, ec)) {
      files.push_back(path);
    } else {
      Error e;
      e.where = path;
      e.reason = "no such file or folder";
      return std::unexpected(std::move(e));
    }
  }
  internal::Loader loader(options, std::move(*mapping));
  for (size_t i = 0; i < files.size(); ++i) {
    std::ifstream in(files[i], std::ios::binary);
    if (!in) {
      loader.result.issues.push_back({files[i], 0, "", "cannot read the file"});
    } else {
      std::stringstream text;
      text << in.rdbuf();
      loader.LoadText(text.str(), files[i]);
    }
    if (options.on_file) options.on_file(i + 1, files.size());
  }
  loader.result.files = files.size();
  return loader.Finish();
}

Result<LoadResult> LoadRulesFromText(std::string_view yaml, std::string_view origin,
                                     const LoadOptions& options) {
  auto mapping = internal::LoadMapping(options);
  if (!mapping) return std::unexpected(mapping.error());
  internal::Loader loader(options, std::move(*mapping));
  loader.LoadText(yaml, std::string(origin));
  loader.result.files = 1;
  return loader.Finish();
}

}  // namespace aegis::detect::sigma
