// Feed import: fetch (conditional), parse with the intel loaders, convert to STIX 2.1
// indicators with deterministic ids, add to the STIX store. See intel/feeds.h.
#include "auth/secret_crypto.h"
#include "intel/feeds.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <simdjson.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "core/event.h"
#include "core/strings.h"
#include "intel/loaders.h"
#include "net/http_client.h"
#include "store/sqlite.h"

namespace aegis::intel {
namespace fs = std::filesystem;
namespace sql = store::sqlite;

namespace {

// The namespace of every feed indicator id (a fixed random UUID chosen for Aegis).
constexpr std::string_view kFeedNamespace = "3f0c7a52-8d4e-4b7a-9a51-6f2c1e9d0b47";
constexpr size_t kBatch = 2000;

constexpr sql::Migration kMigrations[] = {{1, "feed state, MISP event timestamps, object versions",
                                           R"sql(
CREATE TABLE feed_state(
  name TEXT PRIMARY KEY,
  etag TEXT NOT NULL DEFAULT '',
  last_modified TEXT NOT NULL DEFAULT '',
  content_sha256 TEXT NOT NULL DEFAULT '',
  last_run_ns INTEGER NOT NULL DEFAULT 0,
  last_status TEXT NOT NULL DEFAULT '',
  runs INTEGER NOT NULL DEFAULT 0,
  imported INTEGER NOT NULL DEFAULT 0,
  duplicates INTEGER NOT NULL DEFAULT 0,
  rejected INTEGER NOT NULL DEFAULT 0,
  errors INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '');
CREATE TABLE feed_misp_events(
  feed TEXT NOT NULL, uuid TEXT NOT NULL, timestamp TEXT NOT NULL,
  PRIMARY KEY(feed, uuid)) WITHOUT ROWID;
CREATE TABLE feed_objects(
  feed TEXT NOT NULL, id TEXT NOT NULL, digest TEXT NOT NULL,
  created_ns INTEGER NOT NULL, modified_ns INTEGER NOT NULL,
  PRIMARY KEY(feed, id)) WITHOUT ROWID;
)sql"}};

std::string HexBytes(const unsigned char* data, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 15]);
  }
  return out;
}

std::string Digest(const EVP_MD* md, std::string_view a, std::string_view b = {}) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, md, nullptr);
  EVP_DigestUpdate(ctx, a.data(), a.size());
  if (!b.empty()) EVP_DigestUpdate(ctx, b.data(), b.size());
  EVP_DigestFinal_ex(ctx, out, &n);
  EVP_MD_CTX_free(ctx);
  return std::string(reinterpret_cast<char*>(out), n);
}

std::string Sha256Hex(std::string_view data) {
  std::string d = Digest(EVP_sha256(), data);
  return HexBytes(reinterpret_cast<const unsigned char*>(d.data()), d.size());
}

std::string FormatUuid(const unsigned char* b) {
  std::string hex = HexBytes(b, 16);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

bool IsLocalPath(std::string_view url) { return url.find("://") == std::string_view::npos; }

std::string_view MarkingFor(Tlp tlp) {
  for (const StixTlpMarking& m : StixTlpMarkings()) {
    if (m.tlp == tlp && m.source.find("2.0") != std::string_view::npos) return m.id;
  }
  return {};
}

// Formats a time for STIX: RFC 3339 UTC with millisecond precision.
std::string StixTime(int64_t ns) {
  ns -= ((ns % 1'000'000) + 1'000'000) % 1'000'000;
  std::string t = FormatTime(ns);                                 // ...ss.uuuuuuZ
  if (t.size() > 4 && t.back() == 'Z') t.erase(t.size() - 4, 3);  // keep milliseconds
  return t;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Collects what the loaders accept, de-duplicated by (type, value): the last wins.
class CollectingSink : public detect::IndicatorSink {
 public:
  struct Item {
    IndicatorType type;
    std::string value;
    detect::MetaId meta;
  };
  detect::MetaId AddMeta(const IndicatorMeta& meta) override {
    metas_.push_back(meta);
    return static_cast<detect::MetaId>(metas_.size() - 1);
  }
  void Add(IndicatorType type, std::string_view value, detect::MetaId meta) override {
    std::string key;
    key.push_back(static_cast<char>(type));
    key.append(value);
    auto [it, inserted] = positions_.try_emplace(std::move(key), items_.size());
    if (inserted) {
      items_.push_back({type, std::string(value), meta});
    } else {
      items_[it->second].meta = meta;
    }
  }
  const std::vector<Item>& items() const { return items_; }
  const IndicatorMeta& meta(detect::MetaId id) const { return metas_[id]; }
  void Clear() {
    items_.clear();
    metas_.clear();
    positions_.clear();
  }

 private:
  std::vector<IndicatorMeta> metas_;
  std::vector<Item> items_;
  std::unordered_map<std::string, size_t> positions_;
};

struct Fetched {
  bool not_modified = false;
  std::string body;
  std::string etag;
  std::string last_modified;
};

net::ClientOptions FeedClientOptions() {
  net::ClientOptions options;
  options.timeout = std::chrono::minutes(5);
  options.user_agent = "aegis-feeds";
  return options;
}

struct Validators {
  std::string etag;
  std::string last_modified;
};

void AppendPatternString(std::string& out, std::string_view value) {
  out.push_back('\'');
  for (char c : value) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
}

}  // namespace

std::string UuidV5(std::string_view namespace_uuid, std::string_view name) {
  // One implementation for the whole code base (auth/secret_crypto.h); a malformed
  // namespace falls back to the nil UUID, as the callers' fixed namespaces never are.
  auto id = auth::crypto::UuidV5(namespace_uuid, name);
  if (id) return *id;
  return auth::crypto::UuidV5("00000000-0000-0000-0000-000000000000", name).value_or("");
}

std::string UuidV4() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) {
    // The CSPRNG failing is near impossible; fall back to the clock and a counter.
    static std::atomic<uint64_t> counter{0};
    uint64_t t = static_cast<uint64_t>(NowNs()), c = counter++;
    std::memcpy(b, &t, 8);
    std::memcpy(b + 8, &c, 8);
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  return FormatUuid(b);
}

