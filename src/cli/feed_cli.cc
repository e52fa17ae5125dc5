// `aegis feed import|run|export|status`: one-shot and scheduled feed imports into the
// STIX store, and indicator exports as STIX, CSV or a MISP feed (intel/feeds.h,
// docs/FEEDS.md). cli::MakeFeedCommands, see cli/command_group.h.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "auth/accounts.h"
#include "cli/command_group.h"
#include "cli/output.h"
#include "core/event.h"
#include "core/strings.h"
#include "hub/context.h"
#include "intel/feeds.h"
#include "intel/stix_store.h"

namespace aegis::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

int PrintError(const Error& e) {
  std::fprintf(stderr, "aegis: error: %s\n", e.ToString().c_str());
  return kExitError;
}

int UsageError(std::string_view option, std::string_view why) {
  std::fprintf(stderr, "aegis: error: %.*s: %.*s\n", static_cast<int>(option.size()), option.data(),
               static_cast<int>(why.size()), why.data());
  return kExitUsage;
}

std::string BaseName(std::string_view source) {
  std::string s(source);
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  if (auto q = s.find('?'); q != std::string::npos) s.resize(q);
  size_t slash = s.find_last_of('/');
  std::string name = slash == std::string::npos ? s : s.substr(slash + 1);
  if (auto dot = name.find_last_of('.'); dot != std::string::npos && dot > 0) name.resize(dot);
  std::string clean;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    clean.push_back(ok ? c : '-');
  }
  return clean.empty() ? std::string("feed") : clean;
}

void PrintReport(const intel::FeedRunReport& r, bool json, size_t max_rejects = 20) {
  if (json) {
    std::printf("%s\n", intel::FeedRunReportJson(r).c_str());
    return;
  }
  std::printf(
      "feed %s: %s — %s imported, %s duplicates, %s rejected, %s not loaded, %s failed (%s "
      "documents)\n",
      r.feed.c_str(), r.status.c_str(), Thousands(r.imported).c_str(),
      Thousands(r.duplicates).c_str(), Thousands(r.rejected).c_str(),
      Thousands(r.not_loaded).c_str(), Thousands(r.failed).c_str(), Thousands(r.documents).c_str());
  for (size_t i = 0; i < r.rejects.size() && i < max_rejects; ++i) {
    const intel::Reject& reject = r.rejects[i];
    std::printf("  %s: %s '%s'\n", reject.where.c_str(), reject.reason.c_str(),
                reject.value.c_str());
  }
  if (r.rejects.size() > max_rejects) {
    std::printf("  ... %zu more (use --json for up to 1000)\n", r.rejects.size() - max_rejects);
  }
  for (const Error& e : r.errors) std::printf("  error: %s\n", e.ToString().c_str());
}

bool RunFailed(const intel::FeedRunReport& r) {
  return r.status == "failed" || r.status == "partial";
}

// Draws "Importing <feed>: 12,000/50,000 indicators" on stderr on a terminal.
class IndicatorProgress {
 public:
  IndicatorProgress(std::string feed, bool enabled) : feed_(std::move(feed)), enabled_(enabled) {}
  void Update(uint64_t done, uint64_t total) {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    if (drawn_ && now - last_ < std::chrono::milliseconds(100) && done != total) return;
    last_ = now;
    drawn_ = true;
    std::fprintf(stderr, "\rImporting %s: %s/%s indicators   ", feed_.c_str(),
                 Thousands(done).c_str(), Thousands(total).c_str());
    std::fflush(stderr);
  }
  void Finish() {
    if (drawn_) std::fprintf(stderr, "\n");
    drawn_ = false;
  }

 private:
  std::string feed_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_;
};

struct Opened {
  std::unique_ptr<intel::StixStore> store;
  std::unique_ptr<intel::FeedImporter> importer;
};

Result<Opened> OpenAll(const std::string& db) {
  Opened opened;
  if (std::filesystem::path parent = std::filesystem::path(db).parent_path(); !parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
  }
  auto store = intel::StixStore::Open(db);
  if (!store) return std::unexpected(store.error());
  opened.store = std::move(*store);
  auto importer = intel::FeedImporter::Open(db, opened.store.get());
  if (!importer) return std::unexpected(importer.error());
  opened.importer = std::move(*importer);
  return opened;
}

