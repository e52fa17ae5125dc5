// Internal to src/store: the SQLite backend's pieces shared between
// sqlite_store.cc, migrations.cc, open.cc and the store tests. Not part of the
// public store interface (see store/store.h).
#pragma once

#include <sqlite3.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/error.h"
#include "store/store.h"

namespace aegis::store::internal {

// One schema change. `sql` may hold several statements; it runs inside the
// migration's own transaction together with its schema_migrations record.
struct Migration {
  int version;                   // 1, 2, 3, ... strictly increasing, no gaps
  std::string_view description;  // one line, recorded in schema_migrations
  std::string_view sql;
};

// The SQLite schema history, oldest first. To change the schema, append one entry.
std::span<const Migration> SqliteMigrations();
// The version the last entry of SqliteMigrations() brings a database to.
int LatestSqliteSchemaVersion();

// The highest version recorded in schema_migrations (0 for a fresh database).
Result<int> CurrentSchemaVersion(sqlite3* db, std::string_view where);

// Brings `db` up to the last entry of `migrations`: creates schema_migrations if
// needed, refuses a database newer than the list knows, then applies each pending
// migration in order, each in its own IMMEDIATE transaction (so two processes
// opening a fresh database at once do not both apply it). Returns the version
// the database is at afterwards. `where` names the database in errors.
Result<int> ApplyMigrations(sqlite3* db, std::span<const Migration> migrations,
                            std::string_view where);

// Runs one or more SQL statements that return no rows.
Result<void> ExecSql(sqlite3* db, std::string_view sql, std::string_view where);

// An Error carrying SQLite's message for the last failure on `db`.
Error SqliteError(sqlite3* db, std::string_view what, std::string_view where);

// Opens (creating if needed) the SQLite database at `path` (":memory:" for an
// in-memory one), applies the settings described in docs/STORE.md and every
// pending migration.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

}  // namespace aegis::store::internal
