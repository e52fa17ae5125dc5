// Early Warning: registrations, matching (STIX patterns, SCOs, sightings and reports
// through the lookup, feed indicators), bogon suppression, grading, de-duplication,
// the TLP predicate and the notification inbox. Real SQLite files in a temp folder.
#include "share/early_warning.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "common/test_util.h"
#include "core/observables.h"
#include "core/strings.h"
#include "intel/intel.h"
#include "intel/stix_object.h"
#include "store/sqlite.h"

namespace aegis::share {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kHourNs = 3600LL * 1'000'000'000;

intel::StoredObject Stored(std::string_view json, std::string producer = "ncsc", Tlp tlp = Tlp::kGreen) {
  auto object = intel::stix::ValidateObject(json);
  EXPECT_TRUE(object.has_value()) << (object ? "" : object.error().ToString()) << "\n" << json;
  intel::StoredObject s;
  if (!object) return s;
  s.meta.id = object->id;
  s.meta.type = object->type;
  s.meta.version = object->version;
  s.meta.producer_org = std::move(producer);
  s.meta.markings = object->object_marking_refs;
  s.meta.tlp = tlp;
  s.json = object->json;
  return s;
}

std::string IndicatorJson(std::string_view uuid_tail, std::string_view pattern, std::string_view modified,
                          std::optional<int> confidence = std::nullopt) {
  std::string json = R"({"type":"indicator","spec_version":"2.1","id":"indicator--6a1b1c1d-0000-4000-8000-)";
  json += uuid_tail;
  json += R"(","created":"2026-01-01T00:00:00.000Z","modified":")";
  json += modified;
  json += R"(","name":"test indicator","pattern_type":"stix","valid_from":"2026-01-01T00:00:00.000Z","pattern":)";
  std::string quoted;
  AppendJsonString(quoted, pattern);
  json += quoted;
  if (confidence) json += ",\"confidence\":" + std::to_string(*confidence);
  json += "}";
  return json;
}

class EarlyWarningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("aegis-ew-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    db_path_ = (dir_ / "sub" / "aegis.db").string();  // Open creates the folder
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<EarlyWarning> Open(Options options = {}) {
    if (!options.now_ns) options.now_ns = [this] { return now_.load(); };
    auto ew = EarlyWarning::Open(db_path_, std::move(options));
    EXPECT_TRUE(ew.has_value()) << (ew ? "" : ew.error().ToString());
    return ew ? std::move(*ew) : nullptr;
  }

  Registration Reg(EarlyWarning& ew, std::string org, RegistrationKind kind, std::string value) {
    auto r = ew.Register({.org_id = std::move(org), .kind = kind, .value = std::move(value)}, "test");
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().ToString());
    return r ? *r : Registration{};
  }

  // A registration row written straight into the table, as an older release (or a
  // hand edit) might have left it: Register refuses these values.
  void InsertRawRegistration(std::string_view org, std::string_view kind, std::string_view value) {
    auto db = store::sqlite::OpenDatabase(db_path_);
    ASSERT_TRUE(db.has_value());
    std::string sql = "INSERT INTO ew_registrations (org_id, kind, value, created_ns) VALUES ('" +
                      std::string(org) + "','" + std::string(kind) + "','" + std::string(value) +
                      "',1); INSERT INTO ew_settings (key, value) VALUES ('registrations_generation','1000') "
                      "ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT);";
    ASSERT_TRUE(store::sqlite::ExecSql(db->get(), sql, db_path_).has_value());
  }

  fs::path dir_;
  std::string db_path_;
  std::atomic<int64_t> now_{1'800'000'000LL * 1'000'000'000};
};

// ---------------------------------------------------------------------------
// Bogons and reserved values.

TEST_F(EarlyWarningTest, EveryBogonRangeIsRefusedAndNeverNotifies) {
  auto ew = Open();
  ASSERT_TRUE(ew);
  ASSERT_GE(BogonRanges().size(), 25u);
  int n = 0;
  std::vector<intel::StoredObject> objects;
  for (const BogonRange& range : BogonRanges()) {
    // Registering the range, or a host inside it, is refused and names the reason.
    auto refused = ew->Register({.org_id = "trust-a", .kind = RegistrationKind::kIp, .value = std::string(range.cidr)},
                                "test");
    ASSERT_FALSE(refused.has_value()) << range.cidr;
    EXPECT_NE(refused.error().reason.find(range.reason), std::string::npos) << refused.error().reason;
    auto prefix = ParseCidr(range.cidr);
    ASSERT_TRUE(prefix.has_value()) << range.cidr;
    std::string host = FormatIp(prefix->addr);
    if (prefix->length < (prefix->addr.v6 ? 128 : 32)) {
      IpAddress inside = prefix->addr;
      inside.bytes[prefix->addr.v6 ? 15 : 3] |= 1;  // ::1 is /128, handled above
      host = FormatIp(inside);
    }
    EXPECT_FALSE(ew->Register({.org_id = "trust-a", .kind = RegistrationKind::kIp, .value = host}, "test"))
        << host;
    // A legacy row covering the range still never notifies.
    InsertRawRegistration("legacy", "ip", FormatPrefix(*prefix));
    std::string type = prefix->addr.v6 ? "ipv6-addr" : "ipv4-addr";
    char tail[13];
    std::snprintf(tail, sizeof tail, "%012d", ++n);
    objects.push_back(Stored(IndicatorJson(tail, "[" + type + ":value = '" + host + "']", "2026-01-01T00:00:00.000Z")));
  }
  auto stats = ew->OnObjectsAdded(objects);
  ASSERT_TRUE(stats.has_value()) << stats.error().ToString();
  EXPECT_EQ(stats->notified, 0u);
  EXPECT_EQ(stats->suppressed_bogon, BogonRanges().size());
  auto listed = ew->ListNotifications({});
  ASSERT_TRUE(listed.has_value());
  EXPECT_TRUE(listed->empty());
}

