// Tests for core/observables.h: IP and CIDR parsing, special-purpose ranges, and the
// normalisation of domains, URLs, hashes and email addresses.
#include "core/observables.h"

#include <gtest/gtest.h>

namespace aegis {
namespace {

std::string Ip(std::string_view text) {
  auto ip = ParseIp(text);
  return ip ? FormatIp(*ip) : std::string("<none>");
}

TEST(ParseIpTest, DottedQuad) {
  auto ip = ParseIp("192.0.2.33");
  ASSERT_TRUE(ip);
  EXPECT_FALSE(ip->v6);
  EXPECT_EQ(ip->v4(), 0xC0000221u);
  EXPECT_EQ(Ip("0.0.0.0"), "0.0.0.0");
  EXPECT_EQ(Ip("255.255.255.255"), "255.255.255.255");
  EXPECT_EQ(Ip("8.8.4.4"), "8.8.4.4");
  EXPECT_EQ(Ip("100.200.10.0"), "100.200.10.0");
}

TEST(ParseIpTest, RejectsMalformedIpv4) {
  for (std::string_view bad : {"01.2.3.4", "1.2.3.04", "256.1.1.1", "1.2.3.256", "1.2.3",
                               "1.2.3.4.5", "1.2.3.", ".1.2.3", "1..2.3", "1.2.3.4 ", " 1.2.3.4",
                               "1.2.3.-4", "1.2.3.4/32", "1.2.3.4:80", "0x1.2.3.4", "1234.1.1.1",
                               "", "a.b.c.d", "[1.2.3.4]", "1.2.3.4%eth0"}) {
    EXPECT_FALSE(ParseIp(bad)) << bad;
  }
}

TEST(ParseIpTest, Ipv6Forms) {
  EXPECT_EQ(Ip("2001:db8::1"), "2001:db8::1");
  EXPECT_EQ(Ip("2001:0DB8:0000:0000:0000:0000:0000:0001"), "2001:db8::1");
  EXPECT_EQ(Ip("::"), "::");
  EXPECT_EQ(Ip("::1"), "::1");
  EXPECT_EQ(Ip("fe80::"), "fe80::");
  EXPECT_EQ(Ip("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");  // first of equal runs
  EXPECT_EQ(Ip("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");  // one zero group stays
  EXPECT_EQ(Ip("[2606:4700::1111]"), "2606:4700::1111");
  EXPECT_EQ(Ip("fe80::1%eth0"), "fe80::1");
  EXPECT_EQ(Ip("[fe80::1%25eth0]"), "fe80::1");
  EXPECT_EQ(Ip("64:ff9b::192.0.2.1"), "64:ff9b::c000:201");
  auto ip = ParseIp("2a00:1450:4001:82a::200e");
  ASSERT_TRUE(ip);
  EXPECT_TRUE(ip->v6);
  EXPECT_EQ(ip->bytes[0], 0x2a);
  EXPECT_EQ(ip->bytes[15], 0x0e);
}

TEST(ParseIpTest, V4MappedBecomesIpv4) {
  auto ip = ParseIp("::ffff:192.0.2.1");
  ASSERT_TRUE(ip);
  EXPECT_FALSE(ip->v6);
  EXPECT_EQ(FormatIp(*ip), "192.0.2.1");
  EXPECT_EQ(Ip("::FFFF:c000:0201"), "192.0.2.1");
  EXPECT_EQ(Ip("[::ffff:8.8.8.8]"), "8.8.8.8");
}

TEST(ParseIpTest, RejectsMalformedIpv6) {
  for (std::string_view bad : {"2001:db8::1::1", "2001:db8:::1", "12345::1", "g::1", ":",
                               "1:2:3:4:5:6:7:8:9", "[2001:db8::1", "2001:db8::1]", "[]",
                               "fe80::1%", "::ffff:1.2.3.04", "2001:db8::1/64"}) {
    EXPECT_FALSE(ParseIp(bad)) << bad;
  }
}

TEST(ParseCidrTest, AcceptsNetworks) {
  auto p = ParseCidr("10.0.0.0/8");
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->length, 8);
  EXPECT_EQ(FormatPrefix(*p), "10.0.0.0/8");
  EXPECT_EQ(FormatPrefix(*ParseCidr("2001:db8::/32")), "2001:db8::/32");
  EXPECT_EQ(FormatPrefix(*ParseCidr("1.2.3.4")), "1.2.3.4/32");
  EXPECT_EQ(FormatPrefix(*ParseCidr("2001:db8::1")), "2001:db8::1/128");
  EXPECT_EQ(FormatPrefix(*ParseCidr("0.0.0.0/0")), "0.0.0.0/0");
  EXPECT_EQ(FormatPrefix(*ParseCidr("::ffff:1.2.3.0/120")), "1.2.3.0/24");
  // Wider than ::ffff:0:0/96 the ffff bits are host bits.
  EXPECT_EQ(ParseCidr("::ffff:0.0.0.0/95").error(), "host bits set below the prefix");
}

TEST(ParseCidrTest, RejectsHostBitsAndBadLengths) {
  EXPECT_EQ(ParseCidr("10.0.0.1/8").error(), "host bits set below the prefix");
  EXPECT_EQ(ParseCidr("2001:db8::1/32").error(), "host bits set below the prefix");
  EXPECT_EQ(ParseCidr("1.2.3.0/33").error(), "prefix length exceeds 32");
  EXPECT_EQ(ParseCidr("2001:db8::/129").error(), "prefix length exceeds 128");
  EXPECT_EQ(ParseCidr("1.2.3.0/").error(), "invalid prefix length");
  EXPECT_EQ(ParseCidr("1.2.3.0/024").error(), "invalid prefix length");
  EXPECT_EQ(ParseCidr("1.2.3.0/2a").error(), "invalid prefix length");
  EXPECT_EQ(ParseCidr("evil.com/24").error(), "not an IP address");
}

std::optional<std::string> Special(std::string_view cidr) {
  auto p = ParseCidr(cidr);
  EXPECT_TRUE(p) << cidr;
  return SpecialRangeReason(*p);
}

TEST(SpecialRangeTest, Ipv4Registry) {
  EXPECT_EQ(Special("0.0.0.0"), "unspecified address 0.0.0.0");
  EXPECT_EQ(Special("10.1.2.3"), "private range 10.0.0.0/8 (RFC 1918)");
  EXPECT_EQ(Special("172.31.255.1"), "private range 172.16.0.0/12 (RFC 1918)");
  EXPECT_FALSE(Special("172.32.0.1"));
  EXPECT_EQ(Special("192.168.0.0/24"), "private range 192.168.0.0/16 (RFC 1918)");
  EXPECT_TRUE(Special("100.64.0.1"));
  EXPECT_FALSE(Special("100.128.0.1"));
  EXPECT_EQ(Special("127.0.0.1"), "loopback 127.0.0.0/8");
  EXPECT_TRUE(Special("169.254.169.254"));
  EXPECT_TRUE(Special("192.0.0.8"));
  EXPECT_TRUE(Special("192.0.2.1"));
  EXPECT_TRUE(Special("192.88.99.1"));
  EXPECT_TRUE(Special("198.19.255.255"));
  EXPECT_FALSE(Special("198.20.0.1"));
  EXPECT_TRUE(Special("198.51.100.7"));
  EXPECT_TRUE(Special("203.0.113.9"));
  EXPECT_EQ(Special("239.1.1.1"), "multicast 224.0.0.0/4");
  EXPECT_EQ(Special("250.0.0.1"), "reserved 240.0.0.0/4");
  EXPECT_EQ(Special("255.255.255.255"), "limited broadcast 255.255.255.255");
  EXPECT_TRUE(Special("0.1.2.3"));
  EXPECT_FALSE(Special("8.8.8.8"));
  EXPECT_FALSE(Special("1.1.1.0/24"));
  EXPECT_FALSE(Special("11.0.0.0/8"));
  EXPECT_FALSE(Special("223.255.255.255"));
}

TEST(SpecialRangeTest, OverlapsAndBreadth) {
  EXPECT_EQ(Special("10.0.0.0/7"), "prefix shorter than /8");
  EXPECT_EQ(Special("172.0.0.0/8"), "overlaps private range 172.16.0.0/12 (RFC 1918)");
  EXPECT_EQ(Special("192.0.0.0/16"), "overlaps IETF protocol assignments 192.0.0.0/24");
  EXPECT_EQ(Special("2000::/8"), "prefix shorter than /16");
  EXPECT_FALSE(Special("2a00::/16"));
}

TEST(SpecialRangeTest, Ipv6Registry) {
  EXPECT_EQ(Special("::"), "unspecified address ::");
  EXPECT_EQ(Special("::1"), "loopback ::1");
  EXPECT_TRUE(Special("::1.2.3.4"));  // IPv4-compatible, deprecated
  EXPECT_TRUE(Special("100::1"));
  EXPECT_TRUE(Special("2001:db8::1"));
  EXPECT_TRUE(Special("2001::1"));
  EXPECT_TRUE(Special("fc00::1"));
  EXPECT_TRUE(Special("fd12:3456::1"));
  EXPECT_EQ(Special("fe80::1"), "link-local fe80::/10");
  EXPECT_EQ(Special("ff02::1"), "multicast ff00::/8");
  EXPECT_TRUE(Special("64:ff9b:1::1"));
  EXPECT_FALSE(Special("64:ff9b::808:808"));  // NAT64 of 8.8.8.8
  EXPECT_EQ(Special("64:ff9b::a00:1"), "private range 10.0.0.0/8 (RFC 1918)");
  EXPECT_EQ(Special("4000::1"), "outside global unicast 2000::/3");
  EXPECT_FALSE(Special("2606:4700:4700::1111"));
  EXPECT_FALSE(Special("2a00:1450::/32"));
  // A v6 prefix holding a mapped v4 address is judged as that IPv4.
  IpPrefix mapped{};
  mapped.addr.v6 = true;
  mapped.addr.bytes[10] = mapped.addr.bytes[11] = 0xff;
  mapped.addr.bytes[12] = 10;
  mapped.length = 128;
  EXPECT_EQ(SpecialRangeReason(mapped), "private range 10.0.0.0/8 (RFC 1918)");
  mapped.addr.bytes[12] = 8;
  EXPECT_FALSE(SpecialRangeReason(mapped));
}

TEST(NormalizeDomainTest, FoldsCaseAndTrailingDot) {
  EXPECT_EQ(NormalizeDomain("Evil.COM").value(), "evil.com");
  EXPECT_EQ(NormalizeDomain("evil.com.").value(), "evil.com");
  EXPECT_EQ(NormalizeDomain("_dmarc.Example.org").value(), "_dmarc.example.org");
  EXPECT_EQ(NormalizeDomain("xn--mnchen-3ya.de").value(), "xn--mnchen-3ya.de");
  EXPECT_EQ(NormalizeDomain("a-b.c-d.co.uk").value(), "a-b.c-d.co.uk");
}

TEST(NormalizeDomainTest, Idn) {
  EXPECT_EQ(NormalizeDomain("münchen.de").value(), "xn--mnchen-3ya.de");
  EXPECT_EQ(NormalizeDomain("MÜNCHEN.DE").value(), "xn--mnchen-3ya.de");
  EXPECT_EQ(NormalizeDomain("münchen.de.").value(), "xn--mnchen-3ya.de");
  // Non-transitional: ß is kept (xn--), not mapped to "ss".
  EXPECT_EQ(NormalizeDomain("faß.de").value(), "xn--fa-hia.de");
  EXPECT_EQ(NormalizeDomain("пример.рф").value(), "xn--e1afmkfd.xn--p1ai");
  auto bad = NormalizeDomain("\xff\xfe.com");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().starts_with("IDN: ")) << bad.error();
}

TEST(NormalizeDomainTest, Rejects) {
  EXPECT_EQ(NormalizeDomain("").error(), "empty");
  EXPECT_EQ(NormalizeDomain(".").error(), "empty");
  EXPECT_EQ(NormalizeDomain("localhost").error(), "single-label name");
  EXPECT_EQ(NormalizeDomain("a..com").error(), "empty label");
  EXPECT_EQ(NormalizeDomain(".a.com").error(), "empty label");
  EXPECT_EQ(NormalizeDomain("evil.com..").error(), "empty label");
  EXPECT_EQ(NormalizeDomain("*.evil.com").error(), "invalid character '*'");
  EXPECT_EQ(NormalizeDomain("evil com.net").error(), "invalid character ' '");
  EXPECT_EQ(NormalizeDomain("a%b.com").error(), "invalid character '%'");
  EXPECT_EQ(NormalizeDomain("1.2.3.4").error(), "numeric top-level label");
  EXPECT_EQ(NormalizeDomain(std::string(64, 'a') + ".com").error(), "label longer than 63");
  EXPECT_TRUE(NormalizeDomain(std::string(63, 'a') + ".com"));
  std::string long_name;
  for (int i = 0; i < 4; ++i) long_name += std::string(62, 'b') + ".";
  long_name += "com";  // 4*63 + 3 = 255
  EXPECT_EQ(NormalizeDomain(long_name).error(), "name longer than 253");
}

TEST(NormalizeDomainIntoTest, ReusesBufferAndClearsOnError) {
  std::string out = "old";
  ASSERT_TRUE(NormalizeDomainInto("Mail.Evil.COM.", out));
  EXPECT_EQ(out, "mail.evil.com");
  ASSERT_TRUE(NormalizeDomainInto("münchen.de", out));
  EXPECT_EQ(out, "xn--mnchen-3ya.de");
  auto bad = NormalizeDomainInto("a..b.com", out);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), "empty label");
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(NormalizeDomainInto("-ok-.example_site.org", out).has_value(), true);
  EXPECT_EQ(NormalizeDomainInto("x.123", out).error(), "numeric top-level label");
  EXPECT_EQ(NormalizeDomainInto("x." + std::string(64, 'a'), out).error(), "label longer than 63");
  EXPECT_EQ(NormalizeDomainInto(std::string(254, 'a'), out).error(), "name longer than 253");
  EXPECT_EQ(NormalizeDomainInto("EVIL", out).error(), "single-label name");
  EXPECT_EQ(NormalizeDomainInto("evil.c$m", out).error(), "invalid character '$'");
}

