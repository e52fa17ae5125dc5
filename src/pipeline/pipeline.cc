// Implementation of the pipeline stages' glue: sinks, the alert router, the intel
// set and the offline scan.
#include "pipeline/pipeline.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

namespace aegis::pipeline {

// ---- sinks ----------------------------------------------------------------------

JsonLinesSink::JsonLinesSink(std::FILE* out) : out_(out) {}

Result<std::unique_ptr<JsonLinesSink>> JsonLinesSink::OpenFile(const std::string& path) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr) {
    Error e;
    e.where = path;
    e.reason = "cannot open alert file for appending";
    return std::unexpected(e);
  }
  auto sink = std::make_unique<JsonLinesSink>(f);
  sink->owned_ = true;
  return sink;
}

JsonLinesSink::~JsonLinesSink() {
  if (owned_ && out_ != nullptr) std::fclose(out_);
}

void JsonLinesSink::Write(const Alert& alert) {
  std::string line = AlertToJson(alert);
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), out_);
}

void JsonLinesSink::Flush() { std::fflush(out_); }

StoreSink::StoreSink(store::Store* store, size_t batch) : store_(store), batch_(batch) {}

StoreSink::~StoreSink() { Flush(); }

void StoreSink::Write(const Alert& alert) {
  pending_.push_back(alert);
  if (pending_.size() >= batch_) Flush();
}

void StoreSink::Repeat(const std::string& id, uint32_t n) {
  // Still in the batch: count it there; otherwise raise the stored count on Flush().
  for (Alert& a : pending_) {
    if (a.id == id) {
      a.count += n;
      return;
    }
  }
  pending_repeats_[id] += n;
}

void StoreSink::Flush() {
  if (!pending_.empty()) {
    if (auto ok = store_->PutAlerts(pending_); !ok) {
      ++errors_;
      last_error_ = ok.error();
    }
    pending_.clear();
  }
  if (!pending_repeats_.empty()) {
    std::vector<std::pair<std::string, uint32_t>> repeats(pending_repeats_.begin(),
                                                          pending_repeats_.end());
    if (auto ok = store_->AddAlertRepeats(repeats); !ok) {
      ++errors_;
      last_error_ = ok.error();
    }
    pending_repeats_.clear();
  }
}

// ---- router ---------------------------------------------------------------------

AlertRouter::AlertRouter(int64_t dedup_window_ns, std::vector<AlertSink*> sinks)
    : dedup_(dedup_window_ns), sinks_(std::move(sinks)) {}

void AlertRouter::Route(std::vector<Alert>& alerts) {
  if (alerts.empty()) return;
  std::lock_guard lock(mutex_);
  std::string repeat_of;
  for (const Alert& a : alerts) {
    if (!dedup_.Admit(a, &repeat_of)) {
      for (AlertSink* sink : sinks_) sink->Repeat(repeat_of, 1);
      continue;
    }
    ++per_rule_[a.rule];
    emitted_.fetch_add(1, std::memory_order_relaxed);
    for (AlertSink* sink : sinks_) sink->Write(a);
  }
  alerts.clear();
}

void AlertRouter::Flush() {
  std::lock_guard lock(mutex_);
  for (AlertSink* sink : sinks_) sink->Flush();
}

uint64_t AlertRouter::suppressed() const {
  std::lock_guard lock(mutex_);
  return dedup_.suppressed();
}

std::map<std::string, uint64_t> AlertRouter::per_rule() const {
  std::lock_guard lock(mutex_);
  return per_rule_;
}

// ---- intel ----------------------------------------------------------------------

Result<intel::LoadReport> IntelSet::Load(const std::vector<std::string>& paths,
                                         const Options& options) {
  paths_ = paths;
  options_ = options;
  return Reload();
}

