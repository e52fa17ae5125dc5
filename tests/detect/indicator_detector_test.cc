// Tests for the IndicatorDetector: which event fields are matched how, and what the
// resulting alerts contain.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "core/event.h"
#include "detect/detect.h"

// Counts heap allocations in this test binary, to check the detector's no-match path.
namespace {
std::atomic<uint64_t> heap_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  heap_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
// The nothrow forms too (Hyperscan uses them): every form must pair with free below.
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  heap_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return operator new(size, std::nothrow);
}
// GCC cannot tell that these replace the global operators that pair with malloc above.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace aegis::detect {
namespace {

FieldKey Key(std::string_view name, std::string_view original) {
  return KeyFor(name, original);  // slow, but fine for tests
}

IndicatorMeta Meta(std::string source, Severity severity = Severity::kHigh,
                   int64_t valid_until = 0) {
  IndicatorMeta m;
  m.source = std::move(source);
  m.confidence = 80;
  m.tlp = Tlp::kGreen;
  m.severity = severity;
  m.tags = {"malware:emotet", "c2"};
  m.valid_until_ns = valid_until;
  return m;
}

class IndicatorDetectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    IndexBuilder b;
    const MetaId emotet = b.AddMeta(Meta("maltrail/malware/emotet"));
    const MetaId scanners = b.AddMeta(Meta("maltrail/mass_scanner", Severity::kLow));
    const MetaId expired = b.AddMeta(Meta("old-feed", Severity::kHigh, 1'000'000'000));
    b.Add(IndicatorType::kDomain, "evil.com", emotet);
    b.Add(IndicatorType::kDomain, "bad.net", emotet);
    b.Add(IndicatorType::kDomain, "bad.example", emotet);
    b.Add(IndicatorType::kDomain, "stale.org", expired);
    b.Add(IndicatorType::kIpv4, "45.33.32.156", scanners);
    b.Add(IndicatorType::kCidr, "185.220.101.0/24", emotet);
    b.Add(IndicatorType::kIpv6, "2a00:1450:4001:81f::200e", emotet);
    b.Add(IndicatorType::kUrl, "bad.example/payload.exe", emotet);
    b.Add(IndicatorType::kSha256,
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", emotet);
    b.Add(IndicatorType::kEmail, "phish@bad-mail.com", emotet);
    handle_.Swap(b.Build());
    detector_ = MakeIndicatorDetector(&handle_);
  }

  Event DnsEvent(std::string_view query) {
    Event ev;
    ev.timestamp_ns = 1'521'911'720'865'716'000;
    ev.format = EventFormat::kZeekJson;
    ev.source = "dns.log";
    ev.line = 42;
    ev.offset = 4096;
    ev.raw = "{}";
    ev.Add(Key("source.ip", "id.orig_h"), ValueType::kIp, "10.0.0.5");
    ev.Add(Key("destination.ip", "id.resp_h"), ValueType::kIp, "10.0.0.1");
    ev.Add(Key("dns.question.name", "query"), ValueType::kString, query);
    return ev;
  }

  std::vector<Alert> Inspect(const Event& ev) {
    std::vector<Alert> out;
    detector_->Inspect(ev, out);
    return out;
  }

  IndexHandle handle_;
  std::unique_ptr<Detector> detector_;
};

TEST_F(IndicatorDetectorTest, DnsQueryForKnownBadDomain) {
  Event ev = DnsEvent("WWW.Evil.com.");
  const auto alerts = Inspect(ev);
  ASSERT_EQ(alerts.size(), 1u);
  const Alert& a = alerts[0];
  EXPECT_EQ(detector_->name(), "indicator");
  EXPECT_EQ(a.detector, "indicator");
  EXPECT_EQ(a.rule, "evil.com");
  EXPECT_EQ(a.title,
            "DNS query for a subdomain of known-bad domain evil.com (maltrail/malware/emotet)");
  EXPECT_EQ(a.indicator_type, "domain");
  EXPECT_EQ(a.indicator_source, "maltrail/malware/emotet");
  EXPECT_EQ(a.severity, Severity::kHigh);
  EXPECT_EQ(a.tlp, Tlp::kGreen);
  EXPECT_EQ(a.confidence, 80);
  EXPECT_EQ(a.tags, (std::vector<std::string>{"malware:emotet", "c2"}));
  EXPECT_EQ(a.event_time_ns, ev.timestamp_ns);
  EXPECT_GT(a.time_ns, ev.timestamp_ns);
  EXPECT_EQ(a.event_source, "dns.log");
  EXPECT_EQ(a.event_line, 42u);
  EXPECT_EQ(a.event_offset, 4096u);
  EXPECT_EQ(a.event_format, EventFormat::kZeekJson);
  EXPECT_EQ(a.source_ip, "10.0.0.5");
  EXPECT_EQ(a.destination_ip, "10.0.0.1");
  EXPECT_NE(a.event_json.find("\"dns.question.name\""), std::string::npos);
  ASSERT_EQ(a.matches.size(), 1u);
  EXPECT_EQ(a.matches[0].field, "dns.question.name");
  EXPECT_EQ(a.matches[0].original, "query");
  EXPECT_EQ(a.matches[0].value, "WWW.Evil.com.");
  EXPECT_EQ(a.matches[0].indicator, "evil.com");
  EXPECT_EQ(a.matches[0].match, "subdomain");
  EXPECT_EQ(a.count, 1u);

  // The id is 16 hex digits, stable for the same event position, different elsewhere.
  EXPECT_EQ(a.id.size(), 16u);
  EXPECT_TRUE(std::all_of(a.id.begin(), a.id.end(), [](char c) { return std::isxdigit(c); }));
  EXPECT_EQ(Inspect(ev)[0].id, a.id);
  ev.line = 43;
  EXPECT_NE(Inspect(ev)[0].id, a.id);

  const auto exact = Inspect(DnsEvent("evil.com"));
  ASSERT_EQ(exact.size(), 1u);
  EXPECT_EQ(exact[0].matches[0].match, "exact");
  EXPECT_EQ(exact[0].title, "DNS query for known-bad domain evil.com (maltrail/malware/emotet)");
}

TEST_F(IndicatorDetectorTest, CleanEventsRaiseNothing) {
  EXPECT_TRUE(Inspect(DnsEvent("www.example.org")).empty());
  EXPECT_TRUE(Inspect(DnsEvent("-")).empty());
  EXPECT_TRUE(Inspect(DnsEvent("")).empty());
  EXPECT_TRUE(Inspect(DnsEvent("com")).empty());
  Event ev;
  ev.Add(Key("message", "message"), ValueType::kString,
         "evil.com 45.33.32.156");  // not an observable
  EXPECT_TRUE(Inspect(ev).empty());
}

TEST_F(IndicatorDetectorTest, ExpiredIndicatorsRaiseNothing) {
  EXPECT_TRUE(Inspect(DnsEvent("www.stale.org")).empty());
}

TEST_F(IndicatorDetectorTest, DnsAnswersAreMatchedAsAddressesOrNames) {
  Event ev = DnsEvent("www.example.org");
  ev.Add(Key("dns.answers.data", "answers"), ValueType::kString, "cdn.bad.net");
  ev.Add(Key("dns.answers.data", "answers"), ValueType::kString, "185.220.101.7");
  ev.Add(Key("dns.answers.data", "answers"), ValueType::kString, "93.184.216.34");
  const auto alerts = Inspect(ev);
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0].rule, "bad.net");
  EXPECT_EQ(alerts[0].title,
            "DNS answer with a subdomain of known-bad domain bad.net (maltrail/malware/emotet)");
  EXPECT_EQ(alerts[1].rule, "185.220.101.0/24");
  EXPECT_EQ(alerts[1].indicator_type, "cidr");
  EXPECT_EQ(alerts[1].matches[0].match, "prefix");
  EXPECT_EQ(alerts[1].matches[0].value, "185.220.101.7");
  EXPECT_EQ(alerts[1].title,
            "DNS answer with known-bad network 185.220.101.0/24 (maltrail/malware/emotet)");
}

