// SQLite implementation of store::Store: one connection in WAL mode, prepared
// statements kept for the life of the store, one transaction per batch.
//
// Tags and alert matches are stored as JSON text written with AppendJsonString
// and read back with simdjson On-Demand. A string that is not valid UTF-8 (a log
// value in Latin-1, say) cannot be a JSON string, so it is written as
// {"hex":"<its bytes in hex>"} instead: every byte round-trips.
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "core/strings.h"
#include "store/sqlite_internal.h"

namespace aegis::store::internal {

namespace {

constexpr size_t kTopSources = 20;
// How long a write waits for another connection's write lock before failing. A
// bulk indicator load holds the lock for seconds; alert writers queue behind it.
constexpr int kBusyTimeoutMs = 30'000;

// ---------------------------------------------------------------------------
// Enumerations as stored

Result<Severity> SeverityFromColumn(int64_t value) {
  if (value < 0 || value > static_cast<int64_t>(Severity::kCritical)) {
    return Fail("unknown severity " + std::to_string(value), "severity");
  }
  return static_cast<Severity>(value);
}

Result<Tlp> TlpFromColumn(int64_t value) {
  if (value < 0 || value > static_cast<int64_t>(Tlp::kRed)) {
    return Fail("unknown TLP " + std::to_string(value), "tlp");
  }
  return static_cast<Tlp>(value);
}

// Stored by name (FormatName) so that reordering the enum cannot corrupt rows.
Result<EventFormat> FormatFromColumn(std::string_view name) {
  for (int f = 0; f <= static_cast<int>(EventFormat::kCef); ++f) {
    auto format = static_cast<EventFormat>(f);
    if (FormatName(format) == name) return format;
  }
  return Fail("unknown event format '" + std::string(name) + "'", "event_format");
}

Result<IndicatorType> IndicatorTypeFromColumn(std::string_view name) {
  for (int t = 0; t <= static_cast<int>(IndicatorType::kEmail); ++t) {
    auto type = static_cast<IndicatorType>(t);
    if (IndicatorTypeName(type) == name) return type;
  }
  return Fail("unknown indicator type '" + std::string(name) + "'", "type");
}

// ---------------------------------------------------------------------------
// JSON for tags and matches

constexpr char kHexDigits[] = "0123456789abcdef";

// A JSON string when `s` is valid UTF-8, otherwise {"hex":"..."}.
void AppendStoredString(std::string& out, std::string_view s) {
  if (simdjson::validate_utf8(s.data(), s.size())) {
    AppendJsonString(out, s);
    return;
  }
  out += "{\"hex\":\"";
  for (unsigned char c : s) {
    out.push_back(kHexDigits[c >> 4]);
    out.push_back(kHexDigits[c & 15]);
  }
  out += "\"}";
}

std::string TagsToJson(const std::vector<std::string>& tags) {
  std::string out = "[";
  for (size_t i = 0; i < tags.size(); ++i) {
    if (i) out.push_back(',');
    AppendStoredString(out, tags[i]);
  }
  out.push_back(']');
  return out;
}

std::string MatchesToJson(const std::vector<AlertMatch>& matches) {
  std::string out = "[";
  for (size_t i = 0; i < matches.size(); ++i) {
    const AlertMatch& m = matches[i];
    if (i) out.push_back(',');
    out += "{\"field\":";
    AppendStoredString(out, m.field);
    out += ",\"original\":";
    AppendStoredString(out, m.original);
    out += ",\"value\":";
    AppendStoredString(out, m.value);
    out += ",\"indicator\":";
    AppendStoredString(out, m.indicator);
    out += ",\"match\":";
    AppendStoredString(out, m.match);
    out.push_back('}');
  }
  out.push_back(']');
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses the JSON columns. Holds the parser and a padded buffer for reuse, so that
// streaming millions of rows does not allocate per row.
class JsonColumnReader {
 public:
  Result<std::vector<std::string>> Tags(std::string_view json, std::string_view column) {
    std::vector<std::string> tags;
    if (json == "[]") return tags;
    simdjson::ondemand::document doc;
    simdjson::ondemand::array array;
    if (Load(json).get(doc) || doc.get_array().get(array)) return Malformed(column);
    for (auto element : array) {
      simdjson::ondemand::value value;
      std::string text;
      if (element.get(value) || !ReadString(value, text)) return Malformed(column);
      tags.push_back(std::move(text));
    }
    return tags;
  }

  Result<std::vector<AlertMatch>> Matches(std::string_view json) {
    std::vector<AlertMatch> matches;
    if (json == "[]") return matches;
    simdjson::ondemand::document doc;
    simdjson::ondemand::array array;
    if (Load(json).get(doc) || doc.get_array().get(array)) return Malformed("matches");
    for (auto element : array) {
      simdjson::ondemand::object object;
      if (element.get_object().get(object)) return Malformed("matches");
      AlertMatch& match = matches.emplace_back();
      for (auto member : object) {
        std::string_view key;
        simdjson::ondemand::value value;
        if (member.unescaped_key().get(key) || member.value().get(value)) {
          return Malformed("matches");
        }
        std::string* target = key == "field"       ? &match.field
                              : key == "original"  ? &match.original
                              : key == "value"     ? &match.value
                              : key == "indicator" ? &match.indicator
                              : key == "match"     ? &match.match
                                                   : nullptr;
        if (target == nullptr || !ReadString(value, *target)) return Malformed("matches");
      }
    }
    return matches;
  }

 private:
  simdjson::simdjson_result<simdjson::ondemand::document> Load(std::string_view json) {
    // simdjson reads ahead into the padding; zero it so that nothing depends on
    // uninitialised bytes.
    buffer_.assign(json);
    buffer_.append(simdjson::SIMDJSON_PADDING, '\0');
    return parser_.iterate(buffer_.data(), json.size(), buffer_.size());
  }

  // A JSON string, or {"hex":"..."} for bytes that are not valid UTF-8.
  static bool ReadString(simdjson::ondemand::value& value, std::string& out) {
    simdjson::ondemand::json_type type;
    if (value.type().get(type)) return false;
    std::string_view text;
    if (type == simdjson::ondemand::json_type::string) {
      if (value.get_string().get(text)) return false;
      out.assign(text);
      return true;
    }
    simdjson::ondemand::object object;
    if (type != simdjson::ondemand::json_type::object || value.get_object().get(object) ||
        object.find_field("hex").get_string().get(text) || text.size() % 2 != 0) {
      return false;
    }
    out.clear();
    out.reserve(text.size() / 2);
    for (size_t i = 0; i < text.size(); i += 2) {
      int high = HexValue(text[i]);
      int low = HexValue(text[i + 1]);
      if (high < 0 || low < 0) return false;
      out.push_back(static_cast<char>(high << 4 | low));
    }
    return true;
  }

  static std::unexpected<Error> Malformed(std::string_view column) {
    return Fail("malformed JSON in column", std::string(column));
  }

  simdjson::ondemand::parser parser_;
  std::string buffer_;
};

// ---------------------------------------------------------------------------
// SQL

// Column order shared by the alert INSERT and SELECT statements.
constexpr std::string_view kAlertColumns =
    "id, time_ns, event_time_ns, severity, tlp, detector, rule, title, indicator_type, "
    "indicator_source, confidence, tags, matches, event_source, event_line, event_offset, "
    "event_format, event_json, count, source_ip, destination_ip, rule_status";

constexpr char kUpsertAlert[] =
    "INSERT INTO alerts (id, time_ns, event_time_ns, severity, tlp, detector, rule, title, "
    "indicator_type, indicator_source, confidence, tags, matches, event_source, event_line, "
    "event_offset, event_format, event_json, count, source_ip, destination_ip, rule_status) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
    "?19, ?20, ?21, ?22) "
    "ON CONFLICT (id) DO UPDATE SET time_ns = excluded.time_ns, "
    "event_time_ns = excluded.event_time_ns, severity = excluded.severity, tlp = excluded.tlp, "
    "detector = excluded.detector, rule = excluded.rule, title = excluded.title, "
    "indicator_type = excluded.indicator_type, indicator_source = excluded.indicator_source, "
    "confidence = excluded.confidence, tags = excluded.tags, matches = excluded.matches, "
    "event_source = excluded.event_source, event_line = excluded.event_line, "
    "event_offset = excluded.event_offset, event_format = excluded.event_format, "
    "event_json = excluded.event_json, count = excluded.count, source_ip = excluded.source_ip, "
    "destination_ip = excluded.destination_ip, rule_status = excluded.rule_status";

constexpr char kUpsertIndicator[] =
    "INSERT INTO indicators (type, value, source, confidence, tlp, tags, first_seen_ns, "
    "last_seen_ns, valid_until_ns, description, severity) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
    "ON CONFLICT (type, value) DO UPDATE SET source = excluded.source, "
    "confidence = excluded.confidence, tlp = excluded.tlp, tags = excluded.tags, "
    "first_seen_ns = excluded.first_seen_ns, last_seen_ns = excluded.last_seen_ns, "
    "valid_until_ns = excluded.valid_until_ns, description = excluded.description, "
    "severity = excluded.severity";

constexpr char kSelectIndicators[] =
    "SELECT type, value, source, confidence, tlp, tags, first_seen_ns, last_seen_ns, "
    "valid_until_ns, description, severity FROM indicators ORDER BY type, value";

// ListAlerts filters, as bits of the key of its statement cache.
enum AlertFilter : unsigned {
  kFilterSince = 1,
  kFilterMinSeverity = 2,
  kFilterRule = 4,
  kFilterDetector = 8,
  kFilterLimit = 16,
  kAlertFilterCombinations = 32,
};

std::string ListAlertsSql(unsigned filters) {
  std::string sql = "SELECT " + std::string(kAlertColumns) + " FROM alerts";
  const char* joiner = " WHERE ";
  auto add = [&](unsigned bit, const char* condition) {
    if (!(filters & bit)) return;
    sql += joiner;
    sql += condition;
    joiner = " AND ";
  };
  add(kFilterSince, "time_ns >= :since");
  add(kFilterMinSeverity, "severity >= :min_severity");
  add(kFilterRule, "rule = :rule");
  add(kFilterDetector, "detector = :detector");
  sql += " ORDER BY time_ns DESC, id DESC";
  if (filters & kFilterLimit) sql += " LIMIT :limit";
  return sql;
}

// ---------------------------------------------------------------------------
// The store

class SqliteStore final : public Store {
 public:
  SqliteStore(sqlite3* db, std::string where) : db_(db), where_(std::move(where)) {}
  // close_v2 defers the close until the statement members are finalised, which
  // happens just after this body runs.
  ~SqliteStore() override { sqlite3_close_v2(db_); }

  // Applies settings and migrations, prepares the fixed statements.
  Result<void> Initialise(bool in_memory);

  std::string_view backend() const override { return "sqlite"; }
  int schema_version() const override { return schema_version_; }

  Result<void> PutAlerts(std::span<const Alert> alerts) override;
  Result<std::vector<Alert>> ListAlerts(const AlertQuery& query) override;
  Result<std::optional<Alert>> GetAlert(const std::string& id) override;
  Result<uint64_t> CountAlerts() override;
  Result<void> AddAlertRepeats(std::span<const std::pair<std::string, uint32_t>> repeats) override;

  Result<uint64_t> PutIndicators(std::span<const Indicator> indicators) override;
  Result<uint64_t> ForEachIndicator(const std::function<void(const Indicator&)>& fn) override;
  Result<IndicatorCounts> CountIndicators() override;
  Result<uint64_t> DeleteIndicatorsFromSource(const std::string& source) override;

 private:
  // Rolls back on destruction unless committed.
  class Transaction {
   public:
    explicit Transaction(SqliteStore& store) : store_(store) {}
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction() {
      if (open_) StatementUse(store_.rollback_.get()).Step();
    }
    Result<void> Begin(sqlite3_stmt* begin) {
      if (auto ok = store_.Run(begin, "beginning transaction"); !ok) return ok;
      open_ = true;
      return {};
    }
    Result<void> Commit() {
      if (auto ok = store_.Run(store_.commit_.get(), "committing"); !ok) return ok;
      open_ = false;
      return {};
    }

   private:
    SqliteStore& store_;
    bool open_ = false;
  };

  Result<Statement> Prepare(std::string_view sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                           SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
      return std::unexpected(Failure("preparing \"" + std::string(sql) + "\""));
    }
    return Statement(stmt);
  }

  Error Failure(std::string_view what) const { return SqliteError(db_, what, where_); }

  // Runs a statement that returns no rows.
  Result<void> Run(sqlite3_stmt* stmt, std::string_view what) {
    if (StatementUse(stmt).Step() != SQLITE_DONE) return std::unexpected(Failure(what));
    return {};
  }

  Result<uint64_t> QueryCount(sqlite3_stmt* stmt, std::string_view what) {
    StatementUse use(stmt);
    if (use.Step() != SQLITE_ROW) return std::unexpected(Failure(what));
    return static_cast<uint64_t>(ColumnInt(stmt, 0));
  }

  Result<void> BindAndStepAlert(const Alert& alert, std::string& tags, std::string& matches);
  Result<Alert> ReadAlert(sqlite3_stmt* stmt);
  Result<void> ReadIndicator(sqlite3_stmt* stmt, Indicator& indicator);

  // Attaches the database and the row to a decoding error.
  std::unexpected<Error> RowError(Error error, std::string_view row) const {
    error.where = where_;
    error.reason += " (row " + std::string(row) + ")";
    return std::unexpected(std::move(error));
  }

  sqlite3* db_;
  const std::string where_;  // the database path, for errors
  int schema_version_ = 0;
  std::mutex mutex_;         // one call at a time on the connection
  JsonColumnReader json_;
  Statement begin_read_, begin_write_, commit_, rollback_;
  Statement upsert_alert_, alert_by_prefix_, count_alerts_, add_repeats_;
  Statement upsert_indicator_, select_indicators_, indicator_types_, indicator_sources_,
      delete_source_;
  std::array<Statement, kAlertFilterCombinations> list_alerts_;  // prepared on first use
};

Result<void> SqliteStore::Initialise(bool in_memory) {
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);

