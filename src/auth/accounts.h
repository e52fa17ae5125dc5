// Accounts: organisations, users, API tokens, sessions and the audit log of the hub.
//
// Everything lives in the embedded database (its own tables, component "accounts").
// Secrets never do: tokens and session ids are stored as SHA-256 digests, passwords
// as PBKDF2-HMAC-SHA256 with a per-user salt. Who may do what:
//
//   Role (per user)      admin > analyst > read-only
//   Scope (per token)    read, write, admin; a token never grants more than its user's role
//
// Sign-in for people goes through sessions: any authenticator (a password today, a
// WebAuthn passkey later) that has proved who the user is calls CreateSession with
// its method; the session id then travels in the `aegis_session` cookie. See
// docs/ACCESS.md.
//
//   auto accounts = auth::Accounts::Open("aegis.db");
//   auto org = (*accounts)->CreateOrg({.id = "rxa", .name = "Royal X Trust",
//                                      .type = OrgType::kTrust}, auth::Actor::Cli());
//   auto token = (*accounts)->CreateToken({.user_id = "ana", .scopes = kScopeRead}, actor);
//   auto who = (*accounts)->AuthenticateHttp(authorization_header, cookie_header);
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/tlp_policy.h"
#include "core/error.h"
#include "core/types.h"

namespace aegis::auth {

enum class Role : unsigned char { kReadOnly, kAnalyst, kAdmin };
std::string_view RoleName(Role role);                     // "read-only", "analyst", "admin"
std::optional<Role> ParseRole(std::string_view s);        // also "readonly", "read_only"
std::optional<OrgType> ParseOrgType(std::string_view s);  // "national-centre", "trust", ...

// Token scopes, a bit set.
using Scopes = unsigned;
inline constexpr Scopes kScopeRead = 1;                 // read objects, alerts, notifications
inline constexpr Scopes kScopeWrite = 2;                // add objects, sightings, registrations
inline constexpr Scopes kScopeAdmin = 4;                // manage organisations, users, tokens
std::string ScopesToString(Scopes scopes);              // "read,write"
std::optional<Scopes> ParseScopes(std::string_view s);  // "read,write"; "all"

// What a request is allowed to do, checked by every endpoint.
enum class Permission : unsigned char {
  kRead,   // role >= read-only, scope read
  kWrite,  // role >= analyst,   scope write
  kAdmin,  // role == admin,     scope admin (own organisation only unless national)
};

struct Organisation {
  std::string id;    // short stable slug: "rxa-trust", "ncc"; [a-z0-9-], 2..64
  std::string name;  // display name
  OrgType type = OrgType::kTrust;
  std::string stix_identity;  // "identity--<uuid v5 of id>": created_by_ref of its objects
  std::vector<std::string> amber_share_with;  // orgs it shares TLP:AMBER with by default
  std::optional<Tlp> default_tlp;             // for objects it leaves unmarked
  bool anonymise_sightings = false;           // sightings shared upward carry no org name
  std::string created_at;                     // RFC 3339 UTC
};

struct User {
  std::string id;  // login name: [a-z0-9._-@], 1..128
  std::string org_id;
  std::string display_name;
  Role role = Role::kReadOnly;
  bool disabled = false;
  bool has_password = false;
  std::string created_at;
};

struct TokenInfo {
  std::string id;  // public part, "tok_<16 hex>"; the secret is "aegis_<id>_<random>"
  std::string user_id;
  std::string org_id;
  std::string name;
  Scopes scopes = kScopeRead;
  std::string created_at;
  std::optional<std::string> expires_at;  // unset: never (service accounts, see docs/ACCESS.md)
  std::optional<std::string> revoked_at;
  std::optional<std::string> last_used_at;
};

// A token as handed out once: `secret` is "aegis_<id>_<random>" and is not stored.
struct IssuedToken {
  TokenInfo info;
  std::string secret;
};

enum class AuthMethod : unsigned char { kToken, kBasicPassword, kBasicToken, kSession, kLocal };
std::string_view AuthMethodName(AuthMethod method);

// How a session was opened: the authenticator that proved the user.
enum class SessionMethod : unsigned char { kPassword, kWebAuthn };

std::string_view SessionMethodName(SessionMethod method);  // "password", "webauthn"

struct IssuedSession {
  std::string id;      // public id for listing and revoking: "ses_<16 hex>"
  std::string secret;  // cookie value, not stored: "aegis_<id>_<random>"
  std::string expires_at;
};

struct SessionInfo {
  std::string id;
  std::string user_id;
  SessionMethod method = SessionMethod::kPassword;
  std::string created_at;
  std::string expires_at;
  std::optional<std::string> ended_at;
};

// The cookie that carries a session.
inline constexpr std::string_view kSessionCookieName = "aegis_session";
// The value of cookie `name` in a `Cookie` request header ("a=1; aegis_session=x"),
// with surrounding double quotes removed; nullopt when absent. The first one wins.
std::optional<std::string_view> FindCookie(std::string_view cookie_header, std::string_view name);
// A `Set-Cookie` value for a session: HttpOnly, Secure, SameSite=Strict, Path=/.
// `max_age_seconds` 0 clears the cookie (sign-out).
std::string SessionSetCookie(std::string_view secret, int64_t max_age_seconds);

// The authenticated caller of one request.
struct Principal {
  std::string user_id;
  std::string org_id;
  OrgType org_type = OrgType::kTrust;
  Role role = Role::kReadOnly;
  Scopes scopes = kScopeRead;  // of the token; all scopes the role allows otherwise
  AuthMethod method = AuthMethod::kToken;
  std::string credential_id;  // token or session id, for the audit log