std::string FeedIndicatorId(std::string_view feed_name, IndicatorType type,
                            std::string_view value) {
  std::string name(feed_name);
  name.push_back('\n');
  name.append(IndicatorTypeName(type));
  name.push_back('\n');
  name.append(value);
  return "indicator--" + UuidV5(kFeedNamespace, name);
}

std::string StixPatternFor(IndicatorType type, std::string_view value) {
  std::string out = "[";
  switch (type) {
    case IndicatorType::kIpv4:
      out += "ipv4-addr:value = ";
      break;
    case IndicatorType::kIpv6:
      out += "ipv6-addr:value = ";
      break;
    case IndicatorType::kCidr:
      out +=
          value.find(':') != std::string_view::npos ? "ipv6-addr:value = " : "ipv4-addr:value = ";
      break;
    case IndicatorType::kDomain:
      out += "domain-name:value = ";
      break;
    case IndicatorType::kUrl:
      out += "url:value = ";
      break;
    case IndicatorType::kMd5:
      out += "file:hashes.MD5 = ";
      break;
    case IndicatorType::kSha1:
      out += "file:hashes.'SHA-1' = ";
      break;
    case IndicatorType::kSha256:
      out += "file:hashes.'SHA-256' = ";
      break;
    case IndicatorType::kEmail:
      out += "email-addr:value = ";
      break;
  }
  AppendPatternString(out, value);
  out.push_back(']');
  return out;
}

std::string FeedRunReportJson(const FeedRunReport& r) {
  std::string out = "{\"feed\":";
  AppendJsonString(out, r.feed);
  out += ",\"status\":";
  AppendJsonString(out, r.status);
  out += ",\"started\":";
  AppendJsonString(out, r.started_ns ? FormatTime(r.started_ns) : "");
  out += ",\"finished\":";
  AppendJsonString(out, r.finished_ns ? FormatTime(r.finished_ns) : "");
  out += ",\"not_modified\":" + std::string(r.not_modified ? "true" : "false");
  out += ",\"documents\":" + std::to_string(r.documents);
  out += ",\"indicators\":" + std::to_string(r.indicators);
  out += ",\"imported\":" + std::to_string(r.imported);
  out += ",\"duplicates\":" + std::to_string(r.duplicates);
  out += ",\"rejected\":" + std::to_string(r.rejected);
  out += ",\"not_loaded\":" + std::to_string(r.not_loaded);
  out += ",\"failed\":" + std::to_string(r.failed);
  out += ",\"rejects\":[";
  for (size_t i = 0; i < r.rejects.size(); ++i) {
    if (i) out.push_back(',');
    out += "{\"where\":";
    AppendJsonString(out, r.rejects[i].where);
    out += ",\"value\":";
    AppendJsonString(out, r.rejects[i].value);
    out += ",\"reason\":";
    AppendJsonString(out, r.rejects[i].reason);
    out.push_back('}');
  }
  out += "],\"errors\":[";
  for (size_t i = 0; i < r.errors.size(); ++i) {
    if (i) out.push_back(',');
    AppendJsonString(out, r.errors[i].ToString());
  }
  out += "]}";
  return out;
}

struct FeedImporter::Impl {
  std::string db_path;
  sql::Db db;
  StixStore* store = nullptr;
  net::HttpClient http{FeedClientOptions()};

