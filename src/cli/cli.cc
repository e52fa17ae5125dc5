// The `aegis` command line (CLI11). Each subcommand is a thin layer over the
// pipeline: parse flags, call one stage, print for people (tables, progress bars on
// a terminal) or for scripts (--json).
#include "cli/cli.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cli/output.h"
#include "cli/command_group.h"
#include "cli/sigma_cli.h"
#include "core/observables.h"
#include "core/strings.h"
#include "detect/indicator_index.h"
#include "intel/intel.h"
#include "pipeline/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/service.h"
#include "store/store.h"

namespace aegis::cli {
namespace {

constexpr const char* kDefaultStore = "sqlite:aegis-data/aegis.db";
constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

extern "C" void OnStopSignal(int) { g_stop.store(true); }
extern "C" void OnReloadSignal(int) { g_reload.store(true); }

std::string DefaultStore() {
  if (const char* env = std::getenv("AEGIS_STORE")) return env;
  return kDefaultStore;
}

void PrintError(const Error& e) { std::fprintf(stderr, "aegis: error: %s\n", e.ToString().c_str()); }

// Options shared by commands that load indicators.
struct IntelFlags {
  std::vector<std::string> paths;
  std::string format = "auto";
  bool allow_private = false;
  std::string tlp;
  int confidence = -1;
  std::string source;
  intel::CsvMapping csv;
  std::string csv_delimiter = ",";
  bool csv_no_header = false;

  // CSV column mapping: by header name, or 0-based index ("0", "3").
  void AddCsvOptions(CLI::App* cmd, intel::CsvMapping& m) {
    cmd->add_option("--csv-value", m.value_column, "CSV: column holding the indicator")
        ->capture_default_str();
    cmd->add_option("--csv-type", m.type_column, "CSV: column holding its type (else detected)");
    cmd->add_option("--csv-confidence", m.confidence_column, "CSV: column holding confidence 0-100");
    cmd->add_option("--csv-tags", m.tags_column, "CSV: column holding tags (, ; or | separated)");
    cmd->add_option("--csv-first-seen", m.first_seen_column, "CSV: first-seen column");
    cmd->add_option("--csv-last-seen", m.last_seen_column, "CSV: last-seen column");
    cmd->add_option("--csv-valid-until", m.valid_until_column, "CSV: expiry column");
    cmd->add_option("--csv-delimiter", csv_delimiter, "CSV: field delimiter (one character)")
        ->capture_default_str();
    cmd->add_flag("--csv-no-header", csv_no_header, "CSV: the first row is data (use indices)");
  }

  void Add(CLI::App* cmd, bool required) {
    auto* opt = cmd->add_option("--intel,-i", paths,
                                "Indicator file or folder (plain/maltrail, CSV, hosts, STIX 2.1, "
                                "MISP feed); repeatable")
                   ->allow_extra_args(false);
    if (required) opt->required();
    cmd->add_option("--intel-format", format,
                    "Force the indicator format: auto, plain, maltrail, csv, hosts, stix, misp")
        ->capture_default_str();
    cmd->add_flag("--allow-private", allow_private,
                  "Accept private and special-purpose IP ranges as indicators");
    cmd->add_option("--tlp", tlp, "TLP for indicators whose feed sets none (default clear)");
    cmd->add_option("--confidence", confidence,
                    "Confidence 0-100 for indicators whose feed sets none")
        ->check(CLI::Range(0, 100));
    cmd->add_option("--source", source, "Source name recorded on loaded indicators");
    AddCsvOptions(cmd, csv);
  }

