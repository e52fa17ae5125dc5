// Parsing and normalisation of observables (IP addresses, CIDR ranges, domain names,
// URLs, hashes, email addresses); see core/observables.h for the rules.
//
// ParseIp and NormalizeDomainForMatch run for every event field, so the IPv4 and
// pure-ASCII paths are hand-written and do not allocate.
#include "core/observables.h"

#include <arpa/inet.h>
#include <idn2.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace aegis {
namespace {

constexpr size_t kMaxLabelLength = 63;
constexpr size_t kMaxNameLength = 253;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
bool IsHexDigit(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Strict dotted quad: four decimal parts 0..255, no leading zeros, nothing else.
std::optional<uint32_t> ParseDottedQuad(std::string_view s) {
  if (s.size() < 7 || s.size() > 15) return std::nullopt;
  uint32_t result = 0;
  size_t i = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (i >= s.size() || s[i] != '.') return std::nullopt;
      ++i;
    }
    size_t start = i;
    uint32_t value = 0;
    while (i < s.size() && IsDigit(s[i]) && i - start < 3) {
      value = value * 10 + static_cast<uint32_t>(s[i] - '0');
      ++i;
    }
    size_t digits = i - start;
    if (digits == 0 || value > 255) return std::nullopt;
    if (digits > 1 && s[start] == '0') return std::nullopt;  // "01" is octal to some parsers
    result = (result << 8) | value;
  }
  if (i != s.size()) return std::nullopt;
  return result;
}

bool IsV4Mapped(const std::array<uint8_t, 16>& b) {
  for (int i = 0; i < 10; ++i) {
    if (b[i] != 0) return false;
  }
  return b[10] == 0xff && b[11] == 0xff;
}

std::optional<IpAddress> ParseV6(std::string_view s) {
  // Longest textual IPv6 is 45 characters ("ffff:...:255.255.255.255").
  if (s.size() < 2 || s.size() > 45) return std::nullopt;
  char buf[48];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  IpAddress ip;
  ip.v6 = true;
  if (inet_pton(AF_INET6, buf, ip.bytes.data()) != 1) return std::nullopt;
  if (IsV4Mapped(ip.bytes)) {
    IpAddress v4;
    v4.bytes[0] = ip.bytes[12];
    v4.bytes[1] = ip.bytes[13];
    v4.bytes[2] = ip.bytes[14];
    v4.bytes[3] = ip.bytes[15];
    return v4;
  }
  return ip;
}