  if (!in_memory) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, "PRAGMA journal_mode = WAL", -1, &stmt, nullptr) != SQLITE_OK) {
      return std::unexpected(Failure("setting WAL journal"));
    }
    std::string mode;
    if (sqlite3_step(stmt) == SQLITE_ROW) mode = AsciiLower(ColumnText(stmt, 0));
    sqlite3_finalize(stmt);
    if (mode != "wal") {
      Error e;
      e.where = where_;
      e.reason = "cannot use the WAL journal (journal_mode is '" + mode +
                 "'); is the database on a network file system?";
      return std::unexpected(std::move(e));
    }
  }
  auto settings = ExecSql(db_,
                          "PRAGMA synchronous = NORMAL;"
                          "PRAGMA foreign_keys = ON;"
                          "PRAGMA cache_size = -32768;",  // KiB: 32 MiB of page cache
                          where_);
  if (!settings) return settings;

  auto version = ApplyMigrations(db_, SqliteMigrations(), where_);
  if (!version) return std::unexpected(version.error());
  schema_version_ = *version;

  const std::pair<Statement*, std::string> statements[] = {
      {&begin_read_, "BEGIN"},
      {&begin_write_, "BEGIN IMMEDIATE"},
      {&commit_, "COMMIT"},
      {&rollback_, "ROLLBACK"},
      {&upsert_alert_, kUpsertAlert},
      {&alert_by_prefix_,
       "SELECT " + std::string(kAlertColumns) + " FROM alerts WHERE id >= ?1 ORDER BY id LIMIT 2"},
      {&count_alerts_, "SELECT COUNT(*) FROM alerts"},
      {&add_repeats_, "UPDATE alerts SET count = count + ?2 WHERE id = ?1"},
      {&upsert_indicator_, kUpsertIndicator},
      {&select_indicators_, kSelectIndicators},
      {&indicator_types_,
       "SELECT type, COUNT(*) AS n FROM indicators GROUP BY type ORDER BY n DESC, type"},
      {&indicator_sources_,
       "SELECT source, COUNT(*) AS n FROM indicators GROUP BY source ORDER BY n DESC, source "
       "LIMIT " + std::to_string(kTopSources)},
      {&delete_source_, "DELETE FROM indicators WHERE source = ?1"},
  };
  for (const auto& [statement, sql] : statements) {
    auto prepared = Prepare(sql);
    if (!prepared) return std::unexpected(prepared.error());
    *statement = std::move(*prepared);
  }
  return {};
}

