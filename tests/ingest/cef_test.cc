// Tests for the CEF parser (src/ingest/cef.cc): header and extension escaping, the
// schema mapping, custom labels, types, times and malformed records.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/event.h"
#include "ingest/parsers.h"
#include "ingest/syslog_internal.h"

namespace aegis::ingest {
namespace {

std::string ValueOf(const Event& ev, std::string_view name) {
  const Field* field = ev.Find(name);
  return field ? field->value : "<missing " + std::string(name) + ">";
}

class CefTest : public ::testing::Test {
 protected:
  Result<ParseOutcome> Parse(std::string_view record) {
    ev_.Clear();
    return parser_->Parse(record, ev_);
  }
  void ExpectParses(std::string_view record) {
    auto result = Parse(record);
    ASSERT_TRUE(result) << result.error().ToString();
    EXPECT_EQ(*result, ParseOutcome::kEvent);
  }
  std::string ErrorOf(std::string_view record) {
    auto result = Parse(record);
    if (result) return "<parsed>";
    return result.error().field + ": " + result.error().reason;
  }

  std::unique_ptr<RecordParser> parser_ = MakeCefParser();
  Event ev_;
};

TEST_F(CefTest, SpecExampleHeaderAndNetworkFields) {
  ExpectParses(
      "CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 "
      "dst=2.1.2.2 spt=1232");
  EXPECT_EQ(ev_.format, EventFormat::kCef);
  EXPECT_EQ(ValueOf(ev_, "cef.version"), "0");
  EXPECT_EQ(ValueOf(ev_, "observer.vendor"), "Security");
  EXPECT_EQ(ev_.Find("observer.vendor")->key.original, "deviceVendor");
  EXPECT_EQ(ValueOf(ev_, "observer.product"), "threatmanager");
  EXPECT_EQ(ValueOf(ev_, "observer.version"), "1.0");
  EXPECT_EQ(ValueOf(ev_, "event.code"), "100");
  EXPECT_EQ(ValueOf(ev_, "rule.name"), "worm successfully stopped");
  EXPECT_EQ(ValueOf(ev_, "event.severity"), "10");
  EXPECT_EQ(ev_.Find("event.severity")->type, ValueType::kInt);
  const Field* src = ev_.Find("source.ip");
  ASSERT_NE(src, nullptr);
  EXPECT_EQ(src->value, "10.0.0.1");
  EXPECT_EQ(src->type, ValueType::kIp);
  EXPECT_EQ(src->key.original, "src");
  EXPECT_EQ(src->key.kind, kKindIp);
  EXPECT_EQ(ValueOf(ev_, "destination.ip"), "2.1.2.2");
  EXPECT_EQ(ValueOf(ev_, "source.port"), "1232");
  EXPECT_EQ(ev_.Find("source.port")->type, ValueType::kInt);
  EXPECT_EQ(ev_.timestamp_ns, 0);
}

TEST_F(CefTest, HeaderEscapes) {
  ExpectParses(R"(CEF:0|security|threat\|manager|1.0|100|detected a \\ in packet|10|)");
  EXPECT_EQ(ValueOf(ev_, "observer.product"), "threat|manager");
  EXPECT_EQ(ValueOf(ev_, "rule.name"), R"(detected a \ in packet)");
  // An escaped backslash right before a separator does not escape the separator.
  ExpectParses(R"(CEF:0|a\\|b|1|2|n|3|)");
  EXPECT_EQ(ValueOf(ev_, "observer.vendor"), R"(a\)");
  EXPECT_EQ(ValueOf(ev_, "observer.product"), "b");
}

TEST_F(CefTest, ExtensionEscapesAndSpaces) {
  ExpectParses(R"(CEF:0|a|b|1|2|n|3|fname=c:\\Program Files\\x.exe msg=detected a \= sign )"
               R"(act=line1\nline2\rend suser=John  Doe  cs2=pipe \| kept)");
  EXPECT_EQ(ValueOf(ev_, "file.name"), R"(c:\Program Files\x.exe)");
  EXPECT_EQ(ValueOf(ev_, "message"), "detected a = sign");
  EXPECT_EQ(ValueOf(ev_, "event.action"), "line1\nline2\rend");
  EXPECT_EQ(ValueOf(ev_, "source.user.name"), "John  Doe");  // trailing spaces trimmed
  EXPECT_EQ(ValueOf(ev_, "cs2"), "pipe | kept");
}

TEST_F(CefTest, UnescapedEqualsInsideAValueStaysInTheValue) {
  ExpectParses(
      "CEF:0|a|b|1|2|n|3|request=https://x.example/a?b=c&d=e requestMethod=GET "
      "dst=192.0.2.7");
  EXPECT_EQ(ValueOf(ev_, "url.full"), "https://x.example/a?b=c&d=e");
  EXPECT_EQ(ev_.Find("url.full")->key.kind, kKindUrl);
  EXPECT_EQ(ValueOf(ev_, "http.request.method"), "GET");
  EXPECT_EQ(ValueOf(ev_, "destination.ip"), "192.0.2.7");
}

TEST_F(CefTest, SchemaMapping) {
  ExpectParses(
      "CEF:1|Vendor|Product|3|sig-9|Name|5|shost=a.example dhost=b.example suser=alice "
      "duser=bob requestClientApplication=Mozilla/5.0 (X11) fname=x.exe proto=TCP "
      "act=allowed msg=hello world dpt=80 dvc=192.0.2.1 deviceCustomNumber=7 cnt=3 "
      "sourceAddress=2001:db8::1");
  EXPECT_EQ(ValueOf(ev_, "cef.version"), "1");
  EXPECT_EQ(ValueOf(ev_, "source.domain"), "a.example");
  EXPECT_EQ(ev_.Find("source.domain")->key.kind, kKindDomain);
  EXPECT_EQ(ValueOf(ev_, "destination.domain"), "b.example");
  EXPECT_EQ(ValueOf(ev_, "source.user.name"), "alice");
  EXPECT_EQ(ValueOf(ev_, "destination.user.name"), "bob");
  EXPECT_EQ(ValueOf(ev_, "user_agent.original"), "Mozilla/5.0 (X11)");
  EXPECT_EQ(ValueOf(ev_, "file.name"), "x.exe");
  EXPECT_EQ(ValueOf(ev_, "network.transport"), "tcp");
  EXPECT_EQ(ev_.Find("network.transport")->key.original, "proto");
  EXPECT_EQ(ValueOf(ev_, "event.action"), "allowed");
  EXPECT_EQ(ValueOf(ev_, "message"), "hello world");
  EXPECT_EQ(ValueOf(ev_, "destination.port"), "80");
  EXPECT_EQ(ValueOf(ev_, "observer.ip"), "192.0.2.1");
  EXPECT_EQ(ValueOf(ev_, "deviceCustomNumber"), "7");  // unknown keys keep their name
  EXPECT_EQ(ev_.Find("deviceCustomNumber")->key.original, "deviceCustomNumber");
  EXPECT_EQ(ev_.Find("cnt")->type, ValueType::kInt);
  const Field* v6 = ev_.Find("source.ip");
  ASSERT_NE(v6, nullptr);
  EXPECT_EQ(v6->type, ValueType::kIp);
  EXPECT_EQ(v6->key.original, "sourceAddress");
}

TEST_F(CefTest, TypesOnlyWhenValid) {
  ExpectParses("CEF:0|a|b|1|2|n|3|src=not-an-ip spt=http cfp1=1.5 cfp2=x c6a1=::1 cn1=12");
  EXPECT_EQ(ValueOf(ev_, "source.ip"), "not-an-ip");
  EXPECT_EQ(ev_.Find("source.ip")->type, ValueType::kString);
  EXPECT_EQ(ev_.Find("source.port")->type, ValueType::kString);
  EXPECT_EQ(ev_.Find("cfp1")->type, ValueType::kFloat);
  EXPECT_EQ(ev_.Find("cfp2")->type, ValueType::kString);
  EXPECT_EQ(ev_.Find("c6a1")->type, ValueType::kIp);
  EXPECT_EQ(ev_.Find("cn1")->type, ValueType::kInt);
}

TEST_F(CefTest, CustomLabelsAddALabelledField) {
  ExpectParses(
      "CEF:0|a|b|1|2|n|3|cs1=Block all cn1Label=Hit Count cs1Label=Rule Name cn1=42 "
      "cs2=no label");
  EXPECT_EQ(ValueOf(ev_, "cs1"), "Block all");
  EXPECT_EQ(ValueOf(ev_, "cs1Label"), "Rule Name");
  const Field* labelled = ev_.Find("cef.custom.Rule_Name");
  ASSERT_NE(labelled, nullptr);
  EXPECT_EQ(labelled->value, "Block all");
  EXPECT_EQ(labelled->key.original, "Rule Name");
  const Field* count = ev_.Find("cef.custom.Hit_Count");
  ASSERT_NE(count, nullptr);
  EXPECT_EQ(count->value, "42");
  EXPECT_EQ(count->type, ValueType::kInt);
  EXPECT_EQ(ValueOf(ev_, "cs2"), "no label");
  size_t custom_fields = 0;
  for (const Field& f : ev_.fields()) custom_fields += f.key.name.starts_with("cef.custom.");
  EXPECT_EQ(custom_fields, 2u);
}

TEST_F(CefTest, FileHashByLength) {
  ExpectParses("CEF:0|a|b|1|2|n|3|fileHash=D41D8CD98F00B204E9800998ECF8427E");
  EXPECT_EQ(ValueOf(ev_, "file.hash.md5"), "D41D8CD98F00B204E9800998ECF8427E");
  EXPECT_EQ(ev_.Find("file.hash.md5")->key.original, "fileHash");
  EXPECT_EQ(ev_.Find("file.hash.md5")->key.kind, kKindHash);
  ExpectParses("CEF:0|a|b|1|2|n|3|fileHash=da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(ValueOf(ev_, "file.hash.sha1"), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  ExpectParses(
      "CEF:0|a|b|1|2|n|3|fileHash="
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(ValueOf(ev_, "file.hash.sha256"),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  ExpectParses("CEF:0|a|b|1|2|n|3|fileHash=xyz");
  EXPECT_EQ(ev_.Find("file.hash.md5"), nullptr);
  EXPECT_EQ(ValueOf(ev_, "fileHash"), "xyz");
}

TEST_F(CefTest, Times) {
  ExpectParses("CEF:0|a|b|1|2|n|3|rt=1577836800123");
  EXPECT_EQ(ev_.timestamp_ns, *ParseTime("2020-01-01T00:00:00.123Z"));
  EXPECT_EQ(ValueOf(ev_, "event.created"), "2020-01-01T00:00:00.123000Z");
  EXPECT_EQ(ev_.Find("event.created")->type, ValueType::kTime);
  EXPECT_EQ(ev_.Find("event.created")->key.original, "rt");

  ExpectParses("CEF:0|a|b|1|2|n|3|rt=Jan 01 2020 00:00:00");
  EXPECT_EQ(ev_.timestamp_ns, *ParseTime("2020-01-01T00:00:00Z"));
  ExpectParses("CEF:0|a|b|1|2|n|3|rt=Jan 01 2020 01:30:00.250 +01:30");
  EXPECT_EQ(ev_.timestamp_ns, *ParseTime("2020-01-01T00:00:00.25Z"));
  ExpectParses("CEF:0|a|b|1|2|n|3|rt=Jan 01 2020 00:00:00 UTC");
  EXPECT_EQ(ev_.timestamp_ns, *ParseTime("2020-01-01T00:00:00Z"));
  ExpectParses("CEF:0|a|b|1|2|n|3|rt=1577836800");  // seconds, not milliseconds
  EXPECT_EQ(ev_.timestamp_ns, *ParseTime("2020-01-01T00:00:00Z"));

  // start/end set the time only without rt; rt wins wherever it appears.
  ExpectParses("CEF:0|a|b|1|2|n|3|end=1577836900000 start=1577836800000");
  EXPECT_EQ(ev_.timestamp_ns, *ParseTime("2020-01-01T00:00:00Z"));
  EXPECT_EQ(ValueOf(ev_, "event.end"), "2020-01-01T00:01:40.000000Z");
  ExpectParses("CEF:0|a|b|1|2|n|3|start=1577836800000 rt=1577840400000");
  EXPECT_EQ(ev_.timestamp_ns, *ParseTime("2020-01-01T01:00:00Z"));

  // An unreadable time stays text and sets no timestamp.
  ExpectParses("CEF:0|a|b|1|2|n|3|rt=yesterday-ish");
  EXPECT_EQ(ev_.timestamp_ns, 0);
  EXPECT_EQ(ValueOf(ev_, "event.created"), "yesterday-ish");
  EXPECT_EQ(ev_.Find("event.created")->type, ValueType::kString);
  ExpectParses("CEF:0|a|b|1|2|n|3|rt=Jan 01 2020 00:00:00 PST");
  EXPECT_EQ(ev_.timestamp_ns, 0);
  // Times beyond what int64 nanoseconds hold (found by fuzzing) stay text.
  for (std::string_view far : {"rt=9999999999999999", "rt=77836800000", "rt=9999-01-01T00:00:00Z",
                               "rt=Jan 01 9999 00:00:00"}) {
    ExpectParses("CEF:0|a|b|1|2|n|3|" + std::string(far));
    EXPECT_EQ(ev_.timestamp_ns, 0) << far;
    EXPECT_EQ(ev_.Find("event.created")->type, ValueType::kString) << far;
  }
}

TEST_F(CefTest, SeverityWordsAndOptionalTrailingPipe) {
  ExpectParses("CEF:0|a|b|1|2|n|Very-High|");
  EXPECT_EQ(ev_.Find("event.severity"), nullptr);
  EXPECT_EQ(ValueOf(ev_, "cef.severity"), "Very-High");
  ExpectParses("CEF:0|a|b|1|2|n|high");
  EXPECT_EQ(ValueOf(ev_, "cef.severity"), "High");
  ExpectParses("CEF:0|a|b|1|2|n|0|   ");
  EXPECT_EQ(ValueOf(ev_, "event.severity"), "0");
  ExpectParses("CEF:0|||||n|3|\r\n");
  EXPECT_EQ(ev_.Find("observer.vendor"), nullptr);  // empty header fields are left out
}

TEST_F(CefTest, MalformedRecordsNameFieldAndReason) {
  EXPECT_EQ(ErrorOf("hello"), "cef.version: record does not start with 'CEF:<version>|'");
  EXPECT_EQ(ErrorOf("CEF:x|a|b|1|2|n|3|"),
            "cef.version: record does not start with 'CEF:<version>|'");
  EXPECT_EQ(ErrorOf("CEF:0x|a|b|1|2|n|3|"), "cef.version: CEF version must be a number, got '0x'");
  EXPECT_EQ(ErrorOf("CEF:0|a|b|c"),
            "cef.header: header has 4 '|'-separated fields; CEF needs 7 (Version|Device "
            "Vendor|Device Product|Device Version|Signature ID|Name|Severity) and an extension");
  // An escaped pipe is not a separator: the severity field is then empty.
  EXPECT_EQ(ErrorOf(R"(CEF:0|a|b|1|2|n\|3|)"),
            "severity: severity must be 0-10 or Unknown, Low, Medium, High, Very-High; got ''");
  EXPECT_EQ(ErrorOf("CEF:0|a|b|1|2|n|11|"), "severity: severity must be 0-10, got '11'");
  EXPECT_EQ(ErrorOf("CEF:0|a|b|1|2|n|bad|"),
            "severity: severity must be 0-10 or Unknown, Low, Medium, High, Very-High; got "
            "'bad'");
  EXPECT_EQ(ErrorOf("CEF:0|a|b|1|2|n|3|garbage without pairs"),
            "cef.extension: extension has no key=value pair: 'garbage without pairs'");
  EXPECT_EQ(ErrorOf("CEF:0|a|b|1|2|n|3|bad/key=1"),
            "cef.extension: extension key 'bad/key' has characters other than letters, "
            "digits, '_', '.', '-', '[]'");
  EXPECT_EQ(ErrorOf("CEF:0|a|b|1|2|n|3|=1"),
            "cef.extension: extension key '' has characters other than letters, digits, '_', "
            "'.', '-', '[]'");
}

TEST_F(CefTest, EmptyValuesAndDuplicateKeys) {
  ExpectParses("CEF:0|a|b|1|2|n|3|suser= duser=bob act=a act=b");
  EXPECT_EQ(ev_.Find("source.user.name"), nullptr);
  EXPECT_EQ(ValueOf(ev_, "destination.user.name"), "bob");
  size_t actions = 0;
  for (const Field& f : ev_.fields()) actions += f.key.name == "event.action";
  EXPECT_EQ(actions, 2u);
}

TEST_F(CefTest, UnknownKeyNamesAreBoundedPerParser) {
  for (size_t i = 0; i <= DynamicKeyCache::kDefaultLimit; ++i) {
    ExpectParses("CEF:0|a|b|1|2|n|3|k" + std::to_string(i) + "=v");
  }
  EXPECT_EQ(ev_.Find("k" + std::to_string(DynamicKeyCache::kDefaultLimit)), nullptr);
  EXPECT_EQ(ValueOf(ev_, "cef.extension"),
            "k" + std::to_string(DynamicKeyCache::kDefaultLimit) + "=v");
  ExpectParses("CEF:0|a|b|1|2|n|3|k1=again src=10.0.0.1");
  EXPECT_EQ(ValueOf(ev_, "k1"), "again");
  EXPECT_EQ(ValueOf(ev_, "source.ip"), "10.0.0.1");  // mapped keys never use the cache
}

}  // namespace
}  // namespace aegis::ingest