TEST_F(EarlyWarningTest, BogonReasonCoversBroadAndOverlappingPrefixes) {
  EXPECT_TRUE(BogonReason(*ParseCidr("0.0.0.0/0")));          // broader than /8
  EXPECT_TRUE(BogonReason(*ParseCidr("172.0.0.0/8")));        // overlaps 172.16/12
  EXPECT_TRUE(BogonReason(*ParseCidr("100.127.255.255")));    // CGNAT
  EXPECT_TRUE(BogonReason(*ParseCidr("4000::1")));            // outside 2000::/3
  EXPECT_TRUE(BogonReason(*ParseCidr("64:ff9b::a00:1")));     // NAT64 of 10.0.0.1
  EXPECT_FALSE(BogonReason(*ParseCidr("64:ff9b::5102:458e")));  // NAT64 of 81.2.69.142
  EXPECT_FALSE(BogonReason(*ParseCidr("81.2.69.0/24")));
  EXPECT_FALSE(BogonReason(*ParseCidr("100.128.0.1")));       // just past CGNAT
  EXPECT_FALSE(BogonReason(*ParseCidr("2a00:1450::/32")));
}

TEST_F(EarlyWarningTest, ReservedAsnsAndNamesAreRefusedAndNeverNotify) {
  auto ew = Open();
  ASSERT_TRUE(ew);
  for (uint32_t asn : {0u, 23456u, 64496u, 64511u, 64512u, 65000u, 65534u, 65535u, 65536u, 65551u, 4200000000u,
                       4294967294u, 4294967295u}) {
    auto r = ew->Register({.org_id = "trust-a", .kind = RegistrationKind::kAsn, .value = std::to_string(asn)}, "t");
    EXPECT_FALSE(r.has_value()) << asn;
    EXPECT_TRUE(ReservedAsnReason(asn)) << asn;
  }
  EXPECT_FALSE(ReservedAsnReason(5462));
  EXPECT_FALSE(ReservedAsnReason(64495));
  EXPECT_FALSE(ReservedAsnReason(65552));
  for (std::string name : {"localhost", "printer.local", "example.com", "www.EXAMPLE.org", "x.test", "a.invalid",
                           "nas.home.arpa", "db.internal"}) {
    EXPECT_FALSE(ew->Register({.org_id = "trust-a", .kind = RegistrationKind::kDomain, .value = name}, "t")) << name;
  }
  // A legacy registration of a private ASN never notifies.
  InsertRawRegistration("legacy", "asn", "64512");
  InsertRawRegistration("legacy", "domain", "corp.local");
  auto stats = ew->OnObjectsAdded(std::vector{
      Stored(IndicatorJson("000000000001", "[autonomous-system:number = 64512]", "2026-01-01T00:00:00.000Z")),
      Stored(IndicatorJson("000000000002", "[domain-name:value = 'dc1.corp.local']", "2026-01-01T00:00:00.000Z"))});
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->notified, 0u);
  EXPECT_EQ(stats->suppressed_bogon, 2u);
}

TEST_F(EarlyWarningTest, RegisterNormalisesAndRefusesBadValues) {
  auto ew = Open();
  ASSERT_TRUE(ew);
  EXPECT_EQ(Reg(*ew, "trust-a", RegistrationKind::kDomain, "*.NHS-Trust.nhs.uk.").value, "nhs-trust.nhs.uk");
  EXPECT_EQ(Reg(*ew, "trust-a", RegistrationKind::kDomain, "bücherei-nhs.org.uk").value,
            "xn--bcherei-nhs-thb.org.uk");
  EXPECT_EQ(Reg(*ew, "trust-a", RegistrationKind::kAsn, "as5462").value, "5462");
  EXPECT_EQ(Reg(*ew, "trust-a", RegistrationKind::kAsn, "1.100").value, "65636");
  EXPECT_EQ(Reg(*ew, "trust-a", RegistrationKind::kIp, "2A00:1450::/32").value, "2a00:1450::/32");
  EXPECT_EQ(Reg(*ew, "trust-a", RegistrationKind::kIp, "81.2.69.142").value, "81.2.69.142/32");

  auto dup = ew->Register({.org_id = "trust-a", .kind = RegistrationKind::kDomain, .value = "nhs-trust.NHS.uk"}, "t");
  ASSERT_FALSE(dup.has_value());
  EXPECT_NE(dup.error().reason.find("already registered"), std::string::npos);
  // The same value for another organisation is fine (shared hosting, shared ranges).
  Reg(*ew, "trust-b", RegistrationKind::kDomain, "nhs-trust.nhs.uk");

  auto bad_cidr = ew->Register({.org_id = "trust-a", .kind = RegistrationKind::kIp, .value = "81.2.69.1/24"}, "t");
  ASSERT_FALSE(bad_cidr.has_value());
  EXPECT_EQ(bad_cidr.error().field, "ip");
  EXPECT_NE(bad_cidr.error().reason.find("host bits"), std::string::npos);
  EXPECT_FALSE(ew->Register({.org_id = "trust-a", .kind = RegistrationKind::kAsn, .value = "AS99999999999"}, "t"));
  EXPECT_FALSE(ew->Register({.org_id = "trust-a", .kind = RegistrationKind::kDomain, .value = "intranet"}, "t"));
  EXPECT_FALSE(ew->Register({.org_id = "", .kind = RegistrationKind::kAsn, .value = "5462"}, "t"));

  auto listed = ew->ListRegistrations("trust-a");
  ASSERT_TRUE(listed.has_value());
  EXPECT_EQ(listed->size(), 6u);
  auto removed = ew->Unregister("trust-a", RegistrationKind::kAsn, "AS5462");
  ASSERT_TRUE(removed.has_value());
  EXPECT_EQ(*removed, 1u);
  EXPECT_EQ(ew->ListRegistrations("trust-a")->size(), 5u);
}

// ---------------------------------------------------------------------------
// Patterns.

