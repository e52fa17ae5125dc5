// Config: the `aegis run` configuration file (TOML, see config/aegis.example.toml).
// Every setting has a default; unknown keys are errors, so typos do not pass silently.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/event.h"
#include "core/types.h"

namespace aegis::pipeline {

struct InputConfig {
  std::string type = "file";        // file | stdin | syslog
  std::string path;                 // file or folder (type = file)
  EventFormat format = EventFormat::kUnknown;  // auto
  bool follow = true;               // keep reading as files grow
  std::string udp;                  // syslog: "host:port" to listen on (empty = off)
  std::string tcp;
};

// [sigma]: Sigma rules run on every input (docs/SIGMA.md).
struct SigmaConfig {
  std::vector<std::string> paths;        // rule files or folders
  std::string min_level = "informational";
  std::vector<std::string> statuses;     // empty: all but deprecated and unsupported
  std::vector<std::string> tags;         // empty: all
  std::string logsources;                // mapping file; "" = built-in
  std::map<std::string, std::vector<std::string>> placeholders;  // expand modifier
  int64_t reload_interval_ns = 30'000'000'000;  // check rule files for changes; 0 = never
  int64_t correlation_max_groups = 100'000;     // correlation state ceiling
};

// [server]: the HTTP listener of `aegis serve` (docs/SERVER.md).
struct ServerSection {
  std::string listen = "127.0.0.1:8443";  // "address:port"; "[::]:8443" for IPv6
  std::string tls_cert;                   // PEM chain; with tls_key: HTTPS only
  std::string tls_key;
  int64_t threads = 4;
  int64_t max_body_bytes = 64ll << 20;    // larger requests: 413
  int64_t read_timeout_ns = 30'000'000'000;
  int64_t idle_timeout_ns = 60'000'000'000;
  int64_t max_connections = 1024;
  bool access_log = true;
};

// [hub]: the threat-intelligence hub (docs/HUB.md).
struct HubSection {
  std::string org;                    // this instance's own organisation id (required to serve)
  std::string title = "Aegis threat-intelligence hub";
  std::string contact;
  std::string api_root = "hub";       // /taxii2/<api_root>/
  int64_t max_page = 1000;
  std::string sightings_collection = "sightings";     // alerts become sightings here; "" = off
  std::string indicators_collection = "indicators";   // live detection reads indicators from here
  bool anonymise_sightings = false;
  bool detect = true;                 // also run [[input]] detection in the serve process
};

struct Config {
  std::string store_url = "sqlite:aegis-data/aegis.db";
  std::vector<std::string> intel_paths;
  bool intel_allow_private = false;
  int64_t intel_reload_interval_ns = 30'000'000'000;  // 0 = never
  Tlp intel_default_tlp = Tlp::kClear;
  int intel_default_confidence = 50;
  std::string alerts_jsonl = "aegis-data/alerts.jsonl";  // "" = off, "-" = stdout
  int64_t dedup_window_ns = 600'000'000'000;              // 10 minutes
  bool include_event = true;
  bool console = true;              // one short line per alert on stderr
  std::string dead_letter_path = "aegis-data/dead-letter.jsonl";
  std::string log_level = "info";
  std::vector<InputConfig> inputs;
  SigmaConfig sigma;
  ServerSection server;
  HubSection hub;
  // [[feeds]] and [federation] are read by `aegis serve` itself (intel/feeds.h,
  // share/federation.h); here only accepted. Early Warning keeps its settings in the
  // database (`aegis ew settings`).
};

// Parses a duration: "500ms", "30s", "10m", "2h", "1d", or a bare number of seconds.
Result<int64_t> ParseDuration(std::string_view text);

// Reads and validates a config file. Relative paths in it are resolved against the
// current directory (as a user typing them would expect).
Result<Config> LoadConfig(const std::string& path);
Result<Config> ParseConfig(std::string_view toml_text, const std::string& name);

}  // namespace aegis::pipeline
