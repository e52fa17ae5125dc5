// Organisations, users, tokens, sessions and the audit log on SQLite: see auth/accounts.h
// and docs/ACCESS.md.
#include "auth/accounts.h"

#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "auth/secret_crypto.h"
#include "core/strings.h"
#include "store/sqlite.h"

namespace aegis::auth {
namespace {

namespace sql = store::sqlite;

// UUIDv5 namespace of organisation STIX identities (docs/ACCESS.md). Never change it:
// every instance must derive the same identity from the same organisation id.
constexpr std::string_view kOrgIdentityNamespace = "8d6f7095-bfb6-4c0c-9c5b-df57b4d8fa26";

constexpr std::string_view kSecretPrefix = "aegis_";
constexpr std::string_view kTokenIdPrefix = "tok_";
constexpr std::string_view kSessionIdPrefix = "ses_";
constexpr size_t kIdHexDigits = 16;  // 8 random bytes
constexpr size_t kSecretRandomBytes = 32;
constexpr size_t kMaxNameLength = 200;
constexpr size_t kMaxCacheEntries = 100'000;

constexpr sql::Migration kMigrations[] = {
    {1, "organisations, users, tokens, sessions, append-only audit log", R"sql(
CREATE TABLE accounts_orgs (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  stix_identity TEXT NOT NULL,
  amber_share_with TEXT NOT NULL DEFAULT '',
  default_tlp TEXT,
  anonymise_sightings INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  deleted_at INTEGER
);
CREATE TABLE accounts_users (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES accounts_orgs(id),
  display_name TEXT NOT NULL DEFAULT '',
  role TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  password_hash TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX accounts_users_org ON accounts_users(org_id);
CREATE TABLE accounts_tokens (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES accounts_users(id),
  name TEXT NOT NULL DEFAULT '',
  scopes INTEGER NOT NULL,
  digest BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER,
  last_used_at INTEGER
);
CREATE INDEX accounts_tokens_user ON accounts_tokens(user_id);
CREATE TABLE accounts_sessions (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES accounts_users(id),
  method TEXT NOT NULL,
  digest BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  ended_at INTEGER
);
CREATE INDEX accounts_sessions_user ON accounts_sessions(user_id);
CREATE TABLE accounts_audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  actor_user TEXT NOT NULL,
  actor_org TEXT NOT NULL,
  remote TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  outcome TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX accounts_audit_org ON accounts_audit(actor_org, seq);
CREATE TRIGGER accounts_audit_no_update BEFORE UPDATE ON accounts_audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER accounts_audit_no_delete BEFORE DELETE ON accounts_audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE accounts_epoch (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
INSERT INTO accounts_epoch VALUES (1, 0);
)sql"},
};

// ---------------------------------------------------------------------------------
// Small helpers

std::string FormatUnix(int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<std::string> FormatOptional(std::optional<int64_t> seconds) {
  if (!seconds) return std::nullopt;
  return FormatUnix(*seconds);
}

std::optional<int64_t> ColumnOptionalInt(sqlite3_stmt* stmt, int column) {
  if (sqlite3_column_type(stmt, column) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_int64(stmt, column);
}

std::string_view ColumnBlob(sqlite3_stmt* stmt, int column) {
  const void* data = sqlite3_column_blob(stmt, column);
  if (data == nullptr) return {};
  return {static_cast<const char*>(data), static_cast<size_t>(sqlite3_column_bytes(stmt, column))};
}

void BindBlob(sqlite3_stmt* stmt, int index, std::string_view bytes) {
  sqlite3_bind_blob64(stmt, index, bytes.data(), bytes.size(), SQLITE_STATIC);
}

void BindOptionalInt(sql::StatementUse& use, int index, std::optional<int64_t> value) {
  if (value) {
    use.Int(index, *value);
  } else {
    use.Null(index);
  }
}

bool HasControl(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// Safe to echo in an error or audit line: printable ASCII, at most 64 characters.
std::string Printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 64))
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  if (s.size() > 64) out += "...";
  return out;
}

Result<void> ValidateOrgId(std::string_view id, std::string_view field) {
  if (id.size() < 2 || id.size() > 64) {
    return Fail("organisation id '" + Printable(id) + "' must be 2 to 64 characters long",
                std::string(field));
  }
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return Fail("organisation id '" + Printable(id) +
                      "' may hold only lower-case letters, digits and '-'",
                  std::string(field));
    }
  }
  return {};
}

Result<void> ValidateUserId(std::string_view id) {
  if (id.empty() || id.size() > 128) {
    return Fail("user id must be 1 to 128 characters long", "id");
  }
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
          c == '@')) {
      return Fail(
          "user id '" + Printable(id) + "' may hold only lower-case letters, digits and . _ - @",
          "id");
    }
  }
  return {};
}

Result<void> ValidateText(std::string_view text, std::string_view field, bool required) {
  if (required && Trim(text).empty()) return Fail("must not be empty", std::string(field));
  if (text.size() > kMaxNameLength) {
    return Fail("longer than " + std::to_string(kMaxNameLength) + " characters",
                std::string(field));
  }
  if (HasControl(text)) return Fail("contains control characters", std::string(field));
  return {};
}

Result<void> ValidatePassword(std::string_view password) {
  if (password.size() < kMinPasswordLength) {
    return Fail("must be at least " + std::to_string(kMinPasswordLength) + " characters long",
                "password");
  }
  if (password.size() > kMaxPasswordLength) {
    return Fail("must be at most " + std::to_string(kMaxPasswordLength) + " characters long",
                "password");
  }
  if (password.find('\0') != std::string_view::npos) {
    return Fail("must not contain NUL characters", "password");
  }
  return {};
}

std::string JoinIds(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) {
    if (!out.empty()) out += ',';
    out += id;
  }
  return out;
}

std::vector<std::string> SplitIds(std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view part : Split(text, ',')) {
    if (!part.empty()) out.emplace_back(part);
  }
  return out;
}

// A tiny JSON object writer for audit details.
class Detail {
 public:
  Detail& Str(std::string_view key, std::string_view value) {
    Key(key);
    AppendJsonString(out_, value);
    return *this;
  }
  Detail& Bool(std::string_view key, bool value) {
    Key(key);
    out_ += value ? "true" : "false";
    return *this;
  }
  Detail& Null(std::string_view key) {
    Key(key);
    out_ += "null";
    return *this;
  }
  Detail& List(std::string_view key, const std::vector<std::string>& values) {
    Key(key);
    out_ += '[';
    for (size_t i = 0; i < values.size(); ++i) {
      if (i) out_ += ',';
      AppendJsonString(out_, values[i]);
    }
    out_ += ']';
    return *this;
  }
  std::string Close() { return out_ + "}"; }

 private:
  void Key(std::string_view key) {
    if (out_.size() > 1) out_ += ',';
    AppendJsonString(out_, key);
    out_ += ':';
  }
  std::string out_ = "{";
};

// The public id inside a secret "aegis_<prefix><16 hex>_<random>", or nullopt.
std::optional<std::string_view> SecretId(std::string_view secret, std::string_view id_prefix) {
  if (!secret.starts_with(kSecretPrefix)) return std::nullopt;
  std::string_view rest = secret.substr(kSecretPrefix.size());
  const size_t id_length = id_prefix.size() + kIdHexDigits;
  if (rest.size() < id_length + 1 + 32 || rest.size() > id_length + 1 + 128) return std::nullopt;
  if (!rest.starts_with(id_prefix) || rest[id_length] != '_') return std::nullopt;
  for (char c : rest.substr(id_prefix.size(), kIdHexDigits)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  for (char c : rest.substr(id_length + 1)) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_')) {
      return std::nullopt;
    }
  }
  return rest.substr(0, id_length);
}

struct NewSecret {
  std::string id;
  std::string secret;
};

Result<NewSecret> MakeSecret(std::string_view id_prefix) {
  auto id_bytes = crypto::RandomBytes(kIdHexDigits / 2);
  if (!id_bytes) return std::unexpected(id_bytes.error());
  auto random = crypto::RandomBytes(kSecretRandomBytes);
  if (!random) return std::unexpected(random.error());
  NewSecret s;
  s.id = std::string(id_prefix) + crypto::Hex(*id_bytes);
  s.secret = std::string(kSecretPrefix) + s.id + "_" + crypto::Base64UrlEncode(*random);
  return s;
}

std::unexpected<AuthFailure> Deny(std::string reason) {
  return std::unexpected(AuthFailure{std::move(reason)});
}