  Result<intel::LoadOptions> ToOptions() const {
    intel::LoadOptions opts;
    auto f = intel::ParseFeedFormat(format);
    if (!f) return Fail("unknown indicator format '" + format + "'", "--intel-format");
    opts.format = *f;
    opts.allow_private = allow_private;
    if (!tlp.empty()) {
      auto t = ParseTlp(tlp);
      if (!t) return Fail("not a TLP level: '" + tlp + "'", "--tlp");
      opts.defaults.tlp = *t;
    }
    if (confidence >= 0) opts.defaults.confidence = confidence;
    opts.source_name = source;
    opts.csv = csv;
    std::string delimiter = csv_delimiter;
    if (delimiter == "\\t" || delimiter == "tab") delimiter = "\t";
    if (delimiter.size() != 1) return Fail("must be one character", "--csv-delimiter");
    opts.csv.delimiter = delimiter[0];
    opts.csv.has_header = !csv_no_header;
    return opts;
  }
};

void PrintLoadReport(const intel::LoadReport& r, double seconds, const detect::IndexStats* stats) {
  std::printf("Indicators: %s loaded from %s files in %.2fs, %s rejected, %s not loaded\n",
              Thousands(r.accepted).c_str(), Thousands(r.files).c_str(), seconds,
              Thousands(r.rejected).c_str(), Thousands(r.not_loaded).c_str());
  if (stats != nullptr && stats->indicators > 0) {
    std::printf("Index: %s distinct indicators, %s, %.1f bytes per indicator\n",
                Thousands(stats->indicators).c_str(), HumanBytes(stats->memory_bytes).c_str(),
                static_cast<double>(stats->memory_bytes) / static_cast<double>(stats->indicators));
  }
  if (!r.accepted_by_type.empty()) {
    Table t({"type", "loaded"});
    for (const auto& [type, n] : r.accepted_by_type) t.Row({type, Thousands(n)});
    t.Print(stdout);
  }
  if (!r.rejected_by_reason.empty()) {
    Table t({"rejected because", "count"});
    for (const auto& [reason, n] : r.rejected_by_reason) t.Row({reason, Thousands(n)});
    t.Print(stdout);
  }
  if (!r.not_loaded_by_reason.empty()) {
    Table t({"not loaded because", "count"});
    for (const auto& [reason, n] : r.not_loaded_by_reason) t.Row({reason, Thousands(n)});
    t.Print(stdout);
  }
  for (const Error& e : r.errors) PrintError(e);
}

std::string LoadReportJson(const intel::LoadReport& r, double seconds,
                           const detect::IndexStats* stats) {
  JsonObject o;
  o.Num("files", r.files).Num("accepted", r.accepted).Num("rejected", r.rejected);
  o.Num("not_loaded", r.not_loaded).Float("seconds", seconds);
  JsonObject by_type;
  for (const auto& [k, v] : r.accepted_by_type) by_type.Num(k, v);
  o.Raw("accepted_by_type", by_type.Close());
  JsonObject by_reason;
  for (const auto& [k, v] : r.rejected_by_reason) by_reason.Num(k, v);
  o.Raw("rejected_by_reason", by_reason.Close());
  JsonObject not_loaded;
  for (const auto& [k, v] : r.not_loaded_by_reason) not_loaded.Num(k, v);
  o.Raw("not_loaded_by_reason", not_loaded.Close());
  std::string rejects = "[";
  for (size_t i = 0; i < r.rejects.size() && i < 50; ++i) {
    JsonObject x;
    x.Str("where", r.rejects[i].where).Str("value", r.rejects[i].value).Str("reason", r.rejects[i].reason);
    if (i) rejects.push_back(',');
    rejects += x.Close();
  }
  rejects.push_back(']');
  o.Raw("rejects_sample", rejects);
  if (stats != nullptr) {
    JsonObject s;
    s.Num("indicators", stats->indicators).Num("duplicates", stats->duplicates);
    s.Num("memory_bytes", stats->memory_bytes);
    s.Float("bytes_per_indicator",
            stats->indicators ? static_cast<double>(stats->memory_bytes) / stats->indicators : 0);
    o.Raw("index", s.Close());
  }
  return o.Close();
}

// ---- scan -------------------------------------------------------------------------

struct ScanFlags {
  std::vector<std::string> paths;
  IntelFlags intel;
  std::string format = "auto";
  bool json = false;
  std::string alerts_path;
  std::string store_url;
  std::string dead_letter;
  std::string dedup = "10m";
  int threads = 1;
  bool no_progress = false;
  bool no_event = false;
  bool use_store_intel = false;
  int top = 10;
  SigmaFlags sigma;
};

int RunScan(const ScanFlags& f) {
  auto load_opts = f.intel.ToOptions();
  if (!load_opts) {
    PrintError(load_opts.error());
    return kExitError;
  }
  auto fmt = ParseFormatName(f.format);
  if (!fmt) {
    PrintError(Fail("unknown event format '" + f.format + "'", "--format").error());
    return kExitError;
  }
  auto window = pipeline::ParseDuration(f.dedup);
  if (!window) {
    PrintError(window.error());
    return kExitError;
  }

  std::unique_ptr<store::Store> db;
  if (!f.store_url.empty() || f.use_store_intel) {
    auto opened = store::Open(f.store_url.empty() ? DefaultStore() : f.store_url);
    if (!opened) {
      PrintError(opened.error());
      return kExitError;
    }
    db = std::move(*opened);
  }

  const bool tty = isatty(STDERR_FILENO) && !f.json && !f.no_progress;
  pipeline::IntelSet intel_set;
  pipeline::IntelSet::Options intel_opts;
  intel_opts.load = *load_opts;
  if (f.use_store_intel) intel_opts.store = db.get();
  if (tty) std::fprintf(stderr, "Loading indicators...\r");
  auto report = intel_set.Load(f.intel.paths, intel_opts);
  if (!report) {
    PrintError(report.error());
    return kExitError;
  }
  auto snapshot = intel_set.handle()->Snapshot();

  detect::sigma::RuleSetHandle sigma_rules;
  std::optional<detect::sigma::LoadResult> sigma_report;
  double sigma_seconds = 0;
  if (!f.sigma.paths.empty()) {
    auto loaded = LoadSigmaRules(f.sigma, tty, &sigma_seconds);
    if (!loaded) {
      PrintError(loaded.error());
      return kExitError;
    }
    PrintSigmaIssues(*loaded, stderr, 10);
    sigma_rules.Set(loaded->rules);
    sigma_report = std::move(*loaded);
  }

  std::vector<pipeline::AlertSink*> sinks;
  std::unique_ptr<pipeline::JsonLinesSink> jsonl;
  if (f.alerts_path == "-") {
    jsonl = std::make_unique<pipeline::JsonLinesSink>(stdout);
  } else if (!f.alerts_path.empty()) {
    auto opened = pipeline::JsonLinesSink::OpenFile(f.alerts_path);
    if (!opened) {
      PrintError(opened.error());
      return kExitError;
    }
    jsonl = std::move(*opened);
  }
  if (jsonl) sinks.push_back(jsonl.get());
  std::unique_ptr<pipeline::StoreSink> store_sink;
  if (db && !f.store_url.empty()) {
    store_sink = std::make_unique<pipeline::StoreSink>(db.get());
    sinks.push_back(store_sink.get());
  }
  pipeline::AlertRouter router(*window, sinks);

  pipeline::ScanOptions opts;
  opts.paths = f.paths;
  opts.reader.format = *fmt;
  opts.reader.keep_raw = !f.no_event;
  opts.threads = f.threads;
  opts.include_event_json = !f.no_event;
  opts.dead_letter_path = f.dead_letter;
  if (sigma_report) opts.sigma = &sigma_rules;
  ProgressBar bar("Scanning", tty);
  if (tty) {
    opts.progress = [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); };
  }
  // The first few bad records are shown; all of them are counted (and kept with
  // --dead-letter).
  constexpr uint64_t kShownBadRecords = 10;
  uint64_t bad_seen = 0;
  opts.on_bad_record = [&](const ingest::BadRecord& bad) {
    if (++bad_seen <= kShownBadRecords) {
      bar.Finish();
      std::fprintf(stderr, "aegis: bad record: %s\n", bad.error.ToString().c_str());
    }
  };
  auto summary = pipeline::Scan(opts, intel_set.handle(), router);
  bar.Finish();
  if (!summary) {
    PrintError(summary.error());
    return kExitError;
  }
  if (bad_seen > kShownBadRecords) {
    std::fprintf(stderr, "aegis: ... %llu more bad records%s\n",
                 static_cast<unsigned long long>(bad_seen - kShownBadRecords),
                 f.dead_letter.empty() ? " (keep them all with --dead-letter FILE)" : "");
  }
  for (const Error& e : summary->input_errors) PrintError(e);
  for (const Error& e : report->errors) PrintError(e);
  if (store_sink && store_sink->last_error()) PrintError(*store_sink->last_error());
  const bool failed = summary->inputs_failed > 0 || !report->errors.empty() ||
                      (store_sink && store_sink->errors() > 0) ||
                      (sigma_report && !sigma_report->issues.empty());
  // When the alerts themselves go to stdout, the summary goes to stderr.
  std::FILE* out = f.alerts_path == "-" ? stderr : stdout;

