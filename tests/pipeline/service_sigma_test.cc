// `aegis run` with Sigma rules, end to end inside one process: a [sigma] table
// pointing at crafted rules, a followed file of windows-flat JSON lines (Sysmon
// process creation), alerts to JSON lines and SQLite; a rule reload while events
// keep flowing (no event lost, no event seen by neither rule version); a correlation
// rule (event_count per User); and start-up errors (unknown [sigma] key, missing
// rule path).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/test_util.h"
#include "pipeline/config.h"
#include "pipeline/service.h"
#include "store/store.h"

namespace aegis::pipeline {
namespace {

namespace fs = std::filesystem;

using aegis::testing::ReadAll;
using aegis::testing::WaitFor;

void Append(const fs::path& p, const std::string& line) {
  std::ofstream out(p, std::ios::app);
  out << line << "\n";
}

void Write(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::trunc);
  out << text;
}

// One Sysmon process creation event (EventID 1) as a windows-flat JSON line.
std::string ProcEvent(const std::string& image_name, const std::string& command_line, int second,
                      const std::string& user = "CORP\\alice") {
  char time[64];
  std::snprintf(time, sizeof time, "2026-11-23 08:%02d:%02d.000", second / 60, second % 60);
  std::string user_json;
  for (char c : user) {
    if (c == '\\')
      user_json += "\\\\";
    else
      user_json += c;
  }
  return R"({"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Image":"C:\\x\\)" +
         image_name + R"(","CommandLine":")" + command_line + R"(","User":")" + user_json +
         R"(","UtcTime":")" + time + R"("})";
}

// A windows process_creation rule matching Image|endswith '\<image>' (and, when
// given, CommandLine|contains `command`).
std::string ProcRule(const std::string& id, const std::string& title, const std::string& level,
                     const std::string& status, const std::string& image,
                     const std::string& command = "", const std::string& name = "") {
  std::string r = "title: " + title + "\nid: " + id + "\n";
  if (!name.empty()) r += "name: " + name + "\n";
  r += "status: " + status + "\nlevel: " + level +
       "\ntags:\n  - attack.execution\n  - attack.t1059\n"
       "logsource:\n  product: windows\n  category: process_creation\n"
       "detection:\n  selection_img:\n    Image|endswith: '\\" +
       image + "'\n";
  if (command.empty()) {
    r += "  condition: selection_img\n";
  } else {
    r += "  selection_cmd:\n    CommandLine|contains: '" + command +
         "'\n  condition: selection_img and selection_cmd\n";
  }
  return r;
}

// Splits an alerts JSONL file into lines.
std::vector<std::string> Lines(const fs::path& p) {
  std::vector<std::string> out;
  std::istringstream in(ReadAll(p));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

bool Has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

size_t CountRule(const fs::path& alerts, const std::string& rule_id) {
  size_t n = 0;
  for (const auto& line : Lines(alerts)) n += Has(line, "\"rule\":\"" + rule_id + "\"");
  return n;
}

// The event line number of one alert line ("event":{...,"line":N,...}).
uint64_t EventLine(const std::string& alert) {
  size_t at = alert.find("\"event\":{");
  if (at == std::string::npos) return 0;
  at = alert.find("\"line\":", at);
  if (at == std::string::npos) return 0;
  return std::stoull(alert.substr(at + 7));
}

class ServiceSigma : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("aegis-service-sigma-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "rules");
    live_ = dir_ / "sysmon.json";
    { std::ofstream touch(live_); }
    alerts_ = dir_ / "alerts.jsonl";

    cfg_.store_url = "sqlite:" + (dir_ / "aegis.db").string();
    cfg_.alerts_jsonl = alerts_.string();
    cfg_.dead_letter_path = (dir_ / "dead.jsonl").string();
    cfg_.console = false;
    cfg_.dedup_window_ns = 0;
    cfg_.log_level = "warn";
    cfg_.sigma.paths = {(dir_ / "rules").string()};
    InputConfig file_in;
    file_in.type = "file";
    file_in.path = live_.string();
    file_in.follow = true;
    cfg_.inputs = {file_in};
  }
  void TearDown() override {
    if (service_.joinable()) {
      stop_ = true;
      service_.join();
    }
    fs::remove_all(dir_);
  }

  void Start() {
    opts_.stop = &stop_;
    service_ = std::thread([this] { result_ = RunService(cfg_, opts_); });
  }
  // Stops the service and checks it ended without a start-up error.
  void Stop() {
    stop_ = true;
    service_.join();
    ASSERT_TRUE(result_) << result_.error().ToString();
  }

  fs::path dir_, live_, alerts_;
  Config cfg_;
  ServiceOptions opts_;
  std::atomic<bool> stop_{false};
  std::thread service_;
  Result<ServiceStats> result_;
};

