// Sigma values: escape processing, glob patterns, PCRE2 regexes and the literals the
// prefilter looks for.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "detect/sigma_internal.h"

namespace aegis::detect::sigma::internal {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

std::string LowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

void AppendLiteral(SigmaString& s, std::string_view text) {
  if (text.empty()) return;
  if (!s.empty() && s.back().kind == PatternToken::kLiteral) {
    s.back().text += text;
  } else {
    s.push_back({PatternToken::kLiteral, std::string(text)});
  }
}

// Length of the UTF-8 sequence starting with byte `c` (1 for invalid bytes).
size_t Utf8Length(unsigned char c) {
  if (c < 0xC0) return 1;
  if (c < 0xE0) return 2;
  if (c < 0xF0) return 3;
  if (c < 0xF8) return 4;
  return 1;
}

bool EqualAt(std::string_view hay, size_t pos, std::string_view needle) {
  return hay.size() >= pos + needle.size() &&
         std::memcmp(hay.data() + pos, needle.data(), needle.size()) == 0;
}

// Glob match from token `t` at byte `pos`. `s` is already case-folded as needed.
bool GlobFrom(const std::vector<PatternToken>& tokens, size_t t, std::string_view s, size_t pos,
              int depth) {
  if (depth > 64) return false;  // pathological patterns: refuse rather than recurse on
  while (t < tokens.size()) {
    const PatternToken& tok = tokens[t];
    if (tok.kind == PatternToken::kLiteral) {
      if (!EqualAt(s, pos, tok.text)) return false;
      pos += tok.text.size();
      ++t;
    } else if (tok.kind == PatternToken::kOne) {
      if (pos >= s.size()) return false;
      pos += std::min(Utf8Length(static_cast<unsigned char>(s[pos])), s.size() - pos);
      ++t;
    } else {  // star: collapse runs, then try each position where the next literal fits
      while (t < tokens.size() && tokens[t].kind == PatternToken::kStar) ++t;
      if (t == tokens.size()) return true;
      if (tokens[t].kind == PatternToken::kLiteral) {
        const std::string& next = tokens[t].text;
        // Last token: it must sit at the end.
        if (t + 1 == tokens.size()) {
          return s.size() >= pos + next.size() &&
                 std::memcmp(s.data() + s.size() - next.size(), next.data(), next.size()) == 0;
        }
        for (size_t at = s.find(next, pos); at != std::string_view::npos;
             at = s.find(next, at + 1)) {
          if (GlobFrom(tokens, t, s, at, depth + 1)) return true;
        }
        return false;
      }
      for (size_t at = pos; at <= s.size(); ++at) {
        if (GlobFrom(tokens, t, s, at, depth + 1)) return true;
      }
      return false;
    }
  }
  return pos == s.size();
}

}  // namespace

SigmaString ParseSigmaString(std::string_view raw) {
  SigmaString out;
  std::string literal;
  bool escaped = false;
  for (char c : raw) {
    if (escaped) {
      if (c == '*' || c == '?' || c == '\\') {
        literal += c;
      } else {
        literal += '\\';
        literal += c;
      }
      escaped = false;
    } else if (c == '\\') {
      escaped = true;
    } else if (c == '*' || c == '?') {
      AppendLiteral(out, literal);
      literal.clear();
      out.push_back({c == '*' ? PatternToken::kStar : PatternToken::kOne, {}});
    } else {
      literal += c;
    }
  }
  if (escaped) literal += '\\';
  AppendLiteral(out, literal);
  return out;
}

SigmaString LiteralString(std::string_view text) {
  SigmaString out;
  AppendLiteral(out, text);
  return out;
}

bool IsPlain(const SigmaString& s, std::string* out) {
  std::string text;
  for (const auto& t : s) {
    if (t.kind != PatternToken::kLiteral) return false;
    text += t.text;
  }
  if (out) *out = std::move(text);
  return true;
}