  bool Can(Permission permission) const;
  // The scopes a role allows at most: read-only {read}, analyst {read, write}, admin all.
  static Scopes RoleScopes(Role role);
  Reader AsReader() const { return Reader{.org_id = org_id, .org_type = org_type}; }
};

// Who performs a write, for the audit log.
struct Actor {
  std::string user_id;  // "cli:<unix user>" for local commands
  std::string org_id;
  std::string remote;  // "127.0.0.1:5555", "local"
  static Actor Cli();  // user "cli:<unix user>", no organisation, remote "local"
  static Actor Of(const Principal& principal, std::string_view remote);
};

struct AuditEntry {
  int64_t seq = 0;  // set by the log
  std::string at;   // RFC 3339 UTC, set by the log when empty
  std::string actor_user;
  std::string actor_org;
  std::string remote;
  std::string action;          // "org.create", "token.revoke", "taxii.objects.add", ...
  std::string target;          // the id acted on
  std::string outcome = "ok";  // "ok", "denied", "failed"
  std::string detail;          // free text or a JSON object
};

struct AuditQuery {
  size_t limit = 100;
  int64_t before_seq = 0;     // 0: newest first from the end
  std::string org_id;         // empty: all; else entries whose actor_org is this
  std::string action_prefix;  // "token." for all token actions
};

struct NewOrg {
  std::string id;
  std::string name;
  OrgType type = OrgType::kTrust;
  std::vector<std::string> amber_share_with;
  std::optional<Tlp> default_tlp;
  bool anonymise_sightings = false;
};

struct NewUser {
  std::string id;
  std::string org_id;
  std::string display_name;
  Role role = Role::kReadOnly;
  std::optional<std::string> password;  // unset: token-only user
};

struct NewToken {
  std::string user_id;
  std::string name;
  Scopes scopes = kScopeRead;
  // Lifetime; 0 means the default (90 days). Negative is an error.
  int64_t ttl_seconds = 0;
  bool never_expires = false;  // for service accounts; recorded in the audit log
};

// Limits and knobs. The defaults are the production values.
struct AccountsOptions {
  int64_t default_token_ttl_seconds = 90LL * 86400;
  int64_t max_token_ttl_seconds = 365LL * 86400;
  bool allow_never_expiring_tokens = true;  // NewToken::never_expires
  int64_t default_session_ttl_seconds = 12LL * 3600;
  int64_t max_session_ttl_seconds = 30LL * 86400;
  int password_iterations = 210'000;  // PBKDF2-HMAC-SHA256; at least 100,000
  // How long a verified token, session or Basic password is kept in memory. Any
  // change to accounts (in this or another process) empties the cache at once.
  int64_t auth_cache_seconds = 60;
  // last_used_at of a token is written at most this often.
  int64_t last_used_interval_seconds = 60;
  // The clock, Unix seconds; unset: the system clock. Tests inject one.
  std::function<int64_t()> now;
};

// Limits on what a person may choose.
inline constexpr size_t kMinPasswordLength = 8;
inline constexpr size_t kMaxPasswordLength = 1024;

// Why authentication failed: 401 for all of these (the answer does not say which).
struct AuthFailure {
  std::string reason;  // for the log: "unknown token", "token revoked", "expired", ...
};

class Accounts {
 public:
  // Opens (creating tables if needed) the accounts tables in the SQLite database at
  // `db_path` (":memory:" for a private one, tests only). Creates the parent
  // directory when missing. All methods are safe to call from several threads.
  static Result<std::unique_ptr<Accounts>> Open(const std::string& db_path,
                                                AccountsOptions options = {});
  virtual ~Accounts() = default;

