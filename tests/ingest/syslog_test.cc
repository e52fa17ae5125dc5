// Tests for the RFC 5424 and RFC 3164 syslog parsers (src/ingest/syslog.cc), including
// syslog messages that carry CEF, and the message format detection used by the listener.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/event.h"
#include "ingest/parsers.h"
#include "ingest/syslog_internal.h"

namespace aegis::ingest {
namespace {

int64_t TimeOf(std::string_view rfc3339) { return *ParseTime(rfc3339); }

std::string ValueOf(const Event& ev, std::string_view name) {
  const Field* field = ev.Find(name);
  return field ? field->value : "<missing " + std::string(name) + ">";
}

class SyslogTest : public ::testing::Test {
 protected:
  Result<ParseOutcome> Parse5424(std::string_view record) {
    ev_.Clear();
    return parser_5424_->Parse(record, ev_);
  }
  Result<ParseOutcome> Parse3164(std::string_view record, std::string_view now) {
    ev_.Clear();
    int64_t now_ns = TimeOf(now);
    auto parser = MakeSyslog3164ParserWithClock([now_ns] { return now_ns; });
    return parser->Parse(record, ev_);
  }
  // The error of a record that must fail, as "field: reason".
  std::string Error5424(std::string_view record) {
    auto result = Parse5424(record);
    if (result) return "<parsed>";
    return result.error().field + ": " + result.error().reason;
  }
  std::string Error3164(std::string_view record) {
    auto result = Parse3164(record, "2024-06-01T12:00:00Z");
    if (result) return "<parsed>";
    return result.error().field + ": " + result.error().reason;
  }

