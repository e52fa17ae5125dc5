// Export of stored indicators: STIX bundle, CSV and MISP feed folder. See intel/feeds.h.
#include <openssl/evp.h>
#include <simdjson.h>

#include <chrono>
#include <fstream>
#include <set>
#include <unordered_set>

#include "core/event.h"
#include "core/strings.h"
#include "intel/feeds.h"
#include "intel/loaders.h"

namespace aegis::intel {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kExportNamespace = "8e1d5b0a-6c3f-4f2e-b7a9-2d4c6e8f0a13";

// One indicator value from a stored indicator's pattern.
struct ExportRow {
  IndicatorType type;
  std::string value;
  std::string first_seen;  // valid_from (RFC 3339)
  Tlp tlp;
  int confidence;
  std::string source;
  std::string description;
  std::string object_id;
  int64_t modified_ns;
};

struct Visit {
  uint64_t indicators = 0;
  uint64_t skipped = 0;
};

Result<std::vector<std::string>> ResolveCollections(StixStore& store,
                                                    const ExportOptions& options) {
  std::vector<std::string> ids;
  if (options.collections.empty()) {
    auto all = store.ListCollections();
    if (!all) return std::unexpected(all.error());
    for (const Collection& c : *all) ids.push_back(c.id);
    return ids;
  }
  for (const std::string& name : options.collections) {
    auto found = store.GetCollection(name);
    if (!found) return std::unexpected(found.error());
    if (!*found) return Fail("no such collection '" + name + "'", "collection");
    ids.push_back((*found)->id);
  }
  return ids;
}

// Calls on_object for the latest visible version of every indicator, once per id.
template <typename OnObject>
Result<void> ForEachIndicator(StixStore& store, const ExportOptions& options,
                              OnObject&& on_object) {
  auto collections = ResolveCollections(store, options);
  if (!collections) return std::unexpected(collections.error());
  std::unordered_set<std::string> seen;
  for (const std::string& collection : *collections) {
    ObjectQuery query;
    query.collection_id = collection;
    query.types = {"indicator"};
    query.versions = VersionMatch::kLast;
    query.limit = 1000;
    query.visible = options.visible;
    while (true) {
      auto page = store.Query(query);
      if (!page) return std::unexpected(page.error());
      for (const StoredObject& object : page->objects) {
        if (!seen.insert(object.meta.id).second) continue;
        if (auto done = on_object(object); !done) return done;
      }
      if (!page->more || !page->next) break;
      query.after = page->next;
    }
  }
  return {};
}

// The rows of one stored indicator (one per supported pattern comparison).
std::vector<ExportRow> RowsOf(const StoredObject& object, simdjson::dom::parser& parser) {
  std::vector<ExportRow> rows;
  simdjson::dom::element root;
  if (parser.parse(object.json).get(root)) return rows;
  auto text = [&](const char* key) -> std::string_view {
    std::string_view value;
    if (root[key].get_string().get(value) != simdjson::SUCCESS) return {};
    return value;
  };
  std::string_view pattern = text("pattern"), pattern_type = text("pattern_type");
  std::string_view valid_from = text("valid_from"), source = text("x_aegis_source");
  std::string_view created_by = text("created_by_ref"), description = text("description");
  int64_t confidence = -1;
  if (root["confidence"].get_int64().get(confidence) != simdjson::SUCCESS) confidence = -1;
  if (pattern_type.empty()) pattern_type = "stix";
  if (pattern_type != "stix" || pattern.empty()) return rows;
  auto comparisons = internal::ParseStixPattern(pattern);
  if (!comparisons) return rows;
  for (const auto& comparison : *comparisons) {
    std::optional<IndicatorType> type = internal::StixPathType(comparison.path);
    if (!type) continue;
    // Re-vet: normalises and tells an address from a range.
    auto vetted = VetValue(comparison.value, type, /*allow_private=*/true);
    if (!vetted) continue;
    ExportRow row{vetted->type,
                  vetted->value,
                  std::string(valid_from),
                  object.meta.tlp,
                  static_cast<int>(confidence),
                  std::string(!source.empty()       ? source
                              : !created_by.empty() ? created_by
                                                    : std::string_view(object.meta.producer_org)),
                  std::string(description),
                  object.meta.id,
                  object.meta.version_us * 1000};
    rows.push_back(std::move(row));
  }
  return rows;
}

void AppendCsvField(std::string& out, std::string_view field) {
  bool quote = field.find_first_of(",\"\r\n") != std::string_view::npos;
  if (!quote) {
    out.append(field);
    return;
  }
  out.push_back('"');
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

std::string MispTlpTag(Tlp tlp) { return AsciiLower(TlpName(tlp)); }

std::string_view MispType(IndicatorType type) {
  switch (type) {
    case IndicatorType::kIpv4:
    case IndicatorType::kIpv6:
    case IndicatorType::kCidr:
      return "ip-dst";
    case IndicatorType::kDomain:
      return "domain";
    case IndicatorType::kUrl:
      return "url";
    case IndicatorType::kMd5:
      return "md5";
    case IndicatorType::kSha1:
      return "sha1";
    case IndicatorType::kSha256:
      return "sha256";
    case IndicatorType::kEmail:
      return "email";
  }
  return "text";
}

std::string_view MispCategory(IndicatorType type) {
  switch (type) {
    case IndicatorType::kMd5:
    case IndicatorType::kSha1:
    case IndicatorType::kSha256:
    case IndicatorType::kEmail:
      return "Payload delivery";
    default:
      return "Network activity";
  }
}

std::string Md5Hex(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out, &n, EVP_md5(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < n; ++i) {
    hex.push_back(kHex[out[i] >> 4]);
    hex.push_back(kHex[out[i] & 15]);
  }
  return hex;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<ExportReport> ExportStixBundle(StixStore& store, const ExportOptions& options,
                                      std::ostream& out) {
  ExportReport report;
  out << "{\"type\":\"bundle\",\"id\":\"bundle--" << UuidV4() << "\",\"objects\":[";
  auto done = ForEachIndicator(store, options, [&](const StoredObject& object) -> Result<void> {
    if (report.indicators) out << ",\n";
    out << object.json;
    ++report.indicators;
    ++report.rows;
    return {};
  });
  if (!done) return std::unexpected(done.error());
  out << "]}\n";
  if (!out) return Fail("cannot write the bundle", "out");
  return report;
}

Result<ExportReport> ExportCsv(StixStore& store, const ExportOptions& options, std::ostream& out) {
  ExportReport report;
  simdjson::dom::parser parser;
  out << "type,value,first_seen,tlp,confidence,source\n";
  std::string line;
  auto done = ForEachIndicator(store, options, [&](const StoredObject& object) -> Result<void> {
    ++report.indicators;
    std::vector<ExportRow> rows = RowsOf(object, parser);
    if (rows.empty()) ++report.skipped;
    for (const ExportRow& row : rows) {
      line.clear();
      line.append(IndicatorTypeName(row.type));
      line.push_back(',');
      AppendCsvField(line, row.value);
      line.push_back(',');
      AppendCsvField(line, row.first_seen);
      line.push_back(',');
      line.append(TlpName(row.tlp));
      line.push_back(',');
      if (row.confidence >= 0) line.append(std::to_string(row.confidence));
      line.push_back(',');
      AppendCsvField(line, row.source);
      line.push_back('\n');
      out << line;
      ++report.rows;
    }
    return {};
  });
  if (!done) return std::unexpected(done.error());
  if (!out) return Fail("cannot write the CSV", "out");
  return report;
}

Result<ExportReport> ExportMispFeed(StixStore& store, const ExportOptions& options,
                                    const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Fail("cannot create " + dir.string() + ": " + ec.message(), "out");
  ExportReport report;
  report.event_uuid = UuidV4();
  const int64_t now = NowNs();
  const std::string timestamp = std::to_string(now / 1'000'000'000);
  const std::string date = FormatTime(now).substr(0, 10);
  const std::string org_uuid = UuidV5(kExportNamespace, "org\n" + options.org_name);

  simdjson::dom::parser parser;
  std::string attributes;
  std::string hashes;
  std::optional<Tlp> strictest;
  auto done = ForEachIndicator(store, options, [&](const StoredObject& object) -> Result<void> {
    ++report.indicators;
    std::vector<ExportRow> rows = RowsOf(object, parser);
    if (rows.empty()) ++report.skipped;
    for (const ExportRow& row : rows) {
      std::string uuid =
          UuidV5(kExportNamespace, report.event_uuid + "\n" + row.object_id + "\n" + row.value);
      if (!attributes.empty()) attributes += ",\n";
      attributes += "{\"uuid\":\"" + uuid + "\",\"type\":\"" + std::string(MispType(row.type)) +
                    "\",\"category\":\"" + std::string(MispCategory(row.type)) + "\",\"value\":";
      AppendJsonString(attributes, row.value);
      attributes += ",\"to_ids\":true,\"deleted\":false,\"timestamp\":\"" +
                    std::to_string((row.modified_ns > 0 ? row.modified_ns : now) / 1'000'000'000) +
                    "\"";
      if (!row.first_seen.empty()) {
        attributes += ",\"first_seen\":";
        AppendJsonString(attributes, row.first_seen);
      }
      attributes += ",\"comment\":";
      AppendJsonString(attributes, row.description.empty() ? row.source : row.description);
      attributes += ",\"Tag\":[{\"name\":\"" + MispTlpTag(row.tlp) + "\"}]}";
      hashes += Md5Hex(row.value) + "," + report.event_uuid + "\n";
      strictest = std::max(strictest.value_or(row.tlp), row.tlp);
      ++report.rows;
    }
    return {};
  });
  if (!done) return std::unexpected(done.error());

  std::string tags = strictest ? "[{\"name\":\"" + MispTlpTag(*strictest) + "\"}]" : "[]";
  std::string orgc = "{\"name\":";
  AppendJsonString(orgc, options.org_name);
  orgc += ",\"uuid\":\"" + org_uuid + "\"}";
  std::string info;
  AppendJsonString(info, options.info);

  std::string event =
      "{\"Event\":{\"uuid\":\"" + report.event_uuid + "\",\"info\":" + info + ",\"date\":\"" +
      date + "\",\"timestamp\":\"" + timestamp + "\",\"publish_timestamp\":\"" + timestamp +
      "\",\"published\":true,\"analysis\":\"2\",\"threat_level_id\":\"2\",\"Orgc\":" + orgc +
      ",\"Tag\":" + tags + ",\"Attribute\":[\n" + attributes + "\n]}}\n";
  {
    std::ofstream file(dir / (report.event_uuid + ".json"), std::ios::binary | std::ios::trunc);
    file << event;
    if (!file) return Fail("cannot write " + (dir / (report.event_uuid + ".json")).string(), "out");
  }

  // manifest.json: earlier entries kept, this event added.
  std::string manifest = "{";
  fs::path manifest_path = dir / "manifest.json";
  if (fs::exists(manifest_path, ec)) {
    std::string old, error;
    if (!internal::ReadWholeFile(manifest_path, old, error)) return Fail(error, "manifest.json");
    simdjson::dom::element root;
    simdjson::dom::object entries;
    if (parser.parse(old).get(root) || root.get_object().get(entries)) {
      return Fail("existing " + manifest_path.string() + " is not a MISP manifest", "out");
    }
    for (auto [key, value] : entries) {
      if (manifest.size() > 1) manifest += ",\n";
      AppendJsonString(manifest, key);
      manifest += ":" + simdjson::minify(value);
    }
  }
  if (manifest.size() > 1) manifest += ",\n";
  manifest += "\"" + report.event_uuid + "\":{\"info\":" + info + ",\"Orgc\":" + orgc +
              ",\"analysis\":\"2\",\"threat_level_id\":\"2\",\"timestamp\":\"" + timestamp +
              "\",\"date\":\"" + date + "\",\"Tag\":" + tags + "}}\n";
  {
    std::ofstream file(manifest_path, std::ios::binary | std::ios::trunc);
    file << manifest;
    if (!file) return Fail("cannot write " + manifest_path.string(), "out");
  }
  {
    std::ofstream file(dir / "hashes.csv", std::ios::binary | std::ios::app);
    file << hashes;
    if (!file) return Fail("cannot write " + (dir / "hashes.csv").string(), "out");
  }
  return report;
}

}  // namespace aegis::intel
