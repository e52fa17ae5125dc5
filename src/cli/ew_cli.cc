// `aegis ew`: Early Warning from the command line (cli::MakeEarlyWarningCommands,
// cli/command_group.h): registrations, notification channels and settings, the
// notification inbox (list, ack) and a dry run over a STIX bundle. See
// docs/EARLY-WARNING.md.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "auth/accounts.h"
#include "auth/tlp_policy.h"
#include "cli/command_group.h"
#include "cli/output.h"
#include "core/event.h"
#include "core/strings.h"
#include "intel/stix_object.h"
#include "share/early_warning.h"

namespace aegis::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

void PrintError(const Error& e) { std::fprintf(stderr, "aegis: error: %s\n", e.ToString().c_str()); }

int UsageError(std::string_view option, std::string_view why) {
  std::fprintf(stderr, "aegis: error: %.*s: %.*s\n", static_cast<int>(option.size()), option.data(),
               static_cast<int>(why.size()), why.data());
  return kExitUsage;
}

std::string CliUser() {
  const char* user = std::getenv("USER");
  return std::string("cli:") + (user != nullptr && *user != '\0' ? user : std::to_string(::getuid()));
}

std::string TimeOrDash(int64_t ns) { return ns ? FormatTime(ns) : std::string("-"); }

std::string RegistrationJson(const share::Registration& r) {
  JsonObject j;
  j.Num("id", static_cast<uint64_t>(r.id)).Str("org_id", r.org_id);
  j.Str("kind", share::RegistrationKindName(r.kind)).Str("value", r.value);
  j.Str("created", TimeOrDash(r.created_ns)).Str("created_by", r.created_by);
  return j.Close();
}

std::string ChannelJson(const share::Channel& c) {
  JsonObject j;
  j.Num("id", static_cast<uint64_t>(c.id)).Str("org_id", c.org_id);
  j.Str("kind", share::ChannelKindName(c.kind)).Str("target", c.target);
  j.Bool("signed", !c.secret.empty()).Str("created", TimeOrDash(c.created_ns));
  return j.Close();
}

std::string JsonArray(const std::vector<std::string>& objects) {
  std::string out = "[";
  for (size_t i = 0; i < objects.size(); ++i) {
    if (i) out += ',';
    out += objects[i];
  }
  return out + "]";
}

// "2026-11-20T00:00:00Z", "24h", "7d", "90m": an instant, or that long ago.
std::optional<int64_t> ParseSince(std::string_view text) {
  if (text.size() >= 2) {
    char unit = text.back();
    std::string_view digits = text.substr(0, text.size() - 1);
    int64_t scale = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : 0;
    bool numeric = !digits.empty() && digits.size() < 9 &&
                   digits.find_first_not_of("0123456789") == std::string_view::npos;
    if (scale != 0 && numeric) {
      return NowNs() - std::stoll(std::string(digits)) * scale * 1'000'000'000;
    }
  }
  return ParseTime(text);
}

class EarlyWarningCommands final : public CommandGroup {
 public:
  void Register(CLI::App& app) override {
    CLI::App* ew = app.add_subcommand(
        "ew", "Early Warning: registrations of your networks, domains and ASNs, and notifications");
    ew->require_subcommand(1);
    RegisterRegistrations(ew);
    RegisterNotifications(ew);
    RegisterChannels(ew);
    RegisterSettings(ew);
    RegisterCheck(ew);
  }

  std::optional<int> RunParsed() override {
    for (auto& [cmd, run] : commands_) {
      if (cmd->parsed()) return run();
    }
    return std::nullopt;
  }

 private:
  CLI::App* Command(CLI::App* parent, std::string name, std::string description, std::function<int()> run) {
    CLI::App* cmd = parent->add_subcommand(std::move(name), std::move(description));
    AddDatabaseOption(cmd, db_);
    cmd->add_flag("--json", json_, "Print JSON instead of text");
    commands_.emplace_back(cmd, std::move(run));
    return cmd;
  }

  std::unique_ptr<share::EarlyWarning> OpenOrPrint(share::Options options = {}) {
    auto ew = share::EarlyWarning::Open(db_, std::move(options));
    if (!ew) {
      PrintError(ew.error());
      return nullptr;
    }
    return std::move(*ew);
  }

