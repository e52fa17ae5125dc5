#include "server/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace aegis::server {

namespace {

bool IsNameChar(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

std::string EscapeHelp(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

void AppendLabels(std::string& out, const Labels& labels, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    out += EscapeLabelValue(v);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

void AppendSample(std::string& out, std::string_view name, const Labels& labels, double v,
                  std::string_view extra_name = {}, std::string_view extra_value = {}) {
  out += name;
  AppendLabels(out, labels, extra_name, extra_value);
  out += ' ';
  out += FormatMetricValue(v);
  out += '\n';
}

}  // namespace

bool IsValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (!IsNameChar(name[i], i == 0, true)) return false;
  return true;
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (!IsNameChar(name[i], i == 0, false)) return false;
  return true;
}

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string FormatMetricValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double v) {
  const size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  std::lock_guard lock(observe_mutex_);
  ++counts_[i];
  sum_ += v;
  ++count_;
}

Histogram::Snapshot Histogram::Take() const {
  Snapshot s;
  s.bounds = bounds_;
  std::lock_guard lock(observe_mutex_);
  uint64_t running = 0;
  s.cumulative.reserve(counts_.size());
  for (uint64_t c : counts_) s.cumulative.push_back(running += c);
  s.sum = sum_;
  s.count = count_;
  return s;
}

std::vector<double> DefaultDurationBuckets() {
  return {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

Result<MetricsRegistry::Family*> MetricsRegistry::FamilyFor(std::string_view name,
                                                            std::string_view help, Type type,
                                                            const Labels& labels,
                                                            const std::vector<double>* bounds) {
  if (!IsValidMetricName(name))
    return Fail("invalid metric name '" + std::string(name) + "'", "name");
  for (const auto& [k, v] : labels) {
    if (!IsValidLabelName(k) || (type == Type::kHistogram && k == "le"))
      return Fail("invalid label name '" + k + "' for metric '" + std::string(name) + "'",
                  "labels");
  }
  if (bounds != nullptr) {
    if (!std::is_sorted(bounds->begin(), bounds->end()) ||
        std::adjacent_find(bounds->begin(), bounds->end()) != bounds->end() ||
        std::any_of(bounds->begin(), bounds->end(),
                    [](double b) { return std::isnan(b) || std::isinf(b); }))
      return Fail("histogram bounds must be finite and strictly increasing", "bounds");
  }
  auto it = families_.find(name);
  if (it == families_.end()) {
    Family f;
    f.type = type;
    f.help = std::string(help);
    if (bounds != nullptr) f.bounds = *bounds;
    it = families_.emplace(std::string(name), std::move(f)).first;
  } else if (it->second.type != type || (bounds != nullptr && it->second.bounds != *bounds)) {
    return Fail(
        "metric '" + std::string(name) + "' already registered with another type or buckets",
        "name");
  }
  return &it->second;
}

Result<Counter*> MetricsRegistry::GetCounter(std::string_view name, std::string_view help,
                                             const Labels& labels) {
  std::lock_guard lock(families_mutex_);
  auto f = FamilyFor(name, help, Type::kCounter, labels, nullptr);
  if (!f) return std::unexpected(f.error());
  auto& slot = (*f)->counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return slot.get();
}

Result<Gauge*> MetricsRegistry::GetGauge(std::string_view name, std::string_view help,
                                         const Labels& labels) {
  std::lock_guard lock(families_mutex_);
  auto f = FamilyFor(name, help, Type::kGauge, labels, nullptr);
  if (!f) return std::unexpected(f.error());
  auto& slot = (*f)->gauges[labels];
  if (!slot) slot = std::make_unique<Gauge>();
  return slot.get();
}

Result<Histogram*> MetricsRegistry::GetHistogram(std::string_view name, std::string_view help,
                                                 std::vector<double> bounds, const Labels& labels) {
  std::lock_guard lock(families_mutex_);
  auto f = FamilyFor(name, help, Type::kHistogram, labels, &bounds);
  if (!f) return std::unexpected(f.error());
  auto& slot = (*f)->histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>(std::move(bounds));
  return slot.get();
}

void MetricsRegistry::AddCollector(std::function<std::string()> collect) {
  std::lock_guard lock(families_mutex_);
  collectors_.push_back(std::move(collect));
}

std::string MetricsRegistry::Render() const {
  std::string out;
  std::lock_guard lock(families_mutex_);
  for (const auto& [name, f] : families_) {
    out += fmt::format("# HELP {} {}\n", name, EscapeHelp(f.help));
    switch (f.type) {
      case Type::kCounter:
        out += fmt::format("# TYPE {} counter\n", name);
        for (const auto& [labels, c] : f.counters) AppendSample(out, name, labels, c->Value());
        break;
      case Type::kGauge:
        out += fmt::format("# TYPE {} gauge\n", name);
        for (const auto& [labels, g] : f.gauges) AppendSample(out, name, labels, g->Value());
        break;
      case Type::kHistogram: {
        out += fmt::format("# TYPE {} histogram\n", name);
        const std::string bucket = name + "_bucket";
        for (const auto& [labels, h] : f.histograms) {
          const Histogram::Snapshot s = h->Take();
          for (size_t i = 0; i < s.bounds.size(); ++i)
            AppendSample(out, bucket, labels, static_cast<double>(s.cumulative[i]), "le",
                         FormatMetricValue(s.bounds[i]));
          AppendSample(out, bucket, labels, static_cast<double>(s.count), "le", "+Inf");
          AppendSample(out, name + "_sum", labels, s.sum);
          AppendSample(out, name + "_count", labels, static_cast<double>(s.count));
        }
        break;
      }
    }
  }
  for (const auto& collect : collectors_) {
    std::string text = collect();
    if (!text.empty() && text.back() != '\n') text.push_back('\n');
    out += text;
  }
  return out;
}

}  // namespace aegis::server
