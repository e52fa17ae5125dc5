// SQLite building blocks shared by every component that keeps its own tables in the
// embedded database (alerts store, accounts, STIX store, Early Warning, feeds).
//
// Each component opens its own connection(s) to the same database file (WAL lets
// readers run beside one writer) and owns a named list of migrations, recorded in
// `component_migrations` so components evolve their schemas independently.
//
//   auto db = store::sqlite::OpenDatabase("aegis.db");
//   static constexpr store::sqlite::Migration kMigrations[] = {{1, "accounts", "CREATE ..."}};
//   store::sqlite::ApplyComponentMigrations(db->get(), "accounts", kMigrations, "aegis.db");
//   store::sqlite::Statement s = *store::sqlite::Prepare(db->get(), "SELECT ...", "aegis.db");
//   { store::sqlite::StatementUse use(s.get()); use.Text(1, id); while (use.Step() == SQLITE_ROW) ... }
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "core/error.h"

namespace aegis::store::sqlite {

// One schema change. `sql` may hold several statements; it runs inside the
// migration's own transaction together with its record.
struct Migration {
  int version;                   // 1, 2, 3, ... strictly increasing, no gaps
  std::string_view description;  // one line
  std::string_view sql;
};

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

struct OpenOptions {
  bool create = true;       // false: the file must exist
  bool read_only = false;
  int busy_timeout_ms = 30'000;
  int cache_kib = 32 * 1024;
};

// Opens `path` (":memory:" for a private in-memory database) with WAL (files only),
// synchronous=NORMAL, foreign keys on, extended result codes and a busy timeout.
Result<Db> OpenDatabase(const std::string& path, const OpenOptions& options = {});

// Brings `component`'s tables up to the last entry of `migrations`, each pending
// migration in its own IMMEDIATE transaction (safe when two processes open a fresh
// database at once). Refuses a database whose recorded version is newer than the
// list. Returns the version afterwards. `where` names the database in errors.
Result<int> ApplyComponentMigrations(sqlite3* db, std::string_view component,
                                     std::span<const Migration> migrations,
                                     std::string_view where);

// Runs one or more SQL statements that return no rows.
Result<void> ExecSql(sqlite3* db, std::string_view sql, std::string_view where);

// An Error carrying SQLite's message for the last failure on `db`.
Error SqliteError(sqlite3* db, std::string_view what, std::string_view where);

// Owns a prepared statement.
class Statement {
 public:
  Statement() = default;
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Statement(Statement&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}
  Statement& operator=(Statement&& other) noexcept {
    if (this != &other) {
      sqlite3_finalize(stmt_);
      stmt_ = std::exchange(other.stmt_, nullptr);
    }
    return *this;
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

Result<Statement> Prepare(sqlite3* db, std::string_view sql, std::string_view where);

// Borrows a prepared statement for one use: resets it and clears its bindings
// when done, so the next use starts clean and no read stays open.
class StatementUse {
 public:
  explicit StatementUse(sqlite3_stmt* stmt) : stmt_(stmt) {}
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;
  ~StatementUse() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  // Binds text without copying: the bytes must outlive the statement's use.
  void Text(int index, std::string_view text) {
    // A null pointer would bind SQL NULL; an empty string must stay ''.
    sqlite3_bind_text64(stmt_, index, text.empty() ? "" : text.data(), text.size(),
                        SQLITE_STATIC, SQLITE_UTF8);
  }
  void Int(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  void Null(int index) { sqlite3_bind_null(stmt_, index); }
  int Step() { return sqlite3_step(stmt_); }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_;
};

inline std::string_view ColumnText(sqlite3_stmt* stmt, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  if (text == nullptr) return {};
  return {text, static_cast<size_t>(sqlite3_column_bytes(stmt, column))};
}

inline int64_t ColumnInt(sqlite3_stmt* stmt, int column) {
  return sqlite3_column_int64(stmt, column);
}

// BEGIN IMMEDIATE on construction (or BEGIN for a read); ROLLBACK on destruction
// unless Commit() succeeded.
class Transaction {
 public:
  static Result<Transaction> Begin(sqlite3* db, std::string_view where, bool write = true);
  Transaction(Transaction&& other) noexcept
      : db_(std::exchange(other.db_, nullptr)), where_(std::move(other.where_)) {}
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  ~Transaction();
  Result<void> Commit();

 private:
  Transaction(sqlite3* db, std::string where) : db_(db), where_(std::move(where)) {}
  sqlite3* db_;
  std::string where_;
};

}  // namespace aegis::store::sqlite