// True when the first `length` bits of a and b agree.
bool SamePrefix(const uint8_t* a, const uint8_t* b, unsigned length) {
  unsigned full = length / 8;
  if (std::memcmp(a, b, full) != 0) return false;
  unsigned rest = length % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

bool HostBitsZero(const IpAddress& ip, unsigned length) {
  unsigned width = ip.v6 ? 128 : 32;
  for (unsigned bit = length; bit < width; ++bit) {
    if (ip.bytes[bit / 8] & (0x80 >> (bit % 8))) return false;
  }
  return true;
}

struct SpecialRange {
  std::array<uint8_t, 16> bytes;
  uint8_t length;
  const char* reason;
};

// IANA IPv4 Special-Purpose Address Registry (RFC 6890 and updates). The globally
// reachable entries (AS112, AMT, ...) are left out on purpose. Most specific first.
const SpecialRange kSpecialV4[] = {
    {{0, 0, 0, 0}, 32, "unspecified address 0.0.0.0"},
    {{255, 255, 255, 255}, 32, "limited broadcast 255.255.255.255"},
    {{0}, 8, "\"this network\" 0.0.0.0/8 (RFC 791)"},
    {{10}, 8, "private range 10.0.0.0/8 (RFC 1918)"},
    {{100, 64}, 10, "shared address space 100.64.0.0/10 (RFC 6598)"},
    {{127}, 8, "loopback 127.0.0.0/8"},
    {{169, 254}, 16, "link-local 169.254.0.0/16"},
    {{172, 16}, 12, "private range 172.16.0.0/12 (RFC 1918)"},
    {{192, 0, 0}, 24, "IETF protocol assignments 192.0.0.0/24"},
    {{192, 0, 2}, 24, "documentation 192.0.2.0/24 (TEST-NET-1)"},
    {{192, 88, 99}, 24, "deprecated 6to4 relay anycast 192.88.99.0/24"},
    {{192, 168}, 16, "private range 192.168.0.0/16 (RFC 1918)"},
    {{198, 18}, 15, "benchmarking 198.18.0.0/15"},
    {{198, 51, 100}, 24, "documentation 198.51.100.0/24 (TEST-NET-2)"},
    {{203, 0, 113}, 24, "documentation 203.0.113.0/24 (TEST-NET-3)"},
    {{224}, 4, "multicast 224.0.0.0/4"},
    {{240}, 4, "reserved 240.0.0.0/4"},
};

// IANA IPv6 Special-Purpose Address Registry plus space outside global unicast.
// 2001::/23 is refused as a whole (its few globally reachable parts are not worth
// the special cases); 64:ff9b::/96 (NAT64) is public: it embeds public IPv4 addresses.
const SpecialRange kSpecialV6[] = {
    {{0}, 128, "unspecified address ::"},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, "loopback ::1"},
    {{0}, 96, "IPv4-compatible ::/96 (deprecated)"},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, "IPv4-mapped ::ffff:0:0/96"},
    {{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48, "local-use NAT64 64:ff9b:1::/48"},
    {{0x01, 0x00}, 64, "discard-only 100::/64"},
    {{0x20, 0x01, 0x0d, 0xb8}, 32, "documentation 2001:db8::/32"},
    {{0x20, 0x01, 0x00, 0x00}, 23, "IETF protocol assignments 2001::/23"},
    {{0x3f, 0xff, 0x00}, 20, "documentation 3fff::/20"},
    {{0x5f, 0x00}, 16, "SRv6 SIDs 5f00::/16"},
    {{0xfc}, 7, "unique local fc00::/7"},
    {{0xfe, 0x80}, 10, "link-local fe80::/10"},
    {{0xfe, 0xc0}, 10, "site-local fec0::/10 (deprecated)"},
    {{0xff}, 8, "multicast ff00::/8"},
};

std::string DescribeChar(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  if (u < 0x20 || u >= 0x7f) {
    static const char kHex[] = "0123456789abcdef";
    return std::string("\\x") + kHex[u >> 4] + kHex[u & 15];
  }
  return std::string(1, c);
}

// Validates an ASCII, already lower-cased name without a trailing dot.
std::optional<std::string> ValidateAsciiName(std::string_view name) {
  if (name.empty()) return "empty";
  if (name.size() > kMaxNameLength) return "name longer than 253";
  size_t label_start = 0;
  size_t labels = 0;
  for (size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      size_t label_length = i - label_start;
      if (label_length == 0) return "empty label";
      if (label_length > kMaxLabelLength) return "label longer than 63";
      ++labels;
      label_start = i + 1;
      continue;
    }
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || IsDigit(c) || c == '-' || c == '_';
    if (!ok) return "invalid character '" + DescribeChar(c) + "'";
  }
  if (labels < 2) return "single-label name";
  std::string_view tld = name.substr(name.rfind('.') + 1);
  bool numeric = true;
  for (char c : tld) numeric = numeric && IsDigit(c);
  if (numeric) return "numeric top-level label";
  return std::nullopt;
}

bool HasNonAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return false;
}

std::expected<std::string, std::string> ToPunycode(std::string_view name) {
  std::string input(name);
  uint8_t* output = nullptr;
  int rc = idn2_lookup_u8(reinterpret_cast<const uint8_t*>(input.c_str()), &output,
                          IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
  if (rc != IDN2_OK) {
    idn2_free(output);
    output = nullptr;
    int fallback = idn2_lookup_u8(reinterpret_cast<const uint8_t*>(input.c_str()), &output,
                                  IDN2_NFC_INPUT | IDN2_TRANSITIONAL);
    if (fallback != IDN2_OK) {
      idn2_free(output);
      return std::unexpected(std::string("IDN: ") + idn2_strerror(rc));
    }
  }
  std::string result(reinterpret_cast<const char*>(output));
  idn2_free(output);
  return result;
}

bool HasControlOrSpace(std::string_view s) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return true;
  }
  return false;
}

