// Early Warning pure functions: bogon and reserved lists, registration normalisation,
// observables in STIX patterns, and Admiralty grading. See early_warning.h.
#include <algorithm>
#include <charconv>
#include <cstring>
#include <string>
#include <vector>

#include "core/observables.h"
#include "core/strings.h"
#include "share/early_warning.h"

namespace aegis::share {
namespace {

// Private, reserved and special-purpose space (IANA special-purpose registries and
// the RFCs named). Documented in docs/EARLY-WARNING.md; keep both in step.
constexpr BogonRange kBogons[] = {
    {"0.0.0.0/8", "\"this network\" (RFC 791)"},
    {"10.0.0.0/8", "private range (RFC 1918)"},
    {"100.64.0.0/10", "carrier-grade NAT shared space (RFC 6598)"},
    {"127.0.0.0/8", "loopback (RFC 1122)"},
    {"169.254.0.0/16", "link-local (RFC 3927)"},
    {"172.16.0.0/12", "private range (RFC 1918)"},
    {"192.0.0.0/24", "IETF protocol assignments (RFC 6890)"},
    {"192.0.2.0/24", "documentation TEST-NET-1 (RFC 5737)"},
    {"192.88.99.0/24", "deprecated 6to4 relay anycast (RFC 7526)"},
    {"192.168.0.0/16", "private range (RFC 1918)"},
    {"198.18.0.0/15", "benchmarking (RFC 2544)"},
    {"198.51.100.0/24", "documentation TEST-NET-2 (RFC 5737)"},
    {"203.0.113.0/24", "documentation TEST-NET-3 (RFC 5737)"},
    {"224.0.0.0/4", "multicast (RFC 5771)"},
    {"240.0.0.0/4", "reserved, including broadcast 255.255.255.255 (RFC 1112, 919)"},
    {"::/128", "unspecified address (RFC 4291)"},
    {"::1/128", "loopback (RFC 4291)"},
    {"::/96", "IPv4-compatible, deprecated (RFC 4291)"},
    {"64:ff9b:1::/48", "local-use NAT64 (RFC 8215)"},
    {"100::/64", "discard-only (RFC 6666)"},
    {"2001::/23", "IETF protocol assignments (RFC 2928)"},
    {"2001:db8::/32", "documentation (RFC 3849)"},
    {"3fff::/20", "documentation (RFC 9637)"},
    {"5f00::/16", "SRv6 SIDs (RFC 9602)"},
    {"fc00::/7", "unique local (RFC 4193)"},
    {"fe80::/10", "link-local (RFC 4291)"},
    {"fec0::/10", "site-local, deprecated (RFC 3879)"},
    {"ff00::/8", "multicast (RFC 4291)"},
};

constexpr ReservedAsnRange kReservedAsns[] = {
    {0, 0, "reserved AS 0 (RFC 7607)"},
    {23456, 23456, "AS_TRANS (RFC 6793)"},
    {64496, 64511, "documentation (RFC 5398)"},
    {64512, 65534, "private use (RFC 6996)"},
    {65535, 65535, "reserved (RFC 7300)"},
    {65536, 65551, "documentation (RFC 5398)"},
    {4200000000u, 4294967294u, "private use (RFC 6996)"},
    {4294967295u, 4294967295u, "reserved (RFC 7300)"},
};

// Special-use names: the name itself and everything below it.
struct ReservedName {
  std::string_view name;
  std::string_view reason;
};
constexpr ReservedName kReservedNames[] = {
    {"localhost", "special-use name localhost (RFC 6761)"},
    {"test", "special-use name .test (RFC 6761)"},
    {"invalid", "special-use name .invalid (RFC 6761)"},
    {"example", "special-use name .example (RFC 6761)"},
    {"example.com", "documentation name example.com (RFC 2606)"},
    {"example.net", "documentation name example.net (RFC 2606)"},
    {"example.org", "documentation name example.org (RFC 2606)"},
    {"local", "multicast DNS name .local (RFC 6762)"},
    {"home.arpa", "home network name home.arpa (RFC 8375)"},
    {"internal", "private-use name .internal (ICANN)"},
    {"localdomain", "local name .localdomain"},
};

struct ParsedBogon {
  IpPrefix prefix;
  std::string_view text;
  std::string_view reason;
};

const std::vector<ParsedBogon>& ParsedBogons() {
  static const std::vector<ParsedBogon> parsed = [] {
    std::vector<ParsedBogon> out;
    for (const BogonRange& range : kBogons) {
      auto prefix = ParseCidr(range.cidr);
      if (prefix) out.push_back({*prefix, range.cidr, range.reason});
    }
    return out;
  }();
  return parsed;
}

bool SameLeadingBits(const IpAddress& a, const IpAddress& b, unsigned bits) {
  unsigned full = bits / 8;
  if (std::memcmp(a.bytes.data(), b.bytes.data(), full) != 0) return false;
  unsigned rest = bits % 8;
  if (rest == 0) return true;
  auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.bytes[full] & mask) == (b.bytes[full] & mask);
}

bool IsDigitChar(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::string_view RegistrationKindName(RegistrationKind kind) {
  switch (kind) {
    case RegistrationKind::kIp: return "ip";
    case RegistrationKind::kDomain: return "domain";
    case RegistrationKind::kAsn: return "asn";
  }
  return "?";
}

std::optional<RegistrationKind> ParseRegistrationKind(std::string_view name) {
  if (IEquals(name, "ip") || IEquals(name, "cidr")) return RegistrationKind::kIp;
  if (IEquals(name, "domain")) return RegistrationKind::kDomain;
  if (IEquals(name, "asn")) return RegistrationKind::kAsn;
  return std::nullopt;
}

std::span<const BogonRange> BogonRanges() { return kBogons; }

std::optional<std::string> BogonReason(const IpPrefix& prefix) {
  const IpAddress& addr = prefix.addr;
  // NAT64 64:ff9b::/96: judged by the IPv4 address inside.
  static constexpr uint8_t kNat64[12] = {0x00, 0x64, 0xff, 0x9b};
  if (addr.v6 && prefix.length >= 96 && std::memcmp(addr.bytes.data(), kNat64, 12) == 0) {
    IpPrefix embedded{IpAddress{}, static_cast<uint8_t>(prefix.length - 96)};
    for (int i = 0; i < 4; ++i) embedded.addr.bytes[i] = addr.bytes[12 + i];
    return BogonReason(embedded);
  }
  // A listed range that holds the prefix names it best; then one it overlaps.
  for (bool containing : {true, false}) {
    for (const ParsedBogon& bogon : ParsedBogons()) {
      if (bogon.prefix.addr.v6 != addr.v6) continue;
      if (containing != (prefix.length >= bogon.prefix.length)) continue;
      unsigned common = std::min<unsigned>(prefix.length, bogon.prefix.length);
      if (!SameLeadingBits(addr, bogon.prefix.addr, common)) continue;
      std::string reason(bogon.text);
      reason.append(" ");
      reason.append(bogon.reason);
      if (!containing) reason.insert(0, "overlaps ");
      return reason;
    }
  }
  if (!addr.v6 && prefix.length < 8) return "broader than /8";
  if (addr.v6 && prefix.length < 16) return "broader than /16";
  if (addr.v6 && (addr.bytes[0] & 0xe0) != 0x20) return "outside global unicast 2000::/3";
  return std::nullopt;
}

std::span<const ReservedAsnRange> ReservedAsnRanges() { return kReservedAsns; }

std::optional<std::string> ReservedAsnReason(uint32_t asn) {
  for (const ReservedAsnRange& range : kReservedAsns) {
    if (asn >= range.first && asn <= range.last) return std::string(range.reason);
  }
  return std::nullopt;
}

std::optional<std::string> ReservedDomainReason(std::string_view name) {
  for (const ReservedName& reserved : kReservedNames) {
    if (name == reserved.name) return std::string(reserved.reason);
    if (name.size() > reserved.name.size() && name.ends_with(reserved.name) &&
        name[name.size() - reserved.name.size() - 1] == '.') {
      return std::string(reserved.reason);
    }
  }
  return std::nullopt;
}

std::expected<uint32_t, std::string> ParseAsn(std::string_view text) {
  text = Trim(text);
  if (text.size() > 2 && (text[0] == 'A' || text[0] == 'a') && (text[1] == 'S' || text[1] == 's')) {
    text.remove_prefix(2);
  }
  if (text.empty()) return std::unexpected("empty AS number");
  auto number = [](std::string_view digits, uint64_t max) -> std::optional<uint64_t> {
    if (digits.empty() || digits.size() > 10) return std::nullopt;
    uint64_t v = 0;
    for (char c : digits) {
      if (!IsDigitChar(c)) return std::nullopt;
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    if (v > max) return std::nullopt;
    return v;
  };
  if (size_t dot = text.find('.'); dot != std::string_view::npos) {  // asdot "1.10"
    auto high = number(text.substr(0, dot), 65535);
    auto low = number(text.substr(dot + 1), 65535);
    if (!high || !low) return std::unexpected("not an AS number: '" + std::string(text) + "'");
    return static_cast<uint32_t>(*high << 16 | *low);
  }
  auto value = number(text, 4294967295u);
  if (!value) return std::unexpected("not an AS number (0-4294967295): '" + std::string(text) + "'");
  return static_cast<uint32_t>(*value);
}

Result<std::string> NormalizeRegistration(RegistrationKind kind, std::string_view value) {
  value = Trim(value);
  switch (kind) {
    case RegistrationKind::kIp: {
      auto prefix = ParseCidr(value);
      if (!prefix) return Fail("'" + std::string(value) + "': " + prefix.error(), "ip");
      if (auto reason = BogonReason(*prefix)) {
        return Fail("'" + std::string(value) + "' is " + *reason +
                        ": private, reserved and bogon space never triggers Early Warning",
                    "ip");
      }
      return FormatPrefix(*prefix);
    }
    case RegistrationKind::kDomain: {
      std::string_view name = value;
      if (name.starts_with("*.")) name.remove_prefix(2);  // subdomains are always included
      auto normalised = NormalizeDomain(name);
      if (!normalised) return Fail("'" + std::string(value) + "': " + normalised.error(), "domain");
      if (auto reason = ReservedDomainReason(*normalised)) {
        return Fail("'" + std::string(value) + "' is a " + *reason +
                        ": reserved names never trigger Early Warning",
                    "domain");
      }
      return *normalised;
    }
    case RegistrationKind::kAsn: {
      auto asn = ParseAsn(value);
      if (!asn) return Fail(asn.error(), "asn");
      if (auto reason = ReservedAsnReason(*asn)) {
        return Fail("AS" + std::to_string(*asn) + " is " + *reason +
                        ": private and reserved AS numbers never trigger Early Warning",
                    "asn");
      }
      return std::to_string(*asn);
    }
  }
  return Fail("unknown registration kind", "kind");
}

// ---------------------------------------------------------------------------
// Patterns.

namespace {

enum class Tok : unsigned char { kPath, kWord, kString, kNumber, kEq, kOtherOp, kLParen, kRParen, kComma, kOther };

struct Token {
  Tok kind;
  std::string text;
};

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsPathChar(char c) {
  return IsIdentStart(c) || IsDigitChar(c) || c == '-' || c == ':' || c == '.';
}

// Reads a quoted literal starting at text[i] == '\''; returns the unescaped value and
// moves `i` past the closing quote (to the end when unterminated).
std::string ReadQuoted(std::string_view text, size_t& i) {
  std::string out;
  ++i;
  while (i < text.size()) {
    char c = text[i++];
    if (c == '\\' && i < text.size()) {
      out.push_back(text[i++]);
    } else if (c == '\'') {
      return out;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::vector<Token> Lex(std::string_view text) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
    } else if (c == '\'') {
      tokens.push_back({Tok::kString, ReadQuoted(text, i)});
    } else if ((c == 'b' || c == 'h' || c == 't') && i + 1 < text.size() && text[i + 1] == '\'') {
      ++i;  // binary, hex or timestamp literal: never an address or name
      ReadQuoted(text, i);
      tokens.push_back({Tok::kOther, {}});
    } else if (IsIdentStart(c)) {
      std::string word;
      while (i < text.size()) {
        char d = text[i];
        if (IsPathChar(d)) {
          word.push_back(d);
          ++i;
        } else if (d == '[' && i + 1 < text.size() && (text[i + 1] == '*' || IsDigitChar(text[i + 1]))) {
          size_t close = text.find(']', i);
          if (close == std::string_view::npos) break;
          word.append(text.substr(i, close + 1 - i));
          i = close + 1;
        } else if (d == '\'' && !word.empty() && word.back() == '.') {
          word.push_back('\'');
          word.append(ReadQuoted(text, i));
          word.push_back('\'');
        } else {
          break;
        }
      }
      tokens.push_back({word.find(':') != std::string::npos ? Tok::kPath : Tok::kWord, std::move(word)});
    } else if (IsDigitChar(c) || ((c == '-' || c == '+') && i + 1 < text.size() && IsDigitChar(text[i + 1]))) {
      std::string number(1, c);
      ++i;
      while (i < text.size() && (IsDigitChar(text[i]) || text[i] == '.')) number.push_back(text[i++]);
      tokens.push_back({Tok::kNumber, std::move(number)});
    } else if (c == '=') {
      ++i;
      tokens.push_back({Tok::kEq, "="});
    } else if (c == '!' || c == '<' || c == '>') {
      ++i;
      if (i < text.size() && text[i] == '=') ++i;
      tokens.push_back({Tok::kOtherOp, {}});
    } else if (c == '(') {
      ++i;
      tokens.push_back({Tok::kLParen, {}});
    } else if (c == ')') {
      ++i;
      tokens.push_back({Tok::kRParen, {}});
    } else if (c == ',') {
      ++i;
      tokens.push_back({Tok::kComma, {}});
    } else {
      ++i;
      tokens.push_back({Tok::kOther, {}});
    }
  }
  return tokens;
}

enum class ValueKind : unsigned char { kIp, kDomain, kUrl, kEmail, kAsn, kGuess, kNone };

ValueKind PathValueKind(std::string_view path) {
  if (path == "ipv4-addr:value" || path == "ipv6-addr:value") return ValueKind::kIp;
  if (path == "domain-name:value") return ValueKind::kDomain;
  if (path == "url:value") return ValueKind::kUrl;
  if (path == "email-addr:value") return ValueKind::kEmail;
  if (path == "autonomous-system:number") return ValueKind::kAsn;
  // References to other objects: network-traffic:dst_ref.value,
  // email-message:from_ref.value, domain-name:resolves_to_refs[*].value,
  // ipv4-addr:belongs_to_refs[*].number.
  bool via_ref = path.find("_ref.") != std::string_view::npos ||
                 path.find("_refs[") != std::string_view::npos;
  if (!via_ref) return ValueKind::kNone;
  if (path.ends_with(".value")) return ValueKind::kGuess;
  if (path.ends_with(".number")) return ValueKind::kAsn;
  return ValueKind::kNone;
}

void AddIp(std::string_view text, std::string_view context, std::vector<Observable>& out) {
  auto prefix = ParseCidr(Trim(text));
  if (!prefix) return;
  unsigned width = prefix->addr.v6 ? 128 : 32;
  std::string value = prefix->length == width ? FormatIp(prefix->addr) : FormatPrefix(*prefix);
  out.push_back({ObservableKind::kIp, std::move(value), std::string(context)});
}

void AddDomain(std::string_view text, std::string_view context, std::vector<Observable>& out) {
  auto name = NormalizeDomain(Trim(text));
  if (!name) return;
  out.push_back({ObservableKind::kDomain, std::move(*name), std::string(context)});
}

void AddHost(std::string_view host, std::string_view context, std::vector<Observable>& out) {
  if (host.starts_with('[')) {  // [v6]:port
    size_t close = host.find(']');
    if (close != std::string_view::npos) AddIp(host.substr(1, close - 1), context, out);
    return;
  }
  if (std::count(host.begin(), host.end(), ':') == 1) host = host.substr(0, host.find(':'));
  if (ParseIp(host)) {
    AddIp(host, context, out);
  } else {
    AddDomain(host, context, out);
  }
}

void AddUrl(std::string_view url, std::string_view context, std::vector<Observable>& out) {
  url = Trim(url);
  if (size_t scheme = url.find("://"); scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
  size_t end = url.find_first_of("/?#");
  std::string_view authority = url.substr(0, end);
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  AddHost(authority, context, out);
}

void AddEmail(std::string_view address, std::string_view context, std::vector<Observable>& out) {
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) return;
  AddDomain(address.substr(at + 1), context, out);
}

void AddAsn(std::string_view text, std::string_view context, std::vector<Observable>& out) {
  auto asn = ParseAsn(text);
  if (!asn) return;
  out.push_back({ObservableKind::kAsn, std::to_string(*asn), std::string(context)});
}

void AddValue(ValueKind kind, std::string_view value, std::string_view context,
              std::vector<Observable>& out) {
  switch (kind) {
    case ValueKind::kIp: AddIp(value, context, out); break;
    case ValueKind::kDomain: AddDomain(value, context, out); break;
    case ValueKind::kUrl: AddUrl(value, context, out); break;
    case ValueKind::kEmail: AddEmail(value, context, out); break;
    case ValueKind::kAsn: AddAsn(value, context, out); break;
    case ValueKind::kGuess:
      if (value.find('@') != std::string_view::npos) {
        AddEmail(value, context, out);
      } else if (ParseCidr(Trim(value))) {
        AddIp(value, context, out);
      } else {
        AddDomain(value, context, out);
      }
      break;
    case ValueKind::kNone: break;
  }
}

}  // namespace

std::vector<Observable> ObservablesInPattern(std::string_view pattern) {
  std::vector<Observable> out;
  std::vector<Token> tokens = Lex(pattern);
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i].kind != Tok::kPath) continue;
    const std::string& path = tokens[i].text;
    ValueKind kind = PathValueKind(path);
    if (kind == ValueKind::kNone) continue;
    size_t j = i + 1;
    if (j < tokens.size() && tokens[j].kind == Tok::kWord && IEquals(tokens[j].text, "NOT")) continue;
    if (j >= tokens.size()) break;
    const std::string context = "pattern " + path;
    auto literal = [&](const Token& token) {
      if (token.kind == Tok::kString || token.kind == Tok::kNumber) AddValue(kind, token.text, context, out);
    };
    if (tokens[j].kind == Tok::kEq ||
        (tokens[j].kind == Tok::kWord &&
         (IEquals(tokens[j].text, "ISSUBSET") || IEquals(tokens[j].text, "ISSUPERSET")))) {
      if (j + 1 < tokens.size()) literal(tokens[j + 1]);
    } else if (tokens[j].kind == Tok::kWord && IEquals(tokens[j].text, "IN") && j + 1 < tokens.size() &&
               tokens[j + 1].kind == Tok::kLParen) {
      for (size_t k = j + 2; k < tokens.size() && tokens[k].kind != Tok::kRParen; ++k) literal(tokens[k]);
    }
  }
  // One observable per (kind, value): a pattern may repeat an address.
  std::vector<Observable> unique;
  for (Observable& o : out) {
    bool seen = std::any_of(unique.begin(), unique.end(), [&](const Observable& u) {
      return u.kind == o.kind && u.value == o.value;
    });
    if (!seen) unique.push_back(std::move(o));
  }
  return unique;
}