  const auto& s = summary->reader;
  double eps = summary->seconds > 0 ? static_cast<double>(s.events) / summary->seconds : 0;
  if (f.json) {
    JsonObject o;
    o.Raw("intel", LoadReportJson(*report, intel_set.last_load_seconds(), &snapshot->stats()));
    if (sigma_report) {
      JsonObject s;
      s.Num("rules_loaded", sigma_report->rules_loaded).Num("correlations", sigma_report->correlations);
      s.Num("not_loaded", sigma_report->issues.size()).Num("unrouted", sigma_report->unrouted);
      s.Float("load_seconds", sigma_seconds);
      const auto& st = summary->sigma;
      s.Num("matches", st.matcher.matches).Num("unrouted_events", st.matcher.unrouted_events);
      s.Float("rules_evaluated_per_event",
              st.matcher.events ? static_cast<double>(st.matcher.candidates) / st.matcher.events : 0);
      s.Num("regex_errors", st.matcher.regex_errors).Num("scan_errors", st.matcher.scan_errors);
      s.Num("correlation_evicted", st.correlation_evicted);
      o.Raw("sigma", s.Close());
    }
    o.Num("files", s.files).Num("records", s.records).Num("events", s.events);
    o.Num("bad_records", s.bad_records).Num("damaged_files", s.damaged_files);
    o.Num("skipped_files", s.skipped_files);
    o.Num("bytes", s.bytes).Num("inputs_failed", summary->inputs_failed);
    o.Num("alerts", summary->alerts).Num("suppressed", summary->suppressed);
    o.Float("seconds", summary->seconds).Float("events_per_second", eps);
    JsonObject per_rule;
    for (const auto& [rule, n] : summary->alerts_per_rule) per_rule.Num(rule, n);
    o.Raw("alerts_per_rule", per_rule.Close());
    if (!f.dead_letter.empty()) o.Str("dead_letter", f.dead_letter);
    std::fprintf(out, "%s\n", o.Close().c_str());
  } else {
    if (!f.intel.paths.empty() || f.use_store_intel) {
      std::fprintf(out, "Indicators: %s loaded in %.2fs (%s rejected)\n",
                   Thousands(report->accepted).c_str(), intel_set.last_load_seconds(),
                   Thousands(report->rejected).c_str());
    }
    if (sigma_report) {
      std::fprintf(out, "Sigma: %s rules and %s correlations loaded in %.2fs (%s did not load)\n",
                   Thousands(sigma_report->rules_loaded).c_str(),
                   Thousands(sigma_report->correlations).c_str(), sigma_seconds,
                   Thousands(sigma_report->issues.size()).c_str());
    }
    Table t({"", ""});
    t.Row({"files", Thousands(s.files)});
    t.Row({"events", Thousands(s.events)});
    t.Row({"bad records", Thousands(s.bad_records) +
                              (f.dead_letter.empty() || s.bad_records == 0
                                   ? std::string()
                                   : " (kept in " + f.dead_letter + ")")});
    if (s.damaged_files) t.Row({"damaged files", Thousands(s.damaged_files)});
    if (s.skipped_files) t.Row({"unrecognised files", Thousands(s.skipped_files) + " (skipped)"});
    if (sigma_report) {
      const auto& st = summary->sigma;
      t.Row({"Sigma matches", Thousands(st.matcher.matches)});
      if (st.matcher.regex_errors) {
        t.Row({"regex limit hit", Thousands(st.matcher.regex_errors) + " (treated as no match)"});
      }
      if (st.matcher.scan_errors) {
        t.Row({"prefilter scan errors", Thousands(st.matcher.scan_errors) + " (all rules evaluated)"});
      }
      if (st.correlation_evicted) {
        t.Row({"correlation groups evicted", Thousands(st.correlation_evicted) + " (memory ceiling)"});
      }
    }
    t.Row({"alerts", Thousands(summary->alerts)});
    t.Row({"repeats folded", Thousands(summary->suppressed)});
    t.Row({"time", Fixed(summary->seconds, 2) + " s"});
    t.Row({"rate", Thousands(static_cast<uint64_t>(eps)) + " events/s"});
    t.Print(out, /*header=*/false);
    if (!summary->alerts_per_rule.empty()) {
      std::vector<std::pair<uint64_t, std::string>> top;
      for (const auto& [rule, n] : summary->alerts_per_rule) top.emplace_back(n, rule);
      std::sort(top.begin(), top.end(), [](auto& a, auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
      });
      // Sigma rules are shown with their titles next to their ids.
      std::map<std::string, std::string> titles;
      if (sigma_report) {
        const auto& rules = *sigma_report->rules;
        for (size_t i = 0; i < detect::sigma::RuleCount(rules); ++i) {
          const auto& info = detect::sigma::RuleAt(rules, i);
          titles.emplace(info.id, info.title);
        }
      }
      Table r({"alerts", "indicator or rule"});
      for (size_t i = 0; i < top.size() && i < static_cast<size_t>(f.top); ++i) {
        auto title = titles.find(top[i].second);
        r.Row({Thousands(top[i].first),
               title == titles.end() ? top[i].second : top[i].second + "  " + title->second});
      }
      r.Print(out);
      if (top.size() > static_cast<size_t>(f.top)) {
        std::fprintf(out, "(%zu more indicators or rules matched; --json lists all)\n",
                     top.size() - f.top);
      }
    }
    if (f.alerts_path.empty() && summary->alerts > 0) {
      std::fprintf(out, "Use --alerts FILE (or --alerts - for stdout) to keep the alerts as JSON lines.\n");
    }
  }
  return failed ? kExitError : kExitOk;
}

// ---- intel --------------------------------------------------------------------------

// Collects indicators for the store in batches.
class StoreIndicatorSink : public detect::IndicatorSink {
 public:
  explicit StoreIndicatorSink(store::Store* db) : db_(db) {}
  detect::MetaId AddMeta(const IndicatorMeta& meta) override {
    metas_.push_back(meta);
    return static_cast<detect::MetaId>(metas_.size() - 1);
  }
  void Add(IndicatorType type, std::string_view value, detect::MetaId meta) override {
    batch_.push_back(Indicator{type, std::string(value), metas_[meta]});
    if (batch_.size() >= 50'000) Flush();
  }
  Result<void> Flush() {
    if (batch_.empty()) return {};
    auto r = db_->PutIndicators(batch_);
    batch_.clear();
    if (!r) {
      error_ = r.error();
      return std::unexpected(r.error());
    }
    stored_ += *r;
    return {};
  }
  uint64_t stored() const { return stored_; }
  const std::optional<Error>& error() const { return error_; }

 private:
  store::Store* db_;
  std::vector<IndicatorMeta> metas_;
  std::vector<Indicator> batch_;
  uint64_t stored_ = 0;
  std::optional<Error> error_;
};

int RunIntelLoad(const IntelFlags& flags, const std::string& store_url, bool json) {
  auto opts = flags.ToOptions();
  if (!opts) {
    PrintError(opts.error());
    return kExitError;
  }
  auto db = store::Open(store_url.empty() ? DefaultStore() : store_url);
  if (!db) {
    PrintError(db.error());
    return kExitError;
  }
  StoreIndicatorSink sink(db->get());
  auto start = std::chrono::steady_clock::now();
  const bool tty = isatty(STDERR_FILENO) && !json;
  auto last_draw = start;
  uint64_t files_before = 0;  // files of earlier paths, for a running total
  if (tty) {
    opts->on_file = [&](const std::string& path, uint64_t files) {
      auto now = std::chrono::steady_clock::now();
      if (now - last_draw < std::chrono::milliseconds(100)) return;
      last_draw = now;
      std::string shown = path.size() > 50 ? "..." + path.substr(path.size() - 47) : path;
      std::fprintf(stderr, "\rLoading indicators: %s files, %.0fs  %-50s", Thousands(files_before + files).c_str(),
                   std::chrono::duration<double>(now - start).count(), shown.c_str());
    };
  }
  intel::LoadReport total;
  bool failed = false;
  for (const auto& path : flags.paths) {
    auto r = intel::LoadPath(path, *opts, sink);
    if (!r) {
      PrintError(r.error());
      failed = true;
      continue;
    }
    total.files += r->files;
    files_before = total.files;
    total.accepted += r->accepted;
    total.rejected += r->rejected;
    total.not_loaded += r->not_loaded;
    for (const auto& [k, v] : r->rejected_by_reason) total.rejected_by_reason[k] += v;
    for (const auto& [k, v] : r->not_loaded_by_reason) total.not_loaded_by_reason[k] += v;
    for (const auto& [k, v] : r->accepted_by_type) total.accepted_by_type[k] += v;
    for (auto& x : r->rejects) total.rejects.push_back(std::move(x));
    for (auto& e : r->errors) total.errors.push_back(std::move(e));
  }
  if (tty) std::fprintf(stderr, "\rStoring indicators...%*s", 60, "");
  if (!sink.Flush()) failed = true;
  if (tty) std::fprintf(stderr, "\r%*s\r", 80, "");
  if (sink.error()) PrintError(*sink.error());
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (json) {
    std::printf("%s\n", LoadReportJson(total, secs, nullptr).c_str());
  } else {
    PrintLoadReport(total, secs, nullptr);
    std::printf("Stored in %s\n", store_url.empty() ? DefaultStore().c_str() : store_url.c_str());
    for (size_t i = 0; i < total.rejects.size() && i < 10; ++i) {
      std::printf("  %s: %s: %s\n", total.rejects[i].where.c_str(), total.rejects[i].value.c_str(),
                  total.rejects[i].reason.c_str());
    }
  }
  return failed || !total.errors.empty() ? kExitError : kExitOk;
}

int RunIntelStats(const IntelFlags& flags, const std::string& store_url, bool json) {
  if (!flags.paths.empty()) {
    auto opts = flags.ToOptions();
    if (!opts) {
      PrintError(opts.error());
      return kExitError;
    }
    pipeline::IntelSet set;
    auto r = set.Load(flags.paths, {.load = *opts});
    if (!r) {
      PrintError(r.error());
      return kExitError;
    }
    auto snap = set.handle()->Snapshot();
    if (json) {
      std::printf("%s\n", LoadReportJson(*r, set.last_load_seconds(), &snap->stats()).c_str());
    } else {
      PrintLoadReport(*r, set.last_load_seconds(), &snap->stats());
    }
    return r->errors.empty() ? kExitOk : kExitError;
  }
  auto db = store::OpenExisting(store_url.empty() ? DefaultStore() : store_url);
  if (!db) {
    PrintError(db.error());
    return kExitError;
  }
  auto counts = (*db)->CountIndicators();
  if (!counts) {
    PrintError(counts.error());
    return kExitError;
  }
  if (json) {
    JsonObject o;
    o.Num("total", counts->total);
    JsonObject by_type, by_source;
    for (const auto& [k, v] : counts->by_type) by_type.Num(k, v);
    for (const auto& [k, v] : counts->by_source) by_source.Num(k, v);
    o.Raw("by_type", by_type.Close()).Raw("by_source", by_source.Close());
    std::printf("%s\n", o.Close().c_str());
  } else {
    std::printf("Stored indicators: %s\n", Thousands(counts->total).c_str());
    Table t({"type", "count"});
    for (const auto& [k, v] : counts->by_type) t.Row({k, Thousands(v)});
    t.Print(stdout);
    Table s({"source", "count"});
    for (const auto& [k, v] : counts->by_source) s.Row({k, Thousands(v)});
    s.Print(stdout);
  }
  return kExitOk;
}

int RunIntelCheck(const std::vector<std::string>& values, const IntelFlags& flags,
                  const std::string& store_url, bool use_store, bool json) {
  auto opts = flags.ToOptions();
  if (!opts) {
    PrintError(opts.error());
    return kExitError;
  }
  std::unique_ptr<store::Store> db;
  if (use_store || flags.paths.empty()) {
    auto opened = store::OpenExisting(store_url.empty() ? DefaultStore() : store_url);
    if (!opened) {
      PrintError(opened.error());
      return kExitError;
    }
    db = std::move(*opened);
  }
  pipeline::IntelSet set;
  auto r = set.Load(flags.paths, {.load = *opts, .store = db.get()});
  if (!r) {
    PrintError(r.error());
    return kExitError;
  }
  auto snap = set.handle()->Snapshot();
  const int64_t now = NowNs();
  std::string json_out = "[";
  for (size_t vi = 0; vi < values.size(); ++vi) {
    const std::string& value = values[vi];
    std::optional<detect::IndicatorMatch> m;
    std::string kind = "unrecognised";
    std::string normalised;
    if (auto ip = ParseIp(value)) {
      kind = ip->v6 ? "ipv6" : "ipv4";
      normalised = FormatIp(*ip);
      m = snap->MatchIp(*ip, now);
    } else if (auto h = NormalizeHash(value)) {
      kind = "hash";
      normalised = h->second;
      m = snap->MatchHash(normalised, now);
    } else if (value.find('@') != std::string::npos) {
      if (auto e = NormalizeEmail(value)) {
        kind = "email";
        normalised = *e;
        m = snap->MatchEmail(normalised, now);
      }
    } else if (value.find('/') != std::string::npos) {
      if (auto u = NormalizeUrl(value)) {
        kind = "url";
        normalised = *u;
        m = snap->MatchUrl(normalised, now);
        if (!m) {
          std::string host = normalised.substr(0, normalised.find_first_of("/:?"));
          std::string norm_host;
          if (NormalizeDomainForMatch(host, norm_host)) m = snap->MatchDomain(norm_host, now);
        }
      }
    } else if (NormalizeDomainForMatch(value, normalised)) {
      kind = "domain";
      m = snap->MatchDomain(normalised, now);
    }
    if (json) {
      JsonObject o;
      o.Str("value", value).Str("kind", kind).Str("normalised", normalised);
      o.Bool("match", m.has_value());
      if (m) {
        o.Str("indicator", std::string(m->value)).Str("type", std::string(IndicatorTypeName(m->type)));
        o.Str("source", m->meta->source).Num("confidence", m->meta->confidence);
        o.Str("tlp", std::string(TlpName(m->meta->tlp)));
        o.Str("severity", std::string(SeverityName(m->meta->severity)));
        o.Str("match_kind", m->subdomain ? "subdomain" : (m->type == IndicatorType::kCidr ? "prefix" : "exact"));
        std::string tags = "[";
        for (size_t i = 0; i < m->meta->tags.size(); ++i) {
          if (i) tags.push_back(',');
          AppendJsonString(tags, m->meta->tags[i]);
        }
        o.Raw("tags", tags + "]");
      }
      if (vi) json_out.push_back(',');
      json_out += o.Close();
    } else if (m) {
      std::printf("%s: MATCH %s indicator %s (%s%s), source %s, confidence %d, %s, severity %s\n",
                  value.c_str(), std::string(IndicatorTypeName(m->type)).c_str(),
                  std::string(m->value).c_str(), m->subdomain ? "subdomain match" : "exact match",
                  m->type == IndicatorType::kCidr ? ", by prefix" : "", m->meta->source.c_str(),
                  m->meta->confidence, std::string(TlpName(m->meta->tlp)).c_str(),
                  std::string(SeverityName(m->meta->severity)).c_str());
    } else {
      std::printf("%s: no match (%s%s%s)\n", value.c_str(), kind.c_str(),
                  normalised.empty() || normalised == value ? "" : ", normalised ",
                  normalised.empty() || normalised == value ? "" : normalised.c_str());
    }
  }
  if (json) std::printf("%s]\n", json_out.c_str());
  return kExitOk;
}

// ---- alerts -------------------------------------------------------------------------

int RunAlertsList(const std::string& store_url, size_t limit, const std::string& since,
                  const std::string& severity, const std::string& rule, bool json) {
  auto db = store::OpenExisting(store_url.empty() ? DefaultStore() : store_url);
  if (!db) {
    PrintError(db.error());
    return kExitError;
  }
  store::AlertQuery q;
  q.limit = limit;
  q.rule = rule;
  if (!since.empty()) {
    if (auto t = ParseTime(since)) {
      q.since_ns = *t;
    } else if (auto d = pipeline::ParseDuration(since)) {
      q.since_ns = NowNs() - *d;
    } else {
      PrintError(Fail("not a time or duration: '" + since + "'", "--since").error());
      return kExitError;
    }
  }
  if (!severity.empty()) {
    auto s = ParseSeverity(severity);
    if (!s) {
      PrintError(Fail("not a severity: '" + severity + "'", "--severity").error());
      return kExitError;
    }
    q.min_severity = *s;
  }
  auto alerts = (*db)->ListAlerts(q);
  if (!alerts) {
    PrintError(alerts.error());
    return kExitError;
  }
  if (json) {
    for (const Alert& a : *alerts) std::printf("%s\n", AlertToJson(a).c_str());
    return kExitOk;
  }
  Table t({"id", "time", "severity", "tlp", "count", "title"});
  for (const Alert& a : *alerts) {
    t.Row({a.id.substr(0, 12), FormatTime(a.time_ns).substr(0, 19), std::string(SeverityName(a.severity)),
           std::string(TlpName(a.tlp)).substr(4), std::to_string(a.count), a.title});
  }
  t.Print(stdout);
  std::printf("%zu alert(s). `aegis alerts show ID` shows one in full.\n", alerts->size());
  return kExitOk;
}

int RunAlertsShow(const std::string& store_url, const std::string& id, bool json) {
  auto db = store::OpenExisting(store_url.empty() ? DefaultStore() : store_url);
  if (!db) {
    PrintError(db.error());
    return kExitError;
  }
  auto alert = (*db)->GetAlert(id);
  if (!alert) {
    PrintError(alert.error());
    return kExitError;
  }
  if (!alert->has_value()) {
    std::fprintf(stderr, "aegis: error: no alert with id '%s'\n", id.c_str());
    return kExitError;
  }
  const Alert& a = **alert;
  if (json) {
    std::printf("%s\n", AlertToJson(a).c_str());
    return kExitOk;
  }
  std::printf("Alert %s\n  %s\n", a.id.c_str(), a.title.c_str());
  std::printf("  raised      %s\n  event time  %s\n", FormatTime(a.time_ns).c_str(),
              FormatTime(a.event_time_ns).c_str());
  std::printf("  severity    %s   %s   confidence %d   repeats folded %u\n",
              std::string(SeverityName(a.severity)).c_str(), std::string(TlpName(a.tlp)).c_str(),
              a.confidence, a.count - 1);
  std::printf("  indicator   %s (%s) from %s\n", a.rule.c_str(), a.indicator_type.c_str(),
              a.indicator_source.c_str());
  if (!a.tags.empty()) {
    std::string tags;
    for (const auto& t : a.tags) tags += (tags.empty() ? "" : ", ") + t;
    std::printf("  tags        %s\n", tags.c_str());
  }
  for (const AlertMatch& m : a.matches) {
    std::printf("  matched     %s (%s) = %s  [%s]\n", m.field.c_str(), m.original.c_str(),
                m.value.c_str(), m.match.c_str());
  }
  std::printf("  event       %s", a.event_source.c_str());
  if (a.event_line) std::printf(":%llu", static_cast<unsigned long long>(a.event_line));
  std::printf(" (%s)\n", std::string(FormatName(a.event_format)).c_str());
  if (!a.event_json.empty()) std::printf("  event data  %s\n", a.event_json.c_str());
  return kExitOk;
}

// ---- run ------------------------------------------------------------------------------

int RunService(const std::string& config_path, const std::string& duration,
               const std::vector<std::string>& extra_intel,
               const std::vector<std::string>& extra_sigma) {
  auto cfg = pipeline::LoadConfig(config_path);
  if (!cfg) {
    PrintError(cfg.error());
    return kExitError;
  }
  // --intel and --sigma add to the paths of the configuration file.
  cfg->intel_paths.insert(cfg->intel_paths.end(), extra_intel.begin(), extra_intel.end());
  cfg->sigma.paths.insert(cfg->sigma.paths.end(), extra_sigma.begin(), extra_sigma.end());
  pipeline::ServiceOptions opts;
  if (!duration.empty()) {
    auto d = pipeline::ParseDuration(duration);
    if (!d) {
      PrintError(d.error());
      return kExitError;
    }
    opts.duration_ns = *d;
  }
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);
  std::signal(SIGHUP, OnReloadSignal);
  opts.stop = &g_stop;
  opts.reload = &g_reload;
  auto stats = pipeline::RunService(*cfg, opts);
  if (!stats) {
    PrintError(stats.error());
    return kExitError;
  }
  std::fprintf(stderr, "aegis run: stopped after %s events, %s alerts (%s repeats folded), %s bad records, %s reloads\n",
               Thousands(stats->events).c_str(), Thousands(stats->alerts).c_str(),
               Thousands(stats->suppressed).c_str(), Thousands(stats->bad_records).c_str(),
               Thousands(stats->reloads + stats->sigma_reloads).c_str());
  return kExitOk;
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{
      "Aegis: cyber defence for health services.\n"
      "Matches threat indicators against log streams (Zeek, Suricata, Windows, syslog, CEF).",
      "aegis"};
  app.set_version_flag("--version", "aegis 0.1.0");
  app.require_subcommand(1);
  app.footer("Run `aegis COMMAND --help` for the options of a command. Docs: README.md, docs/.");