// Formats a host for a URL key: IPv6 in brackets, IPv4 dotted, names normalised.
std::expected<std::string, std::string> NormalizeUrlHost(std::string_view host) {
  if (host.empty()) return std::unexpected("no host");
  if (host.front() == '[') {
    if (host.back() != ']') return std::unexpected("malformed host: unbalanced '['");
    auto ip = ParseIp(host);
    if (!ip) return std::unexpected("malformed host: bad IPv6 literal");
    if (!ip->v6) return FormatIp(*ip);
    std::string bracketed = "[";
    bracketed.append(FormatIp(*ip));
    bracketed.push_back(']');
    return bracketed;
  }
  if (auto v4 = ParseDottedQuad(host)) return FormatIp(IpAddress::FromV4(*v4));
  auto name = NormalizeDomain(host);
  if (!name) return std::unexpected("malformed host: " + name.error());
  return std::move(*name);
}

// RFC 3986 section 5.2.4 on an absolute path: drops "." segments and resolves "..".
std::string RemoveDotSegments(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t pos = 1;  // path starts with '/'
  bool trailing_slash = false;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    std::string_view segment = path.substr(pos, next == std::string_view::npos ? next : next - pos);
    bool last = next == std::string_view::npos;
    if (segment == ".") {
      trailing_slash = last;
    } else if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
      trailing_slash = last;
    } else {
      segments.push_back(segment);
      trailing_slash = false;
    }
    if (last) break;
    pos = next + 1;
  }
  std::string out;
  for (std::string_view segment : segments) {
    out.push_back('/');
    out.append(segment);
  }
  if (trailing_slash || out.empty()) out.push_back('/');
  return out;
}

}  // namespace

IpAddress IpAddress::FromV4(uint32_t host_order) {
  IpAddress ip;
  ip.bytes[0] = static_cast<uint8_t>(host_order >> 24);
  ip.bytes[1] = static_cast<uint8_t>(host_order >> 16);
  ip.bytes[2] = static_cast<uint8_t>(host_order >> 8);
  ip.bytes[3] = static_cast<uint8_t>(host_order);
  return ip;
}

std::optional<IpAddress> ParseIp(std::string_view text) {
  if (text.empty()) return std::nullopt;
  // Fast path: most event fields are plain IPv4.
  if (text.size() <= 15 && IsDigit(text[0])) {
    if (auto v4 = ParseDottedQuad(text)) return IpAddress::FromV4(*v4);
    if (text.find(':') == std::string_view::npos) return std::nullopt;
  }
  bool bracketed = text.front() == '[';
  if (bracketed) {
    if (text.size() < 3 || text.back() != ']') return std::nullopt;
    text = text.substr(1, text.size() - 2);
  }
  // Brackets hold IPv6 only, and every IPv6 literal has at least two colons.
  size_t first_colon = text.find(':');
  if (first_colon == std::string_view::npos || text.find(':', first_colon + 1) == std::string_view::npos) {
    return std::nullopt;
  }
  if (size_t zone = text.find('%'); zone != std::string_view::npos) {
    if (zone + 1 == text.size()) return std::nullopt;  // empty zone id
    text = text.substr(0, zone);
  }
  return ParseV6(text);
}

