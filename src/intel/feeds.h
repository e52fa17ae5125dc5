// Feeds: scheduled import of outside indicator feeds into the hub's STIX store, and
// export of stored indicators as STIX bundles, CSV and MISP feeds (docs/FEEDS.md).
//
// Import: a feed (MISP feed folder or URL with manifest.json + <uuid>.json events, CSV,
// plain lists, STIX 2.1 bundles) is fetched with a conditional GET (ETag and
// Last-Modified remembered per feed, plus a content digest for servers and files
// that offer neither), parsed and vetted by the intel loaders, turned into STIX 2.1
// indicators with deterministic ids (UUIDv5 of feed name, type and value, so a
// re-import gives duplicates, not new objects), validated and added to a collection.
// Junk lines are rejected one by one (with their line numbers) and counted; the good
// ones are imported. MISP feeds fetch only events that are new or changed.
//
//   auto store = intel::StixStore::Open("aegis.db");
//   auto importer = intel::FeedImporter::Open("aegis.db", store->get());
//   auto report = (*importer)->Run(feed);           // FeedRunReport
//   intel::FeedScheduler scheduler(std::move(*importer), feeds);
//   scheduler.Start();  ...  scheduler.Snapshot();  scheduler.Stop();
//
// Export reads the latest versions of the indicators a reader may see (the hub passes
// the TLP check for auth::ReadPath::kExport as `visible`).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/indicator.h"
#include "core/types.h"
#include "intel/intel.h"
#include "intel/stix_store.h"

namespace aegis::intel {

// One [[feeds]] table of the configuration.
struct FeedConfig {
  std::string name;  // unique, [A-Za-z0-9._-]; part of every indicator id it makes
  std::string url;   // http://, https://, file:// or a local path (file or folder)
  FeedFormat format = FeedFormat::kAuto;  // misp | csv | plain | hosts | stix | auto
  std::chrono::milliseconds interval{std::chrono::hours(1)};
  std::string collection = "indicators";  // StixStore collection id or alias (created when missing)
  std::string producer_org;               // producer of the imported objects; empty: "feed:<name>"
  std::string producer_identity;          // "identity--<uuid>": created_by_ref (optional)
  Tlp default_tlp = Tlp::kClear;          // for indicators the feed does not mark
  int confidence = 50;                    // 0..100, for indicators the feed does not rate
  std::vector<std::string> labels;        // added to every indicator
  CsvMapping csv;
  bool allow_private = false;    // accept RFC 1918 / bogon addresses
  bool misp_only_to_ids = true;  // MISP: import only attributes flagged to_ids
  bool enabled = true;
  std::vector<std::pair<std::string, std::string>> headers;  // extra HTTP headers (API keys)
};

// Parses the [[feeds]] tables of a TOML document (other tables are ignored). Errors
// name the line and the key at fault. `where` names the document in errors.
Result<std::vector<FeedConfig>> ParseFeedsToml(std::string_view toml_text, std::string_view where);
// Checks one feed's settings (name, url, format, interval, confidence).
Result<void> ValidateFeedConfig(const FeedConfig& feed);

// "indicator--<UUIDv5(kFeedNamespace, feed \n type \n value)>".
std::string FeedIndicatorId(std::string_view feed_name, IndicatorType type, std::string_view value);
// The STIX pattern for one indicator: "[ipv4-addr:value = '198.51.100.7']",
// "[file:hashes.'SHA-256' = '...']", "[email-addr:value = '...']", ...
std::string StixPatternFor(IndicatorType type, std::string_view value);
// RFC 9562 version 5 UUID of `name` in `namespace_uuid` (text form), lower-case.
std::string UuidV5(std::string_view namespace_uuid, std::string_view name);
// A random (version 4) UUID.
std::string UuidV4();

// One entry of a MISP feed's manifest.json.
struct MispManifestEntry {
  std::string uuid;
  std::string info;
  std::string timestamp;  // as text ("1700000000"); empty when absent
};
// Parses manifest.json: {"<event uuid>": {"info": ..., "timestamp": ...}, ...}.
Result<std::vector<MispManifestEntry>> ParseMispManifest(std::string_view json);

// One fetched document converted without the store: the STIX objects an import would
// add (indicators get created = modified = `now_ns`; STIX bundles give their valid
// objects) and the loader's counts. For tests and fuzzing.
struct ConvertedDocument {
  std::vector<stix::StixObject> objects;
  LoadReport load;
  // Generated objects that ValidateObject refused, with the reason (always a bug).
  std::vector<std::string> invalid;
};
ConvertedDocument ConvertDocument(const FeedConfig& feed, FeedFormat format, std::string_view where,
                                  std::string_view body, int64_t now_ns);

struct FeedRunReport {
  std::string feed;
  std::string status;  // "ok", "not-modified", "partial" (some errors), "failed"
  int64_t started_ns = 0;
  int64_t finished_ns = 0;
  bool not_modified = false;    // the source was unchanged since the last run
  uint64_t documents = 0;       // files or MISP events fetched and parsed
  uint64_t indicators = 0;      // STIX objects offered to the store
  uint64_t imported = 0;        // new objects or versions
  uint64_t duplicates = 0;      // already stored, unchanged
  uint64_t rejected = 0;        // junk lines / values / objects (see `rejects`)
  uint64_t not_loaded = 0;      // valid input Aegis does not use (to_ids false, ...)
  uint64_t failed = 0;          // refused by the store
  std::vector<Reject> rejects;  // first rejects: where ("source:line"), value, reason
  std::vector<Error> errors;    // documents that could not be fetched or parsed at all
};
std::string FeedRunReportJson(const FeedRunReport& report);

// What the database remembers of a feed between runs.
struct FeedState {
  std::string name;
  std::string etag;
  std::string last_modified;
  std::string content_sha256;
  int64_t last_run_ns = 0;
  std::string last_status;
  uint64_t runs = 0;
  uint64_t imported = 0;  // totals over all runs
  uint64_t duplicates = 0;
  uint64_t rejected = 0;
  uint64_t errors = 0;
  std::string last_error;
};

struct ImportControl {
  bool force = false;  // ignore remembered ETag / Last-Modified / digests
  // Polled between documents and batches; true stops the run early (status "stopped").
  std::function<bool()> stop_requested;
  // Progress within the current document: indicators stored so far, of `total`.
  std::function<void(uint64_t done, uint64_t total)> on_progress;
};

// Runs feeds one at a time. Owns a connection to the feed tables (component "feeds"
// in the shared database) and an HTTP client; borrows the STIX store. Not
// thread-safe: one per thread.
class FeedImporter {
 public:
  static Result<std::unique_ptr<FeedImporter>> Open(const std::string& db_path, StixStore* store);
  ~FeedImporter();
  FeedImporter(const FeedImporter&) = delete;
  FeedImporter& operator=(const FeedImporter&) = delete;

