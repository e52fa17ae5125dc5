// Parsing and normalisation of observables: IP addresses and CIDR ranges, domain
// names, URLs, file hashes and email addresses.
//
// The same functions normalise indicators when they are loaded and event values when
// they are matched, so both sides always agree. Normalisation rules (docs/SCHEMA.md):
//   domain: ASCII case-folded, trailing dot removed, IDN converted to punycode (libidn2)
//   url:    scheme and fragment dropped, host normalised like a domain, default port
//           removed; path and query kept as they are ("evil.com/a/b?x=1")
//   hash:   lower-case hex, type from length (32 md5, 40 sha1, 64 sha256)
//   email:  lower-cased, domain part normalised like a domain
#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace aegis {

struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // v4: bytes[0..3] in network order

  uint32_t v4() const {
    return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
           uint32_t{bytes[3]};
  }
  static IpAddress FromV4(uint32_t host_order);
  bool operator==(const IpAddress&) const = default;
};

struct IpPrefix {
  IpAddress addr;   // host bits are zero
  uint8_t length;   // 0..32 for v4, 0..128 for v6
};

// Strict dotted-quad IPv4 or RFC 4291 IPv6 (brackets and a %zone are accepted and dropped;
// IPv4-mapped IPv6 ::ffff:a.b.c.d is returned as IPv4).
std::optional<IpAddress> ParseIp(std::string_view text);
// "10.0.0.0/8", "2001:db8::/32", or a bare address (full-length prefix). Host bits set
// below the prefix are an error.
std::expected<IpPrefix, std::string> ParseCidr(std::string_view text);
std::string FormatIp(const IpAddress& ip);
std::string FormatPrefix(const IpPrefix& p);

// Why an address or range must not be an indicator: "unspecified address 0.0.0.0",
// "private range 10.0.0.0/8 (RFC 1918)", "loopback", ... or nullopt when it is public.
// A prefix is refused when it overlaps a special-purpose range, or is shorter than /8
// (IPv4) or /16 (IPv6).
std::optional<std::string> SpecialRangeReason(const IpPrefix& prefix);

// Normalises a DNS name. Errors name the reason: "empty", "label longer than 63",
// "name longer than 253", "invalid character '%'", "single-label name", "IDN: ...".
std::expected<std::string, std::string> NormalizeDomain(std::string_view text);
// Same rules as NormalizeDomain, but writes the name into `out` (reusing its capacity,
// so loaders do not allocate per value); on failure returns the reason.
std::expected<void, std::string> NormalizeDomainInto(std::string_view text, std::string& out);
// Fast path for matching: lower-cases ASCII and strips one trailing dot into `out`;
// falls back to NormalizeDomain for non-ASCII input. Returns false if unusable.
bool NormalizeDomainForMatch(std::string_view text, std::string& out);

// Normalises a URL to its matching key (see above). Accepts "http://x/y", "x/y",
// "hxxp://x[.]y" is NOT defanged here (loaders do that).
std::expected<std::string, std::string> NormalizeUrl(std::string_view text);

enum class HashKind : unsigned char { kMd5, kSha1, kSha256 };
// Lower-cases and validates a hex digest; the kind follows from its length.
std::expected<std::pair<HashKind, std::string>, std::string> NormalizeHash(std::string_view text);

std::expected<std::string, std::string> NormalizeEmail(std::string_view text);

}  // namespace aegis