std::expected<IpPrefix, std::string> ParseCidr(std::string_view text) {
  size_t slash = text.find('/');
  std::string_view addr_text = text.substr(0, slash);
  auto ip = ParseIp(addr_text);
  if (!ip) return std::unexpected("not an IP address");
  // IPv4-mapped IPv6 comes back as IPv4; its prefix length counts from bit 96.
  bool written_as_v6 = !ip->v6 && addr_text.find(':') != std::string_view::npos;
  unsigned width = ip->v6 ? 128 : 32;
  unsigned length = width;
  if (slash != std::string_view::npos) {
    std::string_view len_text = text.substr(slash + 1);
    if (len_text.empty() || len_text.size() > 3) return std::unexpected("invalid prefix length");
    if (len_text.size() > 1 && len_text[0] == '0') return std::unexpected("invalid prefix length");
    length = 0;
    for (char c : len_text) {
      if (!IsDigit(c)) return std::unexpected("invalid prefix length");
      length = length * 10 + static_cast<unsigned>(c - '0');
    }
    if (written_as_v6) {
      if (length > 128) return std::unexpected("prefix length exceeds 128");
      if (length < 96) return std::unexpected("host bits set below the prefix");  // ffff at 80..95
      length -= 96;
    }
    if (length > width) {
      return std::unexpected(width == 32 ? "prefix length exceeds 32" : "prefix length exceeds 128");
    }
  }
  if (!HostBitsZero(*ip, length)) return std::unexpected("host bits set below the prefix");
  return IpPrefix{*ip, static_cast<uint8_t>(length)};
}

std::string FormatIp(const IpAddress& ip) {
  char buf[48];
  char* p = buf;
  if (!ip.v6) {
    for (int i = 0; i < 4; ++i) {
      if (i > 0) *p++ = '.';
      unsigned v = ip.bytes[i];
      if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
      if (v >= 10) *p++ = static_cast<char>('0' + (v / 10) % 10);
      *p++ = static_cast<char>('0' + v % 10);
    }
    return std::string(buf, p);
  }
  // RFC 5952: lower-case hex, no leading zeros, the longest run (>= 2) of zero
  // groups shortened to "::" (the first one on a tie).
  uint16_t groups[8];
  for (int i = 0; i < 8; ++i) groups[i] = static_cast<uint16_t>((ip.bytes[2 * i] << 8) | ip.bytes[2 * i + 1]);
  int best_start = -1;
  int best_length = 0;
  for (int i = 0; i < 8;) {
    if (groups[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && groups[j] == 0) ++j;
    if (j - i > best_length && j - i >= 2) {
      best_start = i;
      best_length = j - i;
    }
    i = j;
  }
  static const char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 8; ++i) {
    if (i == best_start) {
      *p++ = ':';
      *p++ = ':';
      i += best_length - 1;
      continue;
    }
    if (i > 0 && i != best_start + best_length) *p++ = ':';
    uint16_t g = groups[i];
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      unsigned nibble = (g >> shift) & 15;
      if (nibble != 0 || started || shift == 0) {
        *p++ = kHex[nibble];
        started = true;
      }
    }
  }
  return std::string(buf, p);
}

std::string FormatPrefix(const IpPrefix& prefix) {
  return FormatIp(prefix.addr) + "/" + std::to_string(prefix.length);
}

std::optional<std::string> SpecialRangeReason(const IpPrefix& prefix) {
  const IpAddress& addr = prefix.addr;
  // IPv4-mapped and NAT64 (64:ff9b::/96) addresses are judged by the IPv4 inside.
  static constexpr uint8_t kNat64[12] = {0x00, 0x64, 0xff, 0x9b};
  if (addr.v6 && prefix.length >= 96 &&
      (IsV4Mapped(addr.bytes) || std::memcmp(addr.bytes.data(), kNat64, 12) == 0)) {
    IpPrefix embedded{IpAddress{}, static_cast<uint8_t>(prefix.length - 96)};
    for (int i = 0; i < 4; ++i) embedded.addr.bytes[i] = addr.bytes[12 + i];
    if (embedded.length < 8) return std::nullopt;  // a whole translated range, not a bogon
    return SpecialRangeReason(embedded);
  }
  if (!addr.v6 && prefix.length < 8) return "prefix shorter than /8";
  if (addr.v6 && prefix.length < 16) return "prefix shorter than /16";
  auto check = [&](const auto& table) -> std::optional<std::string> {
    for (const SpecialRange& range : table) {
      unsigned common = std::min<unsigned>(prefix.length, range.length);
      if (!SamePrefix(addr.bytes.data(), range.bytes.data(), common)) continue;
      if (prefix.length >= range.length) return std::string(range.reason);
      return "overlaps " + std::string(range.reason);
    }
    return std::nullopt;
  };
  if (!addr.v6) return check(kSpecialV4);
  if (auto reason = check(kSpecialV6)) return reason;
  // Everything outside 2000::/3 is unassigned or listed above.
  if ((addr.bytes[0] & 0xe0) != 0x20) return "outside global unicast 2000::/3";
  return std::nullopt;
}

