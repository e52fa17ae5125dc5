// `aegis serve`: the threat-intelligence hub (TAXII 2.1, REST /api/v1, /metrics) and,
// when configured, detection in the same process. See docs/HUB.md.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "cli/command_group.h"
#include "hub/hub.h"
#include "pipeline/config.h"

namespace aegis::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
void PrintError(const Error& e) { std::fprintf(stderr, "aegis: error: %s\n", e.ToString().c_str()); }

std::atomic<bool> g_serve_stop{false};
extern "C" void OnServeStopSignal(int) { g_serve_stop.store(true); }

class ServeCommand final : public CommandGroup {
 public:
  void Register(CLI::App& app) override {
    cmd_ = app.add_subcommand(
        "serve", "Run the threat-intelligence hub: TAXII 2.1, REST API, feeds, federation, "
                 "Early Warning (and detection of [[input]] when configured)");
    cmd_->add_option("--config,-c", config_path_,
                     "Configuration file (see config/aegis.example.toml); without it, defaults")
        ->check(CLI::ExistingFile);
    cmd_->add_option("--listen", listen_, "address:port to listen on (overrides server.listen)");
    cmd_->add_option("--org", org_, "This instance's organisation (overrides hub.org)");
    AddDatabaseOption(cmd_, db_);
    db_given_ = cmd_->get_option("--db");
    cmd_->add_option("--port-file", port_file_,
                     "Write the bound port to this file once listening (for scripts using port 0)");
    cmd_->add_option("--duration", duration_, "Stop after this long (e.g. 30s); default: until Ctrl-C");
  }

  std::optional<int> RunParsed() override {
    if (cmd_ == nullptr || !cmd_->parsed()) return std::nullopt;
    return Run();
  }

 private:
  int Run() {
    pipeline::Config config;
    hub::HubStartOptions options;
    if (!config_path_.empty()) {
      std::ifstream in(config_path_);
      std::stringstream text;
      text << in.rdbuf();
      options.config_text = text.str();
      options.config_name = config_path_;
      auto parsed = pipeline::ParseConfig(options.config_text, config_path_);
      if (!parsed) {
        PrintError(parsed.error());
        return kExitError;
      }
      config = std::move(*parsed);
    }
    // --db wins over [store] url; without either, the default database.
    if (db_given_->count() > 0 || config_path_.empty()) config.store_url = "sqlite:" + db_;
    if (!listen_.empty()) config.server.listen = listen_;
    if (!org_.empty()) config.hub.org = org_;
    int64_t duration_ns = 0;
    if (!duration_.empty()) {
      auto d = pipeline::ParseDuration(duration_);
      if (!d) {
        PrintError(d.error());
        return kExitUsage;
      }
      duration_ns = *d;
    }

    if (auto level = spdlog::level::from_str(config.log_level);
        level != spdlog::level::off || config.log_level == "off") {
      spdlog::set_level(level);
    }
    std::signal(SIGINT, OnServeStopSignal);
    std::signal(SIGTERM, OnServeStopSignal);
    auto hub = hub::Hub::Start(config, options);
    if (!hub) {
      PrintError(hub.error());
      return kExitError;
    }
    if (!port_file_.empty()) {
      const std::string tmp = port_file_ + ".tmp";
      std::ofstream(tmp) << (*hub)->port() << "\n";
      std::rename(tmp.c_str(), port_file_.c_str());  // readers never see a partial file
    }
    std::fprintf(stderr, "aegis serve: listening on port %u (%s); Ctrl-C stops\n", (*hub)->port(),
                 (*hub)->tls() ? "https" : "http");
    const auto started = std::chrono::steady_clock::now();
    while (!g_serve_stop.load()) {
      if (duration_ns > 0 && std::chrono::steady_clock::now() - started >=
                                 std::chrono::nanoseconds(duration_ns)) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::fprintf(stderr, "aegis serve: stopping\n");
    (*hub)->Stop();
    return kExitOk;
  }

  CLI::App* cmd_ = nullptr;
  CLI::Option* db_given_ = nullptr;
  std::string config_path_, listen_, org_, db_, port_file_, duration_;
};

}  // namespace

std::unique_ptr<CommandGroup> MakeServeCommand() { return std::make_unique<ServeCommand>(); }

}  // namespace aegis::cli
