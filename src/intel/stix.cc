// STIX 2.1 indicators: bundles, single objects or arrays of objects (simdjson
// on-demand, no exceptions).
//
// Only indicators whose pattern (pattern_type "stix" or absent) is one comparison or
// an OR of comparisons are loaded, e.g.
//   [domain-name:value = 'evil.com']
//   [ipv4-addr:value = '198.51.100.0/24'] OR [url:value = 'http://evil.com/x']
//   [file:hashes.'SHA-256' = '...' OR file:hashes.MD5 = '...']
// on the object paths domain-name:value, ipv4-addr:value, ipv6-addr:value,
// url:value, email-addr:value and file:hashes.{MD5,SHA-1,SHA-256}. Anything else
// (AND, FOLLOWEDBY, NOT, != and ordering, LIKE, MATCHES, IN, EXISTS, ISSUBSET,
// ISSUPERSET, qualifiers) is counted as not loaded with the reason. Within an OR,
// comparisons on other object paths are not loaded while the rest are: an OR matches
// when any one of its comparisons does, so each comparison alone is a sound indicator.
//
// Metadata: name and description -> description, confidence, labels and
// indicator_types -> tags, valid_from (else created) -> first_seen, modified (else
// created) -> last_seen, valid_until, TLP from object_marking_refs (TLP 1.0 and 2.0
// ids, or marking-definition objects in the same bundle). Expired indicators load (the
// index ignores them at match time); revoked ones are not loaded.
#include <simdjson.h>

#include <algorithm>
#include <map>
#include <vector>

#include "core/strings.h"
#include "intel/json_members.h"
#include "intel/loaders.h"

namespace aegis::intel::internal {
namespace {

// ---------------------------------------------------------------------------
// Pattern tokenizer and parser (STIX 2.1 patterning grammar, restricted).

enum class Tok : unsigned char {
  kLBrack, kRBrack, kLParen, kRParen, kColon, kDot, kComma, kAsterisk,
  kEq, kNeq, kOrder, kString, kIdent, kKeyword, kNumber, kOtherLiteral, kEnd,
};

struct Token {
  Tok kind;
  std::string_view text;  // source text (for strings: without quotes, still escaped)
};

constexpr std::string_view kKeywords[] = {
    "AND", "OR", "NOT", "FOLLOWEDBY", "LIKE", "MATCHES", "ISSUPERSET", "ISSUBSET", "EXISTS",
    "LAST", "IN", "START", "STOP", "SECONDS", "WITHIN", "REPEATS", "TIMES",
};

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9') || c == '-'; }
bool IsDigitChar(char c) { return c >= '0' && c <= '9'; }

// Reads a quoted literal starting at text[i] == '\''. Returns the index after the
// closing quote, or npos when unterminated.
size_t EndOfQuoted(std::string_view text, size_t i) {
  for (size_t j = i + 1; j < text.size(); ++j) {
    if (text[j] == '\\') {
      ++j;
      continue;
    }
    if (text[j] == '\'') return j + 1;
  }
  return std::string_view::npos;
}

std::expected<std::vector<Token>, std::string> Tokenize(std::string_view text) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f') {
      ++i;
      continue;
    }
    if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      size_t close = text.find("*/", i + 2);
      if (close == std::string_view::npos) return std::unexpected("unterminated comment");
      i = close + 2;
      continue;
    }
    if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      size_t newline = text.find('\n', i);
      i = newline == std::string_view::npos ? text.size() : newline + 1;
      continue;
    }
    auto single = [&](Tok kind, size_t length) {
      tokens.push_back({kind, text.substr(i, length)});
      i += length;
    };
    switch (c) {
      case '[': single(Tok::kLBrack, 1); continue;
      case ']': single(Tok::kRBrack, 1); continue;
      case '(': single(Tok::kLParen, 1); continue;
      case ')': single(Tok::kRParen, 1); continue;
      case ':': single(Tok::kColon, 1); continue;
      case ',': single(Tok::kComma, 1); continue;
      case '*': single(Tok::kAsterisk, 1); continue;
      case '=': single(Tok::kEq, i + 1 < text.size() && text[i + 1] == '=' ? 2 : 1); continue;
      case '!':
        if (i + 1 < text.size() && text[i + 1] == '=') {
          single(Tok::kNeq, 2);
          continue;
        }
        return std::unexpected("unexpected '!'");
      case '<':
        if (i + 1 < text.size() && text[i + 1] == '>') {
          single(Tok::kNeq, 2);
        } else {
          single(Tok::kOrder, i + 1 < text.size() && text[i + 1] == '=' ? 2 : 1);
        }
        continue;
      case '>': single(Tok::kOrder, i + 1 < text.size() && text[i + 1] == '=' ? 2 : 1); continue;
      case '\'': {
        size_t end = EndOfQuoted(text, i);
        if (end == std::string_view::npos) return std::unexpected("unterminated string literal");
        tokens.push_back({Tok::kString, text.substr(i + 1, end - i - 2)});
        i = end;
        continue;
      }
      default: break;
    }
    // t'...', h'...', b'...' literals.
    if ((c == 't' || c == 'h' || c == 'b') && i + 1 < text.size() && text[i + 1] == '\'') {
      size_t end = EndOfQuoted(text, i + 1);
      if (end == std::string_view::npos) return std::unexpected("unterminated literal");
      tokens.push_back({Tok::kOtherLiteral, text.substr(i, end - i)});
      i = end;
      continue;
    }
    if (c == '.' && !(i + 1 < text.size() && IsDigitChar(text[i + 1]))) {
      single(Tok::kDot, 1);
      continue;
    }
    if (IsDigitChar(c) || c == '-' || c == '+' || c == '.') {
      size_t j = i + 1;
      while (j < text.size() && (IsDigitChar(text[j]) || text[j] == '.')) ++j;
      tokens.push_back({Tok::kNumber, text.substr(i, j - i)});
      i = j;
      continue;
    }
    if (IsIdentStart(c)) {
      size_t j = i + 1;
      while (j < text.size() && IsIdentChar(text[j])) ++j;
      std::string_view word = text.substr(i, j - i);
      Tok kind = Tok::kIdent;
      for (std::string_view keyword : kKeywords) {
        if (word == keyword) kind = Tok::kKeyword;
      }
      if (word == "true" || word == "false") kind = Tok::kOtherLiteral;
      tokens.push_back({kind, word});
      i = j;
      continue;
    }
    std::string reason = "unexpected character '";
    reason.push_back(c);
    reason.push_back('\'');
    return std::unexpected(std::move(reason));
  }
  tokens.push_back({Tok::kEnd, {}});
  return tokens;
}