  // ---- state -------------------------------------------------------------------
  Result<FeedState> LoadState(const std::string& name) {
    auto stmt =
        sql::Prepare(db.get(),
                     "SELECT etag,last_modified,content_sha256,last_run_ns,last_status,runs,"
                     "imported,duplicates,rejected,errors,last_error FROM feed_state WHERE name=?",
                     db_path);
    if (!stmt) return std::unexpected(stmt.error());
    FeedState state;
    state.name = name;
    sql::StatementUse use(stmt->get());
    use.Text(1, name);
    if (use.Step() == SQLITE_ROW) ReadState(stmt->get(), 0, state);
    return state;
  }

  static void ReadState(sqlite3_stmt* s, int c, FeedState& state) {
    state.etag = sql::ColumnText(s, c + 0);
    state.last_modified = sql::ColumnText(s, c + 1);
    state.content_sha256 = sql::ColumnText(s, c + 2);
    state.last_run_ns = sql::ColumnInt(s, c + 3);
    state.last_status = sql::ColumnText(s, c + 4);
    state.runs = static_cast<uint64_t>(sql::ColumnInt(s, c + 5));
    state.imported = static_cast<uint64_t>(sql::ColumnInt(s, c + 6));
    state.duplicates = static_cast<uint64_t>(sql::ColumnInt(s, c + 7));
    state.rejected = static_cast<uint64_t>(sql::ColumnInt(s, c + 8));
    state.errors = static_cast<uint64_t>(sql::ColumnInt(s, c + 9));
    state.last_error = sql::ColumnText(s, c + 10);
  }

  Result<void> SaveState(const FeedState& s) {
    auto stmt = sql::Prepare(
        db.get(),
        "INSERT INTO "
        "feed_state(name,etag,last_modified,content_sha256,last_run_ns,last_status,runs,"
        "imported,duplicates,rejected,errors,last_error) VALUES(?,?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT(name) DO UPDATE SET etag=excluded.etag,last_modified=excluded.last_modified,"
        "content_sha256=excluded.content_sha256,last_run_ns=excluded.last_run_ns,"
        "last_status=excluded.last_status,runs=excluded.runs,imported=excluded.imported,"
        "duplicates=excluded.duplicates,rejected=excluded.rejected,errors=excluded.errors,"
        "last_error=excluded.last_error",
        db_path);
    if (!stmt) return std::unexpected(stmt.error());
    sql::StatementUse use(stmt->get());
    use.Text(1, s.name);
    use.Text(2, s.etag);
    use.Text(3, s.last_modified);
    use.Text(4, s.content_sha256);
    use.Int(5, s.last_run_ns);
    use.Text(6, s.last_status);
    use.Int(7, static_cast<int64_t>(s.runs));
    use.Int(8, static_cast<int64_t>(s.imported));
    use.Int(9, static_cast<int64_t>(s.duplicates));
    use.Int(10, static_cast<int64_t>(s.rejected));
    use.Int(11, static_cast<int64_t>(s.errors));
    use.Text(12, s.last_error);
    if (use.Step() != SQLITE_DONE)
      return std::unexpected(sql::SqliteError(db.get(), "save feed state", db_path));
    return {};
  }

  std::optional<std::string> MispEventTimestamp(const std::string& feed, const std::string& uuid) {
    auto stmt = sql::Prepare(
        db.get(), "SELECT timestamp FROM feed_misp_events WHERE feed=? AND uuid=?", db_path);
    if (!stmt) return std::nullopt;
    sql::StatementUse use(stmt->get());
    use.Text(1, feed);
    use.Text(2, uuid);
    if (use.Step() == SQLITE_ROW) return std::string(sql::ColumnText(stmt->get(), 0));
    return std::nullopt;
  }

  Result<void> SaveMispEventTimestamp(const std::string& feed, const std::string& uuid,
                                      const std::string& timestamp) {
    auto stmt = sql::Prepare(db.get(),
                             "INSERT INTO feed_misp_events(feed,uuid,timestamp) VALUES(?,?,?) "
                             "ON CONFLICT(feed,uuid) DO UPDATE SET timestamp=excluded.timestamp",
                             db_path);
    if (!stmt) return std::unexpected(stmt.error());
    sql::StatementUse use(stmt->get());
    use.Text(1, feed);
    use.Text(2, uuid);
    use.Text(3, timestamp);
    if (use.Step() != SQLITE_DONE)
      return std::unexpected(sql::SqliteError(db.get(), "save MISP event", db_path));
    return {};
  }