  // Exactly one of --ip, --domain, --asn.
  std::optional<std::pair<share::RegistrationKind, std::string>> Target(int& usage) {
    int given = !ip_.empty() + !domain_.empty() + !asn_.empty();
    if (given != 1) {
      usage = UsageError("--ip|--domain|--asn", "give exactly one of them");
      return std::nullopt;
    }
    if (!ip_.empty()) return std::pair(share::RegistrationKind::kIp, ip_);
    if (!domain_.empty()) return std::pair(share::RegistrationKind::kDomain, domain_);
    return std::pair(share::RegistrationKind::kAsn, asn_);
  }

  void AddTargetOptions(CLI::App* cmd) {
    cmd->add_option("--ip", ip_, "IPv4 or IPv6 address or CIDR range (e.g. 81.2.69.0/24)");
    cmd->add_option("--domain", domain_, "Domain name; its subdomains are included");
    cmd->add_option("--asn", asn_, "Autonomous system number (AS5462 or 5462)");
  }

  void RegisterRegistrations(CLI::App* ew) {
    CLI::App* reg = Command(ew, "register", "Register an IP range, domain or ASN of an organisation", [this] {
      int usage = kExitUsage;
      auto target = Target(usage);
      if (!target) return usage;
      auto early = OpenOrPrint();
      if (!early) return kExitError;
      auto added = early->Register({.org_id = org_, .kind = target->first, .value = target->second},
                                   by_.empty() ? CliUser() : by_);
      if (!added) {
        PrintError(added.error());
        return kExitError;
      }
      if (json_) {
        std::printf("%s\n", RegistrationJson(*added).c_str());
      } else {
        std::printf("registered %s %s for %s (id %lld)\n", std::string(share::RegistrationKindName(added->kind)).c_str(),
                    added->value.c_str(), added->org_id.c_str(), static_cast<long long>(added->id));
      }
      return kExitOk;
    });
    reg->add_option("--org", org_, "Organisation id")->required();
    reg->add_option("--by", by_, "Who registers it (default cli:<user>)");
    AddTargetOptions(reg);

    CLI::App* unreg = Command(ew, "unregister", "Remove a registration (by --id, or --org with the value)", [this] {
      auto early = OpenOrPrint();
      if (!early) return kExitError;
      Result<uint64_t> removed = 0;
      if (id_ > 0) {
        if (!org_.empty() || !ip_.empty() || !domain_.empty() || !asn_.empty()) {
          return UsageError("--id", "give either --id or --org with --ip|--domain|--asn");
        }
        removed = early->Unregister(id_);
      } else {
        if (org_.empty()) return UsageError("--org", "required without --id");
        int usage = kExitUsage;
        auto target = Target(usage);
        if (!target) return usage;
        removed = early->Unregister(org_, target->first, target->second);
      }
      if (!removed) {
        PrintError(removed.error());
        return kExitError;
      }
      if (*removed == 0) {
        std::fprintf(stderr, "aegis: error: no such registration\n");
        return kExitError;
      }
      if (json_) {
        std::printf("{\"removed\":%llu}\n", static_cast<unsigned long long>(*removed));
      } else {
        std::printf("removed %llu registration(s)\n", static_cast<unsigned long long>(*removed));
      }
      return kExitOk;
    });
    unreg->add_option("--id", id_, "Registration id (see aegis ew list)");
    unreg->add_option("--org", org_, "Organisation id");
    AddTargetOptions(unreg);

    CLI::App* list = Command(ew, "list", "List registrations", [this] {
      auto early = OpenOrPrint();
      if (!early) return kExitError;
      auto regs = early->ListRegistrations(org_);
      if (!regs) {
        PrintError(regs.error());
        return kExitError;
      }
      if (json_) {
        std::vector<std::string> items;
        for (const auto& r : *regs) items.push_back(RegistrationJson(r));
        std::printf("%s\n", JsonArray(items).c_str());
        return kExitOk;
      }
      Table table({"ID", "ORG", "KIND", "VALUE", "CREATED", "BY"});
      for (const auto& r : *regs) {
        table.Row({std::to_string(r.id), r.org_id, std::string(share::RegistrationKindName(r.kind)), r.value,
                   TimeOrDash(r.created_ns), r.created_by});
      }
      table.Print(stdout);
      return kExitOk;
    });
    list->add_option("--org", org_, "Only this organisation");
  }

