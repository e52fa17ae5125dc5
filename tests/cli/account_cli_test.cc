// `aegis org|user|token|audit` driven through the real binary, checked against the
// database through the accounts library.
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "auth/accounts.h"
#include "common/test_util.h"

namespace {

namespace fs = std::filesystem;
using aegis::testing::CommandResult;

class AccountCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("aegis-account-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_ = (dir_ / "data" / "aegis.db").string();  // "data" does not exist yet
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `aegis ARGS --db <test db>` with standard input from /dev/null unless the
  // arguments redirect it.
  CommandResult Aegis(const std::string& args, std::string* err = nullptr) {
    std::string full = args + " --db " + db_;
    if (full.find(" < ") == std::string::npos) full += " < /dev/null";
    return aegis::testing::RunCommand(AEGIS_BINARY, full, err);
  }

  // Writes `content` to a file in the test directory and returns its path.
  std::string File(const std::string& name, const std::string& content) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << content;
    return p.string();
  }

  std::unique_ptr<aegis::auth::Accounts> Open() {
    auto accounts = aegis::auth::Accounts::Open(db_);
    EXPECT_TRUE(accounts) << accounts.error().ToString();
    return accounts ? std::move(*accounts) : nullptr;
  }

  void CreateTrustWithAnalyst() {
    ASSERT_EQ(Aegis("org create rxa-trust --name 'Royal X Trust' --type trust").code, 0);
    ASSERT_EQ(Aegis("user add ana --org rxa-trust --role analyst --name 'Ana Lyst' "
                    "--password-stdin < " +
                    File("pw", "ana-password\n"))
                  .code,
              0);
  }

  fs::path dir_;
  std::string db_;
};

std::string UnixUser() {
  passwd* pw = ::getpwuid(::geteuid());
  return pw != nullptr ? pw->pw_name : "uid" + std::to_string(::geteuid());
}

TEST_F(AccountCli, HelpOnEveryCommand) {
  for (const char* cmd :
       {"org",          "org create", "org list",     "org show",    "org update",
        "org delete",   "user",       "user add",     "user list",   "user show",
        "user passwd",  "user role",  "user disable", "user enable", "token",
        "token create", "token list", "token revoke", "audit",       "audit list"}) {
    CommandResult r = aegis::testing::RunCommand(AEGIS_BINARY, std::string(cmd) + " --help");
    EXPECT_EQ(r.code, 0) << cmd;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << cmd << ": " << r.out;
    if (std::string(cmd).find(' ') != std::string::npos) {
      EXPECT_NE(r.out.find("--db"), std::string::npos) << cmd;
      EXPECT_NE(r.out.find("--json"), std::string::npos) << cmd;
    }
  }
}