constexpr const char* kEvilId = "0b4a1f52-7c1e-4d7a-9a51-1e2f3a4b5c01";
constexpr const char* kOneId = "0b4a1f52-7c1e-4d7a-9a51-1e2f3a4b5c02";
constexpr const char* kTwoId = "0b4a1f52-7c1e-4d7a-9a51-1e2f3a4b5c03";
constexpr const char* kCorrId = "0b4a1f52-7c1e-4d7a-9a51-1e2f3a4b5c04";
constexpr const char* kMarkerId = "0b4a1f52-7c1e-4d7a-9a51-1e2f3a4b5c05";

TEST_F(ServiceSigma, RuleMatchBecomesAlertInJsonLinesAndStore) {
  Write(dir_ / "rules" / "evil.yml",
        ProcRule(kEvilId, "Evil process started", "high", "experimental", "evil.exe"));
  Start();
  // A benign process first, then the evil one, then a look-alike that must not match.
  Append(live_, ProcEvent("notepad.exe", "notepad.exe a.txt", 0));
  Append(live_, ProcEvent("evil.exe", "evil.exe -x", 1));
  Append(live_, ProcEvent("evil.exe.bak", "evil.exe.bak", 2));
  Append(live_, ProcEvent("notepad.exe", "notepad.exe b.txt", 3));
  ASSERT_TRUE(WaitFor([&] { return CountRule(alerts_, kEvilId) >= 1; })) << ReadAll(alerts_);
  // Give the two events after it time to be read (they raise nothing).
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Stop();
  EXPECT_EQ(result_->events, 4u);
  EXPECT_EQ(result_->bad_records, 0u) << ReadAll(dir_ / "dead.jsonl");
  EXPECT_EQ(result_->alerts, 1u);

  auto lines = Lines(alerts_);
  ASSERT_EQ(lines.size(), 1u) << ReadAll(alerts_);
  const std::string& a = lines[0];
  EXPECT_TRUE(Has(a, "\"detector\":\"sigma\"")) << a;
  EXPECT_TRUE(Has(a, std::string("\"rule\":\"") + kEvilId + "\"")) << a;
  EXPECT_TRUE(Has(a, "\"title\":\"Evil process started\"")) << a;
  EXPECT_TRUE(Has(a, "\"severity\":\"high\"")) << a;
  EXPECT_TRUE(Has(a, "\"rule_status\":\"experimental\"")) << a;
  EXPECT_TRUE(Has(a, "\"attack.t1059\"")) << a;
  EXPECT_TRUE(Has(a, "\"indicator\":\"selection_img\"")) << a;
  EXPECT_TRUE(Has(a, "\"original\":\"Image\"")) << a;
  EXPECT_TRUE(Has(a, R"("value":"C:\\x\\evil.exe")")) << a;
  EXPECT_EQ(EventLine(a), 2u) << a;
  EXPECT_TRUE(Has(a, "\"event_time\":\"2026-11-23T08:00:01")) << a;

  auto db = store::Open(cfg_.store_url);
  ASSERT_TRUE(db) << db.error().ToString();
  store::AlertQuery q;
  q.detector = "sigma";
  auto stored = (*db)->ListAlerts(q);
  ASSERT_TRUE(stored) << stored.error().ToString();
  ASSERT_EQ(stored->size(), 1u);
  const Alert& s = stored->front();
  EXPECT_EQ(s.detector, "sigma");
  EXPECT_EQ(s.rule, kEvilId);
  EXPECT_EQ(s.title, "Evil process started");
  EXPECT_EQ(s.severity, Severity::kHigh);
  EXPECT_EQ(s.rule_status, "experimental");
  EXPECT_EQ(s.event_line, 2u);
  ASSERT_FALSE(s.matches.empty());
  EXPECT_EQ(s.matches[0].indicator, "selection_img");
  EXPECT_EQ(s.matches[0].value, "C:\\x\\evil.exe");
}