  void RegisterNotifications(CLI::App* ew) {
    CLI::App* list = Command(ew, "notifications", "List Early Warning notifications, newest first", [this] {
      share::NotificationQuery query;
      query.org_id = org_;
      query.unacked_only = unacked_;
      query.limit = limit_;
      if (!since_.empty()) {
        auto since = ParseSince(since_);
        if (!since) return UsageError("--since", "expected RFC 3339 time or a duration like 24h, 7d");
        query.since_ns = *since;
      }
      auto early = OpenOrPrint();
      if (!early) return kExitError;
      auto items = early->ListNotifications(query);
      if (!items) {
        PrintError(items.error());
        return kExitError;
      }
      if (json_) {
        std::vector<std::string> out;
        for (const auto& n : *items) out.push_back(share::NotificationJson(n));
        std::printf("%s\n", JsonArray(out).c_str());
        return kExitOk;
      }
      Table table({"ID", "ORG", "CREATED", "KIND", "GRADE", "TLP", "COUNT", "MATCHED", "OBSERVED", "ACK", "SUMMARY"});
      for (const auto& n : *items) {
        table.Row({std::to_string(n.id), n.org_id, TimeOrDash(n.created_ns),
                   std::string(share::NotificationKindName(n.kind)), n.grade.Code(), std::string(TlpName(n.tlp)),
                   std::to_string(n.count), n.registration, n.observed, n.acked_ns ? "yes" : "no", n.summary});
      }
      table.Print(stdout);
      return kExitOk;
    });
    list->add_option("--org", org_, "Only this organisation");
    list->add_option("--since", since_, "Created at or after: RFC 3339 time, or 24h, 7d, 90m ago");
    list->add_flag("--unacked", unacked_, "Only notifications not acknowledged yet");
    list->add_option("--limit", limit_, "At most this many (default 1000)");

    CLI::App* ack = Command(ew, "ack", "Acknowledge a notification", [this] {
      auto early = OpenOrPrint();
      if (!early) return kExitError;
      auto done = early->Ack(id_, by_.empty() ? CliUser() : by_, org_);
      if (!done) {
        PrintError(done.error());
        return kExitError;
      }
      if (!*done) {
        std::fprintf(stderr, "aegis: error: notification %lld not found%s, or already acknowledged\n",
                     static_cast<long long>(id_), org_.empty() ? "" : (" for " + org_).c_str());
        return kExitError;
      }
      if (json_) {
        std::printf("{\"acked\":%lld}\n", static_cast<long long>(id_));
      } else {
        std::printf("acknowledged notification %lld\n", static_cast<long long>(id_));
      }
      return kExitOk;
    });
    ack->add_option("id", id_, "Notification id")->required();
    ack->add_option("--org", org_, "Only if it belongs to this organisation");
    ack->add_option("--by", by_, "Who acknowledges (default cli:<user>)");
  }

