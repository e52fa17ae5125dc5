// `aegis org|user|token|audit`: manage organisations, users, API tokens and read the
// audit log from the command line (cli::MakeAccountCommands, cli/command_group.h).
// Every write is recorded in the audit log as "cli:<unix user>".
#include <termios.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <functional>
#include <iostream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "auth/accounts.h"
#include "cli/command_group.h"
#include "cli/output.h"
#include "core/strings.h"

namespace aegis::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

using auth::Accounts;

void PrintError(const Error& e) {
  std::fprintf(stderr, "aegis: error: %s\n", e.ToString().c_str());
}

int UsageError(std::string_view option, std::string_view why) {
  std::fprintf(stderr, "aegis: error: %.*s: %.*s\n", static_cast<int>(option.size()), option.data(),
               static_cast<int>(why.size()), why.data());
  return kExitUsage;
}

std::string OrNone(const std::optional<std::string>& s, std::string_view none = "-") {
  return s ? *s : std::string(none);
}

std::string JsonString(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

std::string JsonOptional(const std::optional<std::string>& s) {
  return s ? JsonString(*s) : std::string("null");
}

std::string JsonList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    AppendJsonString(out, items[i]);
  }
  return out + "]";
}

std::string JsonArray(const std::vector<std::string>& objects) {
  std::string out = "[";
  for (size_t i = 0; i < objects.size(); ++i) {
    if (i) out += ',';
    out += objects[i];
  }
  return out + "]";
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ',';
    out += item;
  }
  return out;
}

void PrintLine(const std::string& line) { std::printf("%s\n", line.c_str()); }

std::string OrgJson(const auth::Organisation& o) {
  JsonObject j;
  j.Str("id", o.id).Str("name", o.name).Str("type", auth::OrgTypeName(o.type));
  j.Str("stix_identity", o.stix_identity).Raw("amber_share_with", JsonList(o.amber_share_with));
  j.Raw("default_tlp", o.default_tlp ? JsonString(TlpName(*o.default_tlp)) : std::string("null"));
  j.Bool("anonymise_sightings", o.anonymise_sightings).Str("created_at", o.created_at);
  return j.Close();
}

std::string UserJson(const auth::User& u) {
  JsonObject j;
  j.Str("id", u.id).Str("org_id", u.org_id).Str("display_name", u.display_name);
  j.Str("role", auth::RoleName(u.role)).Bool("disabled", u.disabled);
  j.Bool("has_password", u.has_password).Str("created_at", u.created_at);
  return j.Close();
}

std::string TokenStatus(const auth::TokenInfo& t, const std::string& now) {
  if (t.revoked_at) return "revoked";
  if (t.expires_at && *t.expires_at <= now) return "expired";  // RFC 3339 UTC sorts as text
  return "active";
}

std::string NowRfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string TokenJson(const auth::TokenInfo& t, const std::string& now) {
  JsonObject j;
  j.Str("id", t.id).Str("user_id", t.user_id).Str("org_id", t.org_id).Str("name", t.name);
  j.Str("scopes", auth::ScopesToString(t.scopes)).Str("created_at", t.created_at);
  j.Raw("expires_at", JsonOptional(t.expires_at)).Raw("revoked_at", JsonOptional(t.revoked_at));
  j.Raw("last_used_at", JsonOptional(t.last_used_at)).Str("status", TokenStatus(t, now));
  return j.Close();
}

std::string AuditJson(const auth::AuditEntry& e) {
  JsonObject j;
  j.Num("seq", static_cast<uint64_t>(e.seq)).Str("at", e.at).Str("actor_user", e.actor_user);
  j.Str("actor_org", e.actor_org).Str("remote", e.remote).Str("action", e.action);
  j.Str("target", e.target).Str("outcome", e.outcome).Str("detail", e.detail);
  return j.Close();
}

// "90d", "12h", "30m", "3600s", "3600" (seconds) or "never" (nullopt).
std::optional<std::optional<int64_t>> ParseLifetime(std::string_view text) {
  text = Trim(text);
  if (text == "never") return std::optional<int64_t>();
  if (text.empty()) return std::nullopt;
  int64_t unit = 1;
  switch (text.back()) {
    case 'd':
      unit = 86400;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'm':
      unit = 60;
      break;
    case 's':
      unit = 1;
      break;
    default:
      unit = 0;
  }
  if (unit != 0) {
    text.remove_suffix(1);
  } else {
    unit = 1;
  }
  int64_t n = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr != text.data() + text.size() || n <= 0 ||
      n > 100LL * 365 * 86400 / unit) {
    return std::nullopt;
  }
  return std::optional<int64_t>(n * unit);
}

