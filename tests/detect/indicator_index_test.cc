// Tests for the IndicatorIndex built by IndexBuilder: domain/IP/CIDR/URL/hash/email
// matching, duplicates, expiry, statistics, and a randomized comparison against a
// straightforward std::map reference implementation.
#include "detect/indicator_index.h"

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/observables.h"

namespace aegis::detect {
namespace {

// Concatenates (GCC 12 warns falsely about "literal" + std::string at -O3).
template <typename... Parts>
std::string Cat(const Parts&... parts) {
  std::string s;
  (s.append(std::string_view(parts)), ...);
  return s;
}

constexpr int64_t kNow = 1'700'000'000'000'000'000;  // 2023-11-14
constexpr int64_t kHour = 3'600'000'000'000;

IndicatorMeta Meta(std::string source, int confidence = 50, int64_t valid_until = 0) {
  IndicatorMeta m;
  m.source = std::move(source);
  m.confidence = confidence;
  m.valid_until_ns = valid_until;
  m.tags = {"test"};
  return m;
}

IpAddress Ip(std::string_view text) {
  auto ip = ParseIp(text);
  EXPECT_TRUE(ip.has_value()) << text;
  return ip.value_or(IpAddress{});
}

std::string Domain(std::string_view text) {
  std::string out;
  EXPECT_TRUE(NormalizeDomainForMatch(text, out)) << text;
  return out;
}

// Value and source of the match, or "-" when nothing matched.
std::string Describe(const std::optional<IndicatorMatch>& m) {
  if (!m) return "-";
  return std::string(m->value) + " " + m->meta->source;
}

TEST(IndicatorIndexTest, DomainMatchesNameAndSubdomains) {
  IndexBuilder b;
  b.Add(IndicatorType::kDomain, "evil.com", b.AddMeta(Meta("feed")));
  auto index = b.Build();

  auto exact = index->MatchDomain("evil.com", kNow);
  ASSERT_TRUE(exact);
  EXPECT_EQ(exact->type, IndicatorType::kDomain);
  EXPECT_EQ(exact->value, "evil.com");
  EXPECT_FALSE(exact->subdomain);
  EXPECT_EQ(exact->meta->source, "feed");

  for (std::string_view name : {"www.evil.com", "a.b.c.evil.com"}) {
    auto sub = index->MatchDomain(name, kNow);
    ASSERT_TRUE(sub) << name;
    EXPECT_EQ(sub->value, "evil.com");
    EXPECT_TRUE(sub->subdomain);
  }
  for (std::string_view name :
       {"notevil.com", "evil.com.au", "evil.co", "com", "vil.com", "evilcom", "", "www.evil.net"}) {
    EXPECT_FALSE(index->MatchDomain(name, kNow)) << name;
  }
}

TEST(IndicatorIndexTest, MostSpecificDomainWins) {
  IndexBuilder b;
  b.Add(IndicatorType::kDomain, "evil.com", b.AddMeta(Meta("parent")));
  b.Add(IndicatorType::kDomain, "cdn.evil.com", b.AddMeta(Meta("child")));
  auto index = b.Build();
  EXPECT_EQ(Describe(index->MatchDomain("x.cdn.evil.com", kNow)), "cdn.evil.com child");
  EXPECT_EQ(Describe(index->MatchDomain("cdn.evil.com", kNow)), "cdn.evil.com child");
  EXPECT_EQ(Describe(index->MatchDomain("www.evil.com", kNow)), "evil.com parent");
  EXPECT_EQ(Describe(index->MatchDomain("xcdn.evil.com", kNow)), "evil.com parent");
}

TEST(IndicatorIndexTest, BareTldIsNeverMatchedAsAParent) {
  IndexBuilder b;
  b.Add(IndicatorType::kDomain, "com", b.AddMeta(Meta("tld")));
  b.Add(IndicatorType::kDomain, "co.uk", b.AddMeta(Meta("two-labels")));
  auto index = b.Build();
  EXPECT_FALSE(index->MatchDomain("evil.com", kNow));
  EXPECT_FALSE(index->MatchDomain("a.b.com", kNow));
  // The name itself still matches exactly.
  EXPECT_EQ(Describe(index->MatchDomain("com", kNow)), "com tld");
  // A two-label parent is a parent like any other.
  EXPECT_EQ(Describe(index->MatchDomain("shop.co.uk", kNow)), "co.uk two-labels");
}

TEST(IndicatorIndexTest, IdnEventNamesMatchPunycodeIndicators) {
  IndexBuilder b;
  // bücher.example and пример.рф in their ACE (punycode) forms, as loaders store them.
  b.Add(IndicatorType::kDomain, "xn--bcher-kva.example", b.AddMeta(Meta("idn")));
  b.Add(IndicatorType::kDomain, "xn--e1afmkfd.xn--p1ai", b.AddMeta(Meta("idn-ru")));
  auto index = b.Build();
  EXPECT_EQ(Describe(index->MatchDomain(Domain("bücher.example"), kNow)),
            "xn--bcher-kva.example idn");
  EXPECT_EQ(Describe(index->MatchDomain(Domain("WWW.Bücher.Example."), kNow)),
            "xn--bcher-kva.example idn");
  EXPECT_EQ(Describe(index->MatchDomain(Domain("пример.рф"), kNow)),
            "xn--e1afmkfd.xn--p1ai idn-ru");
  EXPECT_FALSE(index->MatchDomain(Domain("bucher.example"), kNow));
}

TEST(IndicatorIndexTest, TrailingDotAndUpperCaseEventNames) {
  IndexBuilder b;
  b.Add(IndicatorType::kDomain, "evil.com", b.AddMeta(Meta("feed")));
  auto index = b.Build();
  EXPECT_TRUE(index->MatchDomain(Domain("EVIL.COM."), kNow));
  EXPECT_TRUE(index->MatchDomain(Domain("Www.Evil.Com"), kNow));
  EXPECT_FALSE(index->MatchDomain("EVIL.COM", kNow)) << "MatchDomain expects normalised input";
}

TEST(IndicatorIndexTest, Ipv4LongestPrefixMatch) {
  IndexBuilder b;
  const MetaId m = b.AddMeta(Meta("feed"));
  b.Add(IndicatorType::kCidr, "45.0.0.0/8", m);
  b.Add(IndicatorType::kCidr, "45.33.0.0/16", m);
  b.Add(IndicatorType::kCidr, "45.33.32.0/24", m);
  b.Add(IndicatorType::kCidr, "45.33.32.128/25", m);
  b.Add(IndicatorType::kCidr, "45.34.0.0/16", m);  // a sibling of 45.33.0.0/16
  b.Add(IndicatorType::kCidr, "0.0.0.0/8", m);     // bottom of the address space
  b.Add(IndicatorType::kCidr, "255.0.0.0/8", m);   // top of the address space
  b.Add(IndicatorType::kCidr, "255.255.255.255/32", m);
  auto index = b.Build();
  auto prefix_of = [&](std::string_view ip) -> std::string {
    auto match = index->MatchIp(Ip(ip), kNow);
    if (!match) return "-";
    EXPECT_EQ(match->type, IndicatorType::kCidr);
    return std::string(match->value) + "@" + std::to_string(match->prefix_length);
  };
  EXPECT_EQ(prefix_of("45.33.32.200"), "45.33.32.128/25@25");
  EXPECT_EQ(prefix_of("45.33.32.127"), "45.33.32.0/24@24");
  EXPECT_EQ(prefix_of("45.33.32.0"), "45.33.32.0/24@24");
  EXPECT_EQ(prefix_of("45.33.33.1"), "45.33.0.0/16@16");
  EXPECT_EQ(prefix_of("45.33.255.255"), "45.33.0.0/16@16");
  EXPECT_EQ(prefix_of("45.34.1.1"), "45.34.0.0/16@16");
  EXPECT_EQ(prefix_of("45.35.0.0"), "45.0.0.0/8@8");
  EXPECT_EQ(prefix_of("45.0.0.0"), "45.0.0.0/8@8");
  EXPECT_EQ(prefix_of("45.255.255.255"), "45.0.0.0/8@8");
  EXPECT_EQ(prefix_of("44.255.255.255"), "-");
  EXPECT_EQ(prefix_of("46.0.0.0"), "-");
  EXPECT_EQ(prefix_of("0.0.0.0"), "0.0.0.0/8@8");
  EXPECT_EQ(prefix_of("0.255.255.255"), "0.0.0.0/8@8");
  EXPECT_EQ(prefix_of("1.0.0.0"), "-");
  EXPECT_EQ(prefix_of("254.255.255.255"), "-");
  EXPECT_EQ(prefix_of("255.255.255.254"), "255.0.0.0/8@8");
  EXPECT_EQ(prefix_of("255.255.255.255"), "255.255.255.255/32@32");
}

TEST(IndicatorIndexTest, ZeroLengthPrefixesAreRefused) {
  IndexBuilder b;
  const MetaId m = b.AddMeta(Meta("feed"));
  b.Add(IndicatorType::kCidr, "0.0.0.0/0", m);
  b.Add(IndicatorType::kCidr, "::/0", m);
  b.Add(IndicatorType::kCidr, "not-a-range", m);
  b.Add(IndicatorType::kIpv4, "300.1.1.1", m);
  b.Add(IndicatorType::kDomain, "evil.com", m + 7);  // unknown meta
  auto index = b.Build();
  EXPECT_EQ(index->stats().rejected, 5u);
  EXPECT_EQ(index->stats().indicators, 0u);
  EXPECT_FALSE(index->MatchIp(Ip("8.8.8.8"), kNow));
  EXPECT_FALSE(index->MatchIp(Ip("2001:db8::1"), kNow));
  EXPECT_FALSE(index->MatchDomain("evil.com", kNow));
}

TEST(IndicatorIndexTest, ExactAddressBeatsPrefix) {
  IndexBuilder b;
  b.Add(IndicatorType::kCidr, "45.33.32.0/24", b.AddMeta(Meta("range")));
  b.Add(IndicatorType::kIpv4, "45.33.32.156", b.AddMeta(Meta("host")));
  b.Add(IndicatorType::kCidr, "45.33.32.157/32", b.AddMeta(Meta("host-range")));
  auto index = b.Build();
  auto exact = index->MatchIp(Ip("45.33.32.156"), kNow);
  ASSERT_TRUE(exact);
  EXPECT_EQ(exact->type, IndicatorType::kIpv4);
  EXPECT_EQ(exact->value, "45.33.32.156");
  EXPECT_EQ(exact->prefix_length, 32);
  EXPECT_EQ(exact->meta->source, "host");
  EXPECT_EQ(Describe(index->MatchIp(Ip("45.33.32.157"), kNow)), "45.33.32.157/32 host-range");
  EXPECT_EQ(Describe(index->MatchIp(Ip("45.33.32.158"), kNow)), "45.33.32.0/24 range");
}

TEST(IndicatorIndexTest, Ipv6ExactAndLongestPrefix) {
  IndexBuilder b;
  const MetaId m = b.AddMeta(Meta("v6"));
  b.Add(IndicatorType::kCidr, "2a00:1450::/32", m);
  b.Add(IndicatorType::kCidr, "2a00:1450:4001::/48", m);
  b.Add(IndicatorType::kCidr, "2a00:1450:4001:81f::/64", m);
  b.Add(IndicatorType::kIpv6, "2a00:1450:4001:81f::200e", m);
  b.Add(IndicatorType::kCidr, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120", m);
  b.Add(IndicatorType::kIpv4, "45.33.32.156", m);
  auto index = b.Build();
  auto match = index->MatchIp(Ip("2a00:1450:4001:81f::200e"), kNow);
  ASSERT_TRUE(match);
  EXPECT_EQ(match->type, IndicatorType::kIpv6);
  EXPECT_EQ(match->prefix_length, 128);
  EXPECT_EQ(index->MatchIp(Ip("2a00:1450:4001:81f::200f"), kNow)->prefix_length, 64);
  EXPECT_EQ(index->MatchIp(Ip("2a00:1450:4001:820::1"), kNow)->prefix_length, 48);
  EXPECT_EQ(index->MatchIp(Ip("2a00:1450:ffff::1"), kNow)->prefix_length, 32);
  EXPECT_EQ(index->MatchIp(Ip("2a00:1450:4001::"), kNow)->value, "2a00:1450:4001::/48");
  EXPECT_FALSE(index->MatchIp(Ip("2a00:1451::1"), kNow));
  EXPECT_FALSE(index->MatchIp(Ip("2a00:144f:ffff:ffff:ffff:ffff:ffff:ffff"), kNow));
  EXPECT_EQ(index->MatchIp(Ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), kNow)->prefix_length,
            120);
  // An IPv4-mapped IPv6 address in an event is an IPv4 address.
  auto mapped = index->MatchIp(Ip("::ffff:45.33.32.156"), kNow);
  ASSERT_TRUE(mapped);
  EXPECT_EQ(mapped->type, IndicatorType::kIpv4);
  // IPv4 and IPv6 spaces do not mix: the v6 address with the same low bits is not a v4 hit.
  EXPECT_FALSE(index->MatchIp(Ip("::2d21:209c"), kNow));
}

TEST(IndicatorIndexTest, UrlHashAndEmailExactMatches) {
  IndexBuilder b;
  const MetaId m = b.AddMeta(Meta("feed"));
  b.Add(IndicatorType::kUrl, "evil.com/gate.php?id=1", m);
  b.Add(IndicatorType::kMd5, "d41d8cd98f00b204e9800998ecf8427e", m);
  b.Add(IndicatorType::kSha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709", m);
  b.Add(IndicatorType::kSha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        m);
  b.Add(IndicatorType::kMd5, "da39a3ee5e6b4b0d3255bfef95601890afd80709", m);  // wrong length
  b.Add(IndicatorType::kEmail, "phish@bad-mail.com", m);
  auto index = b.Build();

  auto url = NormalizeUrl("HTTP://Evil.COM:80/gate.php?id=1#frag");
  ASSERT_TRUE(url);
  auto url_match = index->MatchUrl(*url, kNow);
  ASSERT_TRUE(url_match);
  EXPECT_EQ(url_match->type, IndicatorType::kUrl);
  EXPECT_FALSE(index->MatchUrl("evil.com/gate.php?id=2", kNow));
  EXPECT_FALSE(index->MatchUrl("evil.com/gate.php", kNow));
  EXPECT_FALSE(index->MatchDomain("evil.com", kNow)) << "a URL is not a domain indicator";

  EXPECT_EQ(index->MatchHash("d41d8cd98f00b204e9800998ecf8427e", kNow)->type, IndicatorType::kMd5);
  EXPECT_EQ(index->MatchHash("da39a3ee5e6b4b0d3255bfef95601890afd80709", kNow)->type,
            IndicatorType::kSha1);
  EXPECT_EQ(
      index->MatchHash("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", kNow)
          ->type,
      IndicatorType::kSha256);
  EXPECT_FALSE(index->MatchHash("d41d8cd98f00b204e9800998ecf8427f", kNow));
  EXPECT_FALSE(index->MatchHash("d41d8cd98f00b204", kNow));
  EXPECT_EQ(index->stats().rejected, 1u);

  EXPECT_EQ(index->MatchEmail("phish@bad-mail.com", kNow)->type, IndicatorType::kEmail);
  EXPECT_FALSE(index->MatchEmail("phish@bad-mail.co", kNow));
  EXPECT_EQ(index->stats().indicators, 5u);
}

TEST(IndicatorIndexTest, DuplicatesKeepOneEntryAndTheHigherConfidence) {
  IndexBuilder b;
  const MetaId low = b.AddMeta(Meta("low", 30));
  const MetaId mid = b.AddMeta(Meta("mid", 60));
  const MetaId mid_later = b.AddMeta(Meta("mid-later", 60));
  const MetaId high = b.AddMeta(Meta("high", 90));
  b.Add(IndicatorType::kDomain, "evil.com", mid);
  b.Add(IndicatorType::kDomain, "evil.com", low);        // lower: ignored
  b.Add(IndicatorType::kDomain, "evil.com", mid_later);  // equal: the later one wins
  b.Add(IndicatorType::kIpv4, "45.33.32.156", high);
  b.Add(IndicatorType::kIpv4, "45.33.32.156", low);
  b.Add(IndicatorType::kCidr, "45.33.0.0/16", low);
  b.Add(IndicatorType::kCidr, "45.33.0.0/16", high);
  b.Add(IndicatorType::kSha256, std::string(64, 'a'), low);
  b.Add(IndicatorType::kSha256, std::string(64, 'a'), low);
  auto index = b.Build();
  EXPECT_EQ(Describe(index->MatchDomain("evil.com", kNow)), "evil.com mid-later");
  EXPECT_EQ(Describe(index->MatchIp(Ip("45.33.32.156"), kNow)), "45.33.32.156 high");
  EXPECT_EQ(Describe(index->MatchIp(Ip("45.33.1.1"), kNow)), "45.33.0.0/16 high");
  const IndexStats& stats = index->stats();
  EXPECT_EQ(stats.indicators, 4u);
  EXPECT_EQ(stats.duplicates, 5u);
  EXPECT_EQ(stats.by_type[static_cast<int>(IndicatorType::kDomain)], 1u);
  EXPECT_EQ(stats.by_type[static_cast<int>(IndicatorType::kIpv4)], 1u);
  EXPECT_EQ(stats.by_type[static_cast<int>(IndicatorType::kCidr)], 1u);
  EXPECT_EQ(stats.by_type[static_cast<int>(IndicatorType::kSha256)], 1u);
}

TEST(IndicatorIndexTest, AddMetaDeduplicatesEqualMetadata) {
  IndexBuilder b;
  const MetaId a = b.AddMeta(Meta("feed-a"));
  EXPECT_EQ(b.AddMeta(Meta("feed-a")), a);
  IndicatorMeta other_tags = Meta("feed-a");
  other_tags.tags.push_back("c2");
  const MetaId c = b.AddMeta(other_tags);
  EXPECT_NE(c, a);
  EXPECT_NE(b.AddMeta(Meta("feed-a", 51)), a);
  EXPECT_EQ(b.AddMeta(other_tags), c);
  b.Add(IndicatorType::kDomain, "evil.com", c);
  auto index = b.Build();
  EXPECT_EQ(index->stats().metas, 3u);
  EXPECT_EQ(index->MatchDomain("evil.com", kNow)->meta->tags,
            (std::vector<std::string>{"test", "c2"}));
}

TEST(IndicatorIndexTest, ExpiredIndicatorsFallBackToLessSpecificMatches) {
  IndexBuilder b;
  const MetaId expired = b.AddMeta(Meta("expired", 50, kNow - kHour));
  const MetaId live = b.AddMeta(Meta("live", 50, kNow + kHour));
  const MetaId forever = b.AddMeta(Meta("forever", 50, 0));
  b.Add(IndicatorType::kDomain, "a.evil.com", expired);
  b.Add(IndicatorType::kDomain, "evil.com", live);
  b.Add(IndicatorType::kDomain, "gone.example", expired);
  b.Add(IndicatorType::kIpv4, "45.33.32.156", expired);
  b.Add(IndicatorType::kCidr, "45.33.32.0/24", expired);
  b.Add(IndicatorType::kCidr, "45.33.0.0/16", forever);
  b.Add(IndicatorType::kCidr, "2a00:1450:4001::/48", expired);
  b.Add(IndicatorType::kCidr, "2a00:1450::/32", live);
  b.Add(IndicatorType::kUrl, "evil.com/x", expired);
  auto index = b.Build();
  EXPECT_EQ(Describe(index->MatchDomain("x.a.evil.com", kNow)), "evil.com live");
  EXPECT_EQ(Describe(index->MatchDomain("a.evil.com", kNow)), "evil.com live");
  EXPECT_EQ(Describe(index->MatchDomain("gone.example", kNow)), "-");
  EXPECT_EQ(Describe(index->MatchIp(Ip("45.33.32.156"), kNow)), "45.33.0.0/16 forever");
  EXPECT_EQ(Describe(index->MatchIp(Ip("2a00:1450:4001::1"), kNow)), "2a00:1450::/32 live");
  EXPECT_EQ(Describe(index->MatchUrl("evil.com/x", kNow)), "-");
  // Before expiry everything matches as usual; after `live` expires only `forever` remains.
  EXPECT_EQ(Describe(index->MatchDomain("x.a.evil.com", kNow - 2 * kHour)), "a.evil.com expired");
  EXPECT_EQ(Describe(index->MatchIp(Ip("45.33.32.156"), kNow - 2 * kHour)), "45.33.32.156 expired");
  EXPECT_EQ(Describe(index->MatchDomain("x.a.evil.com", kNow + 2 * kHour)), "-");
  EXPECT_EQ(Describe(index->MatchIp(Ip("2a00:1450:4001::1"), kNow + 2 * kHour)), "-");
  // Valid until exactly now still matches.
  EXPECT_EQ(Describe(index->MatchDomain("evil.com", kNow + kHour)), "evil.com live");
}

TEST(IndicatorIndexTest, EmptyIndexMatchesNothing) {
  auto index = IndexBuilder().Build();
  EXPECT_FALSE(index->MatchDomain("evil.com", kNow));
  EXPECT_FALSE(index->MatchIp(Ip("1.2.3.4"), kNow));
  EXPECT_FALSE(index->MatchIp(Ip("::1"), kNow));
  EXPECT_FALSE(index->MatchUrl("evil.com/", kNow));
  EXPECT_FALSE(index->MatchHash(std::string(32, 'a'), kNow));
  EXPECT_FALSE(index->MatchEmail("a@b.c", kNow));
  EXPECT_EQ(index->stats().indicators, 0u);
  EXPECT_GT(index->stats().memory_bytes, 0u);
  EXPECT_LT(index->stats().memory_bytes, 4096u);
}

TEST(IndicatorIndexTest, BuilderIsReusableAfterBuild) {
  IndexBuilder b;
  b.Add(IndicatorType::kDomain, "first.com", b.AddMeta(Meta("one")));
  auto first = b.Build();
  b.Add(IndicatorType::kDomain, "second.com", b.AddMeta(Meta("two")));
  auto second = b.Build();
  EXPECT_TRUE(first->MatchDomain("first.com", kNow));
  EXPECT_FALSE(first->MatchDomain("second.com", kNow));
  EXPECT_FALSE(second->MatchDomain("first.com", kNow));
  EXPECT_EQ(Describe(second->MatchDomain("second.com", kNow)), "second.com two");
  EXPECT_EQ(second->stats().metas, 1u);
}

TEST(IndicatorIndexTest, MemoryStatsArePlausible) {
  IndexBuilder b;
  const MetaId m = b.AddMeta(Meta("feed"));
  constexpr int kDomains = 100'000;
  size_t value_bytes = 0;
  for (int i = 0; i < kDomains; ++i) {
    const std::string name = Cat("host", std::to_string(i * 7919), ".example-domain.net");
    value_bytes += name.size();
    b.Add(IndicatorType::kDomain, name, m);
  }
  for (int i = 0; i < 10'000; ++i) {
    b.Add(IndicatorType::kIpv4, FormatIp(IpAddress::FromV4(0x2d000000u + i * 13)), m);
  }
  auto index = b.Build();
  const IndexStats& stats = index->stats();
  EXPECT_EQ(stats.indicators, 110'000u);
  // At least the strings themselves, at most 150 bytes per indicator all in.
  EXPECT_GT(stats.memory_bytes, value_bytes);
  EXPECT_LT(stats.memory_bytes, 150u * stats.indicators);
  EXPECT_LT(stats.memory_bytes, value_bytes + 40u * stats.indicators);
}

TEST(IndicatorIndexTest, LongAndOddDomainNames) {
  IndexBuilder b;
  const MetaId m = b.AddMeta(Meta("feed"));
  const std::string long_label(63, 'a');
  const std::string long_name = long_label + "." + long_label + "." + long_label + ".example";
  b.Add(IndicatorType::kDomain, long_name, m);
  b.Add(IndicatorType::kDomain, std::string(300, 'b') + ".com", m);  // not a DNS name
  auto index = b.Build();
  EXPECT_EQ(index->stats().rejected, 1u);
  EXPECT_TRUE(index->MatchDomain(long_name, kNow));
  EXPECT_TRUE(index->MatchDomain("x." + long_name, kNow));
  // Names made of dots or empty labels must not crash or match.
  EXPECT_FALSE(index->MatchDomain(std::string(255, '.'), kNow));
  EXPECT_FALSE(index->MatchDomain(".example", kNow));
  EXPECT_FALSE(index->MatchDomain(std::string(1000, 'a'), kNow));
}

// ---------------------------------------------------------------------------------
// Randomized comparison with a reference built from std::map and brute force.

class ReferenceIndex {
 public:
  explicit ReferenceIndex(const std::vector<IndicatorMeta>& metas) : metas_(metas) {}

  void Add(IndicatorType type, const std::string& value, MetaId meta) {
    std::map<std::string, MetaId>* table = nullptr;
    switch (type) {
      case IndicatorType::kDomain:
        table = &domains_;
        break;
      case IndicatorType::kUrl:
        table = &urls_;
        break;
      case IndicatorType::kEmail:
        table = &emails_;
        break;
      case IndicatorType::kMd5:
      case IndicatorType::kSha1:
      case IndicatorType::kSha256:
        table = &hashes_;
        break;
      case IndicatorType::kIpv4:
      case IndicatorType::kIpv6:
        table = &exact_ips_;
        break;
      case IndicatorType::kCidr: {
        auto prefix = ParseCidr(value);
        ASSERT_TRUE(prefix) << value;
        Keep(prefixes_, PrefixKey(prefix->addr, prefix->length), meta);
        prefix_text_[PrefixKey(prefix->addr, prefix->length)] = value;
        return;
      }
    }
    Keep(*table,
         type == IndicatorType::kIpv4 || type == IndicatorType::kIpv6 ? FormatIp(*ParseIp(value))
                                                                      : value,
         meta);
  }

  // Same answer format as Describe(): "value source", plus the match details.
  std::string MatchDomain(const std::string& name, int64_t now) const {
    std::vector<size_t> starts = {0};
    for (size_t i = 0; i < name.size(); ++i) {
      if (name[i] == '.') starts.push_back(i + 1);
    }
    for (size_t i = 0; i < starts.size(); ++i) {
      if (i > 0 && i + 1 == starts.size()) break;  // a bare TLD is not a parent
      const std::string suffix = name.substr(starts[i]);
      auto it = domains_.find(suffix);
      if (it != domains_.end() && Alive(it->second, now)) {
        return suffix + " " + metas_[it->second].source + (i > 0 ? " sub" : "");
      }
    }
    return "-";
  }

  std::string MatchIp(const IpAddress& ip, int64_t now) const {
    auto it = exact_ips_.find(FormatIp(ip));
    if (it != exact_ips_.end() && Alive(it->second, now)) {
      return it->first + " " + metas_[it->second].source + " /" + (ip.v6 ? "128" : "32");
    }
    const int bits = ip.v6 ? 128 : 32;
    for (int length = bits; length >= 1; --length) {
      IpAddress network = ip;
      for (int bit = length; bit < bits; ++bit) network.bytes[bit / 8] &= ~(0x80 >> (bit % 8));
      auto p = prefixes_.find(PrefixKey(network, length));
      if (p != prefixes_.end() && Alive(p->second, now)) {
        return prefix_text_.at(p->first) + " " + metas_[p->second].source + " /" +
               std::to_string(length);
      }
    }
    return "-";
  }

  std::string MatchExact(const std::map<std::string, MetaId>& table, const std::string& key,
                         int64_t now) const {
    auto it = table.find(key);
    if (it == table.end() || !Alive(it->second, now)) return "-";
    return it->first + " " + metas_[it->second].source;
  }

  std::map<std::string, MetaId> domains_, urls_, emails_, hashes_, exact_ips_, prefixes_;
  size_t distinct() const {
    return domains_.size() + urls_.size() + emails_.size() + hashes_.size() + exact_ips_.size() +
           prefixes_.size();
  }
  uint64_t duplicates = 0;

 private:
  static std::string PrefixKey(const IpAddress& a, int length) {
    return FormatIp(a) + "/" + std::to_string(length);
  }
  void Keep(std::map<std::string, MetaId>& table, const std::string& key, MetaId meta) {
    auto [it, inserted] = table.try_emplace(key, meta);
    if (inserted) return;
    ++duplicates;
    if (metas_[meta].confidence >= metas_[it->second].confidence) it->second = meta;
  }
  bool Alive(MetaId m, int64_t now) const {
    return metas_[m].valid_until_ns == 0 || metas_[m].valid_until_ns >= now;
  }

  const std::vector<IndicatorMeta>& metas_;
  std::map<std::string, std::string> prefix_text_;
};

std::string DescribeDomain(const std::optional<IndicatorMatch>& m) {
  if (!m) return "-";
  return Describe(m) + (m->subdomain ? " sub" : "");
}

std::string DescribeIp(const std::optional<IndicatorMatch>& m) {
  if (!m) return "-";
  return Describe(m) + " /" + std::to_string(m->prefix_length);
}

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  size_t Uniform(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }

  // Names drawn from a small vocabulary so that parents and children collide often.
  std::string DomainName() {
    static const std::vector<std::string> kLabels = {
        "a",     "b",      "cdn",    "www",           "mail", "evil", "bad", "x1",  "api", "static",
        "login", "secure", "update", "xn--bcher-kva", "c2",   "m",    "s3",  "img", "a-b", "0x"};
    static const std::vector<std::string> kTlds = {"com", "net", "org", "ru", "xn--p1ai"};
    std::string name = kTlds[Uniform(kTlds.size())];
    const size_t labels = Chance(0.01) ? 0 : 1 + Uniform(4);  // sometimes a bare TLD
    for (size_t i = 0; i < labels; ++i) name = kLabels[Uniform(kLabels.size())] + "." + name;
    return name;
  }

  // Addresses from a few small regions so that prefixes nest and exact addresses collide.
  IpAddress V4() {
    static const uint32_t kBases[] = {0x2d210000u, 0xb9000000u, 0x00000000u, 0xffff0000u};
    return IpAddress::FromV4(kBases[Uniform(4)] | static_cast<uint32_t>(Uniform(1 << 12)) |
                             (Chance(0.2) ? static_cast<uint32_t>(Uniform(256)) << 16 : 0));
  }

  IpAddress V6() {
    IpAddress ip;
    ip.v6 = true;
    ip.bytes = {0x2a, 0x00, 0x14, 0x50, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    if (Chance(0.1)) ip.bytes.fill(0xff);
    for (int i : {4, 5, 14, 15}) ip.bytes[i] = static_cast<uint8_t>(Uniform(Chance(0.5) ? 4 : 256));
    return ip;
  }

  std::string Prefix(bool v6) {
    IpPrefix p;
    p.addr = v6 ? V6() : V4();
    const int bits = v6 ? 128 : 32;
    p.length = static_cast<uint8_t>(v6 ? 16 + Uniform(113) : 8 + Uniform(25));
    for (int bit = p.length; bit < bits; ++bit) p.addr.bytes[bit / 8] &= ~(0x80 >> (bit % 8));
    return FormatPrefix(p);
  }

  std::string Hex(size_t length) {
    std::string s(length, '0');
    for (char& c : s) c = "0123456789abcdef"[Uniform(Chance(0.7) ? 2 : 16)];
    return s;
  }

  std::string Url() { return DomainName() + "/p" + std::to_string(Uniform(50)); }
  std::string Email() { return Cat("u", std::to_string(Uniform(30)), "@", DomainName()); }

 private:
  std::mt19937_64 rng_;
};

void CompareWithReference(uint64_t seed) {
  SCOPED_TRACE(Cat("seed ", std::to_string(seed)));
  Generator gen(seed);
  std::vector<IndicatorMeta> metas;
  for (int i = 0; i < 64; ++i) {
    int64_t valid_until = 0;
    switch (gen.Uniform(4)) {
      case 0:
        valid_until = kNow - 1 - static_cast<int64_t>(gen.Uniform(1000));
        break;
      case 1:
        valid_until = kNow + static_cast<int64_t>(gen.Uniform(1000));
        break;
      default:
        break;
    }
    metas.push_back(
        Meta(Cat("meta", std::to_string(i)), static_cast<int>(gen.Uniform(5)) * 25, valid_until));
  }
  IndexBuilder builder;
  std::vector<MetaId> ids;
  for (const IndicatorMeta& m : metas) ids.push_back(builder.AddMeta(m));
  for (size_t i = 0; i < ids.size(); ++i) ASSERT_EQ(ids[i], i) << "metas are distinct";

  ReferenceIndex reference(metas);
  struct Added {
    IndicatorType type;
    std::string value;
  };
  std::vector<Added> added;
  constexpr int kItems = 100'000;
  for (int i = 0; i < kItems; ++i) {
    const size_t pick = gen.Uniform(100);
    Added a;
    if (pick < 50) {
      a = {IndicatorType::kDomain, gen.DomainName()};
    } else if (pick < 65) {
      a = {IndicatorType::kIpv4, FormatIp(gen.V4())};
    } else if (pick < 73) {
      a = {IndicatorType::kCidr, gen.Prefix(false)};
    } else if (pick < 78) {
      a = {IndicatorType::kIpv6, FormatIp(gen.V6())};
    } else if (pick < 84) {
      a = {IndicatorType::kCidr, gen.Prefix(true)};
    } else if (pick < 89) {
      a = {IndicatorType::kUrl, gen.Url()};
    } else if (pick < 92) {
      a = {IndicatorType::kEmail, gen.Email()};
    } else {
      static constexpr IndicatorType kHashes[] = {IndicatorType::kMd5, IndicatorType::kSha1,
                                                  IndicatorType::kSha256};
      static constexpr size_t kLengths[] = {32, 40, 64};
      const size_t h = gen.Uniform(3);
      a = {kHashes[h], gen.Hex(kLengths[h])};
    }
    const MetaId meta = ids[gen.Uniform(ids.size())];
    builder.Add(a.type, a.value, meta);
    reference.Add(a.type, a.value, meta);
    added.push_back(std::move(a));
  }
  auto index = builder.Build();
  const IndexStats& stats = index->stats();
  EXPECT_EQ(stats.indicators, reference.distinct());
  EXPECT_EQ(stats.duplicates, reference.duplicates);
  EXPECT_EQ(stats.indicators + stats.duplicates, static_cast<uint64_t>(kItems));
  EXPECT_EQ(stats.rejected, 0u);
  EXPECT_LT(stats.memory_bytes, 150u * stats.indicators);

  // Queries: fresh random values (misses and collisions), the added values themselves,
  // and subdomains of added domains, each at three points in time.
  int hits = 0, subdomain_hits = 0, prefix_hits = 0, compared = 0;
  for (int i = 0; i < 200'000; ++i) {
    const int64_t now = std::array<int64_t, 3>{kNow, kNow - 5000, kNow + 5000}[gen.Uniform(3)];
    const Added& known = added[gen.Uniform(added.size())];
    const size_t pick = gen.Uniform(6);
    std::string expected, actual;
    if (pick == 0 || (pick == 1 && known.type == IndicatorType::kDomain)) {
      std::string name = pick == 0 ? gen.DomainName() : known.value;
      if (gen.Chance(0.5)) name = Cat("q", std::to_string(gen.Uniform(3)), ".", name);
      expected = reference.MatchDomain(name, now);
      actual = DescribeDomain(index->MatchDomain(name, now));
      subdomain_hits += actual.ends_with(" sub");
    } else if (pick == 2 || pick == 3) {
      IpAddress ip;
      if (pick == 2) {
        ip = gen.Chance(0.7) ? gen.V4() : gen.V6();
      } else if (known.type == IndicatorType::kCidr) {
        ip = ParseCidr(known.value)->addr;
        ip.bytes[ip.v6 ? 15 : 3] ^= static_cast<uint8_t>(gen.Uniform(4));
      } else if (known.type == IndicatorType::kIpv4 || known.type == IndicatorType::kIpv6) {
        ip = *ParseIp(known.value);
      } else {
        ip = gen.V4();
      }
      expected = reference.MatchIp(ip, now);
      actual = DescribeIp(index->MatchIp(ip, now));
      prefix_hits += actual.find('/') != actual.rfind('/');
    } else {
      const bool use_known = gen.Chance(0.5);
      const IndicatorType type = use_known ? known.type : IndicatorType::kUrl;
      switch (type) {
        case IndicatorType::kUrl: {
          const std::string key = use_known ? known.value : gen.Url();
          expected = reference.MatchExact(reference.urls_, key, now);
          actual = Describe(index->MatchUrl(key, now));
          break;
        }
        case IndicatorType::kEmail: {
          expected = reference.MatchExact(reference.emails_, known.value, now);
          actual = Describe(index->MatchEmail(known.value, now));
          break;
        }
        case IndicatorType::kMd5:
        case IndicatorType::kSha1:
        case IndicatorType::kSha256: {
          std::string hex = known.value;
          if (gen.Chance(0.5)) hex = gen.Hex(hex.size());
          expected = reference.MatchExact(reference.hashes_, hex, now);
          actual = Describe(index->MatchHash(hex, now));
          break;
        }
        default: {
          const std::string email = gen.Email();
          expected = reference.MatchExact(reference.emails_, email, now);
          actual = Describe(index->MatchEmail(email, now));
          break;
        }
      }
    }
    ++compared;
    hits += expected != "-";
    ASSERT_EQ(actual, expected) << "query " << i;
  }
  // The generators must exercise the interesting cases, or this test proves little.
  EXPECT_GT(hits, compared / 5);
  EXPECT_GT(subdomain_hits, 1000);
  EXPECT_GT(prefix_hits, 1000);
}

TEST(IndicatorIndexTest, RandomizedAgainstReference) {
  for (uint64_t seed : {1u, 2u, 3u}) CompareWithReference(seed);
}

}  // namespace
}  // namespace aegis::detect