  std::unique_ptr<RecordParser> parser_5424_ = MakeSyslog5424Parser();
  Event ev_;
};

// RFC 5424 section 6.5, example 1 (with a BOM before MSG).
TEST_F(SyslogTest, Rfc5424ExampleWithBomAndNoStructuredData) {
  auto result = Parse5424(
      "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
      "\xEF\xBB\xBF'su root' failed for lonvick on /dev/pts/8");
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_EQ(*result, ParseOutcome::kEvent);
  EXPECT_EQ(ev_.format, EventFormat::kSyslog5424);
  EXPECT_EQ(ev_.timestamp_ns, TimeOf("2003-10-11T22:14:15.003Z"));
  EXPECT_EQ(ValueOf(ev_, "log.syslog.priority"), "34");
  EXPECT_EQ(ValueOf(ev_, "log.syslog.facility.code"), "4");
  EXPECT_EQ(ValueOf(ev_, "log.syslog.facility.name"), "auth");
  EXPECT_EQ(ValueOf(ev_, "log.syslog.severity.code"), "2");
  EXPECT_EQ(ValueOf(ev_, "log.syslog.severity.name"), "critical");
  EXPECT_EQ(ValueOf(ev_, "log.syslog.version"), "1");
  EXPECT_EQ(ValueOf(ev_, "host.name"), "mymachine.example.com");
  EXPECT_EQ(ev_.Find("host.ip"), nullptr);
  EXPECT_EQ(ValueOf(ev_, "process.name"), "su");
  EXPECT_EQ(ev_.Find("process.pid"), nullptr);
  EXPECT_EQ(ValueOf(ev_, "log.syslog.msgid"), "ID47");
  EXPECT_EQ(ValueOf(ev_, "message"), "'su root' failed for lonvick on /dev/pts/8");
  const Field* facility = ev_.Find("log.syslog.facility.code");
  EXPECT_EQ(facility->type, ValueType::kInt);
  EXPECT_EQ(facility->key.original, "syslog.facility.code");
  EXPECT_EQ(ev_.Find("message")->key.original, "msg");
}

// RFC 5424 section 6.5, example 2: offset time, an IP address as HOSTNAME, a PROCID.
TEST_F(SyslogTest, Rfc5424ExampleWithOffsetAndIpHost) {
  auto result = Parse5424(
      "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to "
      "make the do-nuts.");
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_EQ(ev_.timestamp_ns, TimeOf("2003-08-24T12:14:15.000003Z"));
  EXPECT_EQ(ValueOf(ev_, "log.syslog.facility.name"), "local4");
  EXPECT_EQ(ValueOf(ev_, "log.syslog.severity.name"), "notice");
  EXPECT_EQ(ValueOf(ev_, "host.name"), "192.0.2.1");
  ASSERT_NE(ev_.Find("host.ip"), nullptr);
  EXPECT_EQ(ev_.Find("host.ip")->type, ValueType::kIp);
  EXPECT_EQ(ValueOf(ev_, "process.pid"), "8710");
  EXPECT_EQ(ev_.Find("process.pid")->type, ValueType::kInt);
  EXPECT_EQ(ev_.Find("log.syslog.msgid"), nullptr);
  EXPECT_EQ(ValueOf(ev_, "message"), "%% It's time to make the do-nuts.");
}

// RFC 5424 section 6.5, examples 3 and 4: structured data, one and several elements.
TEST_F(SyslogTest, Rfc5424StructuredData) {
  auto result = Parse5424(
      "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
      "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] "
      "\xEF\xBB\xBF"
      "An application event log entry...");
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_EQ(ValueOf(ev_, "exampleSDID@32473.iut"), "3");
  EXPECT_EQ(ValueOf(ev_, "exampleSDID@32473.eventSource"), "Application");
  EXPECT_EQ(ValueOf(ev_, "exampleSDID@32473.eventID"), "1011");
  EXPECT_EQ(ev_.FindOriginal("exampleSDID@32473.iut")->key.name, "exampleSDID@32473.iut");
  EXPECT_EQ(ValueOf(ev_, "message"), "An application event log entry...");

  result = Parse5424(
      "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
      "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]"
      "[examplePriority@32473 class=\"high\"]");
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_EQ(ValueOf(ev_, "exampleSDID@32473.eventID"), "1011");
  EXPECT_EQ(ValueOf(ev_, "examplePriority@32473.class"), "high");
  EXPECT_EQ(ev_.Find("message"), nullptr);
}

TEST_F(SyslogTest, Rfc5424StructuredDataEscapes) {
  auto result =
      Parse5424(R"(<14>1 2024-01-02T03:04:05Z host app 12 - [x@1 a="say \"hi\" \\ and \] done" )"
                R"(b="keep \n as is" c=""][timeQuality tzKnown="1"] text)");
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_EQ(ValueOf(ev_, "x@1.a"), R"(say "hi" \ and ] done)");
  EXPECT_EQ(ValueOf(ev_, "x@1.b"), R"(keep \n as is)");
  EXPECT_EQ(ValueOf(ev_, "x@1.c"), "");
  EXPECT_EQ(ValueOf(ev_, "timeQuality.tzKnown"), "1");
  EXPECT_EQ(ValueOf(ev_, "message"), "text");
}

TEST_F(SyslogTest, Rfc5424NilValuesAndTextProcid) {
  auto result = Parse5424("<0>1 - - - - - -");
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_EQ(ev_.timestamp_ns, 0);
  EXPECT_EQ(ValueOf(ev_, "log.syslog.facility.name"), "kern");
  EXPECT_EQ(ValueOf(ev_, "log.syslog.severity.name"), "emergency");
  EXPECT_EQ(ev_.Find("host.name"), nullptr);
  EXPECT_EQ(ev_.Find("process.name"), nullptr);
  EXPECT_EQ(ev_.Find("message"), nullptr);

  result = Parse5424("<191>1 2024-01-02T03:04:05+05:30 h a worker-7 M - msg\r\n");
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_EQ(ev_.timestamp_ns, TimeOf("2024-01-01T21:34:05Z"));
  EXPECT_EQ(ValueOf(ev_, "log.syslog.facility.name"), "local7");
  EXPECT_EQ(ValueOf(ev_, "log.syslog.severity.name"), "debug");
  EXPECT_EQ(ev_.Find("process.pid"), nullptr);
  EXPECT_EQ(ValueOf(ev_, "log.syslog.procid"), "worker-7");
  EXPECT_EQ(ValueOf(ev_, "message"), "msg");  // trailing CR LF dropped
}

TEST_F(SyslogTest, Rfc5424MalformedInputsNameFieldAndReason) {
  EXPECT_EQ(Error5424("<192>1 - - - - - -"), "syslog.priority: PRI 192 is out of range 0-191");
  EXPECT_EQ(Error5424("<13 1 - - - - - -"), "syslog.priority: PRI is not closed by '>'");
  EXPECT_EQ(Error5424("<>1 - - - - - -"), "syslog.priority: PRI has no digits after '<'");
  EXPECT_EQ(Error5424("<013>1 - - - - - -"), "syslog.priority: PRI has a leading zero");
  EXPECT_EQ(Error5424("<1234>1 - - - - - -"), "syslog.priority: PRI has more than 3 digits");
  EXPECT_EQ(Error5424("13>1 - - - - - -"), "syslog.priority: message does not start with '<PRI>'");
  EXPECT_EQ(Error5424("<13>2 - - - - - -"),
            "syslog.version: unsupported VERSION '2' (only 1 is defined)");
  EXPECT_EQ(Error5424("<13>x - - - - - -"),
            "syslog.version: VERSION after PRI must be a number followed by a space");
  EXPECT_EQ(Error5424("<13>1 2003-10-11 22:14:15 h a - - - m").substr(0, 45),
            "syslog.timestamp: TIMESTAMP '2003-10-11' is n");
  for (std::string_view bad_time :
       {"2003-13-11T22:14:15Z", "2003-02-30T22:14:15Z", "2003-10-11T22:14:15",
        "2003-10-11T25:14:15Z", "2003-10-11T22:14:15.Z", "2003-10-11t22:14:15Z",
        "2003-10-11T22:14:15+0700", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"}) {
    EXPECT_EQ(Error5424("<13>1 " + std::string(bad_time) + " h a - - - m").substr(0, 27),
              "syslog.timestamp: TIMESTAMP")
        << bad_time;
  }
  EXPECT_EQ(Error5424("<13>1 - h a - -"),
            "syslog.structured_data: message ends after MSGID; STRUCTURED-DATA is missing");
  EXPECT_EQ(Error5424("<13>1 -  a - - - m"),
            "hostname: HOSTNAME is missing (empty or doubled space)");
  EXPECT_EQ(Error5424("<13>1 - h\xC3\xA9 a - - - m"),
            "hostname: HOSTNAME has a non-printable or non-ASCII byte");
  EXPECT_EQ(Error5424("<13>1 - h " + std::string(49, 'a') + " - - - m"),
            "app_name: APP-NAME is longer than 48 characters");
  EXPECT_EQ(Error5424("<13>1 - h a - - [x@1 a=\"1\""),
            "syslog.structured_data: SD element 'x@1' is not closed by ']'");
  EXPECT_EQ(Error5424("<13>1 - h a - - [x@1 a=\"1]"),
            "syslog.structured_data: value of SD-PARAM 'x@1.a' has no closing '\"'");
  EXPECT_EQ(Error5424("<13>1 - h a - - [x@1 a=1]"),
            "syslog.structured_data: SD-PARAM 'a' in 'x@1' is not followed by =\"value\"");
  EXPECT_EQ(Error5424("<13>1 - h a - - [ a=\"1\"]"),
            "syslog.structured_data: SD-ID is empty at byte 17");
  EXPECT_EQ(Error5424("<13>1 - h a - - x"),
            "syslog.structured_data: STRUCTURED-DATA must be '-' or start with '['");
  EXPECT_EQ(Error5424("<13>1 - h a - - -m"),
            "syslog.structured_data: STRUCTURED-DATA is not followed by a space before MSG");
}

TEST_F(SyslogTest, Rfc5424CarryingCef) {
  auto result = Parse5424(
      "<134>1 2024-03-01T10:00:00Z fw01 firewall - - - CEF:0|Acme|Gate|2.1|4000|Blocked "
      "connection|7|src=10.1.2.3 dst=203.0.113.9 dpt=443 act=blocked");
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_EQ(ev_.format, EventFormat::kSyslog5424);
  EXPECT_EQ(ev_.timestamp_ns, TimeOf("2024-03-01T10:00:00Z"));
  EXPECT_EQ(ValueOf(ev_, "host.name"), "fw01");
  EXPECT_EQ(ValueOf(ev_, "process.name"), "firewall");
  EXPECT_EQ(ValueOf(ev_, "observer.vendor"), "Acme");
  EXPECT_EQ(ValueOf(ev_, "event.code"), "4000");
  EXPECT_EQ(ValueOf(ev_, "source.ip"), "10.1.2.3");
  EXPECT_EQ(ValueOf(ev_, "destination.port"), "443");
  EXPECT_EQ(ValueOf(ev_, "event.action"), "blocked");
  EXPECT_EQ(ev_.Find("message"), nullptr);  // the CEF text is in raw, not a message field

  // CEF's own time wins over the syslog header's.
  result =
      Parse5424("<134>1 2024-03-01T10:00:00Z fw01 fw - - - CEF:0|A|B|1|1|n|1|rt=1577836800000");
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_EQ(ev_.timestamp_ns, TimeOf("2020-01-01T00:00:00Z"));

  EXPECT_EQ(Error5424("<134>1 - fw01 fw - - - CEF:0|Acme|Gate"),
            "cef.header: CEF in MSG: header has 3 '|'-separated fields; CEF needs 7 "
            "(Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity) "
            "and an extension");
}

TEST_F(SyslogTest, Rfc3164Classic) {
  auto result =
      Parse3164("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
                "2003-10-12T00:00:00Z");
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_EQ(ev_.format, EventFormat::kSyslog3164);
  EXPECT_EQ(ev_.timestamp_ns, TimeOf("2003-10-11T22:14:15Z"));
  EXPECT_EQ(ValueOf(ev_, "log.syslog.facility.name"), "auth");
  EXPECT_EQ(ValueOf(ev_, "log.syslog.severity.name"), "critical");
  EXPECT_EQ(ValueOf(ev_, "host.name"), "mymachine");
  EXPECT_EQ(ValueOf(ev_, "process.name"), "su");
  EXPECT_EQ(ev_.Find("process.name")->key.original, "tag");
  EXPECT_EQ(ValueOf(ev_, "message"), "'su root' failed for lonvick on /dev/pts/8");
}

TEST_F(SyslogTest, Rfc3164Variants) {
  // No PRI, padded day, TAG[pid].
  auto result = Parse3164("Feb  5 17:32:18 web-01 sshd[4123]: Accepted publickey for bob",
                          "2024-06-01T12:00:00Z");
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_EQ(ev_.timestamp_ns, TimeOf("2024-02-05T17:32:18Z"));
  EXPECT_EQ(ev_.Find("log.syslog.priority"), nullptr);
  EXPECT_EQ(ValueOf(ev_, "host.name"), "web-01");
  EXPECT_EQ(ValueOf(ev_, "process.name"), "sshd");
  EXPECT_EQ(ValueOf(ev_, "process.pid"), "4123");
  EXPECT_EQ(ev_.Find("process.pid")->key.original, "pid");
  EXPECT_EQ(ValueOf(ev_, "message"), "Accepted publickey for bob");

  // Unpadded day, no HOSTNAME (the first word is the tag), fraction of a second.
  result = Parse3164("<13>Feb 5 17:32:18.250 cron[77]: job done", "2024-06-01T12:00:00Z");
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_EQ(ev_.timestamp_ns, TimeOf("2024-02-05T17:32:18.25Z"));
  EXPECT_EQ(ev_.Find("host.name"), nullptr);
  EXPECT_EQ(ValueOf(ev_, "process.name"), "cron");
  EXPECT_EQ(ValueOf(ev_, "message"), "job done");

  // A year in the timestamp (as some network devices send), no tag.
  result = Parse3164("<190>Mar 14 2022 09:26:53 10.0.0.5 %ASA-6-302013: Built connection",
                     "2024-06-01T12:00:00Z");
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_EQ(ev_.timestamp_ns, TimeOf("2022-03-14T09:26:53Z"));
  EXPECT_EQ(ValueOf(ev_, "host.ip"), "10.0.0.5");
  EXPECT_EQ(ValueOf(ev_, "process.name"), "%ASA-6-302013");
  EXPECT_EQ(ValueOf(ev_, "message"), "Built connection");

  // Free text after HOSTNAME: no tag at all.
  result =
      Parse3164("<13>Jun  1 10:00:00 host last message repeated 3 times", "2024-06-01T12:00:00Z");
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_EQ(ValueOf(ev_, "host.name"), "host");
  EXPECT_EQ(ev_.Find("process.name"), nullptr);
  EXPECT_EQ(ValueOf(ev_, "message"), "last message repeated 3 times");

  // ISO 8601 timestamp, as rsyslog's RFC 3339 templates send.
  result = Parse3164("<86>2024-05-01T10:00:00.123456+02:00 db1 postgres[900]: checkpoint",
                     "2024-06-01T12:00:00Z");
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_EQ(ev_.timestamp_ns, TimeOf("2024-05-01T08:00:00.123456Z"));
  EXPECT_EQ(ValueOf(ev_, "log.syslog.facility.name"), "authpriv");
  EXPECT_EQ(ValueOf(ev_, "host.name"), "db1");
  EXPECT_EQ(ValueOf(ev_, "process.name"), "postgres");
  EXPECT_EQ(ValueOf(ev_, "message"), "checkpoint");

  // Tag with a non-numeric pid, empty message.
  result = Parse3164("<13>Jun  1 10:00:00 host kernel[abc]:", "2024-06-01T12:00:00Z");
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_EQ(ValueOf(ev_, "log.syslog.procid"), "abc");
  EXPECT_EQ(ev_.Find("message"), nullptr);
}

TEST_F(SyslogTest, Rfc3164YearIsInferred) {
  // Same year when not more than a day ahead.
  ASSERT_TRUE(Parse3164("<13>Jun  2 11:00:00 h a: m", "2024-06-01T12:00:00Z"));
  EXPECT_EQ(ev_.timestamp_ns, TimeOf("2024-06-02T11:00:00Z"));
  // More than a day ahead: last year.
  ASSERT_TRUE(Parse3164("<13>Jun  3 11:00:00 h a: m", "2024-06-01T12:00:00Z"));
  EXPECT_EQ(ev_.timestamp_ns, TimeOf("2023-06-03T11:00:00Z"));
  // Read just after New Year: December is last year.
  ASSERT_TRUE(Parse3164("<13>Dec 31 23:59:59 h a: m", "2024-01-01T00:30:00Z"));
  EXPECT_EQ(ev_.timestamp_ns, TimeOf("2023-12-31T23:59:59Z"));
  // A sender already in the new year.
  ASSERT_TRUE(Parse3164("<13>Jan  1 00:10:00 h a: m", "2023-12-31T23:30:00Z"));
  EXPECT_EQ(ev_.timestamp_ns, TimeOf("2024-01-01T00:10:00Z"));
  // Feb 29 read in a non-leap year belongs to the last leap year before it.
  ASSERT_TRUE(Parse3164("<13>Feb 29 08:00:00 h a: m", "2025-01-15T00:00:00Z"));
  EXPECT_EQ(ev_.timestamp_ns, TimeOf("2024-02-29T08:00:00Z"));
}

TEST_F(SyslogTest, Rfc3164CarryingCef) {
  // HOSTNAME then CEF, no tag.
  auto result = Parse3164(
      "<134>Feb 12 10:00:00 fw01 CEF:0|Acme|Gate|2.1|4000|Blocked|7|src=10.1.2.3 "
      "suser=Jane Doe",
      "2024-06-01T12:00:00Z");
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_EQ(ev_.format, EventFormat::kSyslog3164);
  EXPECT_EQ(ev_.timestamp_ns, TimeOf("2024-02-12T10:00:00Z"));
  EXPECT_EQ(ValueOf(ev_, "host.name"), "fw01");
  EXPECT_EQ(ev_.Find("process.name"), nullptr);
  EXPECT_EQ(ValueOf(ev_, "observer.product"), "Gate");
  EXPECT_EQ(ValueOf(ev_, "source.user.name"), "Jane Doe");

  // No HOSTNAME; a tag before the CEF.
  result = Parse3164("<134>Feb 12 10:00:00 CEF:0|A|B|1|2|n|3|", "2024-06-01T12:00:00Z");
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_EQ(ev_.Find("host.name"), nullptr);
  EXPECT_EQ(ValueOf(ev_, "event.code"), "2");

  result =
      Parse3164("<134>Feb 12 10:00:00 fw01 cefd: CEF:0|A|B|1|2|n|3|dpt=22", "2024-06-01T12:00:00Z");
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_EQ(ValueOf(ev_, "process.name"), "cefd");
  EXPECT_EQ(ValueOf(ev_, "destination.port"), "22");
}

TEST_F(SyslogTest, Rfc3164MalformedInputsNameFieldAndReason) {
  EXPECT_EQ(Error3164("<200>Jun  1 10:00:00 h a: m"),
            "syslog.priority: PRI 200 is out of range 0-191");
  EXPECT_EQ(Error3164("<13Jun  1 10:00:00 h a: m"), "syslog.priority: PRI is not closed by '>'");
  EXPECT_EQ(Error3164("<13>Foo  1 10:00:00 h a: m"),
            "syslog.timestamp: TIMESTAMP must be 'Mmm dd hh:mm:ss' (or ISO 8601), got 'Foo  1 "
            "10:00:00 h a:'");
  EXPECT_EQ(Error3164("<13>Feb 30 10:00:00 h a: m").substr(0, 37),
            "syslog.timestamp: TIMESTAMP must be '");
  EXPECT_EQ(Error3164("<13>Jun  1 10:00 h a: m").substr(0, 37),
            "syslog.timestamp: TIMESTAMP must be '");
  EXPECT_EQ(Error3164("just some text").substr(0, 37), "syslog.timestamp: TIMESTAMP must be '");
  EXPECT_EQ(Error3164("<13>1524-01-01T00:00:00Z h a: m"),
            "syslog.timestamp: TIMESTAMP '1524-01-01T00:00:00Z' is not ISO 8601");
  EXPECT_EQ(Error3164("<13>Jan  1 9999 00:00:00 h a: m").substr(0, 37),
            "syslog.timestamp: TIMESTAMP must be '");
  EXPECT_EQ(Error3164("<13>2024-13-01T00:00:00Z h a: m"),
            "syslog.timestamp: TIMESTAMP '2024-13-01T00:00:00Z' is not ISO 8601");
  EXPECT_EQ(Error3164("<13>Jun  1 10:00:00:h a: m"),
            "syslog.timestamp: TIMESTAMP is not followed by a space");
}

TEST(SyslogFormatDetection, PicksTheParserPerMessage) {
  EXPECT_EQ(DetectSyslogFormat("<13>1 - - - - - -"), EventFormat::kSyslog5424);
  EXPECT_EQ(DetectSyslogFormat("<165>1 2003-08-24T05:14:15Z h a - - - m"),
            EventFormat::kSyslog5424);
  EXPECT_EQ(DetectSyslogFormat("<13>Jun  1 10:00:00 h a: m"), EventFormat::kSyslog3164);
  EXPECT_EQ(DetectSyslogFormat("<13>2024-05-01T10:00:00Z h a: m"), EventFormat::kSyslog3164);
  EXPECT_EQ(DetectSyslogFormat("Jun  1 10:00:00 h a: m"), EventFormat::kSyslog3164);
  EXPECT_EQ(DetectSyslogFormat("CEF:0|a|b|c|d|e|1|"), EventFormat::kCef);
  EXPECT_EQ(DetectSyslogFormat("<13>0 x"), EventFormat::kSyslog3164);
}

TEST(SyslogKeyCache, BoundsDistinctNamesPerParser) {
  // Past the cache limit, new structured-data names go to one overflow field instead of
  // growing the process-wide intern pool.
  auto parser = MakeSyslog5424Parser();
  Event ev;
  for (size_t i = 0; i <= DynamicKeyCache::kDefaultLimit; ++i) {
    ev.Clear();
    std::string record = "<13>1 - h a - - [sd" + std::to_string(i) + " p=\"v\"]";
    ASSERT_TRUE(parser->Parse(record, ev));
    if (i < DynamicKeyCache::kDefaultLimit) {
      ASSERT_EQ(ValueOf(ev, "sd" + std::to_string(i) + ".p"), "v");
    }
  }
  EXPECT_EQ(ValueOf(ev, "log.syslog.structured_data"),
            "sd" + std::to_string(DynamicKeyCache::kDefaultLimit) + ".p=v");
  // Names already cached keep working.
  ev.Clear();
  ASSERT_TRUE(parser->Parse("<13>1 - h a - - [sd7 p=\"again\"]", ev));
  EXPECT_EQ(ValueOf(ev, "sd7.p"), "again");
}

}  // namespace
}  // namespace aegis::ingest
