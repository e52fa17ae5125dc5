// Tests for the STIX 2.1 loader: supported and unsupported patterns (with their exact
// reasons), TLP markings, metadata, expiry, revocation, and the OASIS examples.
#include <gtest/gtest.h>

#include <filesystem>

#include "intel/intel.h"
#include "intel/loaders.h"
#include "test_sinks.h"

namespace aegis::intel {
namespace {

namespace fs = std::filesystem;
using testing::CollectingSink;

constexpr int64_t kSecond = 1'000'000'000;

LoadReport LoadStix(std::string_view json, CollectingSink& sink) {
  LoadOptions options;
  LoadReport report;
  internal::LoadContext context(options, sink, report);
  internal::LoadStixText(json, "test.json", context);
  context.Flush();
  return report;
}

std::string Indicator(std::string_view pattern, std::string_view extra = "") {
  std::string json = R"({"type": "indicator", "spec_version": "2.1", "id": "indicator--0001",
      "created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z", "pattern_type": "stix",
      "valid_from": "2024-01-01T00:00:00Z", "pattern": ")";
  json.append(pattern);
  json.append("\"");
  json.append(extra);
  json.append("}");
  return json;
}

struct PatternCase {
  std::string_view pattern;
  std::vector<std::string> values;
};

TEST(StixPatternTest, SupportedForms) {
  const PatternCase kCases[] = {
      {"[domain-name:value = 'Evil.com']", {"evil.com"}},
      {"[ipv4-addr:value = '198.51.99.0/24']", {"198.51.99.0/24"}},
      {"[ipv4-addr:value = '45.9.20.1']", {"45.9.20.1"}},
      {"[ipv4-addr:value = '45.9.20.1/32']", {"45.9.20.1"}},
      {"[ipv6-addr:value = '2a00:1450::/32']", {"2a00:1450::/32"}},
      {"[url:value = 'http://evil.com/a?b=1']", {"evil.com/a?b=1"}},
      {"[file:hashes.'SHA-256' = 'EF537F25C895BFA782526529A9B63D97AA631564D5D789C2B765448C8635FB6C']",
       {"ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c"}},
      {"[file:hashes.MD5 = '00dbb9e1c09dbdafb360f3163ba5a3de']", {"00dbb9e1c09dbdafb360f3163ba5a3de"}},
      {"[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']",
       {"da39a3ee5e6b4b0d3255bfef95601890afd80709"}},
      {"[email-addr:value = 'Bad@Evil.com']", {"bad@evil.com"}},
      {"[domain-name:value = 'a.com'] OR [domain-name:value = 'b.com']", {"a.com", "b.com"}},
      {"[domain-name:value = 'a.com' OR ipv4-addr:value = '45.9.20.1']", {"a.com", "45.9.20.1"}},
      {"([domain-name:value = 'a.com'] OR ([url:value = 'http://b.com/x']))", {"a.com", "b.com/x"}},
      {"[(domain-name:value = 'a.com' OR domain-name:value = 'c.com')]", {"a.com", "c.com"}},
      {"[domain-name:value == 'a.com']", {"a.com"}},
      {"  [ domain-name:value='a.com' ]  /* comment */", {"a.com"}},
      {"[url:value = 'http://evil.com/it\\\\'s']", {"evil.com/it's"}},
  };
  for (const PatternCase& c : kCases) {
    CollectingSink sink;
    LoadReport report = LoadStix(Indicator(c.pattern), sink);
    EXPECT_EQ(sink.Values(), c.values) << c.pattern;
    EXPECT_EQ(report.not_loaded, 0u) << c.pattern;
    EXPECT_EQ(report.rejected, 0u) << c.pattern;
  }
}

TEST(StixPatternTest, TypesFollowTheObjectPath) {
  CollectingSink sink;
  LoadStix(Indicator("[ipv4-addr:value = '45.9.20.0/24'] OR [ipv6-addr:value = '2a00:1450::1'] OR "
                     "[file:hashes.'SHA-256' = '" + std::string(64, 'a') + "']"),
           sink);
  ASSERT_EQ(sink.indicators.size(), 3u);
  EXPECT_EQ(sink.indicators[0].type, IndicatorType::kCidr);
  EXPECT_EQ(sink.indicators[1].type, IndicatorType::kIpv6);
  EXPECT_EQ(sink.indicators[2].type, IndicatorType::kSha256);
}

struct UnsupportedCase {
  std::string_view pattern;
  std::string_view reason;
};

TEST(StixPatternTest, UnsupportedFormsAreNotLoadedWithTheReason) {
  const std::string kOnly = ": only single comparisons or OR of comparisons are supported";
  const UnsupportedCase kCases[] = {
      {"[domain-name:value = 'a.com' AND ipv4-addr:value = '45.9.20.1']", "pattern uses AND"},
      {"[domain-name:value = 'a.com'] AND [url:value = 'http://a.com/x']", "pattern uses AND"},
      {"[domain-name:value = 'a.com'] FOLLOWEDBY [domain-name:value = 'b.com']", "pattern uses FOLLOWEDBY"},
      {"[domain-name:value MATCHES '^evil']", "pattern uses MATCHES"},
      {"[domain-name:value LIKE 'evil%']", "pattern uses LIKE"},
      {"[domain-name:value = 'a.com'] WITHIN 300 SECONDS", "pattern uses WITHIN"},
      {"[domain-name:value = 'a.com'] REPEATS 5 TIMES", "pattern uses REPEATS"},
      {"[domain-name:value = 'a.com'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
       "pattern uses START"},
      {"[domain-name:value != 'a.com']", "pattern uses !="},
      {"[domain-name:value <> 'a.com']", "pattern uses <>"},
      {"[file:size > 1000]", "pattern uses >"},
      {"[domain-name:value NOT = 'a.com']", "pattern uses NOT"},
      {"[ipv4-addr:value IN ('45.9.20.1', '45.9.20.2')]", "pattern uses IN"},
      {"[ipv4-addr:value ISSUBSET '45.9.20.0/24']", "pattern uses ISSUBSET"},
      {"[EXISTS windows-registry-key:values]", "pattern uses EXISTS"},
  };
  for (const UnsupportedCase& c : kCases) {
    CollectingSink sink;
    LoadReport report = LoadStix(Indicator(c.pattern), sink);
    EXPECT_TRUE(sink.indicators.empty()) << c.pattern;
    EXPECT_EQ(report.not_loaded, 1u) << c.pattern;
    std::string expected = std::string(c.reason) + kOnly;
    EXPECT_EQ(report.not_loaded_by_reason.count(expected), 1u) << c.pattern << " -> "
                                                                << (report.rejects.empty() ? "" : report.rejects[0].reason);
  }
}

TEST(StixPatternTest, OtherPathsLiteralsAndSyntax) {
  CollectingSink sink;
  LoadReport report = LoadStix(Indicator("[file:name = 'CBricksDoc']"), sink);
  EXPECT_EQ(report.not_loaded_by_reason.at("unsupported object path 'file:name'"), 1u);

  // In an OR the supported comparisons still load.
  report = LoadStix(Indicator("[file:name = 'x.exe' OR domain-name:value = 'a.com' OR "
                              "file:hashes.'SHA-512' = 'abc']"),
                    sink);
  EXPECT_EQ(sink.Values(), (std::vector<std::string>{"a.com"}));
  EXPECT_EQ(report.not_loaded, 2u);
  EXPECT_EQ(report.not_loaded_by_reason.at("unsupported object path 'file:hashes.'SHA-512''"), 1u);

  report = LoadStix(Indicator("[file:size = 1000]"), sink);
  EXPECT_EQ(report.not_loaded_by_reason.at("comparison with a non-string literal (file:size)"), 1u);
  report = LoadStix(Indicator("[domain-name:value = 'a.com'"), sink);
  EXPECT_EQ(report.not_loaded_by_reason.at("pattern syntax error: expected ']'"), 1u);
  report = LoadStix(Indicator("[domain-name:value = 'a.com]"), sink);
  EXPECT_EQ(report.not_loaded_by_reason.at("pattern syntax error: unterminated string literal"), 1u);
  report = LoadStix(Indicator("domain-name:value = 'a.com'"), sink);
  EXPECT_EQ(report.not_loaded_by_reason.at("pattern syntax error: expected '[' or '('"), 1u);
  report = LoadStix(Indicator("[domain-name:value = 'a.com'] [domain-name:value = 'b.com']"), sink);
  EXPECT_EQ(report.not_loaded_by_reason.at("pattern syntax error: unexpected text after the pattern"), 1u);
}

TEST(StixTest, JunkValuesAreRejectedPerComparison) {
  CollectingSink sink;
  LoadReport report = LoadStix(Indicator("[ipv4-addr:value = '10.0.0.0'] OR [domain-name:value = "
                                         "'domain autuo.xicp.net'] OR [domain-name:value = 'ok.net']"),
                               sink);
  EXPECT_EQ(sink.Values(), (std::vector<std::string>{"ok.net"}));
  EXPECT_EQ(report.rejected_by_reason.at("private or special-purpose range"), 1u);
  EXPECT_EQ(report.rejected_by_reason.at("malformed domain: invalid character ' '"), 1u);
  ASSERT_EQ(report.rejects.size(), 2u);
  EXPECT_EQ(report.rejects[0].where, "test.json:indicator--0001");
}

TEST(StixTest, MetadataRevokedExpiredAndPatternType) {
  constexpr std::string_view kBundle = R"({
    "type": "bundle", "id": "bundle--1",
    "objects": [
      {"type": "indicator", "spec_version": "2.1", "id": "indicator--a",
       "created": "2024-01-01T00:00:00Z", "modified": "2024-02-01T00:00:00Z",
       "name": "C2 domain", "description": "Seen in phishing", "confidence": 85,
       "labels": ["c2", "apt"], "indicator_types": ["malicious-activity"],
       "pattern": "[domain-name:value = 'c2.example.net']", "pattern_type": "stix",
       "valid_from": "2024-01-02T00:00:00Z", "valid_until": "2024-03-01T00:00:00Z"},
      {"type": "indicator", "spec_version": "2.1", "id": "indicator--expired",
       "created": "2015-01-01T00:00:00Z", "modified": "2015-01-01T00:00:00Z",
       "pattern": "[domain-name:value = 'old.example.net']", "pattern_type": "stix",
       "valid_from": "2015-01-01T00:00:00Z", "valid_until": "2016-01-01T00:00:00Z"},
      {"type": "indicator", "spec_version": "2.1", "id": "indicator--revoked", "revoked": true,
       "created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z",
       "pattern": "[domain-name:value = 'revoked.example.net']", "pattern_type": "stix",
       "valid_from": "2024-01-01T00:00:00Z"},
      {"type": "indicator", "spec_version": "2.1", "id": "indicator--sigma",
       "created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z",
       "pattern": "title: x", "pattern_type": "sigma", "valid_from": "2024-01-01T00:00:00Z"},
      {"type": "indicator", "id": "indicator--nopattern"},
      {"type": "malware", "id": "malware--1", "name": "not an indicator", "is_family": true},
      {"type": "relationship", "id": "relationship--1", "source_ref": "indicator--a", "target_ref": "malware--1"}
    ]})";
  CollectingSink sink;
  LoadReport report = LoadStix(kBundle, sink);
  EXPECT_EQ(sink.Values(), (std::vector<std::string>{"c2.example.net", "old.example.net"}));
  EXPECT_EQ(report.not_loaded_by_reason.at("revoked"), 1u);
  EXPECT_EQ(report.not_loaded_by_reason.at("pattern_type 'sigma' is not supported"), 1u);
  EXPECT_EQ(report.rejected_by_reason.at("indicator without pattern"), 1u);
  EXPECT_TRUE(report.errors.empty());

