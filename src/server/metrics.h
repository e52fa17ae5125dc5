// MetricsRegistry: thread-safe counters, gauges and histograms with labels, rendered
// in the Prometheus text exposition format 0.0.4 (served by HttpServer at /metrics).
//
//   MetricsRegistry m;
//   auto hits = m.GetCounter("aegis_hits_total", "Indicator hits.", {{"type", "ip"}});
//   if (hits) (*hits)->Inc();
//   std::string text = m.Render();   // Content-Type: MetricsRegistry::kContentType
//
// Metric objects live as long as the registry; the pointers returned stay valid and
// may be cached and used from any thread without taking the registry lock.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"

namespace aegis::server {

// Label name → value, in the order given (rendered in that order).
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Inc(double v = 1.0) {
    if (v > 0) value_.fetch_add(v, std::memory_order_relaxed);
  }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Inc(double v = 1.0) { value_.fetch_add(v, std::memory_order_relaxed); }
  void Dec(double v = 1.0) { value_.fetch_sub(v, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  // `bounds`: upper bounds, strictly increasing (the +Inf bucket is implicit).
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Take() const;

 private:
  const std::vector<double> bounds_;
  mutable std::mutex observe_mutex_;  // guards counts_, sum_, count_ (one consistent view)
  std::vector<uint64_t> counts_;      // per bucket, non-cumulative; last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

// Default buckets for request durations in seconds (100 µs .. 10 s).
std::vector<double> DefaultDurationBuckets();

class MetricsRegistry {
 public:
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  // Returns the metric for (name, labels), creating the family and the series on first
  // use. Errors: invalid metric or label name, or the name already used by a metric of
  // another type (or, for histograms, other buckets).
  Result<Counter*> GetCounter(std::string_view name, std::string_view help,
                              const Labels& labels = {});
  Result<Gauge*> GetGauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Result<Histogram*> GetHistogram(std::string_view name, std::string_view help,
                                  std::vector<double> bounds, const Labels& labels = {});

  // Adds text produced at scrape time by another subsystem (complete families in
  // text format 0.0.4, e.g. feed or federation counters it keeps itself), appended
  // after the registry's own families. Thread-safe; `collect` must be too and must
  // not call back into this registry (it runs under the registry lock).
  void AddCollector(std::function<std::string()> collect);

  // The whole registry in text format 0.0.4 (families sorted by name), then collectors.
  std::string Render() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    Type type;
    std::string help;
    std::vector<double> bounds;  // histograms only
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Gauge>> gauges;
    std::map<Labels, std::unique_ptr<Histogram>> histograms;
  };
  Result<Family*> FamilyFor(std::string_view name, std::string_view help, Type type,
                            const Labels& labels, const std::vector<double>* bounds);

  mutable std::mutex families_mutex_;  // guards families_ (not the metric values)
  std::map<std::string, Family, std::less<>> families_;
  std::vector<std::function<std::string()>> collectors_;  // guarded by families_mutex_
};

// Text-format helpers (exposed for tests).
bool IsValidMetricName(std::string_view name);
bool IsValidLabelName(std::string_view name);
std::string EscapeLabelValue(std::string_view v);
std::string FormatMetricValue(double v);

}  // namespace aegis::server