// ----- alerts

Result<void> SqliteStore::BindAndStepAlert(const Alert& alert, std::string& tags,
                                           std::string& matches) {
  tags = TagsToJson(alert.tags);
  matches = MatchesToJson(alert.matches);
  StatementUse use(upsert_alert_.get());
  use.Text(1, alert.id);
  use.Int(2, alert.time_ns);
  use.Int(3, alert.event_time_ns);
  use.Int(4, static_cast<int64_t>(alert.severity));
  use.Int(5, static_cast<int64_t>(alert.tlp));
  use.Text(6, alert.detector);
  use.Text(7, alert.rule);
  use.Text(8, alert.title);
  use.Text(9, alert.indicator_type);
  use.Text(10, alert.indicator_source);
  use.Int(11, alert.confidence);
  use.Text(12, tags);
  use.Text(13, matches);
  use.Text(14, alert.event_source);
  use.Int(15, static_cast<int64_t>(alert.event_line));
  use.Int(16, static_cast<int64_t>(alert.event_offset));
  use.Text(17, FormatName(alert.event_format));
  use.Text(18, alert.event_json);
  use.Int(19, alert.count);
  use.Text(20, alert.source_ip);
  use.Text(21, alert.destination_ip);
  use.Text(22, alert.rule_status);
  if (use.Step() != SQLITE_DONE) return std::unexpected(Failure("storing alert " + alert.id));
  return {};
}

