// Versioned schema migrations for the SQLite backend.
//
// The schema is the ordered list kSqliteMigrations below. A database records
// every migration applied to it in schema_migrations; Open() applies the pending
// ones in order. Released entries are never edited: a schema change is a new
// entry with the next version number (see docs/STORE.md, "Changing the schema").
#include <string>

#include "store/sqlite_internal.h"

namespace aegis::store::internal {
namespace {

constexpr Migration kSqliteMigrations[] = {
    {1, "alerts and indicators",
     R"sql(
CREATE TABLE alerts (
  id               TEXT PRIMARY KEY NOT NULL,
  time_ns          INTEGER NOT NULL,
  event_time_ns    INTEGER NOT NULL,
  severity         INTEGER NOT NULL,
  tlp              INTEGER NOT NULL,
  detector         TEXT NOT NULL,
  rule             TEXT NOT NULL,
  title            TEXT NOT NULL,
  indicator_type   TEXT NOT NULL,
  indicator_source TEXT NOT NULL,
  confidence       INTEGER NOT NULL,
  tags             TEXT NOT NULL,   -- JSON array of strings
  matches          TEXT NOT NULL,   -- JSON array of {field, original, value, indicator, match}
  event_source     TEXT NOT NULL,
  event_line       INTEGER NOT NULL,  -- uint64 stored as its int64 bit pattern
  event_offset     INTEGER NOT NULL,  -- uint64 stored as its int64 bit pattern
  event_format     TEXT NOT NULL,     -- FormatName(): "zeek-json", "suricata", ...
  event_json       TEXT NOT NULL,
  count            INTEGER NOT NULL,
  source_ip        TEXT NOT NULL DEFAULT '',
  destination_ip   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alerts_time_ns ON alerts(time_ns);
CREATE INDEX alerts_rule ON alerts(rule);

CREATE TABLE indicators (
  type           TEXT NOT NULL,     -- IndicatorTypeName(): "domain", "ipv4", ...
  value          TEXT NOT NULL,
  source         TEXT NOT NULL,
  confidence     INTEGER NOT NULL,
  tlp            INTEGER NOT NULL,
  tags           TEXT NOT NULL,     -- JSON array of strings
  first_seen_ns  INTEGER NOT NULL,
  last_seen_ns   INTEGER NOT NULL,
  valid_until_ns INTEGER NOT NULL,
  description    TEXT NOT NULL,
  severity       INTEGER NOT NULL,
  PRIMARY KEY (type, value)
) WITHOUT ROWID;
CREATE INDEX indicators_source ON indicators(source);
)sql"},
    {2, "Sigma rule status on alerts",
     R"sql(
ALTER TABLE alerts ADD COLUMN rule_status TEXT NOT NULL DEFAULT '';
)sql"},
};

// Reads the single integer a statement such as "SELECT MAX(version) ..." returns.
Result<int> QueryInt(sqlite3* db, const char* sql, std::string_view where) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
    return std::unexpected(SqliteError(db, "reading schema version", where));
  }
  int rc = sqlite3_step(stmt);
  int value = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 0;
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    return std::unexpected(SqliteError(db, "reading schema version", where));
  }
  return value;
}

Error MigrationError(std::string_view where, std::string reason) {
  Error e;
  e.where = std::string(where);
  e.reason = std::move(reason);
  return e;
}

// Rejects a list that is not 1, 2, 3, ...: a programming error, caught by tests.
Result<void> CheckMigrationList(std::span<const Migration> migrations, std::string_view where) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return std::unexpected(MigrationError(
          where, "migration list is not numbered 1, 2, 3, ...: entry " + std::to_string(i + 1) +
                     " has version " + std::to_string(migrations[i].version)));
    }
  }
  return {};
}

// Applies one migration unless another connection has applied it meanwhile.
Result<void> ApplyOne(sqlite3* db, const Migration& migration, std::string_view where) {
  const std::string label = "migration " + std::to_string(migration.version) + " (" +
                            std::string(migration.description) + ")";
  // IMMEDIATE takes the write lock now, so the version check below cannot race.
  if (auto begun = ExecSql(db, "BEGIN IMMEDIATE", where); !begun) return begun;
  auto fail = [&](Error error) -> Result<void> {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    error.reason = label + ": " + error.reason;
    return std::unexpected(std::move(error));
  };
  auto current = CurrentSchemaVersion(db, where);
  if (!current) return fail(current.error());
  if (*current >= migration.version) {  // applied by a concurrent opener
    return ExecSql(db, "COMMIT", where);
  }
  if (auto applied = ExecSql(db, migration.sql, where); !applied) return fail(applied.error());

  sqlite3_stmt* record = nullptr;
  if (sqlite3_prepare_v2(db,
                         "INSERT INTO schema_migrations(version, description, applied_at) "
                         "VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                         -1, &record, nullptr) != SQLITE_OK) {
    return fail(SqliteError(db, "recording migration", where));
  }
  sqlite3_bind_int(record, 1, migration.version);
  sqlite3_bind_text(record, 2, migration.description.data(),
                    static_cast<int>(migration.description.size()), SQLITE_STATIC);
  int rc = sqlite3_step(record);
  sqlite3_finalize(record);
  if (rc != SQLITE_DONE) return fail(SqliteError(db, "recording migration", where));
  if (auto committed = ExecSql(db, "COMMIT", where); !committed) return fail(committed.error());
  return {};
}

}  // namespace

std::span<const Migration> SqliteMigrations() { return kSqliteMigrations; }

int LatestSqliteSchemaVersion() { return SqliteMigrations().back().version; }

Result<int> CurrentSchemaVersion(sqlite3* db, std::string_view where) {
  return QueryInt(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", where);
}

Result<int> ApplyMigrations(sqlite3* db, std::span<const Migration> migrations,
                            std::string_view where) {
  if (auto ok = CheckMigrationList(migrations, where); !ok) return std::unexpected(ok.error());
  const int known = migrations.empty() ? 0 : migrations.back().version;

  auto created = ExecSql(db,
                         "CREATE TABLE IF NOT EXISTS schema_migrations ("
                         "  version     INTEGER PRIMARY KEY,"
                         "  description TEXT NOT NULL,"
                         "  applied_at  TEXT NOT NULL)",
                         where);
  if (!created) return std::unexpected(created.error());

  auto current = CurrentSchemaVersion(db, where);
  if (!current) return current;
  if (*current > known) {
    return std::unexpected(MigrationError(
        where, "database schema version " + std::to_string(*current) +
                   " is newer than this build of aegis supports (" + std::to_string(known) +
                   "); upgrade aegis to open it"));
  }
  for (const Migration& migration : migrations) {
    if (migration.version <= *current) continue;
    if (auto applied = ApplyOne(db, migration, where); !applied) {
      return std::unexpected(applied.error());
    }
  }
  return CurrentSchemaVersion(db, where);
}

}  // namespace aegis::store::internal
