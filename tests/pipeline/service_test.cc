// `aegis run` end to end inside one process: a followed file, a syslog listener fed
// by the real `logger` command, alerts to JSON lines and SQLite, and an indicator
// reload while events flow.
#include "pipeline/service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/test_util.h"
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

TEST(Service, FollowsFilesListensForSyslogAndReloadsIntel) {
  fs::path dir = fs::temp_directory_path() / ("aegis-service-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::path intel = dir / "trails.txt";
  Append(intel, "evil-demo.com");
  Append(intel, "45.83.64.17");
  fs::path live = dir / "dns.json";
  { std::ofstream touch(live); }

  Config cfg;
  cfg.store_url = "sqlite:" + (dir / "aegis.db").string();
  cfg.intel_paths = {intel.string()};
  cfg.intel_reload_interval_ns = 200'000'000;
  cfg.alerts_jsonl = (dir / "alerts.jsonl").string();
  cfg.dead_letter_path = (dir / "dead.jsonl").string();
  cfg.console = false;
  cfg.dedup_window_ns = 0;
  InputConfig file_in;
  file_in.type = "file";
  file_in.path = live.string();
  file_in.follow = true;
  InputConfig syslog_in;
  syslog_in.type = "syslog";
  syslog_in.udp = "127.0.0.1:0";
  syslog_in.tcp = "127.0.0.1:0";
  cfg.inputs = {file_in, syslog_in};

  std::atomic<bool> stop{false};
  std::atomic<uint16_t> udp_port{0}, tcp_port{0};
  ServiceOptions opts;
  opts.stop = &stop;
  opts.on_listening = [&](uint16_t u, uint16_t t) {
    udp_port = u;
    tcp_port = t;
  };
  Result<ServiceStats> result;
  std::thread service([&] { result = RunService(cfg, opts); });
  ASSERT_TRUE(WaitFor([&] { return udp_port.load() != 0 && tcp_port.load() != 0; }));

  const fs::path alerts = dir / "alerts.jsonl";
  // 1. A DNS query for a subdomain of a listed domain, appended to the followed file.
  Append(live, R"({"_path":"dns","ts":1700000000.5,"uid":"C1","id.orig_h":"10.1.1.5","id.orig_p":5353,"id.resp_h":"10.1.1.1","id.resp_p":53,"proto":"udp","query":"www.evil-demo.com","answers":["93.184.216.34"]})");
  EXPECT_TRUE(WaitFor([&] { return ReadAll(alerts).find("evil-demo.com") != std::string::npos; }));

  // 2. CEF over syslog, sent by the real logger over UDP and TCP.
  std::string cef = "CEF:0|Acme|Firewall|1.0|100|Outbound connection|5|src=10.2.2.2 dst=45.83.64.17 dpt=443";
  std::string udp_cmd = "logger --server 127.0.0.1 --port " + std::to_string(udp_port.load()) +
                        " --udp --rfc5424 -t fw '" + cef + "'";
  std::string tcp_cmd = "logger --server 127.0.0.1 --port " + std::to_string(tcp_port.load()) +
                        " --tcp --rfc5424 -t fw '" + cef + "'";
  ASSERT_EQ(std::system(udp_cmd.c_str()), 0);
  ASSERT_EQ(std::system(tcp_cmd.c_str()), 0);
  EXPECT_TRUE(WaitFor([&] {
    std::string all = ReadAll(alerts);
    size_t first = all.find("\"rule\":\"45.83.64.17\"");
    return first != std::string::npos &&
           all.find("\"rule\":\"45.83.64.17\"", first + 1) != std::string::npos;
  }));

  // 3. A new indicator lands in the intel file: the index reloads while running.
  Append(live, R"({"_path":"dns","ts":1700000001.0,"uid":"C2","id.orig_h":"10.1.1.6","query":"late-demo.net"})");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(ReadAll(alerts).find("late-demo.net"), std::string::npos);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // a new mtime second
  Append(intel, "late-demo.net");
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  Append(live, R"({"_path":"dns","ts":1700000002.0,"uid":"C3","id.orig_h":"10.1.1.7","query":"cdn.late-demo.net"})");
  EXPECT_TRUE(WaitFor([&] { return ReadAll(alerts).find("cdn.late-demo.net") != std::string::npos; }));

  // 4. A broken record goes to the dead-letter file and the service goes on.
  Append(live, R"({"_path":"dns","ts":)");
  Append(live, R"({"_path":"dns","ts":1700000003.0,"uid":"C4","id.orig_h":"10.1.1.8","query":"evil-demo.com"})");
  EXPECT_TRUE(WaitFor([&] {
    std::string all = ReadAll(alerts);
    return all.find("\"uid\"") != std::string::npos || all.find("C4") != std::string::npos;
  }));
  EXPECT_TRUE(WaitFor([&] { return !ReadAll(dir / "dead.jsonl").empty(); }));

  stop = true;
  service.join();
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_GE(result->alerts, 5u);
  EXPECT_GE(result->reloads, 1u);
  EXPECT_GE(result->bad_records, 1u);

  auto db = store::Open(cfg.store_url);
  ASSERT_TRUE(db);
  auto count = (*db)->CountAlerts();
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, result->alerts);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace aegis::pipeline
