// Vetting: turns one raw feed value into a normalised indicator or a rejection reason.
//
// Rejection reasons are short and stable so that LoadReport can count them
// ("private or special-purpose range", "malformed domain: label longer than 63").
// Auto-detection (no type given), in order:
//   "scheme://host" with no path    -> the host (domain or IP), port dropped
//   "scheme://host/path", "host/path" -> url
//   "/path"                        -> rejected: path-only trail (no host)
//   "a.b.c.d/nn", "v6/nn"          -> cidr (a /32 or /128 becomes ipv4 / ipv6)
//   "user@domain"                  -> email
//   "ip", "ip:port", "[v6]:port"   -> ipv4 / ipv6 (the port is dropped: indicators
//                                     match addresses, not services)
//   32/40/64 hex digits            -> md5 / sha1 / sha256
//   "name", "name:port"            -> domain (port dropped)
#include <cstring>
#include <string>

#include "core/event.h"
#include "core/observables.h"
#include "intel/intel.h"
#include "intel/loaders.h"

namespace aegis::intel {
namespace internal {
namespace {

constexpr std::string_view kEmpty = "empty value";
constexpr std::string_view kUnspecified = "unspecified address";
constexpr std::string_view kSpecial = "private or special-purpose range";
constexpr std::string_view kPathOnly = "path-only trail (no host)";
constexpr std::string_view kUnrecognised = "unrecognised value";
constexpr std::string_view kBadIp = "malformed ip address";
constexpr std::string_view kBadPort = "invalid port";
constexpr std::string_view kHashTypeMismatch = "hash length does not match type";

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string_view TrimView(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

bool ValidPort(std::string_view s) {
  if (s.empty() || s.size() > 5 || !AllDigits(s)) return false;
  unsigned value = 0;
  for (char c : s) value = value * 10 + static_cast<unsigned>(c - '0');
  return value >= 1 && value <= 65535;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (Lower(s[i]) != prefix[i]) return false;
  }
  return true;
}

std::string_view Fail(VetBuffers& buffers, std::string_view prefix, std::string_view detail) {
  buffers.reason.assign(prefix);
  buffers.reason.append(detail);
  return buffers.reason;
}

using VetResult = std::expected<IndicatorType, std::string_view>;

// An address or range that parsed: reject special ranges, format the value.
VetResult VetPrefix(const IpPrefix& prefix, bool allow_private, VetBuffers& buffers) {
  unsigned width = prefix.addr.v6 ? 128 : 32;
  if (prefix.length == width) {
    bool unspecified = true;
    for (unsigned i = 0; i < width / 8; ++i) unspecified = unspecified && prefix.addr.bytes[i] == 0;
    if (unspecified) return std::unexpected(kUnspecified);
  }
  if (auto reason = SpecialRangeReason(prefix)) {
    if (reason->starts_with("prefix shorter than")) return std::unexpected(Fail(buffers, *reason, ""));
    if (!allow_private) return std::unexpected(kSpecial);
  }
  if (prefix.length == width) {
    buffers.value = FormatIp(prefix.addr);
    return prefix.addr.v6 ? IndicatorType::kIpv6 : IndicatorType::kIpv4;
  }
  buffers.value = FormatPrefix(prefix);
  return IndicatorType::kCidr;
}

VetResult VetAddress(const IpAddress& ip, bool allow_private, VetBuffers& buffers) {
  return VetPrefix(IpPrefix{ip, static_cast<uint8_t>(ip.v6 ? 128 : 32)}, allow_private, buffers);
}

VetResult VetCidr(std::string_view text, bool allow_private, VetBuffers& buffers) {
  auto prefix = ParseCidr(text);
  if (!prefix) return std::unexpected(Fail(buffers, "malformed cidr: ", prefix.error()));
  return VetPrefix(*prefix, allow_private, buffers);
}

VetResult VetDomain(std::string_view text, VetBuffers& buffers) {
  // ".example.com" (maltrail's "this suffix") means the same as a domain indicator:
  // the name and all its subdomains.
  if (text.size() > 1 && text.front() == '.' && text[1] != '.') text.remove_prefix(1);
  auto ok = NormalizeDomainInto(text, buffers.value);
  if (!ok) return std::unexpected(Fail(buffers, "malformed domain: ", ok.error()));
  return IndicatorType::kDomain;
}

VetResult VetUrl(std::string_view text, VetBuffers& buffers) {
  if (text.front() == '/' && !text.starts_with("//")) return std::unexpected(kPathOnly);
  auto key = NormalizeUrl(text);
  if (!key) return std::unexpected(Fail(buffers, "malformed url: ", key.error()));
  buffers.value = std::move(*key);
  return IndicatorType::kUrl;
}

VetResult VetEmail(std::string_view text, VetBuffers& buffers) {
  auto email = NormalizeEmail(text);
  if (!email) return std::unexpected(Fail(buffers, "malformed email: ", email.error()));
  buffers.value = std::move(*email);
  return IndicatorType::kEmail;
}

VetResult VetHash(std::string_view text, std::optional<IndicatorType> want, VetBuffers& buffers) {
  auto hash = NormalizeHash(text);
  if (!hash) return std::unexpected(Fail(buffers, "malformed hash: ", hash.error()));
  IndicatorType type = hash->first == HashKind::kMd5    ? IndicatorType::kMd5
                       : hash->first == HashKind::kSha1 ? IndicatorType::kSha1
                                                        : IndicatorType::kSha256;
  if (want && *want != type) return std::unexpected(kHashTypeMismatch);
  buffers.value = std::move(hash->second);
  return type;
}

bool LooksLikeHash(std::string_view s) {
  if (s.size() != 32 && s.size() != 40 && s.size() != 64) return false;
  for (char c : s) {
    if (!IsHex(c)) return false;
  }
  return true;
}

// "host", "host:port", "[v6]", "[v6]:port", bare IPv6: an IP or a domain.
VetResult VetHost(std::string_view text, bool allow_private, VetBuffers& buffers) {
  if (auto ip = ParseIp(text)) return VetAddress(*ip, allow_private, buffers);
  size_t close = text.front() == '[' ? text.find(']') : std::string_view::npos;
  if (close != std::string_view::npos && text.substr(0, close).find(':') != std::string_view::npos) {
    auto ip = ParseIp(text.substr(0, close + 1));
    if (!ip) return std::unexpected(kBadIp);
    std::string_view after = text.substr(close + 1);
    if (!after.empty() && (after.front() != ':' || !ValidPort(after.substr(1)))) {
      return std::unexpected(kBadPort);
    }
    return VetAddress(*ip, allow_private, buffers);
  }
  size_t colon = text.find(':');
  if (colon != std::string_view::npos) {
    if (text.find(':', colon + 1) != std::string_view::npos) return std::unexpected(kUnrecognised);
    std::string_view port = text.substr(colon + 1);
    if (!ValidPort(port)) return std::unexpected(kBadPort);
    text = text.substr(0, colon);
    if (text.empty()) return std::unexpected(kUnrecognised);
    if (auto ip = ParseIp(text)) return VetAddress(*ip, allow_private, buffers);
  }
  bool digits_and_dots = true;
  for (char c : text) digits_and_dots = digits_and_dots && (IsDigit(c) || c == '.');
  if (digits_and_dots) return std::unexpected(kBadIp);
  return VetDomain(text, buffers);
}

// Scheme URLs without a path ("http://evil.com", "http://1.2.3.4:8080/") name a host:
// returns the authority in that case.
std::optional<std::string_view> HostOnlyUrl(std::string_view text) {
  size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(scheme_end + 3);
  size_t end = std::string_view::npos;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '/' || rest[i] == '?' || rest[i] == '#') {
      end = i;
      break;
    }
  }
  std::string_view authority = rest.substr(0, end);
  if (end != std::string_view::npos) {
    std::string_view tail = rest.substr(end);
    if (tail != "/" && tail.front() != '#') return std::nullopt;
  }
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  return authority;
}

// "a.b.c.d/nn" or "v6/nn" (nn all digits).
bool LooksLikeCidr(std::string_view text, size_t slash) {
  std::string_view length = text.substr(slash + 1);
  if (length.empty() || length.size() > 3 || !AllDigits(length)) return false;
  return ParseIp(text.substr(0, slash)).has_value();
}

VetResult VetAuto(std::string_view s, bool allow_private, VetBuffers& buffers) {
  size_t scheme = s.find("://");
  size_t slash = s.find('/');
  if (scheme != std::string_view::npos && scheme < slash) {
    if (auto host = HostOnlyUrl(s)) return VetHost(*host, allow_private, buffers);
    return VetUrl(s, buffers);
  }
  if (slash != std::string_view::npos) {
    if (slash == 0) return std::unexpected(kPathOnly);
    if (LooksLikeCidr(s, slash)) return VetCidr(s, allow_private, buffers);
    return VetUrl(s, buffers);
  }
  if (s.find('@') != std::string_view::npos) return VetEmail(s, buffers);
  if (LooksLikeHash(s)) return VetHash(s, std::nullopt, buffers);
  return VetHost(s, allow_private, buffers);
}

// Address-typed values may be a range or carry a port ("1.2.3.4:80", "[v6]:443").
VetResult VetAddressTyped(std::string_view s, bool allow_private, VetBuffers& buffers) {
  if (s.find('/') != std::string_view::npos) return VetCidr(s, allow_private, buffers);
  if (auto ip = ParseIp(s)) return VetAddress(*ip, allow_private, buffers);
  std::string_view host;
  std::string_view port;
  if (s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 == s.size() || s[close + 1] != ':') {
      return std::unexpected(kBadIp);
    }
    host = s.substr(0, close + 1);
    port = s.substr(close + 2);
  } else {
    size_t colon = s.find(':');
    if (colon == std::string_view::npos || s.find(':', colon + 1) != std::string_view::npos) {
      return std::unexpected(kBadIp);
    }
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  auto ip = ParseIp(host);
  if (!ip) return std::unexpected(kBadIp);
  if (!ValidPort(port)) return std::unexpected(kBadPort);
  return VetAddress(*ip, allow_private, buffers);
}

}  // namespace