// Reads a password: the whole of standard input (one trailing newline removed) with
// --password-stdin, else twice from the terminal without echo.
Result<std::string> ReadPassword(bool from_stdin) {
  if (from_stdin) {
    std::string password((std::istreambuf_iterator<char>(std::cin)),
                         std::istreambuf_iterator<char>());
    if (password.ends_with('\n')) password.pop_back();
    if (password.ends_with('\r')) password.pop_back();
    return password;
  }
  if (!::isatty(STDIN_FILENO)) {
    return Fail("standard input is not a terminal: pass the password with --password-stdin",
                "password");
  }
  auto prompt = [](const char* text) -> std::string {
    std::fprintf(stderr, "%s", text);
    std::fflush(stderr);
    termios old_mode{};
    const bool have_mode = ::tcgetattr(STDIN_FILENO, &old_mode) == 0;
    if (have_mode) {
      termios quiet = old_mode;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    std::string line;
    std::getline(std::cin, line);
    if (have_mode) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old_mode);
    std::fprintf(stderr, "\n");
    if (line.ends_with('\r')) line.pop_back();
    return line;
  };
  std::string first = prompt("New password: ");
  std::string second = prompt("Repeat password: ");
  if (first != second) return Fail("the two passwords differ", "password");
  return first;
}

class AccountCommands final : public CommandGroup {
 public:
  void Register(CLI::App& app) override {
    RegisterOrg(app);
    RegisterUser(app);
    RegisterToken(app);
    RegisterAudit(app);
  }

  std::optional<int> RunParsed() override {
    for (auto& [cmd, run] : commands_) {
      if (cmd->parsed()) return run();
    }
    return std::nullopt;
  }

 private:
  // --db and --json, shared by every command of the group.
  struct Common {
    std::string db;
    bool json = false;
  };

  CLI::App* Command(CLI::App* parent, std::string name, std::string description,
                    std::function<int()> run) {
    CLI::App* cmd = parent->add_subcommand(std::move(name), std::move(description));
    AddDatabaseOption(cmd, common_.db);
    cmd->add_flag("--json", common_.json, "Print JSON instead of text");
    commands_.emplace_back(cmd, std::move(run));
    return cmd;
  }

  std::unique_ptr<Accounts> OpenOrPrint() {
    auto accounts = Accounts::Open(common_.db);
    if (!accounts) {
      PrintError(accounts.error());
      return nullptr;
    }
    return std::move(*accounts);
  }

  // ----- org -------------------------------------------------------------------

  struct OrgFlags {
    std::string id;
    std::string name;
    std::string type;
    std::vector<std::string> share;
    bool clear_share = false;
    std::string default_tlp;
    bool anonymise = false;
  };
  // The options of one command (create or update), to tell which were given.
  struct OrgOptions {
    CLI::Option* name = nullptr;
    CLI::Option* type = nullptr;
    CLI::Option* share = nullptr;
    CLI::Option* tlp = nullptr;
    CLI::Option* anonymise = nullptr;
  };

  OrgOptions AddOrgFields(CLI::App* cmd, bool create) {
    OrgOptions opts;
    opts.name = cmd->add_option("--name", org_.name, "Display name");
    if (create) opts.name->required();
    opts.type = cmd->add_option("--type", org_.type,
                                "national-centre, trust, gp-practice or supplier (default trust)");
    opts.share =
        cmd->add_option("--share-amber-with", org_.share,
                        "Organisation ids it shares TLP:AMBER with by default; repeatable or "
                        "comma-separated")
            ->delimiter(',')
            ->expected(1)
            ->allow_extra_args(false)
            ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    opts.tlp = cmd->add_option("--default-tlp", org_.default_tlp,
                               "TLP for objects it leaves unmarked (clear, green, amber, "
                               "amber+strict, red; 'none': TLP:AMBER)");
    opts.anonymise =
        cmd->add_flag("--anonymise-sightings,!--no-anonymise-sightings", org_.anonymise,
                      "Sightings shared upward carry no organisation name");
    return opts;
  }

