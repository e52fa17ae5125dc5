// Federation against a real TAXII 2.1 server: the hub's own routes (hub/taxii.h) on an
// HttpServer on 127.0.0.1 port 0 over a temporary SQLite database play the national
// instance; a second temporary database is the trust's instance. Pull indicators, push
// sightings, TLP on the way up, resume from persisted cursors, errors, configuration.
#include "share/federation.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <stdlib.h>

#include <filesystem>

#include "common/test_util.h"
#include "core/event.h"
#include "hub/hub_test_util.h"
#include "hub/taxii.h"
#include "share/sightings.h"

namespace aegis::share {
namespace {

namespace fs = std::filesystem;
using hub::testing::HubTestEnv;
using hub::testing::TestUser;

constexpr std::string_view kGreen = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
constexpr std::string_view kAmber = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
constexpr std::string_view kAmberStrict =
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";
constexpr std::string_view kTrustIdentity = "identity--1d3f8f7e-3c55-5a51-9a43-2b4c0e0f6a11";

std::string IndicatorJson(std::string_view uuid, std::string_view domain, std::string_view marking,
                          std::string_view modified = "2026-11-20T09:00:00.000Z") {
  return std::string(R"({"type":"indicator","spec_version":"2.1","id":"indicator--)") +
         std::string(uuid) + R"(","created":"2026-11-20T09:00:00.000Z","modified":")" +
         std::string(modified) +
         R"(","name":"C2 domain","indicator_types":["malicious-activity"],"pattern":"[domain-name:value = ')" +
         std::string(domain) +
         R"(']","pattern_type":"stix","valid_from":"2026-11-20T09:00:00Z","object_marking_refs":[")" +
         std::string(marking) + R"("]})";
}

intel::stix::StixObject Valid(const std::string& json) {
  auto v = intel::stix::ValidateObject(json);
  EXPECT_TRUE(v) << (v ? "" : v.error().ToString()) << "\n" << json;
  return v ? *v : intel::stix::StixObject{};
}

