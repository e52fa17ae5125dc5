// Tests of the Zeek JSON and TSV parsers: both forms of the same records must give the
// same schema fields; field mapping, types, vectors, unset fields and errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "core/event.h"
#include "ingest/ingest.h"

namespace aegis::ingest {
namespace {

// Two records of the shared dns log, in both forms.
const char kDnsJson[] =
    R"({"_path":"dns","_write_ts":"2018-03-24T17:15:20.866586Z","ts":"2018-03-24T17:15:20.865716Z","uid":"CqKst53mF3det3eDV9","id.orig_h":"10.47.1.100","id.orig_p":41772,"id.resp_h":"10.0.0.100","id.resp_p":53,"proto":"udp","trans_id":36329,"rtt":0.0008699893951416016,"query":"ise.wrccdc.org","qclass":1,"qclass_name":"C_INTERNET","qtype":1,"qtype_name":"A","rcode":0,"rcode_name":"NOERROR","AA":false,"TC":false,"RD":true,"RA":true,"Z":0,"answers":["ise.wrccdc.cpp.edu","134.71.3.16"],"TTLs":[2230.0,41830.0],"rejected":false})"
    "\n"
    R"({"_path":"dns","_write_ts":"2018-03-24T17:15:21.000000Z","ts":"2018-03-24T17:15:20.9","uid":"C2","id.orig_h":"fe80::1","id.orig_p":5353,"id.resp_h":"ff02::fb","id.resp_p":5353,"proto":"udp","trans_id":0,"query":"_printer._tcp.local","qclass":1,"qclass_name":"C_INTERNET","qtype":12,"qtype_name":"PTR","AA":false,"TC":false,"RD":false,"RA":false,"Z":0,"rejected":false})"
    "\n";

const char kDnsTsv[] =
    "#separator \\x09\n"
    "#set_separator\t,\n"
    "#empty_field\t(empty)\n"
    "#unset_field\t-\n"
    "#path\tdns\n"
    "#open\t2024-04-12-19-29-12\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\t"
    "qclass\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\t"
    "rejected\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\t"
    "count\tstring\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\t"
    "vector[interval]\tbool\n"
    "1521911720.865716\tCqKst53mF3det3eDV9\t10.47.1.100\t41772\t10.0.0.100\t53\tudp\t36329\t"
    "0.000870\tise.wrccdc.org\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\t"
    "ise.wrccdc.cpp.edu,134.71.3.16\t2230.000000,41830.000000\tF\n"
    "1521911720.9\tC2\tfe80::1\t5353\tff02::fb\t5353\tudp\t0\t-\t_printer._tcp.local\t1\t"
    "C_INTERNET\t12\tPTR\t-\t-\tF\tF\tF\tF\t0\t-\t-\tF\n"
    "#close\t2024-04-12-19-29-13\n";

std::vector<std::string> Lines(std::string_view text) {
  std::vector<std::string> lines;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Parses each line; returns the events (header lines give none).
std::vector<Event> ParseAll(EventFormat format, std::string_view text) {
  auto parser = MakeParser(format);
  std::vector<Event> events;
  for (const std::string& line : Lines(text)) {
    Event ev;
    auto outcome = parser->Parse(line, ev);
    EXPECT_TRUE(outcome.has_value()) << line << ": " << outcome.error().ToString();
    if (outcome && *outcome == ParseOutcome::kEvent) events.push_back(std::move(ev));
  }
  return events;
}

using FieldTuple = std::tuple<std::string, std::string, int, std::string>;

// Schema name, original name, type and (except floats, printed differently by the two
// writers) value of each field, sorted. "_write_ts" exists only in the JSON logs.
std::vector<FieldTuple> Comparable(const Event& ev) {
  std::vector<FieldTuple> out;
  for (const Field& f : ev.fields()) {
    if (f.key.original == "_write_ts") continue;
    // Times to the millisecond: TSV writes far-off times as rounded floats (1.5e+09).
    std::string value = f.type == ValueType::kFloat  ? ""
                        : f.type == ValueType::kTime ? f.value.substr(0, 23)
                                                     : f.value;
    out.emplace_back(std::string(f.key.name), std::string(f.key.original), static_cast<int>(f.type),
                     std::move(value));
  }
  std::sort(out.begin(), out.end());
  return out;
}

const Field* FindValue(const Event& ev, std::string_view name, std::string_view value) {
  for (const Field& f : ev.fields()) {
    if (f.key.name == name && f.value == value) return &f;
  }
  return nullptr;
}

TEST(ZeekJson, MapsDnsRecordToSchema) {
  auto events = ParseAll(EventFormat::kZeekJson, kDnsJson);
  ASSERT_EQ(events.size(), 2u);
  const Event& ev = events[0];
  EXPECT_EQ(ev.timestamp_ns, 1521911720865716000);
  EXPECT_EQ(ev.Find("@timestamp"), nullptr);
  EXPECT_EQ(ev.FindOriginal("ts"), nullptr);
  ASSERT_NE(ev.Find("event.dataset"), nullptr);
  EXPECT_EQ(ev.Find("event.dataset")->value, "dns");
  ASSERT_NE(ev.Find("source.ip"), nullptr);
  EXPECT_EQ(ev.Find("source.ip")->value, "10.47.1.100");
  EXPECT_EQ(ev.Find("source.ip")->type, ValueType::kIp);
  EXPECT_EQ(ev.Find("source.ip")->key.original, "id.orig_h");
  EXPECT_EQ(ev.Find("source.ip")->key.kind, kKindIp);
  EXPECT_EQ(ev.Find("destination.port")->value, "53");
  EXPECT_EQ(ev.Find("destination.port")->type, ValueType::kInt);
  EXPECT_EQ(ev.Find("dns.question.name")->value, "ise.wrccdc.org");
  EXPECT_EQ(ev.Find("dns.question.name")->key.kind, kKindDomain);
  EXPECT_EQ(ev.Find("dns.question.type")->value, "A");
  EXPECT_EQ(ev.Find("dns.response_code")->value, "NOERROR");
  EXPECT_EQ(ev.Find("network.transport")->value, "udp");
  EXPECT_EQ(ev.Find("zeek.uid")->value, "CqKst53mF3det3eDV9");
  EXPECT_NE(FindValue(ev, "dns.answers.data", "ise.wrccdc.cpp.edu"), nullptr);
  EXPECT_NE(FindValue(ev, "dns.answers.data", "134.71.3.16"), nullptr);
  EXPECT_EQ(ev.Find("rtt")->type, ValueType::kFloat);
  EXPECT_EQ(ev.Find("rtt")->value, "0.0008699893951416016");
  EXPECT_EQ(ev.Find("RD")->type, ValueType::kBool);
  EXPECT_EQ(ev.Find("RD")->value, "true");
  EXPECT_EQ(ev.Find("AA")->value, "false");
  EXPECT_EQ(ev.Find("_write_ts")->type, ValueType::kTime);
  // The second record: IPv6, no answers, fraction with one digit.
  EXPECT_EQ(events[1].timestamp_ns, 1521911720900000000);
  EXPECT_EQ(events[1].Find("source.ip")->value, "fe80::1");
  EXPECT_EQ(events[1].Find("dns.answers.data"), nullptr);
}

TEST(ZeekTsv, MapsDnsRecordToSchema) {
  auto events = ParseAll(EventFormat::kZeekTsv, kDnsTsv);
  ASSERT_EQ(events.size(), 2u);
  const Event& ev = events[0];
  EXPECT_EQ(ev.timestamp_ns, 1521911720865716000);
  EXPECT_EQ(ev.Find("event.dataset")->value, "dns");
  EXPECT_EQ(ev.Find("source.ip")->type, ValueType::kIp);
  EXPECT_EQ(ev.Find("RD")->value, "true");
  EXPECT_EQ(ev.Find("rtt")->value, "0.000870");
  EXPECT_NE(FindValue(ev, "dns.answers.data", "134.71.3.16"), nullptr);
  // Unset fields ('-') are omitted.
  EXPECT_EQ(events[1].Find("rtt"), nullptr);
  EXPECT_EQ(events[1].Find("dns.response_code"), nullptr);
  EXPECT_EQ(events[1].Find("dns.answers.data"), nullptr);
}

TEST(Zeek, JsonAndTsvGiveTheSameFields) {
  auto json = ParseAll(EventFormat::kZeekJson, kDnsJson);
  auto tsv = ParseAll(EventFormat::kZeekTsv, kDnsTsv);
  ASSERT_EQ(json.size(), tsv.size());
  for (size_t i = 0; i < json.size(); ++i) {
    EXPECT_EQ(Comparable(json[i]), Comparable(tsv[i])) << "record " << i;
    EXPECT_EQ(json[i].timestamp_ns, tsv[i].timestamp_ns);
  }
}

TEST(Zeek, HttpBuildsFullUrl) {
  auto json = ParseAll(EventFormat::kZeekJson,
                       R"({"_path":"http","ts":1521911720.5,"uid":"C3","id.orig_h":"10.0.0.1",)"
                       R"("id.orig_p":50000,"id.resp_h":"93.184.216.34","id.resp_p":80,)"
                       R"("method":"GET","host":"example.com","uri":"/a/b?x=1",)"
                       R"("user_agent":"curl/8","status_code":200})");
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(json[0].timestamp_ns, 1521911720500000000);
  EXPECT_EQ(json[0].Find("url.domain")->value, "example.com");
  EXPECT_EQ(json[0].Find("url.path")->value, "/a/b?x=1");
  EXPECT_EQ(json[0].Find("url.full")->value, "http://example.com/a/b?x=1");
  EXPECT_EQ(json[0].Find("url.full")->key.kind, kKindUrl);
  EXPECT_EQ(json[0].Find("user_agent.original")->value, "curl/8");
  EXPECT_EQ(json[0].Find("http.response.status_code")->type, ValueType::kInt);

  auto tsv =
      ParseAll(EventFormat::kZeekTsv,
               "#separator \\x09\n#path\thttp\n#fields\tts\thost\turi\tmethod\n"
               "#types\ttime\tstring\tstring\tstring\n1521911720.5\texample.com\t/a/b?x=1\tGET\n");
  ASSERT_EQ(tsv.size(), 1u);
  EXPECT_EQ(tsv[0].Find("url.full")->value, "http://example.com/a/b?x=1");
}

TEST(Zeek, LogSpecificNames) {
  auto events = ParseAll(
      EventFormat::kZeekJson,
      R"({"_path":"x509","ts":1,"fingerprint":"ab12","certificate.subject":"CN=evil.example",)"
      R"("certificate.not_valid_after":1700000000.0,"san.dns":["evil.example","www.evil.example"]})"
      "\n"
      R"({"_path":"smtp","ts":1,"mailfrom":"a@evil.example","rcptto":["b@x.org","c@x.org"],)"
      R"("from":"A <a@evil.example>","subject":"hi"})"
      "\n"
      R"({"_path":"files","ts":1,"md5":"0123456789abcdef0123456789abcdef","sha256":"ff","mime_type":"x"})"
      "\n"
      R"({"_path":"ssl","ts":1,"server_name":"evil.example","ja3":"abc","cert_chain_fps":["f1","f2"]})");
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].Find("x509.subject.distinguished_name")->value, "CN=evil.example");
  EXPECT_NE(FindValue(events[0], "x509.san.dns", "www.evil.example"), nullptr);
  EXPECT_EQ(events[0].Find("x509.not_after")->type, ValueType::kTime);
  EXPECT_EQ(events[0].Find("x509.not_after")->value, "2023-11-14T22:13:20.000000Z");
  EXPECT_EQ(events[1].Find("email.from.address")->key.original, "mailfrom");
  EXPECT_NE(FindValue(events[1], "email.to.address", "c@x.org"), nullptr);
  EXPECT_EQ(events[1].Find("email.subject")->value, "hi");
  EXPECT_EQ(events[2].Find("file.hash.md5")->key.kind, kKindHash);
  EXPECT_EQ(events[2].Find("file.mime_type")->value, "x");
  EXPECT_EQ(events[3].Find("tls.server_name")->key.kind, kKindDomain);
  EXPECT_EQ(events[3].Find("tls.client.ja3")->value, "abc");
  EXPECT_NE(FindValue(events[3], "tls.server.hash.sha256", "f2"), nullptr);
  // "host" means url.domain only in the http log.
  auto other =
      ParseAll(EventFormat::kZeekJson, R"({"_path":"known_hosts","ts":1,"host":"10.1.1.1"})");
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ(other[0].Find("host.ip")->type, ValueType::kIp);
  EXPECT_EQ(other[0].Find("url.domain"), nullptr);
}

TEST(ZeekJson, NestedObjectsFlattenAndUnmappedKeepTheirName) {
  auto events = ParseAll(EventFormat::kZeekJson,
                         R"({"ts":1.5,"uid":"C1","id":{"orig_h":"10.0.0.1","resp_p":443},)"
                         R"("custom":{"a":null,"b":"x"}})");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].Find("source.ip")->value, "10.0.0.1");
  EXPECT_EQ(events[0].Find("destination.port")->value, "443");
  ASSERT_NE(events[0].Find("custom.b"), nullptr);
  EXPECT_EQ(events[0].Find("custom.b")->key.original, "custom.b");
  EXPECT_EQ(events[0].Find("custom.a"), nullptr);  // null: no field
  // An empty key names nothing: skipped, the rest of the record is kept.
  auto empty_key =
      ParseAll(EventFormat::kZeekJson, R"({"":{"x":1},"_path":"dns","":2,"query":"q"})");
  ASSERT_EQ(empty_key.size(), 1u);
  for (const Field& f : empty_key[0].fields()) EXPECT_FALSE(f.key.name.empty());
  EXPECT_EQ(empty_key[0].Find("dns.question.name")->value, "q");
  EXPECT_EQ(empty_key[0].Find(".x"), nullptr);  // with everything under it
}