TEST_F(IndicatorDetectorTest, ConnectionsToAndFromKnownBadAddresses) {
  Event ev;
  ev.source = "conn.log";
  ev.Add(Key("source.ip", "id.orig_h"), ValueType::kIp, "45.33.32.156");
  ev.Add(Key("destination.ip", "id.resp_h"), ValueType::kIp, "2a00:1450:4001:81f::200e");
  const auto alerts = Inspect(ev);
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0].title, "Connection from known-bad IP 45.33.32.156 (maltrail/mass_scanner)");
  EXPECT_EQ(alerts[0].severity, Severity::kLow);
  EXPECT_EQ(alerts[0].indicator_type, "ipv4");
  EXPECT_EQ(alerts[0].matches[0].match, "exact");
  EXPECT_EQ(alerts[1].title,
            "Connection to known-bad IP 2a00:1450:4001:81f::200e (maltrail/malware/emotet)");
  EXPECT_EQ(alerts[1].indicator_type, "ipv6");
  EXPECT_EQ(alerts[1].source_ip, "45.33.32.156");
  EXPECT_EQ(alerts[1].destination_ip, "2a00:1450:4001:81f::200e");
  EXPECT_NE(alerts[0].id, alerts[1].id);
}

TEST_F(IndicatorDetectorTest, SeveralFieldsMatchingOneIndicatorMakeOneAlert) {
  Event ev = DnsEvent("evil.com");
  ev.Add(Key("tls.server_name", "server_name"), ValueType::kString, "api.evil.com");
  ev.Add(Key("dns.answers.name", "answers"), ValueType::kString, "evil.com");
  const auto alerts = Inspect(ev);
  ASSERT_EQ(alerts.size(), 1u);
  ASSERT_EQ(alerts[0].matches.size(), 3u);
  EXPECT_EQ(alerts[0].matches[0].field, "dns.question.name");
  EXPECT_EQ(alerts[0].matches[1].field, "tls.server_name");
  EXPECT_EQ(alerts[0].matches[1].match, "subdomain");
  EXPECT_EQ(alerts[0].matches[2].field, "dns.answers.name");
}