Result<intel::LoadReport> IntelSet::Reload() {
  auto start = std::chrono::steady_clock::now();
  detect::IndexBuilder builder;
  intel::LoadReport total;
  for (const std::string& path : paths_) {
    auto report = intel::LoadPath(path, options_.load, builder);
    if (!report) return std::unexpected(report.error());
    total.files += report->files;
    total.accepted += report->accepted;
    total.rejected += report->rejected;
    total.not_loaded += report->not_loaded;
    for (const auto& [k, v] : report->rejected_by_reason) total.rejected_by_reason[k] += v;
    for (const auto& [k, v] : report->not_loaded_by_reason) total.not_loaded_by_reason[k] += v;
    for (const auto& [k, v] : report->accepted_by_type) total.accepted_by_type[k] += v;
    for (auto& r : report->rejects) {
      if (total.rejects.size() < options_.load.max_rejects) total.rejects.push_back(std::move(r));
    }
    for (auto& e : report->errors) total.errors.push_back(std::move(e));
  }
  if (options_.store != nullptr) {
    // Stored indicators carry their own metadata; equal metadata is shared by the builder.
    auto counted = options_.store->ForEachIndicator([&](const Indicator& ind) {
      detect::MetaId meta = builder.AddMeta(ind.meta);
      builder.Add(ind.type, ind.value, meta);
      ++total.accepted;
      ++total.accepted_by_type[std::string(IndicatorTypeName(ind.type))];
    });
    if (!counted) return std::unexpected(counted.error());
  }
  handle_.Swap(builder.Build());
  last_load_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return total;
}

namespace {

// Newest modification time of the paths and everything under them.
int64_t NewestMtime(const std::vector<std::string>& paths) {
  int64_t newest = 0;
  std::error_code ec;
  for (const std::string& p : paths) {
    std::filesystem::path path(p);
    auto consider = [&](const std::filesystem::path& f) {
      struct stat st {};
      if (::stat(f.c_str(), &st) == 0) {
        int64_t t = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
        if (t > newest) newest = t;
      }
    };
    consider(path);
    if (std::filesystem::is_directory(path, ec)) {
      for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
           it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        consider(it->path());
      }
    }
  }
  return newest;
}

}  // namespace

int64_t IntelSet::SourcesMtime() const { return NewestMtime(paths_); }

Result<detect::sigma::LoadResult> SigmaSet::Load(const std::vector<std::string>& paths,
                                                 detect::sigma::LoadOptions options) {
  paths_ = paths;
  options_ = std::move(options);
  return Reload();
}

Result<detect::sigma::LoadResult> SigmaSet::Reload() {
  const auto start = std::chrono::steady_clock::now();
  auto loaded = detect::sigma::LoadRules(paths_, options_);
  if (!loaded) return loaded;
  last_load_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  handle_.Set(loaded->rules);
  return loaded;
}

int64_t SigmaSet::SourcesMtime() const {
  std::vector<std::string> all = paths_;
  if (!options_.logsource_mapping_path.empty()) all.push_back(options_.logsource_mapping_path);
  return NewestMtime(all);
}

// ---- bad records ----------------------------------------------------------------

void ReportingSink::Reject(const ingest::BadRecord& bad) {
  if (next_ != nullptr) next_->Reject(bad);
  if (fn_) {
    std::lock_guard lock(mutex_);
    fn_(bad);
  }
}

Result<void> CheckDeadLetterPath(const std::string& path) {
  if (path.empty()) return {};
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr) {
    Error e;
    e.where = path;
    e.reason = std::string("cannot write the dead-letter file: ") + std::strerror(errno);
    return std::unexpected(e);
  }
  std::fclose(f);
  return {};
}

// ---- scan -----------------------------------------------------------------------

namespace {

uint64_t InputSize(const std::string& path) {
  if (path == "-") return 0;
  std::error_code ec;
  std::filesystem::path p(path);
  if (std::filesystem::is_regular_file(p, ec)) return std::filesystem::file_size(p, ec);
  uint64_t total = 0;
  if (std::filesystem::is_directory(p, ec)) {
    for (auto it = std::filesystem::recursive_directory_iterator(p, ec);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (it->is_regular_file(ec)) total += it->file_size(ec);
    }
  }
  return total;
}

void AddStats(ingest::ReaderStats& into, const ingest::ReaderStats& s) {
  into.files += s.files;
  into.records += s.records;
  into.events += s.events;
  into.bad_records += s.bad_records;
  into.bytes += s.bytes;
  into.damaged_files += s.damaged_files;
  into.skipped_files += s.skipped_files;
}

}  // namespace