TEST(ZeekJson, ReportsBrokenRecords) {
  auto parser = MakeParser(EventFormat::kZeekJson);
  Event ev;
  EXPECT_FALSE(parser->Parse(R"({"_path":"dns","ts":"x","uid":"C"})", ev));
  ev.Clear();
  auto bad_ts = parser->Parse(R"({"_path":"dns","ts":"yesterday"})", ev);
  ASSERT_FALSE(bad_ts);
  EXPECT_EQ(bad_ts.error().field, "ts");
  for (std::string_view broken :
       {R"({"_path":"dns","ts":1,)", R"({"a":1} trailing)", R"([1,2])", "not json", R"({"a":12x})",
        R"({"a":tru})", R"({"a":"unterminated})", ""}) {
    ev.Clear();
    EXPECT_FALSE(parser->Parse(broken, ev)) << broken;
  }
  // The parser still works after errors.
  ev.Clear();
  EXPECT_TRUE(parser->Parse(R"({"_path":"dns","ts":1,"query":"a.b"})", ev));
  EXPECT_EQ(ev.Find("dns.question.name")->value, "a.b");
}

TEST(ZeekTsv, HeaderHandlingAndErrors) {
  auto parser = MakeParser(EventFormat::kZeekTsv);
  Event ev;
  auto early = parser->Parse("1.0\tC1", ev);
  ASSERT_FALSE(early);
  EXPECT_NE(early.error().reason.find("#fields"), std::string::npos);
  // A custom separator, set separator and empty/unset markers.
  for (std::string_view header :
       {"#separator \\x7c", "#set_separator|;", "#empty_field|EMPTY", "#unset_field|NONE",
        "#path|conn", "#fields|ts|id.orig_h|service|tunnel_parents|history",
        "#types|time|addr|string|set[string]|string"}) {
    auto outcome = parser->Parse(header, ev);
    ASSERT_TRUE(outcome) << header;
    EXPECT_EQ(*outcome, ParseOutcome::kSkip);
  }
  ev.Clear();
  auto outcome = parser->Parse("10.25|192.168.1.1|NONE|a;b;c|EMPTY", ev);
  ASSERT_TRUE(outcome) << outcome.error().ToString();
  EXPECT_EQ(ev.timestamp_ns, 10250000000);
  EXPECT_EQ(ev.Find("source.ip")->value, "192.168.1.1");
  EXPECT_EQ(ev.Find("network.protocol"), nullptr);  // unset
  size_t parents = 0;
  for (const Field& f : ev.fields()) parents += f.key.original == "tunnel_parents";
  EXPECT_EQ(parents, 3u);
  ASSERT_NE(ev.Find("history"), nullptr);
  EXPECT_EQ(ev.Find("history")->value, "");  // empty string
  ev.Clear();
  auto short_line = parser->Parse("10.25|192.168.1.1", ev);
  ASSERT_FALSE(short_line);
  EXPECT_NE(short_line.error().reason.find("expected 5"), std::string::npos);
  ev.Clear();
  EXPECT_FALSE(parser->Parse("10.25|1.1.1.1|x|y|z|extra", ev));
  ev.Clear();
  // Far-off times come in exponent form (x509 not_valid_after, ntp timestamps).
  auto far = parser->Parse("2.385616957e+09|1.1.1.1|x|y|z", ev);
  ASSERT_TRUE(far) << far.error().ToString();
  EXPECT_EQ(ev.timestamp_ns, 2385616957000000000);
  ev.Clear();
  EXPECT_TRUE(parser->Parse("-2.1504318496896954e+09|1.1.1.1|x|y|z", ev));
  EXPECT_LT(ev.timestamp_ns, 0);
  ev.Clear();
  EXPECT_FALSE(parser->Parse("1e300|1.1.1.1|x|y|z", ev));
  ev.Clear();
  EXPECT_FALSE(parser->Parse("99999999999|1.1.1.1|x|y|z", ev));
  ev.Clear();
  auto bad_time = parser->Parse("soon|1.1.1.1|x|y|z", ev);
  ASSERT_FALSE(bad_time);
  EXPECT_EQ(bad_time.error().field, "ts");
}