std::string Unsupported(std::string_view construct) {
  std::string reason = "pattern uses ";
  reason.append(construct);
  reason.append(": only single comparisons or OR of comparisons are supported");
  return reason;
}

std::string Unescape(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] == '\\' && i + 1 < escaped.size()) ++i;
    out.push_back(escaped[i]);
  }
  return out;
}

class PatternParser {
 public:
  explicit PatternParser(const std::vector<Token>& tokens) : tokens_(tokens) {}

  std::expected<std::vector<StixComparison>, std::string> Parse() {
    // Unsupported operators decide the reason before any structural error.
    for (const Token& token : tokens_) {
      if (token.kind == Tok::kKeyword && token.text != "OR") return std::unexpected(Unsupported(token.text));
      if (token.kind == Tok::kNeq || token.kind == Tok::kOrder) return std::unexpected(Unsupported(token.text));
    }
    if (auto ok = ObservationOr(); !ok) return std::unexpected(ok.error());
    if (Peek().kind != Tok::kEnd) return std::unexpected(SyntaxError("unexpected text after the pattern"));
    return std::move(comparisons_);
  }

 private:
  using Status = std::expected<void, std::string>;

  const Token& Peek() const { return tokens_[pos_]; }
  const Token& Take() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  bool TakeIf(Tok kind) {
    if (Peek().kind != kind) return false;
    Take();
    return true;
  }
  bool TakeOr() {
    if (Peek().kind != Tok::kKeyword || Peek().text != "OR") return false;
    Take();
    return true;
  }
  static std::string SyntaxError(std::string_view what) { return "pattern syntax error: " + std::string(what); }

  bool Deep() { return ++depth_ > 64; }

  Status ObservationOr() {
    if (Deep()) return std::unexpected(SyntaxError("nested too deeply"));
    do {
      if (auto ok = Observation(); !ok) return ok;
    } while (TakeOr());
    --depth_;
    return {};
  }

