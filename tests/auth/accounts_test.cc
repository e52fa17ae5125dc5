// Accounts over a real SQLite file: organisations, users, tokens, passwords, sessions,
// HTTP credential parsing, the audit log, concurrency and persistence.
#include "auth/accounts.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "auth/secret_crypto.h"

// Designated initializers leave the other members at their defaults on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace aegis::auth {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kStart = 1'800'000'000;  // 2027-01-15T08:00:00Z
constexpr int64_t kDay = 86400;

std::string BasicHeader(std::string_view user, std::string_view password) {
  std::string raw(user);
  raw += ':';
  raw.append(password);
  return "Basic " + crypto::Base64Encode(raw);
}

Actor TestActor() { return Actor{.user_id = "tester", .org_id = "ncc", .remote = "127.0.0.1:1"}; }

class AccountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("aegis-accounts-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    path_ = (dir_ / "sub" / "aegis.db").string();  // the parent does not exist yet
    accounts_ = OpenAccounts();
  }
  void TearDown() override {
    accounts_.reset();
    fs::remove_all(dir_);
  }

  AccountsOptions Options() {
    AccountsOptions options;
    options.password_iterations = crypto::kMinPasswordIterations;  // keeps tests quick
    options.now = [this] { return clock_.load(); };
    return options;
  }

  std::unique_ptr<Accounts> OpenAccounts() {
    auto opened = Accounts::Open(path_, Options());
    EXPECT_TRUE(opened.has_value()) << (opened ? "" : opened.error().ToString());
    return opened ? std::move(*opened) : nullptr;
  }

  // ncc (national centre) with admin "root"; rxa-trust with analyst "ana" (password)
  // and read-only "rob" (no password).
  void Populate() {
    ASSERT_TRUE(accounts_->CreateOrg(
        {.id = "ncc", .name = "National Cyber Centre", .type = OrgType::kNationalCentre}, actor_));
    ASSERT_TRUE(accounts_->CreateOrg({.id = "rxa-trust",
                                      .name = "Royal X Trust",
                                      .type = OrgType::kTrust,
                                      .amber_share_with = {"ncc"},
                                      .default_tlp = Tlp::kGreen},
                                     actor_));
    ASSERT_TRUE(accounts_->CreateUser(
        {.id = "root", .org_id = "ncc", .role = Role::kAdmin, .password = "root-password"},
        actor_));
    ASSERT_TRUE(accounts_->CreateUser({.id = "ana",
                                       .org_id = "rxa-trust",
                                       .display_name = "Ana",
                                       .role = Role::kAnalyst,
                                       .password = "ana-password"},
                                      actor_));
    ASSERT_TRUE(accounts_->CreateUser({.id = "rob", .org_id = "rxa-trust"}, actor_));
  }

  IssuedToken Token(std::string user, Scopes scopes, int64_t ttl = 0) {
    auto t = accounts_->CreateToken(
        {.user_id = user, .name = "t", .scopes = scopes, .ttl_seconds = ttl}, actor_);
    EXPECT_TRUE(t.has_value()) << (t ? "" : t.error().ToString());
    return t ? *t : IssuedToken{};
  }

  std::vector<AuditEntry> AuditAll() {
    auto entries = accounts_->ListAudit({.limit = 10'000});
    EXPECT_TRUE(entries.has_value());
    return entries ? *entries : std::vector<AuditEntry>{};
  }

  fs::path dir_;
  std::string path_;
  std::atomic<int64_t> clock_{kStart};
  Actor actor_ = TestActor();
  std::unique_ptr<Accounts> accounts_;
};

// ----- helpers and parsing --------------------------------------------------------

TEST(SecretCrypto, Base64DecodeIsStrict) {
  EXPECT_EQ(crypto::Base64Decode("YWxpY2U6c2VjcmV0"), "alice:secret");
  EXPECT_EQ(crypto::Base64Decode("YQ=="), "a");
  EXPECT_EQ(crypto::Base64Decode("YWI="), "ab");
  EXPECT_EQ(crypto::Base64Decode(""), "");
  EXPECT_FALSE(crypto::Base64Decode("YQ"));        // not padded
  EXPECT_FALSE(crypto::Base64Decode("Y==="));      // too much padding
  EXPECT_FALSE(crypto::Base64Decode("YQ==YQ=="));  // padding in the middle
  EXPECT_FALSE(crypto::Base64Decode("YW Jj"));     // whitespace
  EXPECT_FALSE(crypto::Base64Decode("YW_j"));      // URL alphabet
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    EXPECT_EQ(crypto::Base64Decode(crypto::Base64Encode(s)), s);
  }
  EXPECT_EQ(crypto::Base64UrlEncode("\xfb\xff"), "-_8");
}

TEST(SecretCrypto, Pbkdf2MatchesAnIndependentImplementation) {
  // Python: base64(hashlib.pbkdf2_hmac('sha256', b'password', b'salt', 100000, 32))
  const std::string stored = "pbkdf2-sha256$100000$" + crypto::Base64Encode("salt") +
                             "$A5Si7eMyyaE+uC6bJGMWBMMd+Xi04vD70sVJlE+deaU=";
  EXPECT_TRUE(crypto::VerifyPassword("password", stored));
  EXPECT_FALSE(crypto::VerifyPassword("passwore", stored));
  EXPECT_EQ(crypto::PasswordHashIterations(stored), 100000);
}

