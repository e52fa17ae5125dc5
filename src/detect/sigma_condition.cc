// The Sigma condition grammar: `or` < `and` < `not` < `1 of`/`all of` < parentheses.
//
//   expr    := and ("or" and)*
//   and     := unary ("and" unary)*
//   unary   := "not" unary | primary
//   primary := "(" expr ")" | ("1"|"any"|"all") "of" (pattern | "them") | identifier
//
// Patterns may hold `*`; like pySigma they match identifiers from the start. `them`
// and patterns skip identifiers starting with `_`.
#include <cctype>

#include "detect/sigma_internal.h"

namespace aegis::detect::sigma::internal {
namespace {

struct Token {
  enum Kind { kWord, kOpen, kClose, kEnd } kind;
  std::string text;
  size_t position;
};

bool WordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '*' ||
         c == '.';
}

Result<std::vector<Token>> Tokenize(std::string_view text) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '(') {
      out.push_back({Token::kOpen, "(", i++});
    } else if (c == ')') {
      out.push_back({Token::kClose, ")", i++});
    } else if (WordChar(c)) {
      const size_t start = i;
      while (i < text.size() && WordChar(text[i])) ++i;
      out.push_back({Token::kWord, std::string(text.substr(start, i - start)), start});
    } else {
      Error e;
      e.field = "condition";
      if (c == '|') {
        e.reason = "aggregation with '|' in a condition is not Sigma v2 (use a correlation rule)";
      } else {
        e.reason = std::string("unexpected character '") + c + "' at position " +
                   std::to_string(i) + " in condition";
      }
      return std::unexpected(std::move(e));
    }
  }
  out.push_back({Token::kEnd, "", text.size()});
  return out;
}

bool PatternMatch(std::string_view pattern, std::string_view name) {
  // `*` matches any run; anchored at the start only when the pattern has no
  // trailing star is irrelevant: pySigma uses re.match (start-anchored).
  if (pattern.empty()) return true;
  if (pattern[0] == '*') {
    std::string_view rest = pattern.substr(1);
    for (size_t i = 0; i <= name.size(); ++i) {
      if (PatternMatch(rest, name.substr(i))) return true;
    }
    return false;
  }
  if (name.empty() || pattern[0] != name[0]) return false;
  return PatternMatch(pattern.substr(1), name.substr(1));
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, const std::vector<Selection>& selections)
      : tokens_(std::move(tokens)), selections_(selections) {}

  Result<CondNode> Parse() {
    auto node = ParseOr();
    if (!node) return node;
    if (Peek().kind != Token::kEnd) return Fail("unexpected '" + Peek().text + "'");
    return node;
  }

 private:
  const Token& Peek() const { return tokens_[pos_]; }
  bool IsWord(std::string_view w) const { return Peek().kind == Token::kWord && Peek().text == w; }

  std::unexpected<Error> Fail(std::string reason) const {
    Error e;
    e.field = "condition";
    e.reason = std::move(reason) + " at position " + std::to_string(Peek().position);
    return std::unexpected(std::move(e));
  }

  Result<CondNode> ParseOr() {
    auto left = ParseAnd();
    if (!left) return left;
    if (!IsWord("or")) return left;
    CondNode node;
    node.kind = CondNode::kOr;
    node.children.push_back(std::move(*left));
    while (IsWord("or")) {
      ++pos_;
      auto right = ParseAnd();
      if (!right) return right;
      node.children.push_back(std::move(*right));
    }
    return node;
  }

  Result<CondNode> ParseAnd() {
    auto left = ParseUnary();
    if (!left) return left;
    if (!IsWord("and")) return left;
    CondNode node;
    node.kind = CondNode::kAnd;
    node.children.push_back(std::move(*left));
    while (IsWord("and")) {
      ++pos_;
      auto right = ParseUnary();
      if (!right) return right;
      node.children.push_back(std::move(*right));
    }
    return node;
  }

  Result<CondNode> ParseUnary() {
    if (IsWord("not")) {
      ++pos_;
      auto inner = ParseUnary();
      if (!inner) return inner;
      CondNode node;
      node.kind = CondNode::kNot;
      node.children.push_back(std::move(*inner));
      return node;
    }
    return ParsePrimary();
  }

  Result<CondNode> ParsePrimary() {
    const Token& tok = Peek();
    if (tok.kind == Token::kOpen) {
      ++pos_;
      auto inner = ParseOr();
      if (!inner) return inner;
      if (Peek().kind != Token::kClose) return Fail("missing ')'");
      ++pos_;
      return inner;
    }
    if (tok.kind != Token::kWord) {
      return Fail(tok.kind == Token::kEnd ? std::string("condition ends too early")
                                          : "unexpected '" + tok.text + "'");
    }
    if ((tok.text == "1" || tok.text == "any" || tok.text == "all") && pos_ + 1 < tokens_.size() &&
        tokens_[pos_ + 1].kind == Token::kWord && tokens_[pos_ + 1].text == "of") {
      const bool all = tok.text == "all";
      pos_ += 2;
      if (Peek().kind != Token::kWord) return Fail("'of' must be followed by a pattern or 'them'");
      const std::string pattern = Peek().text;
      ++pos_;
      CondNode node;
      node.kind = all ? CondNode::kAnd : CondNode::kOr;
      for (size_t i = 0; i < selections_.size(); ++i) {
        const std::string& name = selections_[i].name;
        if (name.starts_with('_')) continue;
        if (pattern == "them" || PatternMatch(pattern, name)) {
          CondNode ref;
          ref.kind = CondNode::kSelection;
          ref.selection = static_cast<int>(i);
          node.children.push_back(std::move(ref));
        }
      }
      if (node.children.empty()) {
        return Fail("'" + std::string(all ? "all" : "1") + " of " + pattern +
                    "' matches no search identifier");
      }
      if (node.children.size() == 1) return std::move(node.children[0]);
      return node;
    }
    if (tok.text == "and" || tok.text == "or" || tok.text == "of") {
      return Fail("unexpected '" + tok.text + "'");
    }
    for (size_t i = 0; i < selections_.size(); ++i) {
      if (selections_[i].name == tok.text) {
        ++pos_;
        CondNode node;
        node.kind = CondNode::kSelection;
        node.selection = static_cast<int>(i);
        return node;
      }
    }
    return Fail("search identifier '" + tok.text + "' is not defined");
  }

  std::vector<Token> tokens_;
  const std::vector<Selection>& selections_;
  size_t pos_ = 0;
};

}  // namespace

Result<CondNode> ParseCondition(std::string_view text, const std::vector<Selection>& selections) {
  auto tokens = Tokenize(text);
  if (!tokens) return std::unexpected(tokens.error());
  Parser parser(std::move(*tokens), selections);
  return parser.Parse();
}

}  // namespace aegis::detect::sigma::internal