Result<void> SqliteStore::PutAlerts(std::span<const Alert> alerts) {
  if (alerts.empty()) return {};
  std::lock_guard lock(mutex_);
  Transaction transaction(*this);
  if (auto ok = transaction.Begin(begin_write_.get()); !ok) return ok;
  std::string tags, matches;
  for (const Alert& alert : alerts) {
    if (auto ok = BindAndStepAlert(alert, tags, matches); !ok) return ok;
  }
  return transaction.Commit();
}

Result<Alert> SqliteStore::ReadAlert(sqlite3_stmt* stmt) {
  Alert alert;
  alert.id = ColumnText(stmt, 0);
  alert.time_ns = ColumnInt(stmt, 1);
  alert.event_time_ns = ColumnInt(stmt, 2);
  auto severity = SeverityFromColumn(ColumnInt(stmt, 3));
  if (!severity) return RowError(severity.error(), alert.id);
  alert.severity = *severity;
  auto tlp = TlpFromColumn(ColumnInt(stmt, 4));
  if (!tlp) return RowError(tlp.error(), alert.id);
  alert.tlp = *tlp;
  alert.detector = ColumnText(stmt, 5);
  alert.rule = ColumnText(stmt, 6);
  alert.title = ColumnText(stmt, 7);
  alert.indicator_type = ColumnText(stmt, 8);
  alert.indicator_source = ColumnText(stmt, 9);
  alert.confidence = static_cast<int>(ColumnInt(stmt, 10));
  auto tags = json_.Tags(ColumnText(stmt, 11), "tags");
  if (!tags) return RowError(tags.error(), alert.id);
  alert.tags = std::move(*tags);
  auto matches = json_.Matches(ColumnText(stmt, 12));
  if (!matches) return RowError(matches.error(), alert.id);
  alert.matches = std::move(*matches);
  alert.event_source = ColumnText(stmt, 13);
  alert.event_line = static_cast<uint64_t>(ColumnInt(stmt, 14));
  alert.event_offset = static_cast<uint64_t>(ColumnInt(stmt, 15));
  auto format = FormatFromColumn(ColumnText(stmt, 16));
  if (!format) return RowError(format.error(), alert.id);
  alert.event_format = *format;
  alert.event_json = ColumnText(stmt, 17);
  alert.count = static_cast<uint32_t>(ColumnInt(stmt, 18));
  alert.source_ip = ColumnText(stmt, 19);
  alert.destination_ip = ColumnText(stmt, 20);
  alert.rule_status = ColumnText(stmt, 21);
  return alert;
}