// The shared Zeek sample: the same 53,615 dns records in JSON and in TSV.
TEST(Zeek, SharedDnsLogsAgree) {
  const std::string dir = std::string(AEGIS_SHARED_DATA) + "/events/zeek";
  const std::string json_path = dir + "/zeek-json/dns.json.gz";
  const std::string tsv_path = dir + "/zeek-default/dns.log.gz";
  if (!std::filesystem::exists(json_path) || !std::filesystem::exists(tsv_path)) {
    GTEST_SKIP() << "shared Zeek data not found under " << dir;
  }
  DeadLetterFile dead("");
  ReaderOptions options;
  options.keep_raw = false;
  auto json = EventReader::Open(json_path, options, &dead);
  auto tsv = EventReader::Open(tsv_path, options, &dead);
  ASSERT_TRUE(json && tsv);
  Event a;
  Event b;
  uint64_t count = 0;
  uint64_t compared = 0;
  while ((*json)->Next(a)) {
    ASSERT_TRUE((*tsv)->Next(b)) << "TSV ended early at record " << count;
    ++count;
    EXPECT_EQ(a.format, EventFormat::kZeekJson);
    EXPECT_EQ(b.format, EventFormat::kZeekTsv);
    ASSERT_EQ(a.timestamp_ns, b.timestamp_ns) << "record " << count;
    if (count % 97 == 1) {  // a spread sample: the comparison is the slow part
      ASSERT_EQ(Comparable(a), Comparable(b)) << "record " << count;
      ++compared;
    }
  }
  EXPECT_FALSE((*tsv)->Next(b));
  EXPECT_EQ(count, 53615u);
  EXPECT_GT(compared, 500u);
  EXPECT_EQ((*json)->stats().events, 53615u);
  EXPECT_EQ((*json)->stats().bad_records, 0u);
  EXPECT_EQ((*tsv)->stats().events, 53615u);
  EXPECT_EQ((*tsv)->stats().bad_records, 0u);
  EXPECT_EQ(dead.count(), 0u);
  EXPECT_EQ((*json)->progress_bytes(), (*json)->total_bytes());
}

