// `aegis run`: threads per input, one alert router, periodic flush and intel reload.
#include "pipeline/service.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "detect/detect.h"
#include "ingest/ingest.h"
#include "ingest/syslog_listener.h"
#include "pipeline/pipeline.h"
#include "store/store.h"

namespace aegis::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

// Prints one short line per alert for a person watching the terminal.
void PrintConsoleAlert(const Alert& a) {
  std::string where = a.event_source;
  if (a.event_line) where += ":" + std::to_string(a.event_line);
  std::string when = a.event_time_ns != 0 ? FormatTime(a.event_time_ns) : "(event has no time)       ";
  std::fprintf(stderr, "ALERT %s %-8s %s  [%s]\n", when.c_str(),
               std::string(SeverityName(a.severity)).c_str(), a.title.c_str(), where.c_str());
}

}  // namespace

Result<ServiceStats> RunService(const Config& config, const ServiceOptions& options) {
  // Logs go to stderr: stdout may carry alerts (alerts.jsonl = "-").
  if (spdlog::get("aegis") == nullptr) spdlog::set_default_logger(spdlog::stderr_color_mt("aegis"));
  if (auto level = spdlog::level::from_str(config.log_level); level != spdlog::level::off ||
                                                               config.log_level == "off") {
    spdlog::set_level(level);
  }
  auto opened = store::Open(config.store_url);
  if (!opened) return std::unexpected(opened.error());
  std::unique_ptr<store::Store> db = std::move(*opened);
  spdlog::info("store: {} (schema version {})", config.store_url, db->schema_version());

  IntelSet intel;
  IntelSet::Options intel_opts;
  intel_opts.load.allow_private = config.intel_allow_private;
  intel_opts.load.defaults.tlp = config.intel_default_tlp;
  intel_opts.load.defaults.confidence = config.intel_default_confidence;
  intel_opts.store = db.get();
  auto report = intel.Load(config.intel_paths, intel_opts);
  if (!report) return std::unexpected(report.error());
  {
    auto snap = intel.handle()->Snapshot();
    spdlog::info("intel: {} indicators loaded in {:.2f}s ({} rejected, {} not loaded), index {} bytes",
                 report->accepted, intel.last_load_seconds(), report->rejected, report->not_loaded,
                 snap->stats().memory_bytes);
  }
  for (const Error& e : report->errors) spdlog::warn("intel: {}", e.ToString());

  SigmaSet sigma;
  const bool sigma_on = !config.sigma.paths.empty();
  auto log_sigma = [&](const detect::sigma::LoadResult& r, std::string_view verb) {
    spdlog::info("sigma: {} {} rules and {} correlations in {:.2f}s ({} did not load, {} without "
                 "a logsource mapping, {} inactive)",
                 verb, r.rules_loaded, r.correlations, sigma.last_load_seconds(), r.issues.size(),
                 r.unrouted, r.inactive);
    size_t shown = 0;
    for (const auto& issue : r.issues) {
      if (++shown > 20) {
        spdlog::warn("sigma: ... {} more rules did not load (aegis sigma check lists them)",
                     r.issues.size() - 20);
        break;
      }
      spdlog::warn("sigma: {}:{}: {}: {}", issue.path, issue.line, issue.rule, issue.reason);
    }
  };
  if (sigma_on) {
    detect::sigma::LoadOptions sigma_opts;
    sigma_opts.filter.min_level = ParseSeverity(config.sigma.min_level).value_or(Severity::kInformational);
    sigma_opts.filter.statuses = config.sigma.statuses;
    sigma_opts.filter.tags = config.sigma.tags;
    sigma_opts.logsource_mapping_path = config.sigma.logsources;
    sigma_opts.placeholders = config.sigma.placeholders;
    auto loaded = sigma.Load(config.sigma.paths, sigma_opts);
    if (!loaded) return std::unexpected(loaded.error());
    log_sigma(*loaded, "loaded");
  }
  detect::sigma::DetectorOptions sigma_detector_opts;
  sigma_detector_opts.include_event_json = config.include_event;
  sigma_detector_opts.correlation_max_groups = static_cast<size_t>(config.sigma.correlation_max_groups);
  // One correlation state for every input: a correlation sees all of them.
  if (sigma_on) {
    sigma_detector_opts.correlations =
        detect::sigma::MakeCorrelationHub(sigma_detector_opts.correlation_max_groups);
  }
  // One set of detectors per thread: indicators, and Sigma when configured.
  auto make_detectors = [&] {
    std::vector<std::unique_ptr<detect::Detector>> d;
    d.push_back(
        detect::MakeIndicatorDetector(intel.handle(), options.live_index.get(), config.include_event));
    if (sigma_on) d.push_back(detect::sigma::MakeSigmaDetector(sigma.handle(), sigma_detector_opts));
    return d;
  };

  std::vector<AlertSink*> sinks;
  std::unique_ptr<JsonLinesSink> jsonl;
  if (config.alerts_jsonl == "-") {
    jsonl = std::make_unique<JsonLinesSink>(stdout);
  } else if (!config.alerts_jsonl.empty()) {
    auto f = JsonLinesSink::OpenFile(config.alerts_jsonl);
    if (!f) return std::unexpected(f.error());
    jsonl = std::move(*f);
  }
  if (jsonl) sinks.push_back(jsonl.get());
  StoreSink store_sink(db.get());
  sinks.push_back(&store_sink);
  CallbackSink console(PrintConsoleAlert);
  if (config.console) sinks.push_back(&console);
  for (AlertSink* extra : options.extra_sinks) {
    if (extra != nullptr) sinks.push_back(extra);
  }
  AlertRouter router(config.dedup_window_ns, sinks);

  if (auto ok = CheckDeadLetterPath(config.dead_letter_path); !ok) return std::unexpected(ok.error());
  ingest::DeadLetterFile dead_letters(config.dead_letter_path);

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> events{0};
  std::vector<std::thread> threads;

  // File and stdin inputs: one reader thread each, following growth.
  for (const InputConfig& input : config.inputs) {
    if (input.type != "file" && input.type != "stdin") continue;
    std::string path = input.type == "stdin" ? "-" : input.path;
    ingest::ReaderOptions ropts;
    ropts.format = input.format;
    ropts.follow = input.type == "file" && input.follow;
    ropts.stop = &stop;
    auto reader = ingest::EventReader::Open(path, ropts, &dead_letters);
    if (!reader) {
      stop.store(true);
      for (auto& t : threads) t.join();
      return std::unexpected(reader.error());
    }
    spdlog::info("input: {}{}", path, ropts.follow ? " (following)" : "");
    threads.emplace_back([&, r = std::shared_ptr<ingest::EventReader>(std::move(*reader))] {
      auto detectors = make_detectors();
      std::vector<Alert> alerts;
      Event event;
      while (r->Next(event)) {
        events.fetch_add(1, std::memory_order_relaxed);
        for (auto& detector : detectors) detector->Inspect(event, alerts);
        if (!alerts.empty()) router.Route(alerts);
      }

    });
  }

  // Syslog listeners: detection runs on the listener's threads, one detector per
  // listener guarded by its own lock.
  struct ListenerState {
    std::unique_ptr<ingest::SyslogListener> listener;
    std::vector<std::unique_ptr<detect::Detector>> detectors;
    std::mutex detector_mutex;  // guards detectors and alerts
    std::vector<Alert> alerts;
  };
  std::vector<std::unique_ptr<ListenerState>> listeners;
  auto start_listener = [&](const std::string& address, bool udp,
                            bool tcp) -> std::optional<Error> {
    auto state = std::make_unique<ListenerState>();
    state->detectors = make_detectors();
    ingest::SyslogListenerOptions lopts;
    lopts.bind_addresses = {address};
    lopts.udp = udp;
    lopts.tcp = tcp;
    ListenerState* raw_state = state.get();
    auto started = ingest::SyslogListener::Start(
        lopts,
        [&, raw_state](Event& ev) {
          events.fetch_add(1, std::memory_order_relaxed);
          std::lock_guard lock(raw_state->detector_mutex);
          for (auto& detector : raw_state->detectors) detector->Inspect(ev, raw_state->alerts);
          if (!raw_state->alerts.empty()) router.Route(raw_state->alerts);
        },
        &dead_letters);
    if (!started) return started.error();
    state->listener = std::move(*started);
    for (const auto& b : state->listener->bound()) spdlog::info("input: syslog {}", b.address);
    listeners.push_back(std::move(state));
    return std::nullopt;
  };
  for (const InputConfig& input : config.inputs) {
    if (input.type != "syslog") continue;
    std::optional<Error> failed;
    uint16_t udp_port = 0, tcp_port = 0;
    if (!input.udp.empty() && input.udp == input.tcp) {
      failed = start_listener(input.udp, true, true);
      if (!failed) {
        udp_port = listeners.back()->listener->udp_port();
        tcp_port = listeners.back()->listener->tcp_port();
      }
    } else {
      if (!input.udp.empty()) {
        failed = start_listener(input.udp, true, false);
        if (!failed) udp_port = listeners.back()->listener->udp_port();
      }
      if (!failed && !input.tcp.empty()) {
        failed = start_listener(input.tcp, false, true);
        if (!failed) tcp_port = listeners.back()->listener->tcp_port();
      }
    }
    if (failed) {
      stop.store(true);
      for (auto& l : listeners) l->listener->Stop();
      for (auto& t : threads) t.join();
      return std::unexpected(*failed);
    }
    if (options.on_listening) options.on_listening(udp_port, tcp_port);
  }

  ServiceStats stats;
  const auto started_at = Clock::now();
  auto last_flush = started_at;
  auto last_check = started_at;
  int64_t sources_mtime = intel.SourcesMtime();
  int64_t sigma_mtime = sigma_on ? sigma.SourcesMtime() : 0;
  auto last_sigma_check = started_at;
  spdlog::info("running: {} input(s); Ctrl-C stops, SIGHUP reloads indicators{}",
               config.inputs.size(), sigma_on ? " and Sigma rules" : "");
  while (true) {
    if (options.stop != nullptr && options.stop->load()) break;
    auto now = Clock::now();
    if (options.duration_ns > 0 &&
        now - started_at >= std::chrono::nanoseconds(options.duration_ns)) {
      break;
    }
    const bool signalled = options.reload != nullptr && options.reload->load();
    bool reload_now = signalled;
    if (!reload_now && config.intel_reload_interval_ns > 0 &&
        now - last_check >= std::chrono::nanoseconds(config.intel_reload_interval_ns)) {
      last_check = now;
      int64_t m = intel.SourcesMtime();
      if (m != sources_mtime) {
        sources_mtime = m;
        reload_now = true;
      }
    }
    bool reload_sigma = sigma_on && signalled;
    if (sigma_on && !reload_sigma && config.sigma.reload_interval_ns > 0 &&
        now - last_sigma_check >= std::chrono::nanoseconds(config.sigma.reload_interval_ns)) {
      last_sigma_check = now;
      const int64_t m = sigma.SourcesMtime();
      if (m != sigma_mtime) {
        sigma_mtime = m;
        reload_sigma = true;
      }
    }
    if (reload_sigma) {
      auto r = sigma.Reload();
      if (r) {
        ++stats.sigma_reloads;
        log_sigma(*r, "reloaded");
      } else {
        spdlog::error("sigma: reload failed, keeping the current rules: {}", r.error().ToString());
      }
    }
    if (reload_now) {
      if (options.reload != nullptr) options.reload->store(false);
      auto r = intel.Reload();
      if (r) {
        ++stats.reloads;
        spdlog::info("intel: reloaded {} indicators in {:.2f}s (generation {})", r->accepted,
                     intel.last_load_seconds(), intel.handle()->generation());
      } else {
        spdlog::error("intel: reload failed, keeping the current index: {}", r.error().ToString());
      }
    }
    if (now - last_flush >= std::chrono::seconds(1)) {
      router.Flush();
      last_flush = now;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  stop.store(true);
  for (auto& l : listeners) l->listener->Stop();
  for (auto& t : threads) t.join();
  router.Flush();
  if (sigma_detector_opts.correlations) {
    stats.correlation_evicted =
        detect::sigma::CorrelationHubStats(*sigma_detector_opts.correlations).correlation_evicted;
  }
  if (stats.correlation_evicted > 0) {
    spdlog::warn("sigma: {} correlation groups were evicted at the ceiling of {} "
                 "(sigma.correlation_max_groups)",
                 stats.correlation_evicted, config.sigma.correlation_max_groups);
  }
  stats.events = events.load();
  stats.bad_records = dead_letters.count();
  stats.alerts = router.emitted();
  stats.suppressed = router.suppressed();
  return stats;
}

}  // namespace aegis::pipeline
