// `aegis stix import|export|collections`: move STIX 2.1 bundles in and out of the
// hub's store and manage its TAXII collections from the command line
// (cli::MakeStixCommands, cli/command_group.h; docs/STIX.md "Store").
//
//   aegis stix collections create --alias national --title "National indicators"
//   aegis stix import feed1.json feed2.json --collection national --org ncc
//   aegis stix export --collection national --as-org rxa-trust > bundle.json
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "auth/accounts.h"
#include "cli/command_group.h"
#include "cli/output.h"
#include "core/strings.h"
#include "hub/context.h"
#include "intel/stix_object.h"
#include "intel/stix_store.h"

namespace aegis::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;  // something was refused or failed
constexpr int kExitUsage = 2;

constexpr size_t kImportChunk = 5000;  // objects per store transaction
constexpr size_t kShownProblems = 20;

void PrintError(const Error& e) {
  std::fprintf(stderr, "aegis: error: %s\n", e.ToString().c_str());
}

std::string JsonString(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

std::string JsonList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    AppendJsonString(out, items[i]);
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

std::string CollectionJson(const intel::Collection& c) {
  return "{\"id\":" + JsonString(c.id) + ",\"alias\":" + JsonString(c.alias) +
         ",\"title\":" + JsonString(c.title) + ",\"description\":" + JsonString(c.description) +
         ",\"readers\":" + JsonList(c.access.readers) +
         ",\"writers\":" + JsonList(c.access.writers) +
         ",\"media_types\":" + JsonList(c.media_types) +
         ",\"created_at\":" + JsonString(c.created_at) + "}";
}

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return text.str();
}

class StixCommands final : public CommandGroup {
 public:
  void Register(CLI::App& app) override {
    CLI::App* stix = app.add_subcommand("stix", "STIX 2.1 store: import, export, collections");
    stix->require_subcommand(1);
    RegisterImport(stix);
    RegisterExport(stix);
    RegisterCollections(stix);
  }

  std::optional<int> RunParsed() override {
    for (auto& [cmd, run] : commands_) {
      if (cmd->parsed()) return run();
    }
    return std::nullopt;
  }

 private:
  CLI::App* Command(CLI::App* parent, std::string name, std::string description,
                    std::function<int()> run) {
    CLI::App* cmd = parent->add_subcommand(std::move(name), std::move(description));
    AddDatabaseOption(cmd, db_);
    commands_.emplace_back(cmd, std::move(run));
    return cmd;
  }

  std::unique_ptr<intel::StixStore> OpenStore() {
    auto store = intel::StixStore::Open(db_);
    if (!store) {
      PrintError(store.error());
      return nullptr;
    }
    return std::move(*store);
  }

  std::unique_ptr<auth::Accounts> OpenAccounts() {
    auto accounts = auth::Accounts::Open(db_);
    if (!accounts) {
      PrintError(accounts.error());
      return nullptr;
    }
    return std::move(*accounts);
  }

  // The collection named by --collection (id or alias), or an error printed.
  std::optional<intel::Collection> FindCollection(intel::StixStore& store) {
    auto found = store.GetCollection(collection_);
    if (!found) {
      PrintError(found.error());
      return std::nullopt;
    }
    if (!*found) {
      std::fprintf(stderr,
                   "aegis: error: --collection: no collection '%s' (see `aegis stix collections "
                   "list`, or create it with `aegis stix collections create`)\n",
                   collection_.c_str());
      return std::nullopt;
    }
    return **found;
  }

  // aegis stix import BUNDLE... --collection X --org ORG
  void RegisterImport(CLI::App* stix) {
    CLI::App* cmd = Command(stix, "import",
                            "Validate STIX 2.1 bundles (or single objects) and add their objects",
                            [this] { return RunImport(); });
    cmd->add_option("bundles", import_files_, "Bundle files (JSON)")->required();
    cmd->add_option("--collection", collection_, "Collection id or alias")->required();
    cmd->add_option("--org", org_, "Producing organisation (its TLP sharing applies)")->required();
    cmd->add_flag("--json", json_, "One JSON summary line per file");
  }

