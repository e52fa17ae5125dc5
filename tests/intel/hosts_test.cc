// Tests for the hosts-file loader and hosts format detection.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "intel/intel.h"
#include "intel/loaders.h"
#include "test_sinks.h"

namespace aegis::intel {
namespace {

using testing::CollectingSink;

TEST(HostsTest, NamesAfterTheAddressBecomeDomains) {
  constexpr std::string_view kHosts =
      "# Title: example blocklist\n"
      "127.0.0.1 localhost\n"
      "::1 ip6-localhost ip6-loopback\n"
      "0.0.0.0 Evil.COM other.net   # two names\n"
      "127.0.0.1\tads.example.org\n"
      "0.0.0.0 0.0.0.0\n"
      "\n"
      "evil-without-address.com\n"
      "0.0.0.0 bad_name!.com\n"
      "0.0.0.0 45.9.20.1\n";
  CollectingSink sink;
  LoadReport report;
  LoadOptions options;
  {
    internal::LoadContext context(options, sink, report);
    internal::LoadHostsText(kHosts, "hosts", options.defaults, context);
  }
  EXPECT_EQ(sink.Values(), (std::vector<std::string>{"evil.com", "other.net", "ads.example.org", "45.9.20.1"}));
  EXPECT_EQ(sink.indicators[0].type, IndicatorType::kDomain);
  EXPECT_EQ(sink.indicators[3].type, IndicatorType::kIpv4);
  EXPECT_EQ(report.not_loaded, 4u);
  EXPECT_EQ(report.not_loaded_by_reason.at("localhost name"), 4u);
  EXPECT_EQ(report.rejected, 2u);
  EXPECT_EQ(report.rejected_by_reason.at("hosts line without address"), 1u);
  EXPECT_EQ(report.rejected_by_reason.at("malformed domain: invalid character '!'"), 1u);
  EXPECT_EQ(report.accepted_by_type.at("domain"), 3u);
}

TEST(HostsTest, FormatDetection) {
  using internal::DetectFileFormat;
  EXPECT_EQ(DetectFileFormat("blocklist.txt", "# hosts\n0.0.0.0 a.com\n0.0.0.0 b.com\n127.0.0.1 c.com\n"),
            FeedFormat::kHosts);
  EXPECT_EQ(DetectFileFormat("list.txt", "a.com\nb.com\n1.2.3.4\n"), FeedFormat::kPlain);
  EXPECT_EQ(DetectFileFormat("list.txt", "1.2.3.4 # comment\n5.6.7.8\n"), FeedFormat::kPlain);
  EXPECT_EQ(DetectFileFormat("feed.csv", "value\nevil.com\n"), FeedFormat::kCsv);
  EXPECT_EQ(DetectFileFormat("x.json", R"({"type": "bundle", "objects": []})"), FeedFormat::kStix);
  EXPECT_EQ(DetectFileFormat("event", R"({"Event": {"uuid": "x"}})"), FeedFormat::kMisp);
}

TEST(HostsTest, LoadPathDetectsHostsFile) {
  namespace fs = std::filesystem;
  fs::path file = fs::temp_directory_path() / ("aegis-hosts-test-" + std::to_string(::getpid()));
  std::ofstream(file) << "0.0.0.0 tracker.example.com\n0.0.0.0 malware.example.net\n";
  CollectingSink sink;
  auto report = LoadPath(file.string(), LoadOptions{}, sink);
  fs::remove(file);
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_EQ(report->accepted, 2u);
  EXPECT_EQ(sink.Values(), (std::vector<std::string>{"tracker.example.com", "malware.example.net"}));
}

}  // namespace
}  // namespace aegis::intel
