// Tests of SniffFormat (format recognition from the first bytes) and MakeParser.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "ingest/ingest.h"

namespace aegis::ingest {
namespace {

using namespace std::string_literals;

TEST(SniffFormat, ZeekTsv) {
  EXPECT_EQ(SniffFormat("#separator \\x09\n#set_separator\t,\n"), EventFormat::kZeekTsv);
  EXPECT_EQ(SniffFormat("#fields\tts\tuid\n"), EventFormat::kZeekTsv);
  EXPECT_EQ(SniffFormat("# just a comment\n"), EventFormat::kUnknown);
}

TEST(SniffFormat, ZeekJson) {
  EXPECT_EQ(SniffFormat(R"({"_path":"dns","ts":"2018-03-24T17:15:20.865716Z"})"),
            EventFormat::kZeekJson);
  EXPECT_EQ(SniffFormat(R"({"ts":1521911720.1,"uid":"C1","id.orig_h":"10.0.0.1"})"),
            EventFormat::kZeekJson);
  // A key that merely contains "_path" in a string value does not count.
  EXPECT_EQ(SniffFormat(R"({"note":"_path","x":1})"), EventFormat::kUnknown);
}

TEST(SniffFormat, Suricata) {
  EXPECT_EQ(SniffFormat(R"({"timestamp":"2021-01-01T00:00:00.000000+0000","flow_id":1,)"
                        R"("event_type":"dns","src_ip":"10.0.0.1"})"),
            EventFormat::kSuricataEve);
}

TEST(SniffFormat, WindowsJsonPrettyPrintedAndArrays) {
  const std::string pretty =
      "{\n  \"Event\": {\n    \"#attributes\": {\"xmlns\": \"x\"},\n"
      "    \"System\": {\n      \"EventID\": 1\n    }\n  }\n}\n";
  EXPECT_EQ(SniffFormat(pretty), EventFormat::kWindowsJson);
  EXPECT_EQ(SniffFormat("[\n" + pretty + "]"), EventFormat::kWindowsJson);
  // "System" elsewhere than under "Event" is not enough.
  EXPECT_EQ(SniffFormat(R"({"Other":{"System":1}})"), EventFormat::kUnknown);
}

TEST(SniffFormat, WindowsFlat) {
  EXPECT_EQ(SniffFormat(R"({"EventID":4624,"Channel":"Security","Hostname":"h"})"),
            EventFormat::kWindowsFlat);
  EXPECT_EQ(SniffFormat(R"({"SourceName":"Microsoft-Windows-Sysmon","EventID":1})"),
            EventFormat::kWindowsFlat);
  EXPECT_EQ(SniffFormat(R"({"EventID":1})"), EventFormat::kUnknown);  // no Windows key
}

TEST(SniffFormat, WindowsXml) {
  EXPECT_EQ(SniffFormat("<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>"),
            EventFormat::kWindowsXml);
  EXPECT_EQ(SniffFormat("<?xml version=\"1.0\"?>\n<Events><Event>"), EventFormat::kWindowsXml);
}

TEST(SniffFormat, Evtx) { EXPECT_EQ(SniffFormat("ElfFile\0\0\0\0\0"s), EventFormat::kEvtx); }

TEST(SniffFormat, CefPlainAndAfterSyslogHeader) {
  EXPECT_EQ(SniffFormat("CEF:0|Vendor|Product|1.0|100|Name|5|src=10.0.0.1\n"), EventFormat::kCef);
  EXPECT_EQ(SniffFormat("<134>Feb 13 10:00:00 host CEF:0|V|P|1|2|N|3|\n"), EventFormat::kCef);
  EXPECT_EQ(SniffFormat("Feb 13 10:00:00 host CEF:0|V|P|1|2|N|3|\n"), EventFormat::kCef);
}

TEST(SniffFormat, Syslog) {
  EXPECT_EQ(SniffFormat("<165>1 2003-10-11T22:14:15.003Z host app - ID47 - msg\n"),
            EventFormat::kSyslog5424);
  EXPECT_EQ(SniffFormat("<34>Oct 11 22:14:15 mymachine su: 'su root' failed\n"),
            EventFormat::kSyslog3164);
  EXPECT_EQ(SniffFormat("<13>something without a timestamp\n"), EventFormat::kSyslog3164);
  EXPECT_EQ(SniffFormat("Oct 11 22:14:15 mymachine su: 'su root' failed\n"),
            EventFormat::kSyslog3164);
  EXPECT_EQ(SniffFormat("<abc>not syslog"), EventFormat::kUnknown);
}

TEST(SniffFormat, UnknownAndEdgeCases) {
  EXPECT_EQ(SniffFormat(""), EventFormat::kUnknown);
  EXPECT_EQ(SniffFormat("   \n\n"), EventFormat::kUnknown);
  EXPECT_EQ(SniffFormat("hello world\n"), EventFormat::kUnknown);
  EXPECT_EQ(SniffFormat(R"({"a":1})"), EventFormat::kUnknown);
  EXPECT_EQ(SniffFormat("{"), EventFormat::kUnknown);
  EXPECT_EQ(SniffFormat("[1,2,3]"), EventFormat::kUnknown);
  // A UTF-8 byte order mark and leading blank lines are skipped.
  EXPECT_EQ(SniffFormat("\xEF\xBB\xBF\n\n{\"_path\":\"conn\"}"), EventFormat::kZeekJson);
  // Cut in the middle of the first object: the keys seen so far decide.
  EXPECT_EQ(SniffFormat(R"({"event_type":"alert","alert":{"signature":"ET )"),
            EventFormat::kSuricataEve);
}

TEST(MakeParser, EveryRecordFormatHasAParser) {
  for (EventFormat format :
       {EventFormat::kZeekJson, EventFormat::kZeekTsv, EventFormat::kSuricataEve,
        EventFormat::kWindowsJson, EventFormat::kWindowsFlat, EventFormat::kWindowsXml,
        EventFormat::kSyslog5424, EventFormat::kSyslog3164, EventFormat::kCef}) {
    auto parser = MakeParser(format);
    ASSERT_NE(parser, nullptr) << FormatName(format);
    EXPECT_EQ(parser->format(), format) << FormatName(format);
  }
  EXPECT_EQ(MakeParser(EventFormat::kUnknown), nullptr);
  EXPECT_EQ(MakeParser(EventFormat::kEvtx), nullptr);
}

// The Sigma regression data holds real pretty-printed Windows JSON exports.
TEST(SniffFormat, SharedWindowsJsonSamples) {
  const std::filesystem::path root = std::string(AEGIS_SHARED_DATA) + "/sigma/regression_data";
  if (!std::filesystem::exists(root)) GTEST_SKIP() << "shared data not found at " << root;
  int checked = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.path().extension() != ".json" || checked >= 20) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string head(64 * 1024, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<size_t>(in.gcount()));
    EXPECT_EQ(SniffFormat(head), EventFormat::kWindowsJson) << entry.path();
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

}  // namespace
}  // namespace aegis::ingest