std::expected<void, std::string> NormalizeDomainInto(std::string_view text, std::string& out) {
  out.clear();
  if (text.empty()) return std::unexpected("empty");
  if (text.back() == '.') text.remove_suffix(1);
  if (!text.empty() && text.back() == '.') return std::unexpected("empty label");
  if (HasNonAscii(text)) {
    auto converted = ToPunycode(text);
    if (!converted) return std::unexpected(converted.error());
    out = std::move(*converted);
    for (char& c : out) c = LowerAscii(c);
    // UTS 46 mapping may turn a full-width dot into a trailing '.'.
    if (!out.empty() && out.back() == '.') out.pop_back();
    if (auto problem = ValidateAsciiName(out)) {
      out.clear();
      return std::unexpected(std::move(*problem));
    }
    return {};
  }
  // ASCII: lower-case and validate in one pass; the slow validator names the problem.
  if (text.empty() || text.size() > kMaxNameLength) return std::unexpected(*ValidateAsciiName(text));
  out.resize(text.size());
  size_t label_length = 0;
  size_t labels = 1;
  bool label_numeric = true;
  bool ok = true;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = LowerAscii(text[i]);
    out[i] = c;
    if (c == '.') {
      ok = ok && label_length != 0;
      label_length = 0;
      label_numeric = true;
      ++labels;
      continue;
    }
    ++label_length;
    bool digit = IsDigit(c);
    label_numeric = label_numeric && digit;
    ok = ok && ((c >= 'a' && c <= 'z') || digit || c == '-' || c == '_') && label_length <= kMaxLabelLength;
  }
  if (ok && label_length != 0 && labels >= 2 && !label_numeric) return {};
  auto problem = ValidateAsciiName(out);
  out.clear();
  return std::unexpected(problem ? std::move(*problem) : std::string("invalid name"));
}

std::expected<std::string, std::string> NormalizeDomain(std::string_view text) {
  std::string name;
  if (auto ok = NormalizeDomainInto(text, name); !ok) return std::unexpected(std::move(ok.error()));
  return name;
}

bool NormalizeDomainForMatch(std::string_view text, std::string& out) {
  out.clear();
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  if (text.empty()) return false;
  if (HasNonAscii(text)) {
    auto normalised = NormalizeDomain(text);
    if (!normalised) return false;
    out = std::move(*normalised);
    return true;
  }
  if (text.size() > kMaxNameLength) return false;
  out.resize(text.size());
  for (size_t i = 0; i < text.size(); ++i) out[i] = LowerAscii(text[i]);
  return true;
}