TEST(EarlyWarningPattern, FindsAddressesNamesAndAsnsInAnyStructure) {
  auto values = [](std::string_view pattern) {
    std::vector<std::string> out;
    for (const Observable& o : ObservablesInPattern(pattern)) out.push_back(o.value);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(values("[ipv4-addr:value = '81.2.69.142']"), V{"81.2.69.142"});
  EXPECT_EQ(values("[ipv4-addr:value ISSUBSET '81.2.69.0/24']"), V{"81.2.69.0/24"});
  EXPECT_EQ(values("[domain-name:value IN ('a.nhs.uk', 'B.NHS.UK')]"), (V{"a.nhs.uk", "b.nhs.uk"}));
  EXPECT_EQ(values("[network-traffic:dst_ref.value = '81.2.69.10' AND network-traffic:dst_port = 443]"),
            V{"81.2.69.10"});
  EXPECT_EQ(values("[url:value = 'https://user@Portal.Trust.nhs.uk:8443/login?x=1']"), V{"portal.trust.nhs.uk"});
  EXPECT_EQ(values("[url:value = 'http://[2a00:1450::5]:80/']"), V{"2a00:1450::5"});
  EXPECT_EQ(values("[email-addr:value = 'ceo@Trust.nhs.uk'] FOLLOWEDBY [autonomous-system:number = 5462] "
                   "WITHIN 300 SECONDS"),
            (V{"trust.nhs.uk", "5462"}));
  EXPECT_EQ(values("[email-message:from_ref.value = 'x@evil.org.uk']"), V{"evil.org.uk"});
  EXPECT_EQ(values("[domain-name:resolves_to_refs[*].value = '2a00:1450::1']"), V{"2a00:1450::1"});
  EXPECT_EQ(values("[ipv4-addr:value NOT = '81.2.69.1']"), V{});
  EXPECT_EQ(values("[ipv4-addr:value != '81.2.69.1']"), V{});
  EXPECT_EQ(values("[file:hashes.'SHA-256' = 'aa'] OR [file:name = 'x.nhs.uk']"), V{});
  EXPECT_EQ(values("[domain-name:value = 'it\\'s.bad'] OR [domain-name:value = 'ok.nhs.uk']"), V{"ok.nhs.uk"});
  EXPECT_EQ(values("[ipv4-addr:value = '81.2.69.1' OR ipv4-addr:value = '81.2.69.1']"), V{"81.2.69.1"});
  EXPECT_EQ(values("garbage [[[ '"), V{});
  EXPECT_EQ(values(""), V{});
}

// ---------------------------------------------------------------------------
// Matching.

TEST_F(EarlyWarningTest, IpRangesMatchBothWaysAndOnlyInside) {
  auto ew = Open();
  ASSERT_TRUE(ew);
  Registration v4 = Reg(*ew, "trust-a", RegistrationKind::kIp, "81.2.69.0/24");
  Registration v6 = Reg(*ew, "trust-b", RegistrationKind::kIp, "2a00:1450:4009::/48");
  Reg(*ew, "trust-c", RegistrationKind::kIp, "81.2.69.128/25");  // nested in trust-a's
  auto orgs = [&](std::string value) {
    std::set<std::string> out;
    for (const Match& m : ew->MatchObservable({ObservableKind::kIp, value, ""})) out.insert(m.org_id);
    return out;
  };
  using S = std::set<std::string>;
  EXPECT_EQ(orgs("81.2.69.1"), S{"trust-a"});
  EXPECT_EQ(orgs("81.2.69.200"), (S{"trust-a", "trust-c"}));
  EXPECT_EQ(orgs("81.2.0.0/16"), (S{"trust-a", "trust-c"}));  // the indicator covers the ranges
  EXPECT_EQ(orgs("81.2.69.192/26"), (S{"trust-a", "trust-c"}));
  EXPECT_EQ(orgs("81.2.70.1"), S{});
  EXPECT_EQ(orgs("81.2.68.255"), S{});
  EXPECT_EQ(orgs("2a00:1450:4009:81b::200e"), S{"trust-b"});
  EXPECT_EQ(orgs("2a00:1450::/32"), S{"trust-b"});
  EXPECT_EQ(orgs("2a00:1450:400a::1"), S{});
  EXPECT_EQ(orgs("::ffff:81.2.69.5"), S{"trust-a"});  // IPv4-mapped is IPv4
  auto matches = ew->MatchObservable({ObservableKind::kIp, "81.2.69.1", ""});
  ASSERT_EQ(matches.size(), 1u);
  EXPECT_EQ(matches[0].registration_id, v4.id);
  EXPECT_EQ(matches[0].registration, "ip 81.2.69.0/24");
  EXPECT_NE(v6.id, 0);
}

TEST_F(EarlyWarningTest, DomainsMatchThemselvesAndSubdomainsCaseAndIdn) {
  auto ew = Open();
  ASSERT_TRUE(ew);
  Reg(*ew, "trust-a", RegistrationKind::kDomain, "nhs-trust.nhs.uk");
  Reg(*ew, "trust-b", RegistrationKind::kDomain, "bücherei-nhs.org.uk");
  Reg(*ew, "trust-c", RegistrationKind::kAsn, "AS5462");
  auto stats = ew->OnObjectsAdded(std::vector{
      Stored(IndicatorJson("000000000001", "[domain-name:value = 'MAIL.NHS-Trust.nhs.uk.']", "2026-01-01T00:00:00.000Z")),
      Stored(IndicatorJson("000000000002", "[url:value = 'https://portal.nhs-trust.nhs.uk/login']",
                           "2026-01-01T00:00:00.000Z")),
      Stored(IndicatorJson("000000000003", "[domain-name:value = 'evilnhs-trust.nhs.uk']", "2026-01-01T00:00:00.000Z")),
      Stored(IndicatorJson("000000000004", "[domain-name:value = 'WWW.BÜCHEREI-nhs.org.uk']", "2026-01-01T00:00:00.000Z")),
      Stored(IndicatorJson("000000000005", "[autonomous-system:number = 5462]", "2026-01-01T00:00:00.000Z")),
      Stored(R"({"type":"domain-name","spec_version":"2.1","id":"domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5","value":"vpn.nhs-trust.nhs.uk"})"),
      Stored(R"({"type":"email-addr","spec_version":"2.1","id":"email-addr--2d77a846-6264-5d51-b586-e43822ea1ea3","value":"ceo@nhs-trust.nhs.uk"})")});
  ASSERT_TRUE(stats.has_value()) << stats.error().ToString();
  EXPECT_EQ(stats->notified, 6u);
  auto a = ew->ListNotifications({.org_id = "trust-a"});
  ASSERT_TRUE(a.has_value());
  std::set<std::string> observed;
  for (const auto& n : *a) observed.insert(n.observed + " " + std::string(NotificationKindName(n.kind)));
  EXPECT_EQ(observed, (std::set<std::string>{"mail.nhs-trust.nhs.uk indicator", "portal.nhs-trust.nhs.uk indicator",
                                             "vpn.nhs-trust.nhs.uk observed", "nhs-trust.nhs.uk observed"}));
  auto b = ew->ListNotifications({.org_id = "trust-b"});
  ASSERT_EQ(b->size(), 1u);
  EXPECT_EQ((*b)[0].observed, "www.xn--bcherei-nhs-thb.org.uk");
  auto c = ew->ListNotifications({.org_id = "trust-c"});
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].registration, "asn 5462");
  EXPECT_EQ((*c)[0].context, "pattern autonomous-system:number");
}