std::string_view Defang(std::string_view raw, std::string& scratch) {
  bool bracketed = false;
  for (char c : raw) {
    if (c == '[' || c == '(' || c == '{') {
      bracketed = true;
      break;
    }
  }
  bool hxxp = raw.size() >= 4 && (raw[1] == 'x' || raw[1] == 'X') &&
              (StartsWithNoCase(raw, "hxxp") || StartsWithNoCase(raw, "fxp:"));
  if (!bracketed && !hxxp) return raw;
  scratch.clear();
  size_t i = 0;
  if (StartsWithNoCase(raw, "hxxp")) {
    scratch.append("http");
    i = 4;
  } else if (StartsWithNoCase(raw, "fxp:")) {
    scratch.append("ftp:");
    i = 4;
  }
  struct Replacement {
    std::string_view from;
    std::string_view to;
  };
  static constexpr Replacement kReplacements[] = {
      {"[.]", "."},   {"(.)", "."},   {"{.}", "."},   {"[dot]", "."}, {"(dot)", "."},
      {"{dot}", "."}, {"[:]", ":"},   {"[://]", "://"}, {"[/]", "/"}, {"[@]", "@"},
      {"[at]", "@"},  {"(at)", "@"},  {"{at}", "@"},
  };
  while (i < raw.size()) {
    char c = raw[i];
    if (c == '[' || c == '(' || c == '{') {
      bool replaced = false;
      for (const Replacement& r : kReplacements) {
        if (r.from.front() != c || raw.size() - i < r.from.size()) continue;
        if (StartsWithNoCase(raw.substr(i), r.from)) {
          scratch.append(r.to);
          i += r.from.size();
          replaced = true;
          break;
        }
      }
      if (replaced) continue;
    }
    scratch.push_back(c);
    ++i;
  }
  return scratch;
}