  // ---- fetching ----------------------------------------------------------------
  Result<Fetched> Fetch(const FeedConfig& feed, const std::string& url,
                        const Validators& validators) {
    Fetched fetched;
    if (IsLocalPath(url)) {
      std::string error;
      if (!internal::ReadWholeFile(url, fetched.body, error)) {
        Error e;
        e.where = url;
        e.reason = error;
        return std::unexpected(e);
      }
      return fetched;
    }
    net::Headers headers(feed.headers.begin(), feed.headers.end());
    if (!validators.etag.empty()) headers.emplace_back("If-None-Match", validators.etag);
    if (!validators.last_modified.empty())
      headers.emplace_back("If-Modified-Since", validators.last_modified);
    auto response = http.Get(url, headers);
    if (!response) {
      Error e = response.error();
      if (e.where.empty()) e.where = url;
      return std::unexpected(e);
    }
    if (response->status == 304) {
      fetched.not_modified = true;
      return fetched;
    }
    if (response->status != 200) {
      Error e;
      e.where = url;
      e.reason = "HTTP status " + std::to_string(response->status);
      return std::unexpected(e);
    }
    fetched.body = std::move(response->body);
    if (auto etag = response->Header("etag")) fetched.etag = *etag;
    if (auto modified = response->Header("last-modified")) fetched.last_modified = *modified;
    return fetched;
  }

  // ---- conversion and storage --------------------------------------------------
  struct ObjectRow {
    bool found = false;
    std::string digest;
    int64_t created_ns = 0, modified_ns = 0;
  };

  ObjectRow LookupObject(sqlite3_stmt* select, const std::string& feed, const std::string& id) {
    ObjectRow row;
    sql::StatementUse use(select);
    use.Text(1, feed);
    use.Text(2, id);
    if (use.Step() == SQLITE_ROW) {
      row.found = true;
      row.digest = sql::ColumnText(select, 0);
      row.created_ns = sql::ColumnInt(select, 1);
      row.modified_ns = sql::ColumnInt(select, 2);
    }
    return row;
  }

  // The indicator's JSON. Without times (created_ns 0) it is the content digested to
  // tell whether a re-import changed anything.
  static std::string IndicatorJson(const FeedConfig& feed, const std::string& id,
                                   IndicatorType type, std::string_view value,
                                   const IndicatorMeta& meta, int64_t created_ns,
                                   int64_t modified_ns) {
    std::string out = "{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":";
    AppendJsonString(out, id);
    if (created_ns != 0) {
      out += ",\"created\":\"" + StixTime(created_ns) + "\",\"modified\":\"" +
             StixTime(modified_ns) + "\"";
    }
    if (!feed.producer_identity.empty()) {
      out += ",\"created_by_ref\":";
      AppendJsonString(out, feed.producer_identity);
    }
    out += ",\"name\":";
    AppendJsonString(out, value);
    if (!meta.description.empty()) {
      out += ",\"description\":";
      AppendJsonString(out, meta.description);
    }
    out += ",\"indicator_types\":[\"malicious-activity\"],\"pattern\":";
    AppendJsonString(out, StixPatternFor(type, value));
    out += ",\"pattern_type\":\"stix\",\"pattern_version\":\"2.1\"";
    int64_t valid_from = meta.first_seen_ns != 0 ? meta.first_seen_ns : created_ns;
    if (valid_from != 0) out += ",\"valid_from\":\"" + StixTime(valid_from) + "\"";
    if (meta.valid_until_ns != 0 && meta.valid_until_ns > valid_from) {
      out += ",\"valid_until\":\"" + StixTime(meta.valid_until_ns) + "\"";
    }
    std::vector<std::string> labels = meta.tags;
    for (const std::string& label : feed.labels) {
      if (std::find(labels.begin(), labels.end(), label) == labels.end()) labels.push_back(label);
    }
    if (!labels.empty()) {
      out += ",\"labels\":[";
      for (size_t i = 0; i < labels.size(); ++i) {
        if (i) out.push_back(',');
        AppendJsonString(out, labels[i]);
      }
      out.push_back(']');
    }
    out += ",\"confidence\":" + std::to_string(std::clamp(meta.confidence, 0, 100));
    if (std::string_view marking = MarkingFor(meta.tlp); !marking.empty()) {
      out += ",\"object_marking_refs\":[\"" + std::string(marking) + "\"]";
    }
    out += ",\"x_aegis_feed\":";
    AppendJsonString(out, feed.name);
    out += ",\"x_aegis_source\":";
    AppendJsonString(out, meta.source.empty() ? feed.name : meta.source);
    if (meta.last_seen_ns != 0)
      out += ",\"x_aegis_last_seen\":\"" + StixTime(meta.last_seen_ns) + "\"";
    out += ",\"x_aegis_severity\":";
    AppendJsonString(out, SeverityName(meta.severity));
    out.push_back('}');
    return out;
  }