// The index (sorted prefixes, per-length lookups, label walk) agrees with a plain
// scan over thousands of registrations.
TEST_F(EarlyWarningTest, IndexAgreesWithLinearScanAtScale) {
  auto ew = Open();
  ASSERT_TRUE(ew);
  std::mt19937 rng(20261123);
  std::vector<std::pair<IpPrefix, std::string>> ranges;
  std::vector<std::pair<std::string, std::string>> names;
  auto public_v4 = [&](int length) {
    while (true) {
      uint32_t a = (rng() % 200 + 11) << 24 | (rng() & 0xffffff);
      IpPrefix p{IpAddress::FromV4(length == 0 ? a : a & ~((1u << (32 - length)) - 1)), static_cast<uint8_t>(length)};
      if (!BogonReason(p)) return p;
    }
  };
  for (int i = 0; i < 3000; ++i) {
    int length = 16 + static_cast<int>(rng() % 17);
    IpPrefix p = public_v4(length);
    std::string org = "org-" + std::to_string(rng() % 400);
    auto r = ew->Register({.org_id = org, .kind = RegistrationKind::kIp, .value = FormatPrefix(p)}, "t");
    if (r) ranges.emplace_back(p, org);
  }
  for (int i = 0; i < 2000; ++i) {
    std::string name = "t" + std::to_string(rng() % 1500) + ".nhs.uk";
    std::string org = "org-" + std::to_string(rng() % 400);
    if (ew->Register({.org_id = org, .kind = RegistrationKind::kDomain, .value = name}, "t")) names.emplace_back(name, org);
  }
  ASSERT_GT(ranges.size(), 2900u);
  auto overlaps = [](const IpPrefix& a, const IpPrefix& b) {
    unsigned common = std::min(a.length, b.length);
    uint32_t mask = common == 0 ? 0 : ~0u << (32 - common);
    return (a.addr.v4() & mask) == (b.addr.v4() & mask);
  };
  size_t hits = 0;
  for (int i = 0; i < 3000; ++i) {
    IpPrefix probe;
    if (i % 2 == 0) {  // near a registration, so that there are hits
      const IpPrefix& base = ranges[rng() % ranges.size()].first;
      probe = IpPrefix{IpAddress::FromV4(base.addr.v4() | (rng() & ((1u << (32 - base.length)) - 1) & 0xff)), 32};
      if (rng() % 3 == 0) probe = public_v4(12 + static_cast<int>(rng() % 10)), probe.addr = IpAddress::FromV4(
          base.addr.v4() & ~((1u << (32 - probe.length)) - 1));
    } else {
      probe = public_v4(32);
    }
    std::multiset<std::string> expected, got;
    for (const auto& [p, org] : ranges) {
      if (overlaps(p, probe)) expected.insert(org + " " + FormatPrefix(p));
    }
    if (BogonReason(probe)) expected.clear();
    unsigned width = 32;
    std::string value = probe.length == width ? FormatIp(probe.addr) : FormatPrefix(probe);
    for (const Match& m : ew->MatchObservable({ObservableKind::kIp, value, ""})) {
      got.insert(m.org_id + " " + m.registration.substr(3));
    }
    ASSERT_EQ(got, expected) << value;
    hits += got.size();
  }
  EXPECT_GT(hits, 1000u);
  for (int i = 0; i < 2000; ++i) {
    std::string name = (i % 3 ? "mail." : "") + std::string("t") + std::to_string(rng() % 3000) + ".nhs.uk";
    std::multiset<std::string> expected, got;
    for (const auto& [registered, org] : names) {
      if (name == registered || name.ends_with("." + registered)) expected.insert(org + " domain " + registered);
    }
    for (const Match& m : ew->MatchObservable({ObservableKind::kDomain, name, ""})) {
      got.insert(m.org_id + " " + m.registration);
    }
    ASSERT_EQ(got, expected) << name;
  }
}

// ---------------------------------------------------------------------------
// Real STIX examples (../shared/data/intel/stix).

std::optional<std::string> ReadExample(const std::string& relative) {
  fs::path path = fs::path(AEGIS_SHARED_DATA) / "intel/stix/examples" / relative;
  if (!fs::exists(path)) return std::nullopt;
  return testing::ReadAll(path);
}

