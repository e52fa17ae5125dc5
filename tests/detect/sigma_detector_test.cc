// The Sigma detector end to end: rules, filters and correlations loaded from one
// multi-document YAML text, alerts as the pipeline sees them, and rule-set swaps.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "detect/sigma.h"

namespace aegis::detect::sigma {
namespace {

constexpr char kChannel[] = "Microsoft-Windows-Sysmon/Operational";

Event Logon(const std::string& user, const std::string& ip, int64_t seconds,
            const std::string& image = "C:\\Windows\\System32\\net.exe") {
  static const auto kEventId = KeyFor("event.code", "EventID");
  static const auto kChan = KeyFor("winlog.channel", "Channel");
  static const auto kImage = KeyFor("process.executable", "Image");
  static const auto kUser = KeyFor("user.name", "User");
  static const auto kIp = KeyFor("source.ip", "SourceIp");
  Event ev;
  ev.format = EventFormat::kWindowsFlat;
  ev.source = "test.json";
  ev.line = static_cast<uint64_t>(seconds);
  ev.timestamp_ns = (1'700'000'000 + seconds) * 1'000'000'000;
  ev.Add(kEventId, ValueType::kInt, "1");
  ev.Add(kChan, ValueType::kString, kChannel);
  ev.Add(kImage, ValueType::kString, image);
  ev.Add(kUser, ValueType::kString, user);
  ev.Add(kIp, ValueType::kIp, ip);
  return ev;
}

std::shared_ptr<const RuleSet> Load(const std::string& yaml, LoadResult* result = nullptr) {
  auto loaded = LoadRulesFromText(yaml, "inline.yml", {});
  EXPECT_TRUE(loaded.has_value()) << loaded.error().ToString();
  if (!loaded) return nullptr;
  for (const auto& issue : loaded->issues)
    ADD_FAILURE() << issue.path << ":" << issue.line << ": " << issue.reason;
  if (result) *result = *loaded;
  return loaded->rules;
}

constexpr char kRules[] = R"(
title: Net Use
id: 11111111-1111-4111-8111-111111111111
name: net_use
status: test
level: low
tags: [attack.discovery, attack.t1087]
logsource: {product: windows, category: process_creation}
detection:
  selection:
    Image|endswith: '\net.exe'
  condition: selection
---
title: Whoami
id: 22222222-2222-4222-8222-222222222222
name: whoami
level: low
logsource: {product: windows, category: process_creation}
detection:
  selection:
    Image|endswith: '\whoami.exe'
  condition: selection
---
title: Recon burst from one address
id: 33333333-3333-4333-8333-333333333333
level: high
correlation:
  type: temporal
  rules: [11111111-1111-4111-8111-111111111111, whoami]
  group-by: [client]
  timespan: 5m
  aliases:
    client:
      net_use: SourceIp
      whoami: SourceIp
)";

TEST(SigmaDetector, RuleMatchBecomesAlertWithRuleMetadata) {
  RuleSetHandle handle;
  handle.Set(Load(kRules));
  auto detector = MakeSigmaDetector(&handle);
  std::vector<Alert> alerts;
  detector->Inspect(Logon("alice", "10.1.1.1", 0), alerts);
  // The correlation has generate: false (default), so its base rules raise nothing
  // of their own.
  EXPECT_TRUE(alerts.empty());
}

TEST(SigmaDetector, TemporalCorrelationWithAliasesAcrossIdAndNameReferences) {
  // `rules:` names the first rule by id, `aliases:` by name: both must resolve.
  RuleSetHandle handle;
  handle.Set(Load(kRules));
  auto detector = MakeSigmaDetector(&handle);
  std::vector<Alert> alerts;
  detector->Inspect(Logon("alice", "10.1.1.1", 0), alerts);
  detector->Inspect(Logon("bob", "10.2.2.2", 10, "C:\\Windows\\System32\\whoami.exe"), alerts);
  EXPECT_TRUE(alerts.empty()) << "different client: no correlation";
  detector->Inspect(Logon("carol", "10.1.1.1", 20, "C:\\Windows\\System32\\whoami.exe"), alerts);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].detector, "sigma-correlation");
  EXPECT_EQ(alerts[0].rule, "33333333-3333-4333-8333-333333333333");
  EXPECT_EQ(alerts[0].severity, Severity::kHigh);
  ASSERT_EQ(alerts[0].matches.size(), 1u);
  EXPECT_EQ(alerts[0].matches[0].field, "client");
  EXPECT_EQ(alerts[0].matches[0].value, "10.1.1.1");
}

TEST(SigmaDetector, GenerateTrueAlsoRaisesBaseRuleAlerts) {
  std::string yaml = kRules;
  yaml += "  generate: true\n";
  RuleSetHandle handle;
  handle.Set(Load(yaml));
  auto detector = MakeSigmaDetector(&handle);
  std::vector<Alert> alerts;
  detector->Inspect(Logon("alice", "10.1.1.1", 0), alerts);
  ASSERT_EQ(alerts.size(), 1u);
  const Alert& a = alerts[0];
  EXPECT_EQ(a.detector, "sigma");
  EXPECT_EQ(a.rule, "11111111-1111-4111-8111-111111111111");
  EXPECT_EQ(a.title, "Net Use");
  EXPECT_EQ(a.severity, Severity::kLow);
  EXPECT_EQ(a.rule_status, "test");
  EXPECT_EQ(a.tags, (std::vector<std::string>{"attack.discovery", "attack.t1087"}));
  ASSERT_EQ(a.matches.size(), 1u);
  EXPECT_EQ(a.matches[0].original, "Image");
  EXPECT_EQ(a.matches[0].field, "process.executable");
  EXPECT_EQ(a.matches[0].indicator, "selection");
  EXPECT_EQ(a.source_ip, "10.1.1.1");
  EXPECT_NE(a.event_json.find("net.exe"), std::string::npos);
}

