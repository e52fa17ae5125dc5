// Detect: detectors look at Events and raise Alerts.
//
// Every detector implements `Detector`. The first is the IndicatorDetector, which
// matches event observables against an IndicatorIndex (detect/indicator_index.h).
// Sigma and correlation detectors will implement the same interface.
// Detectors are used from one thread each; build one per worker.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/alert.h"
#include "core/event.h"
#include "detect/indicator_index.h"

namespace aegis::detect {

class Detector {
 public:
  virtual ~Detector() = default;
  virtual std::string_view name() const = 0;
  // Appends any alerts for `event` to `out`.
  virtual void Inspect(const Event& event, std::vector<Alert>& out) = 0;
};

// Matches IP, domain, URL, hash and email fields of each event (by the field's schema
// kind) against the current snapshot of `index`. A reload swaps the snapshot without
// pausing: each event is matched against one consistent snapshot.
std::unique_ptr<Detector> MakeIndicatorDetector(const IndexHandle* index,
                                                bool include_event_json = true);
// As above, and also against `live` (may be null): a small overlay of indicators that
// arrived while running (share/live_indicators.h), swapped independently of `index`.
// An indicator in both is reported once per event.
std::unique_ptr<Detector> MakeIndicatorDetector(const IndexHandle* index, const IndexHandle* live,
                                                bool include_event_json = true);

// Folds repeats of the same alert within a time window. The key is (detector, rule,
// matched field values, source.ip, destination.ip): the same indicator seen again
// for the same pair of hosts within `window_ns` only raises the repeat count.
// window_ns = 0 disables de-duplication. Memory is bounded by `max_keys` (oldest keys
// are forgotten first).
class AlertDeduplicator {
 public:
  explicit AlertDeduplicator(int64_t window_ns, size_t max_keys = 1'000'000);
  ~AlertDeduplicator();
  // True if the alert is new (emit it), false if it is a repeat (suppressed).
  // Uses the alert's event_time_ns as the clock, so replays of old logs de-duplicate
  // the same way as live streams.
  bool Admit(const Alert& alert);
  // As above; for a repeat, also names the id of the alert it is folded into, so that
  // the caller can raise that alert's count.
  bool Admit(const Alert& alert, std::string* repeat_of);
  uint64_t suppressed() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aegis::detect
