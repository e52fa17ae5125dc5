// Tests of the Suricata EVE JSON parser: flattening, schema mapping, types, errors.
#include <gtest/gtest.h>

#include <string>

#include "core/event.h"
#include "ingest/ingest.h"

namespace aegis::ingest {
namespace {

Event ParseOne(std::string_view record) {
  auto parser = MakeParser(EventFormat::kSuricataEve);
  Event ev;
  auto outcome = parser->Parse(record, ev);
  EXPECT_TRUE(outcome.has_value()) << (outcome ? "" : outcome.error().ToString());
  return ev;
}

int CountNamed(const Event& ev, std::string_view name) {
  int n = 0;
  for (const Field& f : ev.fields()) n += f.key.name == name;
  return n;
}

TEST(Suricata, Alert) {
  Event ev = ParseOne(
      R"({"timestamp":"2021-06-01T12:34:56.123456+0000","flow_id":1234567890123456,)"
      R"("in_iface":"eth0","event_type":"alert","src_ip":"10.0.0.5","src_port":51234,)"
      R"("dest_ip":"198.51.100.7","dest_port":443,"proto":"TCP","community_id":"1:abc=",)"
      R"("alert":{"action":"allowed","gid":1,"signature_id":2019401,"rev":3,)"
      R"("signature":"ET POLICY Observed Suspicious SSL Cert","category":"Policy",)"
      R"("severity":2,"metadata":{"created_at":["2014_10_15"],"tag":["a","b"]}},)"
      R"("app_proto":"tls","flow":{"pkts_toserver":5,"bytes_toserver":600,"start":"2021-06-01T12:34:55.000000+0000"}})");
  EXPECT_EQ(ev.timestamp_ns, 1622550896123456000);
  EXPECT_EQ(ev.Find("event.dataset")->value, "alert");
  EXPECT_EQ(ev.Find("source.ip")->value, "10.0.0.5");
  EXPECT_EQ(ev.Find("source.ip")->type, ValueType::kIp);
  EXPECT_EQ(ev.Find("source.ip")->key.original, "src_ip");
  EXPECT_EQ(ev.Find("destination.port")->value, "443");
  EXPECT_EQ(ev.Find("destination.port")->type, ValueType::kInt);
  EXPECT_EQ(ev.Find("network.transport")->value, "TCP");
  EXPECT_EQ(ev.Find("network.protocol")->value, "tls");
  EXPECT_EQ(ev.Find("rule.name")->value, "ET POLICY Observed Suspicious SSL Cert");
  EXPECT_EQ(ev.Find("rule.name")->key.original, "alert.signature");
  EXPECT_EQ(ev.Find("rule.id")->value, "2019401");
  EXPECT_EQ(ev.Find("event.severity")->value, "2");
  EXPECT_EQ(ev.Find("suricata.flow_id")->value, "1234567890123456");
  EXPECT_EQ(ev.Find("source.bytes")->value, "600");
  EXPECT_EQ(ev.Find("event.start")->type, ValueType::kTime);
  // Unmapped nested names keep their dotted original name; arrays give one field each.
  EXPECT_EQ(CountNamed(ev, "alert.metadata.tag"), 2);
  EXPECT_EQ(ev.Find("alert.gid")->value, "1");
  EXPECT_EQ(ev.Find("timestamp"), nullptr);
}

TEST(Suricata, DnsVersions) {
  Event v2 = ParseOne(
      R"({"timestamp":"2021-06-01T12:00:00.000000+0000","event_type":"dns","src_ip":"10.0.0.5",)"
      R"("dest_ip":"10.0.0.53","proto":"UDP","dns":{"version":2,"type":"answer","id":1,)"
      R"("rrname":"evil.example","rrtype":"A","rcode":"NOERROR",)"
      R"("answers":[{"rrname":"evil.example","rrtype":"CNAME","ttl":60,"rdata":"cdn.example"},)"
      R"({"rrname":"cdn.example","rrtype":"A","ttl":60,"rdata":"203.0.113.9"}],)"
      R"("grouped":{"A":["203.0.113.9"]}}})");
  EXPECT_EQ(v2.Find("dns.question.name")->value, "evil.example");
  EXPECT_EQ(v2.Find("dns.question.name")->key.kind, kKindDomain);
  EXPECT_EQ(v2.Find("dns.question.type")->value, "A");
  EXPECT_EQ(v2.Find("dns.response_code")->value, "NOERROR");
  EXPECT_EQ(CountNamed(v2, "dns.answers.data"), 3);  // two answers + one grouped
  EXPECT_EQ(CountNamed(v2, "dns.answers.name"), 2);
  EXPECT_EQ(v2.Find("dns.answers.ttl")->type, ValueType::kInt);
  EXPECT_EQ(v2.Find("dns.version")->type, ValueType::kInt);

  Event v3 = ParseOne(
      R"({"timestamp":"2024-01-01T00:00:00.000000+0000","event_type":"dns",)"
      R"("dns":{"version":3,"type":"request","queries":[{"rrname":"q.example","rrtype":"AAAA"}]}})");
  EXPECT_EQ(v3.Find("dns.question.name")->value, "q.example");
  EXPECT_EQ(v3.Find("dns.question.type")->value, "AAAA");
}

TEST(Suricata, HttpTlsFilesSmtp) {
  Event http = ParseOne(
      R"({"timestamp":"2021-06-01T12:00:00Z","event_type":"http","http":{"hostname":"evil.example",)"
      R"("url":"/payload.exe","http_user_agent":"Mozilla/5.0","http_method":"GET","status":200,)"
      R"("length":1024}})");
  EXPECT_EQ(http.Find("url.domain")->value, "evil.example");
  EXPECT_EQ(http.Find("url.domain")->key.original, "http.hostname");
  EXPECT_EQ(http.Find("url.path")->value, "/payload.exe");
  EXPECT_EQ(http.Find("url.full")->value, "http://evil.example/payload.exe");
  EXPECT_EQ(http.Find("user_agent.original")->value, "Mozilla/5.0");
  EXPECT_EQ(http.Find("http.response.status_code")->type, ValueType::kInt);

  Event tls = ParseOne(
      R"({"timestamp":"2021-06-01T12:00:00Z","event_type":"tls","tls":{"sni":"evil.example",)"
      R"("subject":"CN=evil.example","issuerdn":"CN=CA","version":"TLS 1.2",)"
      R"("fingerprint":"aa:bb","ja3":{"hash":"e7d705a3286e19ea42f587b344ee6865","string":"771,..."}}})");
  EXPECT_EQ(tls.Find("tls.server_name")->value, "evil.example");
  EXPECT_EQ(tls.Find("tls.server_name")->key.original, "tls.sni");
  EXPECT_EQ(tls.Find("tls.client.ja3")->value, "e7d705a3286e19ea42f587b344ee6865");
  EXPECT_EQ(tls.Find("tls.server.subject")->value, "CN=evil.example");

  Event file = ParseOne(
      R"({"timestamp":"2021-06-01T12:00:00Z","event_type":"fileinfo","fileinfo":{"filename":"/a.exe",)"
      R"("sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","size":4,)"
      R"("stored":false}})");
  EXPECT_EQ(file.Find("file.hash.sha256")->key.kind, kKindHash);
  EXPECT_EQ(file.Find("file.hash.sha256")->key.original, "fileinfo.sha256");
  EXPECT_EQ(file.Find("file.size")->value, "4");
  EXPECT_EQ(file.Find("fileinfo.stored")->type, ValueType::kBool);
  EXPECT_EQ(file.Find("fileinfo.stored")->value, "false");

  Event smtp =
      ParseOne(R"({"timestamp":"2021-06-01T12:00:00Z","event_type":"smtp","smtp":{"helo":"x",)"
               R"("mail_from":"<a@evil.example>","rcpt_to":["<b@x.org>","<c@x.org>"]},)"
               R"("email":{"from":"A <a@evil.example>","to":["b@x.org"],"status":"PARSE_DONE"}})");
  EXPECT_EQ(CountNamed(smtp, "email.to.address"), 3);
  EXPECT_EQ(CountNamed(smtp, "email.from.address"), 2);
  EXPECT_EQ(smtp.Find("email.from.address")->key.kind, kKindEmail);
}

TEST(Suricata, TypesAndNulls) {
  Event ev =
      ParseOne(R"({"timestamp":"2021-06-01T12:00:00.5-02:00","event_type":"stats","a":1.25,"b":-3,)"
               R"("c":true,"d":null,"e":[],"f":{},"g":"\u00e9\"q\""})");
  EXPECT_EQ(ev.timestamp_ns, 1622556000500000000);
  EXPECT_EQ(ev.Find("a")->type, ValueType::kFloat);
  EXPECT_EQ(ev.Find("a")->value, "1.25");
  EXPECT_EQ(ev.Find("b")->type, ValueType::kInt);
  EXPECT_EQ(ev.Find("b")->value, "-3");
  EXPECT_EQ(ev.Find("c")->value, "true");
  EXPECT_EQ(ev.Find("d"), nullptr);
  EXPECT_EQ(ev.Find("e"), nullptr);
  EXPECT_EQ(ev.Find("g")->value, "\xC3\xA9\"q\"");
}

TEST(Suricata, BrokenRecords) {
  auto parser = MakeParser(EventFormat::kSuricataEve);
  Event ev;
  auto bad_time = parser->Parse(R"({"timestamp":"June","event_type":"dns"})", ev);
  ASSERT_FALSE(bad_time);
  EXPECT_EQ(bad_time.error().field, "timestamp");
  for (std::string_view broken : {R"({"event_type":"dns")", R"({"a":[1,2})", R"("string")",
                                  R"({"a":1}{"b":2})", R"({"a":-})", "{", ""}) {
    ev.Clear();
    EXPECT_FALSE(parser->Parse(broken, ev)) << broken;
  }
  ev.Clear();
  EXPECT_TRUE(parser->Parse(R"({"event_type":"dns","dns":{"rrname":"ok.example"}})", ev));
  EXPECT_EQ(ev.Find("dns.question.name")->value, "ok.example");
}

TEST(Suricata, DeepNestingIsKeptAsJsonText) {
  std::string deep = R"({"event_type":"x","a":)";
  for (int i = 0; i < 40; ++i) deep += R"({"b":)";
  deep += "1";
  for (int i = 0; i < 40; ++i) deep += "}";
  deep += "}";
  auto parser = MakeParser(EventFormat::kSuricataEve);
  Event ev;
  ASSERT_TRUE(parser->Parse(deep, ev));
  bool found_text = false;
  for (const Field& f : ev.fields()) found_text |= f.value.starts_with("{\"b\":");
  EXPECT_TRUE(found_text);
}

}  // namespace
}  // namespace aegis::ingest

namespace aegis::ingest {
namespace {

// Field names are interned for good: a parser stops accepting new names past a limit,
// so that garbage with ever new keys cannot grow memory without end.
TEST(Suricata, DistinctFieldNamesAreBounded) {
  auto parser = MakeParser(EventFormat::kSuricataEve);
  Event ev;
  int accepted = 0;
  std::string refused_reason;
  for (int i = 0; i < 9000 && refused_reason.empty(); ++i) {
    ev.Clear();
    auto outcome = parser->Parse(R"({"event_type":"x","k)" + std::to_string(i) + R"(":1})", ev);
    if (outcome) {
      ++accepted;
    } else {
      refused_reason = outcome.error().reason;
    }
  }
  EXPECT_GT(accepted, 8000);
  EXPECT_LT(accepted, 9000);
  EXPECT_NE(refused_reason.find("too many distinct field names"), std::string::npos);
  // Names already known still work.
  ev.Clear();
  EXPECT_TRUE(parser->Parse(R"({"event_type":"x","k1":2})", ev));
}

}  // namespace
}  // namespace aegis::ingest
