// Reads the TOML configuration with toml++ (no exceptions: TOML_EXCEPTIONS=0).
// Debian's toml++ library is built with exceptions; Aegis parses without them, so the
// parser is compiled inline here (header-only mode) instead of linking the library.
#undef TOML_HEADER_ONLY
#undef TOML_SHARED_LIB
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include "pipeline/config.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <cstdio>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "core/strings.h"

namespace aegis::pipeline {
namespace {

Error ConfigError(const std::string& file, const toml::source_region& where, std::string field,
                  std::string reason) {
  Error e;
  e.where = file;
  e.line = where.begin.line;
  e.field = std::move(field);
  e.reason = std::move(reason);
  return e;
}

// Fails on keys that `table` has but `known` does not list.
std::optional<Error> CheckKeys(const std::string& file, const toml::table& table,
                               const std::string& prefix, std::set<std::string_view> known) {
  for (const auto& [key, node] : table) {
    if (!known.contains(key.str())) {
      return ConfigError(file, node.source(), prefix + std::string(key.str()),
                         "unknown setting (see config/aegis.example.toml)");
    }
  }
  return std::nullopt;
}

}  // namespace

Result<int64_t> ParseDuration(std::string_view text) {
  std::string_view t = Trim(text);
  size_t i = 0;
  while (i < t.size() && ((t[i] >= '0' && t[i] <= '9') || t[i] == '.')) ++i;
  if (i == 0) return Fail("not a duration: '" + std::string(text) + "' (use 30s, 10m, 1h)");
  double number = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + i, number);
  if (ec != std::errc() || ptr != t.data() + i) {
    return Fail("not a duration: '" + std::string(text) + "' (use 30s, 10m, 1h)");
  }
  std::string_view unit = t.substr(i);
  double scale = 1e9;
  if (unit.empty() || unit == "s") scale = 1e9;
  else if (unit == "ms") scale = 1e6;
  else if (unit == "m") scale = 60e9;
  else if (unit == "h") scale = 3600e9;
  else if (unit == "d") scale = 86400e9;
  else return Fail("unknown duration unit '" + std::string(unit) + "' (use ms, s, m, h, d)");
  const double ns = number * scale;
  if (!std::isfinite(ns) || ns < 0 || ns >= 9.2e18) {
    return Fail("duration out of range: '" + std::string(text) + "'");
  }
  return static_cast<int64_t>(ns);
}

Result<Config> LoadConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Error e;
    e.where = path;
    e.reason = "cannot read configuration file";
    return std::unexpected(e);
  }
  std::stringstream buf;
  buf << in.rdbuf();
  return ParseConfig(buf.str(), path);
}

// toml++ 3.3.0 (Debian 12) reaches TOML_UNREACHABLE (undefined behaviour) when it
// meets some non-ASCII code points while looking for whitespace (upstream issue #190,
// found by fuzz/config_fuzz.cc). Such files are refused with a clear error instead.
std::optional<Error> CheckTomlppSafe(std::string_view text, const std::string& name) {
  uint32_t line = 1;
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') ++line;
    if (c < 0x80) {
      ++i;
      continue;
    }
    // Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing past U+10FFFF.
    size_t len = c >= 0xF5 ? 0 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    uint32_t cp = len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
    bool valid = len > 1 && i + len <= text.size();
    for (size_t k = 1; valid && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      valid = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (valid) {
      const uint32_t min_cp = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
      valid = cp >= min_cp && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    }
    Error e;
    e.where = name;
    e.line = line;
    if (!valid) {
      e.reason = "not valid UTF-8";
      return e;
    }
    const bool unsafe = (cp >= 0xA1 && cp <= 0x499) || (cp >= 0x2C5E && cp <= 0x3057 && cp != 0x3000) ||
                        (cp >= 0xFB26 && cp <= 0xFEFE);
    if (unsafe) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "U+%04X", cp);
      e.reason = std::string("character ") + buf +
                 " is not supported in configuration files by this build's TOML parser "
                 "(toml++ 3.3); use ASCII, or \\u escapes inside strings";
      return e;
    }
    i += len;
  }
  return std::nullopt;
}