  Result<void> AddBatch(const FeedConfig& feed, const std::string& collection_id,
                        std::vector<stix::StixObject>& batch, FeedRunReport& report) {
    if (batch.empty()) return {};
    auto added = store->AddObjects(
        {.collection_id = collection_id, .producer_org = feed.producer_org}, batch);
    if (!added) return std::unexpected(added.error());
    report.imported += added->added;
    report.duplicates += added->duplicates;
    report.failed += added->failed;
    for (const AddOutcome& outcome : added->outcomes) {
      if (outcome.kind != AddOutcome::Kind::kFailed) continue;
      Error e;
      e.where = outcome.id;
      e.reason = "refused by the store: " + outcome.message;
      if (report.errors.size() < 1000) report.errors.push_back(std::move(e));
    }
    batch.clear();
    return {};
  }

  Result<void> ImportCollected(const FeedConfig& feed, const std::string& collection_id,
                               const CollectingSink& sink, const ImportControl& control,
                               FeedRunReport& report) {
    auto select = sql::Prepare(
        db.get(), "SELECT digest,created_ns,modified_ns FROM feed_objects WHERE feed=? AND id=?",
        db_path);
    if (!select) return std::unexpected(select.error());
    auto upsert =
        sql::Prepare(db.get(),
                     "INSERT INTO feed_objects(feed,id,digest,created_ns,modified_ns) "
                     "VALUES(?,?,?,?,?) ON CONFLICT(feed,id) DO UPDATE SET digest=excluded.digest,"
                     "modified_ns=excluded.modified_ns",
                     db_path);
    if (!upsert) return std::unexpected(upsert.error());
    std::vector<stix::StixObject> batch;
    batch.reserve(std::min(kBatch, sink.items().size()));
    const auto& items = sink.items();
    for (size_t start = 0; start < items.size(); start += kBatch) {
      if (control.stop_requested && control.stop_requested()) return {};
      size_t end = std::min(items.size(), start + kBatch);
      auto transaction = sql::Transaction::Begin(db.get(), db_path);
      if (!transaction) return std::unexpected(transaction.error());
      int64_t now = NowNs();
      for (size_t i = start; i < end; ++i) {
        const auto& item = items[i];
        const IndicatorMeta& meta = sink.meta(item.meta);
        std::string id = FeedIndicatorId(feed.name, item.type, item.value);
        std::string digest = Sha256Hex(IndicatorJson(feed, id, item.type, item.value, meta, 0, 0));
        ObjectRow row = LookupObject(select->get(), feed.name, id);
        int64_t created = now, modified = now;
        if (row.found) {
          created = row.created_ns;
          modified =
              row.digest == digest ? row.modified_ns : std::max(now, row.modified_ns + 1'000'000);
        }
        if (!row.found || row.digest != digest) {
          sql::StatementUse use(upsert->get());
          use.Text(1, feed.name);
          use.Text(2, id);
          use.Text(3, digest);
          use.Int(4, created);
          use.Int(5, modified);
          if (use.Step() != SQLITE_DONE) {
            return std::unexpected(sql::SqliteError(db.get(), "record feed object", db_path));
          }
        }
        std::string json = IndicatorJson(feed, id, item.type, item.value, meta, created, modified);
        auto object = stix::ValidateObject(json);
        ++report.indicators;
        if (!object) {
          ++report.rejected;
          if (report.rejects.size() < 1000) {
            report.rejects.push_back(
                {id, item.value, "invalid STIX: " + object.error().ToString()});
          }
          continue;
        }
        batch.push_back(std::move(*object));
      }
      if (auto committed = transaction->Commit(); !committed) return committed;
      if (auto added = AddBatch(feed, collection_id, batch, report); !added) return added;
      if (control.on_progress) control.on_progress(end, items.size());
    }
    return {};
  }

  // ---- per-format runs ---------------------------------------------------------
  static LoadOptions Options(const FeedConfig& feed) {
    LoadOptions options;
    options.defaults.source = feed.name;
    options.defaults.confidence = feed.confidence;
    options.defaults.tlp = feed.default_tlp;
    options.allow_private = feed.allow_private;
    options.csv = feed.csv;
    options.misp_only_to_ids = feed.misp_only_to_ids;
    options.max_rejects = 1000;
    return options;
  }

  static void Merge(const LoadReport& load, FeedRunReport& report) {
    report.rejected += load.rejected;
    report.not_loaded += load.not_loaded;
    for (const Reject& r : load.rejects) {
      if (report.rejects.size() >= 1000) break;
      report.rejects.push_back(r);
    }
    for (const Error& e : load.errors) report.errors.push_back(e);
  }

  // Parses one fetched document of a non-MISP feed into `sink`.
  static void ParseDocument(const FeedConfig& feed, FeedFormat format, std::string_view where,
                            std::string_view body, CollectingSink& sink, LoadReport& load) {
    LoadOptions options = Options(feed);
    {
      internal::LoadContext context(options, sink, load);
      switch (format) {
        case FeedFormat::kCsv:
          internal::LoadCsvText(body, where, options.defaults, context);
          break;
        case FeedFormat::kHosts:
          internal::LoadHostsText(body, where, options.defaults, context);
          break;
        case FeedFormat::kMisp:
          internal::LoadMispEventText(body, where, {}, context);
          break;
        default:
          internal::LoadPlainText(body, where, options.defaults, context);
          break;
      }
    }
  }