TEST(SecretCrypto, PasswordHashesAreSaltedAndCarryTheirParameters) {
  auto a = crypto::HashPassword("hunter22", 100'000);
  auto b = crypto::HashPassword("hunter22", 100'000);
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);  // random salt
  EXPECT_TRUE(a->starts_with("pbkdf2-sha256$100000$"));
  EXPECT_TRUE(crypto::VerifyPassword("hunter22", *a));
  EXPECT_TRUE(crypto::VerifyPassword("hunter22", *b));
  EXPECT_FALSE(crypto::VerifyPassword("hunter23", *a));
  EXPECT_FALSE(crypto::HashPassword("x", 99'999));
  for (const char* bad : {"", "pbkdf2-sha256", "pbkdf2-sha256$abc$c2FsdA==$AAAA",
                          "md5$1$c2FsdA==$AAAA", "pbkdf2-sha256$100000$!!$AAAA"}) {
    EXPECT_FALSE(crypto::VerifyPassword("x", bad)) << bad;
    EXPECT_FALSE(crypto::PasswordHashIterations(bad)) << bad;
  }
}

TEST(SecretCrypto, UuidV5KnownAnswer) {
  // RFC 9562 appendix A.4: the DNS namespace and "www.example.com".
  EXPECT_EQ(crypto::UuidV5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "www.example.com"),
            "2ed6657d-e927-568b-95e1-2665a8aea6a2");
  EXPECT_FALSE(crypto::UuidV5("not-a-uuid", "x"));
  EXPECT_TRUE(crypto::ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(crypto::ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(crypto::ConstantTimeEquals("abc", "abcd"));
}

TEST(AccountsParsing, RolesOrgTypesScopes) {
  for (Role r : {Role::kReadOnly, Role::kAnalyst, Role::kAdmin}) {
    EXPECT_EQ(ParseRole(RoleName(r)), r);
  }
  EXPECT_EQ(ParseRole("readonly"), Role::kReadOnly);
  EXPECT_EQ(ParseRole("read_only"), Role::kReadOnly);
  EXPECT_EQ(ParseRole(" ADMIN "), Role::kAdmin);
  EXPECT_FALSE(ParseRole("root"));
  EXPECT_FALSE(ParseRole(""));
  for (OrgType t :
       {OrgType::kNationalCentre, OrgType::kTrust, OrgType::kGpPractice, OrgType::kSupplier}) {
    EXPECT_EQ(ParseOrgType(OrgTypeName(t)), t);
  }
  EXPECT_EQ(ParseOrgType("gp"), OrgType::kGpPractice);
  EXPECT_FALSE(ParseOrgType("hospital"));
  EXPECT_EQ(ParseScopes("read,write"), kScopeRead | kScopeWrite);
  EXPECT_EQ(ParseScopes(" Admin , read "), kScopeRead | kScopeAdmin);
  EXPECT_EQ(ParseScopes("all"), kScopeRead | kScopeWrite | kScopeAdmin);
  EXPECT_FALSE(ParseScopes(""));
  EXPECT_FALSE(ParseScopes("read,"));
  EXPECT_FALSE(ParseScopes("read,delete"));
  EXPECT_EQ(ScopesToString(kScopeAdmin | kScopeRead), "read,admin");
  EXPECT_EQ(ScopesToString(kScopeRead | kScopeWrite | kScopeAdmin), "read,write,admin");
  EXPECT_EQ(ParseScopes(ScopesToString(kScopeWrite)), kScopeWrite);
}

TEST(AccountsParsing, PermissionNeedsBothRoleAndScope) {
  const Role roles[] = {Role::kReadOnly, Role::kAnalyst, Role::kAdmin};
  for (Role role : roles) {
    for (Scopes scopes = 0; scopes <= 7; ++scopes) {
      Principal p{.role = role, .scopes = scopes};
      EXPECT_EQ(p.Can(Permission::kRead), (scopes & kScopeRead) != 0);
      EXPECT_EQ(p.Can(Permission::kWrite), role != Role::kReadOnly && (scopes & kScopeWrite));
      EXPECT_EQ(p.Can(Permission::kAdmin), role == Role::kAdmin && (scopes & kScopeAdmin));
    }
  }
  EXPECT_EQ(Principal::RoleScopes(Role::kReadOnly), kScopeRead);
  EXPECT_EQ(Principal::RoleScopes(Role::kAnalyst), kScopeRead | kScopeWrite);
  const Principal p{.user_id = "u", .org_id = "gp-9", .org_type = OrgType::kGpPractice};
  EXPECT_EQ(p.AsReader().org_id, "gp-9");
  EXPECT_EQ(p.AsReader().org_type, OrgType::kGpPractice);
  const Actor a = Actor::Of(p, "10.0.0.1:443");
  EXPECT_EQ(a.user_id, "u");
  EXPECT_EQ(a.org_id, "gp-9");
  EXPECT_EQ(a.remote, "10.0.0.1:443");
  const Actor cli = Actor::Cli();
  EXPECT_TRUE(cli.user_id.starts_with("cli:")) << cli.user_id;
  EXPECT_GT(cli.user_id.size(), 4u);
  EXPECT_EQ(cli.remote, "local");
}

TEST(AccountsParsing, Cookies) {
  EXPECT_EQ(FindCookie("aegis_session=abc", "aegis_session"), "abc");
  EXPECT_EQ(FindCookie("theme=dark; aegis_session=abc; lang=en", "aegis_session"), "abc");
  EXPECT_EQ(FindCookie("theme=dark;aegis_session=\"abc\"", "aegis_session"), "abc");
  EXPECT_EQ(FindCookie("aegis_session=first; aegis_session=second", "aegis_session"), "first");
  EXPECT_FALSE(FindCookie("xaegis_session=abc", "aegis_session"));
  EXPECT_FALSE(FindCookie("aegis_sessionx=abc; other", "aegis_session"));
  EXPECT_FALSE(FindCookie("", "aegis_session"));
  EXPECT_FALSE(FindCookie(";;;", "aegis_session"));
  EXPECT_EQ(FindCookie("aegis_session=", "aegis_session"), "");
  const std::string set = SessionSetCookie("s3cret", 3600);
  EXPECT_TRUE(set.starts_with("aegis_session=s3cret;")) << set;
  for (const char* attr : {"HttpOnly", "Secure", "SameSite=Strict", "Path=/", "Max-Age=3600"}) {
    EXPECT_NE(set.find(attr), std::string::npos) << attr;
  }
  EXPECT_NE(SessionSetCookie("s3cret", 0).find("aegis_session=;"), std::string::npos);
}

// ----- organisations --------------------------------------------------------------

TEST_F(AccountsTest, OpenCreatesTheParentDirectory) {
  ASSERT_NE(accounts_, nullptr);
  EXPECT_TRUE(fs::exists(path_));
}

TEST_F(AccountsTest, OpenRejectsWeakPasswordHashing) {
  AccountsOptions weak = Options();
  weak.password_iterations = 1000;
  auto opened = Accounts::Open((dir_ / "weak.db").string(), weak);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().field, "password_iterations");
}

TEST_F(AccountsTest, OrganisationLifecycle) {
  auto created = accounts_->CreateOrg({.id = "rxa-trust",
                                       .name = "Royal X Trust",
                                       .type = OrgType::kTrust,
                                       .amber_share_with = {"ncc", "gp-1"},
                                       .default_tlp = Tlp::kAmberStrict,
                                       .anonymise_sightings = true},
                                      actor_);
  ASSERT_TRUE(created) << created.error().ToString();
  // UUIDv5 in the documented namespace; Python: uuid.uuid5(UUID('8d6f7095-...'), 'rxa-trust').
  EXPECT_EQ(created->stix_identity, "identity--08ad913c-02a6-54a6-bc63-fae2fe54db1a");
  EXPECT_EQ(created->created_at, "2027-01-15T08:00:00Z");

  auto got = accounts_->GetOrg("rxa-trust");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->name, "Royal X Trust");
  EXPECT_EQ((*got)->type, OrgType::kTrust);
  EXPECT_EQ((*got)->amber_share_with, (std::vector<std::string>{"ncc", "gp-1"}));
  EXPECT_EQ((*got)->default_tlp, Tlp::kAmberStrict);
  EXPECT_TRUE((*got)->anonymise_sightings);
  EXPECT_EQ((*got)->stix_identity, created->stix_identity);

  auto missing = accounts_->GetOrg("nope");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);

  ASSERT_TRUE(
      accounts_->CreateOrg({.id = "ncc", .name = "NCC", .type = OrgType::kNationalCentre}, actor_));
  auto list = accounts_->ListOrgs();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "ncc");
  EXPECT_EQ((*list)[1].id, "rxa-trust");

  auto updated = accounts_->UpdateOrg(
      {.id = "rxa-trust", .name = "Royal X NHS Trust", .type = OrgType::kSupplier}, actor_);
  ASSERT_TRUE(updated) << updated.error().ToString();
  EXPECT_EQ(updated->stix_identity, created->stix_identity);
  got = accounts_->GetOrg("rxa-trust");
  EXPECT_EQ((*got)->name, "Royal X NHS Trust");
  EXPECT_EQ((*got)->type, OrgType::kSupplier);
  EXPECT_TRUE((*got)->amber_share_with.empty());
  EXPECT_FALSE((*got)->default_tlp);
  EXPECT_FALSE((*got)->anonymise_sightings);

  ASSERT_TRUE(accounts_->DeleteOrg("rxa-trust", actor_));
  EXPECT_FALSE(*accounts_->GetOrg("rxa-trust"));
  EXPECT_EQ(accounts_->ListOrgs()->size(), 1u);
  auto again = accounts_->CreateOrg({.id = "rxa-trust", .name = "New"}, actor_);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().reason.find("never reused"), std::string::npos);
  EXPECT_FALSE(accounts_->DeleteOrg("rxa-trust", actor_));
  EXPECT_FALSE(accounts_->UpdateOrg({.id = "rxa-trust", .name = "x"}, actor_));
}