std::string DisplayString(const SigmaString& s) {
  std::string out;
  for (const auto& t : s) {
    if (t.kind == PatternToken::kStar) {
      out += '*';
    } else if (t.kind == PatternToken::kOne) {
      out += '?';
    } else {
      for (char c : t.text) {
        if (c == '*' || c == '?') out += '\\';
        out += c;
      }
    }
  }
  return out;
}

Pattern CompilePattern(const SigmaString& s, bool cased) {
  Pattern p;
  p.cased = cased;
  std::vector<PatternToken> tokens;
  for (const auto& t : s) {
    if (t.kind == PatternToken::kStar && !tokens.empty() &&
        tokens.back().kind == PatternToken::kStar) {
      continue;
    }
    PatternToken copy = t;
    if (!cased) copy.text = LowerCopy(copy.text);
    tokens.push_back(std::move(copy));
  }
  const size_t n = tokens.size();
  auto is = [&](size_t i, PatternToken::Kind k) { return i < n && tokens[i].kind == k; };
  if (n == 0) {
    p.shape = Pattern::kExact;
  } else if (n == 1 && is(0, PatternToken::kStar)) {
    p.shape = Pattern::kAnything;
  } else if (n == 1 && is(0, PatternToken::kLiteral)) {
    p.shape = Pattern::kExact;
    p.literal = tokens[0].text;
  } else if (n == 2 && is(0, PatternToken::kLiteral) && is(1, PatternToken::kStar)) {
    p.shape = Pattern::kPrefix;
    p.literal = tokens[0].text;
  } else if (n == 2 && is(0, PatternToken::kStar) && is(1, PatternToken::kLiteral)) {
    p.shape = Pattern::kSuffix;
    p.literal = tokens[1].text;
  } else if (n == 3 && is(0, PatternToken::kStar) && is(1, PatternToken::kLiteral) &&
             is(2, PatternToken::kStar)) {
    p.shape = Pattern::kContains;
    p.literal = tokens[1].text;
  } else {
    p.shape = Pattern::kGlob;
    p.glob = std::move(tokens);
  }
  return p;
}

bool PatternMatches(const Pattern& p, std::string_view value, std::string_view lower) {
  const std::string_view s = p.cased ? value : lower;
  switch (p.shape) {
    case Pattern::kExact:
      return s == p.literal;
    case Pattern::kPrefix:
      return s.starts_with(p.literal);
    case Pattern::kSuffix:
      return s.ends_with(p.literal);
    case Pattern::kContains:
      return s.find(p.literal) != std::string_view::npos;
    case Pattern::kAnything:
      return true;
    case Pattern::kGlob:
      return GlobFrom(p.glob, 0, s, 0, 0);
  }
  return false;
}

std::string RequiredLiteral(const Pattern& p) {
  std::string best;
  if (p.shape == Pattern::kGlob) {
    for (const auto& t : p.glob) {
      if (t.kind == PatternToken::kLiteral && t.text.size() > best.size()) best = t.text;
    }
  } else if (p.shape != Pattern::kAnything) {
    best = p.literal;
  }
  return LowerCopy(best);
}

// ---- Regexes -------------------------------------------------------------------

struct Regex {
  pcre2_code* code = nullptr;
  ~Regex() { pcre2_code_free(code); }
};

void RegexDeleter(Regex* r) { delete r; }

Result<RegexPtr> CompileRegex(std::string_view pattern, bool caseless, bool multiline,
                              bool dotall) {
  uint32_t options = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
  if (caseless) options |= PCRE2_CASELESS;
  if (multiline) options |= PCRE2_MULTILINE;
  if (dotall) options |= PCRE2_DOTALL;
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   options, &error, &offset, nullptr);
  if (!code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    Error e;
    e.reason = "invalid regular expression at offset " + std::to_string(offset) + ": " +
               reinterpret_cast<const char*>(message);
    return std::unexpected(std::move(e));
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if absent
  auto regex = RegexPtr(new Regex, RegexDeleter);
  regex->code = code;
  return regex;
}