  // Fetches, converts and imports one feed. Fails only when the feed cannot be run at
  // all (bad config, store unavailable); fetch and parse problems are in the report.
  Result<FeedRunReport> Run(const FeedConfig& feed, const ImportControl& control = {});
  Result<std::vector<FeedState>> States();

  struct Impl;

 private:
  explicit FeedImporter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The state of one scheduled feed, for /metrics, REST and `aegis feed status`.
struct FeedStatus {
  std::string name;
  bool enabled = true;
  int64_t interval_ms = 0;
  int64_t last_run_ns = 0;  // 0: not run yet
  int64_t next_run_ns = 0;
  std::string last_status;  // "", "ok", "not-modified", "partial", "failed", "stopped"
  std::string last_error;
  uint64_t runs = 0;
  uint64_t imported = 0;  // totals since the scheduler started
  uint64_t duplicates = 0;
  uint64_t rejected = 0;
  uint64_t errors = 0;
};
std::string FeedStatusJson(const std::vector<FeedStatus>& statuses);
// Prometheus text (aegis_feed_* counters and gauges, label feed="name").
std::string FeedStatusPrometheus(const std::vector<FeedStatus>& statuses);

// Runs enabled feeds at their intervals on one background thread; the first run of
// each feed is due at Start(). A failing feed is recorded and retried at its next
// interval; it never stops the others.
class FeedScheduler {
 public:
  FeedScheduler(std::unique_ptr<FeedImporter> importer, std::vector<FeedConfig> feeds);
  ~FeedScheduler();  // Stop()
  FeedScheduler(const FeedScheduler&) = delete;
  FeedScheduler& operator=(const FeedScheduler&) = delete;

  void Start();
  // Wakes the thread, stops a running import between documents or batches, joins.
  void Stop();
  // Makes `name` due now; false when no such feed.
  bool RunNow(std::string_view name);
  std::vector<FeedStatus> Snapshot() const;
  // Called on the scheduler thread after each run (logging); set before Start().
  void SetRunHook(std::function<void(const FeedRunReport&)> hook);

 private:
  void Loop(std::stop_token stop);

  std::unique_ptr<FeedImporter> importer_;  // used by the scheduler thread only
  std::vector<FeedConfig> feeds_;
  std::function<void(const FeedRunReport&)> run_hook_;
  mutable std::mutex status_mutex_;  // guards statuses_ and wake_ (with wake_cv_)
  std::condition_variable_any wake_cv_;
  std::vector<FeedStatus> statuses_;  // parallel to feeds_
  bool wake_ = false;
  std::jthread thread_;
};

// Export of stored indicators.
struct ExportOptions {
  std::vector<std::string> collections;  // ids or aliases; empty: every collection
  // False hides an object (TLP for ReadPath::kExport, collection access). Unset: all.
  std::function<bool(const ObjectMeta&)> visible;
  std::string org_name = "Aegis";               // MISP Orgc / Org name
  std::string info = "Aegis indicator export";  // MISP event info
};

struct ExportReport {
  uint64_t indicators = 0;  // STIX indicator objects exported
  uint64_t rows = 0;        // CSV rows / MISP attributes (one per pattern comparison)
  uint64_t skipped = 0;     // indicators whose pattern has no CSV/MISP equivalent
  std::string event_uuid;   // MISP
};

// A STIX 2.1 bundle of the latest visible indicator versions.
Result<ExportReport> ExportStixBundle(StixStore& store, const ExportOptions& options,
                                      std::ostream& out);
// CSV with header type,value,first_seen,tlp,confidence,source (RFC 4180 quoting).
Result<ExportReport> ExportCsv(StixStore& store, const ExportOptions& options, std::ostream& out);
// A MISP feed folder: manifest.json, one <uuid>.json event with one Attribute per
// indicator value (to_ids, TLP tags), and hashes.csv. Creates `dir` when missing;
// an existing manifest.json there is kept and extended (earlier exports stay listed).
Result<ExportReport> ExportMispFeed(StixStore& store, const ExportOptions& options,
                                    const std::filesystem::path& dir);

}  // namespace aegis::intel