  // scan
  ScanFlags scan;
  auto* scan_cmd = app.add_subcommand(
      "scan", "Offline hunt: match indicators against log files, folders, archives or stdin");
  scan_cmd->add_option("paths", scan.paths, "Files, folders, .gz/.zip/.evtx, or - for stdin")
      ->required();
  scan.intel.Add(scan_cmd, /*required=*/false);
  scan_cmd->add_flag("--store-intel", scan.use_store_intel,
                     "Also match the indicators kept in the store (aegis intel load)");
  scan_cmd->add_option("--format,-f", scan.format,
                       "Event format: auto, zeek-json, zeek-tsv, suricata, windows-json, "
                       "windows-flat, windows-xml, evtx, syslog5424, syslog3164, cef")
      ->capture_default_str();
  scan_cmd->add_flag("--json", scan.json, "Print the summary as JSON (for scripts)");
  scan_cmd->add_option("--alerts,-o", scan.alerts_path,
                       "Write alerts as JSON lines to FILE (- for stdout)");
  scan_cmd->add_option("--store", scan.store_url, "Also write alerts to this store (sqlite:PATH)");
  scan_cmd->add_option("--dead-letter", scan.dead_letter,
                       "Write records that could not be parsed to FILE (JSON lines)");
  scan_cmd->add_option("--dedup-window", scan.dedup,
                       "Fold repeats of an alert within this window (0 = off)")
      ->capture_default_str();
  scan_cmd->add_option("--threads,-j", scan.threads, "Read inputs in parallel")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  scan_cmd->add_flag("--no-progress", scan.no_progress, "No progress bar");
  scan_cmd->add_flag("--no-event", scan.no_event, "Leave the event out of each alert");
  scan_cmd->add_option("--top", scan.top, "Indicators listed in the summary")->capture_default_str();
  scan.sigma.Add(scan_cmd, /*positional=*/false);
  scan_cmd->callback([&] {
    if (scan.intel.paths.empty() && !scan.use_store_intel && scan.sigma.paths.empty()) {
      throw CLI::ValidationError("--intel", "give --intel FILE, --store-intel or --sigma PATH");
    }
  });