  // Applies the given flags to `org`; returns an exit code on a usage error.
  std::optional<int> ApplyOrgFlags(const OrgOptions& opts, auth::NewOrg& org) {
    if (opts.name->count() > 0) org.name = org_.name;
    if (opts.type->count() > 0) {
      auto type = auth::ParseOrgType(org_.type);
      if (!type) {
        return UsageError("--type", "unknown organisation type '" + org_.type +
                                        "' (national-centre, trust, gp-practice, supplier)");
      }
      org.type = *type;
    }
    if (org_.clear_share) org.amber_share_with.clear();
    if (opts.share->count() > 0) {
      org.amber_share_with.clear();
      for (const std::string& id : org_.share) {
        const std::string trimmed(Trim(id));
        if (!trimmed.empty()) org.amber_share_with.push_back(trimmed);
      }
    }
    if (opts.tlp->count() > 0) {
      if (AsciiLower(org_.default_tlp) == "none") {
        org.default_tlp.reset();
      } else {
        auto tlp = ParseTlp(org_.default_tlp);
        if (!tlp) return UsageError("--default-tlp", "unknown TLP '" + org_.default_tlp + "'");
        org.default_tlp = *tlp;
      }
    }
    if (opts.anonymise->count() > 0) org.anonymise_sightings = org_.anonymise;
    return std::nullopt;
  }

  void PrintOrg(const auth::Organisation& o) {
    if (common_.json) return PrintLine(OrgJson(o));
    std::printf("id:                  %s\n", o.id.c_str());
    std::printf("name:                %s\n", o.name.c_str());
    std::printf("type:                %s\n", std::string(auth::OrgTypeName(o.type)).c_str());
    std::printf("stix identity:       %s\n", o.stix_identity.c_str());
    std::printf("shares amber with:   %s\n",
                o.amber_share_with.empty() ? "-" : Join(o.amber_share_with).c_str());
    std::printf("default tlp:         %s\n",
                o.default_tlp ? std::string(TlpName(*o.default_tlp)).c_str() : "- (TLP:AMBER)");
    std::printf("anonymise sightings: %s\n", o.anonymise_sightings ? "yes" : "no");
    std::printf("created:             %s\n", o.created_at.c_str());
  }