// Escapes differ between the writers: TSV doubles backslashes and writes separators and
// control characters as \xHH; JSON uses JSON escapes. Both must give the same values.
TEST(Zeek, EscapesAgreeBetweenJsonAndTsv) {
  auto json = ParseAll(EventFormat::kZeekJson,
                       R"({"_path":"dce_rpc","ts":1,"named_pipe":"\\PIPE\\atsvc",)"
                       R"("failure_reason":"a\nb \"\\x01\" c,d\te","tags":["x,y",""],)"
                       R"("till":"2018-03-24T17:15:20.865716Z"})");
  auto tsv = ParseAll(EventFormat::kZeekTsv,
                      "#separator \\x09\n#set_separator\t,\n#path\tdce_rpc\n"
                      "#fields\tts\tnamed_pipe\tfailure_reason\ttags\ttill\n"
                      "#types\ttime\tstring\tstring\tset[string]\ttime\n"
                      "1\t\\\\PIPE\\\\atsvc\ta\\x0ab \"\\x01\" c,d\\x09e\tx\\x2cy\t"
                      "1521911720.865716\n");
  ASSERT_EQ(json.size(), 1u);
  ASSERT_EQ(tsv.size(), 1u);
  EXPECT_EQ(json[0].Find("named_pipe")->value, "\\PIPE\\atsvc");
  EXPECT_EQ(json[0].Find("failure_reason")->value, "a\nb \"\\x01\" c,d\te");
  EXPECT_EQ(json[0].Find("tags")->value, "x,y");
  EXPECT_EQ(json[0].Find("till")->type, ValueType::kTime);
  EXPECT_EQ(Comparable(json[0]), Comparable(tsv[0]));
}

