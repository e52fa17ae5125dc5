// SQLite implementation of intel::StixStore: see intel/stix_store.h and docs/STIX.md
// ("Store").
//
// Tables (component "stix"): stix_collections, stix_objects (one row per stored
// version, with is_latest / is_first / spec_latest flags kept right on every insert
// and delete), stix_status and stix_status_details. Objects refer to their collection
// by its integer `seq`, which keeps the three object indexes small.
//
// One writer connection behind `writer_mutex_`; readers borrow a connection from a
// small pool (`pool_mutex_`), each with its own prepared-statement cache, so reads
// run beside ingest on WAL snapshots.
#include "intel/stix_store.h"

#include <openssl/rand.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "store/sqlite.h"

namespace aegis::intel {

namespace sql = store::sqlite;

namespace {

constexpr std::string_view kComponent = "stix";
constexpr char kListSeparator = '\x1f';  // joins markings, share lists, reader lists
constexpr size_t kMaxReaders = 8;

constexpr sql::Migration kMigrations[] = {
    {1, "STIX collections, objects and TAXII status",
     R"sql(
CREATE TABLE stix_collections (
  seq           INTEGER PRIMARY KEY,
  id            TEXT NOT NULL UNIQUE,
  alias         TEXT UNIQUE,
  title         TEXT NOT NULL,
  description   TEXT NOT NULL DEFAULT '',
  readers       TEXT NOT NULL DEFAULT '',
  writers       TEXT NOT NULL DEFAULT '',
  media_types   TEXT NOT NULL DEFAULT '',
  created_at    TEXT NOT NULL,
  object_count  INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE stix_objects (
  seq           INTEGER PRIMARY KEY,
  coll          INTEGER NOT NULL REFERENCES stix_collections(seq),
  id            TEXT NOT NULL,
  version       TEXT NOT NULL,
  version_us    INTEGER NOT NULL,
  spec_version  TEXT NOT NULL,
  type          TEXT NOT NULL,
  date_added_us INTEGER NOT NULL,
  producer_org  TEXT NOT NULL,
  tlp           INTEGER NOT NULL,
  markings      TEXT NOT NULL,
  share_with    TEXT NOT NULL,
  is_latest     INTEGER NOT NULL,
  is_first      INTEGER NOT NULL,
  spec_latest   INTEGER NOT NULL,
  json          TEXT NOT NULL
);
CREATE INDEX stix_objects_by_added ON stix_objects(coll, date_added_us, id, version);
CREATE UNIQUE INDEX stix_objects_by_id ON stix_objects(coll, id, version_us);
CREATE INDEX stix_objects_by_type ON stix_objects(coll, type, date_added_us, id, version);
CREATE TABLE stix_status (
  id                TEXT PRIMARY KEY,
  status            TEXT NOT NULL,
  request_timestamp TEXT NOT NULL,
  total_count       INTEGER NOT NULL,
  success_count     INTEGER NOT NULL,
  failure_count     INTEGER NOT NULL,
  pending_count     INTEGER NOT NULL,
  owner_org         TEXT NOT NULL
);
CREATE TABLE stix_status_details (
  status_id  TEXT NOT NULL REFERENCES stix_status(id) ON DELETE CASCADE,
  position   INTEGER NOT NULL,
  kind       INTEGER NOT NULL,   -- 0 success, 1 failure, 2 duplicate (a success)
  object_id  TEXT NOT NULL,
  version    TEXT NOT NULL,
  message    TEXT NOT NULL,
  PRIMARY KEY (status_id, position)
);
)sql"},
    // Successes (most of every status) as one compact column instead of a row each:
    // "id US version US kind RS ..." (US = 0x1f, RS = 0x1e; ids and versions never hold
    // control characters). Failures, with their free-text messages, stay rows.
    {2, "TAXII status successes in one column",
     "ALTER TABLE stix_status ADD COLUMN successes TEXT NOT NULL DEFAULT ''"},
};

// ---------------------------------------------------------------------------
// Small helpers

std::unexpected<Error> FailAt(std::string_view where, std::string field, std::string reason) {
  Error e;
  e.where = std::string(where);
  e.field = std::move(field);
  e.reason = std::move(reason);
  return std::unexpected<Error>(std::move(e));
}

std::string JoinList(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += kListSeparator;
    for (char c : item) {
      if (c != kListSeparator) out += c;
    }
  }
  return out;
}

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  size_t start = 0;
  while (true) {
    size_t end = text.find(kListSeparator, start);
    out.emplace_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// "2026-11-23T12:05:01.123456Z"
std::string FormatMicros(int64_t us) {
  int64_t secs = us >= 0 ? us / 1'000'000 : (us - 999'999) / 1'000'000;
  const int64_t frac = us - secs * 1'000'000;
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  const int64_t rem = secs - days * 86400;
  // civil_from_days
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%06lldZ",
                static_cast<long long>(y), m, d, static_cast<int>(rem / 3600),
                static_cast<int>(rem % 3600 / 60), static_cast<int>(rem % 60),
                static_cast<long long>(frac));
  return buf;
}

// RFC 3339 UTC timestamp "YYYY-MM-DDTHH:MM:SS[.fraction]Z" → microseconds
// (fraction beyond microseconds is truncated).
std::optional<int64_t> ParseMicros(std::string_view t) {
  auto digits = [&](size_t at, size_t n) -> std::optional<int> {
    if (at + n > t.size()) return std::nullopt;
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return std::nullopt;
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != 't') ||
      t[13] != ':' || t[16] != ':') {
    return std::nullopt;
  }
  auto y = digits(0, 4), mo = digits(5, 2), d = digits(8, 2), h = digits(11, 2), mi = digits(14, 2),
       s = digits(17, 2);
  if (!y || !mo || !d || !h || !mi || !s) return std::nullopt;
  if (*mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *h > 23 || *mi > 59 || *s > 60) {
    return std::nullopt;
  }
  size_t at = 19;
  int64_t frac = 0;
  if (at < t.size() && t[at] == '.') {
    ++at;
    size_t n = 0;
    while (at < t.size() && t[at] >= '0' && t[at] <= '9') {
      if (n < 6) frac = frac * 10 + (t[at] - '0');
      ++n;
      ++at;
    }
    if (n == 0) return std::nullopt;
    for (size_t i = n; i < 6; ++i) frac *= 10;
  }
  if (at + 1 != t.size() || (t[at] != 'Z' && t[at] != 'z')) return std::nullopt;
  const int64_t days = DaysFromCivil(*y, static_cast<unsigned>(*mo), static_cast<unsigned>(*d));
  return (days * 86400 + *h * 3600 + *mi * 60 + *s) * 1'000'000 + frac;
}

std::string NewUuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) {
    // Fall back to the clock and address entropy; uniqueness is still checked by SQLite.
    const int64_t now = NowMicros();
    for (int i = 0; i < 16; ++i) b[i] = static_cast<unsigned char>((now >> ((i % 8) * 8)) ^ i * 37);
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 15];
  }
  return out;
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