std::expected<std::string, std::string> NormalizeUrl(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  if (text.empty()) return std::unexpected("empty");
  if (HasControlOrSpace(text)) return std::unexpected("contains whitespace or control characters");

  // Scheme: letters, digits, '+', '-', '.' before "://". Default ports by scheme;
  // without a scheme both 80 and 443 count as default.
  std::string_view default_ports[2] = {"80", "443"};
  size_t scheme_end = text.find("://");
  size_t first_slash = text.find('/');
  if (scheme_end != std::string_view::npos && scheme_end < first_slash && scheme_end > 0) {
    std::string_view scheme = text.substr(0, scheme_end);
    for (char c : scheme) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '+' ||
                c == '-' || c == '.';
      if (!ok) return std::unexpected("malformed scheme");
    }
    std::string lower_scheme;
    for (char c : scheme) lower_scheme.push_back(LowerAscii(c));
    if (lower_scheme == "http") {
      default_ports[0] = default_ports[1] = "80";
    } else if (lower_scheme == "https") {
      default_ports[0] = default_ports[1] = "443";
    } else if (lower_scheme == "ftp") {
      default_ports[0] = default_ports[1] = "21";
    } else {
      default_ports[0] = default_ports[1] = {};
    }
    text.remove_prefix(scheme_end + 3);
  } else if (text.starts_with("//")) {
    text.remove_prefix(2);
  }
  if (size_t hash = text.find('#'); hash != std::string_view::npos) text = text.substr(0, hash);

  size_t authority_end = std::string_view::npos;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '/' || text[i] == '?') {
      authority_end = i;
      break;
    }
  }
  std::string_view authority = text.substr(0, authority_end);
  std::string_view rest = authority_end == std::string_view::npos ? std::string_view{}
                                                                  : text.substr(authority_end);
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);  // user:password@ is not part of the key
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::unexpected("malformed host: unbalanced '['");
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::unexpected("malformed host: text after ']'");
      port = after.substr(1);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return std::unexpected("no host");
  if (!port.empty() || authority.ends_with(':')) {
    if (port.empty() || port.size() > 5) return std::unexpected("invalid port");
    unsigned value = 0;
    for (char c : port) {
      if (!IsDigit(c)) return std::unexpected("invalid port");
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return std::unexpected("invalid port");
    while (port.size() > 1 && port.front() == '0') port.remove_prefix(1);
    if (port == default_ports[0] || port == default_ports[1]) port = {};
  }
  auto normal_host = NormalizeUrlHost(host);
  if (!normal_host) return std::unexpected(normal_host.error());

  std::string key = std::move(*normal_host);
  if (!port.empty()) {
    key.push_back(':');
    key.append(port);
  }
  if (rest.empty() || rest.front() == '?') key.push_back('/');
  // "/a/./b/../c" and "/a/b/../c" name the same resource (RFC 3986 section 5.2.4).
  size_t query = rest.find('?');
  std::string_view path = rest.substr(0, query);
  if (path.find("/.") != std::string_view::npos) {
    key.append(RemoveDotSegments(path));
    if (query != std::string_view::npos) key.append(rest.substr(query));
  } else {
    key.append(rest);
  }
  return key;
}

std::expected<std::pair<HashKind, std::string>, std::string> NormalizeHash(std::string_view text) {
  HashKind kind;
  switch (text.size()) {
    case 32: kind = HashKind::kMd5; break;
    case 40: kind = HashKind::kSha1; break;
    case 64: kind = HashKind::kSha256; break;
    default: return std::unexpected("length is not 32, 40 or 64 hex digits");
  }
  std::string out(text.size(), '\0');
  for (size_t i = 0; i < text.size(); ++i) {
    if (!IsHexDigit(text[i])) return std::unexpected("not hexadecimal");
    out[i] = LowerAscii(text[i]);
  }
  return std::pair{kind, std::move(out)};
}

std::expected<std::string, std::string> NormalizeEmail(std::string_view text) {
  if (text.size() > 7 && (text[0] == 'm' || text[0] == 'M')) {
    std::string prefix;
    for (char c : text.substr(0, 7)) prefix.push_back(LowerAscii(c));
    if (prefix == "mailto:") text.remove_prefix(7);
  }
  if (text.empty()) return std::unexpected("empty");
  size_t at = text.rfind('@');
  if (at == std::string_view::npos) return std::unexpected("no '@'");
  std::string_view local = text.substr(0, at);
  std::string_view domain = text.substr(at + 1);
  if (local.empty()) return std::unexpected("empty local part");
  if (local.size() > 64) return std::unexpected("local part longer than 64");
  for (char c : local) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '@' || c == '<' || c == '>' || c == ',' || c == ';' ||
        c == '(' || c == ')' || c == '[' || c == ']' || c == '\\' || c == '"') {
      return std::unexpected("invalid character '" + DescribeChar(c) + "' in local part");
    }
  }
  auto normal_domain = NormalizeDomain(domain);
  if (!normal_domain) return std::unexpected("malformed domain: " + normal_domain.error());
  std::string out;
  out.reserve(local.size() + 1 + normal_domain->size());
  for (char c : local) out.push_back(LowerAscii(c));
  out.push_back('@');
  out.append(*normal_domain);
  return out;
}

}  // namespace aegis
