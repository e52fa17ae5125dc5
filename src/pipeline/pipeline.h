// Pipeline: wires the stages together — inputs -> parsers -> detectors ->
// de-duplication -> alert sinks (JSON lines, the store) — for both the offline hunt
// (`aegis scan`) and the continuous service (`aegis run`).
//
//   aegis::pipeline::IntelSet intel;                      // builds and reloads the index
//   intel.Load({"trails/"}, {});
//   aegis::pipeline::ScanOptions opts{.paths = {"logs/"}};
//   aegis::pipeline::JsonLinesSink out(stdout);
//   auto summary = aegis::pipeline::Scan(opts, intel.handle(), {&out});
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/alert.h"
#include "core/error.h"
#include "detect/detect.h"
#include "detect/indicator_index.h"
#include "detect/sigma.h"
#include "ingest/ingest.h"
#include "intel/intel.h"
#include "store/store.h"

namespace aegis::pipeline {

// Receives alerts that survived de-duplication. Called under the pipeline's alert lock
// (one caller at a time).
class AlertSink {
 public:
  virtual ~AlertSink() = default;
  virtual void Write(const Alert& alert) = 0;
  // `n` more repeats were folded into the alert `id` written earlier. Sinks that can
  // update what they wrote (the store) raise its count; append-only sinks ignore it.
  virtual void Repeat(const std::string& id, uint32_t n) {}
  virtual void Flush() {}
};

// One JSON object per line, to a FILE* (stdout) or a file it opens for appending.
class JsonLinesSink : public AlertSink {
 public:
  explicit JsonLinesSink(std::FILE* out);
  static Result<std::unique_ptr<JsonLinesSink>> OpenFile(const std::string& path);
  ~JsonLinesSink() override;
  void Write(const Alert& alert) override;
  void Flush() override;

 private:
  std::FILE* out_;
  bool owned_ = false;
};

// Batches alerts into the store (flushes every `batch` alerts and on Flush()).
class StoreSink : public AlertSink {
 public:
  StoreSink(store::Store* store, size_t batch = 512);
  ~StoreSink() override;
  void Write(const Alert& alert) override;
  void Repeat(const std::string& id, uint32_t n) override;
  void Flush() override;
  uint64_t errors() const { return errors_; }
  const std::optional<Error>& last_error() const { return last_error_; }

 private:
  store::Store* store_;
  size_t batch_;
  std::vector<Alert> pending_;
  std::map<std::string, uint32_t> pending_repeats_;  // for alerts already stored
  uint64_t errors_ = 0;
  std::optional<Error> last_error_;
};

// A function sink, e.g. for printing a short line per alert in a terminal.
class CallbackSink : public AlertSink {
 public:
  explicit CallbackSink(std::function<void(const Alert&)> fn) : fn_(std::move(fn)) {}
  void Write(const Alert& alert) override { fn_(alert); }

 private:
  std::function<void(const Alert&)> fn_;
};

// De-duplicates alerts and fans them out to sinks; thread-safe.
class AlertRouter {
 public:
  AlertRouter(int64_t dedup_window_ns, std::vector<AlertSink*> sinks);
  void Route(std::vector<Alert>& alerts);
  void Flush();
  uint64_t emitted() const { return emitted_.load(); }
  uint64_t suppressed() const;
  // Alerts emitted per rule (indicator value), for summaries; repeats not included.
  std::map<std::string, uint64_t> per_rule() const;

 private:
  mutable std::mutex mutex_;  // guards dedup_, sinks_, per_rule_
  detect::AlertDeduplicator dedup_;
  std::vector<AlertSink*> sinks_;
  std::map<std::string, uint64_t> per_rule_;
  std::atomic<uint64_t> emitted_{0};
};

// Indicator sources and the live index built from them. Reload() builds a new index on
// the side and swaps it in: matching never pauses.
class IntelSet {
 public:
  struct Options {
    intel::LoadOptions load;
    store::Store* store = nullptr;  // also load indicators kept in the store
  };
  IntelSet() = default;
  // Loads `paths` (files or folders) and the store's indicators, builds, swaps.
  Result<intel::LoadReport> Load(const std::vector<std::string>& paths, const Options& options);
  // Rebuilds from the same sources.
  Result<intel::LoadReport> Reload();
  const detect::IndexHandle* handle() const { return &handle_; }
  detect::IndexHandle* handle() { return &handle_; }
  double last_load_seconds() const { return last_load_seconds_; }
  // Newest modification time over all sources, to detect changes.
  int64_t SourcesMtime() const;

 private:
  std::vector<std::string> paths_;
  Options options_;
  detect::IndexHandle handle_;
  double last_load_seconds_ = 0;
};

// The Sigma rules of a running service: loads, reloads (swapping atomically; events
// never wait), and tells when the rule files changed.
class SigmaSet {
 public:
  Result<detect::sigma::LoadResult> Load(const std::vector<std::string>& paths,
                                         detect::sigma::LoadOptions options);
  // Loads the same paths again. On an error (a path gone), the current rules stay.
  Result<detect::sigma::LoadResult> Reload();
  const detect::sigma::RuleSetHandle* handle() const { return &handle_; }
  double last_load_seconds() const { return last_load_seconds_; }
  // Newest modification time over the rule files and the logsource mapping.
  int64_t SourcesMtime() const;

 private:
  std::vector<std::string> paths_;
  detect::sigma::LoadOptions options_;
  detect::sigma::RuleSetHandle handle_;
  double last_load_seconds_ = 0;
};

struct ScanOptions {
  std::vector<std::string> paths;    // files, folders, or "-" for stdin
  ingest::ReaderOptions reader;
  int threads = 1;                   // inputs are spread over this many workers
  bool include_event_json = true;    // embed the event in each alert
  std::string dead_letter_path;      // empty: count bad records without writing them
  // Called now and then from worker threads with (bytes done, bytes total).
  std::function<void(uint64_t, uint64_t)> progress;
  // Called for every bad record (from worker threads, one call at a time), e.g. to
  // show the first few on the terminal.
  std::function<void(const ingest::BadRecord&)> on_bad_record;
  // Sigma rules to run as well as the indicators (nullptr: none).
  const detect::sigma::RuleSetHandle* sigma = nullptr;
};

struct ScanSummary {
  ingest::ReaderStats reader;        // summed over inputs
  uint64_t inputs_failed = 0;        // paths that could not be opened at all
  std::vector<Error> input_errors;
  uint64_t alerts = 0;               // emitted after de-duplication
  uint64_t suppressed = 0;           // folded into earlier alerts
  double seconds = 0;
  std::map<std::string, uint64_t> alerts_per_rule;
  detect::sigma::DetectorStats sigma;  // summed over workers (zeros without --sigma)
};

// A BadRecordSink that forwards to another sink and also calls a function, one call
// at a time.
class ReportingSink : public ingest::BadRecordSink {
 public:
  ReportingSink(ingest::BadRecordSink* next, std::function<void(const ingest::BadRecord&)> fn)
      : next_(next), fn_(std::move(fn)) {}
  void Reject(const ingest::BadRecord& bad) override;

 private:
  ingest::BadRecordSink* next_;
  std::function<void(const ingest::BadRecord&)> fn_;
  std::mutex mutex_;  // serialises fn_
};

// Checks that a dead-letter file can be created or appended to (creating its folder).
Result<void> CheckDeadLetterPath(const std::string& path);

// Offline hunt: reads every path once, matches, routes alerts.
Result<ScanSummary> Scan(const ScanOptions& options, const detect::IndexHandle* index,
                         AlertRouter& router);

}  // namespace aegis::pipeline