  // intel
  auto* intel_cmd = app.add_subcommand("intel", "Manage threat indicators");
  intel_cmd->require_subcommand(1);
  IntelFlags load_flags;
  std::string load_store;
  bool load_json = false;
  auto* load_cmd = intel_cmd->add_subcommand("load", "Vet indicator files and keep them in the store");
  load_cmd->add_option("files", load_flags.paths, "Indicator files or folders")->required();
  {
    load_cmd->add_option("--intel-format,--format", load_flags.format,
                         "auto, plain, maltrail, csv, hosts, stix, misp")
        ->capture_default_str();
    load_cmd->add_flag("--allow-private", load_flags.allow_private,
                       "Accept private and special-purpose IP ranges");
    load_cmd->add_option("--tlp", load_flags.tlp, "TLP for indicators whose feed sets none");
    load_cmd->add_option("--confidence", load_flags.confidence, "Confidence 0-100 when the feed sets none")
        ->check(CLI::Range(0, 100));
    load_cmd->add_option("--source", load_flags.source, "Source name recorded on the indicators");
    load_flags.AddCsvOptions(load_cmd, load_flags.csv);
  }
  load_cmd->add_option("--store", load_store, "Store URL (default sqlite:aegis-data/aegis.db or $AEGIS_STORE)");
  load_cmd->add_flag("--json", load_json, "JSON report");

