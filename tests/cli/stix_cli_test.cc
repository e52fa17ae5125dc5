// The `aegis stix` commands as a user and a script would run them: collections
// create/list, import of bundles (with rejected and conflicting objects), export with
// the TLP policy applied for another organisation, and the OASIS examples.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "common/test_util.h"
#include "intel/stix_object.h"

namespace {

namespace fs = std::filesystem;
using aegis::testing::CommandResult;

constexpr const char* kGreen = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
constexpr const char* kAmberStrict = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";
constexpr const char* kAmber = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";

std::string Indicator(int n, const std::string& marking, const std::string& name = "c2",
                      const std::string& extra = "") {
  char id[80];
  std::snprintf(id, sizeof id, "indicator--%08x-2222-4222-8222-%012x", n, n);
  std::string marks = marking.empty() ? "" : ",\"object_marking_refs\":[\"" + marking + "\"]";
  return std::string(R"({"type":"indicator","spec_version":"2.1","id":")") + id +
         R"(","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","name":")" +
         name + R"(","pattern":"[ipv4-addr:value = '10.1.0.)" + std::to_string(n) +
         R"(']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z")" + marks + extra + "}";
}

std::string Bundle(const std::vector<std::string>& objects) {
  std::string out =
      R"({"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[)";
  for (size_t i = 0; i < objects.size(); ++i) out += (i ? "," : "") + objects[i];
  return out + "]}";
}

bool Has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

class StixCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("aegis-stix-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_ = (dir_ / "data" / "aegis.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  CommandResult Aegis(const std::string& args, std::string* err = nullptr) {
    return aegis::testing::RunCommand(AEGIS_BINARY, args + " --db " + db_ + " </dev/null", err);
  }

  std::string Write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }

  void Orgs() {
    std::string err;
    ASSERT_EQ(Aegis("org create ncc --name 'National centre' --type national-centre", &err).code, 0)
        << err;
    ASSERT_EQ(Aegis("org create rxa --name 'RXA trust' --type trust", &err).code, 0) << err;
  }

  fs::path dir_;
  std::string db_;
};

TEST_F(StixCliTest, CollectionsCreateAndList) {
  std::string err;
  auto created = Aegis(
      "stix collections create --alias national --title 'National indicators' "
      "--writers ncc --json",
      &err);
  ASSERT_EQ(created.code, 0) << err;
  EXPECT_TRUE(Has(created.out, "\"alias\":\"national\"")) << created.out;
  EXPECT_TRUE(Has(created.out, "\"writers\":[\"ncc\"]")) << created.out;
  auto list = Aegis("stix collections list");
  ASSERT_EQ(list.code, 0);
  EXPECT_TRUE(Has(list.out, "national")) << list.out;
  EXPECT_TRUE(Has(list.out, "National indicators")) << list.out;
  auto json = Aegis("stix collections list --json");
  ASSERT_EQ(json.code, 0);
  EXPECT_TRUE(json.out.starts_with("[{\"id\":")) << json.out;

  auto dup = Aegis("stix collections create --alias national", &err);
  EXPECT_EQ(dup.code, 2);
  EXPECT_TRUE(Has(err, "alias")) << err;
  auto bad = Aegis("stix collections create --alias 'NOT OK'", &err);
  EXPECT_NE(bad.code, 0);
  EXPECT_TRUE(Has(err, "alias")) << err;
}

TEST_F(StixCliTest, ImportReportsAddedDuplicatesRejectedAndConflicts) {
  Orgs();
  ASSERT_EQ(Aegis("stix collections create --alias feed").code, 0);
  const std::string good = Write("good.json", Bundle({Indicator(1, kGreen), Indicator(2, kAmber)}));
  std::string err;
  auto first = Aegis("stix import " + good + " --collection feed --org ncc", &err);
  ASSERT_EQ(first.code, 0) << err;
  EXPECT_TRUE(Has(first.out, "2 added, 0 duplicates, 0 failed, 0 rejected")) << first.out;

  // Same objects again (duplicates), one conflicting version, one invalid object.
  const std::string mixed = Write(
      "mixed.json", Bundle({Indicator(1, kGreen), Indicator(2, kAmber, "other name"),
                            R"({"type":"indicator","id":"indicator--nope"})", Indicator(3, "")}));
  auto second = Aegis("stix import " + mixed + " --collection feed --org ncc --json", &err);
  EXPECT_EQ(second.code, 1);
  EXPECT_TRUE(Has(second.out, "\"added\":1")) << second.out;
  EXPECT_TRUE(Has(second.out, "\"duplicates\":1")) << second.out;
  EXPECT_TRUE(Has(second.out, "\"failed\":1")) << second.out;
  EXPECT_TRUE(Has(second.out, "\"rejected\":1")) << second.out;
  EXPECT_TRUE(Has(err, "objects[2]")) << err;
  EXPECT_TRUE(Has(err, "different content")) << err;

  auto missing_org = Aegis("stix import " + good + " --collection feed --org nobody", &err);
  EXPECT_EQ(missing_org.code, 2);
  EXPECT_TRUE(Has(err, "--org")) << err;
  auto missing_collection = Aegis("stix import " + good + " --collection nope --org ncc", &err);
  EXPECT_EQ(missing_collection.code, 2);
  EXPECT_TRUE(Has(err, "--collection")) << err;
  const std::string not_json = Write("bad.json", "{not json");
  auto broken = Aegis("stix import " + not_json + " --collection feed --org ncc", &err);
  EXPECT_EQ(broken.code, 1);
  EXPECT_TRUE(Has(err, "bad.json")) << err;
  auto absent = Aegis(
      "stix import " + (dir_ / "absent.json").string() + " --collection feed --org ncc", &err);
  EXPECT_EQ(absent.code, 1);
  EXPECT_TRUE(Has(err, "cannot read")) << err;
}