std::vector<std::string> Ids(intel::StixStore& store, const std::string& collection,
                             intel::VersionMatch versions = intel::VersionMatch::kLast) {
  std::vector<std::string> out;
  intel::ObjectQuery q{.collection_id = collection, .versions = versions, .limit = 10'000};
  auto page = store.Query(q);
  EXPECT_TRUE(page) << (page ? "" : page.error().ToString());
  if (page) {
    for (auto& o : page->objects) out.push_back(o.meta.id);
  }
  return out;
}

bool Contains(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

Alert MakeAlert(std::string id, std::string domain, Tlp tlp) {
  Alert a;
  a.id = std::move(id);
  a.time_ns = NowNs();
  a.event_time_ns = a.time_ns - 1'000'000'000;
  a.tlp = tlp;
  a.detector = "indicator";
  a.rule = std::move(domain);
  a.indicator_type = "domain";
  a.title = "DNS query for known-bad domain " + a.rule;
  return a;
}

class FederationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(national_.ok());
    national_.AddOrg("ncc", auth::OrgType::kNationalCentre);
    national_.AddOrg("rxa", auth::OrgType::kTrust);
    national_.AddOrg("gp1", auth::OrgType::kGpPractice);
    trust_account_ = national_.AddUser("svc-rxa", "rxa", auth::Role::kAnalyst);
    indicators_ = national_.AddCollection("national-indicators", {"*"}, {"ncc"});
    sightings_ = national_.AddCollection("trust-sightings", {"ncc", "rxa"}, {"rxa"});
    national_.Start(
        [](server::Router& r, hub::HubContext& c) { return hub::RegisterTaxiiRoutes(r, c); });
    ASSERT_NE(national_.port(), 0);

    trust_db_ = (national_.dir() / "trust" / "aegis.db").string();
    fs::create_directories(fs::path(trust_db_).parent_path());
    auto trust = intel::StixStore::Open(trust_db_);
    ASSERT_TRUE(trust) << trust.error().ToString();
    trust_ = std::move(*trust);
  }

  void AddNational(const std::vector<std::string>& jsons, const std::string& producer = "ncc") {
    std::vector<intel::stix::StixObject> objects;
    for (const auto& j : jsons) objects.push_back(Valid(j));
    auto added = national_.stix().AddObjects(
        {.collection_id = indicators_.id, .producer_org = producer}, objects);
    ASSERT_TRUE(added) << added.error().ToString();
    ASSERT_EQ(added->failed, 0u);
  }

  FederationPeer Peer(std::string token = {}) {
    FederationPeer p;
    p.name = "national";
    p.url = national_.Url("/taxii2/hub/");
    p.org = "ncc";
    p.org_type = auth::OrgType::kNationalCentre;
    p.token = token.empty() ? trust_account_.token : token;
    p.pull = {{indicators_.id, "national-indicators"}};
    p.push = {{sightings_.id, "sightings"}};
    p.page_size = 2;  // several pages even for a handful of objects
    p.push_batch = 2;
    p.interval = std::chrono::seconds(3600);
    return p;
  }

  std::unique_ptr<Federation> OpenFederation(std::vector<FederationPeer> peers) {
    auto fed = Federation::Open({.db_path = trust_db_, .stix = trust_.get()}, std::move(peers));
    EXPECT_TRUE(fed) << (fed ? "" : fed.error().ToString());
    return fed ? std::move(*fed) : nullptr;
  }

  std::string TrustCollection(const std::string& alias) {
    auto c = trust_->GetCollection(alias);
    EXPECT_TRUE(c && *c) << alias;
    return (c && *c) ? (*c)->id : std::string();
  }

  HubTestEnv national_;
  TestUser trust_account_;
  intel::Collection indicators_, sightings_;
  std::string trust_db_;
  std::unique_ptr<intel::StixStore> trust_;
};