Result<std::vector<Alert>> SqliteStore::ListAlerts(const AlertQuery& query) {
  unsigned filters = 0;
  if (query.since_ns != 0) filters |= kFilterSince;
  if (query.min_severity) filters |= kFilterMinSeverity;
  if (!query.rule.empty()) filters |= kFilterRule;
  if (!query.detector.empty()) filters |= kFilterDetector;
  if (query.limit != 0) filters |= kFilterLimit;

  std::lock_guard lock(mutex_);
  Statement& cached = list_alerts_[filters];
  if (cached.get() == nullptr) {
    auto prepared = Prepare(ListAlertsSql(filters));
    if (!prepared) return std::unexpected(prepared.error());
    cached = std::move(*prepared);
  }
  sqlite3_stmt* stmt = cached.get();
  StatementUse use(stmt);
  auto bind = [&](const char* name, auto&& bind_value) {
    if (int index = sqlite3_bind_parameter_index(stmt, name)) bind_value(index);
  };
  bind(":since", [&](int i) { use.Int(i, query.since_ns); });
  bind(":min_severity", [&](int i) { use.Int(i, static_cast<int64_t>(*query.min_severity)); });
  bind(":rule", [&](int i) { use.Text(i, query.rule); });
  bind(":detector", [&](int i) { use.Text(i, query.detector); });
  bind(":limit", [&](int i) {
    use.Int(i, static_cast<int64_t>(
                   std::min<uint64_t>(query.limit, std::numeric_limits<int64_t>::max())));
  });

  std::vector<Alert> alerts;
  int rc;
  while ((rc = use.Step()) == SQLITE_ROW) {
    auto alert = ReadAlert(stmt);
    if (!alert) return std::unexpected(alert.error());
    alerts.push_back(std::move(*alert));
  }
  if (rc != SQLITE_DONE) return std::unexpected(Failure("listing alerts"));
  return alerts;
}