TEST_F(StixCliTest, ExportAppliesTlpForAnotherOrganisation) {
  Orgs();
  ASSERT_EQ(Aegis("stix collections create --alias national").code, 0);
  const std::string bundle = Write(
      "in.json", Bundle({Indicator(1, kGreen), Indicator(2, kAmberStrict), Indicator(3, kAmber),
                         Indicator(4, kAmber, "shared", R"(,"x_aegis_share_with":["rxa"])")}));
  ASSERT_EQ(Aegis("stix import " + bundle + " --collection national --org ncc").code, 0);

  auto ids_of = [](const std::string& text) {
    std::set<std::string> ids;
    auto parsed = aegis::intel::stix::ValidateBundle(text);
    EXPECT_TRUE(parsed) << text;
    if (parsed) {
      EXPECT_TRUE(parsed->rejected.empty());
      for (auto& o : parsed->objects) ids.insert(o.id.substr(11, 8));
    }
    return ids;
  };
  std::string err;
  auto all = Aegis("stix export --collection national", &err);
  ASSERT_EQ(all.code, 0) << err;
  EXPECT_EQ(ids_of(all.out),
            (std::set<std::string>{"00000001", "00000002", "00000003", "00000004"}));
  auto for_rxa = Aegis("stix export --collection national --as-org rxa", &err);
  ASSERT_EQ(for_rxa.code, 0) << err;
  EXPECT_EQ(ids_of(for_rxa.out), (std::set<std::string>{"00000001", "00000004"}));
  EXPECT_TRUE(Has(err, "2 objects withheld")) << err;
  auto producer = Aegis("stix export --collection national --as-org ncc", &err);
  ASSERT_EQ(producer.code, 0) << err;
  EXPECT_EQ(ids_of(producer.out).size(), 4u);
  auto typed = Aegis("stix export --collection national --type malware");
  ASSERT_EQ(typed.code, 0);
  EXPECT_TRUE(ids_of(typed.out).empty());
  const std::string out_file = (dir_ / "out.json").string();
  ASSERT_EQ(Aegis("stix export --collection national -o " + out_file).code, 0);
  EXPECT_EQ(ids_of(aegis::testing::ReadAll(out_file)).size(), 4u);
  auto unknown_org = Aegis("stix export --collection national --as-org nobody", &err);
  EXPECT_EQ(unknown_org.code, 2);
}

TEST_F(StixCliTest, OasisExamplesImportAndExport) {
  const fs::path examples = fs::path(AEGIS_SHARED_DATA) / "intel" / "stix" / "examples";
  if (!fs::exists(examples)) {
    GTEST_SKIP() << "no OASIS STIX examples at " << examples << " (../shared/data is absent)";
  }
  Orgs();
  ASSERT_EQ(Aegis("stix collections create --alias oasis").code, 0);
  std::string files;
  for (const auto& entry : fs::recursive_directory_iterator(examples)) {
    if (entry.path().extension() == ".json") files += " '" + entry.path().string() + "'";
  }
  std::string err;
  auto imported = Aegis("stix import" + files + " --collection oasis --org ncc", &err);
  EXPECT_EQ(imported.code, 0) << imported.out << err;
  auto exported = Aegis("stix export --collection oasis --all-versions", &err);
  ASSERT_EQ(exported.code, 0) << err;
  auto parsed = aegis::intel::stix::ValidateBundle(exported.out);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed->rejected.empty());
  EXPECT_GT(parsed->objects.size(), 20u);
}

}  // namespace