TEST_F(FederationTest, PullsIndicatorsPushesSightingsAndResumesWithoutDuplicates) {
  AddNational({IndicatorJson("0a6a5b1e-4c1f-4a47-8f16-1b6c2d3e4f01", "c2-one.example", kGreen),
               IndicatorJson("0a6a5b1e-4c1f-4a47-8f16-1b6c2d3e4f02", "c2-two.example", kGreen),
               IndicatorJson("0a6a5b1e-4c1f-4a47-8f16-1b6c2d3e4f03", "c2-three.example", kGreen)});
  // AMBER from the national centre, not shared with the trust: the hub never hands it out.
  AddNational({IndicatorJson("0a6a5b1e-4c1f-4a47-8f16-1b6c2d3e4f04", "secret.example", kAmber)});

  auto fed = OpenFederation({Peer()});
  ASSERT_TRUE(fed);
  auto first = fed->SyncPeer("national");
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_EQ(first->pulled, 3u);
  EXPECT_EQ(first->pushed, 0u);
  const std::string local_indicators = TrustCollection("national-indicators");
  auto pulled = Ids(*trust_, local_indicators);
  EXPECT_EQ(pulled.size(), 3u);
  EXPECT_TRUE(Contains(pulled, "indicator--0a6a5b1e-4c1f-4a47-8f16-1b6c2d3e4f02"));
  EXPECT_FALSE(Contains(pulled, "indicator--0a6a5b1e-4c1f-4a47-8f16-1b6c2d3e4f04"));
  {
    // Pulled objects are recorded as produced by the peer's organisation.
    intel::ObjectQuery q{.collection_id = local_indicators};
    auto page = trust_->Query(q);
    ASSERT_TRUE(page);
    for (auto& o : page->objects) EXPECT_EQ(o.meta.producer_org, "ncc");
  }

  // Alerts at the trust become sightings; GREEN goes up, AMBER+STRICT stays home.
  auto sightings = AlertSightings::Open(
      trust_.get(),
      {.sighting = {
           .org_id = "rxa", .org_identity = std::string(kTrustIdentity), .anonymise = true}});
  ASSERT_TRUE(sightings) << sightings.error().ToString();
  auto green = (*sightings)->Publish(MakeAlert("alert-green-1", "c2-one.example", Tlp::kGreen));
  auto strict =
      (*sightings)->Publish(MakeAlert("alert-strict-1", "internal.example", Tlp::kAmberStrict));
  ASSERT_TRUE(green && strict);
  // Something the trust marked AMBER+STRICT by hand, in the pushed collection.
  std::vector<intel::stix::StixObject> local_strict{Valid(
      IndicatorJson("0a6a5b1e-4c1f-4a47-8f16-1b6c2d3e4f99", "our-own.example", kAmberStrict))};
  ASSERT_TRUE(trust_->AddObjects(
      {.collection_id = (*sightings)->collection_id(), .producer_org = "rxa"}, local_strict));

  auto second = fed->SyncPeer("national");
  ASSERT_TRUE(second) << second.error().ToString();
  EXPECT_EQ(second->pulled, 0u);
  EXPECT_EQ(second->pushed, 2u);  // the GREEN sighting and the indicator it refers to
  auto up = Ids(national_.stix(), sightings_.id);
  EXPECT_EQ(up.size(), 2u);
  EXPECT_TRUE(Contains(up, *green));
  EXPECT_FALSE(Contains(up, *strict));
  EXPECT_FALSE(Contains(up, "indicator--0a6a5b1e-4c1f-4a47-8f16-1b6c2d3e4f99"));
  {
    // Anonymised: the national copy does not name the trust.
    intel::ObjectQuery q{.collection_id = sightings_.id, .ids = {*green}};
    auto page = national_.stix().Query(q);
    ASSERT_TRUE(page && page->objects.size() == 1);
    EXPECT_EQ(page->objects[0].json.find(kTrustIdentity), std::string::npos);
    EXPECT_EQ(page->objects[0].meta.producer_org, "rxa");  // the hub knows who posted it
  }

  // Restart: cursors come back from the database; nothing is pulled or pushed twice.
  fed.reset();
  fed = OpenFederation({Peer()});
  ASSERT_TRUE(fed);
  auto third = fed->SyncPeer("national");
  ASSERT_TRUE(third) << third.error().ToString();
  EXPECT_EQ(third->pulled, 0u);
  EXPECT_EQ(third->pushed, 0u);

  // New on both sides: one new indicator (and a new version of an old one), a repeat.
  AddNational({IndicatorJson("0a6a5b1e-4c1f-4a47-8f16-1b6c2d3e4f05", "c2-five.example", kGreen),
               IndicatorJson("0a6a5b1e-4c1f-4a47-8f16-1b6c2d3e4f01", "c2-one.example", kGreen,
                             "2026-11-21T09:00:00.000Z")});
  ASSERT_TRUE((*sightings)->Repeat("alert-green-1", 4));
  auto fourth = fed->SyncPeer("national");
  ASSERT_TRUE(fourth) << fourth.error().ToString();
  EXPECT_EQ(fourth->pulled, 2u);
  EXPECT_EQ(fourth->pushed, 1u);
  EXPECT_EQ(Ids(*trust_, local_indicators, intel::VersionMatch::kAll).size(), 5u);
  auto versions = Ids(national_.stix(), sightings_.id, intel::VersionMatch::kAll);
  EXPECT_EQ(std::count(versions.begin(), versions.end(), *green), 2);

  auto stats = fed->Stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].pulled, 2u);  // since the restart
  EXPECT_EQ(stats[0].pushed, 1u);
  EXPECT_EQ(stats[0].errors, 0u);
  EXPECT_GT(stats[0].last_success_ns, 0);
  const std::string metrics = fed->MetricsText();
  EXPECT_NE(metrics.find("aegis_federation_pulled_total{peer=\"national\"} 2"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("aegis_federation_pushed_total{peer=\"national\"} 1"), std::string::npos)
      << metrics;
}