  void RegisterChannels(CLI::App* ew) {
    CLI::App* channel = Command(
        ew, "channel", "Add (--webhook/--email), remove (--remove ID) or list an organisation's channels", [this] {
          auto early = OpenOrPrint();
          if (!early) return kExitError;
          if (remove_id_ > 0) {
            auto removed = early->RemoveChannel(remove_id_);
            if (!removed) {
              PrintError(removed.error());
              return kExitError;
            }
            if (*removed == 0) {
              std::fprintf(stderr, "aegis: error: no channel %lld\n", static_cast<long long>(remove_id_));
              return kExitError;
            }
            std::printf(json_ ? "{\"removed\":%lld}\n" : "removed channel %lld\n",
                        static_cast<long long>(remove_id_));
            return kExitOk;
          }
          if (!webhook_.empty() || !email_.empty()) {
            if (org_.empty()) return UsageError("--org", "required to add a channel");
            if (!webhook_.empty() && !email_.empty()) return UsageError("--webhook|--email", "give one of them");
            share::Channel c;
            c.org_id = org_;
            c.kind = webhook_.empty() ? share::ChannelKind::kEmail : share::ChannelKind::kWebhook;
            c.target = webhook_.empty() ? email_ : webhook_;
            c.secret = secret_;
            auto added = early->AddChannel(c);
            if (!added) {
              PrintError(added.error());
              return kExitError;
            }
            if (json_) {
              std::printf("%s\n", ChannelJson(*added).c_str());
            } else {
              std::printf("added %s channel %s for %s (id %lld%s)\n",
                          std::string(share::ChannelKindName(added->kind)).c_str(), added->target.c_str(),
                          added->org_id.c_str(), static_cast<long long>(added->id),
                          added->secret.empty() ? "" : ", signed");
            }
            return kExitOk;
          }
          auto channels = early->ListChannels(org_);
          if (!channels) {
            PrintError(channels.error());
            return kExitError;
          }
          if (json_) {
            std::vector<std::string> items;
            for (const auto& c : *channels) items.push_back(ChannelJson(c));
            std::printf("%s\n", JsonArray(items).c_str());
            return kExitOk;
          }
          Table table({"ID", "ORG", "KIND", "TARGET", "SIGNED", "CREATED"});
          for (const auto& c : *channels) {
            table.Row({std::to_string(c.id), c.org_id, std::string(share::ChannelKindName(c.kind)), c.target,
                       c.secret.empty() ? "no" : "yes", TimeOrDash(c.created_ns)});
          }
          table.Print(stdout);
          return kExitOk;
        });
    channel->add_option("--org", org_, "Organisation id");
    channel->add_option("--webhook", webhook_, "Add a webhook: HTTP(S) URL that receives a JSON POST");
    channel->add_option("--secret", secret_, "Webhook HMAC-SHA256 key (X-Aegis-Signature: sha256=<hex>)");
    channel->add_option("--email", email_, "Add an e-mail address");
    channel->add_option("--remove", remove_id_, "Remove the channel with this id");
  }