Result<std::vector<intel::FeedConfig>> LoadFeedsFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Error e;
    e.where = path;
    e.reason = "cannot read configuration file";
    return std::unexpected(e);
  }
  std::stringstream text;
  text << in.rdbuf();
  return intel::ParseFeedsToml(text.str(), path);
}

class FeedCommands : public CommandGroup {
 public:
  void Register(CLI::App& app) override {
    feed_ = app.add_subcommand("feed",
                               "Import indicator feeds into the STIX store and export indicators");
    feed_->require_subcommand(1);

    import_ = feed_->add_subcommand(
        "import", "Import one feed now (MISP folder/URL, CSV, plain list, STIX bundle)");
    import_->add_option("source", import_source_, "File, folder, file:// or http(s):// URL")
        ->required();
    import_->add_option("--format,-f", import_format_, "misp, csv, plain, hosts, stix or auto")
        ->default_str("auto");
    import_
        ->add_option("--collection,-c", import_collection_,
                     "Collection id or alias (created when missing)")
        ->default_str("indicators");
    import_->add_option("--org", import_org_,
                        "Producing organisation (its STIX identity becomes created_by_ref)");
    import_->add_option("--name", import_name_,
                        "Feed name, part of every indicator id (default: source name)");
    import_->add_option("--tlp", import_tlp_,
                        "TLP for indicators the feed does not mark (default clear)");
    import_
        ->add_option("--confidence", import_confidence_, "Confidence 0-100 for unrated indicators")
        ->check(CLI::Range(0, 100));
    import_->add_option("--label", import_labels_, "Label added to every indicator (repeatable)");
    import_->add_option("--value-column", csv_value_,
                        "CSV: column with the value (name or 0-based index)");
    import_->add_option("--type-column", csv_type_, "CSV: column with the indicator type");
    import_->add_option("--delimiter", csv_delimiter_,
                        "CSV: field delimiter (default ',', \"tab\")");
    import_->add_flag("--no-header", csv_no_header_, "CSV: the first row is data");
    import_->add_flag("--allow-private", allow_private_, "Accept private and bogon addresses");
    import_->add_flag("--all-attributes", all_attributes_,
                      "MISP: import attributes with to_ids false too");
    import_->add_flag("--force", force_,
                      "Ignore remembered ETag/Last-Modified and content digests");
    import_->add_flag("--json", json_, "Machine-readable report");
    AddDatabaseOption(import_, import_db_);

    run_ =
        feed_->add_subcommand("run", "Run the [[feeds]] of a configuration file on their schedule");
    run_->add_option("--config", run_config_, "TOML file with [[feeds]] tables")->required();
    run_->add_flag("--once", run_once_, "Run every enabled feed once, then exit");
    run_->add_option("--feed", run_only_, "Only this feed (repeatable)");
    run_->add_flag("--force", run_force_, "With --once: ignore remembered validators");
    run_->add_flag("--json", run_json_, "One JSON report per line");
    AddDatabaseOption(run_, run_db_);

    export_ =
        feed_->add_subcommand("export", "Export stored indicators as STIX, CSV or a MISP feed");
    export_->add_option("--format,-f", export_format_, "stix, csv or misp")->required();
    export_->add_option("--out,-o", export_out_,
                        "Output file (stix, csv; default stdout) or folder (misp)");
    export_->add_option("--collection,-c", export_collections_,
                        "Collection id or alias (repeatable; default all)");
    export_->add_option("--as-org", export_as_org_,
                        "Export only what this organisation may receive (TLP, read path export)");
    export_->add_option("--info", export_info_, "MISP: event info")
        ->default_str("Aegis indicator export");
    export_->add_option("--org-name", export_org_name_, "MISP: Orgc name")->default_str("Aegis");
    export_->add_flag("--json", export_json_, "Machine-readable summary");
    AddDatabaseOption(export_, export_db_);

    status_ = feed_->add_subcommand("status", "Last run, status and counters of every feed");
    status_->add_flag("--json", status_json_, "Machine-readable output");
    AddDatabaseOption(status_, status_db_);
  }

