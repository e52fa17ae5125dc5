// Tests for plain lists and maltrail trees: comments, inline comments, categories,
// and the whole real maltrail tree checked against an independent line count.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "intel/intel.h"
#include "intel/loaders.h"
#include "test_sinks.h"

namespace aegis::intel {
namespace {

namespace fs = std::filesystem;
using testing::CollectingSink;
using testing::CountingSink;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("aegis-plain-test-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  void Write(const std::string& relative, std::string_view content) const {
    fs::path file = path_ / relative;
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << content;
  }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

TEST(PlainTest, CommentsBlankLinesAndInlineComments) {
  constexpr std::string_view kList =
      "# Copyright line\n"
      "\n"
      "evil.com\n"
      "   \t\n"
      "  # indented comment\n"
      "1.2.3.4:443 # C2 port\n"
      "http://bad.example.org/gate.php#frag\n"
      "10.0.0.1\n"
      "/only/a/path\r\n"
      "last-line-without-newline.net";
  CollectingSink sink;
  LoadReport report;
  LoadOptions options;
  options.defaults.confidence = 65;
  {
    internal::LoadContext context(options, sink, report);
    IndicatorMeta meta = options.defaults;
    meta.source = "list.txt";
    internal::LoadPlainText(kList, "list.txt", meta, context);
  }
  EXPECT_EQ(sink.Values(), (std::vector<std::string>{"evil.com", "1.2.3.4", "bad.example.org/gate.php",
                                                     "last-line-without-newline.net"}));
  EXPECT_EQ(report.accepted, 4u);
  EXPECT_EQ(report.rejected, 2u);
  EXPECT_EQ(report.rejected_by_reason.at("private or special-purpose range"), 1u);
  EXPECT_EQ(report.rejected_by_reason.at("path-only trail (no host)"), 1u);
  EXPECT_EQ(report.accepted_by_type.at("domain"), 2u);
  EXPECT_EQ(report.accepted_by_type.at("ipv4"), 1u);
  EXPECT_EQ(report.accepted_by_type.at("url"), 1u);
  ASSERT_EQ(report.rejects.size(), 2u);
  EXPECT_EQ(report.rejects[0].where, "list.txt:8");
  EXPECT_EQ(report.rejects[0].value, "10.0.0.1");
  EXPECT_EQ(report.rejects[1].where, "list.txt:9");
  ASSERT_EQ(sink.metas.size(), 1u);
  EXPECT_EQ(sink.metas[0].source, "list.txt");
  EXPECT_EQ(sink.metas[0].confidence, 65);
}

TEST(PlainTest, LoadPathOnFileAndSourceOverride) {
  TempDir dir;
  dir.Write("feed.txt", "evil.com\nbad.org\n");
  CollectingSink sink;
  LoadOptions options;
  options.source_name = "my-feed";
  auto report = LoadPath((dir.path() / "feed.txt").string(), options, sink);
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_EQ(report->files, 1u);
  EXPECT_EQ(report->accepted, 2u);
  ASSERT_EQ(sink.metas.size(), 1u);
  EXPECT_EQ(sink.metas[0].source, "my-feed");
}

TEST(PlainTest, MissingPathFails) {
  CollectingSink sink;
  auto report = LoadPath("/nonexistent/aegis/feed.txt", LoadOptions{}, sink);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().reason, "no such file or folder");
}

TEST(PlainTest, RejectsAreCappedButCountsAreNot) {
  std::string list;
  for (int i = 0; i < 50; ++i) list += "10.0.0." + std::to_string(i) + "\n";
  CollectingSink sink;
  LoadReport report;
  LoadOptions options;
  options.max_rejects = 5;
  {
    internal::LoadContext context(options, sink, report);
    internal::LoadPlainText(list, "x", options.defaults, context);
  }
  EXPECT_EQ(report.rejected, 50u);
  EXPECT_EQ(report.rejects.size(), 5u);
  options.keep_rejects = false;
  LoadReport quiet;
  {
    internal::LoadContext context(options, sink, quiet);
    internal::LoadPlainText(list, "x", options.defaults, context);
  }
  EXPECT_TRUE(quiet.rejects.empty());
}

TEST(LoadPathTest, MixedFolderPicksEachFilesFormat) {
  TempDir dir;
  dir.Write("a.txt", "plain-list.com\n");
  dir.Write("b.csv", "id,value\n1,csv-feed.com\n");
  dir.Write("c.json", R"({"type": "bundle", "objects": [{"type": "indicator", "id": "indicator--1",
                         "pattern": "[domain-name:value = 'stix-feed.com']"}]})");
  dir.Write("hosts", "0.0.0.0 hosts-file.com\n0.0.0.0 hosts-file2.com\n");
  dir.Write("sub/d.hosts", "127.0.0.1 nested-hosts.com\n");
  dir.Write("README.md", "readme-is-skipped.com\n");
  dir.Write(".hidden.txt", "hidden-is-skipped.com\n");
  dir.Write("misp/manifest.json", R"({"0001": {"info": "x"}})");
  dir.Write("misp/0001.json", R"({"Event": {"uuid": "0001", "Attribute": [
                                  {"type": "domain", "value": "misp-feed.com", "to_ids": true}]}})");
  CollectingSink sink;
  auto report = LoadPath(dir.path().string(), LoadOptions{}, sink);
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_TRUE(report->errors.empty()) << report->errors[0].ToString();
  EXPECT_EQ(report->files, 6u);
  std::vector<std::string> values = sink.Values();
  std::sort(values.begin(), values.end());
  EXPECT_EQ(values, (std::vector<std::string>{"csv-feed.com", "hosts-file.com", "hosts-file2.com", "misp-feed.com",
                                              "nested-hosts.com", "plain-list.com", "stix-feed.com"}));
}

