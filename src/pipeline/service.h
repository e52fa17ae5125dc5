// Service: `aegis run` — the continuous pipeline. File inputs (followed as they grow),
// stdin and syslog listeners feed events to detection; alerts are de-duplicated and
// written to JSON lines, the store and the console; the indicator index reloads
// atomically when its sources change (or on SIGHUP) without pausing matching.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/error.h"
#include "detect/indicator_index.h"
#include "pipeline/config.h"

namespace aegis::pipeline {

class AlertSink;  // pipeline/pipeline.h

struct ServiceStats {
  uint64_t events = 0;
  uint64_t bad_records = 0;
  uint64_t alerts = 0;
  uint64_t suppressed = 0;
  uint64_t reloads = 0;              // indicator reloads
  uint64_t sigma_reloads = 0;
  uint64_t correlation_evicted = 0;  // correlation groups dropped at the memory ceiling
};

struct ServiceOptions {
  const std::atomic<bool>* stop = nullptr;   // set to end the service
  int64_t duration_ns = 0;                   // > 0: stop by itself after this long
  std::atomic<bool>* reload = nullptr;       // set (e.g. by SIGHUP) to force an intel reload;
                                             // the service clears it when it reloads
  // Called once listeners are bound, with the actual ports (for port 0 in tests).
  std::function<void(uint16_t udp_port, uint16_t tcp_port)> on_listening;
  // Optional overlay of indicators that arrive while running (share/live_indicators.h):
  // the indicator detector consults it besides the main index. Unset: main index only.
  std::shared_ptr<detect::IndexHandle> live_index;
  // Optional extra alert sinks (e.g. sightings), after the configured ones. Not owned.
  std::vector<AlertSink*> extra_sinks;
};

// Runs until options.stop is set or the duration passes. Errors only for start-up
// failures (store, intel, listener bind); everything after that is logged and counted.
Result<ServiceStats> RunService(const Config& config, const ServiceOptions& options);

}  // namespace aegis::pipeline