TEST_F(IndicatorDetectorTest, UrlsMatchAsUrlsAndByTheirHost) {
  Event ev;
  ev.Add(Key("url.full", "uri"), ValueType::kString, "HTTP://Bad.Example:80/payload.exe#x");
  ev.Add(Key("url.original", "referrer"), ValueType::kString, "http://185.220.101.9:8080/a");
  const auto alerts = Inspect(ev);
  ASSERT_EQ(alerts.size(), 3u);
  EXPECT_EQ(alerts[0].rule, "bad.example/payload.exe");
  EXPECT_EQ(alerts[0].indicator_type, "url");
  EXPECT_EQ(alerts[0].title,
            "Request for known-bad URL bad.example/payload.exe (maltrail/malware/emotet)");
  EXPECT_EQ(alerts[1].rule, "bad.example");
  EXPECT_EQ(alerts[1].matches[0].match, "exact");
  EXPECT_EQ(alerts[1].matches[0].value, "HTTP://Bad.Example:80/payload.exe#x");
  EXPECT_EQ(alerts[2].rule, "185.220.101.0/24");
  EXPECT_EQ(alerts[2].matches[0].field, "url.original");

  Event other_path;
  other_path.Add(Key("url.full", "uri"), ValueType::kString, "https://www.bad.example/other");
  const auto host_only = Inspect(other_path);
  ASSERT_EQ(host_only.size(), 1u);
  EXPECT_EQ(host_only[0].rule, "bad.example");
  EXPECT_EQ(host_only[0].matches[0].match, "subdomain");
}

TEST_F(IndicatorDetectorTest, HashesAndEmails) {
  Event ev;
  ev.Add(Key("file.hash.sha256", "sha256"), ValueType::kString,
         "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855");
  ev.Add(Key("file.hash.md5", "md5"), ValueType::kString, "d41d8cd98f00b204e9800998ecf8427e");
  ev.Add(Key("email.from.address", "from"), ValueType::kString, "Phish@Bad-Mail.COM");
  const auto alerts = Inspect(ev);
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0].indicator_type, "sha256");
  EXPECT_EQ(alerts[0].rule, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(alerts[0].title.rfind("Known-bad file hash ", 0), 0u);
  EXPECT_EQ(alerts[1].indicator_type, "email");
  EXPECT_EQ(alerts[1].rule, "phish@bad-mail.com");
  EXPECT_EQ(alerts[1].title,
            "Email involving known-bad address phish@bad-mail.com (maltrail/malware/emotet)");
}

TEST_F(IndicatorDetectorTest, NoMatchPathDoesNotAllocate) {
  Event ev = DnsEvent("www.example.org");
  ev.Add(Key("dns.answers.data", "answers"), ValueType::kString, "cdn.example.net");
  ev.Add(Key("dns.answers.data", "answers"), ValueType::kString, "93.184.216.34");
  ev.Add(Key("dns.answers.data", "answers"), ValueType::kString, "2606:2800:220:1::1");
  ev.Add(Key("tls.server_name", "server_name"), ValueType::kString,
         "A-Much-Longer-Name.Example.Org");
  ev.Add(Key("file.hash.sha256", "sha256"), ValueType::kString, std::string(64, 'F'));
  ev.Add(Key("email.from.address", "from"), ValueType::kString, "Someone.Long@Example-Mail.org");
  std::vector<Alert> out;
  out.reserve(4);
  detector_->Inspect(ev, out);  // warms up the scratch buffers
  const uint64_t before = heap_allocations.load();
  for (int i = 0; i < 100; ++i) detector_->Inspect(ev, out);
  EXPECT_EQ(heap_allocations.load() - before, 0u);
  EXPECT_TRUE(out.empty());
  // The counter works: a matching event allocates (the alert).
  detector_->Inspect(DnsEvent("evil.com"), out);
  EXPECT_GT(heap_allocations.load() - before, 0u);
}

TEST_F(IndicatorDetectorTest, EventJsonIsOptional) {
  auto lean = MakeIndicatorDetector(&handle_, /*include_event_json=*/false);
  std::vector<Alert> out;
  lean->Inspect(DnsEvent("evil.com"), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].event_json.empty());
}

TEST_F(IndicatorDetectorTest, AlertsAreAppendedAndGroupedPerEvent) {
  std::vector<Alert> out;
  detector_->Inspect(DnsEvent("evil.com"), out);
  detector_->Inspect(DnsEvent("www.evil.com"), out);  // same indicator, next event: new alert
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].matches.size(), 1u);
  EXPECT_EQ(out[1].matches.size(), 1u);
}

TEST_F(IndicatorDetectorTest, PicksUpAReloadedIndex) {
  EXPECT_EQ(Inspect(DnsEvent("evil.com")).size(), 1u);
  IndexBuilder b;
  b.Add(IndicatorType::kDomain, "new-threat.io", b.AddMeta(Meta("reloaded")));
  handle_.Swap(b.Build());
  EXPECT_TRUE(Inspect(DnsEvent("evil.com")).empty());
  const auto alerts = Inspect(DnsEvent("new-threat.io"));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].indicator_source, "reloaded");
}

}  // namespace
}  // namespace aegis::detect