TEST(NormalizeDomainForMatchTest, ReusesBufferAndFallsBack) {
  std::string out = "previous contents";
  EXPECT_TRUE(NormalizeDomainForMatch("WWW.Evil.Com.", out));
  EXPECT_EQ(out, "www.evil.com");
  EXPECT_TRUE(NormalizeDomainForMatch("www.münchen.de", out));
  EXPECT_EQ(out, "www.xn--mnchen-3ya.de");
  EXPECT_FALSE(NormalizeDomainForMatch("", out));
  EXPECT_FALSE(NormalizeDomainForMatch(".", out));
  EXPECT_FALSE(NormalizeDomainForMatch(std::string(300, 'a'), out));
  EXPECT_FALSE(NormalizeDomainForMatch("\xff\xfe.com", out));
}

TEST(NormalizeUrlTest, Keys) {
  EXPECT_EQ(NormalizeUrl("http://Evil.COM/a/B?x=1#frag").value(), "evil.com/a/B?x=1");
  EXPECT_EQ(NormalizeUrl("https://evil.com").value(), "evil.com/");
  EXPECT_EQ(NormalizeUrl("evil.com/a").value(), "evil.com/a");
  EXPECT_EQ(NormalizeUrl("HTTPS://evil.com:443/x").value(), "evil.com/x");
  EXPECT_EQ(NormalizeUrl("http://evil.com:80/x").value(), "evil.com/x");
  EXPECT_EQ(NormalizeUrl("http://evil.com:443/x").value(), "evil.com:443/x");
  EXPECT_EQ(NormalizeUrl("http://evil.com:8080/x").value(), "evil.com:8080/x");
  EXPECT_EQ(NormalizeUrl("evil.com:443/x").value(), "evil.com/x");
  EXPECT_EQ(NormalizeUrl("http://user:pw@evil.com/x").value(), "evil.com/x");
  EXPECT_EQ(NormalizeUrl("http://1.2.3.4:8080/a.sh").value(), "1.2.3.4:8080/a.sh");
  EXPECT_EQ(NormalizeUrl("http://[2001:DB8::1]:8443/p").value(), "[2001:db8::1]:8443/p");
  EXPECT_EQ(NormalizeUrl("http://münchen.de/ä").value(), "xn--mnchen-3ya.de/ä");
  EXPECT_EQ(NormalizeUrl("http://evil.com?q=1").value(), "evil.com/?q=1");
  EXPECT_EQ(NormalizeUrl("//evil.com/x").value(), "evil.com/x");
  EXPECT_EQ(NormalizeUrl("  http://evil.com./x \n").value(), "evil.com/x");
  EXPECT_EQ(NormalizeUrl("evil.com/r?next=http://other.net/").value(), "evil.com/r?next=http://other.net/");
}