std::vector<intel::StoredObject> BundleObjects(const std::string& text, const std::string& producer) {
  auto bundle = intel::stix::ValidateBundle(text);
  EXPECT_TRUE(bundle.has_value());
  std::vector<intel::StoredObject> out;
  if (!bundle) return out;
  for (const auto& o : bundle->objects) out.push_back(Stored(o.json, producer));
  return out;
}

TEST_F(EarlyWarningTest, PoisonIvyReportRaisesIndicatorAndReportNotifications) {
  auto text = ReadExample("threat-reports/poisonivy.json");
  if (!text) GTEST_SKIP() << "no ../shared/data/intel/stix/examples/threat-reports/poisonivy.json";
  std::vector<intel::StoredObject> objects = BundleObjects(*text, "ncsc");
  ASSERT_GT(objects.size(), 10u);
  std::map<std::string, std::string> by_id;
  for (const auto& o : objects) by_id[o.meta.id] = o.json;

  // Independently: which indicators of the bundle name an address in 219.90.112.0/24?
  std::set<std::string> expected_indicators;
  std::string report_id;
  for (const auto& o : objects) {
    if (o.meta.type == "report") report_id = o.meta.id;
    if (o.meta.type == "indicator" && o.json.find("'219.90.112.") != std::string::npos) {
      expected_indicators.insert(o.meta.id);
    }
  }
  ASSERT_FALSE(expected_indicators.empty());
  ASSERT_FALSE(report_id.empty());

  Options options;
  options.org_type = [](std::string_view org) -> std::optional<auth::OrgType> {
    if (org == "ncsc") return auth::OrgType::kNationalCentre;
    return std::nullopt;
  };
  auto ew = Open(std::move(options));
  ASSERT_TRUE(ew);
  Reg(*ew, "trust-a", RegistrationKind::kIp, "219.90.112.0/24");
  Reg(*ew, "trust-b", RegistrationKind::kDomain, "3322.org");  // js001.3322.org

  // The indicators alone: one notification per (indicator, address in the range).
  std::vector<intel::StoredObject> indicators;
  for (const auto& o : objects) {
    if (o.meta.type != "report") indicators.push_back(o);
  }
  auto stats = ew->OnObjectsAdded(indicators);
  ASSERT_TRUE(stats.has_value()) << stats.error().ToString();
  auto a = ew->ListNotifications({.org_id = "trust-a"});
  ASSERT_TRUE(a.has_value());
  std::set<std::string> notified_ids;
  for (const auto& n : *a) {
    notified_ids.insert(n.object_id);
    EXPECT_EQ(n.kind, NotificationKind::kIndicator);
    EXPECT_TRUE(n.observed.starts_with("219.90.112.")) << n.observed;
    EXPECT_EQ(n.grade.reliability, 'A');  // national centre
    EXPECT_EQ(n.source, "org:ncsc");
  }
  EXPECT_EQ(notified_ids, expected_indicators);
  auto b = ew->ListNotifications({.org_id = "trust-b"});
  size_t expected_3322 = 0;
  for (const auto& o : indicators) expected_3322 += o.json.find(".3322.org'") != std::string::npos;
  ASSERT_EQ(b->size(), expected_3322);
  ASSERT_GE(expected_3322, 1u);
  for (const auto& n : *b) EXPECT_TRUE(n.observed.ends_with(".3322.org")) << n.observed;

  // The report arrives later, alone: its object_refs are followed through the lookup.
  Options with_lookup;
  with_lookup.lookup = [&](std::string_view id) -> std::optional<std::string> {
    auto it = by_id.find(std::string(id));
    if (it == by_id.end()) return std::nullopt;
    return it->second;
  };
  ew.reset();
  ew = Open(std::move(with_lookup));
  std::vector<intel::StoredObject> report;
  for (const auto& o : objects) {
    if (o.meta.type == "report") report.push_back(o);
  }
  stats = ew->OnObjectsAdded(report);
  ASSERT_TRUE(stats.has_value());
  EXPECT_GT(stats->notified, 0u);
  a = ew->ListNotifications({.org_id = "trust-a"});
  size_t report_notes = 0;
  for (const auto& n : *a) {
    if (n.kind != NotificationKind::kReport) continue;
    ++report_notes;
    EXPECT_EQ(n.object_id, report_id);
    EXPECT_TRUE(n.context.starts_with("indicator--")) << n.context;  // found through a reference
  }
  EXPECT_EQ(report_notes, 2u);  // 219.90.112.203 and 219.90.112.197, once each

  // Without the lookup the report alone says nothing.
  ew.reset();
  fs::remove_all(dir_);
  ew = Open();
  Reg(*ew, "trust-a", RegistrationKind::kIp, "219.90.112.0/24");
  stats = ew->OnObjectsAdded(report);
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->notified, 0u);
}

TEST_F(EarlyWarningTest, C2ExampleOnPrivateAddressNeverNotifies) {
  auto text = ReadExample("indicator-for-c2-ip-address.json");
  if (!text) GTEST_SKIP() << "no ../shared/data/intel/stix/examples/indicator-for-c2-ip-address.json";
  auto ew = Open();
  ASSERT_TRUE(ew);
  InsertRawRegistration("legacy", "ip", "10.0.0.0/8");  // refused by Register
  auto stats = ew->OnObjectsAdded(BundleObjects(*text, "ncsc"));
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->notified, 0u);
  EXPECT_EQ(stats->suppressed_bogon, 1u);  // [ipv4-addr:value = '10.0.0.0']
}

// ---------------------------------------------------------------------------
// Sightings, corroboration and grading.