  void RegisterOrg(CLI::App& app) {
    CLI::App* org = app.add_subcommand("org", "Manage member organisations");
    org->require_subcommand(1);

    CLI::App* create = Command(org, "create", "Add an organisation", [this] {
      auth::NewOrg o;
      o.id = org_.id;
      if (auto usage = ApplyOrgFlags(create_options_, o)) return *usage;
      auto accounts = OpenOrPrint();
      if (!accounts) return kExitError;
      auto created = accounts->CreateOrg(o, auth::Actor::Cli());
      if (!created) {
        PrintError(created.error());
        return kExitError;
      }
      if (common_.json) {
        PrintLine(OrgJson(*created));
      } else {
        std::printf("created organisation %s (%s), STIX identity %s\n", created->id.c_str(),
                    std::string(auth::OrgTypeName(created->type)).c_str(),
                    created->stix_identity.c_str());
      }
      return kExitOk;
    });
    create->add_option("id", org_.id, "Organisation id: 2-64 of a-z, 0-9, '-'")->required();
    create_options_ = AddOrgFields(create, /*create=*/true);

    Command(org, "list", "List organisations", [this] {
      auto accounts = OpenOrPrint();
      if (!accounts) return kExitError;
      auto orgs = accounts->ListOrgs();
      if (!orgs) {
        PrintError(orgs.error());
        return kExitError;
      }
      if (common_.json) {
        std::vector<std::string> items;
        for (const auto& o : *orgs) items.push_back(OrgJson(o));
        PrintLine(JsonArray(items));
        return kExitOk;
      }
      Table table({"ID", "TYPE", "NAME", "DEFAULT TLP", "SHARES AMBER WITH"});
      for (const auto& o : *orgs) {
        table.Row({o.id, std::string(auth::OrgTypeName(o.type)), o.name,
                   o.default_tlp ? std::string(TlpName(*o.default_tlp)) : "-",
                   o.amber_share_with.empty() ? "-" : Join(o.amber_share_with)});
      }
      table.Print(stdout);
      return kExitOk;
    });

    CLI::App* show = Command(org, "show", "Show one organisation", [this] {
      auto accounts = OpenOrPrint();
      if (!accounts) return kExitError;
      auto o = accounts->GetOrg(org_.id);
      if (!o) {
        PrintError(o.error());
        return kExitError;
      }
      if (!*o) {
        std::fprintf(stderr, "aegis: error: no organisation '%s'\n", org_.id.c_str());
        return kExitError;
      }
      PrintOrg(**o);
      return kExitOk;
    });
    show->add_option("id", org_.id, "Organisation id")->required();

    CLI::App* update =
        Command(org, "update", "Change an organisation (only the given fields)", [this] {
          auto accounts = OpenOrPrint();
          if (!accounts) return kExitError;
          auto current = accounts->GetOrg(org_.id);
          if (!current) {
            PrintError(current.error());
            return kExitError;
          }
          if (!*current) {
            std::fprintf(stderr, "aegis: error: no organisation '%s'\n", org_.id.c_str());
            return kExitError;
          }
          const auth::Organisation& c = **current;
          auth::NewOrg o{.id = c.id,
                         .name = c.name,
                         .type = c.type,
                         .amber_share_with = c.amber_share_with,
                         .default_tlp = c.default_tlp,
                         .anonymise_sightings = c.anonymise_sightings};
          if (auto usage = ApplyOrgFlags(update_options_, o)) return *usage;
          auto updated = accounts->UpdateOrg(o, auth::Actor::Cli());
          if (!updated) {
            PrintError(updated.error());
            return kExitError;
          }
          if (common_.json) {
            PrintLine(OrgJson(*updated));
          } else {
            std::printf("updated organisation %s\n", updated->id.c_str());
          }
          return kExitOk;
        });
    update->add_option("id", org_.id, "Organisation id")->required();
    update_options_ = AddOrgFields(update, /*create=*/false);
    update->add_flag("--clear-share", org_.clear_share, "Share TLP:AMBER with nobody by default");

    CLI::App* remove =
        Command(org, "delete", "Delete an organisation (all its users disabled first)", [this] {
          auto accounts = OpenOrPrint();
          if (!accounts) return kExitError;
          if (auto r = accounts->DeleteOrg(org_.id, auth::Actor::Cli()); !r) {
            PrintError(r.error());
            return kExitError;
          }
          if (common_.json) {
            PrintLine(JsonObject().Str("deleted", org_.id).Close());
          } else {
            std::printf("deleted organisation %s\n", org_.id.c_str());
          }
          return kExitOk;
        });
    remove->add_option("id", org_.id, "Organisation id")->required();
  }

  // ----- user ------------------------------------------------------------------

  struct UserFlags {
    std::string id;
    std::string org;
    std::string display_name;
    std::string role = "read-only";
    bool password_stdin = false;
    bool password_prompt = false;
  };

  int Simple(const std::function<Result<void>(Accounts&)>& action, const std::string& done_text,
             std::string_view json_key) {
    auto accounts = OpenOrPrint();
    if (!accounts) return kExitError;
    if (auto r = action(*accounts); !r) {
      PrintError(r.error());
      return kExitError;
    }
    if (common_.json) {
      PrintLine(JsonObject().Str(json_key, user_.id).Bool("ok", true).Close());
    } else {
      PrintLine(done_text);
    }
    return kExitOk;
  }