TEST_F(FederationTest, BackgroundThreadPushesNewSightingsPromptly) {
  auto fed = OpenFederation({Peer()});
  ASSERT_TRUE(fed);
  fed->Start();
  auto sightings = AlertSightings::Open(
      trust_.get(), {.sighting = {.org_id = "rxa", .org_identity = std::string(kTrustIdentity)}});
  ASSERT_TRUE(sightings);
  // Let the first round (empty) finish, then add: the store hook wakes the peer
  // although the interval is an hour.
  ASSERT_TRUE(aegis::testing::WaitFor([&] { return fed->Stats()[0].rounds >= 1; }));
  auto id = (*sightings)->Publish(MakeAlert("alert-bg-1", "c2-bg.example", Tlp::kClear));
  ASSERT_TRUE(id);
  EXPECT_TRUE(
      aegis::testing::WaitFor([&] { return Contains(Ids(national_.stix(), sightings_.id), *id); }));
  fed->Stop();
  // Named (not anonymised): the national copy carries the trust's identity.
  intel::ObjectQuery q{.collection_id = sightings_.id, .ids = {*id}};
  auto page = national_.stix().Query(q);
  ASSERT_TRUE(page && page->objects.size() == 1);
  EXPECT_NE(page->objects[0].json.find(kTrustIdentity), std::string::npos);
}

TEST_F(FederationTest, WrongCredentialsFailTheRoundAndAreCounted) {
  auto fed = OpenFederation({Peer("aegis_tok_0000000000000000_wrong")});
  ASSERT_TRUE(fed);
  auto r = fed->SyncPeer("national");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().reason.find("HTTP 401"), std::string::npos) << r.error().ToString();
  auto stats = fed->Stats();
  EXPECT_EQ(stats[0].errors, 1u);
  EXPECT_FALSE(stats[0].last_error.empty());
  EXPECT_FALSE(fed->SyncPeer("nobody"));
}

TEST_F(FederationTest, UnreachablePeerIsATransportError) {
  FederationPeer p = Peer();
  p.url = "http://127.0.0.1:1/taxii2/hub/";
  p.timeout = std::chrono::seconds(5);
  auto fed = OpenFederation({p});
  ASSERT_TRUE(fed);
  auto r = fed->SyncPeer("national");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().where.find("national"), std::string::npos);
}

TEST(FederationConfig, ParsesPeers) {
  ::setenv("AEGIS_TEST_FED_TOKEN", "aegis_tok_1234_secret", 1);
  auto config = ParseFederationToml(R"(
[store]
path = "x.db"

[federation]
enabled = true

[[federation.peers]]
name = "national"
url = "https://national.example/taxii2/hub/"
org = "ncc"
org_type = "national-centre"
token_env = "AEGIS_TEST_FED_TOKEN"
ca_file = "/etc/aegis/national-ca.pem"
interval = "5m"
pull = [{ remote = "9a1f0a39-8a8c-4b43-9e4e-3d0c2c5d6e01", local = "national-indicators" }]
push = [{ local = "sightings", remote = "9a1f0a39-8a8c-4b43-9e4e-3d0c2c5d6e02" }]

[[federation.peers]]
name = "neighbour"
url = "https://trust-b.example/taxii2/hub/"
org = "trust-b"
org_type = "trust"
user = "svc"
password = "pw"
verify_tls = false
push_batch = 100
pull = [{ remote = "c1", local = "shared" }]
)",
                                    "aegis.toml");
  ASSERT_TRUE(config) << config.error().ToString();
  ASSERT_EQ(config->peers.size(), 2u);
  const FederationPeer& n = config->peers[0];
  EXPECT_EQ(n.name, "national");
  EXPECT_EQ(n.token, "aegis_tok_1234_secret");
  EXPECT_EQ(n.org_type, auth::OrgType::kNationalCentre);
  EXPECT_EQ(n.interval, std::chrono::seconds(300));
  ASSERT_EQ(n.pull.size(), 1u);
  EXPECT_EQ(n.pull[0].local, "national-indicators");
  ASSERT_EQ(n.push.size(), 1u);
  EXPECT_EQ(n.push[0].remote, "9a1f0a39-8a8c-4b43-9e4e-3d0c2c5d6e02");
  EXPECT_EQ(config->peers[1].org_type, auth::OrgType::kTrust);
  EXPECT_FALSE(config->peers[1].verify_tls);
  EXPECT_EQ(config->peers[1].push_batch, 100u);

  auto none = ParseFederationToml("[store]\npath = \"x\"\n", "a.toml");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->enabled);
  EXPECT_TRUE(none->peers.empty());
}