TEST_F(EarlyWarningTest, SightingsFollowTheLookupAndCorroborationRaisesCredibility) {
  const std::string indicator =
      IndicatorJson("00000000000a", "[domain-name:value = 'login.nhs-trust.nhs.uk']", "2026-01-01T00:00:00.000Z", 85);
  const std::string indicator_id = "indicator--6a1b1c1d-0000-4000-8000-00000000000a";
  Options options;
  std::atomic<int> lookups = 0;
  options.lookup = [&](std::string_view id) -> std::optional<std::string> {
    ++lookups;
    if (id == indicator_id) return indicator;
    return std::nullopt;
  };
  options.org_type = [](std::string_view org) -> std::optional<auth::OrgType> {
    if (org == "gp-1") return auth::OrgType::kGpPractice;
    if (org == "supplier-1") return auth::OrgType::kSupplier;
    return std::nullopt;
  };
  auto ew = Open(std::move(options));
  ASSERT_TRUE(ew);
  Reg(*ew, "trust-a", RegistrationKind::kDomain, "nhs-trust.nhs.uk");
  auto sighting = [&](int n, std::string_view org) {
    std::string json = R"({"type":"sighting","spec_version":"2.1","id":"sighting--7c2d0000-0000-4000-8000-00000000000)" +
                       std::to_string(n) +
                       R"(","created":"2026-02-01T00:00:00.000Z","modified":"2026-02-01T00:00:00.000Z","sighting_of_ref":")" +
                       indicator_id + R"("})";
    return Stored(json, std::string(org));
  };
  std::vector<int> credibility;
  std::vector<char> reliability;
  int i = 0;
  for (std::string_view org : {"gp-1", "gp-1", "supplier-1", "trust-z"}) {
    auto stats = ew->OnObjectsAdded(std::vector{sighting(++i, org)});
    ASSERT_TRUE(stats.has_value()) << stats.error().ToString();
    ASSERT_EQ(stats->notified, 1u);
    auto latest = ew->ListNotifications({.org_id = "trust-a", .limit = 1});
    ASSERT_EQ(latest->size(), 1u);
    EXPECT_EQ((*latest)[0].kind, NotificationKind::kSighting);
    EXPECT_EQ((*latest)[0].observed, "login.nhs-trust.nhs.uk");
    EXPECT_EQ((*latest)[0].context, indicator_id + " → pattern domain-name:value");
    credibility.push_back((*latest)[0].grade.credibility);
    reliability.push_back((*latest)[0].grade.reliability);
  }
  // No confidence on the sightings: 6; the same org twice is still one; a second
  // organisation caps at 2, a third at 1.
  EXPECT_EQ(credibility, (std::vector<int>{6, 6, 2, 1}));
  EXPECT_EQ(reliability, (std::vector<char>{'B', 'B', 'C', 'F'}));
  EXPECT_GE(lookups.load(), 4);
}

TEST(EarlyWarningGrading, ConfidenceToCredibilityFollowsTheAdmiraltyScale) {
  EXPECT_EQ(CredibilityFromConfidence(std::nullopt), 6);
  const std::pair<int, int> table[] = {{0, 5},  {19, 5}, {20, 4}, {39, 4}, {40, 3}, {59, 3}, {60, 2},
                                       {79, 2}, {80, 1}, {100, 1}, {-5, 5}, {150, 1}};
  for (auto [confidence, expected] : table) EXPECT_EQ(CredibilityFromConfidence(confidence), expected) << confidence;
  EXPECT_EQ(CorroboratedCredibility(6, 1), 6);
  EXPECT_EQ(CorroboratedCredibility(6, 2), 2);
  EXPECT_EQ(CorroboratedCredibility(1, 2), 1);
  EXPECT_EQ(CorroboratedCredibility(4, 3), 1);
  EXPECT_EQ((Grade{'B', 2}).Code(), "B2");
  EXPECT_EQ(ReliabilityMeaning('A'), "completely reliable");
  EXPECT_EQ(CredibilityMeaning(6), "truth cannot be judged");
}

TEST_F(EarlyWarningTest, ReliabilityComesFromTheSourceAndSettings) {
  Options options;
  options.org_type = [](std::string_view org) -> std::optional<auth::OrgType> {
    if (org == "ncsc") return auth::OrgType::kNationalCentre;
    if (org == "trust-x") return auth::OrgType::kTrust;
    return std::nullopt;
  };
  auto ew = Open(std::move(options));
  ASSERT_TRUE(ew);
  Reg(*ew, "trust-a", RegistrationKind::kIp, "81.2.69.0/24");
  auto grade_of = [&](std::string producer, int n, std::optional<int> confidence) {
    char tail[13];
    std::snprintf(tail, sizeof tail, "%012d", n);
    auto stats = ew->OnObjectsAdded(std::vector{Stored(
        IndicatorJson(tail, "[ipv4-addr:value = '81.2.69.7']", "2026-01-01T00:00:00.000Z", confidence), producer)});
    EXPECT_TRUE(stats.has_value() && stats->notified == 1);
    return ew->ListNotifications({.org_id = "trust-a", .limit = 1})->at(0).grade.Code();
  };
  EXPECT_EQ(grade_of("ncsc", 1, 90), "A1");
  EXPECT_EQ(grade_of("trust-x", 2, 65), "B2");
  EXPECT_EQ(grade_of("stranger", 3, 45), "F3");
  EXPECT_EQ(grade_of("", 4, std::nullopt), "F6");

  auto settings = ew->GetSettings();
  ASSERT_TRUE(settings.has_value());
  settings->reliability["org:stranger"] = 'D';
  settings->reliability["feed:maltrail"] = 'E';
  ASSERT_TRUE(ew->PutSettings(*settings).has_value());
  EXPECT_EQ(grade_of("stranger", 5, 25), "D4");

  std::vector<Indicator> feed = {{IndicatorType::kIpv4, "81.2.69.8", {.source = "x", .confidence = 10}}};
  ASSERT_TRUE(ew->OnIndicators(feed, "maltrail/malware/emotet").has_value());
  EXPECT_EQ(ew->ListNotifications({.org_id = "trust-a", .limit = 1})->at(0).grade.Code(), "E5");
  feed[0].value = "81.2.69.9";
  ASSERT_TRUE(ew->OnIndicators(feed, "maltrailx").has_value());  // not under feed:maltrail
  EXPECT_EQ(ew->ListNotifications({.org_id = "trust-a", .limit = 1})->at(0).grade.Code(), "C5");

  settings->reliability["org:bad"] = 'Z';
  EXPECT_FALSE(ew->PutSettings(*settings).has_value());
}