  IntelFlags stats_flags;
  std::string stats_store;
  bool stats_json = false;
  auto* stats_cmd = intel_cmd->add_subcommand(
      "stats", "Count stored indicators, or load --intel files and report the index");
  stats_flags.Add(stats_cmd, false);
  stats_cmd->add_option("--store", stats_store, "Store URL");
  stats_cmd->add_flag("--json", stats_json, "JSON output");

  IntelFlags check_flags;
  std::vector<std::string> check_values;
  std::string check_store;
  bool check_json = false;
  bool check_use_store = false;
  auto* check_cmd = intel_cmd->add_subcommand(
      "check", "Is this IP, domain, URL, hash or email a known indicator?");
  check_cmd->add_option("values", check_values, "Values to check")->required();
  check_flags.Add(check_cmd, false);
  check_cmd->add_option("--store", check_store, "Store URL (used when no --intel is given)");
  check_cmd->add_flag("--store-intel", check_use_store, "Check stored indicators as well as --intel");
  check_cmd->add_flag("--json", check_json, "JSON output");

  // alerts
  auto* alerts_cmd = app.add_subcommand("alerts", "Read alerts from the store");
  alerts_cmd->require_subcommand(1);
  std::string alerts_store, since, severity, rule;
  size_t limit = 50;
  bool alerts_json = false;
  auto* list_cmd = alerts_cmd->add_subcommand("list", "Newest alerts first");
  list_cmd->add_option("--store", alerts_store, "Store URL");
  list_cmd->add_option("--limit,-n", limit, "How many")->capture_default_str();
  list_cmd->add_option("--since", since, "Only alerts since a time (RFC 3339) or for a duration (1h)");
  list_cmd->add_option("--severity", severity, "Minimum severity: low, medium, high, critical");
  list_cmd->add_option("--rule", rule, "Only alerts of this indicator");
  list_cmd->add_flag("--json", alerts_json, "One JSON object per line");
  std::string show_id;
  bool show_json = false;
  auto* show_cmd = alerts_cmd->add_subcommand("show", "One alert in full");
  show_cmd->add_option("id", show_id, "Alert id or a unique prefix")->required();
  show_cmd->add_option("--store", alerts_store, "Store URL");
  show_cmd->add_flag("--json", show_json, "JSON output");