TEST_F(AccountsTest, OrganisationValidation) {
  struct Case {
    NewOrg org;
    std::string field;
  };
  const Case cases[] = {
      {{.id = "x", .name = "too short"}, "id"},
      {{.id = std::string(65, 'a'), .name = "too long"}, "id"},
      {{.id = "Upper", .name = "upper case"}, "id"},
      {{.id = "a_b", .name = "underscore"}, "id"},
      {{.id = "ok-id", .name = ""}, "name"},
      {{.id = "ok-id", .name = "  "}, "name"},
      {{.id = "ok-id", .name = "bad\nname"}, "name"},
      {{.id = "ok-id", .name = "Self", .amber_share_with = {"ok-id"}}, "amber_share_with"},
      {{.id = "ok-id", .name = "Bad share", .amber_share_with = {"Not Valid"}}, "amber_share_with"},
  };
  for (const Case& c : cases) {
    auto r = accounts_->CreateOrg(c.org, actor_);
    ASSERT_FALSE(r) << c.org.id << " " << c.org.name;
    EXPECT_EQ(r.error().field, c.field) << r.error().ToString();
    EXPECT_FALSE(r.error().reason.empty());
  }
  EXPECT_TRUE(accounts_->ListOrgs()->empty());
  ASSERT_TRUE(accounts_->CreateOrg({.id = "ok-id", .name = "OK"}, actor_));
  auto dup = accounts_->CreateOrg({.id = "ok-id", .name = "OK"}, actor_);
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().reason.find("already exists"), std::string::npos);
  EXPECT_FALSE(accounts_->UpdateOrg({.id = "missing", .name = "M"}, actor_));
}

TEST_F(AccountsTest, DeleteOrgNeedsEveryUserDisabledAndThenNothingAuthenticates) {
  Populate();
  const IssuedToken token = Token("ana", kScopeRead);
  auto refused = accounts_->DeleteOrg("rxa-trust", actor_);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().reason.find("2 enabled user"), std::string::npos)
      << refused.error().reason;
  ASSERT_TRUE(accounts_->SetDisabled("ana", true, actor_));
  ASSERT_TRUE(accounts_->SetDisabled("rob", true, actor_));
  ASSERT_TRUE(accounts_->DeleteOrg("rxa-trust", actor_));
  EXPECT_FALSE(accounts_->AuthenticateToken(token.secret));
  EXPECT_FALSE(accounts_->AuthenticateBasic("ana", "ana-password"));
  auto enable = accounts_->SetDisabled("ana", false, actor_);
  ASSERT_FALSE(enable);
  EXPECT_NE(enable.error().reason.find("deleted"), std::string::npos);
  EXPECT_FALSE(accounts_->CreateUser({.id = "new", .org_id = "rxa-trust"}, actor_));
}

// ----- users ----------------------------------------------------------------------

TEST_F(AccountsTest, UserLifecycle) {
  Populate();
  auto ana = accounts_->GetUser("ana");
  ASSERT_TRUE(ana && *ana);
  EXPECT_EQ((*ana)->org_id, "rxa-trust");
  EXPECT_EQ((*ana)->display_name, "Ana");
  EXPECT_EQ((*ana)->role, Role::kAnalyst);
  EXPECT_TRUE((*ana)->has_password);
  EXPECT_FALSE((*ana)->disabled);
  EXPECT_FALSE((*accounts_->GetUser("rob"))->has_password);
  EXPECT_FALSE(*accounts_->GetUser("nobody"));

  auto all = accounts_->ListUsers();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, "ana");
  auto trust = accounts_->ListUsers("rxa-trust");
  ASSERT_EQ(trust->size(), 2u);
  EXPECT_EQ(accounts_->ListUsers("ncc")->size(), 1u);
  EXPECT_TRUE(accounts_->ListUsers("unknown")->empty());

  ASSERT_TRUE(accounts_->SetRole("rob", Role::kAdmin, actor_));
  EXPECT_EQ((*accounts_->GetUser("rob"))->role, Role::kAdmin);
  ASSERT_TRUE(accounts_->SetPassword("rob", "rob-password-1", actor_));
  EXPECT_TRUE((*accounts_->GetUser("rob"))->has_password);
  EXPECT_TRUE(accounts_->AuthenticateBasic("rob", "rob-password-1"));
  ASSERT_TRUE(accounts_->SetDisabled("rob", true, actor_));
  EXPECT_TRUE((*accounts_->GetUser("rob"))->disabled);
  ASSERT_TRUE(accounts_->SetDisabled("rob", false, actor_));
  EXPECT_FALSE((*accounts_->GetUser("rob"))->disabled);

  EXPECT_FALSE(accounts_->SetRole("nobody", Role::kAdmin, actor_));
  EXPECT_FALSE(accounts_->SetPassword("nobody", "long-enough", actor_));
  EXPECT_FALSE(accounts_->SetDisabled("nobody", true, actor_));
}