  const IndicatorMeta& meta = sink.MetaOf(sink.indicators[0]);
  EXPECT_EQ(meta.description, "C2 domain: Seen in phishing");
  EXPECT_EQ(meta.confidence, 85);
  EXPECT_EQ(meta.tags, (std::vector<std::string>{"c2", "apt", "malicious-activity"}));
  EXPECT_EQ(meta.first_seen_ns, 1'704'153'600 * kSecond);
  EXPECT_EQ(meta.last_seen_ns, 1'706'745'600 * kSecond);
  EXPECT_EQ(meta.valid_until_ns, 1'709'251'200 * kSecond);
  EXPECT_EQ(meta.source, "test.json");
  EXPECT_EQ(meta.tlp, Tlp::kClear);
  // Expired indicators load with their valid_until; the index drops them at match time.
  EXPECT_EQ(sink.MetaOf(sink.indicators[1]).valid_until_ns, 1'451'606'400 * kSecond);
}

struct MarkingCase {
  std::string_view id;
  Tlp tlp;
};

TEST(StixTest, TlpMarkings) {
  const MarkingCase kCases[] = {
      {"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", Tlp::kClear},
      {"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", Tlp::kGreen},
      {"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", Tlp::kAmber},
      {"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", Tlp::kAmberStrict},
      {"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", Tlp::kRed},
      {"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", Tlp::kClear},
      {"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", Tlp::kGreen},
      {"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", Tlp::kAmber},
      {"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", Tlp::kRed},
  };
  for (const MarkingCase& c : kCases) {
    CollectingSink sink;
    std::string refs = ", \"object_marking_refs\": [\"" + std::string(c.id) + "\"]";
    LoadStix(Indicator("[domain-name:value = 'a.com']", refs), sink);
    ASSERT_EQ(sink.indicators.size(), 1u) << c.id;
    EXPECT_EQ(sink.MetaOf(sink.indicators[0]).tlp, c.tlp) << c.id;
  }
  // Several markings: the most restrictive wins; unknown ids are ignored.
  CollectingSink sink;
  LoadStix(Indicator("[domain-name:value = 'a.com']",
                     R"(, "object_marking_refs": ["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
                         "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ec",
                         "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"])"),
           sink);
  EXPECT_EQ(sink.MetaOf(sink.indicators[0]).tlp, Tlp::kAmber);
}

TEST(StixTest, MarkingDefinitionsInTheBundle) {
  // A marking defined later in the bundle, in TLP 2.0 extension form and in 1.0 form.
  constexpr std::string_view kBundle = R"({"type": "bundle", "id": "bundle--2", "objects": [
      {"type": "indicator", "id": "indicator--1", "pattern": "[domain-name:value = 'a.com']",
       "pattern_type": "stix", "object_marking_refs": ["marking-definition--custom-1"]},
      {"type": "indicator", "id": "indicator--2", "pattern": "[domain-name:value = 'b.com']",
       "object_marking_refs": ["marking-definition--custom-2"]},
      {"type": "marking-definition", "id": "marking-definition--custom-1", "name": "TLP:AMBER+STRICT",
       "extensions": {"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":
                      {"extension_type": "property-extension", "tlp_2_0": "amber+strict"}}},
      {"type": "marking-definition", "id": "marking-definition--custom-2", "definition_type": "tlp",
       "definition": {"tlp": "green"}}
  ]})";
  CollectingSink sink;
  LoadStix(kBundle, sink);
  ASSERT_EQ(sink.indicators.size(), 2u);
  EXPECT_EQ(sink.MetaOf(sink.indicators[0]).tlp, Tlp::kAmberStrict);
  EXPECT_EQ(sink.MetaOf(sink.indicators[1]).tlp, Tlp::kGreen);
}