  // sigma
  auto* sigma_cmd = app.add_subcommand("sigma", "Sigma detection rules");
  sigma_cmd->require_subcommand(1);
  SigmaFlags sigma_check;
  bool sigma_json = false, sigma_warnings = false;
  auto* sigma_check_cmd = sigma_cmd->add_subcommand(
      "check", "Load Sigma rules and list every rule that does not load, with the reason");
  sigma_check.Add(sigma_check_cmd, /*positional=*/true);
  sigma_check_cmd->add_flag("--json", sigma_json, "JSON report");
  sigma_check_cmd->add_flag("--warnings", sigma_warnings,
                            "Also list rules that load with a caveat (inactive, unused filters)");

  // run
  std::string config_path = "aegis.toml";
  std::string duration;
  auto* run_cmd = app.add_subcommand("run", "Run continuously: inputs -> detection -> alerts");
  run_cmd->add_option("--config,-c", config_path, "Configuration file (see config/aegis.example.toml)")
      ->capture_default_str();
  run_cmd->add_option("--duration", duration, "Stop after this long (e.g. 30s); default: until Ctrl-C");
  std::vector<std::string> run_intel, run_sigma;
  run_cmd->add_option("--intel,-i", run_intel, "More indicator files or folders (besides [intel] paths)")
      ->expected(1)->allow_extra_args(false);
  run_cmd->add_option("--sigma,-s", run_sigma, "More Sigma rule files or folders (besides [sigma] paths)")
      ->expected(1)->allow_extra_args(false);

