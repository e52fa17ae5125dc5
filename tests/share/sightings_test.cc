// Alerts to STIX sightings: ids, counts, anonymisation, TLP outcomes, and the local
// publisher over a real StixStore in a temporary SQLite file.
#include "share/sightings.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>

#include "auth/tlp_policy.h"
#include "core/event.h"
#include "intel/stix_object.h"
#include "intel/stix_store.h"
#include "store/store.h"

namespace aegis::share {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kOrgIdentity = "identity--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061";

Alert DomainAlert(Tlp tlp = Tlp::kGreen) {
  Alert a;
  a.id = "a1b2c3d4e5f60718";
  a.time_ns = *ParseTime("2026-11-23T10:00:05Z");
  a.event_time_ns = *ParseTime("2026-11-23T10:00:00Z");
  a.severity = Severity::kHigh;
  a.tlp = tlp;
  a.detector = "indicator";
  a.rule = "evil.example";
  a.title = "DNS query for known-bad domain evil.example (national)";
  a.indicator_type = "domain";
  a.source_ip = "10.1.2.3";
  a.event_json = R"({"source.ip":"10.1.2.3"})";
  return a;
}

SightingOptions Reporter(bool anonymise = false) {
  return {.org_id = "rxa-trust", .org_identity = std::string(kOrgIdentity), .anonymise = anonymise};
}

struct Parsed {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  explicit Parsed(const std::string& json) { EXPECT_FALSE(parser.parse(json).get(doc)); }
  std::string Str(const char* key) {
    std::string_view v;
    return doc[key].get_string().get(v) ? std::string() : std::string(v);
  }
  bool Has(const char* key) { return !doc[key].error(); }
  std::vector<std::string> Strings(const char* key) {
    std::vector<std::string> out;
    simdjson::dom::array a;
    if (doc[key].get_array().get(a)) return out;
    for (auto e : a) {
      std::string_view v;
      if (!e.get_string().get(v)) out.emplace_back(v);
    }
    return out;
  }
  int64_t Int(const char* key) {
    int64_t v = -1;
    if (doc[key].get_int64().get(v)) v = -1;
    return v;
  }
};

TEST(UuidV5, KnownAnswerFromRfc) {
  // RFC 9562 appendix A.4: DNS namespace, "www.example.com".
  EXPECT_EQ(UuidV5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "www.example.com"),
            "2ed6657d-e927-568b-95e1-2665a8aea6a2");
}

TEST(SightingFromAlert, NamedReporterCarriesIdentityAndIndicator) {
  const int64_t now = *ParseTime("2026-11-23T10:01:00Z");
  auto s = SightingFromAlert(DomainAlert(), Reporter(), std::nullopt, now);
  ASSERT_TRUE(s) << s.error().ToString();
  EXPECT_TRUE(s->shareable);
  EXPECT_EQ(s->tlp, Tlp::kGreen);
  ASSERT_TRUE(intel::stix::ValidateObject(s->json)) << s->json;
  Parsed p(s->json);
  EXPECT_EQ(p.Str("type"), "sighting");
  EXPECT_EQ(p.Str("id"), s->id);
  EXPECT_EQ(p.Str("created_by_ref"), kOrgIdentity);
  EXPECT_EQ(p.Strings("where_sighted_refs"), std::vector<std::string>{std::string(kOrgIdentity)});
  EXPECT_EQ(p.Str("sighting_of_ref"), s->indicator_id);
  EXPECT_EQ(p.Str("first_seen"), "2026-11-23T10:00:00.000000Z");
  EXPECT_EQ(p.Str("last_seen"), "2026-11-23T10:00:00.000000Z");
  EXPECT_EQ(p.Int("count"), 1);
  EXPECT_EQ(p.Strings("object_marking_refs"),
            std::vector<std::string>{std::string(Tlp2MarkingId(Tlp::kGreen))});
  // The event itself (internal addresses) never leaves in a sighting.
  EXPECT_EQ(s->json.find("10.1.2.3"), std::string::npos);

  ASSERT_FALSE(s->indicator_json.empty());
  ASSERT_TRUE(intel::stix::ValidateObject(s->indicator_json)) << s->indicator_json;
  Parsed ind(s->indicator_json);
  EXPECT_EQ(ind.Str("pattern"), "[domain-name:value = 'evil.example']");
  EXPECT_EQ(ind.Str("id"), s->indicator_id);
}