Result<std::optional<Alert>> SqliteStore::GetAlert(const std::string& id) {
  if (id.empty()) return Fail("empty alert id", "id");
  std::lock_guard lock(mutex_);
  // The first two ids at or after `id` in order: an exact match comes first; a
  // prefix matches a contiguous run, so two rows tell unique from ambiguous.
  StatementUse use(alert_by_prefix_.get());
  use.Text(1, id);
  std::vector<Alert> candidates;
  int rc;
  while ((rc = use.Step()) == SQLITE_ROW) {
    std::string_view found = ColumnText(use.get(), 0);
    if (!found.starts_with(id)) break;
    auto alert = ReadAlert(use.get());
    if (!alert) return std::unexpected(alert.error());
    if (alert->id == id) return std::optional<Alert>(std::move(*alert));
    candidates.push_back(std::move(*alert));
  }
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return std::unexpected(Failure("reading alert"));
  if (candidates.size() > 1) {
    Error e;
    e.where = where_;
    e.field = "id";
    e.reason = "ambiguous id prefix '" + id + "'";
    return std::unexpected(std::move(e));
  }
  if (candidates.empty()) return std::optional<Alert>();
  return std::optional<Alert>(std::move(candidates.front()));
}

Result<void> SqliteStore::AddAlertRepeats(
    std::span<const std::pair<std::string, uint32_t>> repeats) {
  if (repeats.empty()) return {};
  std::lock_guard lock(mutex_);
  Transaction transaction(*this);
  if (auto ok = transaction.Begin(begin_write_.get()); !ok) return ok;
  for (const auto& [id, n] : repeats) {
    StatementUse use(add_repeats_.get());
    use.Text(1, id);
    use.Int(2, n);
    if (use.Step() != SQLITE_DONE) return std::unexpected(Failure("counting repeats of " + id));
  }
  return transaction.Commit();
}

Result<uint64_t> SqliteStore::CountAlerts() {
  std::lock_guard lock(mutex_);
  return QueryCount(count_alerts_.get(), "counting alerts");
}

// ----- indicators