  std::optional<int> RunParsed() override {
    if (feed_ == nullptr || !feed_->parsed()) return std::nullopt;
    if (import_->parsed()) return Import();
    if (run_->parsed()) return Run();
    if (export_->parsed()) return Export();
    if (status_->parsed()) return Status();
    return kExitUsage;
  }

 private:
  int Import() {
    intel::FeedConfig feed;
    feed.url = import_source_;
    auto format = intel::ParseFeedFormat(import_format_);
    if (!format || *format == intel::FeedFormat::kMaltrail) {
      return UsageError("--format", "unknown format '" + import_format_ +
                                        "' (misp, csv, plain, hosts, stix, auto)");
    }
    feed.format = *format;
    feed.name = import_name_.empty() ? BaseName(import_source_) : import_name_;
    feed.collection = import_collection_;
    if (!import_tlp_.empty()) {
      auto tlp = ParseTlp(import_tlp_);
      if (!tlp) return UsageError("--tlp", "unknown TLP '" + import_tlp_ + "'");
      feed.default_tlp = *tlp;
    }
    if (import_confidence_ >= 0) feed.confidence = import_confidence_;
    feed.labels = import_labels_;
    if (!csv_value_.empty()) feed.csv.value_column = csv_value_;
    feed.csv.type_column = csv_type_;
    if (!csv_delimiter_.empty()) {
      std::string d = csv_delimiter_ == "tab" || csv_delimiter_ == "\\t" ? "\t" : csv_delimiter_;
      if (d.size() != 1) return UsageError("--delimiter", "must be one character");
      feed.csv.delimiter = d[0];
    }
    feed.csv.has_header = !csv_no_header_;
    feed.allow_private = allow_private_;
    feed.misp_only_to_ids = !all_attributes_;
    if (auto valid = intel::ValidateFeedConfig(feed); !valid) {
      return UsageError(valid.error().field, valid.error().reason);
    }
    if (!import_org_.empty()) {
      auto org = ProducerIdentity(import_db_, import_org_);
      if (!org) return PrintError(org.error());
      feed.producer_org = import_org_;
      feed.producer_identity = *org;
    }
    auto opened = OpenAll(import_db_);
    if (!opened) return PrintError(opened.error());
    IndicatorProgress progress(feed.name, isatty(STDERR_FILENO) && !json_);
    intel::ImportControl control;
    control.force = force_;
    control.on_progress = [&](uint64_t done, uint64_t total) { progress.Update(done, total); };
    auto report = opened->importer->Run(feed, control);
    progress.Finish();
    if (!report) return PrintError(report.error());
    PrintReport(*report, json_);
    return RunFailed(*report) ? kExitError : kExitOk;
  }

  // The STIX identity of an organisation from the accounts tables.
  static Result<std::string> ProducerIdentity(const std::string& db, const std::string& org_id) {
    auto accounts = auth::Accounts::Open(db);
    if (!accounts) return std::unexpected(accounts.error());
    auto org = (*accounts)->GetOrg(org_id);
    if (!org) return std::unexpected(org.error());
    if (!*org)
      return Fail("no organisation '" + org_id + "' (create it with `aegis org create`)", "org");
    return (*org)->stix_identity;
  }