TEST_F(AccountsTest, UserValidation) {
  Populate();
  struct Case {
    NewUser user;
    std::string field;
  };
  const Case cases[] = {
      {{.id = "", .org_id = "ncc"}, "id"},
      {{.id = "Bob", .org_id = "ncc"}, "id"},
      {{.id = "bob smith", .org_id = "ncc"}, "id"},
      {{.id = std::string(129, 'b'), .org_id = "ncc"}, "id"},
      {{.id = "bob", .org_id = "missing"}, "org_id"},
      {{.id = "bob", .org_id = "BAD!"}, "org_id"},
      {{.id = "bob", .org_id = "ncc", .display_name = "tab\there"}, "display_name"},
      {{.id = "bob", .org_id = "ncc", .password = "short"}, "password"},
      {{.id = "bob", .org_id = "ncc", .password = std::string(1025, 'p')}, "password"},
      {{.id = "ana", .org_id = "ncc"}, "id"},  // exists
  };
  for (const Case& c : cases) {
    auto r = accounts_->CreateUser(c.user, actor_);
    ASSERT_FALSE(r) << c.user.id;
    EXPECT_EQ(r.error().field, c.field) << r.error().ToString();
  }
  EXPECT_TRUE(accounts_->CreateUser({.id = "bob.smith@nhs.example", .org_id = "ncc"}, actor_));
  auto short_password = accounts_->SetPassword("ana", "1234567", actor_);
  ASSERT_FALSE(short_password);
  EXPECT_EQ(short_password.error().field, "password");
  EXPECT_TRUE(accounts_->AuthenticateBasic("ana", "ana-password"));  // unchanged
}

// ----- passwords (HTTP Basic) -----------------------------------------------------

TEST_F(AccountsTest, BasicPasswords) {
  Populate();
  auto ok = accounts_->AuthenticateBasic("ana", "ana-password");
  ASSERT_TRUE(ok) << ok.error().reason;
  EXPECT_EQ(ok->user_id, "ana");
  EXPECT_EQ(ok->org_id, "rxa-trust");
  EXPECT_EQ(ok->org_type, OrgType::kTrust);
  EXPECT_EQ(ok->role, Role::kAnalyst);
  EXPECT_EQ(ok->method, AuthMethod::kBasicPassword);
  EXPECT_EQ(ok->scopes, kScopeRead | kScopeWrite);
  EXPECT_TRUE(ok->Can(Permission::kWrite));
  EXPECT_FALSE(ok->Can(Permission::kAdmin));
  // Cached now; the cache must not accept a different password.
  EXPECT_TRUE(accounts_->AuthenticateBasic("ana", "ana-password"));
  EXPECT_EQ(accounts_->AuthenticateBasic("ana", "ana-passwordX").error().reason, "wrong password");
  EXPECT_FALSE(accounts_->AuthenticateBasic("ana", "ana-passwor"));
  EXPECT_FALSE(accounts_->AuthenticateBasic("ANA", "ana-password"));
  EXPECT_FALSE(accounts_->AuthenticateBasic("nobody", "ana-password"));
  EXPECT_FALSE(accounts_->AuthenticateBasic("rob", "anything-at-all"));  // no password
  EXPECT_FALSE(accounts_->AuthenticateBasic("", "ana-password"));
  EXPECT_FALSE(accounts_->AuthenticateBasic("ana", ""));
  // "an" + "a-password" must not collide with "ana" + "-password" in the cache key.
  EXPECT_FALSE(accounts_->AuthenticateBasic("an", "aana-password"));

  // A password change takes effect at once despite the cache.
  ASSERT_TRUE(accounts_->SetPassword("ana", "new-password", actor_));
  EXPECT_FALSE(accounts_->AuthenticateBasic("ana", "ana-password"));
  EXPECT_TRUE(accounts_->AuthenticateBasic("ana", "new-password"));
  // So does disabling.
  ASSERT_TRUE(accounts_->SetDisabled("ana", true, actor_));
  EXPECT_EQ(accounts_->AuthenticateBasic("ana", "new-password").error().reason, "user disabled");
  ASSERT_TRUE(accounts_->SetDisabled("ana", false, actor_));
  EXPECT_TRUE(accounts_->AuthenticateBasic("ana", "new-password"));
  // And a role change shows in the next principal.
  ASSERT_TRUE(accounts_->SetRole("ana", Role::kReadOnly, actor_));
  auto demoted = accounts_->AuthenticateBasic("ana", "new-password");
  ASSERT_TRUE(demoted);
  EXPECT_EQ(demoted->role, Role::kReadOnly);
  EXPECT_FALSE(demoted->Can(Permission::kWrite));
}

TEST_F(AccountsTest, PasswordsAreStoredAsPbkdf2Only) {
  Populate();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT password_hash FROM accounts_users WHERE id = 'ana'", -1,
                               &stmt, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  const std::string stored = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  EXPECT_TRUE(stored.starts_with("pbkdf2-sha256$100000$")) << stored;
  EXPECT_EQ(stored.find("ana-password"), std::string::npos);
  EXPECT_TRUE(crypto::VerifyPassword("ana-password", stored));
}

// ----- tokens ---------------------------------------------------------------------

TEST_F(AccountsTest, TokenIssueAuthenticateAndList) {
  Populate();
  const IssuedToken t = Token("ana", kScopeRead | kScopeWrite);
  EXPECT_TRUE(t.info.id.starts_with("tok_"));
  EXPECT_EQ(t.info.id.size(), 20u);
  EXPECT_TRUE(t.secret.starts_with("aegis_" + t.info.id + "_")) << t.secret;
  EXPECT_GE(t.secret.size() - ("aegis_" + t.info.id + "_").size(), 43u);  // 32 random bytes
  EXPECT_EQ(t.info.org_id, "rxa-trust");
  EXPECT_EQ(t.info.expires_at, "2027-04-15T08:00:00Z");  // default: 90 days

  auto p = accounts_->AuthenticateToken(t.secret);
  ASSERT_TRUE(p) << p.error().reason;
  EXPECT_EQ(p->user_id, "ana");
  EXPECT_EQ(p->org_id, "rxa-trust");
  EXPECT_EQ(p->method, AuthMethod::kToken);
  EXPECT_EQ(p->credential_id, t.info.id);
  EXPECT_EQ(p->scopes, kScopeRead | kScopeWrite);
  EXPECT_TRUE(p->Can(Permission::kWrite));

  const IssuedToken other = Token("root", kScopeRead, 3600);
  EXPECT_NE(other.secret, t.secret);
  auto all = accounts_->ListTokens();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  auto mine = accounts_->ListTokens("ana");
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ((*mine)[0].id, t.info.id);
  EXPECT_EQ((*mine)[0].scopes, kScopeRead | kScopeWrite);
  EXPECT_EQ((*mine)[0].name, "t");
  EXPECT_FALSE((*mine)[0].revoked_at);
  EXPECT_EQ((*mine)[0].last_used_at, "2027-01-15T08:00:00Z");
  EXPECT_EQ((*accounts_->ListTokens("root"))[0].expires_at, "2027-01-15T09:00:00Z");
  // Listing never hands out secrets.
  for (const TokenInfo& info : *all) EXPECT_EQ(info.id.find('_', 4), std::string::npos);
}

