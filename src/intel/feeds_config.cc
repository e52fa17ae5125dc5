// [[feeds]] tables of the TOML configuration: see intel/feeds.h and docs/FEEDS.md.
// Debian's toml++ library is built with exceptions; Aegis parses without them, so the
// parser is compiled inline (header-only mode), as in pipeline/config.cc.
#undef TOML_HEADER_ONLY
#undef TOML_SHARED_LIB
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>

#include <charconv>
#include <cmath>
#include <set>

#include "core/strings.h"
#include "intel/feeds.h"

namespace aegis::intel {
namespace {

Error FeedError(std::string_view where, const toml::source_region& region, std::string field,
                std::string reason) {
  Error e;
  e.where.assign(where);
  e.line = region.begin.line;
  e.field = std::move(field);
  e.reason = std::move(reason);
  return e;
}

// "500ms", "30s", "10m", "2h", "1d", or a bare number of seconds.
std::optional<std::chrono::milliseconds> ParseInterval(std::string_view text) {
  text = Trim(text);
  size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
  if (i == 0) return std::nullopt;
  double number = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + i, number);
  if (ec != std::errc() || ptr != text.data() + i) return std::nullopt;
  std::string_view unit = text.substr(i);
  double ms_per_unit = 0;
  if (unit.empty() || unit == "s")
    ms_per_unit = 1e3;
  else if (unit == "ms")
    ms_per_unit = 1;
  else if (unit == "m")
    ms_per_unit = 60e3;
  else if (unit == "h")
    ms_per_unit = 3600e3;
  else if (unit == "d")
    ms_per_unit = 86400e3;
  else
    return std::nullopt;
  double ms = number * ms_per_unit;
  if (!std::isfinite(ms) || ms < 0 || ms > 1e15) return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<void> ParseCsvTable(std::string_view where, const toml::table& table,
                           const std::string& prefix, CsvMapping& csv) {
  static const std::set<std::string_view> kKeys = {
      "value_column",       "type_column",       "confidence_column",
      "tags_column",        "first_seen_column", "last_seen_column",
      "valid_until_column", "delimiter",         "has_header"};
  for (const auto& [key, node] : table) {
    std::string field = prefix + std::string(key.str());
    if (!kKeys.contains(key.str())) {
      return std::unexpected(
          FeedError(where, node.source(), field, "unknown setting (see docs/FEEDS.md)"));
    }
    if (key.str() == "has_header") {
      auto value = node.value<bool>();
      if (!value)
        return std::unexpected(FeedError(where, node.source(), field, "must be true or false"));
      csv.has_header = *value;
      continue;
    }
    std::optional<std::string> text = node.value<std::string>();
    if (!text) {
      if (auto number = node.value<int64_t>()) text = std::to_string(*number);  // a column index
    }
    if (!text) return std::unexpected(FeedError(where, node.source(), field, "must be a string"));
    if (key.str() == "delimiter") {
      std::string d = *text == "\\t" || *text == "tab" ? std::string("\t") : *text;
      if (d.size() != 1) {
        return std::unexpected(
            FeedError(where, node.source(), field, "must be one character (or \"tab\")"));
      }
      csv.delimiter = d[0];
    } else if (key.str() == "value_column") {
      csv.value_column = *text;
    } else if (key.str() == "type_column") {
      csv.type_column = *text;
    } else if (key.str() == "confidence_column") {
      csv.confidence_column = *text;
    } else if (key.str() == "tags_column") {
      csv.tags_column = *text;
    } else if (key.str() == "first_seen_column") {
      csv.first_seen_column = *text;
    } else if (key.str() == "last_seen_column") {
      csv.last_seen_column = *text;
    } else if (key.str() == "valid_until_column") {
      csv.valid_until_column = *text;
    }
  }
  return {};
}

Result<FeedConfig> ParseFeedTable(std::string_view where, const toml::table& table, size_t index) {
  static const std::set<std::string_view> kKeys = {"name",
                                                   "url",
                                                   "format",
                                                   "interval",
                                                   "collection",
                                                   "producer_org",
                                                   "producer_identity",
                                                   "default_tlp",
                                                   "confidence",
                                                   "labels",
                                                   "csv",
                                                   "allow_private",
                                                   "misp_only_to_ids",
                                                   "enabled",
                                                   "headers"};
  const std::string prefix = "feeds[" + std::to_string(index) + "].";
  FeedConfig feed;
  auto fail = [&](const toml::node& node, std::string_view key, std::string reason) {
    return std::unexpected(
        FeedError(where, node.source(), prefix + std::string(key), std::move(reason)));
  };
  auto text = [&](const toml::node& node, std::string_view key, std::string& out) -> Result<void> {
    auto value = node.value<std::string>();
    if (!value) return fail(node, key, "must be a string");
    out = *value;
    return {};
  };
  auto flag = [&](const toml::node& node, std::string_view key, bool& out) -> Result<void> {
    auto value = node.value<bool>();
    if (!value) return fail(node, key, "must be true or false");
    out = *value;
    return {};
  };
  for (const auto& [key_node, node] : table) {
    std::string_view key = key_node.str();
    if (!kKeys.contains(key)) return fail(node, key, "unknown setting (see docs/FEEDS.md)");
    Result<void> ok;
    if (key == "name") {
      ok = text(node, key, feed.name);
    } else if (key == "url") {
      ok = text(node, key, feed.url);
    } else if (key == "collection") {
      ok = text(node, key, feed.collection);
    } else if (key == "producer_org") {
      ok = text(node, key, feed.producer_org);
    } else if (key == "producer_identity") {
      ok = text(node, key, feed.producer_identity);
    } else if (key == "format") {
      std::string name;
      ok = text(node, key, name);
      if (ok) {
        auto format = ParseFeedFormat(name);
        if (!format || *format == FeedFormat::kMaltrail) {
          return fail(node, key,
                      "unknown format '" + name + "' (misp, csv, plain, hosts, stix, auto)");
        }
        feed.format = *format;
      }
    } else if (key == "interval") {
      std::optional<std::chrono::milliseconds> interval;
      if (auto s = node.value<std::string>())
        interval = ParseInterval(*s);
      else if (auto n = node.value<int64_t>(); n && *n > 0)
        interval = std::chrono::seconds(*n);
      if (!interval) return fail(node, key, "must be a duration such as \"15m\", \"1h\" or \"1d\"");
      feed.interval = *interval;
    } else if (key == "default_tlp") {
      std::string name;
      ok = text(node, key, name);
      if (ok) {
        auto tlp = ParseTlp(name);
        if (!tlp)
          return fail(node, key,
                      "unknown TLP '" + name + "' (clear, green, amber, amber+strict, red)");
        feed.default_tlp = *tlp;
      }
    } else if (key == "confidence") {
      auto value = node.value<int64_t>();
      if (!value || *value < 0 || *value > 100)
        return fail(node, key, "must be a whole number from 0 to 100");
      feed.confidence = static_cast<int>(*value);
    } else if (key == "labels") {
      const toml::array* labels = node.as_array();
      if (labels == nullptr) return fail(node, key, "must be an array of strings");
      for (const toml::node& label : *labels) {
        auto value = label.value<std::string>();
        if (!value) return fail(label, key, "must be an array of strings");
        feed.labels.push_back(*value);
      }
    } else if (key == "headers") {
      const toml::table* headers = node.as_table();
      if (headers == nullptr) return fail(node, key, "must be a table of header = \"value\"");
      for (const auto& [name, value] : *headers) {
        auto v = value.value<std::string>();
        if (!v)
          return fail(value, std::string(key) + "." + std::string(name.str()), "must be a string");
        feed.headers.emplace_back(std::string(name.str()), *v);
      }
    } else if (key == "csv") {
      const toml::table* csv = node.as_table();
      if (csv == nullptr) return fail(node, key, "must be a table");
      ok = ParseCsvTable(where, *csv, prefix + "csv.", feed.csv);
    } else if (key == "allow_private") {
      ok = flag(node, key, feed.allow_private);
    } else if (key == "misp_only_to_ids") {
      ok = flag(node, key, feed.misp_only_to_ids);
    } else if (key == "enabled") {
      ok = flag(node, key, feed.enabled);
    }
    if (!ok) return std::unexpected(ok.error());
  }
  if (auto valid = ValidateFeedConfig(feed); !valid) {
    Error e = valid.error();
    e.where.assign(where);
    e.line = table.source().begin.line;
    e.field = prefix + e.field;
    return std::unexpected(e);
  }
  return feed;
}

}  // namespace

Result<void> ValidateFeedConfig(const FeedConfig& feed) {
  if (!ValidName(feed.name)) {
    return Fail("a feed needs a name of 1-128 letters, digits, '.', '_' or '-'", "name");
  }
  if (feed.url.empty())
    return Fail("a feed needs a url (http://, https://, file:// or a path)", "url");
  if (auto scheme = feed.url.find("://"); scheme != std::string::npos) {
    std::string s = AsciiLower(std::string_view(feed.url).substr(0, scheme));
    if (s != "http" && s != "https" && s != "file") {
      return Fail("unsupported url scheme '" + s + "' (http, https, file)", "url");
    }
  }
  if (feed.format == FeedFormat::kMaltrail)
    return Fail("use format \"plain\" for maltrail lists", "format");
  if (feed.interval <= std::chrono::milliseconds(0)) return Fail("must be positive", "interval");
  if (feed.confidence < 0 || feed.confidence > 100)
    return Fail("must be from 0 to 100", "confidence");
  if (feed.collection.empty()) return Fail("a feed needs a collection (id or alias)", "collection");
  if (!feed.producer_identity.empty() && !feed.producer_identity.starts_with("identity--")) {
    return Fail("must be a STIX identity id (identity--<uuid>)", "producer_identity");
  }
  return {};
}

Result<std::vector<FeedConfig>> ParseFeedsToml(std::string_view toml_text, std::string_view where) {
  toml::parse_result parsed = toml::parse(toml_text, std::string(where));
  if (!parsed) {
    Error e;
    e.where.assign(where);
    e.line = parsed.error().source().begin.line;
    e.reason = std::string(parsed.error().description());
    return std::unexpected(e);
  }
  const toml::table& root = parsed.table();
  std::vector<FeedConfig> feeds;
  const toml::node* node = root.get("feeds");
  if (node == nullptr) return feeds;
  const toml::array* tables = node->as_array();
  if (tables == nullptr) {
    return std::unexpected(FeedError(where, node->source(), "feeds", "must be [[feeds]] tables"));
  }
  std::set<std::string> names;
  for (size_t i = 0; i < tables->size(); ++i) {
    const toml::table* table = (*tables)[i].as_table();
    if (table == nullptr) {
      return std::unexpected(
          FeedError(where, (*tables)[i].source(), "feeds", "must be [[feeds]] tables"));
    }
    auto feed = ParseFeedTable(where, *table, i);
    if (!feed) return std::unexpected(feed.error());
    if (!names.insert(feed->name).second) {
      return std::unexpected(FeedError(where, table->source(),
                                       "feeds[" + std::to_string(i) + "].name",
                                       "duplicate feed name '" + feed->name + "'"));
    }
    feeds.push_back(std::move(*feed));
  }
  return feeds;
}

}  // namespace aegis::intel