  int RunImport() {
    auto accounts = OpenAccounts();
    if (!accounts) return kExitError;
    auto org = accounts->GetOrg(org_);
    if (!org) {
      PrintError(org.error());
      return kExitError;
    }
    if (!*org) {
      std::fprintf(stderr,
                   "aegis: error: --org: no organisation '%s' (create it with `aegis org "
                   "create`)\n",
                   org_.c_str());
      return kExitUsage;
    }
    auto store = OpenStore();
    if (!store) return kExitError;
    auto collection = FindCollection(*store);
    if (!collection) return kExitUsage;
    int exit_code = kExitOk;
    for (const std::string& file : import_files_) {
      auto text = ReadFile(file);
      if (!text) {
        std::fprintf(stderr, "aegis: error: %s: cannot read the file\n", file.c_str());
        exit_code = kExitError;
        continue;
      }
      auto bundle = intel::stix::ValidateBundle(*text);
      if (!bundle && bundle.error().field == "type") {
        // Not a bundle: a file holding one STIX object is accepted too.
        auto single = intel::stix::ValidateObject(*text);
        if (single) {
          bundle = intel::stix::BundleResult{};
          bundle->objects.push_back(std::move(*single));
        } else {
          Error e = single.error();
          e.reason = "not a bundle, and not a valid single object: " + e.reason;
          bundle = std::unexpected(std::move(e));
        }
      }
      if (!bundle) {
        Error e = bundle.error();
        e.where = file + (e.where.empty() ? "" : ": " + e.where);
        PrintError(e);
        exit_code = kExitError;
        continue;
      }
      uint64_t added = 0, duplicates = 0, failed = 0;
      size_t shown = 0;
      for (const Error& rejected : bundle->rejected) {
        if (shown++ < kShownProblems) {
          std::fprintf(stderr, "aegis: rejected: %s: %s\n", file.c_str(),
                       rejected.ToString().c_str());
        }
      }
      const std::span<const intel::stix::StixObject> all(bundle->objects);
      for (size_t at = 0; at < all.size(); at += kImportChunk) {
        auto result = store->AddObjects({.collection_id = collection->id, .producer_org = org_},
                                        all.subspan(at, std::min(kImportChunk, all.size() - at)));
        if (!result) {
          PrintError(result.error());
          return kExitError;
        }
        added += result->added;
        duplicates += result->duplicates;
        failed += result->failed;
        for (const auto& outcome : result->outcomes) {
          if (outcome.kind == intel::AddOutcome::Kind::kFailed && shown++ < kShownProblems) {
            std::fprintf(stderr, "aegis: failed: %s: %s %s: %s\n", file.c_str(), outcome.id.c_str(),
                         outcome.version.c_str(), outcome.message.c_str());
          }
        }
      }
      if (shown > kShownProblems) {
        std::fprintf(stderr, "aegis: ... %zu more problems in %s\n", shown - kShownProblems,
                     file.c_str());
      }
      if (!bundle->rejected.empty() || failed > 0) exit_code = kExitError;
      if (json_) {
        JsonObject o;
        o.Str("file", file).Str("collection", collection->id).Str("org", org_);
        o.Num("objects", bundle->objects.size() + bundle->rejected.size());
        o.Num("added", added).Num("duplicates", duplicates).Num("failed", failed);
        o.Num("rejected", bundle->rejected.size());
        std::printf("%s\n", o.Close().c_str());
      } else {
        std::printf("%s: %s added, %s duplicates, %s failed, %s rejected (collection %s)\n",
                    file.c_str(), Thousands(added).c_str(), Thousands(duplicates).c_str(),
                    Thousands(failed).c_str(), Thousands(bundle->rejected.size()).c_str(),
                    collection->alias.empty() ? collection->id.c_str() : collection->alias.c_str());
      }
    }
    return exit_code;
  }

  // aegis stix export --collection X [--type T]... [--as-org ORG] [--all-versions]
  void RegisterExport(CLI::App* stix) {
    CLI::App* cmd =
        Command(stix, "export", "Write a collection's objects as one STIX 2.1 bundle on stdout",
                [this] { return RunExport(); });
    cmd->add_option("--collection", collection_, "Collection id or alias")->required();
    cmd->add_option("--type", export_types_, "Only objects of this type (repeatable)")
        ->expected(1)
        ->allow_extra_args(false);
    cmd->add_option("--as-org", as_org_,
                    "Export only what this organisation may receive (TLP policy, export path)");
    cmd->add_flag("--all-versions", all_versions_, "Every stored version, not only the latest");
    cmd->add_option("--output,-o", output_, "Write to this file instead of stdout");
  }