TEST(SightingFromAlert, SameAlertSameIdsAndRepeatRaisesCount) {
  const int64_t t1 = *ParseTime("2026-11-23T10:01:00Z");
  auto first = SightingFromAlert(DomainAlert(), Reporter(), std::nullopt, t1);
  auto again = SightingFromAlert(DomainAlert(), Reporter(), std::nullopt, t1 + 5'000'000'000);
  ASSERT_TRUE(first && again);
  EXPECT_EQ(first->id, again->id);
  EXPECT_EQ(first->indicator_id, again->indicator_id);

  Alert other = DomainAlert();
  other.id = "ffff000011112222";
  auto different = SightingFromAlert(other, Reporter(), std::nullopt, t1);
  ASSERT_TRUE(different);
  EXPECT_NE(different->id, first->id);
  EXPECT_EQ(different->indicator_id, first->indicator_id);  // same indicator value

  auto previous = ParsePreviousSighting(first->json);
  ASSERT_TRUE(previous) << previous.error().ToString();
  Alert repeated = DomainAlert();
  repeated.count = 3;
  const int64_t t2 = *ParseTime("2026-11-23T11:00:00Z");
  auto next = SightingFromAlert(repeated, Reporter(), *previous, t2);
  ASSERT_TRUE(next) << next.error().ToString();
  ASSERT_TRUE(intel::stix::ValidateObject(next->json)) << next->json;
  EXPECT_EQ(next->id, first->id);
  Parsed p(next->json);
  EXPECT_EQ(p.Int("count"), 3);
  EXPECT_EQ(p.Str("created"), previous->created);
  EXPECT_EQ(p.Str("modified"), "2026-11-23T11:00:00.000000Z");
  EXPECT_EQ(p.Str("first_seen"), "2026-11-23T10:00:00.000000Z");
  EXPECT_EQ(p.Str("last_seen"), "2026-11-23T11:00:00.000000Z");

  // A repeat without a higher alert count still counts one more.
  auto previous2 = ParsePreviousSighting(next->json);
  ASSERT_TRUE(previous2);
  auto third = SightingFromAlert(repeated, Reporter(), *previous2, t2);  // same clock
  ASSERT_TRUE(third);
  Parsed p3(third->json);
  EXPECT_EQ(p3.Int("count"), 4);
  EXPECT_GT(p3.Str("modified"), p.Str("modified"));  // versions never collide
}

TEST(SightingFromAlert, AnonymisedOmitsReporter) {
  const int64_t now = *ParseTime("2026-11-23T10:01:00Z");
  auto named = SightingFromAlert(DomainAlert(), Reporter(false), std::nullopt, now);
  SightingOptions anon = Reporter(true);
  auto s = SightingFromAlert(DomainAlert(), anon, std::nullopt, now);
  ASSERT_TRUE(s && named);
  ASSERT_TRUE(intel::stix::ValidateObject(s->json)) << s->json;
  Parsed p(s->json);
  EXPECT_FALSE(p.Has("where_sighted_refs"));
  EXPECT_FALSE(p.Has("description"));
  EXPECT_EQ(p.Str("created_by_ref"), AnonymousIdentityId());
  EXPECT_EQ(s->json.find(kOrgIdentity), std::string::npos);
  EXPECT_EQ(s->json.find("rxa"), std::string::npos);
  EXPECT_NE(s->id, named->id);  // the named and the anonymous sighting are not linkable by id
  // Anonymised needs no identity at all.
  anon.org_identity.clear();
  EXPECT_TRUE(SightingFromAlert(DomainAlert(), anon, std::nullopt, now));
}

TEST(SightingFromAlert, TlpOutcomes) {
  const int64_t now = *ParseTime("2026-11-23T10:01:00Z");
  struct Case {
    Tlp matched, requested, expected;
    bool shareable;
  };
  const Case cases[] = {
      {Tlp::kClear, Tlp::kGreen, Tlp::kGreen, true},
      {Tlp::kGreen, Tlp::kClear, Tlp::kGreen, true},
      {Tlp::kAmber, Tlp::kGreen, Tlp::kAmber, true},
      {Tlp::kAmberStrict, Tlp::kGreen, Tlp::kAmberStrict, false},
      {Tlp::kRed, Tlp::kGreen, Tlp::kRed, false},
      {Tlp::kGreen, Tlp::kAmberStrict, Tlp::kAmberStrict, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(TlpName(c.matched)) + " requested " +
                 std::string(TlpName(c.requested)));
    SightingOptions o = Reporter(true);
    o.requested_tlp = c.requested;
    auto s = SightingFromAlert(DomainAlert(c.matched), o, std::nullopt, now);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->tlp, c.expected);
    EXPECT_EQ(s->shareable, c.shareable);
    Parsed p(s->json);
    EXPECT_EQ(p.Strings("object_marking_refs"),
              std::vector<std::string>{std::string(Tlp2MarkingId(c.expected))});
    // The policy agrees: a local-only sighting never goes to another organisation.
    auth::SharedObject shared{
        .id = s->id, .producer_org = "rxa-trust", .markings = p.Strings("object_marking_refs")};
    auth::Reader national{.org_id = "ncc", .org_type = auth::OrgType::kNationalCentre};
    if (!c.shareable) {
      EXPECT_FALSE(auth::Decide(national, shared, auth::ReadPath::kFederation).allowed);
    }
  }
}

