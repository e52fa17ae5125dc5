// Tests for VetValue: type detection, defanging, normalisation and rejection reasons.
#include <gtest/gtest.h>

#include "intel/intel.h"
#include "intel/loaders.h"

namespace aegis::intel {
namespace {

struct Vetted {
  std::string type;
  std::string value;
  bool operator==(const Vetted&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Vetted& v) { return os << v.type << " " << v.value; }

Vetted Ok(std::string_view raw, std::optional<IndicatorType> type = std::nullopt, bool allow_private = false) {
  auto result = VetValue(raw, type, allow_private);
  if (!result) return {"rejected", result.error()};
  return {std::string(IndicatorTypeName(result->type)), result->value};
}

std::string Why(std::string_view raw, std::optional<IndicatorType> type = std::nullopt,
                bool allow_private = false) {
  auto result = VetValue(raw, type, allow_private);
  return result ? "accepted as " + std::string(IndicatorTypeName(result->type)) : result.error();
}

TEST(VetValueTest, DetectsTypes) {
  EXPECT_EQ(Ok("Evil.Example.COM"), (Vetted{"domain", "evil.example.com"}));
  EXPECT_EQ(Ok("evil.com."), (Vetted{"domain", "evil.com"}));
  EXPECT_EQ(Ok("münchen.de"), (Vetted{"domain", "xn--mnchen-3ya.de"}));
  EXPECT_EQ(Ok("8.8.8.8"), (Vetted{"ipv4", "8.8.8.8"}));
  EXPECT_EQ(Ok("2606:4700::1111"), (Vetted{"ipv6", "2606:4700::1111"}));
  EXPECT_EQ(Ok("45.33.0.0/16"), (Vetted{"cidr", "45.33.0.0/16"}));
  EXPECT_EQ(Ok("45.33.2.1/32"), (Vetted{"ipv4", "45.33.2.1"}));
  EXPECT_EQ(Ok("2a00:1450::/32"), (Vetted{"cidr", "2a00:1450::/32"}));
  EXPECT_EQ(Ok("2a00:1450::1/128"), (Vetted{"ipv6", "2a00:1450::1"}));
  EXPECT_EQ(Ok("evil.com/gate.php?id=1"), (Vetted{"url", "evil.com/gate.php?id=1"}));
  EXPECT_EQ(Ok("https://Evil.com/a/B"), (Vetted{"url", "evil.com/a/B"}));
  EXPECT_EQ(Ok("http://1.2.3.4:8080/x.sh"), (Vetted{"url", "1.2.3.4:8080/x.sh"}));
  EXPECT_EQ(Ok("Bad@Evil.com"), (Vetted{"email", "bad@evil.com"}));
  EXPECT_EQ(Ok("D41D8CD98F00B204E9800998ECF8427E"), (Vetted{"md5", "d41d8cd98f00b204e9800998ecf8427e"}));
  EXPECT_EQ(Ok(std::string(40, 'a')), (Vetted{"sha1", std::string(40, 'a')}));
  EXPECT_EQ(Ok(std::string(64, 'B')), (Vetted{"sha256", std::string(64, 'b')}));
  EXPECT_EQ(Ok("  evil.com \t"), (Vetted{"domain", "evil.com"}));
}

TEST(VetValueTest, PortsAreDropped) {
  // Indicators match addresses, not services: the port is dropped.
  EXPECT_EQ(Ok("66.210.228.178:443"), (Vetted{"ipv4", "66.210.228.178"}));
  EXPECT_EQ(Ok("[2a00:1450::1]:8443"), (Vetted{"ipv6", "2a00:1450::1"}));
  EXPECT_EQ(Ok("[0:0:0:0:0:ffff:2d3e:c649]:53"), (Vetted{"ipv4", "45.62.198.73"}));
  EXPECT_EQ(Ok("evil.com:8080"), (Vetted{"domain", "evil.com"}));
  EXPECT_EQ(Why("1.2.3.4:0"), "invalid port");
  EXPECT_EQ(Why("1.2.3.4:65536"), "invalid port");
  EXPECT_EQ(Why("1.2.3.4:http"), "invalid port");
  EXPECT_EQ(Why("161.35.41.9:53:53"), "unrecognised value");
}

TEST(VetValueTest, SchemeUrlWithoutPathIsTheHost) {
  EXPECT_EQ(Ok("http://158.69.57.135"), (Vetted{"ipv4", "158.69.57.135"}));
  EXPECT_EQ(Ok("https://evil.com/"), (Vetted{"domain", "evil.com"}));
  EXPECT_EQ(Ok("http://evil.com:8080"), (Vetted{"domain", "evil.com"}));
  // Typed as url, it stays a url.
  EXPECT_EQ(Ok("http://evil.com", IndicatorType::kUrl), (Vetted{"url", "evil.com/"}));
}

TEST(VetValueTest, Defangs) {
  EXPECT_EQ(Ok("hxxp://evil[.]com/payload"), (Vetted{"url", "evil.com/payload"}));
  EXPECT_EQ(Ok("hXXps[:]//evil(.)com/a"), (Vetted{"url", "evil.com/a"}));
  EXPECT_EQ(Ok("evil[dot]com"), (Vetted{"domain", "evil.com"}));
  EXPECT_EQ(Ok("1.2.3[.]4"), (Vetted{"ipv4", "1.2.3.4"}));
  EXPECT_EQ(Ok("bad[@]evil{.}com"), (Vetted{"email", "bad@evil.com"}));
  EXPECT_EQ(Ok("fxp://files.evil.com/x"), (Vetted{"url", "files.evil.com/x"}));
}

TEST(VetValueTest, RejectsSpecialAddresses) {
  EXPECT_EQ(Why("0.0.0.0"), "unspecified address");
  EXPECT_EQ(Why("::"), "unspecified address");
  EXPECT_EQ(Why("10.1.2.3"), "private or special-purpose range");
  EXPECT_EQ(Why("192.168.1.1:80"), "private or special-purpose range");
  EXPECT_EQ(Why("127.0.0.1"), "private or special-purpose range");
  EXPECT_EQ(Why("fe80::1"), "private or special-purpose range");
  EXPECT_EQ(Why("172.0.0.0/8"), "private or special-purpose range");
  EXPECT_EQ(Why("2.0.0.0/7"), "prefix shorter than /8");
  EXPECT_EQ(Why("2000::/12"), "prefix shorter than /16");
  EXPECT_EQ(Why("1.2.3.4/24"), "malformed cidr: host bits set below the prefix");
  EXPECT_EQ(Why("1.2.3.0/33"), "malformed cidr: prefix length exceeds 32");
  // allow_private lifts the private ranges, never the unspecified address or /0.
  EXPECT_EQ(Ok("10.1.2.3", std::nullopt, true), (Vetted{"ipv4", "10.1.2.3"}));
  EXPECT_EQ(Ok("192.168.0.0/16", std::nullopt, true), (Vetted{"cidr", "192.168.0.0/16"}));
  EXPECT_EQ(Why("0.0.0.0", std::nullopt, true), "unspecified address");
  EXPECT_EQ(Why("0.0.0.0/0", std::nullopt, true), "prefix shorter than /8");
}

TEST(VetValueTest, RejectsJunkWithStableReasons) {
  EXPECT_EQ(Why(""), "empty value");
  EXPECT_EQ(Why("   "), "empty value");
  EXPECT_EQ(Why("/w00tw00t.at.ISC.SANS.DFind:)"), "path-only trail (no host)");
  EXPECT_EQ(Why("/gate.php", IndicatorType::kUrl), "path-only trail (no host)");
  EXPECT_EQ(Why(std::string(64, 'a') + ".com"), "malformed domain: label longer than 63");
  EXPECT_EQ(Why("localhost"), "malformed domain: single-label name");
  EXPECT_EQ(Why("*.evil.com"), "malformed domain: invalid character '*'");
  EXPECT_EQ(Why("backdates[0-9]{1,2}\\.(com|net)"), "malformed domain: invalid character '['");
  EXPECT_EQ(Why("01.2.3.4"), "malformed ip address");
  EXPECT_EQ(Why("256.1.1.1"), "malformed ip address");
  EXPECT_EQ(Why("1.2.3"), "malformed ip address");
  EXPECT_EQ(Why("182.86.133:8880"), "malformed ip address");
  EXPECT_EQ(Why("evil.com/a b"), "malformed url: contains whitespace or control characters");
  EXPECT_EQ(Why("http://localhost/x"), "malformed url: malformed host: single-label name");
  EXPECT_EQ(Why("@evil.com"), "malformed email: empty local part");
}

TEST(VetValueTest, ExplicitTypes) {
  EXPECT_EQ(Ok("1.2.3.4:80", IndicatorType::kIpv4), (Vetted{"ipv4", "1.2.3.4"}));
  EXPECT_EQ(Ok("2a00:1450::1", IndicatorType::kIpv4), (Vetted{"ipv6", "2a00:1450::1"}));
  EXPECT_EQ(Ok("45.33.2.0/24", IndicatorType::kIpv4), (Vetted{"cidr", "45.33.2.0/24"}));
  EXPECT_EQ(Why("evil.com", IndicatorType::kIpv4), "malformed ip address");
  EXPECT_EQ(Why("1.2.3.4:99999", IndicatorType::kIpv4), "invalid port");
  EXPECT_EQ(Ok("8.8.8.8", IndicatorType::kDomain), (Vetted{"ipv4", "8.8.8.8"}));
  EXPECT_EQ(Ok("evil.com", IndicatorType::kUrl), (Vetted{"url", "evil.com/"}));
  EXPECT_EQ(Ok(std::string(32, 'A'), IndicatorType::kMd5), (Vetted{"md5", std::string(32, 'a')}));
  EXPECT_EQ(Why(std::string(32, 'a'), IndicatorType::kSha256), "hash length does not match type");
  EXPECT_EQ(Why("xyz", IndicatorType::kSha1), "malformed hash: length is not 32, 40 or 64 hex digits");
  EXPECT_EQ(Why(std::string(31, 'a') + "z", IndicatorType::kMd5), "malformed hash: not hexadecimal");
  EXPECT_EQ(Ok("mailto:A@Evil.com", IndicatorType::kEmail), (Vetted{"email", "a@evil.com"}));
  EXPECT_EQ(Why("nobody", IndicatorType::kEmail), "malformed email: no '@'");
}

TEST(VetIntoTest, ReusesBuffersAndReportsStaticReasons) {
  internal::VetBuffers buffers;
  auto first = internal::VetInto("Evil.com", std::nullopt, false, buffers);
  ASSERT_TRUE(first);
  EXPECT_EQ(buffers.value, "evil.com");
  auto second = internal::VetInto("10.0.0.1", std::nullopt, false, buffers);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error(), "private or special-purpose range");
  EXPECT_TRUE(buffers.value.empty());
}

TEST(ParseFlexibleTimeTest, IsoAndEpochUnits) {
  using internal::ParseFlexibleTime;
  constexpr int64_t kSecond = 1'000'000'000;
  EXPECT_EQ(ParseFlexibleTime("2023-11-14T22:13:20Z"), 1'700'000'000 * kSecond);
  EXPECT_EQ(ParseFlexibleTime("2023-11-14"), 1'699'920'000 * kSecond);
  EXPECT_EQ(ParseFlexibleTime("1700000000"), 1'700'000'000 * kSecond);
  EXPECT_EQ(ParseFlexibleTime("1700000000000"), 1'700'000'000 * kSecond);
  EXPECT_EQ(ParseFlexibleTime("1700000000000000"), 1'700'000'000 * kSecond);
  EXPECT_EQ(ParseFlexibleTime("1700000000000000000"), 1'700'000'000 * kSecond);
  EXPECT_EQ(ParseFlexibleTime("1700000000.5"), 1'700'000'000 * kSecond + kSecond / 2);
  EXPECT_FALSE(ParseFlexibleTime(""));
  EXPECT_FALSE(ParseFlexibleTime("yesterday"));
  EXPECT_FALSE(ParseFlexibleTime("1.2.3"));
  // Outside what int64 nanoseconds can hold (years 1678..2262): refused, not overflowed.
  EXPECT_FALSE(ParseFlexibleTime("2300-01-01T00:00:00Z"));
  EXPECT_FALSE(ParseFlexibleTime("1011-01-01"));
  EXPECT_FALSE(ParseFlexibleTime("9999999999"));
  EXPECT_FALSE(ParseFlexibleTime("9999999999999"));
  EXPECT_FALSE(ParseFlexibleTime("9999999999999999"));
  EXPECT_FALSE(ParseFlexibleTime("9999999999999999999"));
  EXPECT_FALSE(ParseFlexibleTime("99999999999999999999"));
  EXPECT_EQ(ParseFlexibleTime("2261-12-31"), 9'214'560'000 * kSecond);
}

}  // namespace
}  // namespace aegis::intel
