// Tests for the CSV loader: RFC 4180 quoting, column mapping by name and index,
// per-row type / confidence / tags / times, commented headers and bad rows.
#include <gtest/gtest.h>

#include "intel/intel.h"
#include "intel/loaders.h"
#include "test_sinks.h"

namespace aegis::intel {
namespace {

using testing::CollectingSink;

constexpr int64_t kSecond = 1'000'000'000;

LoadReport LoadCsv(std::string_view text, const CsvMapping& mapping, CollectingSink& sink) {
  LoadOptions options;
  options.csv = mapping;
  options.defaults.confidence = 50;
  LoadReport report;
  internal::LoadContext context(options, sink, report);
  IndicatorMeta meta = options.defaults;
  meta.source = "feed.csv";
  internal::LoadCsvText(text, "feed.csv", meta, context);
  context.Flush();
  return report;
}

TEST(CsvTest, QuotingAndHeaderNames) {
  constexpr std::string_view kCsv =
      "Indicator,Kind,Score,Labels,First Seen,Expires\r\n"
      "evil.com,domain,90,\"c2, botnet\",2023-11-14T22:13:20Z,1800000000\r\n"
      "\"http://bad.example.org/a,b?x=\"\"1\"\"\",url,40,phish|kit,,\r\n"
      "\"multi\nline.example.net\",,10,,,\r\n"
      "8.8.8.8,ip,not-a-number,,1700000000000,\r\n";
  CsvMapping mapping;
  mapping.value_column = "indicator";  // names match case-insensitively
  mapping.type_column = "Kind";
  mapping.confidence_column = "score";
  mapping.tags_column = "labels";
  mapping.first_seen_column = "first seen";
  mapping.valid_until_column = "EXPIRES";
  CollectingSink sink;
  LoadReport report = LoadCsv(kCsv, mapping, sink);

  EXPECT_EQ(report.accepted, 3u);
  EXPECT_EQ(report.rejected, 1u);
  EXPECT_EQ(report.rejected_by_reason.at("malformed domain: invalid character '\\x0a'"), 1u);
  const auto* evil = sink.Find("evil.com");
  ASSERT_TRUE(evil);
  EXPECT_EQ(evil->type, IndicatorType::kDomain);
  const IndicatorMeta& evil_meta = sink.MetaOf(*evil);
  EXPECT_EQ(evil_meta.confidence, 90);
  EXPECT_EQ(evil_meta.tags, (std::vector<std::string>{"c2", "botnet"}));
  EXPECT_EQ(evil_meta.first_seen_ns, 1'700'000'000 * kSecond);
  EXPECT_EQ(evil_meta.valid_until_ns, 1'800'000'000 * kSecond);
  EXPECT_EQ(evil_meta.source, "feed.csv");

  const auto* url = sink.Find("bad.example.org/a,b?x=\"1\"");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->type, IndicatorType::kUrl);
  EXPECT_EQ(sink.MetaOf(*url).tags, (std::vector<std::string>{"phish", "kit"}));
  EXPECT_EQ(sink.MetaOf(*url).confidence, 40);

  const auto* ip = sink.Find("8.8.8.8");
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->type, IndicatorType::kIpv4);
  EXPECT_EQ(sink.MetaOf(*ip).confidence, 50);  // unparsable score keeps the default
  EXPECT_EQ(sink.MetaOf(*ip).first_seen_ns, 1'700'000'000 * kSecond);  // epoch milliseconds
  ASSERT_EQ(report.rejects.size(), 1u);
  EXPECT_EQ(report.rejects[0].where, "feed.csv:4");  // the record starts on physical line 4
}

TEST(CsvTest, IndicesWithoutHeaderAndOtherDelimiter) {
  constexpr std::string_view kCsv =
      "# exported 2024-01-01\n"
      "1;evil.com;99\n"
      "\n"
      "2;bad.org;5\n"
      "3\n";
  CsvMapping mapping;
  mapping.has_header = false;
  mapping.delimiter = ';';
  mapping.value_column = "1";
  mapping.confidence_column = "2";
  CollectingSink sink;
  LoadReport report = LoadCsv(kCsv, mapping, sink);
  EXPECT_EQ(sink.Values(), (std::vector<std::string>{"evil.com", "bad.org"}));
  EXPECT_EQ(sink.MetaOf(sink.indicators[0]).confidence, 99);
  EXPECT_EQ(sink.MetaOf(sink.indicators[1]).confidence, 5);
  EXPECT_EQ(report.rejected_by_reason.at("row has too few columns"), 1u);
}

TEST(CsvTest, CommentedHeaderLikeAbuseCh) {
  constexpr std::string_view kCsv =
      "################################################################\n"
      "# URLhaus Database Dump (CSV)                                  #\n"
      "################################################################\n"
      "#\n"
      "# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n"
      "\"3000001\",\"2024-05-01 10:00:00\",\"http://203.0.114.9/bins/x.arm\",\"online\",\"\",\"malware_download\","
      "\"elf,mirai\",\"https://urlhaus.abuse.ch/url/3000001/\",\"r\"\n";
  CsvMapping mapping;
  mapping.value_column = "url";
  mapping.tags_column = "tags";
  mapping.first_seen_column = "dateadded";
  CollectingSink sink;
  LoadReport report = LoadCsv(kCsv, mapping, sink);
  ASSERT_EQ(report.accepted, 1u) << (report.errors.empty() ? "" : report.errors[0].ToString());
  const auto& indicator = sink.indicators[0];
  EXPECT_EQ(indicator.value, "203.0.114.9/bins/x.arm");
  EXPECT_EQ(sink.MetaOf(indicator).tags, (std::vector<std::string>{"elf", "mirai"}));
  EXPECT_EQ(sink.MetaOf(indicator).first_seen_ns, 1'714'557'600 * kSecond);
}

TEST(CsvTest, UnknownTypeAndMissingColumn) {
  CsvMapping mapping;
  mapping.type_column = "type";
  CollectingSink sink;
  LoadReport report = LoadCsv("value,type\nevil.com,widget\n1.2.3.4,\n", mapping, sink);
  EXPECT_EQ(report.rejected_by_reason.at("unknown indicator type 'widget'"), 1u);
  EXPECT_EQ(sink.Values(), (std::vector<std::string>{"1.2.3.4"}));

  CollectingSink other;
  CsvMapping missing;
  missing.value_column = "ioc";
  LoadReport failed = LoadCsv("value\nevil.com\n", missing, other);
  ASSERT_EQ(failed.errors.size(), 1u);
  EXPECT_EQ(failed.errors[0].reason, "column 'ioc' not found in the CSV header");
  EXPECT_TRUE(other.indicators.empty());

  CsvMapping named_without_header;
  named_without_header.has_header = false;
  LoadReport no_header = LoadCsv("evil.com\n", named_without_header, other);
  ASSERT_EQ(no_header.errors.size(), 1u);
  EXPECT_EQ(no_header.errors[0].reason, "column 'value' is named but the CSV has no header");
}

TEST(CsvTest, UnterminatedQuoteAndByteOrderMark) {
  CsvMapping mapping;
  CollectingSink sink;
  LoadReport report = LoadCsv("\xEF\xBB\xBFvalue\nevil.com\n\"never closed\n", mapping, sink);
  EXPECT_EQ(sink.Values(), (std::vector<std::string>{"evil.com"}));
  EXPECT_EQ(report.rejected_by_reason.at("unterminated quoted field"), 1u);
}

TEST(CsvTest, IdenticalRowMetadataIsShared) {
  CsvMapping mapping;
  mapping.confidence_column = "c";
  CollectingSink sink;
  LoadCsv("value,c\na.com,70\nb.com,70\nc.com,30\n", mapping, sink);
  ASSERT_EQ(sink.indicators.size(), 3u);
  EXPECT_EQ(sink.indicators[0].meta, sink.indicators[1].meta);
  EXPECT_NE(sink.indicators[1].meta, sink.indicators[2].meta);
}

}  // namespace
}  // namespace aegis::intel
