// Hub::Start (what `aegis serve` runs): start-up checks, default collections, and the
// shipped example configuration's [[feeds]] and [federation] sections.
#include "hub/hub.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "auth/accounts.h"
#include "common/test_util.h"
#include "intel/feeds.h"
#include "intel/stix_store.h"
#include "net/http_client.h"
#include "share/federation.h"

namespace aegis::hub {
namespace {

namespace fs = std::filesystem;

class HubStartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("aegis-hub-start-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_ = (dir_ / "hub.db").string();
    config_.store_url = "sqlite:" + db_;
    config_.server.listen = "127.0.0.1:0";
    config_.server.access_log = false;
    config_.hub.detect = false;
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  std::string db_;
  pipeline::Config config_;
};

TEST_F(HubStartTest, RefusesToStartWithoutItsOrganisation) {
  auto unset = Hub::Start(config_);
  ASSERT_FALSE(unset.has_value());
  EXPECT_EQ(unset.error().field, "hub.org");
  config_.hub.org = "ncc";
  auto missing = Hub::Start(config_);
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().reason.find("aegis org create ncc"), std::string::npos)
      << missing.error().ToString();
  config_.store_url = "postgres://db/aegis";
  EXPECT_FALSE(Hub::Start(config_).has_value());
}

TEST_F(HubStartTest, ServesTaxiiRestHealthAndMetricsWithDefaultCollections) {
  {
    auto accounts = auth::Accounts::Open(db_);
    ASSERT_TRUE(accounts.has_value());
    ASSERT_TRUE((*accounts)
                    ->CreateOrg({.id = "ncc", .name = "NCC", .type = auth::OrgType::kNationalCentre},
                                auth::Actor::Cli())
                    .has_value());
    ASSERT_TRUE((*accounts)
                    ->CreateUser({.id = "ana", .org_id = "ncc", .role = auth::Role::kAnalyst},
                                 auth::Actor::Cli())
                    .has_value());
  }
  config_.hub.org = "ncc";
  auto hub = Hub::Start(config_);
  ASSERT_TRUE(hub.has_value()) << hub.error().ToString();
  ASSERT_GT((*hub)->port(), 0);
  auto accounts = auth::Accounts::Open(db_);
  ASSERT_TRUE(accounts.has_value());
  auto token = (*accounts)->CreateToken({.user_id = "ana", .scopes = auth::kScopeRead},
                                        auth::Actor::Cli());
  ASSERT_TRUE(token.has_value());
  const std::string base = "http://127.0.0.1:" + std::to_string((*hub)->port());
  net::HttpClient client;
  auto health = client.Get(base + "/healthz");
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->status, 200);
  auto collections = client.Get(base + "/taxii2/hub/collections/",
                                {{"Accept", "application/taxii+json;version=2.1"},
                                 {"Authorization", "Bearer " + token->secret}});
  ASSERT_TRUE(collections.has_value());
  EXPECT_EQ(collections->status, 200);
  EXPECT_NE(collections->body.find("\"alias\":\"indicators\""), std::string::npos);
  EXPECT_NE(collections->body.find("\"alias\":\"sightings\""), std::string::npos);
  auto me = client.Get(base + "/api/v1/me", {{"Authorization", "Bearer " + token->secret}});
  ASSERT_TRUE(me.has_value());
  EXPECT_EQ(me->status, 200);
  EXPECT_NE(me->body.find("\"ana\""), std::string::npos);
  auto anonymous = client.Get(base + "/api/v1/me");
  ASSERT_TRUE(anonymous.has_value());
  EXPECT_EQ(anonymous->status, 401);
  auto metrics = client.Get(base + "/metrics");
  ASSERT_TRUE(metrics.has_value());
  EXPECT_NE(metrics->body.find("aegis_taxii_requests_total"), std::string::npos);
  (*hub)->Stop();
  (*hub)->Stop();  // idempotent
}

TEST(HubConfigTest, ExampleFeedsAndFederationSectionsParse) {
  const std::string path = std::string(AEGIS_SOURCE_DIR) + "/config/aegis.example.toml";
  const std::string text = aegis::testing::ReadAll(path);
  ASSERT_FALSE(text.empty());
  auto config = pipeline::ParseConfig(text, path);
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->hub.org, "ncc");
  auto feeds = intel::ParseFeedsToml(text, path);
  ASSERT_TRUE(feeds.has_value()) << feeds.error().ToString();
  ASSERT_EQ(feeds->size(), 1u);
  EXPECT_EQ((*feeds)[0].name, "circl-osint");
  ::setenv("AEGIS_NATIONAL_TOKEN", "aegis_tok_example", 1);
  auto federation = share::ParseFederationToml(text, path);
  ::unsetenv("AEGIS_NATIONAL_TOKEN");
  ASSERT_TRUE(federation.has_value()) << federation.error().ToString();
  ASSERT_EQ(federation->peers.size(), 1u);
  EXPECT_EQ(federation->peers[0].token, "aegis_tok_example");
  EXPECT_EQ(federation->peers[0].pull.size(), 1u);
}

}  // namespace
}  // namespace aegis::hub