// Positions of `indicators` in primary-key order (type name, then value), equal
// keys in input order so that the later one is written last and wins. Writing in
// key order touches each B-tree page once instead of at random: a bulk load of
// millions of indicators then stays within the page cache and the WAL grows by
// little more than the size of the table.
std::vector<uint32_t> KeyOrder(std::span<const Indicator> indicators) {
  // Each indicator's type rank and the first 8 bytes of its value as a big-endian
  // integer decide most comparisons without touching the strings themselves.
  struct SortKey {
    uint64_t value_prefix;
    uint32_t position;
    uint8_t type_rank;
  };
  constexpr int kTypes = static_cast<int>(IndicatorType::kEmail) + 1;
  std::array<uint8_t, kTypes> type_rank{};  // rank of each type's name in byte order
  for (int t = 0; t < kTypes; ++t) {
    for (int other = 0; other < kTypes; ++other) {
      if (IndicatorTypeName(static_cast<IndicatorType>(other)) <
          IndicatorTypeName(static_cast<IndicatorType>(t))) {
        ++type_rank[t];
      }
    }
  }
  std::vector<SortKey> keys(indicators.size());
  for (uint32_t i = 0; i < keys.size(); ++i) {
    const std::string& value = indicators[i].value;
    uint64_t prefix = 0;
    for (size_t b = 0; b < 8; ++b) {
      prefix = prefix << 8 | (b < value.size() ? static_cast<unsigned char>(value[b]) : 0);
    }
    keys[i] = {prefix, i, type_rank[static_cast<int>(indicators[i].type)]};
  }
  std::stable_sort(keys.begin(), keys.end(), [&](const SortKey& a, const SortKey& b) {
    if (a.type_rank != b.type_rank) return a.type_rank < b.type_rank;
    if (a.value_prefix != b.value_prefix) return a.value_prefix < b.value_prefix;
    return indicators[a.position].value < indicators[b.position].value;
  });
  std::vector<uint32_t> order(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) order[i] = keys[i].position;
  return order;
}

Result<uint64_t> SqliteStore::PutIndicators(std::span<const Indicator> indicators) {
  if (indicators.empty()) return 0;
  if (indicators.size() > std::numeric_limits<uint32_t>::max()) {
    return Fail("too many indicators in one batch", "indicators");
  }
  std::lock_guard lock(mutex_);
  Transaction transaction(*this);
  if (auto ok = transaction.Begin(begin_write_.get()); !ok) return std::unexpected(ok.error());
  // A feed's indicators arrive together and share one tag list: encode each run of
  // equal lists once, walking in input order (the key order below jumps about).
  std::vector<std::string> tag_lists;
  std::vector<uint32_t> tag_list_of(indicators.size());
  for (size_t i = 0; i < indicators.size(); ++i) {
    if (i == 0 || indicators[i].meta.tags != indicators[i - 1].meta.tags) {
      tag_lists.push_back(TagsToJson(indicators[i].meta.tags));
    }
    tag_list_of[i] = static_cast<uint32_t>(tag_lists.size() - 1);
  }
  sqlite3_stmt* stmt = upsert_indicator_.get();
  for (uint32_t position : KeyOrder(indicators)) {
    const Indicator& indicator = indicators[position];
    const IndicatorMeta& meta = indicator.meta;
    const std::string& tags = tag_lists[tag_list_of[position]];
    StatementUse use(stmt);
    use.Text(1, IndicatorTypeName(indicator.type));
    use.Text(2, indicator.value);
    use.Text(3, meta.source);
    use.Int(4, meta.confidence);
    use.Int(5, static_cast<int64_t>(meta.tlp));
    use.Text(6, tags);
    use.Int(7, meta.first_seen_ns);
    use.Int(8, meta.last_seen_ns);
    use.Int(9, meta.valid_until_ns);
    use.Text(10, meta.description);
    use.Int(11, static_cast<int64_t>(meta.severity));
    if (use.Step() != SQLITE_DONE) {
      return std::unexpected(Failure("storing indicator " +
                                     std::string(IndicatorTypeName(indicator.type)) + " " +
                                     indicator.value));
    }
  }
  if (auto ok = transaction.Commit(); !ok) return std::unexpected(ok.error());
  return indicators.size();
}