  Result<void> ImportBundle(const FeedConfig& feed, const std::string& collection_id,
                            const std::string& where, std::string_view body,
                            FeedRunReport& report) {
    auto bundle = stix::ValidateBundle(body);
    if (!bundle) {
      Error e = bundle.error();
      if (e.where.empty()) e.where = where;
      report.errors.push_back(std::move(e));
      return {};
    }
    report.rejected += bundle->rejected.size();
    for (const Error& e : bundle->rejected) {
      if (report.rejects.size() >= 1000) break;
      report.rejects.push_back(
          {where + ":" + e.where, "", e.reason + (e.field.empty() ? "" : " (" + e.field + ")")});
    }
    report.indicators += bundle->objects.size();
    std::vector<stix::StixObject> batch;
    for (auto& object : bundle->objects) {
      batch.push_back(std::move(object));
      if (batch.size() >= kBatch) {
        if (auto added = AddBatch(feed, collection_id, batch, report); !added) return added;
      }
    }
    return AddBatch(feed, collection_id, batch, report);
  }

  Result<void> RunDocument(const FeedConfig& feed, FeedState& state,
                           const std::string& collection_id, const ImportControl& control,
                           FeedRunReport& report, bool& update_validators) {
    Validators validators;
    if (!control.force) validators = {state.etag, state.last_modified};
    auto fetched = Fetch(feed, feed.url, validators);
    if (!fetched) {
      report.errors.push_back(fetched.error());
      return {};
    }
    if (fetched->not_modified) {
      report.not_modified = true;
      return {};
    }
    std::string digest = Sha256Hex(fetched->body);
    if (!control.force && digest == state.content_sha256) {
      report.not_modified = true;
      state.etag = fetched->etag;
      state.last_modified = fetched->last_modified;
      return {};
    }
    ++report.documents;
    FeedFormat format = feed.format;
    std::string path_part = feed.url.substr(0, feed.url.find('?'));
    if (format == FeedFormat::kAuto) format = internal::DetectFileFormat(path_part, fetched->body);
    if (format == FeedFormat::kStix) {
      if (auto done = ImportBundle(feed, collection_id, feed.url, fetched->body, report); !done)
        return done;
    } else {
      CollectingSink sink;
      LoadReport load;
      ParseDocument(feed, format, feed.url, fetched->body, sink, load);
      Merge(load, report);
      if (auto done = ImportCollected(feed, collection_id, sink, control, report); !done)
        return done;
    }
    if (update_validators) {
      state.etag = fetched->etag;
      state.last_modified = fetched->last_modified;
      state.content_sha256 = digest;
    }
    return {};
  }

  // A local folder that is not a MISP feed: every feed file below it (LoadPath).
  Result<void> RunFolder(const FeedConfig& feed, const std::string& collection_id,
                         const ImportControl& control, FeedRunReport& report) {
    LoadOptions options = Options(feed);
    options.format = feed.format;
    CollectingSink sink;
    auto loaded = LoadPath(feed.url, options, sink);
    if (!loaded) {
      report.errors.push_back(loaded.error());
      return {};
    }
    report.documents += loaded->files;
    Merge(*loaded, report);
    return ImportCollected(feed, collection_id, sink, control, report);
  }

  std::string MispUrl(const std::string& base, std::string_view file) const {
    if (IsLocalPath(base)) return (fs::path(base) / std::string(file)).string();
    return base + "/" + std::string(file);
  }

