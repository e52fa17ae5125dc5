// The `aegis` binary as a user and a script would use it: --help everywhere, scan with
// its JSON summary, alerts and dead letters, intel load/stats/check, alerts list/show.
#include <gtest/gtest.h>
#include "common/test_util.h"
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

using aegis::testing::CommandResult;

// Runs `aegis ARGS` with stdout captured (stderr into `err` when given).
CommandResult Aegis(const std::string& args, std::string* err = nullptr) {
  return aegis::testing::RunCommand(AEGIS_BINARY, args, err);
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("aegis-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream intel(dir_ / "trails.txt");
    intel << "# test trails\nevil-demo.com\n45.83.64.17\n193.142.146.0/24\n10.0.0.0/8\n0.0.0.0\n";
    std::ofstream log(dir_ / "dns.json");
    log << R"({"_path":"dns","ts":1700000000.5,"uid":"C1","id.orig_h":"10.1.1.5","id.resp_h":"10.1.1.1","query":"www.nhs.uk","answers":["51.140.1.1"]})" "\n";
    log << R"({"_path":"dns","ts":1700000001.5,"uid":"C2","id.orig_h":"10.1.1.5","id.resp_h":"10.1.1.1","query":"mail.evil-demo.com","answers":["45.83.64.17"]})" "\n";
    log << R"({"_path":"dns","ts":17000)" "\n";  // broken: line 3
    log << R"({"_path":"dns","ts":1700000003.5,"uid":"C4","id.orig_h":"10.1.1.9","id.resp_h":"193.142.146.77","query":"nhs.uk"})" "\n";
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(Cli, HelpOnEveryCommand) {
  for (const char* cmd : {"", "scan", "intel", "intel load", "intel stats", "intel check", "alerts",
                          "alerts list", "alerts show", "run"}) {
    CommandResult r = Aegis(std::string(cmd) + " --help");
    EXPECT_EQ(r.code, 0) << cmd;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << cmd << ": " << r.out;
  }
  EXPECT_NE(Aegis("--version").out.find("aegis "), std::string::npos);
}

TEST_F(Cli, ScanReportsAlertsBadRecordsAndJsonSummary) {
  std::string err;
  CommandResult r = Aegis("scan " + Path("dns.json") + " --intel " + Path("trails.txt") + " --json --alerts " +
                    Path("alerts.jsonl") + " --dead-letter " + Path("dead.jsonl") + " --dedup-window 0",
                &err);
  ASSERT_EQ(r.code, 0) << err;
  EXPECT_NE(r.out.find("\"events\":3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"bad_records\":1"), std::string::npos) << r.out;
  // mail.evil-demo.com (subdomain), 45.83.64.17 (answer), 193.142.146.77 (in the /24)
  EXPECT_NE(r.out.find("\"alerts\":3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"evil-demo.com\":1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"193.142.146.0/24\":1"), std::string::npos) << r.out;
  size_t per_rule = r.out.find("\"alerts_per_rule\":{");
  ASSERT_NE(per_rule, std::string::npos);
  std::string per_rule_json = r.out.substr(per_rule, r.out.find('}', per_rule) - per_rule);
  EXPECT_EQ(per_rule_json.find("10.0.0.0/8"), std::string::npos) << "a rejected indicator matched";
  EXPECT_NE(r.out.find("\"reason\":\"private or special-purpose range\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"rejected\":2"), std::string::npos) << r.out;

  std::ifstream alerts(Path("alerts.jsonl"));
  std::string line;
  int n = 0;
  while (std::getline(alerts, line)) {
    ++n;
    EXPECT_NE(line.find("\"detector\":\"indicator\""), std::string::npos);
  }
  EXPECT_EQ(n, 3);
  std::ifstream dead(Path("dead.jsonl"));
  ASSERT_TRUE(std::getline(dead, line));
  EXPECT_NE(line.find("dns.json"), std::string::npos) << line;
  EXPECT_NE(line.find("\"line\":3"), std::string::npos) << line;
}

TEST_F(Cli, ScanHumanSummaryAndErrors) {
  CommandResult r = Aegis("scan " + Path("dns.json") + " --intel " + Path("trails.txt"));
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("events"), std::string::npos);
  EXPECT_NE(r.out.find("evil-demo.com"), std::string::npos);
  EXPECT_EQ(r.out.find("\r"), std::string::npos) << "no progress bar when not on a terminal";

  std::string err;
  CommandResult missing = Aegis("scan " + Path("nope.json") + " --intel " + Path("trails.txt"), &err);
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(err.find("nope.json"), std::string::npos) << err;
  CommandResult no_intel = Aegis("scan " + Path("dns.json"), &err);
  EXPECT_NE(no_intel.code, 0);
  EXPECT_NE(err.find("--intel"), std::string::npos) << err;
}

TEST_F(Cli, ScanReadsStdin) {
  std::string cmd = "scan - --intel " + Path("trails.txt") + " --json < " + Path("dns.json");
  CommandResult r = Aegis(cmd);
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("\"events\":3"), std::string::npos) << r.out;
}