  // Organisations
  virtual Result<Organisation> CreateOrg(const NewOrg& org, const Actor& actor) = 0;
  virtual Result<std::optional<Organisation>> GetOrg(std::string_view id) = 0;
  virtual Result<std::vector<Organisation>> ListOrgs() = 0;
  // Replaces every field but id (and stix_identity, created_at).
  virtual Result<Organisation> UpdateOrg(const NewOrg& org, const Actor& actor) = 0;
  // Refused while the organisation has enabled users. Deletion is permanent: the id
  // (and with it the STIX identity) cannot be given to a new organisation.
  virtual Result<void> DeleteOrg(std::string_view id, const Actor& actor) = 0;

  // Users
  virtual Result<User> CreateUser(const NewUser& user, const Actor& actor) = 0;
  virtual Result<std::optional<User>> GetUser(std::string_view id) = 0;
  virtual Result<std::vector<User>> ListUsers(std::string_view org_id = {}) = 0;  // empty: all
  virtual Result<void> SetPassword(std::string_view user_id, std::string_view password,
                                   const Actor& actor) = 0;
  virtual Result<void> SetRole(std::string_view user_id, Role role, const Actor& actor) = 0;
  // Disabling also revokes the user's tokens and sessions.
  virtual Result<void> SetDisabled(std::string_view user_id, bool disabled, const Actor& actor) = 0;

  // Tokens
  virtual Result<IssuedToken> CreateToken(const NewToken& token, const Actor& actor) = 0;
  virtual Result<std::vector<TokenInfo>> ListTokens(std::string_view user_id = {}) = 0;
  virtual Result<void> RevokeToken(std::string_view token_id, const Actor& actor) = 0;

  // Sessions (people): opened by an authenticator, carried in a cookie.
  virtual Result<IssuedSession> CreateSession(std::string_view user_id, SessionMethod method,
                                              int64_t ttl_seconds, const Actor& actor) = 0;
  virtual Result<void> EndSession(std::string_view session_secret, const Actor& actor) = 0;
  virtual Result<std::vector<SessionInfo>> ListSessions(std::string_view user_id = {}) = 0;
  virtual Result<void> RevokeSession(std::string_view session_id, const Actor& actor) = 0;

  // Authentication. Fast on the hot path: verified Basic passwords are cached (keyed
  // by an HMAC of the credentials, for a minute) so PBKDF2 runs once, not per request.
  virtual std::expected<Principal, AuthFailure> AuthenticateToken(std::string_view secret) = 0;
  virtual std::expected<Principal, AuthFailure> AuthenticateBasic(std::string_view user,
                                                                  std::string_view password) = 0;
  virtual std::expected<Principal, AuthFailure> AuthenticateSession(std::string_view secret) = 0;
  // From the raw `Authorization` ("Bearer <token>" or "Basic <base64>"; the Basic
  // password may also be a token, with the token's user or "token" as user name) and
  // `Cookie` headers. An Authorization header, when present, decides alone.
  virtual std::expected<Principal, AuthFailure> AuthenticateHttp(
      std::optional<std::string_view> authorization, std::optional<std::string_view> cookie) = 0;

  // Audit log (append-only).
  virtual Result<void> Audit(AuditEntry entry) = 0;
  virtual Result<std::vector<AuditEntry>> ListAudit(const AuditQuery& query) = 0;
};

}  // namespace aegis::auth
