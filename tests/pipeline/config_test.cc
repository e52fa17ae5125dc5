// Tests for the TOML configuration: the shipped example parses, errors name the line.
#include "pipeline/config.h"

#include <gtest/gtest.h>

namespace aegis::pipeline {
namespace {

TEST(Config, ExampleFileParsesWithEverySetting) {
  auto cfg = LoadConfig(std::string(AEGIS_SOURCE_DIR) + "/config/aegis.example.toml");
  ASSERT_TRUE(cfg) << cfg.error().ToString();
  EXPECT_EQ(cfg->store_url, "sqlite:aegis-data/aegis.db");
  EXPECT_EQ(cfg->intel_paths.size(), 2u);
  EXPECT_EQ(cfg->intel_reload_interval_ns, 30'000'000'000);
  EXPECT_EQ(cfg->dedup_window_ns, 600'000'000'000);
  ASSERT_EQ(cfg->inputs.size(), 2u);
  EXPECT_EQ(cfg->inputs[0].type, "file");
  EXPECT_TRUE(cfg->inputs[0].follow);
  EXPECT_EQ(cfg->inputs[1].type, "syslog");
  EXPECT_EQ(cfg->inputs[1].udp, "0.0.0.0:5514");
  EXPECT_EQ(cfg->sigma.paths.size(), 2u);
  EXPECT_EQ(cfg->sigma.min_level, "informational");
  EXPECT_EQ(cfg->sigma.correlation_max_groups, 100'000);
  ASSERT_EQ(cfg->sigma.placeholders.count("Admins_Workstations"), 1u);
  EXPECT_EQ(cfg->sigma.placeholders.at("Admins_Workstations").size(), 2u);
}

TEST(Config, ServerAndHubSections) {
  auto cfg = ParseConfig(
      "[server]\nlisten = \"0.0.0.0:9443\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n"
      "threads = 8\nread_timeout = \"5s\"\naccess_log = false\n"
      "[hub]\norg = \"rxa-trust\"\napi_root = \"nhs\"\nmax_page = 500\n"
      "anonymise_sightings = true\n",
      "hub.toml");
  ASSERT_TRUE(cfg) << cfg.error().ToString();
  EXPECT_EQ(cfg->server.listen, "0.0.0.0:9443");
  EXPECT_EQ(cfg->server.tls_key, "k.pem");
  EXPECT_EQ(cfg->server.threads, 8);
  EXPECT_EQ(cfg->server.read_timeout_ns, 5'000'000'000);
  EXPECT_FALSE(cfg->server.access_log);
  EXPECT_EQ(cfg->hub.org, "rxa-trust");
  EXPECT_EQ(cfg->hub.api_root, "nhs");
  EXPECT_EQ(cfg->hub.max_page, 500);
  EXPECT_TRUE(cfg->hub.anonymise_sightings);
  EXPECT_EQ(cfg->hub.sightings_collection, "sightings");  // default kept

  auto half_tls = ParseConfig("[server]\ntls_cert = \"c.pem\"\n", "t.toml");
  ASSERT_FALSE(half_tls);
  EXPECT_EQ(half_tls.error().field, "server.tls_cert");
  auto threads = ParseConfig("[server]\nthreads = 0\n", "t.toml");
  ASSERT_FALSE(threads);
  EXPECT_EQ(threads.error().field, "server.threads");
  auto root = ParseConfig("[hub]\napi_root = \"a/b\"\n", "t.toml");
  ASSERT_FALSE(root);
  EXPECT_EQ(root.error().field, "hub.api_root");
  auto typo = ParseConfig("[hub]\norganisation = \"x\"\n", "t.toml");
  ASSERT_FALSE(typo);
  EXPECT_EQ(typo.error().field, "hub.organisation");
}

TEST(Config, EmptyFileGivesDefaults) {
  auto cfg = ParseConfig("", "empty.toml");
  ASSERT_TRUE(cfg);
  EXPECT_TRUE(cfg->inputs.empty());
  EXPECT_EQ(cfg->alerts_jsonl, "aegis-data/alerts.jsonl");
  EXPECT_FALSE(cfg->intel_allow_private);
}

TEST(Config, UnknownSettingIsAnErrorWithItsLine) {
  auto cfg = ParseConfig("[alerts]\njsonl = \"a.jsonl\"\ndedup_windw = \"5m\"\n", "typo.toml");
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().line, 3u);
  EXPECT_EQ(cfg.error().field, "alerts.dedup_windw");
  EXPECT_NE(cfg.error().ToString().find("typo.toml:3"), std::string::npos);
}

TEST(Config, WrongTypesAndValuesAreExplained) {
  auto a = ParseConfig("[alerts]\nconsole = \"yes\"\n", "t.toml");
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().reason.find("true or false"), std::string::npos);
  auto b = ParseConfig("[intel]\ndefault_tlp = \"purple\"\n", "t.toml");
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().field, "intel.default_tlp");
  auto c = ParseConfig("[[input]]\ntype = \"file\"\n", "t.toml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().field, "input.path");
  auto d = ParseConfig("[[input]]\ntype = \"file\"\npath = \"x\"\nformat = \"nope\"\n", "t.toml");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().field, "input.format");
  auto e = ParseConfig("[store\nurl=1", "broken.toml");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().where, "broken.toml");
}

TEST(Config, OutOfRangeDurationsAndUnsafeCharactersAreRefused) {
  EXPECT_FALSE(ParseConfig("[alerts]\ndedup_window = 99999999999\n", "t.toml"));
  EXPECT_FALSE(ParseConfig("[intel]\nreload_interval = -5\n", "t.toml"));
  EXPECT_FALSE(ParseDuration("99999999999999999999d"));
  auto cyrillic = ParseConfig("[store]\nurl = \"\xd0\xb4\"\n", "t.toml");
  ASSERT_FALSE(cyrillic);
  EXPECT_EQ(cyrillic.error().line, 2u);
  EXPECT_NE(cyrillic.error().reason.find("U+0434"), std::string::npos) << cyrillic.error().reason;
  EXPECT_FALSE(ParseConfig("dow\xEF\xAF\xBB", "t.toml"));
  EXPECT_FALSE(ParseConfig("a = \"\xff\"", "t.toml"));
  EXPECT_TRUE(ParseConfig("# plain ASCII comment\n[store]\nurl = \"sqlite:x.db\"\n", "t.toml"));
}

TEST(Config, Durations) {
  EXPECT_EQ(*ParseDuration("500ms"), 500'000'000);
  EXPECT_EQ(*ParseDuration("30s"), 30'000'000'000);
  EXPECT_EQ(*ParseDuration("10m"), 600'000'000'000);
  EXPECT_EQ(*ParseDuration("2h"), 7'200'000'000'000);
  EXPECT_EQ(*ParseDuration("1.5"), 1'500'000'000);
  EXPECT_EQ(*ParseDuration("0"), 0);
  EXPECT_FALSE(ParseDuration("ten minutes"));
  EXPECT_FALSE(ParseDuration("5y"));
  EXPECT_FALSE(ParseDuration("."));
  auto cfg = ParseConfig("[alerts]\ndedup_window = 90\n", "t.toml");
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->dedup_window_ns, 90'000'000'000);
}

}  // namespace
}  // namespace aegis::pipeline