TEST_F(Cli, IntelLoadStatsCheck) {
  std::string store = "--store sqlite:" + Path("aegis.db");
  CommandResult load = Aegis("intel load " + Path("trails.txt") + " " + store + " --json");
  ASSERT_EQ(load.code, 0) << load.out;
  EXPECT_NE(load.out.find("\"accepted\":3"), std::string::npos) << load.out;
  EXPECT_NE(load.out.find("\"rejected\":2"), std::string::npos) << load.out;

  CommandResult stats = Aegis("intel stats " + store + " --json");
  ASSERT_EQ(stats.code, 0);
  EXPECT_NE(stats.out.find("\"total\":3"), std::string::npos) << stats.out;

  CommandResult hit = Aegis("intel check WWW.Evil-Demo.com. 8.8.8.8 193.142.146.9 " + store + " --json");
  ASSERT_EQ(hit.code, 0);
  EXPECT_NE(hit.out.find("\"indicator\":\"evil-demo.com\""), std::string::npos) << hit.out;
  EXPECT_NE(hit.out.find("\"match_kind\":\"subdomain\""), std::string::npos) << hit.out;
  EXPECT_NE(hit.out.find("\"value\":\"8.8.8.8\",\"kind\":\"ipv4\",\"normalised\":\"8.8.8.8\",\"match\":false"),
            std::string::npos)
      << hit.out;
  EXPECT_NE(hit.out.find("\"indicator\":\"193.142.146.0/24\""), std::string::npos) << hit.out;

  CommandResult file_stats = Aegis("intel stats --intel " + Path("trails.txt"));
  EXPECT_EQ(file_stats.code, 0);
  EXPECT_NE(file_stats.out.find("bytes per indicator"), std::string::npos) << file_stats.out;
}

TEST_F(Cli, AlertsListAndShowFromTheStore) {
  std::string store = "sqlite:" + Path("aegis.db");
  CommandResult scan = Aegis("scan " + Path("dns.json") + " --intel " + Path("trails.txt") + " --store " + store +
                   " --dedup-window 0");
  ASSERT_EQ(scan.code, 0) << scan.out;
  CommandResult list = Aegis("alerts list --store " + store + " --json");
  ASSERT_EQ(list.code, 0);
  std::istringstream lines(list.out);
  std::string line, first_id;
  int n = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    ++n;
    if (first_id.empty()) {
      size_t at = line.find("\"id\":\"");
      ASSERT_NE(at, std::string::npos);
      first_id = line.substr(at + 6, line.find('"', at + 6) - at - 6);
    }
  }
  EXPECT_EQ(n, 3);
  CommandResult table = Aegis("alerts list --store " + store);
  EXPECT_NE(table.out.find("3 alert(s)"), std::string::npos) << table.out;
  CommandResult show = Aegis("alerts show " + first_id.substr(0, 10) + " --store " + store);
  EXPECT_EQ(show.code, 0) << show.out;
  EXPECT_NE(show.out.find(first_id), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("matched"), std::string::npos) << show.out;
  std::string err;
  CommandResult none = Aegis("alerts show ffffffffffff --store " + store, &err);
  EXPECT_EQ(none.code, 1);
}

TEST_F(Cli, RepeatsRaiseTheStoredCountAndBadRecordsAreShown) {
  // The same query three times within the window: one alert whose count is 3.
  std::ofstream log(Path("repeat.json"));
  for (int i = 0; i < 3; ++i) {
    log << R"({"_path":"dns","ts":170000000)" << i << R"(.5,"id.orig_h":"10.1.1.5","id.resp_h":"10.1.1.1","query":"x.evil-demo.com"})" "\n";
  }
  log << "not json at all\n";
  log.close();
  std::string store = "sqlite:" + Path("aegis.db");
  std::string err;
  CommandResult scan = Aegis("scan " + Path("repeat.json") + " --intel " + Path("trails.txt") +
                             " --store " + store + " --dedup-window 10m", &err);
  ASSERT_EQ(scan.code, 0) << err;
  EXPECT_NE(err.find("repeat.json:4"), std::string::npos) << "bad record shown with file:line: " << err;
  CommandResult list = Aegis("alerts list --json --store " + store);
  EXPECT_NE(list.out.find("\"count\":3"), std::string::npos) << list.out;
}

TEST_F(Cli, ExitCodesAndReadOnlyCommandsDoNotCreateStores) {
  std::string err;
  EXPECT_EQ(Aegis("", &err).code, 2);
  EXPECT_EQ(Aegis("scan --bogus x", &err).code, 2);
  CommandResult missing = Aegis("alerts list --store sqlite:" + Path("typo/aegis.db"), &err);
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(err.find("no store here yet"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dir_ / "typo"));
  CommandResult bad_dead = Aegis("scan " + Path("dns.json") + " --intel " + Path("trails.txt") +
                                 " --dead-letter /proc/nope/dead.jsonl", &err);
  EXPECT_EQ(bad_dead.code, 1);
  EXPECT_NE(err.find("dead-letter"), std::string::npos) << err;
}

TEST_F(Cli, CsvColumnMapping) {
  std::ofstream csv(Path("feed.csv"));
  csv << "first_seen_utc;ioc_value;ioc_type;confidence_level;tags\n";
  csv << "2024-01-01 00:00:00;evil-csv.example.org;domain;90;botnet|c2\n";
  csv << "2024-01-01 00:00:00;185.220.101.4;ip;75;tor\n";
  csv.close();
  std::string err;
  CommandResult r = Aegis("intel check sub.evil-csv.example.org 185.220.101.4 --json --intel " +
                              Path("feed.csv") + " --csv-value ioc_value --csv-type ioc_type "
                              "--csv-confidence confidence_level --csv-tags tags --csv-delimiter ';'",
                          &err);
  ASSERT_EQ(r.code, 0) << err;
  EXPECT_NE(r.out.find("\"indicator\":\"evil-csv.example.org\""), std::string::npos) << r.out << err;
  EXPECT_NE(r.out.find("\"confidence\":90"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"indicator\":\"185.220.101.4\""), std::string::npos) << r.out;
}

}  // namespace