TEST(NormalizeUrlTest, Rejects) {
  EXPECT_EQ(NormalizeUrl("").error(), "empty");
  EXPECT_EQ(NormalizeUrl("http:///path").error(), "no host");
  EXPECT_EQ(NormalizeUrl("/path/only").error(), "no host");
  EXPECT_EQ(NormalizeUrl("http://evil.com:99999/").error(), "invalid port");
  EXPECT_EQ(NormalizeUrl("http://evil.com:/").error(), "invalid port");
  EXPECT_EQ(NormalizeUrl("http://evil .com/").error(), "contains whitespace or control characters");
  EXPECT_EQ(NormalizeUrl("http://localhost/x").error(), "malformed host: single-label name");
  EXPECT_EQ(NormalizeUrl("http://[::1/x").error(), "malformed host: unbalanced '['");
}

TEST(NormalizeHashTest, KindsAndCase) {
  auto md5 = NormalizeHash("D41D8CD98F00B204E9800998ECF8427E");
  ASSERT_TRUE(md5);
  EXPECT_EQ(md5->first, HashKind::kMd5);
  EXPECT_EQ(md5->second, "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(NormalizeHash(std::string(40, 'a'))->first, HashKind::kSha1);
  EXPECT_EQ(NormalizeHash(std::string(64, 'F'))->first, HashKind::kSha256);
  EXPECT_EQ(NormalizeHash(std::string(64, 'F'))->second, std::string(64, 'f'));
  EXPECT_EQ(NormalizeHash(std::string(31, 'a')).error(), "length is not 32, 40 or 64 hex digits");
  EXPECT_EQ(NormalizeHash(std::string(31, 'a') + "g").error(), "not hexadecimal");
}

TEST(NormalizeEmailTest, Cases) {
  EXPECT_EQ(NormalizeEmail("Bad.Actor@Evil.COM").value(), "bad.actor@evil.com");
  EXPECT_EQ(NormalizeEmail("mailto:x@münchen.de").value(), "x@xn--mnchen-3ya.de");
  EXPECT_EQ(NormalizeEmail("a+tag@evil.com.").value(), "a+tag@evil.com");
  EXPECT_EQ(NormalizeEmail("no-at-sign.com").error(), "no '@'");
  EXPECT_EQ(NormalizeEmail("@evil.com").error(), "empty local part");
  EXPECT_EQ(NormalizeEmail("a@localhost").error(), "malformed domain: single-label name");
  EXPECT_EQ(NormalizeEmail("a b@evil.com").error(), "invalid character ' ' in local part");
}

}  // namespace
}  // namespace aegis

namespace aegis {
namespace {

TEST(NormalizeUrlDotSegments, ResolvedAsRfc3986Says) {
  EXPECT_EQ(*NormalizeUrl("http://Evil.Example.com:80/a/../b?x=1"), "evil.example.com/b?x=1");
  EXPECT_EQ(*NormalizeUrl("http://evil.example.com/a/./b/"), "evil.example.com/a/b/");
  EXPECT_EQ(*NormalizeUrl("http://evil.example.com/a/b/.."), "evil.example.com/a/");
  EXPECT_EQ(*NormalizeUrl("http://evil.example.com/../../x"), "evil.example.com/x");
  EXPECT_EQ(*NormalizeUrl("evil.example.com/a/..?q=/../"), "evil.example.com/?q=/../");
  EXPECT_EQ(*NormalizeUrl("evil.example.com/.hidden/x"), "evil.example.com/.hidden/x");
}

}  // namespace
}  // namespace aegis