TEST_F(AccountCli, OrganisationsCreateListShowUpdateDelete) {
  std::string err;
  CommandResult r = Aegis(
      "org create ncc --name 'National Cyber Centre' --type national-centre --default-tlp green",
      &err);
  ASSERT_EQ(r.code, 0) << err;
  EXPECT_NE(r.out.find("identity--"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(db_));  // the parent directory was created
  r = Aegis("org create rxa-trust --name 'Royal X' --share-amber-with ncc,gp-1 --json", &err);
  ASSERT_EQ(r.code, 0) << err;
  EXPECT_NE(r.out.find("\"id\":\"rxa-trust\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"amber_share_with\":[\"ncc\",\"gp-1\"]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"type\":\"trust\""), std::string::npos) << r.out;

  r = Aegis("org list");
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("national-centre"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("TLP:GREEN"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Royal X"), std::string::npos) << r.out;
  r = Aegis("org list --json");
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(r.out.front(), '[');
  EXPECT_LT(r.out.find("\"id\":\"ncc\""), r.out.find("\"id\":\"rxa-trust\""));

  r = Aegis(
      "org update rxa-trust --name 'Royal X NHS Trust' --default-tlp amber+strict "
      "--anonymise-sightings",
      &err);
  ASSERT_EQ(r.code, 0) << err;
  auto accounts = Open();
  auto org = accounts->GetOrg("rxa-trust");
  ASSERT_TRUE(org && *org);
  EXPECT_EQ((*org)->name, "Royal X NHS Trust");
  EXPECT_EQ((*org)->default_tlp, aegis::Tlp::kAmberStrict);
  EXPECT_TRUE((*org)->anonymise_sightings);
  EXPECT_EQ((*org)->amber_share_with, (std::vector<std::string>{"ncc", "gp-1"}));  // kept
  ASSERT_EQ(
      Aegis("org update rxa-trust --clear-share --no-anonymise-sightings --default-tlp none").code,
      0);
  org = accounts->GetOrg("rxa-trust");
  EXPECT_TRUE((*org)->amber_share_with.empty());
  EXPECT_FALSE((*org)->anonymise_sightings);
  EXPECT_FALSE((*org)->default_tlp);
  EXPECT_EQ((*org)->name, "Royal X NHS Trust");

  r = Aegis("org show rxa-trust");
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("Royal X NHS Trust"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find((*org)->stix_identity), std::string::npos) << r.out;
  r = Aegis("org show missing", &err);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(err.find("no organisation 'missing'"), std::string::npos) << err;

  r = Aegis("org delete rxa-trust --json");
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("\"deleted\":\"rxa-trust\""), std::string::npos);
  EXPECT_EQ(Aegis("org show rxa-trust").code, 1);
}

TEST_F(AccountCli, UsersTokensAndAuthentication) {
  CreateTrustWithAnalyst();
  std::string err;
  CommandResult r = Aegis("user add rob --org rxa-trust", &err);
  ASSERT_EQ(r.code, 0) << err;
  EXPECT_NE(r.out.find("tokens only"), std::string::npos) << r.out;

  r = Aegis("user list --org rxa-trust");
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("ana"), std::string::npos);
  EXPECT_NE(r.out.find("analyst"), std::string::npos);
  EXPECT_NE(r.out.find("read-only"), std::string::npos);
  r = Aegis("user show ana --json");
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("\"display_name\":\"Ana Lyst\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"has_password\":true"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"tokens\":[]"), std::string::npos) << r.out;

  // The secret alone on stdout, the notice on stderr.
  r = Aegis("token create --user ana --scopes read,write --ttl 30d --name taxii-pull", &err);
  ASSERT_EQ(r.code, 0) << err;
  const std::string secret = r.out.substr(0, r.out.find('\n'));
  EXPECT_EQ(r.out, secret + "\n");
  EXPECT_TRUE(secret.starts_with("aegis_tok_")) << secret;
  EXPECT_NE(err.find("shown only once"), std::string::npos) << err;
  EXPECT_NE(err.find("scopes read,write"), std::string::npos) << err;

  auto accounts = Open();
  auto principal = accounts->AuthenticateToken(secret);
  ASSERT_TRUE(principal) << principal.error().reason;
  EXPECT_EQ(principal->user_id, "ana");
  EXPECT_TRUE(principal->Can(aegis::auth::Permission::kWrite));
  EXPECT_TRUE(accounts->AuthenticateBasic("ana", "ana-password"));

  r = Aegis("token list --json");
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("\"status\":\"active\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"name\":\"taxii-pull\""), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(secret), std::string::npos);  // never shown again
  const std::string token_id = principal->credential_id;
  EXPECT_NE(r.out.find(token_id), std::string::npos);

  // A read-only user cannot get a write token.
  r = Aegis("token create --user rob --scopes write", &err);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(err.find("read-only"), std::string::npos) << err;
  EXPECT_TRUE(r.out.empty());

  // JSON issue carries the secret once too.
  r = Aegis("token create --user rob --json --ttl never", &err);
  ASSERT_EQ(r.code, 0) << err;
  EXPECT_NE(r.out.find("\"secret\":\"aegis_tok_"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"expires_at\":null"), std::string::npos) << r.out;

  // Revocation from the command line reaches an already open instance at once.
  r = Aegis("token revoke " + token_id, &err);
  ASSERT_EQ(r.code, 0) << err;
  EXPECT_FALSE(accounts->AuthenticateToken(secret));
  r = Aegis("token list --user ana");
  EXPECT_NE(r.out.find("revoked"), std::string::npos) << r.out;
  r = Aegis("token revoke " + token_id, &err);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(err.find("already revoked"), std::string::npos) << err;

  // Password change through standard input.
  r = Aegis("user passwd ana --password-stdin < " + File("pw2", "second-password\n"), &err);
  ASSERT_EQ(r.code, 0) << err;
  EXPECT_FALSE(accounts->AuthenticateBasic("ana", "ana-password"));
  EXPECT_TRUE(accounts->AuthenticateBasic("ana", "second-password"));
  r = Aegis("user passwd ana --password-stdin < " + File("pw3", "short\n"), &err);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(err.find("password"), std::string::npos) << err;
  EXPECT_NE(err.find("at least 8"), std::string::npos) << err;

  // Role, disable, enable.
  ASSERT_EQ(Aegis("user role ana read-only").code, 0);
  principal = accounts->AuthenticateBasic("ana", "second-password");
  ASSERT_TRUE(principal);
  EXPECT_FALSE(principal->Can(aegis::auth::Permission::kWrite));
  ASSERT_EQ(Aegis("user disable ana").code, 0);
  EXPECT_FALSE(accounts->AuthenticateBasic("ana", "second-password"));
  r = Aegis("user show ana");
  EXPECT_NE(r.out.find("disabled"), std::string::npos) << r.out;
  ASSERT_EQ(Aegis("user enable ana").code, 0);
  EXPECT_TRUE(accounts->AuthenticateBasic("ana", "second-password"));

  // An organisation with enabled users is not deleted.
  r = Aegis("org delete rxa-trust", &err);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(err.find("disable them first"), std::string::npos) << err;
}