  Status Observation() {
    if (TakeIf(Tok::kLBrack)) {
      if (auto ok = ComparisonOr(); !ok) return ok;
      if (!TakeIf(Tok::kRBrack)) return std::unexpected(SyntaxError("expected ']'"));
      return {};
    }
    if (TakeIf(Tok::kLParen)) {
      if (auto ok = ObservationOr(); !ok) return ok;
      if (!TakeIf(Tok::kRParen)) return std::unexpected(SyntaxError("expected ')'"));
      return {};
    }
    return std::unexpected(SyntaxError("expected '[' or '('"));
  }

  Status ComparisonOr() {
    if (Deep()) return std::unexpected(SyntaxError("nested too deeply"));
    do {
      if (TakeIf(Tok::kLParen)) {
        if (auto ok = ComparisonOr(); !ok) return ok;
        if (!TakeIf(Tok::kRParen)) return std::unexpected(SyntaxError("expected ')'"));
      } else if (auto ok = Comparison(); !ok) {
        return ok;
      }
    } while (TakeOr());
    --depth_;
    return {};
  }

  Status Comparison() {
    std::string path;
    if (Peek().kind != Tok::kIdent) return std::unexpected(SyntaxError("expected an object type"));
    path.append(Take().text);
    if (!TakeIf(Tok::kColon)) return std::unexpected(SyntaxError("expected ':' after the object type"));
    if (Peek().kind == Tok::kIdent) {
      path.push_back(':');
      path.append(Take().text);
    } else if (Peek().kind == Tok::kString) {
      path.append(":'");
      path.append(Take().text);
      path.push_back('\'');
    } else {
      return std::unexpected(SyntaxError("expected a property name"));
    }
    while (true) {
      if (TakeIf(Tok::kDot)) {
        if (Peek().kind == Tok::kIdent) {
          path.push_back('.');
          path.append(Take().text);
        } else if (Peek().kind == Tok::kString) {
          path.append(".'");
          path.append(Take().text);
          path.push_back('\'');
        } else {
          return std::unexpected(SyntaxError("expected a property name after '.'"));
        }
      } else if (Peek().kind == Tok::kLBrack && (tokens_[pos_ + 1].kind == Tok::kNumber ||
                                                 tokens_[pos_ + 1].kind == Tok::kAsterisk)) {
        Take();
        path.push_back('[');
        path.append(Take().text);
        if (!TakeIf(Tok::kRBrack)) return std::unexpected(SyntaxError("expected ']' in the object path"));
        path.push_back(']');
      } else {
        break;
      }
    }
    if (!TakeIf(Tok::kEq)) return std::unexpected(SyntaxError("expected '=' after " + path));
    if (Peek().kind == Tok::kString) {
      comparisons_.push_back({std::move(path), Unescape(Take().text)});
      return {};
    }
    if (Peek().kind == Tok::kNumber || Peek().kind == Tok::kOtherLiteral) {
      return std::unexpected("comparison with a non-string literal (" + path + ")");
    }
    return std::unexpected(SyntaxError("expected a literal after '='"));
  }

  const std::vector<Token>& tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
  std::vector<StixComparison> comparisons_;
};

// ---------------------------------------------------------------------------
// TLP marking definitions.

// STIX marking-definition ids for TLP: core/types.h (StixTlpMarkings).

// ---------------------------------------------------------------------------
// JSON collection. Views point into the parser's string buffer and stay valid
// while the document lives.

struct StixObject {
  std::string_view type, id, pattern, pattern_type, name, description;
  std::string_view valid_from, valid_until, created, modified;
  std::optional<int64_t> confidence;
  bool revoked = false;
  std::vector<std::string_view> labels, indicator_types, marking_refs;
  std::string_view marking_tlp;  // marking-definition: definition.tlp / tlp_2_0 / name
};

using simdjson::ondemand::array;
using simdjson::ondemand::json_type;
using simdjson::ondemand::object;
using simdjson::ondemand::value;

simdjson::error_code StringArray(value v, std::vector<std::string_view>& out) {
  array items;
  if (auto error = v.get_array().get(items)) return error;
  for (auto item : items) {
    std::string_view text;
    if (item.get_string().get(text) == simdjson::SUCCESS) out.push_back(text);
  }
  return simdjson::SUCCESS;
}

// Finds a "tlp" / "tlp_2_0" string inside a marking's definition or extensions.
simdjson::error_code FindTlp(value v, std::string_view& tlp, int depth) {
  if (depth > 4) return simdjson::SUCCESS;
  object obj;
  if (v.get_object().get(obj)) return simdjson::SUCCESS;
  return ForEachMember(obj, [&](std::string_view key, value inner, json_type kind) {
    if ((key == "tlp" || key == "tlp_2_0") && kind == json_type::string) {
      return inner.get_string().get(tlp);
    }
    if (kind == json_type::object) return FindTlp(inner, tlp, depth + 1);
    return simdjson::SUCCESS;
  });
}