// ---------------------------------------------------------------------------
// De-duplication, TLP, the inbox.

TEST_F(EarlyWarningTest, RepeatsWithinTheWindowAreFoldedIntoOneNotification) {
  auto ew = Open();
  ASSERT_TRUE(ew);
  Reg(*ew, "trust-a", RegistrationKind::kIp, "81.2.69.0/24");
  auto version = [&](std::string modified, std::string pattern = "[ipv4-addr:value = '81.2.69.142']") {
    return ew->OnObjectsAdded(std::vector{Stored(IndicatorJson("000000000001", pattern, modified))});
  };
  ASSERT_EQ(version("2026-01-01T00:00:00.000Z")->notified, 1u);
  now_ += 2 * kHourNs;
  auto second = version("2026-01-02T00:00:00.000Z");  // a new version of the same object
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->notified, 0u);
  EXPECT_EQ(second->repeats, 1u);
  // Another address of the same object is another notification.
  EXPECT_EQ(version("2026-01-03T00:00:00.000Z", "[ipv4-addr:value = '81.2.69.143']")->notified, 1u);
  auto listed = ew->ListNotifications({.org_id = "trust-a"});
  ASSERT_EQ(listed->size(), 2u);
  const Notification& first = listed->at(1);
  EXPECT_EQ(first.observed, "81.2.69.142");
  EXPECT_EQ(first.count, 2u);
  EXPECT_EQ(first.last_seen_ns - first.created_ns, 2 * kHourNs);

  now_ += 23 * kHourNs;  // 25 h after the first: outside the 24 h window
  EXPECT_EQ(version("2026-01-04T00:00:00.000Z")->notified, 1u);
  // A shorter window configured.
  auto settings = ew->GetSettings();
  settings->dedup_window_ns = kHourNs;
  ASSERT_TRUE(ew->PutSettings(*settings).has_value());
  now_ += 90LL * 60 * 1'000'000'000;
  EXPECT_EQ(version("2026-01-05T00:00:00.000Z")->notified, 1u);
  EXPECT_EQ(ew->ListNotifications({.org_id = "trust-a"})->size(), 4u);
}

TEST_F(EarlyWarningTest, OnlyOrganisationsThatMayReadTheObjectAreNotified) {
  Options options;
  std::vector<std::string> asked;
  options.may_read = [&](const std::string& org, const intel::ObjectMeta& meta) {
    asked.push_back(org + " " + meta.id);
    return meta.tlp <= Tlp::kGreen || org == "trust-a";  // AMBER: trust-a only
  };
  auto ew = Open(std::move(options));
  ASSERT_TRUE(ew);
  Reg(*ew, "trust-a", RegistrationKind::kIp, "81.2.69.0/24");
  Reg(*ew, "trust-b", RegistrationKind::kIp, "81.2.69.0/25");
  auto amber = Stored(IndicatorJson("000000000001", "[ipv4-addr:value = '81.2.69.5']", "2026-01-01T00:00:00.000Z"), "ncsc",
                      Tlp::kAmber);
  auto stats = ew->OnObjectsAdded(std::vector{amber});
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->notified, 1u);
  EXPECT_EQ(stats->denied_tlp, 1u);
  EXPECT_EQ(ew->ListNotifications({.org_id = "trust-b"})->size(), 0u);
  auto a = ew->ListNotifications({.org_id = "trust-a"});
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ(a->at(0).tlp, Tlp::kAmber);
  auto green = Stored(IndicatorJson("000000000002", "[ipv4-addr:value = '81.2.69.6']", "2026-01-01T00:00:00.000Z"), "ncsc",
                      Tlp::kGreen);
  EXPECT_EQ(ew->OnObjectsAdded(std::vector{green})->notified, 2u);
  EXPECT_EQ(asked.size(), 4u);  // once per (organisation, object)
}

TEST_F(EarlyWarningTest, InboxListsBySinceAndUnackedAndAcks) {
  auto ew = Open();
  ASSERT_TRUE(ew);
  Reg(*ew, "trust-a", RegistrationKind::kDomain, "nhs-trust.nhs.uk");
  Reg(*ew, "trust-b", RegistrationKind::kDomain, "other-trust.nhs.uk");
  std::vector<Indicator> feed = {{IndicatorType::kDomain, "a.nhs-trust.nhs.uk", {}},
                                 {IndicatorType::kUrl, "b.nhs-trust.nhs.uk/x.php", {}},
                                 {IndicatorType::kEmail, "phish@other-trust.nhs.uk", {}},
                                 {IndicatorType::kSha256, std::string(64, 'a'), {}}};
  auto stats = ew->OnIndicators(feed, "urlhaus");
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->notified, 3u);
  const int64_t later = now_ + kHourNs;
  now_ = later;
  ASSERT_EQ(ew->OnIndicators(std::vector{Indicator{IndicatorType::kDomain, "c.nhs-trust.nhs.uk", {}}}, "urlhaus")
                ->notified,
            1u);
  auto a = ew->ListNotifications({.org_id = "trust-a"});
  ASSERT_EQ(a->size(), 3u);
  EXPECT_EQ(a->at(0).observed, "c.nhs-trust.nhs.uk");  // newest first
  EXPECT_EQ(a->at(0).kind, NotificationKind::kFeed);
  EXPECT_EQ(a->at(0).source, "feed:urlhaus");
  EXPECT_EQ(ew->ListNotifications({.org_id = "trust-a", .since_ns = later})->size(), 1u);
  int64_t id = a->at(1).id;
  auto acked = ew->Ack(id, "ana", "trust-b");  // not theirs
  ASSERT_TRUE(acked.has_value());
  EXPECT_FALSE(*acked);
  EXPECT_TRUE(*ew->Ack(id, "ana", "trust-a"));
  EXPECT_FALSE(*ew->Ack(id, "ana"));  // already acknowledged
  EXPECT_EQ(ew->ListNotifications({.org_id = "trust-a", .unacked_only = true})->size(), 2u);
  auto got = ew->GetNotification(id);
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ((*got)->acked_by, "ana");
  EXPECT_EQ(ew->ListNotifications({})->size(), 4u);

  // The JSON form parses and carries the grade and what matched.
  simdjson::dom::parser parser;
  simdjson::padded_string json(NotificationJson(**got));
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
  EXPECT_EQ(std::string_view(doc["matched"]["registration"]), "domain nhs-trust.nhs.uk");
  EXPECT_EQ(std::string_view(doc["grade"]["code"]), "C3");  // feed, confidence 50
  EXPECT_EQ(std::string_view(doc["tlp"]), "TLP:CLEAR");
  EXPECT_TRUE(bool(doc["acked"]));
}