TEST_F(AccountCli, AuditListShowsEveryCliWrite) {
  CreateTrustWithAnalyst();
  ASSERT_EQ(Aegis("token create --user ana").code, 0);
  ASSERT_EQ(Aegis("user role ana admin").code, 0);
  EXPECT_EQ(Aegis("org create rxa-trust --name again").code, 1);

  CommandResult r = Aegis("audit list --json");
  ASSERT_EQ(r.code, 0);
  for (const char* action : {"org.create", "user.create", "token.create", "user.role"}) {
    EXPECT_NE(r.out.find(std::string("\"action\":\"") + action + "\""), std::string::npos)
        << action << ": " << r.out;
  }
  EXPECT_NE(r.out.find("\"actor_user\":\"cli:" + UnixUser() + "\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"remote\":\"local\""), std::string::npos);
  EXPECT_NE(r.out.find("\"outcome\":\"failed\""), std::string::npos);

  auto accounts = Open();
  auto entries = accounts->ListAudit({});
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 5u);
  EXPECT_EQ((*entries)[0].action, "org.create");
  EXPECT_EQ((*entries)[0].outcome, "failed");

  r = Aegis("audit list --action token. --limit 10");
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("token.create"), std::string::npos);
  EXPECT_EQ(r.out.find("user.role"), std::string::npos);
  r = Aegis("audit list --limit 2 --json");
  EXPECT_EQ(r.out.find("user.create"), std::string::npos) << r.out;  // the third newest
  r = Aegis("audit list --before " + std::to_string((*entries)[1].seq) + " --json");
  EXPECT_EQ(r.out.find("user.role"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("token.create"), std::string::npos) << r.out;
}

TEST_F(AccountCli, UsageErrorsExitTwo) {
  CreateTrustWithAnalyst();
  struct Case {
    std::string args;
    std::string message;
  };
  const Case cases[] = {
      {"org", ""},
      {"org create x1", "--name"},
      {"org create ok-id --name X --type hospital", "unknown organisation type"},
      {"org create ok-id --name X --default-tlp purple", "unknown TLP"},
      {"user add bob --org rxa-trust --role superuser", "unknown role"},
      {"user role ana superuser", "unknown role"},
      {"user passwd ana", "--password-stdin"},  // stdin is not a terminal
      {"token create --user ana --scopes delete", "--scopes"},
      {"token create --user ana --ttl 5x", "--ttl"},
      {"token create --user ana --ttl -3d", "--ttl"},
      {"token create", "--user"},
      {"audit list --limit 0", "--limit"},
  };
  for (const Case& c : cases) {
    std::string err;
    CommandResult r = Aegis(c.args, &err);
    EXPECT_EQ(r.code, 2) << c.args << ": " << err;
    EXPECT_NE(err.find(c.message), std::string::npos) << c.args << ": " << err;
  }
}

TEST_F(AccountCli, ErrorsExitOneWithTheReason) {
  CreateTrustWithAnalyst();
  struct Case {
    std::string args;
    std::string message;
  };
  const Case cases[] = {
      {"org create rxa-trust --name Again", "already exists"},
      {"org create Bad_Id --name X", "lower-case letters"},
      {"org update missing --name X", "no organisation 'missing'"},
      {"org delete missing", "no organisation 'missing'"},
      {"user add ana --org rxa-trust", "already exists"},
      {"user add bob --org missing", "no organisation 'missing'"},
      {"user show nobody", "no user 'nobody'"},
      {"user role nobody admin", "no user 'nobody'"},
      {"user disable nobody", "no user 'nobody'"},
      {"token create --user nobody", "no user 'nobody'"},
      {"token create --user ana --ttl 400d", "maximum"},
      {"token revoke tok_0000000000000000", "no token"},
  };
  for (const Case& c : cases) {
    std::string err;
    CommandResult r = Aegis(c.args, &err);
    EXPECT_EQ(r.code, 1) << c.args << ": " << err;
    EXPECT_NE(err.find(c.message), std::string::npos) << c.args << ": " << err;
    EXPECT_NE(err.find("aegis: error:"), std::string::npos) << c.args;
  }
  // A database path that cannot be created.
  std::string err;
  const std::string blocker = File("blocker", "a file, not a directory");
  CommandResult r =
      aegis::testing::RunCommand(AEGIS_BINARY, "org list --db " + blocker + "/sub/aegis.db", &err);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(err.find("cannot create directory"), std::string::npos) << err;
}

}  // namespace