class StixCollector {
 public:
  std::vector<StixObject> objects;

  // Collects `obj`'s properties; nested "objects" arrays (bundles) are collected too.
  simdjson::error_code Collect(object obj, int depth) {
    StixObject current;
    auto error = ForEachMember(obj, [&](std::string_view key, value v, json_type kind) {
      if (kind == json_type::string) {
        std::string_view text;
        if (auto error = v.get_string().get(text)) return error;
        if (key == "type") current.type = text;
        else if (key == "id") current.id = text;
        else if (key == "pattern") current.pattern = text;
        else if (key == "pattern_type") current.pattern_type = text;
        else if (key == "name") current.name = text;
        else if (key == "description") current.description = text;
        else if (key == "valid_from") current.valid_from = text;
        else if (key == "valid_until") current.valid_until = text;
        else if (key == "created") current.created = text;
        else if (key == "modified") current.modified = text;
        else if (key == "definition_type" && current.marking_tlp.empty() && text.starts_with("TLP:")) current.marking_tlp = text;
      } else if (kind == json_type::number && key == "confidence") {
        int64_t confidence;
        if (v.get_int64().get(confidence) == simdjson::SUCCESS) current.confidence = confidence;
      } else if (kind == json_type::boolean && key == "revoked") {
        if (auto error = v.get_bool().get(current.revoked)) return error;
      } else if (kind == json_type::array) {
        if (key == "objects" && depth == 0) {
          return ForEachObjectElement(v, [&](object child) { return Collect(child, depth + 1); });
        } else if (key == "labels") {
          if (auto error = StringArray(v, current.labels)) return error;
        } else if (key == "indicator_types") {
          if (auto error = StringArray(v, current.indicator_types)) return error;
        } else if (key == "object_marking_refs") {
          if (auto error = StringArray(v, current.marking_refs)) return error;
        }
      } else if (kind == json_type::object && (key == "definition" || key == "extensions")) {
        std::string_view tlp;
        if (auto error = FindTlp(v, tlp, 0)) return error;
        if (!tlp.empty()) current.marking_tlp = tlp;
      }
      return simdjson::SUCCESS;
    });
    if (error) return error;
    if (!current.type.empty()) objects.push_back(std::move(current));
    return simdjson::SUCCESS;
  }
};

// ---------------------------------------------------------------------------

std::string ObjectWhere(std::string_view where, std::string_view id) {
  std::string out(where);
  out.push_back(':');
  out.append(id.empty() ? std::string_view("(no id)") : id);
  return out;
}

void LoadIndicator(const StixObject& ind, std::string_view where,
                   const std::map<std::string, Tlp, std::less<>>& bundle_markings, LoadContext& context) {
  std::string object_where = ObjectWhere(where, ind.id);
  if (ind.revoked) {
    context.NotLoaded("revoked", ind.pattern, object_where);
    return;
  }
  if (!ind.pattern_type.empty() && ind.pattern_type != "stix") {
    context.NotLoaded("pattern_type '" + std::string(ind.pattern_type) + "' is not supported", ind.pattern,
                      object_where);
    return;
  }
  if (ind.pattern.empty()) {
    context.Reject("indicator without pattern", {}, object_where);
    return;
  }
  auto comparisons = ParseStixPattern(ind.pattern);
  if (!comparisons) {
    context.NotLoaded(comparisons.error(), ind.pattern, object_where);
    return;
  }

  const LoadOptions& options = context.options();
  IndicatorMeta meta = options.defaults;
  meta.source = std::filesystem::path(where).filename().string();
  if (!ind.name.empty() || !ind.description.empty()) {
    meta.description.assign(ind.name);
    if (!ind.name.empty() && !ind.description.empty()) meta.description.append(": ");
    meta.description.append(ind.description);
  }
  if (ind.confidence) meta.confidence = static_cast<int>(std::clamp<int64_t>(*ind.confidence, 0, 100));
  for (std::string_view label : ind.labels) meta.tags.emplace_back(label);
  for (std::string_view label : ind.indicator_types) meta.tags.emplace_back(label);
  auto time_of = [](std::string_view text) -> int64_t {
    if (text.empty()) return 0;
    return ParseFlexibleTime(text).value_or(0);
  };
  meta.first_seen_ns = time_of(ind.valid_from.empty() ? ind.created : ind.valid_from);
  meta.last_seen_ns = time_of(ind.modified.empty() ? ind.created : ind.modified);
  meta.valid_until_ns = time_of(ind.valid_until);
  std::optional<Tlp> tlp;
  for (std::string_view ref : ind.marking_refs) {
    std::optional<Tlp> marking = TlpFromStixMarking(ref);
    if (!marking) {
      if (auto it = bundle_markings.find(ref); it != bundle_markings.end()) marking = it->second;
    }
    if (marking && (!tlp || *marking > *tlp)) tlp = marking;
  }
  if (tlp) meta.tlp = *tlp;

  detect::MetaId meta_id = context.Meta(meta);
  for (const StixComparison& comparison : *comparisons) {
    std::optional<IndicatorType> type = StixPathType(comparison.path);
    if (!type) {
      context.NotLoaded("unsupported object path '" + comparison.path + "'", comparison.value, object_where);
      continue;
    }
    context.Offer(comparison.value, type, meta_id, object_where);
  }
}

}  // namespace