TEST_F(ServiceSigma, RulesReloadWhileEventsFlowWithoutLosingEvents) {
  // evil.yml stays; swap.yml holds rule "one" and is replaced by rule "two".
  Write(dir_ / "rules" / "evil.yml",
        ProcRule(kEvilId, "Evil process started", "high", "test", "evil.exe"));
  Write(dir_ / "rules" / "swap.yml",
        ProcRule(kOneId, "Version one", "medium", "test", "evil.exe", "-tag"));
  cfg_.sigma.reload_interval_ns = 100'000'000;  // 100ms
  Start();

  std::atomic<bool> writing{true};
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (int i = 0; writing.load() && i < 2000; ++i) {
      Append(live_, ProcEvent("evil.exe", "evil.exe -tag " + std::to_string(i), i % 3600));
      written.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  bool before = WaitFor([&] { return CountRule(alerts_, kOneId) >= 5; }, 10);

  // Replace swap.yml atomically (rename) with a newer mtime than anything before.
  const fs::path staged = dir_ / "swap.yml.staged";
  Write(staged, ProcRule(kTwoId, "Version two", "critical", "stable", "evil.exe", "-tag"));
  fs::last_write_time(staged, fs::file_time_type::clock::now() + std::chrono::seconds(5));
  fs::rename(staged, dir_ / "rules" / "swap.yml");

  bool after = WaitFor([&] { return CountRule(alerts_, kTwoId) >= 5; }, 10);
  writing = false;
  writer.join();
  const int total = written.load();
  // Every event is read and raises the rule present in both versions.
  bool all = WaitFor([&] { return CountRule(alerts_, kEvilId) >= static_cast<size_t>(total); }, 10);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  Stop();
  ASSERT_TRUE(before) << "rule one never fired: " << ReadAll(alerts_).substr(0, 2000);
  ASSERT_TRUE(after) << "the replaced rule file was not picked up";
  EXPECT_TRUE(all);
  EXPECT_GE(result_->sigma_reloads, 1u);
  EXPECT_EQ(result_->events, static_cast<uint64_t>(total));
  EXPECT_EQ(result_->bad_records, 0u);

  // Per event (by line): rule evil exactly once, and exactly one of one/two; once
  // "two" fires, "one" never fires again (the switch is between events).
  std::map<uint64_t, int> evil, one, two;
  for (const auto& line : Lines(alerts_)) {
    const uint64_t l = EventLine(line);
    if (Has(line, kEvilId)) ++evil[l];
    if (Has(line, kOneId)) ++one[l];
    if (Has(line, kTwoId)) {
      ++two[l];
      EXPECT_TRUE(Has(line, "\"severity\":\"critical\"")) << line;
      EXPECT_TRUE(Has(line, "\"rule_status\":\"stable\"")) << line;
      EXPECT_TRUE(Has(line, "\"title\":\"Version two\"")) << line;
    }
  }
  EXPECT_EQ(evil.size(), static_cast<size_t>(total));
  uint64_t first_two = UINT64_MAX, last_one = 0;
  for (uint64_t l = 1; l <= static_cast<uint64_t>(total); ++l) {
    EXPECT_EQ(evil[l], 1) << "event line " << l;
    EXPECT_EQ(one[l] + two[l], 1) << "event line " << l;
    if (two[l] && l < first_two) first_two = l;
    if (one[l]) last_one = l;
  }
  EXPECT_GT(last_one, 0u) << "no event raised rule one";
  EXPECT_NE(first_two, UINT64_MAX) << "no event raised rule two";
  EXPECT_LT(last_one, first_two) << "rule one fired after rule two had taken over";
  RecordProperty("events", total);
  RecordProperty("first_event_under_rule_two", static_cast<int>(first_two));
  EXPECT_EQ(result_->alerts, static_cast<uint64_t>(2 * total));
}

TEST_F(ServiceSigma, CorrelationCountsPerUserWithinTimespan) {
  // Base rule (named, referenced by the correlation), and a marker rule that fires on
  // every event so the test knows when all events were read.
  Write(dir_ / "rules" / "base.yml",
        ProcRule(kEvilId, "Evil process started", "medium", "test", "evil.exe", "", "evil_proc"));
  Write(dir_ / "rules" / "marker.yml", ProcRule(kMarkerId, "Marker", "low", "test", "evil.exe"));
  Write(dir_ / "rules" / "correlation.yml", std::string(R"(title: Evil process repeated by one user
id: )") + kCorrId + R"(
status: experimental
level: critical
correlation:
  type: event_count
  rules:
    - evil_proc
  group-by:
    - User
  timespan: 1m
  condition:
    gte: 3
)");
  Start();
  // A, B, A, B, A within 40 seconds: A reaches 3, B stays at 2.
  Append(live_, ProcEvent("evil.exe", "evil.exe 1", 0, "CORP\\alice"));
  Append(live_, ProcEvent("evil.exe", "evil.exe 2", 10, "CORP\\bob"));
  Append(live_, ProcEvent("evil.exe", "evil.exe 3", 20, "CORP\\alice"));
  Append(live_, ProcEvent("evil.exe", "evil.exe 4", 30, "CORP\\bob"));
  Append(live_, ProcEvent("evil.exe", "evil.exe 5", 40, "CORP\\alice"));
  ASSERT_TRUE(WaitFor([&] { return CountRule(alerts_, kMarkerId) >= 5; })) << ReadAll(alerts_);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  Stop();

  std::vector<std::string> corr;
  for (const auto& line : Lines(alerts_)) {
    if (Has(line, "\"detector\":\"sigma-correlation\"")) corr.push_back(line);
  }
  ASSERT_EQ(corr.size(), 1u) << ReadAll(alerts_);
  const std::string& c = corr[0];
  EXPECT_TRUE(Has(c, std::string("\"rule\":\"") + kCorrId + "\"")) << c;
  EXPECT_TRUE(Has(c, "\"severity\":\"critical\"")) << c;
  EXPECT_TRUE(Has(c, "\"rule_status\":\"experimental\"")) << c;
  EXPECT_TRUE(Has(c, R"(CORP\\alice)")) << c;
  EXPECT_FALSE(Has(c, "bob")) << c;
  EXPECT_EQ(EventLine(c), 5u) << "raised by the third event of alice: " << c;
  // The base rule is referenced by a correlation without `generate`: no alerts of its own.
  EXPECT_EQ(CountRule(alerts_, kEvilId), 0u) << ReadAll(alerts_);
  EXPECT_EQ(result_->alerts, 6u);  // 5 markers + 1 correlation

  auto db = store::Open(cfg_.store_url);
  ASSERT_TRUE(db);
  store::AlertQuery q;
  q.detector = "sigma-correlation";
  auto stored = (*db)->ListAlerts(q);
  ASSERT_TRUE(stored);
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ(stored->front().rule, kCorrId);
  EXPECT_EQ(stored->front().severity, Severity::kCritical);
}

TEST_F(ServiceSigma, CorrelationSeesEventsFromEveryInput) {
  // Two inputs, each read by its own thread: evil.exe shows up in one log, tool.exe in
  // the other, for the same user. A temporal correlation must see both.
  Write(dir_ / "rules" / "base.yml",
        ProcRule(kOneId, "Evil started", "medium", "test", "evil.exe", "", "evil_proc") + "---\n" +
            ProcRule(kTwoId, "Tool started", "medium", "test", "tool.exe", "", "tool_proc"));
  Write(dir_ / "rules" / "marker.yml", std::string("title: Marker\nid: ") + kMarkerId + R"(
logsource: {product: windows, category: process_creation}
detection: {selection: {Image|endswith: '.exe'}, condition: selection}
)");
  Write(dir_ / "rules" / "correlation.yml", std::string(R"(title: Evil then tool, any input
id: )") + kCorrId + R"(
level: high
correlation:
  type: temporal
  rules: [evil_proc, tool_proc]
  group-by: [User]
  timespan: 5m
)");
  const fs::path second = dir_ / "second.json";
  { std::ofstream touch(second); }
  InputConfig in;
  in.type = "file";
  in.path = second.string();
  in.follow = true;
  cfg_.inputs.push_back(in);
  Start();
  Append(live_, ProcEvent("evil.exe", "evil.exe", 0, "CORP\\alice"));
  ASSERT_TRUE(WaitFor([&] { return CountRule(alerts_, kMarkerId) >= 1; })) << ReadAll(alerts_);
  Append(second, ProcEvent("tool.exe", "tool.exe", 30, "CORP\\alice"));
  ASSERT_TRUE(WaitFor([&] { return CountRule(alerts_, kMarkerId) >= 2; })) << ReadAll(alerts_);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  Stop();
  EXPECT_EQ(CountRule(alerts_, kCorrId), 1u) << ReadAll(alerts_);
}

TEST(ServiceSigmaConfig, UnknownSigmaKeyIsRejectedByName) {
  auto cfg = ParseConfig(R"(
[sigma]
paths = ["rules/"]
reload_intervall = "10s"
)",
                         "aegis.toml");
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().field, "sigma.reload_intervall");
  EXPECT_NE(cfg.error().ToString().find("sigma.reload_intervall"), std::string::npos)
      << cfg.error().ToString();
  EXPECT_NE(cfg.error().ToString().find("unknown setting"), std::string::npos);
  EXPECT_EQ(cfg.error().line, 4u);

  // The full [sigma] table parses.
  auto ok = ParseConfig(R"(
[sigma]
paths = ["rules/", "more.yml"]
min_level = "high"
statuses = ["stable", "test"]
tags = ["attack.t1059"]
logsources = "map.yml"
reload_interval = "100ms"
correlation_max_groups = 500
[sigma.placeholders]
admins = ["root", "admin"]
)",
                        "aegis.toml");
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_EQ(ok->sigma.paths, (std::vector<std::string>{"rules/", "more.yml"}));
  EXPECT_EQ(ok->sigma.min_level, "high");
  EXPECT_EQ(ok->sigma.reload_interval_ns, 100'000'000);
  EXPECT_EQ(ok->sigma.correlation_max_groups, 500);
  EXPECT_EQ(ok->sigma.placeholders.at("admins"), (std::vector<std::string>{"root", "admin"}));
}

TEST_F(ServiceSigma, MissingRulePathFailsStartup) {
  const std::string missing = (dir_ / "no-such-rules").string();
  cfg_.sigma.paths = {missing};
  opts_.duration_ns = 3'000'000'000;  // should fail long before this
  const auto t0 = std::chrono::steady_clock::now();
  Result<ServiceStats> r = RunService(cfg_, opts_);
  ASSERT_FALSE(r) << "started with a missing rule path";
  EXPECT_NE(r.error().ToString().find("no-such-rules"), std::string::npos) << r.error().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

}  // namespace
}  // namespace aegis::pipeline