TEST(LoadPathTest, ForcedFormat) {
  TempDir dir;
  dir.Write("list.dat", "0.0.0.0 forced-hosts.com\n");
  CollectingSink sink;
  LoadOptions options;
  options.format = FeedFormat::kHosts;
  auto report = LoadPath((dir.path() / "list.dat").string(), options, sink);
  ASSERT_TRUE(report);
  EXPECT_EQ(sink.Values(), (std::vector<std::string>{"forced-hosts.com"}));
  EXPECT_EQ(ParseFeedFormat("STIX"), FeedFormat::kStix);
  EXPECT_EQ(ParseFeedFormat("maltrail"), FeedFormat::kMaltrail);
  EXPECT_FALSE(ParseFeedFormat("xml"));
  EXPECT_EQ(FeedFormatName(FeedFormat::kMisp), "misp");
}

TEST(MaltrailTest, CategoryRules) {
  IndicatorMeta defaults;
  defaults.tlp = Tlp::kGreen;
  IndicatorMeta malware = internal::MaltrailMeta("malware", "emotet", defaults);
  EXPECT_EQ(malware.source, "maltrail/malware/emotet");
  EXPECT_EQ(malware.severity, Severity::kHigh);
  EXPECT_EQ(malware.confidence, 80);
  EXPECT_EQ(malware.tags, (std::vector<std::string>{"malware", "malware:emotet"}));
  EXPECT_EQ(malware.tlp, Tlp::kGreen);
  IndicatorMeta malicious = internal::MaltrailMeta("malicious", "bad_proxy", defaults);
  EXPECT_EQ(malicious.severity, Severity::kHigh);
  EXPECT_EQ(malicious.confidence, 70);
  IndicatorMeta suspicious = internal::MaltrailMeta("suspicious", "crypto_mining", defaults);
  EXPECT_EQ(suspicious.severity, Severity::kMedium);
  EXPECT_EQ(suspicious.confidence, 50);
  IndicatorMeta scanner = internal::MaltrailMeta("mass_scanner", "mass_scanner_cidr", defaults);
  EXPECT_EQ(scanner.severity, Severity::kLow);
  EXPECT_EQ(scanner.confidence, 40);
  EXPECT_EQ(scanner.source, "maltrail/mass_scanner/mass_scanner_cidr");
}