std::optional<bool> RegexMatches(const Regex& re, std::string_view value) {
  // One match-data block per thread, reused (freed when the thread ends); a match
  // context bounds backtracking.
  struct Scratch {
    pcre2_match_data* data = pcre2_match_data_create(32, nullptr);
    pcre2_match_context* context = pcre2_match_context_create(nullptr);
    Scratch() {
      if (context == nullptr) return;
      pcre2_set_match_limit(context, 1'000'000);
      pcre2_set_depth_limit(context, 10'000);
    }
    ~Scratch() {
      pcre2_match_data_free(data);
      pcre2_match_context_free(context);
    }
  };
  thread_local Scratch scratch;
  if (scratch.data == nullptr || scratch.context == nullptr) return std::nullopt;
  const int rc = pcre2_match(re.code, reinterpret_cast<PCRE2_SPTR>(value.data()), value.size(), 0,
                             0, scratch.data, scratch.context);
  if (rc >= 0) return true;
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  return std::nullopt;
}

// The index of the `]` closing the character class that opens at `open` (or the end).
static size_t ClassEnd(std::string_view pattern, size_t open) {
  size_t j = open + 1;
  if (j < pattern.size() && pattern[j] == '^') ++j;
  if (j < pattern.size() && pattern[j] == ']') ++j;
  while (j < pattern.size() && pattern[j] != ']') {
    if (pattern[j] == '\\') ++j;
    ++j;
  }
  return j;
}

std::string RegexRequiredLiteral(std::string_view pattern, bool caseless) {
  // Only a top-level sequence is analysed: any alternation, group or class outside
  // escapes makes the literal unknown. Runs of plain characters are literals; a
  // quantifier after a character removes that character from the run.
  int depth = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      ++i;
      continue;
    }
    if (pattern[i] == '[') {
      i = ClassEnd(pattern, i);
      continue;
    }
    if (pattern[i] == '(') ++depth;
    if (pattern[i] == ')') --depth;
    if (pattern[i] == '|' && depth == 0) return "";
  }
  std::string best, run;
  auto flush = [&] {
    if (run.size() > best.size()) best = run;
    run.clear();
  };
  depth = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    const bool quantified_next =
        i + 1 < pattern.size() &&
        (pattern[i + 1] == '*' || pattern[i + 1] == '?' || pattern[i + 1] == '{');
    if (c == '\\' && i + 1 < pattern.size()) {
      const char e = pattern[i + 1];
      // Escapes with an argument or a meaning (\x41, \cJ, \0, \p{..}, \k<..>, \Q..\E)
      // are not modelled: no literal is known then.
      if (std::isalnum(static_cast<unsigned char>(e)) && !std::strchr("dDwWsSbBhHvR", e)) {
        return "";
      }
      const bool quantified_escape =
          i + 2 < pattern.size() &&
          (pattern[i + 2] == '*' || pattern[i + 2] == '?' || pattern[i + 2] == '{');
      if (e != 0 && std::strchr(".\\/-*+?()[]{}|^$ :\"'=&%#@!,;<>~`", e) && depth == 0 &&
          !quantified_escape) {
        run += e;
      } else {
        flush();
      }
      ++i;
      continue;
    }
    if (c == '(') {
      flush();
      ++depth;
      continue;
    }
    if (c == ')') {
      --depth;
      flush();
      // a quantifier after a group: nothing inside was required anyway
      continue;
    }
    if (depth > 0) continue;
    if (c == '[') {
      flush();
      i = ClassEnd(pattern, i);
      continue;
    }
    if (std::strchr(".*+?{}^$|", c) || quantified_next) {
      // (x+ still requires one x: the run up to and including it stays.)
      flush();
      if (c == '{') {
        while (i < pattern.size() && pattern[i] != '}') ++i;
      }
      continue;
    }
    run += c;
  }
  flush();
  // Case folding beyond ASCII is not modelled; non-ASCII literals are unsafe when
  // the regex ignores case.
  if (caseless) {
    for (unsigned char ch : best) {
      if (ch >= 0x80) return "";
    }
  }
  return LowerCopy(best);
}

}  // namespace aegis::detect::sigma::internal