TEST(SightingFromAlert, SigmaAlertAndKnownStixIndicator) {
  const int64_t now = *ParseTime("2026-11-23T10:01:00Z");
  Alert sigma = DomainAlert();
  sigma.detector = "sigma";
  sigma.rule = "5f1abf38-3f2a-4c6e-8b71-3a5f6c0d9e11";
  sigma.title = "Suspicious encoded PowerShell";
  sigma.indicator_type.clear();
  auto s = SightingFromAlert(sigma, Reporter(), std::nullopt, now);
  ASSERT_TRUE(s) << s.error().ToString();
  Parsed ind(s->indicator_json);
  EXPECT_EQ(ind.Str("pattern_type"), "sigma");
  EXPECT_NE(ind.Str("pattern").find(sigma.rule), std::string::npos);

  Alert live = DomainAlert();
  live.tags = {"c2", "stix-id:indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"};
  auto k = SightingFromAlert(live, Reporter(), std::nullopt, now);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->indicator_id, "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f");
  EXPECT_TRUE(k->indicator_json.empty());
  Parsed p(k->json);
  EXPECT_EQ(p.Str("sighting_of_ref"), k->indicator_id);
}

TEST(SightingFromAlert, BadInputIsAClearError) {
  const int64_t now = NowNs();
  Alert a = DomainAlert();
  a.id.clear();
  auto r = SightingFromAlert(a, Reporter(), std::nullopt, now);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "id");
  a = DomainAlert();
  a.indicator_type = "nonsense";
  r = SightingFromAlert(a, Reporter(), std::nullopt, now);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "indicator_type");
  SightingOptions no_identity = Reporter();
  no_identity.org_identity = "rxa";
  r = SightingFromAlert(DomainAlert(), no_identity, std::nullopt, now);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "org_identity");
  EXPECT_FALSE(ParsePreviousSighting("not json"));
}

class AlertSightingsStore : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("aegis-sightings-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto store = intel::StixStore::Open((dir_ / "aegis.db").string());
    ASSERT_TRUE(store) << store.error().ToString();
    stix_ = std::move(*store);
  }
  void TearDown() override {
    stix_.reset();
    fs::remove_all(dir_);
  }
  std::vector<std::string> Versions(const std::string& collection, const std::string& id) {
    intel::ObjectQuery q{
        .collection_id = collection, .ids = {id}, .versions = intel::VersionMatch::kAll};
    auto page = stix_->Query(q);
    EXPECT_TRUE(page);
    std::vector<std::string> out;
    if (page) {
      for (auto& o : page->objects) out.push_back(o.json);
    }
    return out;
  }
  fs::path dir_;
  std::unique_ptr<intel::StixStore> stix_;
};