  Result<void> RunMisp(const FeedConfig& feed, FeedState& state, const std::string& collection_id,
                       const ImportControl& control, FeedRunReport& report) {
    std::string base = feed.url;
    if (base.ends_with("manifest.json"))
      base.resize(base.size() - std::string_view("manifest.json").size());
    while (base.size() > 1 && base.back() == '/') base.pop_back();
    std::string manifest_url = MispUrl(base, "manifest.json");
    Validators validators;
    if (!control.force) validators = {state.etag, state.last_modified};
    auto manifest = Fetch(feed, manifest_url, validators);
    if (!manifest) {
      report.errors.push_back(manifest.error());
      return {};
    }
    if (manifest->not_modified) {
      report.not_modified = true;
      return {};
    }
    std::string digest = Sha256Hex(manifest->body);
    if (!control.force && digest == state.content_sha256) {
      report.not_modified = true;
      return {};
    }
    auto parsed_manifest = ParseMispManifest(manifest->body);
    if (!parsed_manifest) {
      Error e = parsed_manifest.error();
      e.where = manifest_url;
      report.errors.push_back(std::move(e));
      return {};
    }
    const std::vector<MispManifestEntry>& entries = *parsed_manifest;
    bool all_ok = true;
    for (const MispManifestEntry& entry : entries) {
      if (control.stop_requested && control.stop_requested()) return {};
      bool valid_uuid = !entry.uuid.empty() && entry.uuid.size() <= 64 &&
                        std::all_of(entry.uuid.begin(), entry.uuid.end(), [](char c) {
                          return std::isxdigit(static_cast<unsigned char>(c)) || c == '-';
                        });
      if (!valid_uuid) {
        Error e;
        e.where = manifest_url;
        e.field = entry.uuid;
        e.reason = "manifest lists an invalid event uuid";
        report.errors.push_back(std::move(e));
        continue;
      }
      if (!control.force && !entry.timestamp.empty()) {
        auto known = MispEventTimestamp(feed.name, entry.uuid);
        if (known && *known == entry.timestamp) continue;  // unchanged since the last run
      }
      std::string event_url = MispUrl(base, entry.uuid + ".json");
      auto event = Fetch(feed, event_url, {});
      if (!event) {
        report.errors.push_back(event.error());
        all_ok = false;
        continue;
      }
      ++report.documents;
      CollectingSink sink;
      LoadOptions options = Options(feed);
      LoadReport load;
      {
        internal::LoadContext context(options, sink, load);
        internal::LoadMispEventText(event->body, event_url, entry.info, context);
      }
      Merge(load, report);
      if (!load.errors.empty()) {
        all_ok = false;
        continue;
      }
      if (auto done = ImportCollected(feed, collection_id, sink, control, report); !done)
        return done;
      if (control.stop_requested && control.stop_requested()) return {};
      if (!entry.timestamp.empty()) {
        if (auto saved = SaveMispEventTimestamp(feed.name, entry.uuid, entry.timestamp); !saved)
          return saved;
      }
    }
    if (all_ok) {
      state.etag = manifest->etag;
      state.last_modified = manifest->last_modified;
      state.content_sha256 = digest;
    }
    return {};
  }

  Result<std::string> ResolveCollection(const FeedConfig& feed) {
    auto found = store->GetCollection(feed.collection);
    if (!found) return std::unexpected(found.error());
    if (*found) return (*found)->id;
    Collection collection;
    bool looks_like_id = feed.collection.size() == 36 && feed.collection[8] == '-';
    if (looks_like_id) {
      collection.id = feed.collection;
    } else {
      collection.alias = feed.collection;
    }
    collection.title = feed.collection;
    collection.description = "Indicators imported from feeds";
    auto created = store->CreateCollection(std::move(collection));
    if (!created) return std::unexpected(created.error());
    return created->id;
  }

  Result<FeedRunReport> Run(const FeedConfig& config, const ImportControl& control) {
    if (auto valid = ValidateFeedConfig(config); !valid) return std::unexpected(valid.error());
    FeedConfig feed = config;
    // An unowned feed gets a pseudo-organisation no member belongs to ("feed:" cannot
    // start an organisation id), so its AMBER and stricter objects reach no one.
    if (feed.producer_org.empty()) feed.producer_org = "feed:" + feed.name;
    FeedRunReport report;
    report.feed = feed.name;
    report.started_ns = NowNs();
    auto collection_id = ResolveCollection(feed);
    if (!collection_id) return std::unexpected(collection_id.error());
    auto loaded_state = LoadState(feed.name);
    if (!loaded_state) return std::unexpected(loaded_state.error());
    FeedState state = std::move(*loaded_state);

    Result<void> done;
    std::error_code ec;
    bool local_dir = IsLocalPath(feed.url) && fs::is_directory(feed.url, ec);
    bool misp =
        feed.format == FeedFormat::kMisp ||
        (feed.format == FeedFormat::kAuto && (feed.url.ends_with("manifest.json") ||
                                              (!IsLocalPath(feed.url) && feed.url.ends_with("/"))));
    if (local_dir) misp = fs::exists(fs::path(feed.url) / "manifest.json", ec);
    if (misp) {
      done = RunMisp(feed, state, *collection_id, control, report);
    } else if (local_dir) {
      done = RunFolder(feed, *collection_id, control, report);
    } else {
      bool update_validators = true;
      done = RunDocument(feed, state, *collection_id, control, report, update_validators);
    }
    if (!done) report.errors.push_back(done.error());

    report.finished_ns = NowNs();
    bool stopped = control.stop_requested && control.stop_requested();
    if (stopped) {
      report.status = "stopped";
    } else if (!report.errors.empty()) {
      report.status = (report.imported + report.duplicates == 0 && report.documents == 0) || !done
                          ? "failed"
                          : "partial";
    } else if (report.not_modified) {
      report.status = "not-modified";
    } else {
      report.status = "ok";
    }
    if (stopped || report.status == "failed") {
      // Run again from scratch next time.
      state.etag.clear();
      state.last_modified.clear();
      state.content_sha256.clear();
    }
    state.last_run_ns = report.finished_ns;
    state.last_status = report.status;
    ++state.runs;
    state.imported += report.imported;
    state.duplicates += report.duplicates;
    state.rejected += report.rejected;
    state.errors += report.errors.size() + report.failed;
    state.last_error = report.errors.empty() ? "" : report.errors.front().ToString();
    if (auto saved = SaveState(state); !saved) return std::unexpected(saved.error());
    return report;
  }
};