TEST(SigmaDetector, SwappedRuleSetIsUsedFromTheNextEvent) {
  RuleSetHandle handle;
  handle.Set(Load(R"(
title: A
id: a
logsource: {product: windows, category: process_creation}
detection: {selection: {Image|endswith: '\net.exe'}, condition: selection}
)"));
  auto detector = MakeSigmaDetector(&handle);
  std::vector<Alert> alerts;
  detector->Inspect(Logon("u", "10.0.0.1", 0), alerts);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].rule, "a");
  handle.Set(Load(R"(
title: B
id: b
logsource: {product: windows, category: process_creation}
detection: {selection: {User: u}, condition: selection}
)"));
  alerts.clear();
  detector->Inspect(Logon("u", "10.0.0.1", 1), alerts);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].rule, "b");
}

TEST(SigmaDetector, CorrelationReferringToAMissingRuleIsALoadIssue) {
  auto loaded = LoadRulesFromText(R"(
title: Lonely
correlation:
  type: event_count
  rules: [no_such_rule]
  group-by: [User]
  timespan: 1m
  condition: {gte: 2}
)",
                                  "inline.yml", {});
  ASSERT_TRUE(loaded.has_value());
  ASSERT_EQ(loaded->issues.size(), 1u);
  EXPECT_NE(loaded->issues[0].reason.find("no_such_rule"), std::string::npos);
}

TEST(SigmaDetector, SharedHubCorrelatesAcrossDetectors) {
  // Two workers (say, a Sysmon file and a syslog listener): one sees net.exe, the
  // other whoami.exe from the same address. Only a shared hub correlates them.
  RuleSetHandle handle;
  handle.Set(Load(kRules));
  DetectorOptions shared;
  shared.correlations = MakeCorrelationHub(1000);
  auto first = MakeSigmaDetector(&handle, shared);
  auto second = MakeSigmaDetector(&handle, shared);
  std::vector<Alert> alerts;
  first->Inspect(Logon("alice", "10.1.1.1", 0), alerts);
  second->Inspect(Logon("carol", "10.1.1.1", 20, "C:\\Windows\\System32\\whoami.exe"), alerts);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].detector, "sigma-correlation");
  EXPECT_EQ(CorrelationHubStats(*shared.correlations).correlation_groups, 1u);

  auto alone_first = MakeSigmaDetector(&handle);
  auto alone_second = MakeSigmaDetector(&handle);
  alerts.clear();
  alone_first->Inspect(Logon("alice", "10.1.1.1", 0), alerts);
  alone_second->Inspect(Logon("carol", "10.1.1.1", 20, "C:\\Windows\\System32\\whoami.exe"),
                        alerts);
  EXPECT_TRUE(alerts.empty()) << "separate windows never see both events";
}

TEST(SigmaDetector, SharedHubFollowsTheNewestRuleSet) {
  RuleSetHandle handle;
  handle.Set(Load(kRules));
  DetectorOptions shared;
  shared.correlations = MakeCorrelationHub(1000);
  auto first = MakeSigmaDetector(&handle, shared);
  auto second = MakeSigmaDetector(&handle, shared);
  std::vector<Alert> alerts;
  first->Inspect(Logon("alice", "10.1.1.1", 0), alerts);
  handle.Set(Load(kRules));  // a reload: windows start afresh with the new rules
  second->Inspect(Logon("carol", "10.1.1.1", 20, "C:\\Windows\\System32\\whoami.exe"), alerts);
  EXPECT_TRUE(alerts.empty());
  first->Inspect(Logon("alice", "10.1.1.1", 30), alerts);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].detector, "sigma-correlation");
}

TEST(SigmaDetector, EvictionCounterWhenTheCeilingBites) {
  std::string yaml = R"(
title: Net Use
name: net_use
logsource: {product: windows, category: process_creation}
detection: {selection: {Image|endswith: '\net.exe'}, condition: selection}
---
title: Many per user
correlation:
  type: event_count
  rules: [net_use]
  group-by: [User]
  timespan: 1h
  condition: {gte: 100}
)";
  RuleSetHandle handle;
  handle.Set(Load(yaml));
  DetectorOptions options;
  options.correlation_max_groups = 10;
  auto detector = MakeSigmaDetector(&handle, options);
  std::vector<Alert> alerts;
  for (int i = 0; i < 50; ++i)
    detector->Inspect(Logon("user" + std::to_string(i), "10.0.0.1", i), alerts);
  const DetectorStats stats = SigmaDetectorStats(*detector);
  EXPECT_EQ(stats.correlation_evicted, 40u);
  EXPECT_LE(stats.correlation_groups, 10u);
}

}  // namespace
}  // namespace aegis::detect::sigma