TEST_F(EarlyWarningTest, RegistrationsMadeByAnotherProcessAreSeen) {
  auto hub = Open();
  ASSERT_TRUE(hub);
  EXPECT_TRUE(hub->MatchObservable({ObservableKind::kAsn, "5462", ""}).empty());
  {
    auto cli = Open();  // a second connection, like `aegis ew register` beside `aegis serve`
    Reg(*cli, "trust-a", RegistrationKind::kAsn, "5462");
  }
  EXPECT_EQ(hub->MatchObservable({ObservableKind::kAsn, "5462", ""}).size(), 1u);
}

// Real maltrail indicators through OnIndicators agree with a plain scan.
TEST_F(EarlyWarningTest, MaltrailFeedIndicatorsNotifyExactlyTheRegisteredOnes) {
  fs::path trails = fs::path(AEGIS_SHARED_DATA) / "intel/maltrail/trails/static/malware";
  if (!fs::exists(trails)) GTEST_SKIP() << "no ../shared/data/intel/maltrail";
  struct Collect : detect::IndicatorSink {
    std::vector<IndicatorMeta> metas;
    std::vector<Indicator> indicators;
    detect::MetaId AddMeta(const IndicatorMeta& meta) override {
      metas.push_back(meta);
      return static_cast<detect::MetaId>(metas.size() - 1);
    }
    void Add(IndicatorType type, std::string_view value, detect::MetaId meta) override {
      indicators.push_back({type, std::string(value), metas[meta]});
    }
  } sink;
  intel::LoadOptions load;
  auto report = intel::LoadPath(trails.string(), load, sink);
  ASSERT_TRUE(report.has_value());
  ASSERT_GT(sink.indicators.size(), 10'000u);
  // Register a few of the feed's own names (parent domains) and one address's /24,
  // then compare with a plain scan.
  auto ew = Open();
  ASSERT_TRUE(ew);
  std::vector<std::string> domains;
  std::optional<IpPrefix> range;
  for (size_t i = 0; i < sink.indicators.size() && (domains.size() < 5 || !range); i += 997) {
    const Indicator& ind = sink.indicators[i];
    if (ind.type == IndicatorType::kDomain && domains.size() < 5) {
      auto r = ew->Register({.org_id = "org-" + std::to_string(domains.size()), .kind = RegistrationKind::kDomain,
                             .value = ind.value},
                            "t");
      if (r) domains.push_back(r->value);
    }
    if (ind.type == IndicatorType::kIpv4 && !range) {
      auto ip = ParseIp(ind.value);
      IpPrefix p{IpAddress::FromV4(ip->v4() & 0xffffff00u), 24};
      if (ew->Register({.org_id = "org-ip", .kind = RegistrationKind::kIp, .value = FormatPrefix(p)}, "t")) range = p;
    }
  }
  ASSERT_EQ(domains.size(), 5u);
  // Every (indicator, registration) pair: repeats inside a file are folded by
  // de-duplication, so notified + repeats counts them all.
  size_t expected = 0;
  for (const Indicator& ind : sink.indicators) {
    std::string host = ind.value;
    if (ind.type == IndicatorType::kUrl) host = host.substr(0, host.find_first_of("/:?#"));
    if (ind.type == IndicatorType::kEmail) host = host.substr(host.find('@') + 1);
    bool named = ind.type == IndicatorType::kDomain || ind.type == IndicatorType::kUrl ||
                 ind.type == IndicatorType::kEmail;
    for (const std::string& domain : domains) {
      if (named && (host == domain || host.ends_with("." + domain))) ++expected;
    }
    if (!range) continue;
    std::optional<IpPrefix> p;
    if (ind.type == IndicatorType::kIpv4 || ind.type == IndicatorType::kCidr || ind.type == IndicatorType::kUrl) {
      if (auto parsed = ParseCidr(host)) p = *parsed;
    }
    if (p && !p->addr.v6 && !BogonReason(*p)) {
      unsigned common = std::min<unsigned>(p->length, 24);
      uint32_t mask = common == 0 ? 0 : ~0u << (32 - common);
      if ((p->addr.v4() & mask) == (range->addr.v4() & mask)) ++expected;
    }
  }
  // Feed indicators from one file share a source: split per trail file, as a feed
  // importer would call OnIndicators per file.
  std::map<std::string, std::vector<Indicator>> by_source;
  for (const Indicator& ind : sink.indicators) by_source[ind.meta.source].push_back(ind);
  uint64_t notified = 0;
  for (const auto& [source, list] : by_source) {
    auto stats = ew->OnIndicators(list, source);
    ASSERT_TRUE(stats.has_value()) << stats.error().ToString();
    notified += stats->notified + stats->repeats;
  }
  EXPECT_EQ(notified, expected);
  EXPECT_GE(expected, 5u);
}

}  // namespace
}  // namespace aegis::share
