// `aegis ew`: the real binary against a database in a temp folder.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/test_util.h"

namespace {

namespace fs = std::filesystem;

class EwCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("aegis-ew-cli-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    db_ = (dir_ / "data" / "aegis.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  aegis::testing::CommandResult Ew(const std::string& args, std::string* err = nullptr) {
    return aegis::testing::RunCommand(AEGIS_BINARY, "ew " + args + " --db " + db_, err);
  }

  fs::path dir_;
  std::string db_;
};

TEST_F(EwCliTest, RegisterListUnregisterAndRefuseBogons) {
  EXPECT_EQ(Ew("register --org trust-a --domain NHS-Trust.nhs.uk").code, 0);
  EXPECT_EQ(Ew("register --org trust-a --ip 81.2.69.0/24").code, 0);
  EXPECT_EQ(Ew("register --org trust-a --asn AS5462").code, 0);
  std::string err;
  auto bogon = Ew("register --org trust-a --ip 192.168.0.0/16", &err);
  EXPECT_EQ(bogon.code, 1);
  EXPECT_NE(err.find("RFC 1918"), std::string::npos) << err;
  EXPECT_EQ(Ew("register --org trust-a --asn 65000", &err).code, 1);
  EXPECT_NE(err.find("private use"), std::string::npos) << err;
  EXPECT_EQ(Ew("register --org trust-a --ip 81.2.69.0/24 --asn 5462", &err).code, 2);

  auto list = Ew("list --json");
  ASSERT_EQ(list.code, 0);
  EXPECT_NE(list.out.find("\"value\":\"nhs-trust.nhs.uk\""), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("\"value\":\"5462\""), std::string::npos) << list.out;
  EXPECT_EQ(Ew("unregister --org trust-a --asn 5462").code, 0);
  EXPECT_EQ(Ew("unregister --org trust-a --asn 5462").code, 1);  // gone
  EXPECT_EQ(Ew("list --json").out.find("5462"), std::string::npos);
}

TEST_F(EwCliTest, CheckABundleChannelsSettingsAndAck) {
  fs::create_directories(dir_);
  const fs::path bundle = dir_ / "bundle.json";
  {
    std::ofstream out(bundle);
    out << R"({"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[)"
        << R"({"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",)"
        << R"("created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"phishing kit",)"
        << R"("pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","confidence":75,)"
        << R"("pattern":"[url:value = 'https://login.nhs-trust.nhs.uk.evil.example/x'] OR [domain-name:value = 'vpn.nhs-trust.nhs.uk']"}]})";
  }
  ASSERT_EQ(Ew("register --org trust-a --domain nhs-trust.nhs.uk").code, 0);
  auto check = Ew("check --tlp green --json " + bundle.string());
  ASSERT_EQ(check.code, 0);
  EXPECT_NE(check.out.find("\"observed\":\"vpn.nhs-trust.nhs.uk\""), std::string::npos) << check.out;
  EXPECT_EQ(check.out.find("evil.example"), std::string::npos) << check.out;  // not under the registration
  EXPECT_NE(check.out.find("\"code\":\"F2\""), std::string::npos) << check.out;
  // Unmarked and unknown producer: TLP:AMBER withholds it.
  std::string err;
  auto amber = Ew("check " + bundle.string(), &err);
  EXPECT_EQ(amber.code, 0);
  EXPECT_NE(err.find("withheld by TLP"), std::string::npos) << err;
  // A dry run stores nothing.
  EXPECT_EQ(Ew("notifications --json").out, "[]\n");

  EXPECT_EQ(Ew("channel --org trust-a --webhook https://soc.nhs-trust.nhs.uk/hook --secret k").code, 0);
  EXPECT_EQ(Ew("channel --org trust-a --webhook ftp://x").code, 1);
  EXPECT_EQ(Ew("channel --org trust-a --email soc@nhs-trust.nhs.uk").code, 0);
  auto channels = Ew("channel --org trust-a --json");
  EXPECT_NE(channels.out.find("\"signed\":true"), std::string::npos) << channels.out;
  EXPECT_NE(channels.out.find("soc@nhs-trust.nhs.uk"), std::string::npos) << channels.out;

  auto settings = Ew("settings --smtp-url smtp://127.0.0.1:2525 --dedup-window-hours 6 --reliability feed:maltrail=D --json");
  ASSERT_EQ(settings.code, 0);
  EXPECT_NE(settings.out.find("\"feed:maltrail\":\"D\""), std::string::npos) << settings.out;
  EXPECT_NE(settings.out.find("\"dedup_window_hours\":6"), std::string::npos) << settings.out;
  EXPECT_EQ(Ew("settings --reliability feed:x=Q").code, 2);
  EXPECT_EQ(Ew("ack 12345").code, 1);
  EXPECT_EQ(Ew("notifications --since yesterday").code, 2);
}

}  // namespace