  void RegisterUser(CLI::App& app) {
    CLI::App* user = app.add_subcommand("user", "Manage users");
    user->require_subcommand(1);

    CLI::App* add = Command(user, "add", "Add a user", [this] {
      auto role = auth::ParseRole(user_.role);
      if (!role) {
        return UsageError("--role",
                          "unknown role '" + user_.role + "' (admin, analyst, read-only)");
      }
      if (user_.password_stdin && user_.password_prompt) {
        return UsageError("--password-stdin", "give either --password-stdin or --password-prompt");
      }
      auth::NewUser u{.id = user_.id,
                      .org_id = user_.org,
                      .display_name = user_.display_name,
                      .role = *role,
                      .password = std::nullopt};
      if (user_.password_stdin || user_.password_prompt) {
        auto password = ReadPassword(user_.password_stdin);
        if (!password) {
          PrintError(password.error());
          return kExitError;
        }
        u.password = std::move(*password);
      }
      auto accounts = OpenOrPrint();
      if (!accounts) return kExitError;
      auto created = accounts->CreateUser(u, auth::Actor::Cli());
      if (!created) {
        PrintError(created.error());
        return kExitError;
      }
      if (common_.json) {
        PrintLine(UserJson(*created));
      } else {
        std::printf("created user %s in %s, role %s%s\n", created->id.c_str(),
                    created->org_id.c_str(), std::string(auth::RoleName(created->role)).c_str(),
                    created->has_password ? "" : " (no password: tokens only)");
      }
      return kExitOk;
    });
    add->add_option("id", user_.id, "Login name: 1-128 of a-z, 0-9, . _ - @")->required();
    add->add_option("--org", user_.org, "Organisation id")->required();
    add->add_option("--name", user_.display_name, "Display name");
    add->add_option("--role", user_.role, "admin, analyst or read-only")->capture_default_str();
    add->add_flag("--password-stdin", user_.password_stdin,
                  "Read a password from standard input (else the user signs in with tokens only)");
    add->add_flag("--password-prompt", user_.password_prompt,
                  "Ask for a password on the terminal, without echo");

    CLI::App* list = Command(user, "list", "List users", [this] {
      auto accounts = OpenOrPrint();
      if (!accounts) return kExitError;
      auto users = accounts->ListUsers(user_.org);
      if (!users) {
        PrintError(users.error());
        return kExitError;
      }
      if (common_.json) {
        std::vector<std::string> items;
        for (const auto& u : *users) items.push_back(UserJson(u));
        PrintLine(JsonArray(items));
        return kExitOk;
      }
      Table table({"ID", "ORG", "ROLE", "STATUS", "PASSWORD", "NAME"});
      for (const auto& u : *users) {
        table.Row({u.id, u.org_id, std::string(auth::RoleName(u.role)),
                   u.disabled ? "disabled" : "enabled", u.has_password ? "yes" : "no",
                   u.display_name});
      }
      table.Print(stdout);
      return kExitOk;
    });
    list->add_option("--org", user_.org, "Only users of this organisation");

    CLI::App* show = Command(user, "show", "Show one user and their tokens", [this] {
      auto accounts = OpenOrPrint();
      if (!accounts) return kExitError;
      auto u = accounts->GetUser(user_.id);
      if (!u) {
        PrintError(u.error());
        return kExitError;
      }
      if (!*u) {
        std::fprintf(stderr, "aegis: error: no user '%s'\n", user_.id.c_str());
        return kExitError;
      }
      auto tokens = accounts->ListTokens(user_.id);
      if (!tokens) {
        PrintError(tokens.error());
        return kExitError;
      }
      const std::string now = NowRfc3339();
      if (common_.json) {
        std::vector<std::string> items;
        for (const auto& t : *tokens) items.push_back(TokenJson(t, now));
        std::string json = UserJson(**u);
        json.pop_back();
        PrintLine(json + ",\"tokens\":" + JsonArray(items) + "}");
        return kExitOk;
      }
      const auth::User& x = **u;
      std::printf("id:       %s\n", x.id.c_str());
      std::printf("org:      %s\n", x.org_id.c_str());
      std::printf("name:     %s\n", x.display_name.empty() ? "-" : x.display_name.c_str());
      std::printf("role:     %s\n", std::string(auth::RoleName(x.role)).c_str());
      std::printf("status:   %s\n", x.disabled ? "disabled" : "enabled");
      std::printf("password: %s\n", x.has_password ? "yes" : "no");
      std::printf("created:  %s\n", x.created_at.c_str());
      size_t active = 0;
      for (const auto& t : *tokens) active += TokenStatus(t, now) == "active";
      std::printf("tokens:   %zu active, %zu in all\n", active, tokens->size());
      return kExitOk;
    });
    show->add_option("id", user_.id, "User id")->required();

    CLI::App* passwd =
        Command(user, "passwd", "Set a user's password (ends their sessions)", [this] {
          auto password = ReadPassword(user_.password_stdin);
          if (!password) {
            PrintError(password.error());
            return user_.password_stdin ? kExitError : kExitUsage;
          }
          return Simple(
              [&](Accounts& a) { return a.SetPassword(user_.id, *password, auth::Actor::Cli()); },
              "password of " + user_.id + " changed", "user");
        });
    passwd->add_option("id", user_.id, "User id")->required();
    passwd->add_flag("--password-stdin", user_.password_stdin,
                     "Read the password from standard input (else: prompt on the terminal)");

    CLI::App* role = Command(user, "role", "Change a user's role", [this] {
      auto parsed = auth::ParseRole(user_.role);
      if (!parsed) {
        return UsageError("role", "unknown role '" + user_.role + "' (admin, analyst, read-only)");
      }
      return Simple([&](Accounts& a) { return a.SetRole(user_.id, *parsed, auth::Actor::Cli()); },
                    user_.id + " is now " + std::string(auth::RoleName(*parsed)), "user");
    });
    role->add_option("id", user_.id, "User id")->required();
    role->add_option("role", user_.role, "admin, analyst or read-only")->required();

    CLI::App* disable =
        Command(user, "disable", "Disable a user: revokes their tokens and sessions", [this] {
          return Simple(
              [&](Accounts& a) { return a.SetDisabled(user_.id, true, auth::Actor::Cli()); },
              "disabled " + user_.id + "; their tokens and sessions are revoked", "user");
        });
    disable->add_option("id", user_.id, "User id")->required();

    CLI::App* enable =
        Command(user, "enable", "Enable a disabled user (revoked tokens stay revoked)", [this] {
          return Simple(
              [&](Accounts& a) { return a.SetDisabled(user_.id, false, auth::Actor::Cli()); },
              "enabled " + user_.id, "user");
        });
    enable->add_option("id", user_.id, "User id")->required();
  }

