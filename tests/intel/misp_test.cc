// Tests for the MISP feed loader: a small feed folder written to a temp dir.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "intel/intel.h"
#include "intel/loaders.h"
#include "test_sinks.h"

namespace aegis::intel {
namespace {

namespace fs = std::filesystem;
using testing::CollectingSink;

constexpr int64_t kSecond = 1'000'000'000;

constexpr std::string_view kManifest = R"({
  "5f1b2c3d-0000-4000-8000-000000000001": {"info": "Phishing wave", "date": "2023-11-14", "threat_level_id": "1"},
  "5f1b2c3d-0000-4000-8000-000000000002": {"info": "Info from the manifest only"},
  "5f1b2c3d-0000-4000-8000-000000000003": {"info": "Listed but missing"},
  "../../etc/passwd": {"info": "path traversal attempt"}
})";

constexpr std::string_view kEvent1 = R"({"Event": {
  "uuid": "5f1b2c3d-0000-4000-8000-000000000001", "info": "Phishing wave against hospitals",
  "date": "2023-11-14", "threat_level_id": "1",
  "Tag": [{"name": "tlp:amber", "colour": "#FFC000"}, {"name": "misp-galaxy:threat-actor=\"X\""}],
  "Attribute": [
    {"uuid": "a-1", "type": "ip-dst", "value": "45.9.20.1", "to_ids": true, "category": "Network activity",
     "timestamp": "1700000000"},
    {"uuid": "a-2", "type": "ip-src|port", "value": "45.9.20.2|8080", "to_ids": true, "timestamp": "1700000000"},
    {"uuid": "a-3", "type": "domain", "value": "Phish.Example.NET", "to_ids": true, "timestamp": "1700000000",
     "Tag": [{"name": "tlp:red"}, {"name": "phishing"}]},
    {"uuid": "a-4", "type": "hostname", "value": "login.phish.example.net", "to_ids": false},
    {"uuid": "a-5", "type": "domain|ip", "value": "c2.example.org|45.9.20.3", "to_ids": true},
    {"uuid": "a-6", "type": "url", "value": "hxxp://phish.example.net/login.php", "to_ids": true},
    {"uuid": "a-7", "type": "filename|sha256",
     "value": "invoice.exe|EF537F25C895BFA782526529A9B63D97AA631564D5D789C2B765448C8635FB6C", "to_ids": true},
    {"uuid": "a-8", "type": "md5", "value": "00dbb9e1c09dbdafb360f3163ba5a3de", "to_ids": "1"},
    {"uuid": "a-9", "type": "email-src", "value": "Billing@Phish.Example.net", "to_ids": 1},
    {"uuid": "a-10", "type": "mutex", "value": "Global\\evil", "to_ids": true},
    {"uuid": "a-11", "type": "ip-dst", "value": "192.168.1.10", "to_ids": true},
    {"uuid": "a-12", "type": "domain", "value": "deleted.example.net", "to_ids": true, "deleted": true},
    {"uuid": "a-13", "type": "uri", "value": "/gate.php", "to_ids": true},
    {"uuid": "a-14", "type": "ip-dst", "value": "45.9.21.0/24", "to_ids": true,
     "first_seen": "2023-11-01T00:00:00Z", "last_seen": "2023-11-10T00:00:00Z"}
  ],
  "Object": [
    {"name": "file", "Attribute": [
      {"uuid": "o-1", "type": "sha1", "value": "da39a3ee5e6b4b0d3255bfef95601890afd80709", "to_ids": true},
      {"uuid": "o-2", "type": "filename", "value": "invoice.exe", "to_ids": false}]},
    {"name": "domain-ip", "deleted": true, "Attribute": [
      {"uuid": "o-3", "type": "domain", "value": "gone.example.net", "to_ids": true}]}
  ]
}})";

// No "Event" wrapper, no info, threat level 3.
constexpr std::string_view kEvent2 = R"({
  "uuid": "5f1b2c3d-0000-4000-8000-000000000002", "threat_level_id": "3",
  "Attribute": [{"uuid": "b-1", "type": "sha256", "value": "%s", "to_ids": true}]
})";

class MispFeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("aegis-misp-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    Write("manifest.json", kManifest);
    Write("5f1b2c3d-0000-4000-8000-000000000001.json", kEvent1);
    std::string event2(kEvent2);
    event2.replace(event2.find("%s"), 2, std::string(64, 'c'));
    Write("5f1b2c3d-0000-4000-8000-000000000002.json", event2);
    Write("hashes.csv", "not,loaded\n");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, std::string_view content) {
    std::ofstream(dir_ / name, std::ios::binary) << content;
  }
  fs::path dir_;
};