std::expected<IndicatorType, std::string_view> VetInto(std::string_view raw,
                                                       std::optional<IndicatorType> type,
                                                       bool allow_private, VetBuffers& buffers) {
  buffers.value.clear();
  std::string_view s = TrimView(raw);
  if (s.empty()) return std::unexpected(kEmpty);
  s = Defang(s, buffers.defanged);
  if (!type) return VetAuto(s, allow_private, buffers);
  switch (*type) {
    case IndicatorType::kIpv4:
    case IndicatorType::kIpv6:
    case IndicatorType::kCidr:
      return VetAddressTyped(s, allow_private, buffers);
    case IndicatorType::kDomain: {
      // A name feed sometimes lists an address: keep it as the address it is.
      if (auto ip = ParseIp(s)) return VetAddress(*ip, allow_private, buffers);
      return VetHost(s, allow_private, buffers);
    }
    case IndicatorType::kUrl:
      return VetUrl(s, buffers);
    case IndicatorType::kMd5:
    case IndicatorType::kSha1:
    case IndicatorType::kSha256:
      return VetHash(s, type, buffers);
    case IndicatorType::kEmail:
      return VetEmail(s, buffers);
  }
  return std::unexpected(kUnrecognised);
}

std::optional<int64_t> ParseFlexibleTime(std::string_view text) {
  // Unix nanoseconds in int64 cover the years 1678..2262; anything outside is refused
  // here so that the parsers below never overflow.
  constexpr int64_t kMaxSeconds = 9'200'000'000;
  text = TrimView(text);
  if (text.empty()) return std::nullopt;
  bool numeric = true;
  size_t dots = 0;
  for (char c : text) {
    if (c == '.') {
      ++dots;
    } else if (!IsDigit(c)) {
      numeric = false;
      break;
    }
  }
  if (!numeric || dots > 1) {
    if (text.size() < 4 || !AllDigits(text.substr(0, 4))) return std::nullopt;
    int year = (text[0] - '0') * 1000 + (text[1] - '0') * 100 + (text[2] - '0') * 10 + (text[3] - '0');
    if (year < 1700 || year > 2261) return std::nullopt;
    return ParseTime(text);
  }
  std::string_view whole = text.substr(0, text.find('.'));
  if (whole.empty() || whole.size() > 19) return std::nullopt;
  uint64_t value = 0;
  for (char c : whole) value = value * 10 + static_cast<uint64_t>(c - '0');
  // Seconds until the year 2262 have at most 10 digits; longer means finer units.
  if (whole.size() <= 10) {
    if (value > static_cast<uint64_t>(kMaxSeconds)) return std::nullopt;
    return ParseEpochSeconds(text);
  }
  if (whole.size() <= 13) {  // milliseconds
    if (value > static_cast<uint64_t>(kMaxSeconds) * 1'000) return std::nullopt;
    return static_cast<int64_t>(value) * 1'000'000;
  }
  if (whole.size() <= 16) {  // microseconds
    if (value > static_cast<uint64_t>(kMaxSeconds) * 1'000'000) return std::nullopt;
    return static_cast<int64_t>(value) * 1'000;
  }
  if (value > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;  // nanoseconds
  return static_cast<int64_t>(value);
}

}  // namespace internal

std::expected<Indicator, std::string> VetValue(std::string_view raw,
                                               std::optional<IndicatorType> type,
                                               bool allow_private) {
  internal::VetBuffers buffers;
  auto result = internal::VetInto(raw, type, allow_private, buffers);
  if (!result) return std::unexpected(std::string(result.error()));
  Indicator indicator;
  indicator.type = *result;
  indicator.value = std::move(buffers.value);
  return indicator;
}

}  // namespace aegis::intel