  // ----- token -----------------------------------------------------------------

  struct TokenFlags {
    std::string id;
    std::string user;
    std::string name;
    std::string scopes = "read";
    std::string ttl = "90d";
  };

  void RegisterToken(CLI::App& app) {
    CLI::App* token = app.add_subcommand("token", "Manage API tokens");
    token->require_subcommand(1);

    CLI::App* create =
        Command(token, "create", "Issue an API token (the secret is shown once)", [this] {
          auto scopes = auth::ParseScopes(token_.scopes);
          if (!scopes) {
            return UsageError("--scopes",
                              "expected read, write, admin (comma-separated) or all, got '" +
                                  token_.scopes + "'");
          }
          auto lifetime = ParseLifetime(token_.ttl);
          if (!lifetime) {
            return UsageError("--ttl",
                              "expected a lifetime such as 90d, 12h, 30m, 3600s or 'never', got '" +
                                  token_.ttl + "'");
          }
          auth::NewToken t{.user_id = token_.user, .name = token_.name, .scopes = *scopes};
          if (*lifetime) {
            t.ttl_seconds = **lifetime;
          } else {
            t.never_expires = true;
          }
          auto accounts = OpenOrPrint();
          if (!accounts) return kExitError;
          auto issued = accounts->CreateToken(t, auth::Actor::Cli());
          if (!issued) {
            PrintError(issued.error());
            return kExitError;
          }
          const auth::TokenInfo& info = issued->info;
          if (common_.json) {
            std::string json = TokenJson(info, NowRfc3339());
            json.pop_back();
            json += ",\"secret\":" + JsonString(issued->secret) +
                    ",\"note\":\"the secret is shown only this once; Aegis stores only its SHA-256 "
                    "digest\"}";
            PrintLine(json);
            return kExitOk;
          }
          // The secret alone on standard output (TOKEN=$(aegis token create ...) works);
          // everything else on standard error.
          std::fprintf(stderr, "token %s for %s (%s), scopes %s, expires %s\n", info.id.c_str(),
                       info.user_id.c_str(), info.org_id.c_str(),
                       auth::ScopesToString(info.scopes).c_str(),
                       OrNone(info.expires_at, "never").c_str());
          PrintLine(issued->secret);
          std::fflush(stdout);
          std::fprintf(stderr,
                       "This secret is shown only once: store it now. Aegis keeps only its SHA-256 "
                       "digest and cannot show it again.\n");
          return kExitOk;
        });
    create->add_option("--user", token_.user, "The user the token acts for")->required();
    create->add_option("--name", token_.name, "What the token is for, e.g. 'taxii-pull'");
    create
        ->add_option("--scopes", token_.scopes,
                     "read, write, admin (comma-separated) or all; at most the user's role allows")
        ->capture_default_str();
    create->add_option("--ttl", token_.ttl, "Lifetime: 90d, 12h, 30m, 3600s, or never")
        ->capture_default_str();

    CLI::App* list = Command(token, "list", "List tokens (never their secrets)", [this] {
      auto accounts = OpenOrPrint();
      if (!accounts) return kExitError;
      auto tokens = accounts->ListTokens(token_.user);
      if (!tokens) {
        PrintError(tokens.error());
        return kExitError;
      }
      const std::string now = NowRfc3339();
      if (common_.json) {
        std::vector<std::string> items;
        for (const auto& t : *tokens) items.push_back(TokenJson(t, now));
        PrintLine(JsonArray(items));
        return kExitOk;
      }
      Table table({"ID", "USER", "ORG", "SCOPES", "STATUS", "EXPIRES", "LAST USED", "NAME"});
      for (const auto& t : *tokens) {
        table.Row({t.id, t.user_id, t.org_id, auth::ScopesToString(t.scopes), TokenStatus(t, now),
                   OrNone(t.expires_at, "never"), OrNone(t.last_used_at), t.name});
      }
      table.Print(stdout);
      return kExitOk;
    });
    list->add_option("--user", token_.user, "Only this user's tokens");

    CLI::App* revoke = Command(token, "revoke", "Revoke a token at once", [this] {
      auto accounts = OpenOrPrint();
      if (!accounts) return kExitError;
      if (auto r = accounts->RevokeToken(token_.id, auth::Actor::Cli()); !r) {
        PrintError(r.error());
        return kExitError;
      }
      if (common_.json) {
        PrintLine(JsonObject().Str("revoked", token_.id).Close());
      } else {
        std::printf("revoked token %s\n", token_.id.c_str());
      }
      return kExitOk;
    });
    revoke->add_option("id", token_.id, "Token id (tok_...), as `aegis token list` shows")
        ->required();
  }