TEST_F(AccountsTest, TokensAreStoredAsSha256Only) {
  Populate();
  const IssuedToken t = Token("ana", kScopeRead);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT digest FROM accounts_tokens WHERE id = ?1", -1, &stmt,
                               nullptr),
            SQLITE_OK);
  sqlite3_bind_text(stmt, 1, t.info.id.c_str(), -1, SQLITE_TRANSIENT);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  const std::string digest(static_cast<const char*>(sqlite3_column_blob(stmt, 0)),
                           sqlite3_column_bytes(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  EXPECT_EQ(digest, std::string(crypto::AsBytes(crypto::Sha256(t.secret))));
  // The random part appears nowhere in the database file.
  const std::string random = t.secret.substr(t.secret.rfind('_') + 1);
  for (const char* file : {"aegis.db", "aegis.db-wal"}) {
    const fs::path p = dir_ / "sub" / file;
    if (!fs::exists(p)) continue;
    std::ifstream in(p, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find(random), std::string::npos) << file;
  }
}

TEST_F(AccountsTest, TokenScopesNeverExceedTheRole) {
  Populate();
  auto too_much =
      accounts_->CreateToken({.user_id = "rob", .scopes = kScopeRead | kScopeWrite}, actor_);
  ASSERT_FALSE(too_much);
  EXPECT_EQ(too_much.error().field, "scopes");
  EXPECT_NE(too_much.error().reason.find("read-only"), std::string::npos);
  EXPECT_FALSE(accounts_->CreateToken({.user_id = "ana", .scopes = kScopeAdmin}, actor_));
  EXPECT_FALSE(accounts_->CreateToken({.user_id = "ana", .scopes = 0}, actor_));
  EXPECT_FALSE(accounts_->CreateToken({.user_id = "ana", .scopes = 8}, actor_));

  // An admin's admin token loses its power when the user is demoted.
  const IssuedToken t = Token("root", kScopeRead | kScopeWrite | kScopeAdmin);
  auto before = accounts_->AuthenticateToken(t.secret);
  ASSERT_TRUE(before);
  EXPECT_TRUE(before->Can(Permission::kAdmin));
  ASSERT_TRUE(accounts_->SetRole("root", Role::kReadOnly, actor_));
  auto after = accounts_->AuthenticateToken(t.secret);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->role, Role::kReadOnly);
  EXPECT_EQ(after->scopes, kScopeRead);
  EXPECT_TRUE(after->Can(Permission::kRead));
  EXPECT_FALSE(after->Can(Permission::kWrite));
  EXPECT_FALSE(after->Can(Permission::kAdmin));

  // A read-only token of an admin reads only.
  ASSERT_TRUE(accounts_->SetRole("root", Role::kAdmin, actor_));
  const IssuedToken ro = Token("root", kScopeRead);
  auto p = accounts_->AuthenticateToken(ro.secret);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->Can(Permission::kRead));
  EXPECT_FALSE(p->Can(Permission::kWrite));
  EXPECT_FALSE(p->Can(Permission::kAdmin));
}

TEST_F(AccountsTest, TokenLifetimes) {
  Populate();
  EXPECT_EQ(accounts_->CreateToken({.user_id = "ana", .ttl_seconds = -1}, actor_).error().field,
            "ttl_seconds");
  EXPECT_EQ(
      accounts_->CreateToken({.user_id = "ana", .ttl_seconds = 366 * kDay}, actor_).error().field,
      "ttl_seconds");
  EXPECT_TRUE(accounts_->CreateToken({.user_id = "ana", .ttl_seconds = 365 * kDay}, actor_));
  auto forever = accounts_->CreateToken({.user_id = "ana", .never_expires = true}, actor_);
  ASSERT_TRUE(forever);
  EXPECT_FALSE(forever->info.expires_at);

  const IssuedToken hour = Token("ana", kScopeRead, 3600);
  EXPECT_TRUE(accounts_->AuthenticateToken(hour.secret));
  clock_ += 3599;
  EXPECT_TRUE(accounts_->AuthenticateToken(hour.secret));  // cached, still valid
  clock_ += 1;
  EXPECT_EQ(accounts_->AuthenticateToken(hour.secret).error().reason, "token expired");
  clock_ += 400 * kDay;
  EXPECT_EQ(accounts_->AuthenticateToken(hour.secret).error().reason, "token expired");
  EXPECT_TRUE(accounts_->AuthenticateToken(forever->secret));

  // A configured maximum.
  AccountsOptions strict = Options();
  strict.max_token_ttl_seconds = kDay;
  strict.default_token_ttl_seconds = kDay;
  strict.allow_never_expiring_tokens = false;
  accounts_.reset();
  auto reopened = Accounts::Open(path_, strict);
  ASSERT_TRUE(reopened);
  EXPECT_FALSE((*reopened)->CreateToken({.user_id = "ana", .ttl_seconds = kDay + 1}, actor_));
  EXPECT_FALSE((*reopened)->CreateToken({.user_id = "ana", .never_expires = true}, actor_));
  auto daily = (*reopened)->CreateToken({.user_id = "ana"}, actor_);
  ASSERT_TRUE(daily);
  EXPECT_TRUE((*reopened)->AuthenticateToken(daily->secret));
}

TEST_F(AccountsTest, TokenRevocationAndDisabledUsers) {
  Populate();
  const IssuedToken a = Token("ana", kScopeRead);
  const IssuedToken b = Token("ana", kScopeRead);
  ASSERT_TRUE(accounts_->AuthenticateToken(a.secret));  // now cached
  ASSERT_TRUE(accounts_->RevokeToken(a.info.id, actor_));
  EXPECT_EQ(accounts_->AuthenticateToken(a.secret).error().reason, "token revoked");
  EXPECT_TRUE(accounts_->AuthenticateToken(b.secret));
  auto twice = accounts_->RevokeToken(a.info.id, actor_);
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().reason.find("already revoked"), std::string::npos);
  EXPECT_FALSE(accounts_->RevokeToken("tok_0000000000000000", actor_));
  auto listed = accounts_->ListTokens("ana");
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 2u);
  for (const TokenInfo& info : *listed) {
    // Both were issued in the same second: find each by id, not by position.
    if (info.id == a.info.id) {
      EXPECT_EQ(info.revoked_at, "2027-01-15T08:00:00Z");
    } else {
      EXPECT_FALSE(info.revoked_at);
    }
  }

  ASSERT_TRUE(accounts_->SetDisabled("ana", true, actor_));
  EXPECT_FALSE(accounts_->AuthenticateToken(b.secret));
  // Disabling revoked the token for good: enabling does not bring it back.
  ASSERT_TRUE(accounts_->SetDisabled("ana", false, actor_));
  EXPECT_EQ(accounts_->AuthenticateToken(b.secret).error().reason, "token revoked");
  // A disabled user gets no new credentials.
  ASSERT_TRUE(accounts_->SetDisabled("ana", true, actor_));
  EXPECT_FALSE(accounts_->CreateToken({.user_id = "ana"}, actor_));
  EXPECT_FALSE(accounts_->CreateSession("ana", SessionMethod::kPassword, 0, actor_));
  EXPECT_FALSE(accounts_->CreateToken({.user_id = "nobody"}, actor_));
}