Result<ScanSummary> Scan(const ScanOptions& options, const detect::IndexHandle* index,
                         AlertRouter& router) {
  auto start = std::chrono::steady_clock::now();
  if (auto ok = CheckDeadLetterPath(options.dead_letter_path); !ok) {
    return std::unexpected(ok.error());
  }
  ingest::DeadLetterFile dead_file(options.dead_letter_path);
  ReportingSink dead_letters(&dead_file, options.on_bad_record);
  ScanSummary summary;
  std::mutex summary_mutex;  // guards summary while workers run

  uint64_t total_bytes = 0;
  for (const auto& p : options.paths) total_bytes += InputSize(p);
  std::atomic<uint64_t> done_bytes{0};
  std::atomic<size_t> next_input{0};

  // With several workers, folders are split into their files (largest first) so that
  // the workers share them; one folder would otherwise be one worker's job. A file's
  // events stay in order within that file.
  std::vector<std::string> inputs;
  if (options.threads > 1) {
    std::vector<std::pair<uint64_t, std::string>> sized;
    for (const std::string& p : options.paths) {
      std::error_code ec;
      if (p != "-" && std::filesystem::is_directory(p, ec)) {
        for (auto it = std::filesystem::recursive_directory_iterator(
                 p, std::filesystem::directory_options::skip_permission_denied, ec);
             !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
          std::error_code entry_error;
          if (it->is_regular_file(entry_error)) {
            sized.emplace_back(it->file_size(entry_error), it->path().string());
          }
        }
        if (!ec) continue;
      }
      sized.emplace_back(0, p);
    }
    std::sort(sized.begin(), sized.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    for (auto& [size, path] : sized) inputs.push_back(std::move(path));
  } else {
    inputs = options.paths;
  }

  // One correlation state for all workers: a correlation sees every input.
  detect::sigma::DetectorOptions sigma_options;
  sigma_options.include_event_json = options.include_event_json;
  if (options.sigma) {
    sigma_options.correlations =
        detect::sigma::MakeCorrelationHub(sigma_options.correlation_max_groups);
  }
  auto worker = [&] {
    std::vector<std::unique_ptr<detect::Detector>> detectors;
    detectors.push_back(detect::MakeIndicatorDetector(index, options.include_event_json));
    if (options.sigma) {
      detectors.push_back(detect::sigma::MakeSigmaDetector(options.sigma, sigma_options));
    }
    std::vector<Alert> alerts;
    Event event;
    while (true) {
      size_t i = next_input.fetch_add(1);
      if (i >= inputs.size()) break;
      auto reader = ingest::EventReader::Open(inputs[i], options.reader, &dead_letters);
      if (!reader) {
        std::lock_guard lock(summary_mutex);
        ++summary.inputs_failed;
        summary.input_errors.push_back(reader.error());
        continue;
      }
      uint64_t reported = 0;
      uint64_t n = 0;
      while ((*reader)->Next(event)) {
        for (auto& detector : detectors) detector->Inspect(event, alerts);
        if (!alerts.empty()) router.Route(alerts);
        if (options.progress && (++n & 0x3fff) == 0) {
          uint64_t now_done = (*reader)->progress_bytes();
          done_bytes.fetch_add(now_done - reported);
          reported = now_done;
          options.progress(done_bytes.load(), total_bytes);
        }
      }
      uint64_t final_done = (*reader)->progress_bytes();
      if (final_done > reported) done_bytes.fetch_add(final_done - reported);
      if (options.progress) options.progress(done_bytes.load(), total_bytes);
      std::lock_guard lock(summary_mutex);
      AddStats(summary.reader, (*reader)->stats());
    }
    // This worker's Sigma counters (the indicator detector has none).
    for (const auto& detector : detectors) {
      const auto s = detect::sigma::SigmaDetectorStats(*detector);
      std::lock_guard lock(summary_mutex);
      summary.sigma.matcher += s.matcher;
    }
  };

  int threads = std::max(1, std::min<int>(options.threads, static_cast<int>(inputs.size())));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  router.Flush();
  if (sigma_options.correlations) {
    const auto hub = detect::sigma::CorrelationHubStats(*sigma_options.correlations);
    summary.sigma.correlation_evicted = hub.correlation_evicted;
    summary.sigma.correlation_groups = hub.correlation_groups;
  }

  summary.alerts = router.emitted();
  summary.suppressed = router.suppressed();
  summary.alerts_per_rule = router.per_rule();
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace aegis::pipeline
