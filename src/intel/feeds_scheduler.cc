// FeedScheduler: runs feeds at their intervals on one background thread, and the
// status views (JSON, Prometheus text). See intel/feeds.h.
#include <algorithm>

#include "core/event.h"
#include "core/strings.h"
#include "intel/feeds.h"

namespace aegis::intel {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Prometheus label values escape backslash, double quote and newline.
std::string LabelValue(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

FeedScheduler::FeedScheduler(std::unique_ptr<FeedImporter> importer, std::vector<FeedConfig> feeds)
    : importer_(std::move(importer)), feeds_(std::move(feeds)) {
  for (const FeedConfig& feed : feeds_) {
    FeedStatus status;
    status.name = feed.name;
    status.enabled = feed.enabled;
    status.interval_ms = feed.interval.count();
    statuses_.push_back(std::move(status));
  }
}

FeedScheduler::~FeedScheduler() { Stop(); }

void FeedScheduler::SetRunHook(std::function<void(const FeedRunReport&)> hook) {
  run_hook_ = std::move(hook);
}

void FeedScheduler::Start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(status_mutex_);
    int64_t now = NowNs();
    for (FeedStatus& status : statuses_) status.next_run_ns = status.enabled ? now : 0;
  }
  thread_ = std::jthread([this](std::stop_token stop) { Loop(stop); });
}

void FeedScheduler::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();  // wakes the condition variable wait (stop_token overload)
  wake_cv_.notify_all();
  thread_.join();
}

bool FeedScheduler::RunNow(std::string_view name) {
  std::lock_guard lock(status_mutex_);
  for (FeedStatus& status : statuses_) {
    if (status.name != name) continue;
    status.next_run_ns = NowNs();
    wake_ = true;
    wake_cv_.notify_all();
    return true;
  }
  return false;
}

std::vector<FeedStatus> FeedScheduler::Snapshot() const {
  std::lock_guard lock(status_mutex_);
  return statuses_;
}

void FeedScheduler::Loop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    // The due feed with the earliest next run.
    size_t due = feeds_.size();
    int64_t earliest = 0;
    {
      std::unique_lock lock(status_mutex_);
      for (size_t i = 0; i < statuses_.size(); ++i) {
        if (!statuses_[i].enabled) continue;
        if (due == feeds_.size() || statuses_[i].next_run_ns < earliest) {
          due = i;
          earliest = statuses_[i].next_run_ns;
        }
      }
      int64_t now = NowNs();
      if (due == feeds_.size() || earliest > now) {
        wake_ = false;
        auto wait = due == feeds_.size() ? std::chrono::nanoseconds(std::chrono::hours(24))
                                         : std::chrono::nanoseconds(earliest - now);
        wake_cv_.wait_for(lock, stop, wait, [this] { return wake_; });
        continue;
      }
    }
    const FeedConfig& feed = feeds_[due];
    ImportControl control;
    control.stop_requested = [&stop] { return stop.stop_requested(); };
    FeedRunReport report;
    auto run = importer_->Run(feed, control);
    if (run) {
      report = std::move(*run);
    } else {
      report.feed = feed.name;
      report.status = "failed";
      report.started_ns = report.finished_ns = NowNs();
      report.errors.push_back(run.error());
    }
    {
      std::lock_guard lock(status_mutex_);
      FeedStatus& status = statuses_[due];
      status.last_run_ns = report.finished_ns;
      status.next_run_ns = NowNs() + std::chrono::nanoseconds(feed.interval).count();
      status.last_status = report.status;
      status.last_error = report.errors.empty() ? "" : report.errors.front().ToString();
      ++status.runs;
      status.imported += report.imported;
      status.duplicates += report.duplicates;
      status.rejected += report.rejected;
      status.errors += report.errors.size() + report.failed;
    }
    if (run_hook_) run_hook_(report);
  }
}

std::string FeedStatusJson(const std::vector<FeedStatus>& statuses) {
  std::string out = "[";
  for (size_t i = 0; i < statuses.size(); ++i) {
    const FeedStatus& s = statuses[i];
    if (i) out.push_back(',');
    out += "{\"name\":";
    AppendJsonString(out, s.name);
    out += ",\"enabled\":" + std::string(s.enabled ? "true" : "false");
    out += ",\"interval_ms\":" + std::to_string(s.interval_ms);
    out += ",\"last_run\":";
    AppendJsonString(out, s.last_run_ns ? FormatTime(s.last_run_ns) : "");
    out += ",\"next_run\":";
    AppendJsonString(out, s.next_run_ns ? FormatTime(s.next_run_ns) : "");
    out += ",\"last_status\":";
    AppendJsonString(out, s.last_status);
    out += ",\"last_error\":";
    AppendJsonString(out, s.last_error);
    out += ",\"runs\":" + std::to_string(s.runs);
    out += ",\"imported\":" + std::to_string(s.imported);
    out += ",\"duplicates\":" + std::to_string(s.duplicates);
    out += ",\"rejected\":" + std::to_string(s.rejected);
    out += ",\"errors\":" + std::to_string(s.errors);
    out.push_back('}');
  }
  out.push_back(']');
  return out;
}

std::string FeedStatusPrometheus(const std::vector<FeedStatus>& statuses) {
  struct Series {
    std::string_view name, type, help;
    uint64_t FeedStatus::*field;
  };
  static constexpr Series kCounters[] = {
      {"aegis_feed_runs_total", "counter", "Feed runs since start.", &FeedStatus::runs},
      {"aegis_feed_imported_total", "counter", "STIX objects added by feed runs.",
       &FeedStatus::imported},
      {"aegis_feed_duplicates_total", "counter", "Feed objects already stored.",
       &FeedStatus::duplicates},
      {"aegis_feed_rejected_total", "counter", "Junk feed lines, values or objects.",
       &FeedStatus::rejected},
      {"aegis_feed_errors_total", "counter", "Feed fetch, parse and store errors.",
       &FeedStatus::errors},
  };
  std::string out;
  for (const Series& series : kCounters) {
    out += "# HELP " + std::string(series.name) + " " + std::string(series.help) + "\n";
    out += "# TYPE " + std::string(series.name) + " " + std::string(series.type) + "\n";
    for (const FeedStatus& s : statuses) {
      out += std::string(series.name) + "{feed=\"" + LabelValue(s.name) + "\"} " +
             std::to_string(s.*series.field) + "\n";
    }
  }
  out += "# HELP aegis_feed_last_run_timestamp_seconds When the feed last finished a run.\n";
  out += "# TYPE aegis_feed_last_run_timestamp_seconds gauge\n";
  for (const FeedStatus& s : statuses) {
    out += "aegis_feed_last_run_timestamp_seconds{feed=\"" + LabelValue(s.name) + "\"} " +
           std::to_string(s.last_run_ns / 1'000'000'000) + "\n";
  }
  out +=
      "# HELP aegis_feed_last_run_ok Whether the feed's last run succeeded (ok or not-modified).\n";
  out += "# TYPE aegis_feed_last_run_ok gauge\n";
  for (const FeedStatus& s : statuses) {
    bool ok = s.last_status == "ok" || s.last_status == "not-modified";
    out += "aegis_feed_last_run_ok{feed=\"" + LabelValue(s.name) + "\"} " + (ok ? "1" : "0") + "\n";
  }
  return out;
}

}  // namespace aegis::intel