Result<Config> ParseConfig(std::string_view text, const std::string& name) {
  if (auto unsafe = CheckTomlppSafe(text, name)) return std::unexpected(*unsafe);
  toml::parse_result parsed = toml::parse(text, name);
  if (!parsed) {
    const auto& err = parsed.error();
    return std::unexpected(ConfigError(name, err.source(), "", std::string(err.description())));
  }
  const toml::table& root = parsed.table();
  Config cfg;
  if (auto e = CheckKeys(name, root, "", {"store", "intel", "sigma", "alerts", "dead_letter", "input", "log", "server",
                                        "hub", "feeds", "federation"})) {
    return std::unexpected(*e);
  }

  auto get_string = [&](const toml::table& t, std::string_view key, const std::string& prefix,
                        std::string& out) -> std::optional<Error> {
    if (const toml::node* n = t.get(key)) {
      if (auto v = n->value<std::string>()) {
        out = *v;
      } else {
        return ConfigError(name, n->source(), prefix + std::string(key), "must be a string");
      }
    }
    return std::nullopt;
  };
  auto get_bool = [&](const toml::table& t, std::string_view key, const std::string& prefix,
                      bool& out) -> std::optional<Error> {
    if (const toml::node* n = t.get(key)) {
      if (auto v = n->value<bool>()) {
        out = *v;
      } else {
        return ConfigError(name, n->source(), prefix + std::string(key), "must be true or false");
      }
    }
    return std::nullopt;
  };
  auto get_duration = [&](const toml::table& t, std::string_view key, const std::string& prefix,
                          int64_t& out) -> std::optional<Error> {
    if (const toml::node* n = t.get(key)) {
      if (auto v = n->value<int64_t>()) {
        if (*v < 0 || *v > std::numeric_limits<int64_t>::max() / 1'000'000'000) {
          return ConfigError(name, n->source(), prefix + std::string(key),
                             "must be a duration from 0 to 292 years");
        }
        out = *v * 1'000'000'000;
      } else if (auto s = n->value<std::string>()) {
        auto d = ParseDuration(*s);
        if (!d) return ConfigError(name, n->source(), prefix + std::string(key), d.error().reason);
        out = *d;
      } else {
        return ConfigError(name, n->source(), prefix + std::string(key),
                           "must be a duration such as \"30s\" or \"10m\"");
      }
    }
    return std::nullopt;
  };
#define AEGIS_TRY(expr) \
  if (auto err__ = (expr)) return std::unexpected(*err__)

  auto get_int = [&](const toml::table& t, std::string_view key, const std::string& prefix,
                     int64_t min, int64_t max, int64_t& out) -> std::optional<Error> {
    if (const toml::node* n = t.get(key)) {
      auto v = n->value<int64_t>();
      if (!v || *v < min || *v > max) {
        return ConfigError(name, n->source(), prefix + std::string(key),
                           "must be a whole number from " + std::to_string(min) + " to " +
                               std::to_string(max));
      }
      out = *v;
    }
    return std::nullopt;
  };
  if (const toml::table* t = root["server"].as_table()) {
    AEGIS_TRY(CheckKeys(name, *t, "server.",
                        {"listen", "tls_cert", "tls_key", "threads", "max_body_bytes",
                         "read_timeout", "idle_timeout", "max_connections", "access_log"}));
    AEGIS_TRY(get_string(*t, "listen", "server.", cfg.server.listen));
    AEGIS_TRY(get_string(*t, "tls_cert", "server.", cfg.server.tls_cert));
    AEGIS_TRY(get_string(*t, "tls_key", "server.", cfg.server.tls_key));
    AEGIS_TRY(get_int(*t, "threads", "server.", 1, 256, cfg.server.threads));
    AEGIS_TRY(get_int(*t, "max_body_bytes", "server.", 1024, 1ll << 32, cfg.server.max_body_bytes));
    AEGIS_TRY(get_int(*t, "max_connections", "server.", 1, 1'000'000, cfg.server.max_connections));
    AEGIS_TRY(get_duration(*t, "read_timeout", "server.", cfg.server.read_timeout_ns));
    AEGIS_TRY(get_duration(*t, "idle_timeout", "server.", cfg.server.idle_timeout_ns));
    AEGIS_TRY(get_bool(*t, "access_log", "server.", cfg.server.access_log));
    if (cfg.server.tls_cert.empty() != cfg.server.tls_key.empty()) {
      return std::unexpected(ConfigError(name, t->source(), "server.tls_cert",
                                         "tls_cert and tls_key go together"));
    }
  }
  if (const toml::table* t = root["hub"].as_table()) {
    AEGIS_TRY(CheckKeys(name, *t, "hub.",
                        {"org", "title", "contact", "api_root", "max_page", "sightings_collection",
                         "indicators_collection", "anonymise_sightings", "detect"}));
    AEGIS_TRY(get_string(*t, "org", "hub.", cfg.hub.org));
    AEGIS_TRY(get_string(*t, "title", "hub.", cfg.hub.title));
    AEGIS_TRY(get_string(*t, "contact", "hub.", cfg.hub.contact));
    AEGIS_TRY(get_string(*t, "api_root", "hub.", cfg.hub.api_root));
    AEGIS_TRY(get_int(*t, "max_page", "hub.", 1, 100'000, cfg.hub.max_page));
    AEGIS_TRY(get_string(*t, "sightings_collection", "hub.", cfg.hub.sightings_collection));
    AEGIS_TRY(get_string(*t, "indicators_collection", "hub.", cfg.hub.indicators_collection));
    AEGIS_TRY(get_bool(*t, "anonymise_sightings", "hub.", cfg.hub.anonymise_sightings));
    AEGIS_TRY(get_bool(*t, "detect", "hub.", cfg.hub.detect));
    const bool root_ok = !cfg.hub.api_root.empty() &&
                         cfg.hub.api_root.find_first_not_of(
                             "abcdefghijklmnopqrstuvwxyz0123456789-_") == std::string::npos;
    if (!root_ok) {
      return std::unexpected(ConfigError(name, t->source(), "hub.api_root",
                                         "must be lower-case letters, digits, '-' or '_'"));
    }
  }
  if (const toml::table* t = root["store"].as_table()) {
    AEGIS_TRY(CheckKeys(name, *t, "store.", {"url"}));
    AEGIS_TRY(get_string(*t, "url", "store.", cfg.store_url));
  }
  if (const toml::table* t = root["intel"].as_table()) {
    AEGIS_TRY(CheckKeys(name, *t, "intel.",
                        {"paths", "allow_private", "reload_interval", "default_tlp",
                         "default_confidence"}));
    if (const toml::node* n = t->get("paths")) {
      const toml::array* arr = n->as_array();
      if (arr == nullptr) return std::unexpected(ConfigError(name, n->source(), "intel.paths", "must be a list of paths"));
      for (const auto& item : *arr) {
        auto v = item.value<std::string>();
        if (!v) return std::unexpected(ConfigError(name, item.source(), "intel.paths", "must be a list of strings"));
        cfg.intel_paths.push_back(*v);
      }
    }
    AEGIS_TRY(get_bool(*t, "allow_private", "intel.", cfg.intel_allow_private));
    AEGIS_TRY(get_duration(*t, "reload_interval", "intel.", cfg.intel_reload_interval_ns));
    std::string tlp;
    AEGIS_TRY(get_string(*t, "default_tlp", "intel.", tlp));
    if (!tlp.empty()) {
      auto parsed_tlp = ParseTlp(tlp);
      if (!parsed_tlp) return std::unexpected(ConfigError(name, t->get("default_tlp")->source(), "intel.default_tlp", "not a TLP level (clear, green, amber, amber+strict, red)"));
      cfg.intel_default_tlp = *parsed_tlp;
    }
    if (const toml::node* n = t->get("default_confidence")) {
      auto v = n->value<int64_t>();
      if (!v || *v < 0 || *v > 100) return std::unexpected(ConfigError(name, n->source(), "intel.default_confidence", "must be a number from 0 to 100"));
      cfg.intel_default_confidence = static_cast<int>(*v);
    }
  }
  auto get_strings = [&](const toml::table& t, std::string_view key, const std::string& prefix,
                         std::vector<std::string>& out) -> std::optional<Error> {
    if (const toml::node* n = t.get(key)) {
      const toml::array* arr = n->as_array();
      if (arr == nullptr) return ConfigError(name, n->source(), prefix + std::string(key), "must be a list of strings");
      for (const auto& item : *arr) {
        auto v = item.value<std::string>();
        if (!v) return ConfigError(name, item.source(), prefix + std::string(key), "must be a list of strings");
        out.push_back(*v);
      }
    }
    return std::nullopt;
  };
  if (const toml::table* t = root["sigma"].as_table()) {
    AEGIS_TRY(CheckKeys(name, *t, "sigma.",
                        {"paths", "min_level", "statuses", "tags", "logsources", "placeholders",
                         "reload_interval", "correlation_max_groups"}));
    AEGIS_TRY(get_strings(*t, "paths", "sigma.", cfg.sigma.paths));
    AEGIS_TRY(get_string(*t, "min_level", "sigma.", cfg.sigma.min_level));
    if (!ParseSeverity(cfg.sigma.min_level)) {
      return std::unexpected(ConfigError(name, t->get("min_level")->source(), "sigma.min_level",
                                         "must be informational, low, medium, high or critical"));
    }
    AEGIS_TRY(get_strings(*t, "statuses", "sigma.", cfg.sigma.statuses));
    AEGIS_TRY(get_strings(*t, "tags", "sigma.", cfg.sigma.tags));
    AEGIS_TRY(get_string(*t, "logsources", "sigma.", cfg.sigma.logsources));
    AEGIS_TRY(get_duration(*t, "reload_interval", "sigma.", cfg.sigma.reload_interval_ns));
    if (const toml::node* n = t->get("correlation_max_groups")) {
      auto v = n->value<int64_t>();
      if (!v || *v < 1) return std::unexpected(ConfigError(name, n->source(), "sigma.correlation_max_groups", "must be a positive number"));
      cfg.sigma.correlation_max_groups = *v;
    }
    if (const toml::node* n = t->get("placeholders")) {
      const toml::table* p = n->as_table();
      if (p == nullptr) return std::unexpected(ConfigError(name, n->source(), "sigma.placeholders", "must be a table: name = [\"value\", ...]"));
      for (const auto& [key, value] : *p) {
        std::vector<std::string> values;
        AEGIS_TRY(get_strings(*p, key.str(), "sigma.placeholders.", values));
        cfg.sigma.placeholders[std::string(key.str())] = std::move(values);
      }
    }
  }
  if (const toml::table* t = root["alerts"].as_table()) {
    AEGIS_TRY(CheckKeys(name, *t, "alerts.", {"jsonl", "dedup_window", "include_event", "console"}));
    AEGIS_TRY(get_string(*t, "jsonl", "alerts.", cfg.alerts_jsonl));
    AEGIS_TRY(get_duration(*t, "dedup_window", "alerts.", cfg.dedup_window_ns));
    AEGIS_TRY(get_bool(*t, "include_event", "alerts.", cfg.include_event));
    AEGIS_TRY(get_bool(*t, "console", "alerts.", cfg.console));
  }
  if (const toml::table* t = root["dead_letter"].as_table()) {
    AEGIS_TRY(CheckKeys(name, *t, "dead_letter.", {"path"}));
    AEGIS_TRY(get_string(*t, "path", "dead_letter.", cfg.dead_letter_path));
  }
  if (const toml::table* t = root["log"].as_table()) {
    AEGIS_TRY(CheckKeys(name, *t, "log.", {"level"}));
    AEGIS_TRY(get_string(*t, "level", "log.", cfg.log_level));
  }
  if (const toml::node* n = root.get("input")) {
    const toml::array* arr = n->as_array();
    if (arr == nullptr) return std::unexpected(ConfigError(name, n->source(), "input", "use [[input]] tables"));
    for (const auto& item : *arr) {
      const toml::table* t = item.as_table();
      if (t == nullptr) return std::unexpected(ConfigError(name, item.source(), "input", "use [[input]] tables"));
      InputConfig in;
      AEGIS_TRY(CheckKeys(name, *t, "input.", {"type", "path", "format", "follow", "udp", "tcp"}));
      AEGIS_TRY(get_string(*t, "type", "input.", in.type));
      AEGIS_TRY(get_string(*t, "path", "input.", in.path));
      AEGIS_TRY(get_bool(*t, "follow", "input.", in.follow));
      AEGIS_TRY(get_string(*t, "udp", "input.", in.udp));
      AEGIS_TRY(get_string(*t, "tcp", "input.", in.tcp));
      std::string format;
      AEGIS_TRY(get_string(*t, "format", "input.", format));
      if (!format.empty()) {
        auto f = ParseFormatName(format);
        if (!f) return std::unexpected(ConfigError(name, t->get("format")->source(), "input.format", "unknown format '" + format + "'"));
        in.format = *f;
      }
      if (in.type == "file") {
        if (in.path.empty()) return std::unexpected(ConfigError(name, item.source(), "input.path", "a file input needs a path"));
      } else if (in.type == "syslog") {
        if (in.udp.empty() && in.tcp.empty()) return std::unexpected(ConfigError(name, item.source(), "input.udp", "a syslog input needs udp and/or tcp addresses"));
      } else if (in.type != "stdin") {
        return std::unexpected(ConfigError(name, item.source(), "input.type", "must be file, stdin or syslog"));
      }
      cfg.inputs.push_back(std::move(in));
    }
  }
#undef AEGIS_TRY
  return cfg;
}

}  // namespace aegis::pipeline