// Every log of the shared Zeek sample, in both forms, must give the same fields.
TEST(Zeek, SharedLogsAgreeForEveryLogType) {
  const std::string dir = std::string(AEGIS_SHARED_DATA) + "/events/zeek";
  if (!std::filesystem::exists(dir + "/zeek-json")) {
    GTEST_SKIP() << "shared Zeek data not found under " << dir;
  }
  int logs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/zeek-json")) {
    const std::string name = entry.path().filename().string();  // dns.json.gz
    const std::string log = name.substr(0, name.find('.'));
    const std::string tsv_path = dir + "/zeek-default/" + log + ".log.gz";
    if (!std::filesystem::exists(tsv_path)) continue;
    ++logs;
    DeadLetterFile dead("");
    ReaderOptions options;
    options.keep_raw = false;
    auto json = EventReader::Open(entry.path().string(), options, &dead);
    auto tsv = EventReader::Open(tsv_path, options, &dead);
    ASSERT_TRUE(json && tsv);
    Event a;
    Event b;
    uint64_t count = 0;
    while ((*json)->Next(a)) {
      ASSERT_TRUE((*tsv)->Next(b)) << log << ": TSV ended early at record " << count;
      ++count;
      ASSERT_EQ(Comparable(a), Comparable(b)) << log << " record " << count;
    }
    EXPECT_FALSE((*tsv)->Next(b)) << log;
    EXPECT_EQ(dead.count(), 0u) << log;
    EXPECT_GT(count, 0u) << log;
  }
  EXPECT_GE(logs, 30);
}

}  // namespace
}  // namespace aegis::ingest