TEST_F(AccountsTest, ForgedAndMalformedTokens) {
  Populate();
  const IssuedToken t = Token("ana", kScopeRead);
  std::string forged = t.secret;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';  // same id, wrong random part
  EXPECT_EQ(accounts_->AuthenticateToken(forged).error().reason, "unknown token");
  EXPECT_EQ(accounts_->AuthenticateToken("aegis_tok_0123456789abcdef_" + std::string(43, 'x'))
                .error()
                .reason,
            "unknown token");
  for (std::string bad : {std::string(), std::string("aegis_"), std::string("tok_1"),
                          t.secret.substr(0, 30), "x" + t.secret, t.secret + "!",
                          std::string("aegis_tok_ZZZZZZZZZZZZZZZZ_") + std::string(43, 'a'),
                          std::string("aegis_ses_0123456789abcdef_") + std::string(43, 'a'),
                          t.secret + std::string(200, 'a')}) {
    auto r = accounts_->AuthenticateToken(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().reason, "malformed token") << bad;
  }
  EXPECT_TRUE(accounts_->AuthenticateToken(t.secret));
}

TEST_F(AccountsTest, LastUsedIsRecordedAndThrottled) {
  Populate();
  const IssuedToken t = Token("ana", kScopeRead);
  auto last_used = [&] { return (*accounts_->ListTokens("ana"))[0].last_used_at; };
  EXPECT_FALSE(last_used());
  ASSERT_TRUE(accounts_->AuthenticateToken(t.secret));
  EXPECT_EQ(last_used(), "2027-01-15T08:00:00Z");
  clock_ += 30;
  ASSERT_TRUE(accounts_->AuthenticateToken(t.secret));
  EXPECT_EQ(last_used(), "2027-01-15T08:00:00Z");  // within the minute: not written
  clock_ += 31;
  ASSERT_TRUE(accounts_->AuthenticateToken(t.secret));
  EXPECT_EQ(last_used(), "2027-01-15T08:01:01Z");
}

// ----- sessions -------------------------------------------------------------------

TEST_F(AccountsTest, SessionsLifecycle) {
  Populate();
  auto s = accounts_->CreateSession("ana", SessionMethod::kPassword, 0, actor_);
  ASSERT_TRUE(s) << s.error().ToString();
  EXPECT_TRUE(s->id.starts_with("ses_"));
  EXPECT_TRUE(s->secret.starts_with("aegis_" + s->id + "_"));
  EXPECT_EQ(s->expires_at, "2027-01-15T20:00:00Z");  // default: 12 hours

  auto p = accounts_->AuthenticateSession(s->secret);
  ASSERT_TRUE(p) << p.error().reason;
  EXPECT_EQ(p->user_id, "ana");
  EXPECT_EQ(p->method, AuthMethod::kSession);
  EXPECT_EQ(p->credential_id, s->id);
  EXPECT_EQ(p->scopes, kScopeRead | kScopeWrite);
  // A session secret is not a token and the other way round.
  EXPECT_FALSE(accounts_->AuthenticateToken(s->secret));
  EXPECT_FALSE(accounts_->AuthenticateSession(Token("ana", kScopeRead).secret));

  auto web = accounts_->CreateSession("root", SessionMethod::kWebAuthn, 600, actor_);
  ASSERT_TRUE(web);
  auto listed = accounts_->ListSessions();
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 2u);
  auto roots = accounts_->ListSessions("root");
  ASSERT_EQ(roots->size(), 1u);
  EXPECT_EQ((*roots)[0].method, SessionMethod::kWebAuthn);
  EXPECT_EQ((*roots)[0].expires_at, "2027-01-15T08:10:00Z");
  clock_ += 600;
  EXPECT_EQ(accounts_->AuthenticateSession(web->secret).error().reason, "session expired");

  ASSERT_TRUE(accounts_->EndSession(s->secret, actor_));
  EXPECT_EQ(accounts_->AuthenticateSession(s->secret).error().reason, "session ended");
  EXPECT_FALSE(accounts_->EndSession(s->secret, actor_));
  EXPECT_FALSE(accounts_->EndSession("garbage", actor_));
  EXPECT_TRUE((*accounts_->ListSessions("ana"))[0].ended_at);

  EXPECT_FALSE(accounts_->CreateSession("ana", SessionMethod::kPassword, -1, actor_));
  EXPECT_FALSE(accounts_->CreateSession("ana", SessionMethod::kPassword, 31 * kDay, actor_));
  EXPECT_FALSE(accounts_->CreateSession("nobody", SessionMethod::kPassword, 0, actor_));
}

TEST_F(AccountsTest, SessionsEndOnRevokePasswordChangeAndDisable) {
  Populate();
  auto a = accounts_->CreateSession("ana", SessionMethod::kPassword, 0, actor_);
  auto b = accounts_->CreateSession("ana", SessionMethod::kPassword, 0, actor_);
  auto c = accounts_->CreateSession("root", SessionMethod::kPassword, 0, actor_);
  ASSERT_TRUE(a && b && c);
  ASSERT_TRUE(accounts_->AuthenticateSession(a->secret));
  ASSERT_TRUE(accounts_->RevokeSession(a->id, actor_));
  EXPECT_FALSE(accounts_->AuthenticateSession(a->secret));
  EXPECT_FALSE(accounts_->RevokeSession(a->id, actor_));
  EXPECT_FALSE(accounts_->RevokeSession("ses_nope", actor_));
  ASSERT_TRUE(accounts_->AuthenticateSession(b->secret));
  ASSERT_TRUE(accounts_->SetPassword("ana", "another-password", actor_));
  EXPECT_FALSE(accounts_->AuthenticateSession(b->secret));
  ASSERT_TRUE(accounts_->AuthenticateSession(c->secret));
  ASSERT_TRUE(accounts_->SetDisabled("root", true, actor_));
  EXPECT_FALSE(accounts_->AuthenticateSession(c->secret));
}

// ----- HTTP headers ---------------------------------------------------------------