Result<std::unique_ptr<FeedImporter>> FeedImporter::Open(const std::string& db_path,
                                                         StixStore* store) {
  if (store == nullptr) return Fail("no STIX store given", "store");
  if (db_path != ":memory:") {
    fs::path parent = fs::path(db_path).parent_path();
    std::error_code ec;
    if (!parent.empty()) fs::create_directories(parent, ec);
  }
  auto db = sql::OpenDatabase(db_path);
  if (!db) return std::unexpected(db.error());
  if (auto migrated = sql::ApplyComponentMigrations(db->get(), "feeds", kMigrations, db_path);
      !migrated) {
    return std::unexpected(migrated.error());
  }
  auto impl = std::make_unique<Impl>();
  impl->db_path = db_path;
  impl->db = std::move(*db);
  impl->store = store;
  return std::unique_ptr<FeedImporter>(new FeedImporter(std::move(impl)));
}

FeedImporter::FeedImporter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FeedImporter::~FeedImporter() = default;

Result<FeedRunReport> FeedImporter::Run(const FeedConfig& feed, const ImportControl& control) {
  return impl_->Run(feed, control);
}

Result<std::vector<FeedState>> FeedImporter::States() {
  auto stmt =
      sql::Prepare(impl_->db.get(),
                   "SELECT name,etag,last_modified,content_sha256,last_run_ns,last_status,runs,"
                   "imported,duplicates,rejected,errors,last_error FROM feed_state ORDER BY name",
                   impl_->db_path);
  if (!stmt) return std::unexpected(stmt.error());
  std::vector<FeedState> states;
  sql::StatementUse use(stmt->get());
  while (use.Step() == SQLITE_ROW) {
    FeedState state;
    state.name = sql::ColumnText(stmt->get(), 0);
    Impl::ReadState(stmt->get(), 1, state);
    states.push_back(std::move(state));
  }
  return states;
}

Result<std::vector<MispManifestEntry>> ParseMispManifest(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::object object;
  auto error = parser.parse(json.data(), json.size()).get(root);
  if (!error) error = root.get_object().get(object);
  if (error) return Fail(std::string("invalid MISP manifest: ") + simdjson::error_message(error));
  std::vector<MispManifestEntry> entries;
  for (auto [key, value] : object) {
    MispManifestEntry entry{std::string(key), {}, {}};
    if (value.is_object()) {
      std::string_view text;
      if (value["info"].get_string().get(text) == simdjson::SUCCESS) entry.info = text;
      simdjson::dom::element ts;
      if (value["timestamp"].get(ts) == simdjson::SUCCESS) {
        if (ts.is_string()) {
          entry.timestamp = std::string(std::string_view(ts));
        } else if (ts.is_int64()) {
          entry.timestamp = std::to_string(int64_t(ts));
        } else if (ts.is_uint64()) {
          entry.timestamp = std::to_string(uint64_t(ts));
        }
      }
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

ConvertedDocument ConvertDocument(const FeedConfig& feed, FeedFormat format, std::string_view where,
                                  std::string_view body, int64_t now_ns) {
  ConvertedDocument converted;
  if (format == FeedFormat::kAuto) format = internal::DetectFileFormat(where, body);
  if (format == FeedFormat::kStix) {
    if (auto bundle = stix::ValidateBundle(body)) converted.objects = std::move(bundle->objects);
    return converted;
  }
  CollectingSink sink;
  FeedImporter::Impl::ParseDocument(feed, format, where, body, sink, converted.load);
  for (const auto& item : sink.items()) {
    std::string id = FeedIndicatorId(feed.name, item.type, item.value);
    std::string json = FeedImporter::Impl::IndicatorJson(feed, id, item.type, item.value,
                                                         sink.meta(item.meta), now_ns, now_ns);
    auto object = stix::ValidateObject(json);
    if (object) {
      converted.objects.push_back(std::move(*object));
    } else {
      converted.invalid.push_back(object.error().ToString() + ": " + json);
    }
  }
  return converted;
}

}  // namespace aegis::intel