  int Run() {
    auto feeds = LoadFeedsFile(run_config_);
    if (!feeds) return PrintError(feeds.error());
    if (!run_only_.empty()) {
      std::vector<intel::FeedConfig> chosen;
      for (const std::string& name : run_only_) {
        auto it = std::find_if(feeds->begin(), feeds->end(),
                               [&](const auto& f) { return f.name == name; });
        if (it == feeds->end())
          return UsageError("--feed", "no feed named '" + name + "' in " + run_config_);
        chosen.push_back(*it);
        chosen.back().enabled = true;
      }
      *feeds = std::move(chosen);
    }
    if (feeds->empty()) {
      std::fprintf(stderr, "aegis: no [[feeds]] in %s\n", run_config_.c_str());
      return kExitOk;
    }
    auto opened = OpenAll(run_db_);
    if (!opened) return PrintError(opened.error());
    if (run_once_) {
      bool failed = false;
      for (const intel::FeedConfig& feed : *feeds) {
        if (!feed.enabled) continue;
        IndicatorProgress progress(feed.name, isatty(STDERR_FILENO) && !run_json_);
        intel::ImportControl control;
        control.force = run_force_;
        control.on_progress = [&](uint64_t done, uint64_t total) { progress.Update(done, total); };
        auto report = opened->importer->Run(feed, control);
        progress.Finish();
        if (!report) {
          intel::FeedRunReport failure;
          failure.feed = feed.name;
          failure.status = "failed";
          failure.errors.push_back(report.error());
          report = std::move(failure);
        }
        PrintReport(*report, run_json_);
        failed = failed || RunFailed(*report);
      }
      return failed ? kExitError : kExitOk;
    }

    // Until SIGINT or SIGTERM: block them here (the scheduler thread inherits the
    // mask) and wait for one synchronously.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::mutex print_mutex;
    intel::FeedScheduler scheduler(std::move(opened->importer), *feeds);
    const bool json = run_json_;
    scheduler.SetRunHook([&print_mutex, json](const intel::FeedRunReport& report) {
      std::lock_guard lock(print_mutex);
      PrintReport(report, json, 5);
      std::fflush(stdout);
    });
    std::fprintf(stderr, "aegis: running %zu feed(s) from %s; Ctrl-C to stop\n", feeds->size(),
                 run_config_.c_str());
    scheduler.Start();
    int received = 0;
    sigwait(&signals, &received);
    std::fprintf(stderr, "aegis: stopping feeds (%s)\n", received == SIGINT ? "SIGINT" : "SIGTERM");
    scheduler.Stop();
    pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);
    return kExitOk;
  }

  int Export() {
    std::string format = AsciiLower(export_format_);
    if (format != "stix" && format != "csv" && format != "misp") {
      return UsageError("--format",
                        "unknown export format '" + export_format_ + "' (stix, csv, misp)");
    }
    if (format == "misp" && export_out_.empty())
      return UsageError("--out", "a MISP feed needs an output folder");
    auto store = intel::StixStore::Open(export_db_);
    if (!store) return PrintError(store.error());
    intel::ExportOptions options;
    options.collections = export_collections_;
    options.info = export_info_;
    options.org_name = export_org_name_;
    std::unique_ptr<auth::Accounts> accounts;
    std::unique_ptr<hub::HubContext> context;
    std::unique_ptr<hub::VisibilityCheck> check;
    if (!export_as_org_.empty()) {
      auto opened = auth::Accounts::Open(export_db_);
      if (!opened) return PrintError(opened.error());
      accounts = std::move(*opened);
      auto org = accounts->GetOrg(export_as_org_);
      if (!org) return PrintError(org.error());
      if (!*org) return UsageError("--as-org", "no organisation '" + export_as_org_ + "'");
      context = std::make_unique<hub::HubContext>();
      context->accounts = accounts.get();
      context->stix = store->get();
      auth::Reader reader{.org_id = (*org)->id, .org_type = (*org)->type, .member = true};
      check = std::make_unique<hub::VisibilityCheck>(*context, reader, auth::ReadPath::kExport);
      options.visible = check->AsPredicate();
    }
    Result<intel::ExportReport> report;
    if (format == "misp") {
      report = intel::ExportMispFeed(**store, options, export_out_);
    } else {
      std::ofstream file;
      std::ostream* out = &std::cout;
      if (!export_out_.empty()) {
        file.open(export_out_, std::ios::binary | std::ios::trunc);
        if (!file)
          return PrintError(Error{.where = export_out_, .reason = "cannot write the output file"});
        out = &file;
      }
      report = format == "stix" ? intel::ExportStixBundle(**store, options, *out)
                                : intel::ExportCsv(**store, options, *out);
      out->flush();
    }
    if (!report) return PrintError(report.error());
    // The summary goes to stdout only when the export itself went to a file.
    std::FILE* summary = export_out_.empty() ? stderr : stdout;
    if (export_json_) {
      JsonObject j;
      j.Str("format", format).Str("out", export_out_.empty() ? "-" : export_out_);
      j.Num("indicators", report->indicators)
          .Num("rows", report->rows)
          .Num("skipped", report->skipped);
      if (check) j.Num("hidden", check->denied());
      if (!report->event_uuid.empty()) j.Str("event_uuid", report->event_uuid);
      std::fprintf(summary, "%s\n", j.Close().c_str());
    } else if (!export_out_.empty() || isatty(STDERR_FILENO)) {
      std::fprintf(summary, "exported %s indicators (%s rows, %s without a %s form)%s%s\n",
                   Thousands(report->indicators).c_str(), Thousands(report->rows).c_str(),
                   Thousands(report->skipped).c_str(), format.c_str(),
                   check ? (", " + Thousands(check->denied()) + " hidden by TLP").c_str() : "",
                   export_out_.empty() ? "" : (" to " + export_out_).c_str());
    }
    return kExitOk;
  }

  int Status() {
    auto opened = OpenAll(status_db_);
    if (!opened) return PrintError(opened.error());
    auto states = opened->importer->States();
    if (!states) return PrintError(states.error());
    if (status_json_) {
      std::string out = "[";
      for (size_t i = 0; i < states->size(); ++i) {
        const intel::FeedState& s = (*states)[i];
        JsonObject j;
        j.Str("name", s.name).Str("last_run", s.last_run_ns ? FormatTime(s.last_run_ns) : "");
        j.Str("last_status", s.last_status).Num("runs", s.runs).Num("imported", s.imported);
        j.Num("duplicates", s.duplicates).Num("rejected", s.rejected).Num("errors", s.errors);
        j.Str("last_error", s.last_error).Str("etag", s.etag).Str("last_modified", s.last_modified);
        if (i) out += ',';
        out += j.Close();
      }
      std::printf("%s]\n", out.c_str());
      return kExitOk;
    }
    if (states->empty()) {
      std::printf("no feed has run yet\n");
      return kExitOk;
    }
    Table table(
        {"FEED", "LAST RUN", "STATUS", "RUNS", "IMPORTED", "DUPLICATES", "REJECTED", "ERRORS"});
    for (const intel::FeedState& s : *states) {
      table.Row({s.name, s.last_run_ns ? FormatTime(s.last_run_ns).substr(0, 19) + "Z" : "-",
                 s.last_status, Thousands(s.runs), Thousands(s.imported), Thousands(s.duplicates),
                 Thousands(s.rejected), Thousands(s.errors)});
    }
    table.Print(stdout);
    for (const intel::FeedState& s : *states) {
      if (!s.last_error.empty())
        std::printf("%s: last error: %s\n", s.name.c_str(), s.last_error.c_str());
    }
    return kExitOk;
  }

  CLI::App* feed_ = nullptr;
  CLI::App* import_ = nullptr;
  CLI::App* run_ = nullptr;
  CLI::App* export_ = nullptr;
  CLI::App* status_ = nullptr;

  std::string import_source_, import_format_ = "auto", import_collection_ = "indicators",
                              import_org_;
  std::string import_name_, import_tlp_, csv_value_, csv_type_, csv_delimiter_, import_db_;
  std::vector<std::string> import_labels_;
  int import_confidence_ = -1;
  bool csv_no_header_ = false, allow_private_ = false, all_attributes_ = false, force_ = false,
       json_ = false;

  std::string run_config_, run_db_;
  std::vector<std::string> run_only_;
  bool run_once_ = false, run_force_ = false, run_json_ = false;

  std::string export_format_, export_out_, export_as_org_, export_db_;
  std::string export_info_ = "Aegis indicator export", export_org_name_ = "Aegis";
  std::vector<std::string> export_collections_;
  bool export_json_ = false;

  bool status_json_ = false;
  std::string status_db_;
};

}  // namespace

std::unique_ptr<CommandGroup> MakeFeedCommands() { return std::make_unique<FeedCommands>(); }

}  // namespace aegis::cli