TEST_F(AccountsTest, AuthenticateHttpHeaders) {
  Populate();
  const IssuedToken t = Token("ana", kScopeRead);
  auto s = accounts_->CreateSession("root", SessionMethod::kPassword, 0, actor_);
  ASSERT_TRUE(s);

  auto bearer = accounts_->AuthenticateHttp("Bearer " + t.secret, std::nullopt);
  ASSERT_TRUE(bearer) << bearer.error().reason;
  EXPECT_EQ(bearer->method, AuthMethod::kToken);
  EXPECT_TRUE(accounts_->AuthenticateHttp("bearer  " + t.secret + " ", std::nullopt));

  auto basic = accounts_->AuthenticateHttp(BasicHeader("ana", "ana-password"), std::nullopt);
  ASSERT_TRUE(basic) << basic.error().reason;
  EXPECT_EQ(basic->method, AuthMethod::kBasicPassword);
  // A token as the Basic password (TAXII clients): user name is the owner or "token".
  for (const char* user : {"ana", "token", ""}) {
    auto r = accounts_->AuthenticateHttp(BasicHeader(user, t.secret), std::nullopt);
    ASSERT_TRUE(r) << user << ": " << r.error().reason;
    EXPECT_EQ(r->method, AuthMethod::kBasicToken);
    EXPECT_EQ(r->user_id, "ana");
  }
  EXPECT_FALSE(accounts_->AuthenticateHttp(BasicHeader("root", t.secret), std::nullopt));

  auto cookie = accounts_->AuthenticateHttp(std::nullopt, "theme=dark; aegis_session=" + s->secret);
  ASSERT_TRUE(cookie) << cookie.error().reason;
  EXPECT_EQ(cookie->user_id, "root");
  EXPECT_EQ(cookie->method, AuthMethod::kSession);

  // A present Authorization header decides alone, even next to a good cookie.
  EXPECT_FALSE(accounts_->AuthenticateHttp("Bearer nonsense", "aegis_session=" + s->secret));
  EXPECT_TRUE(accounts_->AuthenticateHttp("Bearer " + t.secret, "aegis_session=garbage"));

  struct Bad {
    std::optional<std::string> authorization;
    std::optional<std::string> cookie;
    std::string reason;
  };
  const Bad bad[] = {
      {std::nullopt, std::nullopt, "no credentials"},
      {std::nullopt, "theme=dark", "no credentials"},
      {std::nullopt, "aegis_session=", "malformed session id"},
      {std::nullopt, "aegis_session=aegis_ses_0123456789abcdef_" + std::string(43, 'x'),
       "unknown session"},
      {"", std::nullopt, "empty Authorization header"},
      {"   ", std::nullopt, "empty Authorization header"},
      {"Bearer", std::nullopt, "Authorization header without credentials"},
      {"Bearer    ", std::nullopt, "Authorization header without credentials"},
      {"Bearer abc", std::nullopt, "malformed token"},
      {"Basic", std::nullopt, "Authorization header without credentials"},
      {"Basic !!!!", std::nullopt, "Basic credentials are not valid base64"},
      {"Basic YWxpY2U", std::nullopt, "Basic credentials are not valid base64"},
      {"Basic " + crypto::Base64Encode("no-colon"), std::nullopt, "Basic credentials without ':'"},
      {"Basic " + crypto::Base64Encode(":"), std::nullopt, "empty user name"},
      {"Basic " + crypto::Base64Encode("ana:"), std::nullopt, "empty password"},
      {BasicHeader("ana", "wrong-password"), std::nullopt, "wrong password"},
      {"Digest username=ana", std::nullopt, "unsupported Authorization scheme 'Digest'"},
      {"Token " + t.secret, std::nullopt, "unsupported Authorization scheme 'Token'"},
  };
  for (const Bad& b : bad) {
    std::optional<std::string_view> authorization;
    std::optional<std::string_view> cookie_header;
    if (b.authorization) authorization = *b.authorization;
    if (b.cookie) cookie_header = *b.cookie;
    auto r = accounts_->AuthenticateHttp(authorization, cookie_header);
    ASSERT_FALSE(r) << b.authorization.value_or("-") << " / " << b.cookie.value_or("-");
    EXPECT_EQ(r.error().reason, b.reason) << b.authorization.value_or("-");
  }
}

// ----- audit ----------------------------------------------------------------------

TEST_F(AccountsTest, EveryWriteIsAudited) {
  Populate();
  const IssuedToken t = Token("ana", kScopeRead);
  auto s = accounts_->CreateSession("ana", SessionMethod::kPassword, 0, actor_);
  auto s2 = accounts_->CreateSession("ana", SessionMethod::kPassword, 0, actor_);
  ASSERT_TRUE(s && s2);
  ASSERT_TRUE(accounts_->EndSession(s->secret, actor_));
  ASSERT_TRUE(accounts_->RevokeSession(s2->id, actor_));
  ASSERT_TRUE(accounts_->RevokeToken(t.info.id, actor_));
  ASSERT_TRUE(accounts_->SetPassword("rob", "rob-password", actor_));
  ASSERT_TRUE(accounts_->SetRole("rob", Role::kAnalyst, actor_));
  ASSERT_TRUE(accounts_->SetDisabled("rob", true, actor_));
  ASSERT_TRUE(accounts_->SetDisabled("rob", false, actor_));
  ASSERT_TRUE(accounts_->UpdateOrg({.id = "ncc", .name = "NCSC", .type = OrgType::kNationalCentre},
                                   actor_));
  ASSERT_TRUE(accounts_->CreateOrg({.id = "gp-1", .name = "GP"}, actor_));
  ASSERT_TRUE(accounts_->DeleteOrg("gp-1", actor_));
  // Reads and authentication are not writes.
  ASSERT_TRUE(accounts_->ListOrgs());
  ASSERT_TRUE(accounts_->AuthenticateBasic("ana", "ana-password"));

  std::vector<AuditEntry> entries = AuditAll();
  std::vector<std::string> actions;
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) actions.push_back(it->action);
  const std::vector<std::string> expected = {
      "org.create",   "org.create",     "user.create",    "user.create",  "user.create",
      "token.create", "session.create", "session.create", "session.end",  "session.revoke",
      "token.revoke", "user.passwd",    "user.role",      "user.disable", "user.enable",
      "org.update",   "org.create",     "org.delete"};
  EXPECT_EQ(actions, expected);
  for (size_t i = 1; i < entries.size(); ++i) EXPECT_GT(entries[i - 1].seq, entries[i].seq);
  for (const AuditEntry& e : entries) {
    EXPECT_EQ(e.actor_user, "tester");
    EXPECT_EQ(e.actor_org, "ncc");
    EXPECT_EQ(e.remote, "127.0.0.1:1");
    EXPECT_EQ(e.outcome, "ok");
    EXPECT_EQ(e.at, "2027-01-15T08:00:00Z");
    EXPECT_TRUE(e.detail.starts_with("{")) << e.detail;
  }
  const AuditEntry& token_create = entries[entries.size() - 6];
  EXPECT_EQ(token_create.target, t.info.id);
  EXPECT_NE(token_create.detail.find("\"scopes\":\"read\""), std::string::npos);
  EXPECT_EQ(token_create.detail.find(t.secret), std::string::npos);  // secrets never logged
  EXPECT_EQ(entries[6].target, "rob");                               // user.passwd
  EXPECT_EQ(entries[6].detail.find("rob-password"), std::string::npos);
}