  void RegisterSettings(CLI::App* ew) {
    CLI::App* settings = Command(ew, "settings", "Show or change SMTP, de-duplication and reliability settings", [this] {
      auto early = OpenOrPrint();
      if (!early) return kExitError;
      auto current = early->GetSettings();
      if (!current) {
        PrintError(current.error());
        return kExitError;
      }
      share::Settings s = *current;
      bool changed = false;
      if (!smtp_url_.empty()) {
        if (!smtp_url_.starts_with("smtp://") && !smtp_url_.starts_with("smtps://")) {
          return UsageError("--smtp-url", "must start with smtp:// or smtps://");
        }
        s.smtp_url = smtp_url_;
        changed = true;
      }
      if (!smtp_from_.empty()) s.smtp_from = smtp_from_, changed = true;
      if (!smtp_user_.empty()) s.smtp_user = smtp_user_, changed = true;
      if (!smtp_password_.empty()) s.smtp_password = smtp_password_, changed = true;
      if (window_hours_ >= 0) {
        s.dedup_window_ns = static_cast<int64_t>(window_hours_ * 3600.0 * 1e9);
        changed = true;
      }
      for (const std::string& item : reliability_) {
        size_t eq = item.find('=');
        if (eq == std::string::npos || eq + 2 != item.size()) {
          return UsageError("--reliability", "expected SOURCE=GRADE, e.g. feed:maltrail=C or org:ncsc=A");
        }
        std::string source = item.substr(0, eq);
        char grade = item[eq + 1];
        if (grade == '-') {
          s.reliability.erase(source);
        } else {
          if (grade >= 'a' && grade <= 'f') grade = static_cast<char>(grade - 'a' + 'A');
          if (grade < 'A' || grade > 'F') return UsageError("--reliability", "grade must be a letter A-F, or '-'");
          s.reliability[source] = grade;
        }
        changed = true;
      }
      if (changed) {
        if (auto ok = early->PutSettings(s); !ok) {
          PrintError(ok.error());
          return kExitError;
        }
      }
      if (json_) {
        std::string rel = "{";
        for (const auto& [source, grade] : s.reliability) {
          if (rel.size() > 1) rel += ',';
          AppendJsonString(rel, source);
          rel += ':';
          AppendJsonString(rel, std::string(1, grade));
        }
        rel += '}';
        JsonObject j;
        j.Str("smtp_url", s.smtp_url).Str("smtp_from", s.smtp_from).Str("smtp_user", s.smtp_user);
        j.Bool("smtp_password_set", !s.smtp_password.empty());
        j.Float("dedup_window_hours", static_cast<double>(s.dedup_window_ns) / 3600e9).Raw("reliability", rel);
        std::printf("%s\n", j.Close().c_str());
        return kExitOk;
      }
      std::printf("smtp url:          %s\n", s.smtp_url.empty() ? "(none: no e-mail delivery)" : s.smtp_url.c_str());
      std::printf("smtp from:         %s\n", s.smtp_from.c_str());
      std::printf("smtp user:         %s\n", s.smtp_user.empty() ? "-" : s.smtp_user.c_str());
      std::printf("dedup window:      %s h\n", Fixed(static_cast<double>(s.dedup_window_ns) / 3600e9, 2).c_str());
      for (const auto& [source, grade] : s.reliability) {
        std::printf("reliability:       %s = %c\n", source.c_str(), grade);
      }
      return kExitOk;
    });
    settings->add_option("--smtp-url", smtp_url_, "SMTP server: smtp://host:port or smtps://host:port");
    settings->add_option("--smtp-from", smtp_from_, "Sender address of notification e-mails");
    settings->add_option("--smtp-user", smtp_user_, "SMTP user (AUTH)");
    settings->add_option("--smtp-password", smtp_password_, "SMTP password (AUTH)");
    settings->add_option("--dedup-window-hours", window_hours_, "De-duplication window in hours (default 24)");
    settings->add_option("--reliability", reliability_,
                         "SOURCE=GRADE (A-F; '-' removes), SOURCE is org:<id> or feed:<name prefix>");
  }