TEST(MaltrailTest, SmallTreeIsDetected) {
  TempDir dir;
  dir.Write("trails/static/malware/emotet.txt", "# Aliases: Emotet\n\nemotet-c2.com\n66.210.228.178:443\n");
  dir.Write("trails/static/suspicious/crypto_mining.txt", "pool.minexmr.com\n");
  dir.Write("trails/static/mass_scanner_cidr.txt", "5.63.151.0/24 # scanners.labs.rapid7.com\n");
  dir.Write("trails/static/__init__.py", "evil-in-python.com\n");
  dir.Write("LICENSE", "not-a-trail.com\n");
  CollectingSink sink;
  auto report = LoadPath(dir.path().string(), LoadOptions{}, sink);
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_EQ(report->files, 3u);
  EXPECT_EQ(report->accepted, 4u);
  EXPECT_FALSE(sink.Find("evil-in-python.com"));
  EXPECT_FALSE(sink.Find("not-a-trail.com"));
  const auto* c2 = sink.Find("emotet-c2.com");
  ASSERT_TRUE(c2);
  EXPECT_EQ(sink.MetaOf(*c2).source, "maltrail/malware/emotet");
  const auto* ip = sink.Find("66.210.228.178");
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->type, IndicatorType::kIpv4);
  const auto* pool = sink.Find("pool.minexmr.com");
  ASSERT_TRUE(pool);
  EXPECT_EQ(sink.MetaOf(*pool).severity, Severity::kMedium);
  const auto* range = sink.Find("5.63.151.0/24");
  ASSERT_TRUE(range);
  EXPECT_EQ(range->type, IndicatorType::kCidr);
  EXPECT_EQ(sink.MetaOf(*range).source, "maltrail/mass_scanner/mass_scanner_cidr");
  EXPECT_EQ(sink.MetaOf(*range).severity, Severity::kLow);
}

// Non-comment, non-blank lines of every *.txt under `root`, counted by plain line reading.
uint64_t CountTrailLines(const fs::path& root, uint64_t& files) {
  uint64_t lines = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".txt") continue;
    ++files;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string line;
    while (std::getline(in, line)) {
      size_t first = line.find_first_not_of(" \t\r");
      if (first == std::string::npos || line[first] == '#') continue;
      ++lines;
    }
  }
  return lines;
}

TEST(MaltrailTest, RealTreeAccountsForEveryLine) {
  fs::path root = fs::path(AEGIS_SHARED_DATA) / "intel" / "maltrail";
  if (!fs::exists(root / "trails" / "static")) {
    GTEST_SKIP() << "maltrail tree not found under " << root << " (AEGIS_SHARED_DATA)";
  }
  uint64_t expected_files = 0;
  uint64_t expected_lines = CountTrailLines(root / "trails" / "static", expected_files);

  CountingSink sink;
  auto start = std::chrono::steady_clock::now();
  auto report = LoadPath(root.string(), LoadOptions{}, sink);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_TRUE(report->errors.empty());
  EXPECT_EQ(report->files, expected_files);
  EXPECT_EQ(report->accepted + report->rejected, expected_lines);
  EXPECT_EQ(report->not_loaded, 0u);
  EXPECT_EQ(sink.total, report->accepted);
  EXPECT_EQ(sink.metas, expected_files);
  EXPECT_EQ(sink.bad_meta_ids, 0u);
  uint64_t by_type_sum = 0;
  for (const auto& [type, count] : report->accepted_by_type) by_type_sum += count;
  EXPECT_EQ(by_type_sum, report->accepted);
  uint64_t by_reason_sum = 0;
  for (const auto& [reason, count] : report->rejected_by_reason) by_reason_sum += count;
  EXPECT_EQ(by_reason_sum, report->rejected);
  // Sanity: the tree is mostly good data.
  EXPECT_GT(report->accepted, expected_lines * 9 / 10);
  EXPECT_GT(report->accepted_by_type.at("domain"), 1'000'000u);
  EXPECT_GT(report->accepted_by_type.at("ipv4"), 100'000u);
  EXPECT_GT(report->accepted_by_type.at("url"), 10'000u);

  std::cout << "maltrail: " << report->files << " files, " << expected_lines << " values, "
            << report->accepted << " accepted, " << report->rejected << " rejected in " << seconds << " s\n";
  for (const auto& [type, count] : report->accepted_by_type) std::cout << "  " << type << ": " << count << "\n";
  std::vector<std::pair<uint64_t, std::string>> reasons;
  for (const auto& [reason, count] : report->rejected_by_reason) reasons.emplace_back(count, reason);
  std::sort(reasons.rbegin(), reasons.rend());
  for (size_t i = 0; i < reasons.size() && i < 12; ++i) {
    std::cout << "  rejected " << reasons[i].first << ": " << reasons[i].second << "\n";
  }
}

}  // namespace
}  // namespace aegis::intel
