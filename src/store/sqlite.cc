// SQLite building blocks shared by the components that keep tables in the embedded
// database: see store/sqlite.h.
#include "store/sqlite.h"

#include <string>
#include <utility>

#include "core/strings.h"

namespace aegis::store::sqlite {

Error SqliteError(sqlite3* db, std::string_view what, std::string_view where) {
  Error e;
  e.where = std::string(where);
  e.reason = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
  return e;
}

Result<void> ExecSql(sqlite3* db, std::string_view sql, std::string_view where) {
  std::string text(sql);  // sqlite3_exec needs a NUL-terminated string
  char* message = nullptr;
  if (sqlite3_exec(db, text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    Error e;
    e.where = std::string(where);
    e.reason = message ? message : sqlite3_errmsg(db);
    sqlite3_free(message);
    return std::unexpected(std::move(e));
  }
  return {};
}

Result<Statement> Prepare(sqlite3* db, std::string_view sql, std::string_view where) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &stmt, nullptr) != SQLITE_OK) {
    return std::unexpected(SqliteError(db, "preparing '" + std::string(sql.substr(0, 60)) + "'",
                                       where));
  }
  return Statement(stmt);
}

Result<Db> OpenDatabase(const std::string& path, const OpenOptions& options) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_NOMUTEX;
  flags |= options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (options.create && !options.read_only) flags |= SQLITE_OPEN_CREATE;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) return std::unexpected(SqliteError(raw, "opening database", path));
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);
  const bool in_memory = path == ":memory:" || path.empty();
  if (!in_memory && !options.read_only) {
    Statement wal;
    if (auto s = Prepare(raw, "PRAGMA journal_mode = WAL", path); s) {
      wal = std::move(*s);
    } else {
      return std::unexpected(s.error());
    }
    std::string mode;
    if (sqlite3_step(wal.get()) == SQLITE_ROW) mode = AsciiLower(ColumnText(wal.get(), 0));
    if (mode != "wal") {
      Error e;
      e.where = path;
      e.reason = "cannot use the WAL journal (journal_mode is '" + mode +
                 "'); is the database on a network file system?";
      return std::unexpected(std::move(e));
    }
  }
  auto settings = ExecSql(raw,
                          "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
                          "PRAGMA cache_size = -" + std::to_string(options.cache_kib) + ";",
                          path);
  if (!settings) return std::unexpected(settings.error());
  return db;
}

namespace {

Result<int> ComponentVersion(sqlite3* db, std::string_view component, std::string_view where) {
  auto stmt = Prepare(db,
                      "SELECT COALESCE(MAX(version), 0) FROM component_migrations "
                      "WHERE component = ?1",
                      where);
  if (!stmt) return std::unexpected(stmt.error());
  StatementUse use(stmt->get());
  use.Text(1, component);
  if (use.Step() != SQLITE_ROW) {
    return std::unexpected(SqliteError(db, "reading component_migrations", where));
  }
  return static_cast<int>(ColumnInt(stmt->get(), 0));
}

}  // namespace

Result<int> ApplyComponentMigrations(sqlite3* db, std::string_view component,
                                     std::span<const Migration> migrations,
                                     std::string_view where) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      Error e;
      e.where = std::string(where);
      e.reason = std::string(component) + " migrations must be numbered 1, 2, 3, ... without gaps";
      return std::unexpected(std::move(e));
    }
  }
  auto created = ExecSql(db,
                         "CREATE TABLE IF NOT EXISTS component_migrations ("
                         "  component   TEXT NOT NULL,"
                         "  version     INTEGER NOT NULL,"
                         "  description TEXT NOT NULL,"
                         "  applied_at  TEXT NOT NULL,"
                         "  PRIMARY KEY (component, version))",
                         where);
  if (!created) return std::unexpected(created.error());
  auto current = ComponentVersion(db, component, where);
  if (!current) return current;
  if (*current > static_cast<int>(migrations.size())) {
    Error e;
    e.where = std::string(where);
    e.reason = std::string(component) + " schema version " + std::to_string(*current) +
               " is newer than this build of aegis supports (" +
               std::to_string(migrations.size()) + "); upgrade aegis to open it";
    return std::unexpected(std::move(e));
  }
  for (const Migration& migration : migrations) {
    if (migration.version <= *current) continue;
    auto tx = Transaction::Begin(db, where);
    if (!tx) return std::unexpected(tx.error());
    auto now = ComponentVersion(db, component, where);  // a concurrent opener may have won
    if (!now) return now;
    if (*now >= migration.version) continue;
    const std::string label = std::string(component) + " migration " +
                              std::to_string(migration.version) + " (" +
                              std::string(migration.description) + "): ";
    if (auto applied = ExecSql(db, migration.sql, where); !applied) {
      Error e = applied.error();
      e.reason = label + e.reason;
      return std::unexpected(std::move(e));
    }
    auto record = Prepare(db,
                          "INSERT INTO component_migrations(component, version, description, "
                          "applied_at) VALUES (?1, ?2, ?3, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                          where);
    if (!record) return std::unexpected(record.error());
    {
      StatementUse use(record->get());
      use.Text(1, component);
      use.Int(2, migration.version);
      use.Text(3, migration.description);
      if (use.Step() != SQLITE_DONE) {
        return std::unexpected(SqliteError(db, label + "recording", where));
      }
    }
    if (auto committed = tx->Commit(); !committed) return std::unexpected(committed.error());
  }
  return ComponentVersion(db, component, where);
}

Result<Transaction> Transaction::Begin(sqlite3* db, std::string_view where, bool write) {
  if (auto begun = ExecSql(db, write ? "BEGIN IMMEDIATE" : "BEGIN", where); !begun) {
    return std::unexpected(begun.error());
  }
  return Transaction(db, std::string(where));
}

Transaction::~Transaction() {
  if (db_ != nullptr) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

Result<void> Transaction::Commit() {
  if (db_ == nullptr) return {};
  auto committed = ExecSql(db_, "COMMIT", where_);
  if (committed) db_ = nullptr;
  return committed;
}

}  // namespace aegis::store::sqlite