TEST(StixTest, SingleObjectArrayAndBadJson) {
  CollectingSink sink;
  LoadReport report = LoadStix(Indicator("[domain-name:value = 'single.com']"), sink);
  EXPECT_EQ(sink.Values(), (std::vector<std::string>{"single.com"}));
  std::string array = "[";
  array.append(Indicator("[domain-name:value = 'x1.com']"));
  array.push_back(',');
  array.append(Indicator("[domain-name:value = 'x2.com']"));
  array.push_back(']');
  report = LoadStix(array, sink);
  EXPECT_EQ(report.accepted, 2u);
  report = LoadStix("{\"type\": \"bundle\", \"objects\": [", sink);
  EXPECT_FALSE(report.errors.empty());
  report = LoadStix("42", sink);
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_EQ(report.errors[0].reason, "not a STIX bundle or object");
}

TEST(StixTest, OasisExamples) {
  fs::path root = fs::path(AEGIS_SHARED_DATA) / "intel" / "stix" / "examples";
  if (!fs::exists(root)) GTEST_SKIP() << "STIX examples not found under " << root << " (AEGIS_SHARED_DATA)";
  int files_with_indicators = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().extension() != ".json") continue;
    CollectingSink sink;
    auto report = LoadPath(entry.path().string(), LoadOptions{}, sink);
    ASSERT_TRUE(report) << entry.path();
    EXPECT_TRUE(report->errors.empty()) << entry.path() << ": " << report->errors[0].ToString();
    EXPECT_EQ(report->accepted, sink.indicators.size());
    if (report->accepted + report->rejected + report->not_loaded == 0) continue;
    ++files_with_indicators;
    for (const auto& indicator : sink.indicators) {
      EXPECT_FALSE(indicator.value.empty());
      EXPECT_LT(indicator.meta, sink.metas.size());
    }
    std::string name = entry.path().filename().string();
    if (name == "indicator-for-c2-ip-address.json") {
      // The example's only address is 10.0.0.0: private, so rejected.
      EXPECT_EQ(report->accepted, 0u);
      EXPECT_EQ(report->rejected_by_reason.at("private or special-purpose range"), 1u);
    }
    // Expected counts below come from reading the example files by hand.
    if (name == "apt1.json") {
      EXPECT_EQ(report->accepted, 10u);
      EXPECT_EQ(report->accepted_by_type.at("cidr"), 4u);
      EXPECT_EQ(report->accepted_by_type.at("domain"), 3u);
      EXPECT_EQ(report->accepted_by_type.at("md5"), 3u);
      EXPECT_EQ(report->not_loaded_by_reason.at(
                    "pattern uses AND: only single comparisons or OR of comparisons are supported"),
                2u);
    }
    if (name == "poisonivy.json") {
      EXPECT_EQ(report->accepted_by_type.at("ipv4"), 40u);
      EXPECT_EQ(report->accepted_by_type.at("domain"), 24u);
      EXPECT_EQ(report->rejected_by_reason.at("malformed domain: invalid character ' '"), 1u);
      EXPECT_EQ(report->not_loaded_by_reason.at("unsupported object path 'file:name'"), 2u);
    }
    if (name == "malicious-email-indicator-with-attachment.json") {
      EXPECT_EQ(report->not_loaded_by_reason.at(
                    "pattern uses MATCHES: only single comparisons or OR of comparisons are supported"),
                2u);
    }
  }
  EXPECT_GE(files_with_indicators, 5);
}

}  // namespace
}  // namespace aegis::intel