TEST_F(AccountsTest, FailedWritesAreAuditedWithTheReason) {
  Populate();
  const size_t before = AuditAll().size();
  EXPECT_FALSE(accounts_->CreateOrg({.id = "ncc", .name = "again"}, actor_));
  EXPECT_FALSE(accounts_->RevokeToken("tok_ffffffffffffffff", actor_));
  EXPECT_FALSE(accounts_->CreateToken({.user_id = "rob", .scopes = kScopeAdmin}, actor_));
  std::vector<AuditEntry> entries = AuditAll();
  ASSERT_EQ(entries.size(), before + 3);
  EXPECT_EQ(entries[2].action, "org.create");
  EXPECT_EQ(entries[2].outcome, "failed");
  EXPECT_NE(entries[2].detail.find("already exists"), std::string::npos) << entries[2].detail;
  EXPECT_EQ(entries[1].action, "token.revoke");
  EXPECT_EQ(entries[1].target, "tok_ffffffffffffffff");
  EXPECT_EQ(entries[0].action, "token.create");
  EXPECT_EQ(entries[0].outcome, "failed");
  // Nothing of the failed writes was kept.
  EXPECT_TRUE(accounts_->ListTokens("rob")->empty());
}

TEST_F(AccountsTest, AuditQueriesAndExternalEntries) {
  Populate();
  ASSERT_TRUE(accounts_->Audit({.actor_user = "ana",
                                .actor_org = "rxa-trust",
                                .remote = "10.1.1.1:9",
                                .action = "taxii.objects.add",
                                .target = "collection-1",
                                .outcome = "denied",
                                .detail = "TLP"}));
  ASSERT_TRUE(accounts_->Audit({.at = "2020-01-01T00:00:00Z",
                                .actor_user = "ana",
                                .actor_org = "rxa-trust",
                                .action = "taxii.objects.get"}));
  EXPECT_EQ(accounts_->Audit({.actor_user = "x"}).error().field, "action");

  auto taxii = accounts_->ListAudit({.action_prefix = "taxii."});
  ASSERT_TRUE(taxii);
  ASSERT_EQ(taxii->size(), 2u);
  EXPECT_EQ((*taxii)[0].action, "taxii.objects.get");
  EXPECT_EQ((*taxii)[0].at, "2020-01-01T00:00:00Z");
  EXPECT_EQ((*taxii)[1].outcome, "denied");
  EXPECT_EQ((*taxii)[1].detail, "TLP");
  EXPECT_EQ(accounts_->ListAudit({.org_id = "rxa-trust"})->size(), 2u);
  EXPECT_EQ(accounts_->ListAudit({.action_prefix = "user."})->size(), 3u);
  EXPECT_TRUE(accounts_->ListAudit({.action_prefix = "%"})->empty());  // no LIKE patterns

  // Paging backwards by seq.
  auto page1 = accounts_->ListAudit({.limit = 3});
  ASSERT_EQ(page1->size(), 3u);
  auto page2 = accounts_->ListAudit({.limit = 3, .before_seq = page1->back().seq});
  ASSERT_EQ(page2->size(), 3u);
  EXPECT_EQ(page2->front().seq, page1->back().seq - 1);
  EXPECT_EQ(AuditAll().size(), 7u);
}

TEST_F(AccountsTest, AuditLogIsAppendOnlyInTheDatabase) {
  Populate();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  char* message = nullptr;
  EXPECT_NE(
      sqlite3_exec(db, "UPDATE accounts_audit SET outcome = 'ok'", nullptr, nullptr, &message),
      SQLITE_OK);
  ASSERT_NE(message, nullptr);
  EXPECT_NE(std::string(message).find("append-only"), std::string::npos);
  sqlite3_free(message);
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM accounts_audit", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  EXPECT_EQ(AuditAll().size(), 5u);
}

// ----- persistence, other processes and threads -----------------------------------

TEST_F(AccountsTest, ReopenKeepsEverything) {
  Populate();
  const IssuedToken t = Token("ana", kScopeRead | kScopeWrite);
  auto s = accounts_->CreateSession("root", SessionMethod::kWebAuthn, 0, actor_);
  ASSERT_TRUE(s);
  accounts_.reset();
  accounts_ = OpenAccounts();
  ASSERT_NE(accounts_, nullptr);
  EXPECT_EQ(accounts_->ListOrgs()->size(), 2u);
  EXPECT_EQ(accounts_->ListUsers()->size(), 3u);
  EXPECT_EQ((*accounts_->GetOrg("rxa-trust"))->default_tlp, Tlp::kGreen);
  EXPECT_EQ((*accounts_->GetOrg("rxa-trust"))->amber_share_with, std::vector<std::string>{"ncc"});
  auto p = accounts_->AuthenticateToken(t.secret);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->scopes, kScopeRead | kScopeWrite);
  EXPECT_TRUE(accounts_->AuthenticateSession(s->secret));
  EXPECT_TRUE(accounts_->AuthenticateBasic("ana", "ana-password"));
  EXPECT_EQ(AuditAll().size(), 7u);
}

TEST_F(AccountsTest, AChangeThroughAnotherConnectionTakesEffectAtOnce) {
  Populate();
  const IssuedToken t = Token("ana", kScopeRead);
  ASSERT_TRUE(accounts_->AuthenticateToken(t.secret));  // cached in `accounts_`
  ASSERT_TRUE(accounts_->AuthenticateBasic("ana", "ana-password"));
  // Another process (the CLI) revokes through its own connection.
  auto other = Accounts::Open(path_, Options());
  ASSERT_TRUE(other);
  ASSERT_TRUE((*other)->RevokeToken(t.info.id, Actor::Cli()));
  EXPECT_EQ(accounts_->AuthenticateToken(t.secret).error().reason, "token revoked");
  ASSERT_TRUE((*other)->SetDisabled("ana", true, Actor::Cli()));
  EXPECT_FALSE(accounts_->AuthenticateBasic("ana", "ana-password"));
}

TEST_F(AccountsTest, ConcurrentAuthenticationWhileRevoking) {
  Populate();
  constexpr int kTokens = 8;
  std::vector<IssuedToken> tokens;
  for (int i = 0; i < kTokens; ++i) tokens.push_back(Token(i % 2 ? "ana" : "root", kScopeRead));
  // Even tokens get revoked while readers run; odd ones must never fail.
  std::atomic<bool> revoked[kTokens] = {};
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::atomic<int64_t> checks{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&, r] {
      int i = r;
      while (!stop.load()) {
        i = (i + 1) % kTokens;
        const bool was_revoked = revoked[i].load();
        auto p = accounts_->AuthenticateToken(tokens[i].secret);
        if (i % 2 == 1 && !p) ++wrong;  // never revoked
        if (was_revoked && p) ++wrong;  // revoked before we asked
        if (p && p->credential_id != tokens[i].info.id) ++wrong;
        if (i % 3 == 0) {
          auto b = accounts_->AuthenticateHttp(BasicHeader("ana", "ana-password"), std::nullopt);
          if (!b || b->user_id != "ana") ++wrong;
        }
        ++checks;
      }
    });
  }
  for (int i = 0; i < kTokens; i += 2) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_TRUE(accounts_->RevokeToken(tokens[i].info.id, actor_));
    revoked[i].store(true);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(checks.load(), kTokens);
  for (int i = 0; i < kTokens; ++i) {
    EXPECT_EQ(accounts_->AuthenticateToken(tokens[i].secret).has_value(), i % 2 == 1) << i;
  }
}

}  // namespace
}  // namespace aegis::auth