  int RunExport() {
    auto store = OpenStore();
    if (!store) return kExitError;
    auto collection = FindCollection(*store);
    if (!collection) return kExitUsage;
    intel::ObjectQuery query{
        .collection_id = collection->id,
        .types = export_types_,
        .versions = all_versions_ ? intel::VersionMatch::kAll : intel::VersionMatch::kLast,
        .limit = 5000};
    std::unique_ptr<auth::Accounts> accounts;
    std::optional<hub::HubContext> context;
    std::optional<hub::VisibilityCheck> check;
    if (!as_org_.empty()) {
      accounts = OpenAccounts();
      if (!accounts) return kExitError;
      auto org = accounts->GetOrg(as_org_);
      if (!org) {
        PrintError(org.error());
        return kExitError;
      }
      if (!*org) {
        std::fprintf(stderr, "aegis: error: --as-org: no organisation '%s'\n", as_org_.c_str());
        return kExitUsage;
      }
      context.emplace();
      context->accounts = accounts.get();
      context->stix = store.get();
      check.emplace(*context, auth::Reader{.org_id = (*org)->id, .org_type = (*org)->type},
                    auth::ReadPath::kExport);
      query.visible = check->AsPredicate();
    }
    auto bundle = store->ExportBundle(query);
    if (!bundle) {
      PrintError(bundle.error());
      return kExitError;
    }
    if (output_.empty()) {
      std::fwrite(bundle->data(), 1, bundle->size(), stdout);
    } else {
      std::ofstream out(output_, std::ios::binary | std::ios::trunc);
      out << *bundle;
      if (!out) {
        std::fprintf(stderr, "aegis: error: %s: cannot write the bundle\n", output_.c_str());
        return kExitError;
      }
    }
    if (check && check->denied() > 0) {
      std::fprintf(stderr, "aegis: %llu objects withheld from '%s' by the TLP policy\n",
                   static_cast<unsigned long long>(check->denied()), as_org_.c_str());
    }
    return kExitOk;
  }

  // aegis stix collections list|create
  void RegisterCollections(CLI::App* stix) {
    CLI::App* collections = stix->add_subcommand("collections", "TAXII collections of the hub");
    collections->require_subcommand(1);
    CLI::App* list = Command(collections, "list", "List collections", [this] {
      auto store = OpenStore();
      if (!store) return kExitError;
      auto all = store->ListCollections();
      if (!all) {
        PrintError(all.error());
        return kExitError;
      }
      if (json_) {
        std::string out = "[";
        for (size_t i = 0; i < all->size(); ++i) out += (i ? "," : "") + CollectionJson((*all)[i]);
        std::printf("%s]\n", out.c_str());
        return kExitOk;
      }
      Table table({"ID", "ALIAS", "TITLE", "OBJECTS", "READERS", "WRITERS"});
      for (const auto& c : *all) {
        auto count = store->CountObjects(c.id);
        table.Row({c.id, c.alias.empty() ? "-" : c.alias, c.title, count ? Thousands(*count) : "?",
                   Join(c.access.readers),
                   c.access.writers.empty() ? "-" : Join(c.access.writers)});
      }
      table.Print(stdout);
      return kExitOk;
    });
    list->add_flag("--json", json_, "JSON array");

    CLI::App* create = Command(collections, "create", "Create a collection", [this] {
      auto store = OpenStore();
      if (!store) return kExitError;
      intel::Collection c{
          .id = new_.id, .alias = new_.alias, .title = new_.title, .description = new_.description};
      if (!readers_.empty()) c.access.readers = readers_;
      c.access.writers = writers_;
      auto created = store->CreateCollection(std::move(c));
      if (!created) {
        PrintError(created.error());
        return kExitUsage;
      }
      if (json_) {
        std::printf("%s\n", CollectionJson(*created).c_str());
      } else {
        std::printf("created collection %s%s%s\n", created->id.c_str(),
                    created->alias.empty() ? "" : " alias ", created->alias.c_str());
      }
      return kExitOk;
    });
    create->add_option("--alias", new_.alias, "Short unique name (a-z 0-9 - _ .)");
    create->add_option("--title", new_.title, "Title (default: the alias)");
    create->add_option("--description", new_.description, "Description");
    create->add_option("--id", new_.id, "UUID (default: a new one)");
    create
        ->add_option("--readers", readers_,
                     "Who may read: org ids, '*' or type:<org type> (default '*')")
        ->delimiter(',');
    create->add_option("--writers", writers_, "Who may write (default: nobody but admins)")
        ->delimiter(',');
    create->add_flag("--json", json_, "Print the collection as JSON");
  }

  std::vector<std::pair<CLI::App*, std::function<int()>>> commands_;
  std::string db_;
  bool json_ = false;
  std::string collection_, org_, as_org_, output_;
  std::vector<std::string> import_files_, export_types_, readers_, writers_;
  bool all_versions_ = false;
  intel::Collection new_;
};

}  // namespace

std::unique_ptr<CommandGroup> MakeStixCommands() { return std::make_unique<StixCommands>(); }

}  // namespace aegis::cli