  // ----- audit -----------------------------------------------------------------

  struct AuditFlags {
    size_t limit = 50;
    int64_t before = 0;
    std::string org;
    std::string action;
  };

  void RegisterAudit(CLI::App& app) {
    CLI::App* audit = app.add_subcommand("audit", "Read the audit log");
    audit->require_subcommand(1);
    CLI::App* list = Command(audit, "list", "Newest audit entries first", [this] {
      if (audit_.limit == 0 || audit_.limit > 100'000) {
        return UsageError("--limit", "must be between 1 and 100000");
      }
      auto accounts = OpenOrPrint();
      if (!accounts) return kExitError;
      auto entries = accounts->ListAudit({.limit = audit_.limit,
                                          .before_seq = audit_.before,
                                          .org_id = audit_.org,
                                          .action_prefix = audit_.action});
      if (!entries) {
        PrintError(entries.error());
        return kExitError;
      }
      if (common_.json) {
        std::vector<std::string> items;
        for (const auto& e : *entries) items.push_back(AuditJson(e));
        PrintLine(JsonArray(items));
        return kExitOk;
      }
      Table table({"SEQ", "AT", "ACTOR", "ORG", "REMOTE", "ACTION", "TARGET", "OUTCOME", "DETAIL"});
      for (const auto& e : *entries) {
        table.Row({std::to_string(e.seq), e.at, e.actor_user,
                   e.actor_org.empty() ? "-" : e.actor_org, e.remote, e.action, e.target, e.outcome,
                   e.detail});
      }
      table.Print(stdout);
      return kExitOk;
    });
    list->add_option("--limit", audit_.limit, "At most this many entries")->capture_default_str();
    list->add_option("--before", audit_.before,
                     "Only entries with a smaller sequence number (paging)");
    list->add_option("--org", audit_.org, "Only entries by this organisation's users");
    list->add_option("--action", audit_.action, "Only actions starting with this, e.g. 'token.'");
  }

  Common common_;
  OrgFlags org_;
  OrgOptions create_options_;
  OrgOptions update_options_;
  UserFlags user_;
  TokenFlags token_;
  AuditFlags audit_;
  std::vector<std::pair<CLI::App*, std::function<int()>>> commands_;
};

}  // namespace

std::unique_ptr<CommandGroup> MakeAccountCommands() { return std::make_unique<AccountCommands>(); }

}  // namespace aegis::cli