std::expected<std::vector<StixComparison>, std::string> ParseStixPattern(std::string_view pattern) {
  auto tokens = Tokenize(pattern);
  if (!tokens) return std::unexpected("pattern syntax error: " + tokens.error());
  PatternParser parser(*tokens);
  return parser.Parse();
}

std::optional<IndicatorType> StixPathType(std::string_view path) {
  if (path == "domain-name:value") return IndicatorType::kDomain;
  if (path == "ipv4-addr:value" || path == "ipv6-addr:value") return IndicatorType::kCidr;
  if (path == "url:value") return IndicatorType::kUrl;
  if (path == "email-addr:value") return IndicatorType::kEmail;
  constexpr std::string_view kHashes = "file:hashes.";
  if (!path.starts_with(kHashes)) return std::nullopt;
  std::string_view algorithm = path.substr(kHashes.size());
  if (algorithm.size() >= 2 && algorithm.front() == '\'' && algorithm.back() == '\'') {
    algorithm = algorithm.substr(1, algorithm.size() - 2);
  }
  if (IEquals(algorithm, "MD5")) return IndicatorType::kMd5;
  if (IEquals(algorithm, "SHA-1") || IEquals(algorithm, "SHA1")) return IndicatorType::kSha1;
  if (IEquals(algorithm, "SHA-256") || IEquals(algorithm, "SHA256")) return IndicatorType::kSha256;
  return std::nullopt;
}

void LoadStixText(std::string_view json, std::string_view where, LoadContext& context) {
  simdjson::padded_string padded(json);
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  if (auto error = parser.iterate(padded).get(doc)) {
    context.FileError(where, std::string("invalid JSON: ") + simdjson::error_message(error));
    return;
  }
  StixCollector collector;
  simdjson::error_code error = simdjson::SUCCESS;
  json_type root_type;
  if ((error = doc.type().get(root_type)) == simdjson::SUCCESS) {
    if (root_type == json_type::object) {
      object root;
      error = doc.get_object().get(root);
      if (!error) error = collector.Collect(root, 0);
    } else if (root_type == json_type::array) {
      array items;
      error = doc.get_array().get(items);
      if (!error) {
        for (auto item : items) {
          object child;
          if ((error = item.get_object().get(child))) break;
          if ((error = collector.Collect(child, 1))) break;
        }
      }
    } else {
      context.FileError(where, "not a STIX bundle or object");
      return;
    }
  }
  if (error) context.FileError(where, std::string("invalid JSON: ") + simdjson::error_message(error));

  std::map<std::string, Tlp, std::less<>> bundle_markings;
  for (const StixObject& object : collector.objects) {
    if (object.type != "marking-definition" || object.id.empty() || object.marking_tlp.empty()) continue;
    if (auto tlp = ParseTlp(object.marking_tlp)) bundle_markings.emplace(object.id, *tlp);
  }
  bool any_stix = false;
  for (const StixObject& object : collector.objects) {
    any_stix = true;
    if (object.type == "indicator") LoadIndicator(object, where, bundle_markings, context);
  }
  if (!any_stix && !error) context.FileError(where, "no STIX objects found");
}

}  // namespace aegis::intel::internal