  // Command groups defined in their own files (cli/command_group.h); one line each.
  std::vector<std::unique_ptr<CommandGroup>> groups;
  // [command groups]
  groups.push_back(MakeServeCommand());
  groups.push_back(MakeStixCommands());
  groups.push_back(MakeEarlyWarningCommands());
  groups.push_back(MakeFeedCommands());
  groups.push_back(MakeAccountCommands());
  for (auto& group : groups) group->Register(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" that exit 0; real usage errors exit 2.
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  if (scan_cmd->parsed()) return RunScan(scan);
  if (load_cmd->parsed()) return RunIntelLoad(load_flags, load_store, load_json);
  if (stats_cmd->parsed()) return RunIntelStats(stats_flags, stats_store, stats_json);
  if (check_cmd->parsed()) {
    return RunIntelCheck(check_values, check_flags, check_store, check_use_store, check_json);
  }
  if (list_cmd->parsed()) return RunAlertsList(alerts_store, limit, since, severity, rule, alerts_json);
  if (show_cmd->parsed()) return RunAlertsShow(alerts_store, show_id, show_json);
  if (run_cmd->parsed()) return RunService(config_path, duration, run_intel, run_sigma);
  if (sigma_check_cmd->parsed()) return RunSigmaCheck(sigma_check, sigma_json, sigma_warnings);
  for (auto& group : groups) {
    if (auto code = group->RunParsed()) return *code;
  }
  return kExitOk;
}

}  // namespace aegis::cli