TEST_F(AlertSightingsStore, PublishCreatesThenVersionsOnRepeat) {
  auto sightings = AlertSightings::Open(stix_.get(), {.sighting = Reporter()});
  ASSERT_TRUE(sightings) << sightings.error().ToString();
  auto collection = stix_->GetCollection("sightings");
  ASSERT_TRUE(collection && *collection);
  EXPECT_EQ((*collection)->id, (*sightings)->collection_id());

  auto id = (*sightings)->Publish(DomainAlert());
  ASSERT_TRUE(id) << id.error().ToString();
  EXPECT_EQ(Versions((*sightings)->collection_id(), *id).size(), 1u);
  // The indicator it is a sighting of is stored beside it.
  auto count = stix_->CountObjects((*sightings)->collection_id());
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, 2u);

  // The same alert again: nothing new.
  ASSERT_TRUE((*sightings)->Publish(DomainAlert()));
  EXPECT_EQ(Versions((*sightings)->collection_id(), *id).size(), 1u);
  EXPECT_EQ((*sightings)->stats().unchanged, 1u);

  // Repeats folded in by de-duplication: a new version with the higher count.
  ASSERT_TRUE((*sightings)->Repeat(DomainAlert().id, 2));
  auto versions = Versions((*sightings)->collection_id(), *id);
  ASSERT_EQ(versions.size(), 2u);
  Parsed latest(versions.back());
  EXPECT_EQ(latest.Int("count"), 3);
  EXPECT_EQ((*sightings)->stats().created, 1u);
  EXPECT_EQ((*sightings)->stats().updated, 1u);
  EXPECT_FALSE((*sightings)->Repeat("unknown-alert", 1));

  // A second publisher over the same store (a restart) continues from what is stored.
  auto restarted = AlertSightings::Open(stix_.get(), {.sighting = Reporter()});
  ASSERT_TRUE(restarted);
  Alert a = DomainAlert();
  a.count = 3;
  ASSERT_TRUE((*restarted)->Publish(a));
  EXPECT_EQ(Versions((*sightings)->collection_id(), *id).size(), 2u);
}

TEST_F(AlertSightingsStore, LocalOnlySightingIsStoredButMarkedRestrictive) {
  auto sightings = AlertSightings::Open(stix_.get(), {.sighting = Reporter(true)});
  ASSERT_TRUE(sightings);
  auto id = (*sightings)->Publish(DomainAlert(Tlp::kAmberStrict));
  ASSERT_TRUE(id) << id.error().ToString();
  EXPECT_EQ((*sightings)->stats().local_only, 1u);
  auto versions = Versions((*sightings)->collection_id(), *id);
  ASSERT_EQ(versions.size(), 1u);
  Parsed p(versions[0]);
  EXPECT_EQ(p.Strings("object_marking_refs"),
            std::vector<std::string>{std::string(Tlp2MarkingId(Tlp::kAmberStrict))});
}

TEST_F(AlertSightingsStore, PollsTheAlertStore) {
  auto alerts = store::Open("sqlite:" + (dir_ / "alerts.db").string());
  ASSERT_TRUE(alerts) << alerts.error().ToString();
  Alert a = DomainAlert();
  a.time_ns = NowNs() - 60'000'000'000;  // a minute ago: inside the look-back
  Alert old = DomainAlert();
  old.id = "0000old000000000";
  old.time_ns = NowNs() - 7'200'000'000'000;  // two hours ago: before the look-back
  ASSERT_TRUE((*alerts)->PutAlerts(std::vector{a, old}));
  auto sightings = AlertSightings::Open(stix_.get(), {.sighting = Reporter()});
  ASSERT_TRUE(sightings);
  auto first = (*sightings)->PollStore(**alerts);
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_EQ(*first, 1u);
  // Nothing new: nothing published. A count raised after the fact: a new version.
  auto again = (*sightings)->PollStore(**alerts);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0u);
  const std::pair<std::string, uint32_t> repeat{a.id, 2};
  ASSERT_TRUE((*alerts)->AddAlertRepeats(std::span(&repeat, 1)));
  auto third = (*sightings)->PollStore(**alerts);
  ASSERT_TRUE(third);
  EXPECT_EQ(*third, 1u);
  EXPECT_EQ((*sightings)->stats().updated, 1u);
  // An explicit start position reaches the older alert too.
  auto all = (*sightings)->PollStore(**alerts, int64_t{1});
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, 1u);
}

}  // namespace
}  // namespace aegis::share