TEST_F(MispFeedTest, LoadsToIdsAttributes) {
  CollectingSink sink;
  auto report = LoadPath(dir_.string(), LoadOptions{}, sink);
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_EQ(report->files, 2u);
  EXPECT_EQ(sink.Values(),
            (std::vector<std::string>{"45.9.20.1", "45.9.20.2", "phish.example.net", "c2.example.org", "45.9.20.3",
                                      "phish.example.net/login.php",
                                      "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c",
                                      "00dbb9e1c09dbdafb360f3163ba5a3de", "billing@phish.example.net",
                                      "45.9.21.0/24", "da39a3ee5e6b4b0d3255bfef95601890afd80709",
                                      std::string(64, 'c')}));
  EXPECT_EQ(report->not_loaded_by_reason.at("to_ids is false"), 2u);
  EXPECT_EQ(report->not_loaded_by_reason.at("deleted attribute"), 2u);
  EXPECT_EQ(report->not_loaded_by_reason.at("unsupported MISP attribute type 'mutex'"), 1u);
  EXPECT_EQ(report->rejected_by_reason.at("private or special-purpose range"), 1u);
  EXPECT_EQ(report->rejected_by_reason.at("path-only trail (no host)"), 1u);
  EXPECT_EQ(report->accepted_by_type.at("ipv4"), 3u);
  EXPECT_EQ(report->accepted_by_type.at("cidr"), 1u);
  EXPECT_EQ(report->accepted_by_type.at("domain"), 2u);
  EXPECT_EQ(report->accepted_by_type.at("sha256"), 2u);
  // The missing event and the bad uuid are file errors; the rest still loads.
  ASSERT_EQ(report->errors.size(), 2u);
  EXPECT_NE(report->errors[0].where.find("000000000003.json"), std::string::npos);
  EXPECT_EQ(report->errors[1].reason, "manifest lists an invalid event uuid '../../etc/passwd'");
}

TEST_F(MispFeedTest, MetadataFromEventAndAttribute) {
  CollectingSink sink;
  auto report = LoadPath(dir_.string(), LoadOptions{}, sink);
  ASSERT_TRUE(report);
  const auto* ip = sink.Find("45.9.20.1");
  ASSERT_TRUE(ip);
  const IndicatorMeta& ip_meta = sink.MetaOf(*ip);
  EXPECT_EQ(ip_meta.source, "misp/5f1b2c3d-0000-4000-8000-000000000001");
  EXPECT_EQ(ip_meta.description, "Phishing wave against hospitals");
  EXPECT_EQ(ip_meta.tlp, Tlp::kAmber);
  EXPECT_EQ(ip_meta.severity, Severity::kHigh);
  EXPECT_EQ(ip_meta.last_seen_ns, 1'700'000'000 * kSecond);
  EXPECT_EQ(ip_meta.tags, (std::vector<std::string>{"misp-galaxy:threat-actor=\"X\"",
                                                    "misp-category:Network activity"}));
  const IndicatorMeta& domain_meta = sink.MetaOf(*sink.Find("phish.example.net"));
  EXPECT_EQ(domain_meta.tlp, Tlp::kRed);  // the attribute's own TLP tag wins
  EXPECT_NE(std::find(domain_meta.tags.begin(), domain_meta.tags.end(), "phishing"), domain_meta.tags.end());
  const IndicatorMeta& range_meta = sink.MetaOf(*sink.Find("45.9.21.0/24"));
  EXPECT_EQ(range_meta.first_seen_ns, 1'698'796'800 * kSecond);
  EXPECT_EQ(range_meta.last_seen_ns, 1'699'574'400 * kSecond);
  const IndicatorMeta& event2_meta = sink.MetaOf(*sink.Find(std::string(64, 'c')));
  EXPECT_EQ(event2_meta.description, "Info from the manifest only");
  EXPECT_EQ(event2_meta.severity, Severity::kLow);
  EXPECT_EQ(event2_meta.tlp, Tlp::kClear);
}

TEST_F(MispFeedTest, AllAttributesWhenAsked) {
  CollectingSink sink;
  LoadOptions options;
  options.misp_only_to_ids = false;
  auto report = LoadPath(dir_.string(), options, sink);
  ASSERT_TRUE(report);
  EXPECT_TRUE(sink.Find("login.phish.example.net"));
  EXPECT_EQ(report->not_loaded_by_reason.count("to_ids is false"), 0u);
  // "filename" is not an indicator type Aegis matches.
  EXPECT_EQ(report->not_loaded_by_reason.at("unsupported MISP attribute type 'filename'"), 1u);
}

TEST(MispEventTest, SingleEventFileAndBadJson) {
  CollectingSink sink;
  LoadReport report;
  LoadOptions options;
  {
    internal::LoadContext context(options, sink, report);
    internal::LoadMispEventText(kEvent1, "event.json", "", context);
    internal::LoadMispEventText("{\"Event\": {\"uuid\": ", "broken.json", "", context);
    internal::LoadMispEventText("{\"something\": 1}", "other.json", "", context);
  }
  EXPECT_EQ(report.accepted, 11u);
  ASSERT_EQ(report.errors.size(), 2u);
  EXPECT_EQ(report.errors[0].where, "broken.json");
  EXPECT_EQ(report.errors[1].reason, "not a MISP event (no Event.uuid and no attributes)");
}

}  // namespace
}  // namespace aegis::intel