  void RegisterCheck(CLI::App* ew) {
    CLI::App* check = Command(ew, "check", "Dry run: the notifications a STIX bundle would raise", [this] {
      std::ifstream in(bundle_path_, std::ios::binary);
      if (!in) {
        std::fprintf(stderr, "aegis: error: %s: cannot open\n", bundle_path_.c_str());
        return kExitError;
      }
      std::stringstream buffer;
      buffer << in.rdbuf();
      auto bundle = intel::stix::ValidateBundle(buffer.str());
      if (!bundle) {
        Error e = bundle.error();
        if (e.where.empty()) e.where = bundle_path_;
        PrintError(e);
        return kExitError;
      }
      for (const Error& e : bundle->rejected) {
        std::fprintf(stderr, "aegis: warning: %s: %s\n", bundle_path_.c_str(), e.ToString().c_str());
      }
      // Organisations (types and TLP defaults) when the accounts tables exist.
      std::unique_ptr<auth::Accounts> accounts;
      if (auto opened = auth::Accounts::Open(db_)) accounts = std::move(*opened);
      auto org = [&](std::string_view id) -> std::optional<auth::Organisation> {
        if (!accounts) return std::nullopt;
        auto found = accounts->GetOrg(id);
        return found ? *found : std::nullopt;
      };
      std::optional<Tlp> producer_default;
      std::vector<std::string> producer_shares;
      if (auto p = org(producer_)) {
        producer_default = p->default_tlp;
        producer_shares = p->amber_share_with;
      }
      if (!default_tlp_.empty()) {
        producer_default = ParseTlp(default_tlp_);
        if (!producer_default) return UsageError("--tlp", "expected clear, green, amber, amber+strict or red");
      }
      std::vector<intel::StoredObject> stored;
      for (const auto& object : bundle->objects) {
        intel::StoredObject s;
        s.meta.id = object.id;
        s.meta.type = object.type;
        s.meta.version = object.version;
        s.meta.producer_org = producer_;
        s.meta.markings = object.object_marking_refs;
        auth::SharedObject shared{.id = object.id, .producer_org = producer_, .markings = object.object_marking_refs,
                                  .producer_default = producer_default, .amber_share_with = producer_shares};
        s.meta.tlp = auth::ResolveTlp(shared).tlp;
        s.json = object.json;
        stored.push_back(std::move(s));
      }
      share::Options options;
      options.org_type = [&](std::string_view id) -> std::optional<auth::OrgType> {
        auto o = org(id);
        if (!o) return std::nullopt;
        return o->type;
      };
      options.may_read = [&](const std::string& reader_org, const intel::ObjectMeta& meta) {
        auth::Reader reader{.org_id = reader_org};
        if (auto o = org(reader_org)) reader.org_type = o->type;
        auth::SharedObject shared{.id = meta.id, .producer_org = meta.producer_org, .markings = meta.markings,
                                  .producer_default = producer_default, .amber_share_with = producer_shares};
        return auth::Decide(reader, shared, auth::ReadPath::kRest).allowed;
      };
      auto early = OpenOrPrint(std::move(options));
      if (!early) return kExitError;
      share::IngestStats stats;
      auto found = early->Check(stored, &stats);
      if (!found) {
        PrintError(found.error());
        return kExitError;
      }
      std::vector<share::Notification> shown;
      for (auto& n : *found) {
        if (org_.empty() || n.org_id == org_) shown.push_back(std::move(n));
      }
      if (json_) {
        std::vector<std::string> items;
        for (const auto& n : shown) items.push_back(share::NotificationJson(n));
        std::printf("%s\n", JsonArray(items).c_str());
        return kExitOk;
      }
      if (stats.denied_tlp > 0) {
        std::fprintf(stderr, "aegis: note: %llu match(es) withheld by TLP (unmarked objects count as the "
                     "producer's default, else TLP:AMBER; see --producer and --tlp)\n",
                     static_cast<unsigned long long>(stats.denied_tlp));
      }
      if (stats.suppressed_bogon > 0) {
        std::fprintf(stderr, "aegis: note: %llu private, reserved or bogon value(s) ignored\n",
                     static_cast<unsigned long long>(stats.suppressed_bogon));
      }
      if (shown.empty()) {
        std::printf("no notifications: %zu object(s) mention no registration%s\n", stored.size(),
                    org_.empty() ? "" : (" of " + org_).c_str());
        return kExitOk;
      }
      Table table({"ORG", "KIND", "OBJECT", "GRADE", "TLP", "MATCHED", "OBSERVED", "FOUND IN"});
      for (const auto& n : shown) {
        table.Row({n.org_id, std::string(share::NotificationKindName(n.kind)), n.object_id, n.grade.Code(),
                   std::string(TlpName(n.tlp)), n.registration, n.observed, n.context});
      }
      table.Print(stdout);
      std::printf("%zu notification(s) would be raised\n", shown.size());
      return kExitOk;
    });
    check->add_option("bundle", bundle_path_, "STIX 2.1 bundle (JSON file)")->required();
    check->add_option("--org", org_, "Only this organisation's notifications");
    check->add_option("--producer", producer_, "Organisation that would publish the bundle (grading, TLP)");
    check->add_option("--tlp", default_tlp_, "TLP of unmarked objects (default: the producer's, else amber)");
  }

  std::vector<std::pair<CLI::App*, std::function<int()>>> commands_;
  std::string db_;
  bool json_ = false;
  std::string org_, ip_, domain_, asn_, by_, since_, webhook_, secret_, email_, bundle_path_;
  std::string producer_ = "cli";
  std::string default_tlp_;
  std::string smtp_url_, smtp_from_, smtp_user_, smtp_password_;
  double window_hours_ = -1;
  std::vector<std::string> reliability_;
  int64_t id_ = 0, remove_id_ = 0;
  bool unacked_ = false;
  size_t limit_ = 1000;
};

}  // namespace

std::unique_ptr<CommandGroup> MakeEarlyWarningCommands() { return std::make_unique<EarlyWarningCommands>(); }

}  // namespace aegis::cli
