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
#include "store/sqlite.h"
#include "store/store.h"

namespace aegis::store::internal {

using sqlite::ColumnInt;
using sqlite::ColumnText;
using sqlite::ExecSql;
using sqlite::Migration;
using sqlite::SqliteError;
using sqlite::Statement;
using sqlite::StatementUse;

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

// Opens (creating if needed) the SQLite database at `path` (":memory:" for an
// in-memory one), applies the settings described in docs/STORE.md and every
// pending migration.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

}  // namespace aegis::store::internal