std::optional<SessionMethod> ParseSessionMethod(std::string_view s) {
  if (s == "password") return SessionMethod::kPassword;
  if (s == "webauthn") return SessionMethod::kWebAuthn;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------
// The implementation

class SqliteAccounts final : public Accounts {
 public:
  SqliteAccounts(std::string where, AccountsOptions options, sql::Db db, std::string cache_key)
      : where_(std::move(where)),
        options_(std::move(options)),
        cache_key_(std::move(cache_key)),
        db_(std::move(db)) {}

  Result<void> Prepare() {
    std::lock_guard lock(db_mutex_);
    auto p = [&](sql::Statement& out, std::string_view text) -> Result<void> {
      auto s = sql::Prepare(db_.get(), text, where_);
      if (!s) return std::unexpected(s.error());
      out = std::move(*s);
      return {};
    };
    if (auto r = p(epoch_select_, "SELECT value FROM accounts_epoch WHERE id = 1"); !r) return r;
    if (auto r = p(token_lookup_,
                   "SELECT t.digest, t.user_id, t.scopes, t.expires_at, t.revoked_at, "
                   "t.last_used_at, u.org_id, u.role, u.disabled, o.type, o.deleted_at "
                   "FROM accounts_tokens t JOIN accounts_users u ON u.id = t.user_id "
                   "JOIN accounts_orgs o ON o.id = u.org_id WHERE t.id = ?1");
        !r) {
      return r;
    }
    if (auto r = p(session_lookup_,
                   "SELECT s.digest, s.user_id, s.expires_at, s.ended_at, u.org_id, u.role, "
                   "u.disabled, o.type, o.deleted_at "
                   "FROM accounts_sessions s JOIN accounts_users u ON u.id = s.user_id "
                   "JOIN accounts_orgs o ON o.id = u.org_id WHERE s.id = ?1");
        !r) {
      return r;
    }
    if (auto r = p(user_lookup_,
                   "SELECT u.password_hash, u.disabled, u.org_id, u.role, o.type, o.deleted_at "
                   "FROM accounts_users u JOIN accounts_orgs o ON o.id = u.org_id "
                   "WHERE u.id = ?1");
        !r) {
      return r;
    }
    return p(last_used_update_, "UPDATE accounts_tokens SET last_used_at = ?2 WHERE id = ?1");
  }

  // ----- Organisations -----------------------------------------------------------

  Result<Organisation> CreateOrg(const NewOrg& org, const Actor& actor) override {
    return Write<Organisation>(
        "org.create", org.id, actor, [&](WriteRecord& rec) -> Result<Organisation> {
          if (auto v = ValidateNewOrg(org); !v) return std::unexpected(v.error());
          auto existing = ReadOrgLocked(org.id, /*include_deleted=*/true);
          if (!existing) return std::unexpected(existing.error());
          if (*existing) {
            if (existing->value().deleted) {
              return Fail("organisation '" + org.id + "' was deleted; ids are never reused", "id");
            }
            return Fail("organisation '" + org.id + "' already exists", "id");
          }
          auto identity = crypto::UuidV5(kOrgIdentityNamespace, org.id);
          if (!identity) return std::unexpected(identity.error());
          const int64_t now = Now();
          auto stmt = PrepareLocked(
              "INSERT INTO accounts_orgs (id, name, type, stix_identity, amber_share_with, "
              "default_tlp, anonymise_sightings, created_at, updated_at) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)");
          if (!stmt) return std::unexpected(stmt.error());
          const std::string stix_identity = "identity--" + *identity;
          const std::string share = JoinIds(org.amber_share_with);
          sql::StatementUse use(stmt->get());
          use.Text(1, org.id);
          use.Text(2, org.name);
          use.Text(3, OrgTypeName(org.type));
          use.Text(4, stix_identity);
          use.Text(5, share);
          if (org.default_tlp) {
            use.Text(6, TlpName(*org.default_tlp));
          } else {
            use.Null(6);
          }
          use.Int(7, org.anonymise_sightings ? 1 : 0);
          use.Int(8, now);
          if (use.Step() != SQLITE_DONE) return std::unexpected(SqlError("insert organisation"));
          rec.detail = OrgDetail(org);
          Organisation out;
          out.id = org.id;
          out.name = org.name;
          out.type = org.type;
          out.stix_identity = stix_identity;
          out.amber_share_with = org.amber_share_with;
          out.default_tlp = org.default_tlp;
          out.anonymise_sightings = org.anonymise_sightings;
          out.created_at = FormatUnix(now);
          return out;
        });
  }

  Result<std::optional<Organisation>> GetOrg(std::string_view id) override {
    std::lock_guard lock(db_mutex_);
    auto row = ReadOrgLocked(id, /*include_deleted=*/false);
    if (!row) return std::unexpected(row.error());
    if (!*row) return std::optional<Organisation>();
    return std::optional<Organisation>(std::move(row->value().org));
  }

  Result<std::vector<Organisation>> ListOrgs() override {
    std::lock_guard lock(db_mutex_);
    auto stmt = PrepareLocked(std::string(kOrgColumns) +
                              " FROM accounts_orgs WHERE deleted_at IS NULL ORDER BY id");
    if (!stmt) return std::unexpected(stmt.error());
    std::vector<Organisation> out;
    sql::StatementUse use(stmt->get());
    int rc;
    while ((rc = use.Step()) == SQLITE_ROW) out.push_back(OrgFromRow(stmt->get()).org);
    if (rc != SQLITE_DONE) return std::unexpected(SqlError("list organisations"));
    return out;
  }

  Result<Organisation> UpdateOrg(const NewOrg& org, const Actor& actor) override {
    return Write<Organisation>(
        "org.update", org.id, actor, [&](WriteRecord& rec) -> Result<Organisation> {
          if (auto v = ValidateNewOrg(org); !v) return std::unexpected(v.error());
          auto existing = RequireOrgLocked(org.id);
          if (!existing) return std::unexpected(existing.error());
          auto stmt = PrepareLocked(
              "UPDATE accounts_orgs SET name = ?2, type = ?3, amber_share_with = ?4, "
              "default_tlp = ?5, anonymise_sightings = ?6, updated_at = ?7 WHERE id = ?1");
          if (!stmt) return std::unexpected(stmt.error());
          const std::string share = JoinIds(org.amber_share_with);
          sql::StatementUse use(stmt->get());
          use.Text(1, org.id);
          use.Text(2, org.name);
          use.Text(3, OrgTypeName(org.type));
          use.Text(4, share);
          if (org.default_tlp) {
            use.Text(5, TlpName(*org.default_tlp));
          } else {
            use.Null(5);
          }
          use.Int(6, org.anonymise_sightings ? 1 : 0);
          use.Int(7, Now());
          if (use.Step() != SQLITE_DONE) return std::unexpected(SqlError("update organisation"));
          rec.detail = OrgDetail(org);
          Organisation out = std::move(*existing);
          out.name = org.name;
          out.type = org.type;
          out.amber_share_with = org.amber_share_with;
          out.default_tlp = org.default_tlp;
          out.anonymise_sightings = org.anonymise_sightings;
          return out;
        });
  }

  Result<void> DeleteOrg(std::string_view id, const Actor& actor) override {
    return Write<void>("org.delete", id, actor, [&](WriteRecord& rec) -> Result<void> {
      auto existing = RequireOrgLocked(id);
      if (!existing) return std::unexpected(existing.error());
      auto count =
          PrepareLocked("SELECT count(*) FROM accounts_users WHERE org_id = ?1 AND disabled = 0");
      if (!count) return std::unexpected(count.error());
      int64_t enabled = 0;
      {
        sql::StatementUse use(count->get());
        use.Text(1, id);
        if (use.Step() != SQLITE_ROW) return std::unexpected(SqlError("count users"));
        enabled = sql::ColumnInt(count->get(), 0);
      }
      if (enabled > 0) {
        return Fail("organisation '" + std::string(id) + "' still has " + std::to_string(enabled) +
                        " enabled user(s); disable them first",
                    "id");
      }
      const int64_t now = Now();
      if (auto r = ExecBound(
              "UPDATE accounts_orgs SET deleted_at = ?2, updated_at = ?2 WHERE id = ?1", id, now);
          !r) {
        return r;
      }
      // Belt and braces: nothing of a deleted organisation may authenticate.
      if (auto r = ExecBound(
              "UPDATE accounts_tokens SET revoked_at = ?2 WHERE revoked_at IS NULL AND user_id IN "
              "(SELECT id FROM accounts_users WHERE org_id = ?1)",
              id, now);
          !r) {
        return r;
      }
      if (auto r = ExecBound(
              "UPDATE accounts_sessions SET ended_at = ?2 WHERE ended_at IS NULL AND user_id IN "
              "(SELECT id FROM accounts_users WHERE org_id = ?1)",
              id, now);
          !r) {
        return r;
      }
      rec.detail = Detail().Str("name", existing->name).Close();
      return {};
    });
  }

  // ----- Users -------------------------------------------------------------------

  Result<User> CreateUser(const NewUser& user, const Actor& actor) override {
    std::optional<std::string> hash;
    Result<void> password_ok;
    if (user.password) {
      password_ok = ValidatePassword(*user.password);
      if (password_ok) {
        auto h = crypto::HashPassword(*user.password, options_.password_iterations);
        if (!h) return std::unexpected(h.error());
        hash = std::move(*h);
      }
    }
    return Write<User>("user.create", user.id, actor, [&](WriteRecord& rec) -> Result<User> {
      if (auto v = ValidateUserId(user.id); !v) return std::unexpected(v.error());
      if (auto v = ValidateOrgId(user.org_id, "org_id"); !v) return std::unexpected(v.error());
      if (auto v = ValidateText(user.display_name, "display_name", false); !v) {
        return std::unexpected(v.error());
      }
      if (!password_ok) return std::unexpected(password_ok.error());
      if (auto org = RequireOrgLocked(user.org_id, "org_id"); !org) {
        return std::unexpected(org.error());
      }
      auto existing = ReadUserLocked(user.id);
      if (!existing) return std::unexpected(existing.error());
      if (*existing) return Fail("user '" + user.id + "' already exists", "id");
      const int64_t now = Now();
      auto stmt = PrepareLocked(
          "INSERT INTO accounts_users (id, org_id, display_name, role, disabled, password_hash, "
          "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?6)");
      if (!stmt) return std::unexpected(stmt.error());
      sql::StatementUse use(stmt->get());
      use.Text(1, user.id);
      use.Text(2, user.org_id);
      use.Text(3, user.display_name);
      use.Text(4, RoleName(user.role));
      if (hash) {
        use.Text(5, *hash);
      } else {
        use.Null(5);
      }
      use.Int(6, now);
      if (use.Step() != SQLITE_DONE) return std::unexpected(SqlError("insert user"));
      rec.detail = Detail()
                       .Str("org", user.org_id)
                       .Str("role", RoleName(user.role))
                       .Bool("password", hash.has_value())
                       .Close();
      User out;
      out.id = user.id;
      out.org_id = user.org_id;
      out.display_name = user.display_name;
      out.role = user.role;
      out.has_password = hash.has_value();
      out.created_at = FormatUnix(now);
      return out;
    });
  }

  Result<std::optional<User>> GetUser(std::string_view id) override {
    std::lock_guard lock(db_mutex_);
    auto row = ReadUserLocked(id);
    if (!row) return std::unexpected(row.error());
    if (!*row) return std::optional<User>();
    return std::optional<User>(std::move(row->value().user));
  }

  Result<std::vector<User>> ListUsers(std::string_view org_id) override {
    std::lock_guard lock(db_mutex_);
    auto stmt = PrepareLocked(std::string(kUserColumns) +
                              " FROM accounts_users WHERE ?1 = '' OR org_id = ?1 ORDER BY id");
    if (!stmt) return std::unexpected(stmt.error());
    std::vector<User> out;
    sql::StatementUse use(stmt->get());
    use.Text(1, org_id);
    int rc;
    while ((rc = use.Step()) == SQLITE_ROW) out.push_back(UserFromRow(stmt->get()).user);
    if (rc != SQLITE_DONE) return std::unexpected(SqlError("list users"));
    return out;
  }

  Result<void> SetPassword(std::string_view user_id, std::string_view password,
                           const Actor& actor) override {
    Result<void> password_ok = ValidatePassword(password);
    std::string hash;
    if (password_ok) {
      auto h = crypto::HashPassword(password, options_.password_iterations);
      if (!h) return std::unexpected(h.error());
      hash = std::move(*h);
    }
    return Write<void>("user.passwd", user_id, actor, [&](WriteRecord& rec) -> Result<void> {
      if (!password_ok) return password_ok;
      auto user = RequireUserLocked(user_id);
      if (!user) return std::unexpected(user.error());
      const int64_t now = Now();
      auto stmt = PrepareLocked(
          "UPDATE accounts_users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1");
      if (!stmt) return std::unexpected(stmt.error());
      {
        sql::StatementUse use(stmt->get());
        use.Text(1, user_id);
        use.Text(2, hash);
        use.Int(3, now);
        if (use.Step() != SQLITE_DONE) return std::unexpected(SqlError("set password"));
      }
      // A new password signs the person out everywhere; API tokens stay.
      auto ended = ExecBound(
          "UPDATE accounts_sessions SET ended_at = ?2 WHERE user_id = ?1 AND ended_at IS NULL",
          user_id, now);
      if (!ended) return ended;
      rec.detail =
          Detail().Str("sessions_ended", std::to_string(sqlite3_changes(db_.get()))).Close();
      return {};
    });
  }

  Result<void> SetRole(std::string_view user_id, Role role, const Actor& actor) override {
    return Write<void>("user.role", user_id, actor, [&](WriteRecord& rec) -> Result<void> {
      auto user = RequireUserLocked(user_id);
      if (!user) return std::unexpected(user.error());
      if (auto r =
              ExecBoundText("UPDATE accounts_users SET role = ?2, updated_at = ?3 WHERE id = ?1",
                            user_id, RoleName(role), Now());
          !r) {
        return r;
      }
      rec.detail = Detail().Str("from", RoleName(user->role)).Str("to", RoleName(role)).Close();
      return {};
    });
  }

  Result<void> SetDisabled(std::string_view user_id, bool disabled, const Actor& actor) override {
    return Write<void>(
        disabled ? "user.disable" : "user.enable", user_id, actor,
        [&](WriteRecord& rec) -> Result<void> {
          auto user = RequireUserLocked(user_id);
          if (!user) return std::unexpected(user.error());
          if (!disabled) {
            auto org = ReadOrgLocked(user->org_id, /*include_deleted=*/true);
            if (!org) return std::unexpected(org.error());
            if (!*org || org->value().deleted) {
              return Fail("organisation '" + user->org_id + "' of user '" + std::string(user_id) +
                              "' was deleted",
                          "id");
            }
          }
          const int64_t now = Now();
          auto stmt = PrepareLocked(
              "UPDATE accounts_users SET disabled = ?2, updated_at = ?3 WHERE id = ?1");
          if (!stmt) return std::unexpected(stmt.error());
          {
            sql::StatementUse use(stmt->get());
            use.Text(1, user_id);
            use.Int(2, disabled ? 1 : 0);
            use.Int(3, now);
            if (use.Step() != SQLITE_DONE) return std::unexpected(SqlError("set disabled"));
          }
          Detail detail;
          detail.Bool("was_disabled", user->disabled);
          if (disabled) {
            auto tokens = ExecBound(
                "UPDATE accounts_tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS "
                "NULL",
                user_id, now);
            if (!tokens) return tokens;
            detail.Str("tokens_revoked", std::to_string(sqlite3_changes(db_.get())));
            auto sessions = ExecBound(
                "UPDATE accounts_sessions SET ended_at = ?2 WHERE user_id = ?1 AND ended_at IS "
                "NULL",
                user_id, now);
            if (!sessions) return sessions;
            detail.Str("sessions_ended", std::to_string(sqlite3_changes(db_.get())));
          }
          rec.detail = detail.Close();
          return {};
        });
  }

  // ----- Tokens ------------------------------------------------------------------

  Result<IssuedToken> CreateToken(const NewToken& token, const Actor& actor) override {
    auto secret = MakeSecret(kTokenIdPrefix);
    if (!secret) return std::unexpected(secret.error());
    return Write<IssuedToken>(
        "token.create", secret->id, actor, [&](WriteRecord& rec) -> Result<IssuedToken> {
          if (auto v = ValidateText(token.name, "name", false); !v)
            return std::unexpected(v.error());
          if (token.scopes == 0 ||
              (token.scopes & ~(kScopeRead | kScopeWrite | kScopeAdmin)) != 0) {
            return Fail("scopes must be a non-empty set of read, write, admin", "scopes");
          }
          if (token.ttl_seconds < 0) return Fail("must not be negative", "ttl_seconds");
          if (token.never_expires && token.ttl_seconds != 0) {
            return Fail("a token that never expires has no lifetime", "ttl_seconds");
          }
          if (token.never_expires && !options_.allow_never_expiring_tokens) {
            return Fail("tokens that never expire are not allowed here", "never_expires");
          }
          const int64_t ttl =
              token.ttl_seconds == 0 ? options_.default_token_ttl_seconds : token.ttl_seconds;
          if (!token.never_expires && ttl > options_.max_token_ttl_seconds) {
            return Fail("lifetime " + std::to_string(ttl) + " s is above the maximum of " +
                            std::to_string(options_.max_token_ttl_seconds) + " s",
                        "ttl_seconds");
          }
          auto user = RequireUserLocked(token.user_id, "user_id");
          if (!user) return std::unexpected(user.error());
          if (auto usable = CheckUsableLocked(*user, "user_id"); !usable) {
            return std::unexpected(usable.error());
          }
          const Scopes allowed = Principal::RoleScopes(user->role);
          if ((token.scopes & ~allowed) != 0) {
            return Fail("user '" + token.user_id + "' is " + std::string(RoleName(user->role)) +
                            ": a token cannot have scope " +
                            ScopesToString(token.scopes & ~allowed),
                        "scopes");
          }
          const int64_t now = Now();
          std::optional<int64_t> expires;
          if (!token.never_expires) expires = now + ttl;
          const crypto::Digest digest = crypto::Sha256(secret->secret);
          auto stmt = PrepareLocked(
              "INSERT INTO accounts_tokens (id, user_id, name, scopes, digest, created_at, "
              "expires_at) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
          if (!stmt) return std::unexpected(stmt.error());
          sql::StatementUse use(stmt->get());
          use.Text(1, secret->id);
          use.Text(2, token.user_id);
          use.Text(3, token.name);
          use.Int(4, token.scopes);
          BindBlob(stmt->get(), 5, crypto::AsBytes(digest));
          use.Int(6, now);
          BindOptionalInt(use, 7, expires);
          if (use.Step() != SQLITE_DONE) return std::unexpected(SqlError("insert token"));
          Detail detail;
          detail.Str("user", token.user_id)
              .Str("name", token.name)
              .Str("scopes", ScopesToString(token.scopes));
          if (expires) {
            detail.Str("expires_at", FormatUnix(*expires));
          } else {
            detail.Null("expires_at");
          }
          rec.detail = detail.Close();
          IssuedToken out;
          out.secret = secret->secret;
          out.info.id = secret->id;
          out.info.user_id = token.user_id;
          out.info.org_id = user->org_id;
          out.info.name = token.name;
          out.info.scopes = token.scopes;
          out.info.created_at = FormatUnix(now);
          out.info.expires_at = FormatOptional(expires);
          return out;
        });
  }

  Result<std::vector<TokenInfo>> ListTokens(std::string_view user_id) override {
    std::lock_guard lock(db_mutex_);
    auto stmt = PrepareLocked(
        "SELECT t.id, t.user_id, u.org_id, t.name, t.scopes, t.created_at, t.expires_at, "
        "t.revoked_at, t.last_used_at FROM accounts_tokens t "
        "JOIN accounts_users u ON u.id = t.user_id "
        "WHERE ?1 = '' OR t.user_id = ?1 ORDER BY t.created_at, t.rowid");
    if (!stmt) return std::unexpected(stmt.error());
    std::vector<TokenInfo> out;
    sql::StatementUse use(stmt->get());
    use.Text(1, user_id);
    int rc;
    while ((rc = use.Step()) == SQLITE_ROW) {
      sqlite3_stmt* s = stmt->get();
      TokenInfo t;
      t.id = sql::ColumnText(s, 0);
      t.user_id = sql::ColumnText(s, 1);
      t.org_id = sql::ColumnText(s, 2);
      t.name = sql::ColumnText(s, 3);
      t.scopes = static_cast<Scopes>(sql::ColumnInt(s, 4));
      t.created_at = FormatUnix(sql::ColumnInt(s, 5));
      t.expires_at = FormatOptional(ColumnOptionalInt(s, 6));
      t.revoked_at = FormatOptional(ColumnOptionalInt(s, 7));
      t.last_used_at = FormatOptional(ColumnOptionalInt(s, 8));
      out.push_back(std::move(t));
    }
    if (rc != SQLITE_DONE) return std::unexpected(SqlError("list tokens"));
    return out;
  }

  Result<void> RevokeToken(std::string_view token_id, const Actor& actor) override {
    return Write<void>("token.revoke", token_id, actor, [&](WriteRecord& rec) -> Result<void> {
      auto stmt = PrepareLocked("SELECT user_id, revoked_at FROM accounts_tokens WHERE id = ?1");
      if (!stmt) return std::unexpected(stmt.error());
      std::string owner;
      {
        sql::StatementUse use(stmt->get());
        use.Text(1, token_id);
        const int rc = use.Step();
        if (rc == SQLITE_DONE) {
          return Fail("no token '" + Printable(token_id) + "'", "token_id");
        }
        if (rc != SQLITE_ROW) return std::unexpected(SqlError("read token"));
        if (sqlite3_column_type(stmt->get(), 1) != SQLITE_NULL) {
          return Fail("token '" + std::string(token_id) + "' is already revoked", "token_id");
        }
        owner = sql::ColumnText(stmt->get(), 0);
      }
      if (auto r = ExecBound("UPDATE accounts_tokens SET revoked_at = ?2 WHERE id = ?1", token_id,
                             Now());
          !r) {
        return r;
      }
      rec.detail = Detail().Str("user", owner).Close();
      return {};
    });
  }

  // ----- Sessions ----------------------------------------------------------------

  Result<IssuedSession> CreateSession(std::string_view user_id, SessionMethod method,
                                      int64_t ttl_seconds, const Actor& actor) override {
    auto secret = MakeSecret(kSessionIdPrefix);
    if (!secret) return std::unexpected(secret.error());
    return Write<IssuedSession>(
        "session.create", secret->id, actor, [&](WriteRecord& rec) -> Result<IssuedSession> {
          if (ttl_seconds < 0) return Fail("must not be negative", "ttl_seconds");
          const int64_t ttl = ttl_seconds == 0 ? options_.default_session_ttl_seconds : ttl_seconds;
          if (ttl > options_.max_session_ttl_seconds) {
            return Fail("lifetime " + std::to_string(ttl) + " s is above the maximum of " +
                            std::to_string(options_.max_session_ttl_seconds) + " s",
                        "ttl_seconds");
          }
          auto user = RequireUserLocked(user_id, "user_id");
          if (!user) return std::unexpected(user.error());
          if (auto usable = CheckUsableLocked(*user, "user_id"); !usable) {
            return std::unexpected(usable.error());
          }
          const int64_t now = Now();
          const crypto::Digest digest = crypto::Sha256(secret->secret);
          auto stmt = PrepareLocked(
              "INSERT INTO accounts_sessions (id, user_id, method, digest, created_at, expires_at) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
          if (!stmt) return std::unexpected(stmt.error());
          sql::StatementUse use(stmt->get());
          use.Text(1, secret->id);
          use.Text(2, user_id);
          use.Text(3, SessionMethodName(method));
          BindBlob(stmt->get(), 4, crypto::AsBytes(digest));
          use.Int(5, now);
          use.Int(6, now + ttl);
          if (use.Step() != SQLITE_DONE) return std::unexpected(SqlError("insert session"));
          rec.detail = Detail()
                           .Str("user", user_id)
                           .Str("method", SessionMethodName(method))
                           .Str("expires_at", FormatUnix(now + ttl))
                           .Close();
          IssuedSession out;
          out.id = secret->id;
          out.secret = secret->secret;
          out.expires_at = FormatUnix(now + ttl);
          return out;
        });
  }

  Result<void> EndSession(std::string_view session_secret, const Actor& actor) override {
    const auto id = SecretId(session_secret, kSessionIdPrefix);
    const std::string target = id ? std::string(*id) : std::string("(malformed)");
    return Write<void>("session.end", target, actor, [&](WriteRecord& rec) -> Result<void> {
      if (!id) return Fail("not a session secret", "session_secret");
      auto stmt =
          PrepareLocked("SELECT digest, ended_at, user_id FROM accounts_sessions WHERE id = ?1");
      if (!stmt) return std::unexpected(stmt.error());
      std::string user;
      {
        sql::StatementUse use(stmt->get());
        use.Text(1, *id);
        const int rc = use.Step();
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) return std::unexpected(SqlError("read session"));
        const crypto::Digest digest = crypto::Sha256(session_secret);
        if (rc == SQLITE_DONE ||
            !crypto::ConstantTimeEquals(ColumnBlob(stmt->get(), 0), crypto::AsBytes(digest))) {
          return Fail("unknown session", "session_secret");
        }
        if (sqlite3_column_type(stmt->get(), 1) != SQLITE_NULL) {
          return Fail("session '" + target + "' has already ended", "session_secret");
        }
        user = sql::ColumnText(stmt->get(), 2);
      }
      if (auto r =
              ExecBound("UPDATE accounts_sessions SET ended_at = ?2 WHERE id = ?1", *id, Now());
          !r) {
        return r;
      }
      rec.detail = Detail().Str("user", user).Close();
      return {};
    });
  }

  Result<std::vector<SessionInfo>> ListSessions(std::string_view user_id) override {
    std::lock_guard lock(db_mutex_);
    auto stmt = PrepareLocked(
        "SELECT id, user_id, method, created_at, expires_at, ended_at FROM accounts_sessions "
        "WHERE ?1 = '' OR user_id = ?1 ORDER BY created_at, rowid");
    if (!stmt) return std::unexpected(stmt.error());
    std::vector<SessionInfo> out;
    sql::StatementUse use(stmt->get());
    use.Text(1, user_id);
    int rc;
    while ((rc = use.Step()) == SQLITE_ROW) {
      sqlite3_stmt* s = stmt->get();
      SessionInfo info;
      info.id = sql::ColumnText(s, 0);
      info.user_id = sql::ColumnText(s, 1);
      info.method = ParseSessionMethod(sql::ColumnText(s, 2)).value_or(SessionMethod::kPassword);
      info.created_at = FormatUnix(sql::ColumnInt(s, 3));
      info.expires_at = FormatUnix(sql::ColumnInt(s, 4));
      info.ended_at = FormatOptional(ColumnOptionalInt(s, 5));
      out.push_back(std::move(info));
    }
    if (rc != SQLITE_DONE) return std::unexpected(SqlError("list sessions"));
    return out;
  }

  Result<void> RevokeSession(std::string_view session_id, const Actor& actor) override {
    return Write<void>("session.revoke", session_id, actor, [&](WriteRecord& rec) -> Result<void> {
      auto stmt = PrepareLocked("SELECT user_id, ended_at FROM accounts_sessions WHERE id = ?1");
      if (!stmt) return std::unexpected(stmt.error());
      std::string user;
      {
        sql::StatementUse use(stmt->get());
        use.Text(1, session_id);
        const int rc = use.Step();
        if (rc == SQLITE_DONE)
          return Fail("no session '" + Printable(session_id) + "'", "session_id");
        if (rc != SQLITE_ROW) return std::unexpected(SqlError("read session"));
        if (sqlite3_column_type(stmt->get(), 1) != SQLITE_NULL) {
          return Fail("session '" + std::string(session_id) + "' has already ended", "session_id");
        }
        user = sql::ColumnText(stmt->get(), 0);
      }
      if (auto r = ExecBound("UPDATE accounts_sessions SET ended_at = ?2 WHERE id = ?1", session_id,
                             Now());
          !r) {
        return r;
      }
      rec.detail = Detail().Str("user", user).Close();
      return {};
    });
  }

  // ----- Authentication ----------------------------------------------------------

  std::expected<Principal, AuthFailure> AuthenticateToken(std::string_view secret) override {
    const auto id = SecretId(secret, kTokenIdPrefix);
    if (!id) return Deny("malformed token");
    const crypto::Digest digest = crypto::Sha256(secret);
    std::string key = "t";
    key.append(crypto::AsBytes(digest));

    std::lock_guard lock(db_mutex_);
    if (!RefreshEpochLocked()) return Deny("accounts database unavailable");
    const int64_t now = Now();
    if (auto it = cache_.find(key); it != cache_.end()) {
      CacheEntry& entry = it->second;
      if (entry.cache_until > now) {
        if (entry.expires_at && now >= *entry.expires_at) {
          cache_.erase(it);
          return Deny("token expired");
        }
        TouchTokenLocked(entry, now);
        return entry.principal;
      }
      cache_.erase(it);
    }

    CacheEntry entry;
    {
      sql::StatementUse use(token_lookup_.get());
      use.Text(1, *id);
      const int rc = use.Step();
      if (rc == SQLITE_DONE) return Deny("unknown token");
      if (rc != SQLITE_ROW) return Deny("accounts database unavailable");
      sqlite3_stmt* s = token_lookup_.get();
      if (!crypto::ConstantTimeEquals(ColumnBlob(s, 0), crypto::AsBytes(digest))) {
        return Deny("unknown token");
      }
      if (sqlite3_column_type(s, 4) != SQLITE_NULL) return Deny("token revoked");
      entry.expires_at = ColumnOptionalInt(s, 3);
      if (entry.expires_at && now >= *entry.expires_at) return Deny("token expired");
      if (sql::ColumnInt(s, 8) != 0) return Deny("user disabled");
      if (sqlite3_column_type(s, 10) != SQLITE_NULL) return Deny("organisation deleted");
      const auto role = ParseRole(sql::ColumnText(s, 7));
      const auto org_type = ParseOrgType(sql::ColumnText(s, 9));
      if (!role || !org_type) return Deny("account record unreadable");
      entry.principal.user_id = sql::ColumnText(s, 1);
      entry.principal.org_id = sql::ColumnText(s, 6);
      entry.principal.org_type = *org_type;
      entry.principal.role = *role;
      entry.principal.scopes =
          static_cast<Scopes>(sql::ColumnInt(s, 2)) & Principal::RoleScopes(*role);
      entry.principal.method = AuthMethod::kToken;
      entry.principal.credential_id = std::string(*id);
      entry.last_used_written = ColumnOptionalInt(s, 5).value_or(0);
    }
    entry.cache_until = now + options_.auth_cache_seconds;
    TouchTokenLocked(entry, now);
    Principal principal = entry.principal;
    InsertCacheLocked(std::move(key), std::move(entry));
    return principal;
  }

  std::expected<Principal, AuthFailure> AuthenticateBasic(std::string_view user,
                                                          std::string_view password) override {
    if (password.starts_with(std::string(kSecretPrefix) + std::string(kTokenIdPrefix))) {
      auto principal = AuthenticateToken(password);
      if (!principal) return principal;
      if (!user.empty() && user != "token" && user != principal->user_id) {
        return Deny("token used with another user name");
      }
      principal->method = AuthMethod::kBasicToken;
      return principal;
    }
    if (user.empty()) return Deny("empty user name");
    if (password.empty()) return Deny("empty password");
    if (user.size() > 128 || password.size() > kMaxPasswordLength)
      return Deny("credentials too long");

    std::string message = std::to_string(user.size());
    message += ':';
    message.append(user);
    message.append(password);
    std::string key = "b";
    key.append(crypto::AsBytes(crypto::HmacSha256(cache_key_, message)));

    std::string stored_hash;
    Principal principal;
    bool usable = true;
    std::string refusal;
    uint64_t epoch_at_read = 0;
    {
      std::lock_guard lock(db_mutex_);
      if (!RefreshEpochLocked()) return Deny("accounts database unavailable");
      const int64_t now = Now();
      if (auto it = cache_.find(key); it != cache_.end()) {
        if (it->second.cache_until > now) return it->second.principal;
        cache_.erase(it);
      }
      epoch_at_read = known_epoch_;
      sql::StatementUse use(user_lookup_.get());
      use.Text(1, user);
      const int rc = use.Step();
      if (rc == SQLITE_ROW) {
        sqlite3_stmt* s = user_lookup_.get();
        stored_hash = sql::ColumnText(s, 0);
        const auto role = ParseRole(sql::ColumnText(s, 3));
        const auto org_type = ParseOrgType(sql::ColumnText(s, 4));
        if (sql::ColumnInt(s, 1) != 0) {
          usable = false;
          refusal = "user disabled";
        } else if (sqlite3_column_type(s, 5) != SQLITE_NULL) {
          usable = false;
          refusal = "organisation deleted";
        } else if (!role || !org_type) {
          usable = false;
          refusal = "account record unreadable";
        } else {
          principal.user_id = std::string(user);
          principal.org_id = sql::ColumnText(s, 2);
          principal.org_type = *org_type;
          principal.role = *role;
          principal.scopes = Principal::RoleScopes(*role);
          principal.method = AuthMethod::kBasicPassword;
          principal.credential_id = "password";
        }
      } else if (rc != SQLITE_DONE) {
        return Deny("accounts database unavailable");
      }
    }
    // PBKDF2 runs outside the lock, and also for unknown users and users without a
    // password, so the time taken does not tell which user names exist.
    if (stored_hash.empty()) {
      (void)crypto::VerifyPassword(password, DummyHash());
      return Deny(principal.user_id.empty() && usable ? "unknown user or no password"
                                                      : "user has no password");
    }
    if (!crypto::VerifyPassword(password, stored_hash)) return Deny("wrong password");
    if (!usable) return Deny(refusal);

    std::lock_guard lock(db_mutex_);
    if (RefreshEpochLocked() && known_epoch_ == epoch_at_read) {
      CacheEntry entry;
      entry.principal = principal;
      entry.cache_until = Now() + options_.auth_cache_seconds;
      InsertCacheLocked(std::move(key), std::move(entry));
    }
    return principal;
  }

  std::expected<Principal, AuthFailure> AuthenticateSession(std::string_view secret) override {
    const auto id = SecretId(secret, kSessionIdPrefix);
    if (!id) return Deny("malformed session id");
    const crypto::Digest digest = crypto::Sha256(secret);
    std::string key = "s";
    key.append(crypto::AsBytes(digest));

    std::lock_guard lock(db_mutex_);
    if (!RefreshEpochLocked()) return Deny("accounts database unavailable");
    const int64_t now = Now();
    if (auto it = cache_.find(key); it != cache_.end()) {
      if (it->second.cache_until > now) {
        if (it->second.expires_at && now >= *it->second.expires_at) {
          cache_.erase(it);
          return Deny("session expired");
        }
        return it->second.principal;
      }
      cache_.erase(it);
    }
    CacheEntry entry;
    {
      sql::StatementUse use(session_lookup_.get());
      use.Text(1, *id);
      const int rc = use.Step();
      if (rc == SQLITE_DONE) return Deny("unknown session");
      if (rc != SQLITE_ROW) return Deny("accounts database unavailable");
      sqlite3_stmt* s = session_lookup_.get();
      if (!crypto::ConstantTimeEquals(ColumnBlob(s, 0), crypto::AsBytes(digest))) {
        return Deny("unknown session");
      }
      if (sqlite3_column_type(s, 3) != SQLITE_NULL) return Deny("session ended");
      entry.expires_at = sql::ColumnInt(s, 2);
      if (now >= *entry.expires_at) return Deny("session expired");
      if (sql::ColumnInt(s, 6) != 0) return Deny("user disabled");
      if (sqlite3_column_type(s, 8) != SQLITE_NULL) return Deny("organisation deleted");
      const auto role = ParseRole(sql::ColumnText(s, 5));
      const auto org_type = ParseOrgType(sql::ColumnText(s, 7));
      if (!role || !org_type) return Deny("account record unreadable");
      entry.principal.user_id = sql::ColumnText(s, 1);
      entry.principal.org_id = sql::ColumnText(s, 4);
      entry.principal.org_type = *org_type;
      entry.principal.role = *role;
      entry.principal.scopes = Principal::RoleScopes(*role);
      entry.principal.method = AuthMethod::kSession;
      entry.principal.credential_id = std::string(*id);
    }
    entry.cache_until = now + options_.auth_cache_seconds;
    Principal principal = entry.principal;
    InsertCacheLocked(std::move(key), std::move(entry));
    return principal;
  }

  std::expected<Principal, AuthFailure> AuthenticateHttp(
      std::optional<std::string_view> authorization,
      std::optional<std::string_view> cookie) override {
    if (authorization) {
      const std::string_view value = Trim(*authorization);
      if (value.empty()) return Deny("empty Authorization header");
      const size_t space = value.find_first_of(" \t");
      if (space == std::string_view::npos) return Deny("Authorization header without credentials");
      const std::string_view scheme = value.substr(0, space);
      const std::string_view credentials = Trim(value.substr(space + 1));
      if (credentials.empty()) return Deny("Authorization header without credentials");
      if (IEquals(scheme, "Bearer")) {
        return AuthenticateToken(credentials);
      }
      if (IEquals(scheme, "Basic")) {
        const auto decoded = crypto::Base64Decode(credentials);
        if (!decoded) return Deny("Basic credentials are not valid base64");
        const size_t colon = decoded->find(':');
        if (colon == std::string::npos) return Deny("Basic credentials without ':'");
        return AuthenticateBasic(std::string_view(*decoded).substr(0, colon),
                                 std::string_view(*decoded).substr(colon + 1));
      }
      return Deny("unsupported Authorization scheme '" + Printable(scheme) + "'");
    }
    if (cookie) {
      if (const auto session = FindCookie(*cookie, kSessionCookieName)) {
        return AuthenticateSession(*session);
      }
    }
    return Deny("no credentials");
  }

  // ----- Audit -------------------------------------------------------------------

  Result<void> Audit(AuditEntry entry) override {
    if (entry.action.empty()) return Fail("must not be empty", "action");
    if (entry.outcome.empty()) return Fail("must not be empty", "outcome");
    std::lock_guard lock(db_mutex_);
    return AppendAuditLocked(entry);
  }

  Result<std::vector<AuditEntry>> ListAudit(const AuditQuery& query) override {
    if (query.limit > 100'000) return Fail("at most 100000", "limit");
    std::lock_guard lock(db_mutex_);
    auto stmt = PrepareLocked(
        "SELECT seq, at, actor_user, actor_org, remote, action, target, outcome, detail "
        "FROM accounts_audit WHERE (?1 <= 0 OR seq < ?1) AND (?2 = '' OR actor_org = ?2) "
        "AND (?3 = '' OR substr(action, 1, length(?3)) = ?3) ORDER BY seq DESC LIMIT ?4");
    if (!stmt) return std::unexpected(stmt.error());
    std::vector<AuditEntry> out;
    sql::StatementUse use(stmt->get());
    use.Int(1, query.before_seq);
    use.Text(2, query.org_id);
    use.Text(3, query.action_prefix);
    use.Int(4, static_cast<int64_t>(query.limit == 0 ? 100 : query.limit));
    int rc;
    while ((rc = use.Step()) == SQLITE_ROW) {
      sqlite3_stmt* s = stmt->get();
      AuditEntry e;
      e.seq = sql::ColumnInt(s, 0);
      e.at = sql::ColumnText(s, 1);
      e.actor_user = sql::ColumnText(s, 2);
      e.actor_org = sql::ColumnText(s, 3);
      e.remote = sql::ColumnText(s, 4);
      e.action = sql::ColumnText(s, 5);
      e.target = sql::ColumnText(s, 6);
      e.outcome = sql::ColumnText(s, 7);
      e.detail = sql::ColumnText(s, 8);
      out.push_back(std::move(e));
    }
    if (rc != SQLITE_DONE) return std::unexpected(SqlError("list audit entries"));
    return out;
  }

 private:
  static constexpr std::string_view kOrgColumns =
      "SELECT id, name, type, stix_identity, amber_share_with, default_tlp, anonymise_sightings, "
      "created_at, deleted_at";
  static constexpr std::string_view kUserColumns =
      "SELECT id, org_id, display_name, role, disabled, password_hash IS NOT NULL, created_at";

  struct OrgRow {
    Organisation org;
    bool deleted = false;
  };
  struct UserRow {
    User user;
  };
  struct WriteRecord {
    std::string detail;
  };
  struct CacheEntry {
    Principal principal;
    int64_t cache_until = 0;
    std::optional<int64_t> expires_at;
    int64_t last_used_written = 0;  // tokens only
  };

  int64_t Now() const {
    if (options_.now) return options_.now();
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  Error SqlError(std::string_view what) const { return sql::SqliteError(db_.get(), what, where_); }

  Result<sql::Statement> PrepareLocked(std::string_view text) {
    return sql::Prepare(db_.get(), text, where_);
  }

  // Runs `text` with ?1 = id and ?2 = value.
  Result<void> ExecBound(std::string_view text, std::string_view id, int64_t value) {
    auto stmt = PrepareLocked(text);
    if (!stmt) return std::unexpected(stmt.error());
    sql::StatementUse use(stmt->get());
    use.Text(1, id);
    use.Int(2, value);
    if (use.Step() != SQLITE_DONE) return std::unexpected(SqlError("update"));
    return {};
  }

  // Runs `text` with ?1 = id, ?2 = text and ?3 = value.
  Result<void> ExecBoundText(std::string_view text, std::string_view id, std::string_view value,
                             int64_t number) {
    auto stmt = PrepareLocked(text);
    if (!stmt) return std::unexpected(stmt.error());
    sql::StatementUse use(stmt->get());
    use.Text(1, id);
    use.Text(2, value);
    use.Int(3, number);
    if (use.Step() != SQLITE_DONE) return std::unexpected(SqlError("update"));
    return {};
  }

  // One audited write: `body` runs in an IMMEDIATE transaction under the lock; on
  // success the audit entry (outcome "ok") and the epoch bump join the same
  // transaction. On failure nothing is changed and an entry with outcome "failed"
  // records the attempt and the reason.
  template <typename T, typename Body>
  Result<T> Write(std::string_view action, std::string_view target, const Actor& actor,
                  Body&& body) {
    std::lock_guard lock(db_mutex_);
    WriteRecord rec;
    Result<T> result = [&]() -> Result<T> {
      auto txn = sql::Transaction::Begin(db_.get(), where_);
      if (!txn) return std::unexpected(txn.error());
      Result<T> r = body(rec);
      if (!r) return r;
      if (auto a = AppendAuditLocked(MakeEntry(actor, action, target, "ok", rec.detail)); !a) {
        return std::unexpected(a.error());
      }
      if (auto e = sql::ExecSql(db_.get(),
                                "UPDATE accounts_epoch SET value = value + 1 WHERE id = 1", where_);
          !e) {
        return std::unexpected(e.error());
      }
      if (auto c = txn->Commit(); !c) return std::unexpected(c.error());
      return r;
    }();
    cache_.clear();
    if (!result) {
      (void)AppendAuditLocked(MakeEntry(actor, action, target, "failed",
                                        Detail().Str("error", result.error().ToString()).Close()));
    }
    return result;
  }

  AuditEntry MakeEntry(const Actor& actor, std::string_view action, std::string_view target,
                       std::string_view outcome, std::string detail) const {
    AuditEntry e;
    e.actor_user = actor.user_id;
    e.actor_org = actor.org_id;
    e.remote = actor.remote;
    e.action = action;
    e.target = Printable(target);
    e.outcome = outcome;
    e.detail = std::move(detail);
    return e;
  }

  Result<void> AppendAuditLocked(const AuditEntry& entry) {
    auto stmt = PrepareLocked(
        "INSERT INTO accounts_audit (at, actor_user, actor_org, remote, action, target, outcome, "
        "detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (!stmt) return std::unexpected(stmt.error());
    const std::string at = entry.at.empty() ? FormatUnix(Now()) : entry.at;
    sql::StatementUse use(stmt->get());
    use.Text(1, at);
    use.Text(2, entry.actor_user);
    use.Text(3, entry.actor_org);
    use.Text(4, entry.remote);
    use.Text(5, entry.action);
    use.Text(6, entry.target);
    use.Text(7, entry.outcome);
    use.Text(8, entry.detail);
    if (use.Step() != SQLITE_DONE) return std::unexpected(SqlError("append audit entry"));
    return {};
  }

  // Empties the cache when accounts changed (here or in another process).
  bool RefreshEpochLocked() {
    sql::StatementUse use(epoch_select_.get());
    if (use.Step() != SQLITE_ROW) return false;
    const uint64_t epoch = static_cast<uint64_t>(sql::ColumnInt(epoch_select_.get(), 0));
    if (epoch != known_epoch_) {
      cache_.clear();
      known_epoch_ = epoch;
    }
    return true;
  }

  void InsertCacheLocked(std::string key, CacheEntry entry) {
    if (cache_.size() >= kMaxCacheEntries) cache_.clear();
    cache_.insert_or_assign(std::move(key), std::move(entry));
  }

  // Records last_used_at at most once per interval. Never waits for a busy database:
  // a skipped update is retried on a later request.
  void TouchTokenLocked(CacheEntry& entry, int64_t now) {
    if (now - entry.last_used_written < options_.last_used_interval_seconds) return;
    sqlite3_busy_timeout(db_.get(), 0);
    {
      sql::StatementUse use(last_used_update_.get());
      use.Text(1, entry.principal.credential_id);
      use.Int(2, now);
      if (use.Step() == SQLITE_DONE) entry.last_used_written = now;
    }
    sqlite3_busy_timeout(db_.get(), sql::OpenOptions{}.busy_timeout_ms);
  }

  const std::string& DummyHash() {
    std::call_once(dummy_hash_once_, [&] {
      dummy_hash_ = crypto::HashPassword("no such user", options_.password_iterations)
                        .value_or(std::string());
    });
    return dummy_hash_;
  }

  Result<void> ValidateNewOrg(const NewOrg& org) {
    if (auto v = ValidateOrgId(org.id, "id"); !v) return v;
    if (auto v = ValidateText(org.name, "name", true); !v) return v;
    for (const std::string& other : org.amber_share_with) {
      if (auto v = ValidateOrgId(other, "amber_share_with"); !v) return v;
      if (other == org.id) {
        return Fail("an organisation does not share with itself", "amber_share_with");
      }
    }
    return {};
  }

  static std::string OrgDetail(const NewOrg& org) {
    Detail d;
    d.Str("name", org.name)
        .Str("type", OrgTypeName(org.type))
        .List("amber_share_with", org.amber_share_with);
    if (org.default_tlp) {
      d.Str("default_tlp", TlpName(*org.default_tlp));
    } else {
      d.Null("default_tlp");
    }
    d.Bool("anonymise_sightings", org.anonymise_sightings);
    return d.Close();
  }

  static OrgRow OrgFromRow(sqlite3_stmt* s) {
    OrgRow row;
    Organisation& o = row.org;
    o.id = sql::ColumnText(s, 0);
    o.name = sql::ColumnText(s, 1);
    o.type = ParseOrgType(sql::ColumnText(s, 2)).value_or(OrgType::kTrust);
    o.stix_identity = sql::ColumnText(s, 3);
    o.amber_share_with = SplitIds(sql::ColumnText(s, 4));
    if (sqlite3_column_type(s, 5) != SQLITE_NULL) o.default_tlp = ParseTlp(sql::ColumnText(s, 5));
    o.anonymise_sightings = sql::ColumnInt(s, 6) != 0;
    o.created_at = FormatUnix(sql::ColumnInt(s, 7));
    row.deleted = sqlite3_column_type(s, 8) != SQLITE_NULL;
    return row;
  }

  static UserRow UserFromRow(sqlite3_stmt* s) {
    UserRow row;
    User& u = row.user;
    u.id = sql::ColumnText(s, 0);
    u.org_id = sql::ColumnText(s, 1);
    u.display_name = sql::ColumnText(s, 2);
    u.role = ParseRole(sql::ColumnText(s, 3)).value_or(Role::kReadOnly);
    u.disabled = sql::ColumnInt(s, 4) != 0;
    u.has_password = sql::ColumnInt(s, 5) != 0;
    u.created_at = FormatUnix(sql::ColumnInt(s, 6));
    return row;
  }

  Result<std::optional<OrgRow>> ReadOrgLocked(std::string_view id, bool include_deleted) {
    auto stmt = PrepareLocked(std::string(kOrgColumns) + " FROM accounts_orgs WHERE id = ?1");
    if (!stmt) return std::unexpected(stmt.error());
    sql::StatementUse use(stmt->get());
    use.Text(1, id);
    const int rc = use.Step();
    if (rc == SQLITE_DONE) return std::optional<OrgRow>();
    if (rc != SQLITE_ROW) return std::unexpected(SqlError("read organisation"));
    OrgRow row = OrgFromRow(stmt->get());
    if (row.deleted && !include_deleted) return std::optional<OrgRow>();
    return std::optional<OrgRow>(std::move(row));
  }

  Result<Organisation> RequireOrgLocked(std::string_view id, std::string_view field = "id") {
    auto row = ReadOrgLocked(id, /*include_deleted=*/false);
    if (!row) return std::unexpected(row.error());
    if (!*row) return Fail("no organisation '" + Printable(id) + "'", std::string(field));
    return std::move(row->value().org);
  }

  Result<std::optional<UserRow>> ReadUserLocked(std::string_view id) {
    auto stmt = PrepareLocked(std::string(kUserColumns) + " FROM accounts_users WHERE id = ?1");
    if (!stmt) return std::unexpected(stmt.error());
    sql::StatementUse use(stmt->get());
    use.Text(1, id);
    const int rc = use.Step();
    if (rc == SQLITE_DONE) return std::optional<UserRow>();
    if (rc != SQLITE_ROW) return std::unexpected(SqlError("read user"));
    return std::optional<UserRow>(UserFromRow(stmt->get()));
  }

  Result<User> RequireUserLocked(std::string_view id, std::string_view field = "id") {
    auto row = ReadUserLocked(id);
    if (!row) return std::unexpected(row.error());
    if (!*row) return Fail("no user '" + Printable(id) + "'", std::string(field));
    return std::move(row->value().user);
  }

  // A user that may be given new credentials: enabled, in a live organisation.
  Result<void> CheckUsableLocked(const User& user, std::string_view field) {
    if (user.disabled) return Fail("user '" + user.id + "' is disabled", std::string(field));
    auto org = ReadOrgLocked(user.org_id, /*include_deleted=*/false);
    if (!org) return std::unexpected(org.error());
    if (!*org) {
      return Fail("organisation '" + user.org_id + "' of user '" + user.id + "' was deleted",
                  std::string(field));
    }
    return {};
  }

  const std::string where_;
  const AccountsOptions options_;
  const std::string cache_key_;  // per-process random HMAC key for the Basic cache

  // Guards the connection, its prepared statements, the credential cache and the epoch.
  std::mutex db_mutex_;
  sql::Db db_;
  sql::Statement epoch_select_;
  sql::Statement token_lookup_;
  sql::Statement session_lookup_;
  sql::Statement user_lookup_;
  sql::Statement last_used_update_;
  // Verified credentials: "t"+SHA-256(token), "s"+SHA-256(session), "b"+HMAC(user, password).
  std::unordered_map<std::string, CacheEntry> cache_;
  uint64_t known_epoch_ = UINT64_MAX;

  std::once_flag dummy_hash_once_;
  std::string dummy_hash_;
};

}  // namespace

// ---------------------------------------------------------------------------------
// Free functions

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kReadOnly:
      return "read-only";
    case Role::kAnalyst:
      return "analyst";
    case Role::kAdmin:
      return "admin";
  }
  return "read-only";
}

std::optional<Role> ParseRole(std::string_view s) {
  const std::string t = AsciiLower(Trim(s));
  if (t == "admin") return Role::kAdmin;
  if (t == "analyst") return Role::kAnalyst;
  if (t == "read-only" || t == "readonly" || t == "read_only") return Role::kReadOnly;
  return std::nullopt;
}

std::optional<OrgType> ParseOrgType(std::string_view s) {
  const std::string t = AsciiLower(Trim(s));
  if (t == "national-centre" || t == "national_centre" || t == "national-center" ||
      t == "national") {
    return OrgType::kNationalCentre;
  }
  if (t == "trust") return OrgType::kTrust;
  if (t == "gp-practice" || t == "gp_practice" || t == "gp") return OrgType::kGpPractice;
  if (t == "supplier") return OrgType::kSupplier;
  return std::nullopt;
}

std::string ScopesToString(Scopes scopes) {
  std::string out;
  auto add = [&](Scopes bit, std::string_view name) {
    if ((scopes & bit) == 0) return;
    if (!out.empty()) out += ',';
    out += name;
  };
  add(kScopeRead, "read");
  add(kScopeWrite, "write");
  add(kScopeAdmin, "admin");
  return out;
}

std::optional<Scopes> ParseScopes(std::string_view s) {
  Scopes scopes = 0;
  for (std::string_view part : Split(s, ',')) {
    const std::string name = AsciiLower(Trim(part));
    if (name == "read") {
      scopes |= kScopeRead;
    } else if (name == "write") {
      scopes |= kScopeWrite;
    } else if (name == "admin") {
      scopes |= kScopeAdmin;
    } else if (name == "all") {
      scopes |= kScopeRead | kScopeWrite | kScopeAdmin;
    } else {
      return std::nullopt;
    }
  }
  if (scopes == 0) return std::nullopt;
  return scopes;
}

std::string_view AuthMethodName(AuthMethod method) {
  switch (method) {
    case AuthMethod::kToken:
      return "token";
    case AuthMethod::kBasicPassword:
      return "basic-password";
    case AuthMethod::kBasicToken:
      return "basic-token";
    case AuthMethod::kSession:
      return "session";
    case AuthMethod::kLocal:
      return "local";
  }
  return "token";
}

std::string_view SessionMethodName(SessionMethod method) {
  return method == SessionMethod::kWebAuthn ? "webauthn" : "password";
}

std::optional<std::string_view> FindCookie(std::string_view cookie_header, std::string_view name) {
  for (std::string_view pair : Split(cookie_header, ';')) {
    pair = Trim(pair);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (Trim(pair.substr(0, eq)) != name) continue;
    std::string_view value = Trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    return value;
  }
  return std::nullopt;
}

std::string SessionSetCookie(std::string_view secret, int64_t max_age_seconds) {
  std::string out(kSessionCookieName);
  out += '=';
  out.append(max_age_seconds > 0 ? secret : std::string_view());
  out += "; Path=/; Max-Age=" + std::to_string(max_age_seconds > 0 ? max_age_seconds : 0);
  out += "; HttpOnly; Secure; SameSite=Strict";
  return out;
}

Scopes Principal::RoleScopes(Role role) {
  switch (role) {
    case Role::kReadOnly:
      return kScopeRead;
    case Role::kAnalyst:
      return kScopeRead | kScopeWrite;
    case Role::kAdmin:
      return kScopeRead | kScopeWrite | kScopeAdmin;
  }
  return kScopeRead;
}

bool Principal::Can(Permission permission) const {
  switch (permission) {
    case Permission::kRead:
      return (scopes & kScopeRead) != 0;
    case Permission::kWrite:
      return role >= Role::kAnalyst && (scopes & kScopeWrite) != 0;
    case Permission::kAdmin:
      return role == Role::kAdmin && (scopes & kScopeAdmin) != 0;
  }
  return false;
}

Actor Actor::Cli() {
  std::string name;
  struct passwd pw {};
  struct passwd* found = nullptr;
  char buf[1024];
  if (getpwuid_r(geteuid(), &pw, buf, sizeof buf, &found) == 0 && found != nullptr) {
    name = found->pw_name;
  } else {
    name = "uid" + std::to_string(geteuid());
  }
  return Actor{.user_id = "cli:" + name, .org_id = "", .remote = "local"};
}

Actor Actor::Of(const Principal& principal, std::string_view remote) {
  return Actor{
      .user_id = principal.user_id, .org_id = principal.org_id, .remote = std::string(remote)};
}

Result<std::unique_ptr<Accounts>> Accounts::Open(const std::string& db_path,
                                                 AccountsOptions options) {
  if (options.password_iterations < crypto::kMinPasswordIterations) {
    return Fail("PBKDF2 iterations must be at least 100000", "password_iterations");
  }
  if (options.default_token_ttl_seconds <= 0 || options.max_token_ttl_seconds <= 0 ||
      options.default_token_ttl_seconds > options.max_token_ttl_seconds) {
    return Fail("token lifetimes must be positive and the default at most the maximum",
                "default_token_ttl_seconds");
  }
  if (options.default_session_ttl_seconds <= 0 ||
      options.default_session_ttl_seconds > options.max_session_ttl_seconds) {
    return Fail("session lifetimes must be positive and the default at most the maximum",
                "default_session_ttl_seconds");
  }
  if (db_path.empty()) return Fail("no database path given", "db_path");
  if (db_path != ":memory:") {
    const std::filesystem::path parent = std::filesystem::path(db_path).parent_path();
    if (!parent.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(parent, ec);
      if (ec) {
        Error e;
        e.where = db_path;
        e.reason = "cannot create directory '" + parent.string() + "': " + ec.message();
        return std::unexpected(e);
      }
    }
  }
  auto db = sql::OpenDatabase(db_path);
  if (!db) return std::unexpected(db.error());
  auto version = sql::ApplyComponentMigrations(db->get(), "accounts", kMigrations, db_path);
  if (!version) return std::unexpected(version.error());
  auto cache_key = crypto::RandomBytes(32);
  if (!cache_key) return std::unexpected(cache_key.error());
  auto accounts = std::make_unique<SqliteAccounts>(db_path, std::move(options), std::move(*db),
                                                   std::move(*cache_key));
  if (auto r = accounts->Prepare(); !r) return std::unexpected(r.error());
  return std::unique_ptr<Accounts>(std::move(accounts));
}

}  // namespace aegis::auth