TEST(FederationConfig, BadInputNamesTheField) {
  struct Case {
    const char* toml;
    const char* field;
  };
  const Case cases[] = {
      {"[[federation.peers]]\nname = \"n\"\norg = \"ncc\"\ntoken = \"t\"\npull = [{remote = \"a\", "
       "local = \"b\"}]\n",
       "federation.peers[0].url"},
      {"[[federation.peers]]\nname = \"n\"\nurl = \"https://x/taxii2/r/\"\ntoken = \"t\"\npull = "
       "[{remote = \"a\", local = \"b\"}]\n",
       "federation.peers[0].org"},
      {"[[federation.peers]]\nname = \"n\"\nurl = \"https://x/\"\norg = \"o\"\npull = [{remote = "
       "\"a\", local = \"b\"}]\n",
       "federation.peers[0].token"},
      {"[[federation.peers]]\nname = \"n\"\nurl = \"https://x/\"\norg = \"o\"\ntoken = \"t\"\npull "
       "= [{remote = \"a\"}]\n",
       "federation.peers[0].pull[0]"},
      {"[[federation.peers]]\nname = \"n\"\nurl = \"https://x/\"\norg = \"o\"\ntoken = "
       "\"t\"\ninterval = \"soon\"\npull = [{remote = \"a\", local = \"b\"}]\n",
       "federation.peers[0].interval"},
      {"[[federation.peers]]\nname = \"n\"\nurl = \"https://x/\"\norg = \"o\"\norg_type = "
       "\"hospital\"\ntoken = \"t\"\npull = [{remote = \"a\", local = \"b\"}]\n",
       "federation.peers[0].org_type"},
      {"[[federation.peers]]\nname = \"n\"\nurl = \"https://x/\"\norg = \"o\"\ntoken_env = "
       "\"AEGIS_SURELY_UNSET_VAR\"\npull = [{remote = \"a\", local = \"b\"}]\n",
       "federation.peers[0].token_env"},
      {"[[federation.peers]]\nname = \"n\"\nurl = \"https://x/\"\norg = \"o\"\ntoken = "
       "\"t\"\nbogus = 1\npull = [{remote = \"a\", local = \"b\"}]\n",
       "federation.peers[0].bogus"},
      {"[[federation.peers]]\nname = \"n\"\nurl = \"https://x/\"\norg = \"o\"\ntoken = \"t\"\n",
       "federation.peers[0].pull"},
      {"[federation]\npeers = 3\n", "federation.peers"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.toml);
    auto r = ParseFederationToml(c.toml, "bad.toml");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().field, c.field) << r.error().ToString();
    EXPECT_EQ(r.error().where, "bad.toml");
  }
  EXPECT_FALSE(ParseFederationToml("[federation\n", "broken.toml"));
  EXPECT_FALSE(LoadFederationConfig("/nonexistent/aegis.toml"));
}

}  // namespace
}  // namespace aegis::share
