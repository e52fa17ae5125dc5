// Tests for AlertDeduplicator: the time window, the parts of the key, bounded memory.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "detect/detect.h"

namespace aegis::detect {
namespace {

// Concatenates (GCC 12 warns falsely about "literal" + std::string at -O3).
template <typename... Parts>
std::string Cat(const Parts&... parts) {
  std::string s;
  (s.append(std::string_view(parts)), ...);
  return s;
}

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kStart = 1'700'000'000 * kSecond;

Alert MakeAlert(int64_t event_time, std::string rule = "evil.com",
                std::string source_ip = "10.0.0.5", std::string destination_ip = "10.0.0.1") {
  Alert a;
  a.detector = "indicator";
  a.rule = std::move(rule);
  a.event_time_ns = event_time;
  a.time_ns = kStart + 1000 * kSecond;
  a.source_ip = std::move(source_ip);
  a.destination_ip = std::move(destination_ip);
  AlertMatch m;
  m.field = "dns.question.name";
  m.value = "www." + a.rule;
  m.indicator = a.rule;
  m.match = "subdomain";
  a.matches.push_back(m);
  return a;
}

TEST(AlertDeduplicatorTest, ZeroWindowDisablesDeduplication) {
  AlertDeduplicator dedup(0);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(dedup.Admit(MakeAlert(kStart)));
  EXPECT_EQ(dedup.suppressed(), 0u);
}

TEST(AlertDeduplicatorTest, RepeatsWithinTheWindowAreSuppressed) {
  AlertDeduplicator dedup(60 * kSecond);
  EXPECT_TRUE(dedup.Admit(MakeAlert(kStart)));
  EXPECT_FALSE(dedup.Admit(MakeAlert(kStart + 10 * kSecond)));
  EXPECT_FALSE(dedup.Admit(MakeAlert(kStart + 59 * kSecond)));
  // The window runs from the last admitted alert, not from the last repeat.
  EXPECT_TRUE(dedup.Admit(MakeAlert(kStart + 60 * kSecond)));
  EXPECT_FALSE(dedup.Admit(MakeAlert(kStart + 100 * kSecond)));
  EXPECT_TRUE(dedup.Admit(MakeAlert(kStart + 121 * kSecond)));
  // Slightly out-of-order events are repeats too; far older ones are not.
  EXPECT_FALSE(dedup.Admit(MakeAlert(kStart + 100 * kSecond)));
  EXPECT_TRUE(dedup.Admit(MakeAlert(kStart)));
  EXPECT_EQ(dedup.suppressed(), 4u);
}

TEST(AlertDeduplicatorTest, EveryKeyComponentSeparatesAlerts) {
  AlertDeduplicator dedup(60 * kSecond);
  const Alert base = MakeAlert(kStart);
  EXPECT_TRUE(dedup.Admit(base));

  Alert other_rule = MakeAlert(kStart, "bad.net");
  EXPECT_TRUE(dedup.Admit(other_rule));
  EXPECT_TRUE(dedup.Admit(MakeAlert(kStart, "evil.com", "10.0.0.6")));
  EXPECT_TRUE(dedup.Admit(MakeAlert(kStart, "evil.com", "10.0.0.5", "10.0.0.2")));
  Alert other_detector = base;
  other_detector.detector = "sigma";
  EXPECT_TRUE(dedup.Admit(other_detector));
  Alert other_value = base;
  other_value.matches[0].value = "api.evil.com";
  EXPECT_TRUE(dedup.Admit(other_value));
  // Swapping the hosts is a different pair.
  EXPECT_TRUE(dedup.Admit(MakeAlert(kStart, "evil.com", "10.0.0.1", "10.0.0.5")));
  EXPECT_EQ(dedup.suppressed(), 0u);

  // The same matched values in another order, or another field with the same value,
  // are the same alert.
  Alert two_values = base;
  AlertMatch second = base.matches[0];
  second.value = "mail.evil.com";
  two_values.matches.push_back(second);
  EXPECT_TRUE(dedup.Admit(two_values));
  std::swap(two_values.matches[0], two_values.matches[1]);
  two_values.matches[0].field = "tls.server_name";
  EXPECT_FALSE(dedup.Admit(two_values));
  // Differences outside the key do not matter.
  Alert other_position = base;
  other_position.event_line = 99;
  other_position.id = "different";
  other_position.title = "different";
  EXPECT_FALSE(dedup.Admit(other_position));
  EXPECT_EQ(dedup.suppressed(), 2u);
}

TEST(AlertDeduplicatorTest, OldestKeysAreForgottenFirst) {
  AlertDeduplicator dedup(3600 * kSecond, /*max_keys=*/2);
  EXPECT_TRUE(dedup.Admit(MakeAlert(kStart, "a.com")));
  EXPECT_TRUE(dedup.Admit(MakeAlert(kStart, "b.com")));
  EXPECT_TRUE(dedup.Admit(MakeAlert(kStart, "c.com")));  // forgets a.com
  EXPECT_FALSE(dedup.Admit(MakeAlert(kStart, "b.com")));
  EXPECT_FALSE(dedup.Admit(MakeAlert(kStart, "c.com")));
  EXPECT_TRUE(dedup.Admit(MakeAlert(kStart, "a.com")));  // forgotten, so new; forgets b.com
  EXPECT_FALSE(dedup.Admit(MakeAlert(kStart, "c.com")));
  EXPECT_TRUE(dedup.Admit(MakeAlert(kStart, "b.com")));
  EXPECT_EQ(dedup.suppressed(), 3u);
}

TEST(AlertDeduplicatorTest, ManyKeysStayBoundedAndCorrect) {
  AlertDeduplicator dedup(3600 * kSecond, /*max_keys=*/1000);
  // Re-admitting a key after its window refreshes it: the refreshed keys survive.
  for (int round = 0; round < 50; ++round) {
    const int64_t t = kStart + round * 7200 * kSecond;
    for (int i = 0; i < 100; ++i) {
      EXPECT_TRUE(dedup.Admit(MakeAlert(t, Cat("k", std::to_string(i), ".com"))));
    }
  }
  const int64_t last = kStart + 49 * 7200 * kSecond;
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(dedup.Admit(MakeAlert(last + kSecond, Cat("k", std::to_string(i), ".com"))));
  }
  // Flood with new keys: the first 100 are pushed out.
  for (int i = 0; i < 5000; ++i) {
    EXPECT_TRUE(dedup.Admit(MakeAlert(last, Cat("flood", std::to_string(i), ".com"))));
  }
  EXPECT_TRUE(dedup.Admit(MakeAlert(last, "k0.com")));
  EXPECT_FALSE(dedup.Admit(MakeAlert(last, "flood4999.com")));
  EXPECT_EQ(dedup.suppressed(), 101u);
}

TEST(AlertDeduplicatorTest, MissingEventTimeFallsBackToAlertTime) {
  AlertDeduplicator dedup(60 * kSecond);
  Alert a = MakeAlert(0);
  a.time_ns = kStart;
  EXPECT_TRUE(dedup.Admit(a));
  a.time_ns = kStart + 30 * kSecond;
  EXPECT_FALSE(dedup.Admit(a));
  a.time_ns = kStart + 61 * kSecond;
  EXPECT_TRUE(dedup.Admit(a));
}

}  // namespace
}  // namespace aegis::detect