bool IsAlias(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9');
}

std::string Minify(std::string_view json) {
  std::string out(json.size(), '\0');
  size_t length = 0;
  if (simdjson::minify(json.data(), json.size(), out.data(), length)) return std::string(json);
  out.resize(length);
  return out;
}

// Base64url without padding.
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Base64UrlEncode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (const size_t rest = in.size() - i; rest > 0) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    if (rest == 2) out += kB64[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view in) {
  if (in.size() % 4 == 1) return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : in) {
    const int v = value(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  return out;
}

// The reader connections: one borrowed per read call, returned afterwards.
struct ReaderConnection {
  sql::Db db;
  std::unordered_map<std::string, sql::Statement> statements;  // by SQL text

  Result<sqlite3_stmt*> Get(const std::string& text, std::string_view where) {
    auto found = statements.find(text);
    if (found != statements.end()) return found->second.get();
    auto prepared = sql::Prepare(db.get(), text, where);
    if (!prepared) return std::unexpected(prepared.error());
    sqlite3_stmt* raw = prepared->get();
    statements.emplace(text, std::move(*prepared));
    return raw;
  }
};

// Bind values collected while building a query.
struct Binding {
  enum class Kind { kText, kInt } kind;
  std::string text;
  int64_t number = 0;
};

void BindAll(sql::StatementUse& use, const std::vector<Binding>& bindings) {
  for (size_t i = 0; i < bindings.size(); ++i) {
    if (bindings[i].kind == Binding::Kind::kText) {
      use.Text(static_cast<int>(i + 1), bindings[i].text);
    } else {
      use.Int(static_cast<int>(i + 1), bindings[i].number);
    }
  }
}

// Columns read by every object query, in this order.
constexpr std::string_view kObjectColumns =
    "id, version, version_us, spec_version, type, date_added_us, producer_org, tlp, markings, "
    "share_with";

ObjectMeta MetaFromRow(sqlite3_stmt* stmt, const std::string& collection_id) {
  ObjectMeta meta;
  meta.collection_id = collection_id;
  meta.id = sql::ColumnText(stmt, 0);
  meta.version = sql::ColumnText(stmt, 1);
  meta.version_us = sql::ColumnInt(stmt, 2);
  meta.spec_version = sql::ColumnText(stmt, 3);
  meta.type = sql::ColumnText(stmt, 4);
  meta.date_added_us = sql::ColumnInt(stmt, 5);
  meta.producer_org = sql::ColumnText(stmt, 6);
  const int64_t tlp = sql::ColumnInt(stmt, 7);
  meta.tlp = tlp >= 0 && tlp <= static_cast<int64_t>(Tlp::kRed) ? static_cast<Tlp>(tlp) : Tlp::kRed;
  meta.markings = SplitList(sql::ColumnText(stmt, 8));
  meta.share_with = SplitList(sql::ColumnText(stmt, 9));
  if (meta.spec_version != "2.1") {
    meta.media_type = "application/stix+json;version=" + meta.spec_version;
  }
  return meta;
}

// The versions of one id already stored in a collection (writer side).
struct ExistingVersion {
  int64_t seq;
  int64_t version_us;
  std::string spec_version;
  bool is_latest, is_first, spec_latest;
};

class SqliteStixStore final : public StixStore {
 public:
  explicit SqliteStixStore(std::string path) : path_(std::move(path)) {}

  Result<void> Init() {
    if (path_.empty() || path_ == ":memory:" || path_.starts_with("file:")) {
      return FailAt(path_, "db_path",
                    "the STIX store needs a database file (readers use their own connections)");
    }
    std::error_code ec;
    const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) return FailAt(parent.string(), "", "cannot create directory: " + ec.message());
    auto db = sql::OpenDatabase(path_);
    if (!db) return std::unexpected(db.error());
    writer_ = std::move(*db);
    // Checkpoint less often than every 1,000 pages: bulk ingest writes fewer, larger
    // checkpoints (the WAL stays under ~64 MiB).
    if (auto tuned = sql::ExecSql(writer_.get(), "PRAGMA wal_autocheckpoint = 16384", path_);
        !tuned) {
      return std::unexpected(tuned.error());
    }
    auto applied = sql::ApplyComponentMigrations(writer_.get(), kComponent, kMigrations, path_);
    if (!applied) return std::unexpected(applied.error());
    return PrepareWriter();
  }

  Result<Collection> CreateCollection(Collection c) override {
    if (c.id.empty()) {
      c.id = NewUuid();
    } else if (!IsUuid(c.id)) {
      return FailAt(path_, "id", "a collection id must be a UUID, got '" + c.id + "'");
    }
    if (!c.alias.empty()) {
      if (!IsAlias(c.alias) || IsUuid(c.alias)) {
        return FailAt(path_, "alias",
                      "'" + c.alias +
                          "' is not a valid alias (1-64 of a-z 0-9 - _ ., starting with a letter "
                          "or digit, not a UUID)");
      }
    }
    if (c.title.empty()) c.title = c.alias;
    if (c.title.empty()) return FailAt(path_, "title", "a collection needs a title or an alias");
    if (c.created_at.empty()) c.created_at = FormatMicros(NowMicros());
    std::lock_guard lock(writer_mutex_);
    auto stmt = sql::Prepare(writer_.get(),
                             "INSERT INTO stix_collections(id, alias, title, description, readers, "
                             "writers, media_types, created_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
                             path_);
    if (!stmt) return std::unexpected(stmt.error());
    sql::StatementUse use(stmt->get());
    use.Text(1, c.id);
    if (c.alias.empty()) {
      use.Null(2);
    } else {
      use.Text(2, c.alias);
    }
    use.Text(3, c.title);
    use.Text(4, c.description);
    const std::string readers = JoinList(c.access.readers), writers = JoinList(c.access.writers),
                      media = JoinList(c.media_types);
    use.Text(5, readers);
    use.Text(6, writers);
    use.Text(7, media);
    use.Text(8, c.created_at);
    if (use.Step() != SQLITE_DONE) {
      if (sqlite3_extended_errcode(writer_.get()) == SQLITE_CONSTRAINT_UNIQUE) {
        const std::string message = sqlite3_errmsg(writer_.get());
        if (message.find("alias") != std::string::npos) {
          return FailAt(path_, "alias", "alias '" + c.alias + "' is already used");
        }
        return FailAt(path_, "id", "collection '" + c.id + "' already exists");
      }
      return std::unexpected(sql::SqliteError(writer_.get(), "creating collection", path_));
    }
    return c;
  }

  Result<std::vector<Collection>> ListCollections() override {
    auto lease = Borrow();
    if (!lease) return std::unexpected(lease.error());
    auto stmt = (*lease)->Get(std::string(kCollectionSelect) + " ORDER BY seq", path_);
    if (!stmt) return std::unexpected(stmt.error());
    std::vector<Collection> out;
    sql::StatementUse use(*stmt);
    int rc;
    while ((rc = use.Step()) == SQLITE_ROW) out.push_back(CollectionFromRow(*stmt));
    if (rc != SQLITE_DONE) return std::unexpected(Failed("listing collections"));
    return out;
  }

  Result<std::optional<Collection>> GetCollection(std::string_view id_or_alias) override {
    auto lease = Borrow();
    if (!lease) return std::unexpected(lease.error());
    auto stmt =
        (*lease)->Get(std::string(kCollectionSelect) + " WHERE id = ?1 OR alias = ?1", path_);
    if (!stmt) return std::unexpected(stmt.error());
    std::optional<Collection> out;
    int rc;
    {
      sql::StatementUse use(*stmt);
      use.Text(1, id_or_alias);
      rc = use.Step();
      if (rc == SQLITE_ROW) out = CollectionFromRow(*stmt);
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return std::unexpected(Failed("reading collection"));
    return out;
  }

  Result<AddResult> AddObjects(const AddRequest& request,
                               std::span<const stix::StixObject> objects) override;
  Result<ObjectPage> Query(const ObjectQuery& query) override { return RunQuery(query, false); }
  Result<ObjectPage> Versions(const ObjectQuery& query) override { return RunQuery(query, true); }
  Result<uint64_t> Delete(const DeleteQuery& query) override;

  Result<uint64_t> CountObjects(std::string_view collection_id) override {
    auto lease = Borrow();
    if (!lease) return std::unexpected(lease.error());
    auto stmt = (*lease)->Get(
        "SELECT object_count FROM stix_collections WHERE id = ?1 OR alias = ?1", path_);
    if (!stmt) return std::unexpected(stmt.error());
    int rc;
    uint64_t count = 0;
    {
      sql::StatementUse use(*stmt);
      use.Text(1, collection_id);
      rc = use.Step();
      if (rc == SQLITE_ROW) count = static_cast<uint64_t>(sql::ColumnInt(*stmt, 0));
    }
    if (rc == SQLITE_DONE) {
      return FailAt(path_, "collection_id", "no collection '" + std::string(collection_id) + "'");
    }
    if (rc != SQLITE_ROW) return std::unexpected(Failed("counting objects"));
    return count;
  }

  Result<void> PutStatus(const StatusRecord& status) override;
  Result<std::optional<StatusRecord>> GetStatus(std::string_view id) override;
  Result<std::string> ExportBundle(const ObjectQuery& query) override;

  void AddObjectsAddedHook(ObjectsAddedHook hook) override {
    std::lock_guard lock(hooks_mutex_);
    hooks_.push_back(std::move(hook));
  }

 private:
  static constexpr std::string_view kCollectionSelect =
      "SELECT id, COALESCE(alias, ''), title, description, readers, writers, media_types, "
      "created_at FROM stix_collections";

  static Collection CollectionFromRow(sqlite3_stmt* stmt) {
    Collection c;
    c.id = sql::ColumnText(stmt, 0);
    c.alias = sql::ColumnText(stmt, 1);
    c.title = sql::ColumnText(stmt, 2);
    c.description = sql::ColumnText(stmt, 3);
    c.access.readers = SplitList(sql::ColumnText(stmt, 4));
    c.access.writers = SplitList(sql::ColumnText(stmt, 5));
    c.media_types = SplitList(sql::ColumnText(stmt, 6));
    c.created_at = sql::ColumnText(stmt, 7);
    return c;
  }

  Error Failed(std::string_view what) const {
    Error e;
    e.where = path_;
    e.reason = std::string(what) + " failed";
    return e;
  }

  // --- reader pool -------------------------------------------------------
  // A borrowed reader connection, returned to the pool when the lease ends.
  class Lease {
   public:
    Lease(SqliteStixStore* store, std::unique_ptr<ReaderConnection> connection)
        : store_(store), connection_(std::move(connection)) {}
    Lease(Lease&& other) noexcept
        : store_(other.store_), connection_(std::move(other.connection_)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (connection_) store_->Release(std::move(connection_));
    }
    ReaderConnection* operator->() const { return connection_.get(); }
    ReaderConnection& operator*() const { return *connection_; }

   private:
    SqliteStixStore* store_;
    std::unique_ptr<ReaderConnection> connection_;
  };

  Result<Lease> Borrow() {
    {
      std::unique_lock lock(pool_mutex_);
      pool_ready_.wait(lock, [&] { return !idle_.empty() || open_readers_ < kMaxReaders; });
      if (!idle_.empty()) {
        std::unique_ptr<ReaderConnection> connection = std::move(idle_.back());
        idle_.pop_back();
        return Lease(this, std::move(connection));
      }
      ++open_readers_;
    }
    auto db = sql::OpenDatabase(path_, {.create = false});
    if (!db) {
      std::lock_guard lock(pool_mutex_);
      --open_readers_;
      pool_ready_.notify_one();
      return std::unexpected(db.error());
    }
    auto connection = std::make_unique<ReaderConnection>();
    connection->db = std::move(*db);
    return Lease(this, std::move(connection));
  }

  void Release(std::unique_ptr<ReaderConnection> lease) {
    std::lock_guard lock(pool_mutex_);
    idle_.push_back(std::move(lease));
    pool_ready_.notify_one();
  }

  // Collection id or alias → internal seq (and canonical id), cached: collections
  // are never deleted.
  Result<std::pair<int64_t, std::string>> CollectionSeq(sqlite3* db, std::string_view id_or_alias) {
    {
      std::lock_guard lock(collections_mutex_);
      auto found = collection_seqs_.find(std::string(id_or_alias));
      if (found != collection_seqs_.end()) return found->second;
    }
    sql::Statement owned;
    auto stmt =
        sql::Prepare(db, "SELECT seq, id FROM stix_collections WHERE id = ?1 OR alias = ?1", path_);
    if (!stmt) return std::unexpected(stmt.error());
    owned = std::move(*stmt);
    sql::StatementUse use(owned.get());
    use.Text(1, id_or_alias);
    const int rc = use.Step();
    if (rc == SQLITE_DONE) {
      return FailAt(path_, "collection_id", "no collection '" + std::string(id_or_alias) + "'");
    }
    if (rc != SQLITE_ROW) return std::unexpected(sql::SqliteError(db, "finding collection", path_));
    std::pair<int64_t, std::string> out{sql::ColumnInt(owned.get(), 0),
                                        std::string(sql::ColumnText(owned.get(), 1))};
    std::lock_guard lock(collections_mutex_);
    collection_seqs_.emplace(std::string(id_or_alias), out);
    return out;
  }

  // --- writer ---------------------------------------------------------------
  Result<void> PrepareWriter() {
    struct Item {
      sql::Statement* target;
      std::string_view text;
    };
    const Item items[] = {
        {&max_added_, "SELECT MAX(date_added_us) FROM stix_objects WHERE coll = ?1"},
        {&versions_of_id_,
         "SELECT seq, version_us, spec_version, is_latest, is_first, spec_latest FROM stix_objects "
         "WHERE coll = ?1 AND id = ?2 ORDER BY version_us"},
        {&json_of_seq_, "SELECT json FROM stix_objects WHERE seq = ?1"},
        {&insert_object_,
         "INSERT INTO stix_objects(coll, id, version, version_us, spec_version, type, "
         "date_added_us, producer_org, tlp, markings, share_with, is_latest, is_first, "
         "spec_latest, json) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)"},
        {&set_flags_,
         "UPDATE stix_objects SET is_latest = ?2, is_first = ?3, spec_latest = ?4 WHERE seq = ?1"},
        {&add_count_,
         "UPDATE stix_collections SET object_count = object_count + ?2 WHERE seq = ?1"},
        {&delete_seq_, "DELETE FROM stix_objects WHERE seq = ?1"},
    };
    for (const Item& item : items) {
      auto stmt = sql::Prepare(writer_.get(), item.text, path_);
      if (!stmt) return std::unexpected(stmt.error());
      *item.target = std::move(*stmt);
    }
    return {};
  }

  Result<std::vector<ExistingVersion>> LoadVersions(int64_t coll, std::string_view id) {
    std::vector<ExistingVersion> out;
    sql::StatementUse use(versions_of_id_.get());
    use.Int(1, coll);
    use.Text(2, id);
    int rc;
    while ((rc = use.Step()) == SQLITE_ROW) {
      sqlite3_stmt* s = versions_of_id_.get();
      out.push_back({sql::ColumnInt(s, 0), sql::ColumnInt(s, 1), std::string(sql::ColumnText(s, 2)),
                     sql::ColumnInt(s, 3) != 0, sql::ColumnInt(s, 4) != 0,
                     sql::ColumnInt(s, 5) != 0});
    }
    if (rc != SQLITE_DONE) {
      return std::unexpected(sql::SqliteError(writer_.get(), "reading versions", path_));
    }
    return out;
  }

  Result<std::string> JsonOfSeq(int64_t seq) {
    sql::StatementUse use(json_of_seq_.get());
    use.Int(1, seq);
    if (use.Step() != SQLITE_ROW) {
      return std::unexpected(sql::SqliteError(writer_.get(), "reading stored object", path_));
    }
    return std::string(sql::ColumnText(json_of_seq_.get(), 0));
  }

  Result<void> SetFlags(int64_t seq, bool latest, bool first, bool spec_latest) {
    sql::StatementUse use(set_flags_.get());
    use.Int(1, seq);
    use.Int(2, latest);
    use.Int(3, first);
    use.Int(4, spec_latest);
    if (use.Step() != SQLITE_DONE) {
      return std::unexpected(sql::SqliteError(writer_.get(), "updating version flags", path_));
    }
    return {};
  }

  Result<void> AddCount(int64_t coll, int64_t delta) {
    sql::StatementUse use(add_count_.get());
    use.Int(1, coll);
    use.Int(2, delta);
    if (use.Step() != SQLITE_DONE) {
      return std::unexpected(sql::SqliteError(writer_.get(), "counting objects", path_));
    }
    return {};
  }

  Result<ObjectPage> RunQuery(const ObjectQuery& query, bool versions_mode);

  std::string path_;

  std::mutex writer_mutex_;  // guards writer_, its statements and share_parser_
  sql::Db writer_;
  sql::Statement max_added_, versions_of_id_, json_of_seq_, insert_object_, set_flags_, add_count_,
      delete_seq_;
  simdjson::dom::parser share_parser_;

  std::mutex pool_mutex_;  // guards idle_ and open_readers_
  std::condition_variable pool_ready_;
  std::vector<std::unique_ptr<ReaderConnection>> idle_;
  size_t open_readers_ = 0;

  std::mutex collections_mutex_;  // guards collection_seqs_
  std::unordered_map<std::string, std::pair<int64_t, std::string>> collection_seqs_;

  std::mutex hooks_mutex_;  // guards hooks_
  std::vector<ObjectsAddedHook> hooks_;
};

// ---------------------------------------------------------------------------
// AddObjects

Result<AddResult> SqliteStixStore::AddObjects(const AddRequest& request,
                                              std::span<const stix::StixObject> objects) {
  if (request.producer_org.empty()) {
    return FailAt(path_, "producer_org", "the producing organisation is required");
  }
  AddResult result;
  result.outcomes.reserve(objects.size());
  std::vector<StoredObject> added_rows;
  bool want_rows;
  {
    std::lock_guard lock(hooks_mutex_);
    want_rows = !hooks_.empty();
  }
  std::vector<ObjectsAddedHook> hooks;
  {
    std::lock_guard lock(writer_mutex_);
    auto coll = CollectionSeq(writer_.get(), request.collection_id);
    if (!coll) return std::unexpected(coll.error());
    const auto& [coll_seq, coll_id] = *coll;
    auto tx = sql::Transaction::Begin(writer_.get(), path_);
    if (!tx) return std::unexpected(tx.error());

    int64_t last_added = 0;
    {
      sql::StatementUse use(max_added_.get());
      use.Int(1, coll_seq);
      if (use.Step() != SQLITE_ROW) {
        return std::unexpected(sql::SqliteError(writer_.get(), "reading date_added", path_));
      }
      last_added = sql::ColumnInt(max_added_.get(), 0);
    }
    int64_t next_added = std::max(NowMicros(), last_added + 1);

    for (const stix::StixObject& object : objects) {
      AddOutcome outcome;
      outcome.id = object.id;
      outcome.version = object.version;
      auto fail_object = [&](std::string message) {
        outcome.kind = AddOutcome::Kind::kFailed;
        outcome.message = std::move(message);
        ++result.failed;
        result.outcomes.push_back(std::move(outcome));
      };
      if (object.id.empty() || object.type.empty() || object.json.empty()) {
        fail_object("not a validated STIX object (id, type and JSON are required)");
        continue;
      }
      // Sharing list from the custom property.
      std::vector<std::string> share_with;
      if (object.json.find("\"x_aegis_share_with\"") != std::string::npos) {
        simdjson::dom::element root;
        if (share_parser_.parse(object.json).get(root)) {
          fail_object("not valid JSON");
          continue;
        }
        simdjson::dom::element list_element;
        simdjson::dom::array list;
        bool bad = false;
        if (!root["x_aegis_share_with"].get(list_element)) {
          if (list_element.get_array().get(list)) {
            bad = true;
          } else {
            for (simdjson::dom::element item : list) {
              std::string_view org;
              if (item.get_string().get(org) || org.empty()) {
                bad = true;
                break;
              }
              share_with.emplace_back(org);
            }
          }
        }
        if (bad) {
          fail_object("x_aegis_share_with: must be a list of organisation ids (strings)");
          continue;
        }
      }

      auto existing = LoadVersions(coll_seq, object.id);
      if (!existing) return std::unexpected(existing.error());
      const bool versioned = !object.version.empty();
      int64_t version_us = 0;
      if (versioned) {
        version_us = object.version_ns >= 0 ? object.version_ns / 1000
                                            : -((-object.version_ns + 999) / 1000);
      }
      // Same version already stored (versioned), or the latest content (unversioned).
      const ExistingVersion* same = nullptr;
      if (versioned) {
        for (const ExistingVersion& e : *existing) {
          if (e.version_us == version_us) same = &e;
        }
      } else if (!existing->empty()) {
        same = &existing->back();
      }
      if (same != nullptr) {
        auto stored = JsonOfSeq(same->seq);
        if (!stored) return std::unexpected(stored.error());
        if (Minify(*stored) == Minify(object.json)) {
          outcome.kind = AddOutcome::Kind::kDuplicate;
          ++result.duplicates;
          result.outcomes.push_back(std::move(outcome));
          continue;
        }
        if (versioned) {
          fail_object("version " + object.version +
                      " of this object is already stored with different content (conflict); a "
                      "changed object needs a new `modified`");
          continue;
        }
      }

      const int64_t date_added = next_added++;
      if (!versioned) version_us = date_added;
      const std::string version = versioned ? object.version : FormatMicros(date_added);
      const std::string spec = object.spec_version.empty() ? "2.1" : object.spec_version;

      bool is_latest = true, is_first = true, spec_latest = true;
      std::string max_spec;
      for (const ExistingVersion& e : *existing) max_spec = std::max(max_spec, e.spec_version);
      for (const ExistingVersion& e : *existing) {
        if (e.version_us > version_us) is_latest = false;
        if (e.version_us < version_us) is_first = false;
      }
      spec_latest = spec >= max_spec;
      for (const ExistingVersion& e : *existing) {
        const bool new_latest = is_latest ? false : e.is_latest;
        const bool new_first = is_first ? false : e.is_first;
        const bool new_spec = spec > max_spec ? false : e.spec_latest;
        if (new_latest != e.is_latest || new_first != e.is_first || new_spec != e.spec_latest) {
          if (auto set = SetFlags(e.seq, new_latest, new_first, new_spec); !set) {
            return std::unexpected(set.error());
          }
        }
      }

      const std::string markings = JoinList(object.object_marking_refs);
      const std::string shares = JoinList(share_with);
      auth::SharedObject shared;
      shared.markings = object.object_marking_refs;
      const Tlp tlp = auth::ResolveTlp(shared).tlp;
      {
        sql::StatementUse use(insert_object_.get());
        use.Int(1, coll_seq);
        use.Text(2, object.id);
        use.Text(3, version);
        use.Int(4, version_us);
        use.Text(5, spec);
        use.Text(6, object.type);
        use.Int(7, date_added);
        use.Text(8, request.producer_org);
        use.Int(9, static_cast<int64_t>(tlp));
        use.Text(10, markings);
        use.Text(11, shares);
        use.Int(12, is_latest);
        use.Int(13, is_first);
        use.Int(14, spec_latest);
        use.Text(15, object.json);
        if (use.Step() != SQLITE_DONE) {
          return std::unexpected(sql::SqliteError(writer_.get(), "storing " + object.id, path_));
        }
      }
      outcome.version = version;
      if (result.added == 0) result.first_added_us = date_added;
      result.last_added_us = date_added;
      ++result.added;
      if (want_rows) {
        StoredObject row;
        row.meta.collection_id = coll_id;
        row.meta.id = object.id;
        row.meta.type = object.type;
        row.meta.version = version;
        row.meta.version_us = version_us;
        row.meta.spec_version = spec;
        row.meta.date_added_us = date_added;
        row.meta.producer_org = request.producer_org;
        row.meta.markings = object.object_marking_refs;
        row.meta.share_with = std::move(share_with);
        row.meta.tlp = tlp;
        row.json = object.json;
        added_rows.push_back(std::move(row));
      }
      result.outcomes.push_back(std::move(outcome));
    }
    if (result.added > 0) {
      if (auto counted = AddCount(coll_seq, static_cast<int64_t>(result.added)); !counted) {
        return std::unexpected(counted.error());
      }
    }
    if (auto committed = tx->Commit(); !committed) return std::unexpected(committed.error());
  }
  if (!added_rows.empty()) {
    {
      std::lock_guard lock(hooks_mutex_);
      hooks = hooks_;
    }
    for (const ObjectsAddedHook& hook : hooks) hook(added_rows);
  }
  return result;
}

// ---------------------------------------------------------------------------
// Query and Versions

Result<ObjectPage> SqliteStixStore::RunQuery(const ObjectQuery& query, bool versions_mode) {
  if (query.limit == 0) return FailAt(path_, "limit", "must be at least 1");
  if (versions_mode && query.ids.size() != 1) {
    return FailAt(path_, "id", "versions are listed for exactly one object id");
  }
  std::vector<int64_t> listed_versions;
  if (!versions_mode && query.versions == VersionMatch::kList) {
    if (query.version_list.empty()) {
      return FailAt(path_, "match[version]", "no version timestamps given");
    }
    for (const std::string& text : query.version_list) {
      auto us = ParseMicros(text);
      if (!us) {
        return FailAt(path_, "match[version]",
                      "'" + text +
                          "' is not a timestamp (YYYY-MM-DDTHH:MM:SS[.s]Z), first, last "
                          "or all");
      }
      listed_versions.push_back(*us);
    }
  }

  auto lease = Borrow();
  if (!lease) return std::unexpected(lease.error());
  ReaderConnection& reader = **lease;

  auto coll = CollectionSeq(reader.db.get(), query.collection_id);
  if (!coll) return std::unexpected(coll.error());
  const auto& [coll_seq, coll_id] = *coll;

  std::vector<Binding> binds;
  auto bind_int = [&](int64_t v) {
    binds.push_back({Binding::Kind::kInt, {}, v});
    return "?" + std::to_string(binds.size());
  };
  auto bind_text = [&](std::string_view v) {
    binds.push_back({Binding::Kind::kText, std::string(v), 0});
    return "?" + std::to_string(binds.size());
  };
  auto in_list = [&](const std::vector<std::string>& values) {
    std::string out = "(";
    for (size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + bind_text(values[i]);
    return out + ")";
  };

  std::string text = "SELECT ";
  text += kObjectColumns;
  text += query.with_json ? ", json" : ", ''";
  text += " FROM stix_objects INDEXED BY ";
  const bool single_type = query.types.size() == 1 && query.ids.empty();
  if (versions_mode || !query.ids.empty()) {
    text += "stix_objects_by_id";
  } else if (single_type) {
    text += "stix_objects_by_type";
  } else {
    text += "stix_objects_by_added";
  }
  text += " WHERE coll = " + bind_int(coll_seq);
  if (query.added_after_us) text += " AND date_added_us > " + bind_int(*query.added_after_us);
  if (versions_mode) {
    text += " AND id = " + bind_text(query.ids.front());
  } else if (!query.ids.empty()) {
    text += " AND id IN " + in_list(query.ids);
  }
  if (single_type) {
    text += " AND type = " + bind_text(query.types.front());
  } else if (!query.types.empty()) {
    text += " AND type IN " + in_list(query.types);
  }
  if (!query.spec_versions.empty()) {
    text += " AND spec_version IN " + in_list(query.spec_versions);
  } else {
    text += " AND spec_latest = 1";
  }
  if (!versions_mode) {
    switch (query.versions) {
      case VersionMatch::kLast:
        text += " AND is_latest = 1";
        break;
      case VersionMatch::kFirst:
        text += " AND is_first = 1";
        break;
      case VersionMatch::kAll:
        break;
      case VersionMatch::kList: {
        text += " AND version_us IN (";
        for (size_t i = 0; i < listed_versions.size(); ++i) {
          text += (i ? "," : "") + bind_int(listed_versions[i]);
        }
        text += ")";
        break;
      }
    }
  }
  if (query.after) {
    if (versions_mode) {
      // Versions are ordered by (version_us, date_added_us): find the cursor's version.
      int64_t cursor_version_us = 0;
      auto find = reader.Get(
          "SELECT version_us FROM stix_objects WHERE coll = ?1 AND date_added_us = ?2 AND id = ?3",
          path_);
      if (!find) return std::unexpected(find.error());
      {
        sql::StatementUse use(*find);
        use.Int(1, coll_seq);
        use.Int(2, query.after->date_added_us);
        use.Text(3, query.after->id);
        if (use.Step() == SQLITE_ROW) {
          cursor_version_us = sql::ColumnInt(*find, 0);
        } else if (auto parsed = ParseMicros(query.after->version)) {
          cursor_version_us = *parsed;  // the row was deleted since
        } else {
          return FailAt(path_, "next", "the cursor does not point into this object's versions");
        }
      }
      text += " AND (version_us, date_added_us) > (" + bind_int(cursor_version_us) + ", " +
              bind_int(query.after->date_added_us) + ")";
    } else {
      text += " AND (date_added_us, id, version) > (" + bind_int(query.after->date_added_us) +
              ", " + bind_text(query.after->id) + ", " + bind_text(query.after->version) + ")";
    }
  }
  text += versions_mode ? " ORDER BY version_us, date_added_us"
                        : " ORDER BY date_added_us, id, version";

  auto stmt = reader.Get(text, path_);
  if (!stmt) return std::unexpected(stmt.error());
  ObjectPage page;
  page.objects.reserve(std::min<size_t>(query.limit, 4096));
  sql::StatementUse use(*stmt);
  BindAll(use, binds);
  int rc;
  while ((rc = use.Step()) == SQLITE_ROW) {
    ObjectMeta meta = MetaFromRow(*stmt, coll_id);
    if (query.visible && !query.visible(meta)) continue;
    if (page.objects.size() == query.limit) {
      page.more = true;
      break;
    }
    StoredObject row;
    row.meta = std::move(meta);
    if (query.with_json) row.json = sql::ColumnText(*stmt, 10);
    page.objects.push_back(std::move(row));
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    return std::unexpected(sql::SqliteError(reader.db.get(), "reading objects", path_));
  }
  if (!page.objects.empty()) {
    page.first_added_us = page.objects.front().meta.date_added_us;
    page.last_added_us = page.objects.front().meta.date_added_us;
    for (const StoredObject& o : page.objects) {
      page.first_added_us = std::min(page.first_added_us, o.meta.date_added_us);
      page.last_added_us = std::max(page.last_added_us, o.meta.date_added_us);
    }
  }
  if (page.more) {
    const ObjectMeta& last = page.objects.back().meta;
    page.next = Cursor{last.date_added_us, last.id, last.version};
  }
  return page;
}

// ---------------------------------------------------------------------------
// Delete

Result<uint64_t> SqliteStixStore::Delete(const DeleteQuery& query) {
  if (query.id.empty()) return FailAt(path_, "id", "the object id to delete is required");
  std::vector<int64_t> listed;
  if (query.versions == VersionMatch::kList) {
    if (query.version_list.empty()) {
      return FailAt(path_, "match[version]", "no version timestamps given");
    }
    for (const std::string& t : query.version_list) {
      auto us = ParseMicros(t);
      if (!us) return FailAt(path_, "match[version]", "'" + t + "' is not a timestamp");
      listed.push_back(*us);
    }
  }
  std::lock_guard lock(writer_mutex_);
  auto coll = CollectionSeq(writer_.get(), query.collection_id);
  if (!coll) return std::unexpected(coll.error());
  const int64_t coll_seq = coll->first;
  auto tx = sql::Transaction::Begin(writer_.get(), path_);
  if (!tx) return std::unexpected(tx.error());
  auto existing = LoadVersions(coll_seq, query.id);
  if (!existing) return std::unexpected(existing.error());

  std::vector<const ExistingVersion*> candidates;
  for (const ExistingVersion& e : *existing) {
    if (query.spec_versions.empty() ||
        std::find(query.spec_versions.begin(), query.spec_versions.end(), e.spec_version) !=
            query.spec_versions.end()) {
      candidates.push_back(&e);  // ascending version_us
    }
  }
  std::vector<int64_t> doomed;
  switch (query.versions) {
    case VersionMatch::kAll:
      for (const auto* e : candidates) doomed.push_back(e->seq);
      break;
    case VersionMatch::kLast:
      if (!candidates.empty()) doomed.push_back(candidates.back()->seq);
      break;
    case VersionMatch::kFirst:
      if (!candidates.empty()) doomed.push_back(candidates.front()->seq);
      break;
    case VersionMatch::kList:
      for (const auto* e : candidates) {
        if (std::find(listed.begin(), listed.end(), e->version_us) != listed.end()) {
          doomed.push_back(e->seq);
        }
      }
      break;
  }
  if (doomed.empty()) return uint64_t{0};
  for (int64_t seq : doomed) {
    sql::StatementUse use(delete_seq_.get());
    use.Int(1, seq);
    if (use.Step() != SQLITE_DONE) {
      return std::unexpected(sql::SqliteError(writer_.get(), "deleting " + query.id, path_));
    }
  }
  // Recompute the flags of what remains.
  std::vector<const ExistingVersion*> remaining;
  std::string max_spec;
  for (const ExistingVersion& e : *existing) {
    if (std::find(doomed.begin(), doomed.end(), e.seq) == doomed.end()) {
      remaining.push_back(&e);
      max_spec = std::max(max_spec, e.spec_version);
    }
  }
  for (size_t i = 0; i < remaining.size(); ++i) {
    const ExistingVersion& e = *remaining[i];
    const bool latest = i + 1 == remaining.size(), first = i == 0,
               spec_latest = e.spec_version == max_spec;
    if (latest != e.is_latest || first != e.is_first || spec_latest != e.spec_latest) {
      if (auto set = SetFlags(e.seq, latest, first, spec_latest); !set) {
        return std::unexpected(set.error());
      }
    }
  }
  if (auto counted = AddCount(coll_seq, -static_cast<int64_t>(doomed.size())); !counted) {
    return std::unexpected(counted.error());
  }
  if (auto committed = tx->Commit(); !committed) return std::unexpected(committed.error());
  return static_cast<uint64_t>(doomed.size());
}

// ---------------------------------------------------------------------------
// Status resources

Result<void> SqliteStixStore::PutStatus(const StatusRecord& status) {
  if (status.id.empty()) return FailAt(path_, "id", "a status needs an id");
  if (status.status != "complete" && status.status != "pending") {
    return FailAt(path_, "status",
                  "must be \"complete\" or \"pending\", got '" + status.status + "'");
  }
  std::lock_guard lock(writer_mutex_);
  auto tx = sql::Transaction::Begin(writer_.get(), path_);
  if (!tx) return std::unexpected(tx.error());
  auto run = [&](std::string_view text, auto&& bind) -> Result<void> {
    auto stmt = sql::Prepare(writer_.get(), text, path_);
    if (!stmt) return std::unexpected(stmt.error());
    sql::StatementUse use(stmt->get());
    bind(use);
    if (use.Step() != SQLITE_DONE) {
      return std::unexpected(sql::SqliteError(writer_.get(), "storing status", path_));
    }
    return {};
  };
  if (auto r = run("DELETE FROM stix_status_details WHERE status_id = ?1",
                   [&](sql::StatementUse& u) { u.Text(1, status.id); });
      !r) {
    return r;
  }
  std::string successes;
  for (const AddOutcome& o : status.successes) {
    successes.append(o.id).push_back('\x1f');
    successes.append(o.version).push_back('\x1f');
    successes.push_back(o.kind == AddOutcome::Kind::kDuplicate ? 'd' : 'a');
    successes.push_back('\x1e');
  }
  if (auto r = run("INSERT OR REPLACE INTO stix_status(id, status, request_timestamp, total_count, "
                   "success_count, failure_count, pending_count, owner_org, successes) VALUES "
                   "(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                   [&](sql::StatementUse& u) {
                     u.Text(9, successes);
                     u.Text(1, status.id);
                     u.Text(2, status.status);
                     u.Text(3, status.request_timestamp);
                     u.Int(4, static_cast<int64_t>(status.total_count));
                     u.Int(5, static_cast<int64_t>(status.success_count));
                     u.Int(6, static_cast<int64_t>(status.failure_count));
                     u.Int(7, static_cast<int64_t>(status.pending_count));
                     u.Text(8, status.owner_org);
                   });
      !r) {
    return r;
  }
  auto insert = sql::Prepare(writer_.get(),
                             "INSERT INTO stix_status_details(status_id, position, kind, "
                             "object_id, version, message) VALUES (?1,?2,?3,?4,?5,?6)",
                             path_);
  if (!insert) return std::unexpected(insert.error());
  int64_t position = 0;
  auto add = [&](const AddOutcome& o, int kind) -> Result<void> {
    sql::StatementUse use(insert->get());
    use.Text(1, status.id);
    use.Int(2, position++);
    use.Int(3, kind);
    use.Text(4, o.id);
    use.Text(5, o.version);
    use.Text(6, o.message);
    if (use.Step() != SQLITE_DONE) {
      return std::unexpected(sql::SqliteError(writer_.get(), "storing status details", path_));
    }
    return {};
  };
  for (const AddOutcome& o : status.failures) {
    if (auto r = add(o, 1); !r) return r;
  }
  return tx->Commit();
}

Result<std::optional<StatusRecord>> SqliteStixStore::GetStatus(std::string_view id) {
  auto lease = Borrow();
  if (!lease) return std::unexpected(lease.error());
  ReaderConnection& reader = **lease;
  auto tx = sql::Transaction::Begin(reader.db.get(), path_, /*write=*/false);
  if (!tx) return std::unexpected(tx.error());
  auto head = reader.Get(
      "SELECT id, status, request_timestamp, total_count, success_count, failure_count, "
      "pending_count, owner_org, successes FROM stix_status WHERE id = ?1",
      path_);
  if (!head) return std::unexpected(head.error());
  StatusRecord record;
  {
    sql::StatementUse use(*head);
    use.Text(1, id);
    const int rc = use.Step();
    if (rc == SQLITE_DONE) return std::optional<StatusRecord>();
    if (rc != SQLITE_ROW) return std::unexpected(Failed("reading status"));
    record.id = sql::ColumnText(*head, 0);
    record.status = sql::ColumnText(*head, 1);
    record.request_timestamp = sql::ColumnText(*head, 2);
    record.total_count = static_cast<uint64_t>(sql::ColumnInt(*head, 3));
    record.success_count = static_cast<uint64_t>(sql::ColumnInt(*head, 4));
    record.failure_count = static_cast<uint64_t>(sql::ColumnInt(*head, 5));
    record.pending_count = static_cast<uint64_t>(sql::ColumnInt(*head, 6));
    record.owner_org = sql::ColumnText(*head, 7);
    std::string_view packed = sql::ColumnText(*head, 8);
    while (!packed.empty()) {
      const size_t end = packed.find('\x1e');
      std::string_view entry = packed.substr(0, end);
      packed.remove_prefix(end == std::string_view::npos ? packed.size() : end + 1);
      const size_t a = entry.find('\x1f');
      const size_t b = a == std::string_view::npos ? a : entry.find('\x1f', a + 1);
      if (b == std::string_view::npos) return std::unexpected(Failed("reading status successes"));
      AddOutcome o;
      o.id = entry.substr(0, a);
      o.version = entry.substr(a + 1, b - a - 1);
      o.kind = entry.substr(b + 1) == "d" ? AddOutcome::Kind::kDuplicate : AddOutcome::Kind::kAdded;
      record.successes.push_back(std::move(o));
    }
  }
  auto details = reader.Get(
      "SELECT kind, object_id, version, message FROM stix_status_details WHERE status_id = ?1 "
      "ORDER BY position",
      path_);
  if (!details) return std::unexpected(details.error());
  sql::StatementUse use(*details);
  use.Text(1, id);
  int rc;
  while ((rc = use.Step()) == SQLITE_ROW) {
    AddOutcome o;
    const int64_t kind = sql::ColumnInt(*details, 0);
    o.kind = kind == 1   ? AddOutcome::Kind::kFailed
             : kind == 2 ? AddOutcome::Kind::kDuplicate
                         : AddOutcome::Kind::kAdded;
    o.id = sql::ColumnText(*details, 1);
    o.version = sql::ColumnText(*details, 2);
    o.message = sql::ColumnText(*details, 3);
    (kind == 1 ? record.failures : record.successes).push_back(std::move(o));
  }
  if (rc != SQLITE_DONE) return std::unexpected(Failed("reading status details"));
  return std::optional<StatusRecord>(std::move(record));
}

// ---------------------------------------------------------------------------
// Export

Result<std::string> SqliteStixStore::ExportBundle(const ObjectQuery& query) {
  ObjectQuery page_query = query;
  page_query.with_json = true;
  if (page_query.limit == 0) page_query.limit = 1000;
  std::string out = "{\"type\":\"bundle\",\"id\":\"bundle--" + NewUuid() + "\",\"objects\":[";
  bool first = true;
  while (true) {
    auto page = Query(page_query);
    if (!page) return std::unexpected(page.error());
    for (const StoredObject& o : page->objects) {
      if (!first) out += ",\n";
      first = false;
      out += o.json;
    }
    if (!page->more) break;
    page_query.after = page->next;
  }
  out += "]}\n";
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// Public pieces

auth::SharedObject ObjectMeta::AsShared() const {
  auth::SharedObject shared;
  shared.id = id;
  shared.producer_org = producer_org;
  shared.markings = markings;
  shared.amber_share_with = share_with;
  shared.red_recipients = share_with;
  return shared;
}

std::string Cursor::Encode() const {
  std::string payload = "1\n" + std::to_string(date_added_us) + "\n" + id + "\n" + version;
  return Base64UrlEncode(payload);
}

std::optional<Cursor> Cursor::Decode(std::string_view token) {
  if (token.empty() || token.size() > 2048) return std::nullopt;
  auto payload = Base64UrlDecode(token);
  if (!payload) return std::nullopt;
  std::vector<std::string_view> parts;
  std::string_view rest = *payload;
  while (true) {
    const size_t nl = rest.find('\n');
    parts.push_back(rest.substr(0, nl));
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  if (parts.size() != 4 || parts[0] != "1") return std::nullopt;
  const std::string_view number = parts[1];
  if (number.empty() || number.size() > 19) return std::nullopt;
  int64_t value = 0;
  for (size_t i = 0; i < number.size(); ++i) {
    if (i == 0 && number[i] == '-' && number.size() > 1) continue;
    if (number[i] < '0' || number[i] > '9') return std::nullopt;
    value = value * 10 + (number[i] - '0');
  }
  if (number[0] == '-') value = -value;
  const std::string_view id = parts[2], version = parts[3];
  if (id.size() < 5 || id.find("--") == std::string_view::npos || version.empty()) {
    return std::nullopt;
  }
  for (char c : *payload) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\n') return std::nullopt;
  }
  return Cursor{value, std::string(id), std::string(version)};
}

Result<std::unique_ptr<StixStore>> StixStore::Open(const std::string& db_path) {
  auto store = std::make_unique<SqliteStixStore>(db_path);
  if (auto ready = store->Init(); !ready) return std::unexpected(ready.error());
  return std::unique_ptr<StixStore>(std::move(store));
}

}  // namespace aegis::intel
