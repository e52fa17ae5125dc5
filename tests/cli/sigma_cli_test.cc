// The `aegis` binary with Sigma rules, as a user and a script would use it:
// `aegis sigma check` (human and --json reports, exit codes), `aegis scan --sigma`
// with alerts on stdout and the level/tag filters, and the whole SigmaHQ rule tree
// from ../shared/data when it is there.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/test_util.h"

namespace {

namespace fs = std::filesystem;

using aegis::testing::CommandResult;

// Runs `aegis ARGS` with stdout captured (stderr into `err` when given).
CommandResult Aegis(const std::string& args, std::string* err = nullptr) {
  return aegis::testing::RunCommand(AEGIS_BINARY, args, err);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

bool Has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

constexpr const char* kEvilId = "6c1d0f8e-2b7a-4e39-9d5c-1a2b3c4d5e01";  // high, attack.t1059.001
constexpr const char* kMimiId = "6c1d0f8e-2b7a-4e39-9d5c-1a2b3c4d5e02";  // medium, attack.t1003
constexpr const char* kBrokenId = "6c1d0f8e-2b7a-4e39-9d5c-1a2b3c4d5e03";

std::string ProcRule(const std::string& id, const std::string& title, const std::string& level,
                     const std::string& tag, const std::string& image) {
  return "title: " + title + "\nid: " + id + "\nstatus: test\nlevel: " + level + "\ntags:\n  - " +
         tag +
         "\nlogsource:\n  product: windows\n  category: process_creation\n"
         "detection:\n  selection:\n    Image|endswith: '\\" +
         image + "'\n  condition: selection\n";
}

std::string ProcEvent(const std::string& image, int second) {
  return R"({"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Image":"C:\\Windows\\Temp\\)" +
         image + R"(","CommandLine":")" + image + R"( -x","UtcTime":"2026-11-23 08:00:)" +
         (second < 10 ? "0" : "") + std::to_string(second) + R"(.000"})";
}

class SigmaCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("aegis-sigma-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "rules");
    fs::create_directories(dir_ / "mixed");
    Write(dir_ / "rules" / "evil.yml",
          ProcRule(kEvilId, "Evil process", "high", "attack.t1059.001", "evil.exe"));
    Write(dir_ / "rules" / "mimi.yml",
          ProcRule(kMimiId, "Credential dumper", "medium", "attack.t1003", "mimi.exe"));
    // One good rule and one whose condition names an undefined identifier.
    Write(dir_ / "mixed" / "good.yml",
          ProcRule(kEvilId, "Evil process", "high", "attack.t1059.001", "evil.exe"));
    Write(dir_ / "mixed" / "broken.yml", std::string("title: Broken rule\nid: ") + kBrokenId + R"(
status: test
level: high
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\bad.exe'
  condition: selection and not filter
)");
    std::ofstream events(dir_ / "sysmon.json");
    events << ProcEvent("evil.exe", 1) << "\n"
           << ProcEvent("notepad.exe", 2) << "\n"
           << ProcEvent("mimi.exe", 3) << "\n"
           << ProcEvent("evil.exe", 4) << "\n";
  }
  void TearDown() override { fs::remove_all(dir_); }
  static void Write(const fs::path& p, const std::string& text) {
    std::ofstream out(p);
    out << text;
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(SigmaCli, CheckHelp) {
  for (const char* cmd : {"sigma check --help", "sigma --help"}) {
    CommandResult r = Aegis(cmd);
    EXPECT_EQ(r.code, 0) << cmd;
    EXPECT_TRUE(Has(r.out, "Usage")) << cmd << ": " << r.out;
  }
  EXPECT_TRUE(Has(Aegis("sigma check --help").out, "--json"));
}

TEST_F(SigmaCli, CheckGoodRulesExitsZero) {
  std::string err;
  CommandResult r = Aegis("sigma check " + Path("rules"), &err);
  EXPECT_EQ(r.code, 0) << r.out << err;
  EXPECT_TRUE(Has(r.out, "rules loaded")) << r.out;
}

TEST_F(SigmaCli, CheckListsBrokenRuleWithReasonAndExitsOne) {
  std::string err;
  CommandResult r = Aegis("sigma check " + Path("mixed"), &err);
  EXPECT_EQ(r.code, 1) << r.out << err;
  std::string broken_line;
  for (const auto& line : Lines(r.out)) {
    if (Has(line, "broken.yml")) broken_line = line;
  }
  ASSERT_FALSE(broken_line.empty()) << "broken file not listed:\n" << r.out << err;
  EXPECT_TRUE(Has(broken_line, "'filter'")) << broken_line;
  EXPECT_TRUE(Has(broken_line, "not defined")) << broken_line;
  EXPECT_FALSE(Has(r.out, "good.yml")) << r.out;

  CommandResult j = Aegis("sigma check --json " + Path("mixed"), &err);
  EXPECT_EQ(j.code, 1) << j.out << err;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::padded_string text(j.out);
  ASSERT_EQ(parser.parse(text).get(doc), simdjson::SUCCESS) << "not JSON: " << j.out;
  uint64_t loaded = 99, not_loaded = 99, files = 99;
  ASSERT_EQ(doc["rules_loaded"].get(loaded), simdjson::SUCCESS) << j.out;
  ASSERT_EQ(doc["not_loaded"].get(not_loaded), simdjson::SUCCESS) << j.out;
  ASSERT_EQ(doc["files"].get(files), simdjson::SUCCESS) << j.out;
  EXPECT_EQ(loaded, 1u);
  EXPECT_EQ(not_loaded, 1u);
  EXPECT_EQ(files, 2u);
  simdjson::dom::array issues;
  ASSERT_EQ(doc["issues"].get(issues), simdjson::SUCCESS) << j.out;
  ASSERT_EQ(issues.size(), 1u) << j.out;
  std::string_view reason, path;
  ASSERT_EQ(issues.at(0)["reason"].get(reason), simdjson::SUCCESS) << j.out;
  ASSERT_EQ(issues.at(0)["path"].get(path), simdjson::SUCCESS) << j.out;
  EXPECT_TRUE(Has(std::string(reason), "'filter'")) << reason;
  EXPECT_TRUE(Has(std::string(path), "broken.yml")) << path;
}

TEST_F(SigmaCli, ScanPrintsOneAlertLinePerMatchingEvent) {
  std::string err;
  CommandResult r = Aegis(
      "scan " + Path("sysmon.json") + " --sigma " + Path("rules") + " --alerts - --dedup-window 0",
      &err);
  ASSERT_EQ(r.code, 0) << err;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out << err;
  int evil = 0, mimi = 0;
  for (const auto& line : lines) {
    EXPECT_TRUE(Has(line, "\"detector\":\"sigma\"")) << line;
    EXPECT_EQ(line.front(), '{') << line;
    EXPECT_EQ(line.back(), '}') << line;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    simdjson::padded_string text(line);
    ASSERT_EQ(parser.parse(text).get(doc), simdjson::SUCCESS) << "not JSON: " << line;
    std::string_view rule;
    ASSERT_EQ(doc["rule"].get(rule), simdjson::SUCCESS) << line;
    if (rule == kEvilId) {
      ++evil;
      EXPECT_TRUE(Has(line, "\"severity\":\"high\"")) << line;
      EXPECT_TRUE(Has(line, "\"title\":\"Evil process\"")) << line;
    }
    if (rule == kMimiId) {
      ++mimi;
      EXPECT_TRUE(Has(line, "\"severity\":\"medium\"")) << line;
    }
  }
  EXPECT_EQ(evil, 2);
  EXPECT_EQ(mimi, 1);
  // The summary goes to stderr when the alerts take stdout.
  EXPECT_TRUE(Has(err, "Sigma:")) << err;
}

TEST_F(SigmaCli, ScanLevelFilterDropsMediumRule) {
  std::string err;
  CommandResult r = Aegis("scan " + Path("sysmon.json") + " --sigma " + Path("rules") +
                              " --sigma-level high --alerts - --dedup-window 0",
                          &err);
  ASSERT_EQ(r.code, 0) << err;
  auto lines = Lines(r.out);
  EXPECT_EQ(lines.size(), 2u) << r.out;
  for (const auto& line : lines) {
    EXPECT_TRUE(Has(line, kEvilId)) << line;
    EXPECT_FALSE(Has(line, kMimiId)) << line;
  }
  CommandResult bad = Aegis("scan " + Path("sysmon.json") + " --sigma " + Path("rules") +
                                " --sigma-level severe --alerts -",
                            &err);
  EXPECT_NE(bad.code, 0);
  EXPECT_TRUE(Has(err, "--sigma-level")) << err;
}

TEST_F(SigmaCli, ScanJsonSummaryCountsSigmaMatches) {
  std::string err;
  CommandResult r = Aegis(
      "scan " + Path("sysmon.json") + " --sigma " + Path("rules") + " --json --dedup-window 0",
      &err);
  ASSERT_EQ(r.code, 0) << err;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::padded_string text(r.out);
  ASSERT_EQ(parser.parse(text).get(doc), simdjson::SUCCESS) << "not JSON: " << r.out;
  uint64_t matches = 0, alerts = 0, regex_errors = 1, scan_errors = 1;
  ASSERT_EQ(doc["sigma"]["matches"].get(matches), simdjson::SUCCESS) << r.out;
  ASSERT_EQ(doc["alerts"].get(alerts), simdjson::SUCCESS) << r.out;
  ASSERT_EQ(doc["sigma"]["regex_errors"].get(regex_errors), simdjson::SUCCESS) << r.out;
  ASSERT_EQ(doc["sigma"]["scan_errors"].get(scan_errors), simdjson::SUCCESS) << r.out;
  EXPECT_EQ(matches, 3u);  // two events for the high rule, one for the medium rule
  EXPECT_EQ(alerts, matches);
  EXPECT_EQ(regex_errors, 0u);
  EXPECT_EQ(scan_errors, 0u);
}

TEST_F(SigmaCli, ScanTagFilterKeepsOnlyTaggedRules) {
  std::string err;
  // attack.t1059 keeps attack.t1059.001 (prefix), drops attack.t1003.
  CommandResult r = Aegis("scan " + Path("sysmon.json") + " --sigma " + Path("rules") +
                              " --sigma-tag attack.t1059 --alerts - --dedup-window 0",
                          &err);
  ASSERT_EQ(r.code, 0) << err;
  auto lines = Lines(r.out);
  EXPECT_EQ(lines.size(), 2u) << r.out;
  for (const auto& line : lines) EXPECT_TRUE(Has(line, kEvilId)) << line;
  CommandResult t1003 = Aegis("scan " + Path("sysmon.json") + " --sigma " + Path("rules") +
                                  " --sigma-tag attack.t1003 --alerts - --dedup-window 0",
                              &err);
  ASSERT_EQ(t1003.code, 0) << err;
  auto only = Lines(t1003.out);
  ASSERT_EQ(only.size(), 1u) << t1003.out;
  EXPECT_TRUE(Has(only[0], kMimiId)) << only[0];
}

TEST_F(SigmaCli, ScanWithBrokenRuleStillScansButExitsOne) {
  std::string err;
  CommandResult r = Aegis(
      "scan " + Path("sysmon.json") + " --sigma " + Path("mixed") + " --alerts - --dedup-window 0",
      &err);
  EXPECT_EQ(r.code, 1) << err;
  EXPECT_TRUE(Has(err, "broken.yml")) << err;
  EXPECT_EQ(Lines(r.out).size(), 2u) << r.out;
}

TEST(SigmaCliShared, AllSigmaHQFoldersLoad) {
  const fs::path sigma = fs::path(AEGIS_SHARED_DATA) / "sigma";
  const char* folders[] = {"rules", "rules-emerging-threats", "rules-threat-hunting",
                           "rules-placeholder", "rules-compliance"};
  std::string args = "sigma check --json";
  for (const char* f : folders) {
    if (!fs::is_directory(sigma / f)) {
      GTEST_SKIP() << "no SigmaHQ rules at " << (sigma / f).string()
                   << " (../shared/data is not available)";
    }
    args += " " + (sigma / f).string();
  }
  std::string err;
  CommandResult r = Aegis(args, &err);
  EXPECT_EQ(r.code, 0) << err << r.out.substr(0, 4000);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::padded_string text(r.out);
  ASSERT_EQ(parser.parse(text).get(doc), simdjson::SUCCESS)
      << "not JSON: " << r.out.substr(0, 2000);
  uint64_t loaded = 0, not_loaded = 99;
  ASSERT_EQ(doc["rules_loaded"].get(loaded), simdjson::SUCCESS);
  ASSERT_EQ(doc["not_loaded"].get(not_loaded), simdjson::SUCCESS);
  EXPECT_EQ(loaded, 3780u);
  EXPECT_EQ(not_loaded, 0u);
}

}  // namespace