Result<void> SqliteStore::ReadIndicator(sqlite3_stmt* stmt, Indicator& indicator) {
  std::string_view value = ColumnText(stmt, 1);
  auto type = IndicatorTypeFromColumn(ColumnText(stmt, 0));
  if (!type) return RowError(type.error(), value);
  indicator.type = *type;
  indicator.value.assign(value);
  IndicatorMeta& meta = indicator.meta;
  meta.source.assign(ColumnText(stmt, 2));
  meta.confidence = static_cast<int>(ColumnInt(stmt, 3));
  auto tlp = TlpFromColumn(ColumnInt(stmt, 4));
  if (!tlp) return RowError(tlp.error(), value);
  meta.tlp = *tlp;
  auto tags = json_.Tags(ColumnText(stmt, 5), "tags");
  if (!tags) return RowError(tags.error(), value);
  meta.tags = std::move(*tags);
  meta.first_seen_ns = ColumnInt(stmt, 6);
  meta.last_seen_ns = ColumnInt(stmt, 7);
  meta.valid_until_ns = ColumnInt(stmt, 8);
  meta.description.assign(ColumnText(stmt, 9));
  auto severity = SeverityFromColumn(ColumnInt(stmt, 10));
  if (!severity) return RowError(severity.error(), value);
  meta.severity = *severity;
  return {};
}

Result<uint64_t> SqliteStore::ForEachIndicator(const std::function<void(const Indicator&)>& fn) {
  std::lock_guard lock(mutex_);
  // One statement is one read transaction: a consistent snapshot, while writers
  // on other connections carry on (WAL).
  StatementUse use(select_indicators_.get());
  Indicator indicator;
  uint64_t visited = 0;
  int rc;
  while ((rc = use.Step()) == SQLITE_ROW) {
    if (auto ok = ReadIndicator(use.get(), indicator); !ok) return std::unexpected(ok.error());
    fn(indicator);
    ++visited;
  }
  if (rc != SQLITE_DONE) return std::unexpected(Failure("reading indicators"));
  return visited;
}

Result<IndicatorCounts> SqliteStore::CountIndicators() {
  std::lock_guard lock(mutex_);
  Transaction transaction(*this);  // both queries see the same snapshot
  if (auto ok = transaction.Begin(begin_read_.get()); !ok) return std::unexpected(ok.error());
  IndicatorCounts counts;
  auto collect = [&](sqlite3_stmt* stmt, auto& out) -> Result<void> {
    StatementUse use(stmt);
    int rc;
    while ((rc = use.Step()) == SQLITE_ROW) {
      out.emplace_back(std::string(ColumnText(stmt, 0)), static_cast<uint64_t>(ColumnInt(stmt, 1)));
    }
    if (rc != SQLITE_DONE) return std::unexpected(Failure("counting indicators"));
    return {};
  };
  if (auto ok = collect(indicator_types_.get(), counts.by_type); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = collect(indicator_sources_.get(), counts.by_source); !ok) {
    return std::unexpected(ok.error());
  }
  for (const auto& [type, n] : counts.by_type) counts.total += n;
  if (auto ok = transaction.Commit(); !ok) return std::unexpected(ok.error());
  return counts;
}

Result<uint64_t> SqliteStore::DeleteIndicatorsFromSource(const std::string& source) {
  std::lock_guard lock(mutex_);
  StatementUse use(delete_source_.get());
  use.Text(1, source);
  if (use.Step() != SQLITE_DONE) return std::unexpected(Failure("deleting indicators"));
  return static_cast<uint64_t>(sqlite3_changes64(db_));
}

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  const bool in_memory = path == ":memory:";
  if (path.empty()) return Fail("empty SQLite database path");
  if (!in_memory) {
    std::filesystem::path parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty() && !std::filesystem::exists(parent, ec)) {
      std::filesystem::create_directories(parent, ec);
      if (ec) {
        Error e;
        e.where = path;
        e.reason = "cannot create directory " + parent.string() + ": " + ec.message();
        return std::unexpected(std::move(e));
      }
    }
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    Error e = SqliteError(db, "cannot open database", path);
    sqlite3_close(db);
    return std::unexpected(std::move(e));
  }
  auto store = std::make_unique<SqliteStore>(db, path);  // owns db from here
  if (auto ok = store->Initialise(in_memory); !ok) return std::unexpected(ok.error());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace aegis::store::internal