// Exposed to early_warning.cc for SCO values and feed URLs.
namespace internal {
void AddObservable(std::string_view kind, std::string_view value, std::string_view context,
                   std::vector<Observable>& out) {
  if (kind == "ip") {
    AddValue(ValueKind::kIp, value, context, out);
  } else if (kind == "domain") {
    AddValue(ValueKind::kDomain, value, context, out);
  } else if (kind == "url") {
    AddValue(ValueKind::kUrl, value, context, out);
  } else if (kind == "email") {
    AddValue(ValueKind::kEmail, value, context, out);
  } else if (kind == "asn") {
    AddValue(ValueKind::kAsn, value, context, out);
  }
}
}  // namespace internal

// ---------------------------------------------------------------------------
// Grading.

std::string Grade::Code() const { return std::string(1, reliability) + std::to_string(credibility); }

int CredibilityFromConfidence(std::optional<int> confidence) {
  if (!confidence) return 6;
  int c = std::clamp(*confidence, 0, 100);
  if (c >= 80) return 1;
  if (c >= 60) return 2;
  if (c >= 40) return 3;
  if (c >= 20) return 4;
  return 5;
}

int CorroboratedCredibility(int credibility, size_t organisations) {
  if (organisations >= 3) return std::min(credibility, 1);
  if (organisations == 2) return std::min(credibility, 2);
  return credibility;
}

std::string_view ReliabilityMeaning(char reliability) {
  switch (reliability) {
    case 'A': return "completely reliable";
    case 'B': return "usually reliable";
    case 'C': return "fairly reliable";
    case 'D': return "not usually reliable";
    case 'E': return "unreliable";
    default: return "reliability cannot be judged";
  }
}

std::string_view CredibilityMeaning(int credibility) {
  switch (credibility) {
    case 1: return "confirmed by other sources";
    case 2: return "probably true";
    case 3: return "possibly true";
    case 4: return "doubtful";
    case 5: return "improbable";
    default: return "truth cannot be judged";
  }
}

}  // namespace aegis::share
