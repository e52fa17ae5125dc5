// The Sigma detector: rule matches become alerts (detector "sigma"), and correlation
// rules count them per group and time window (detector "sigma-correlation").
//
// A new RuleSet in the handle is picked up before the next event. Correlation state
// belongs to one RuleSet: a reload starts the windows afresh.
#include <cstdio>
#include <mutex>
#include <unordered_map>

#include "detect/alert_id.h"
#include "detect/sigma_internal.h"

namespace aegis::detect::sigma {
namespace {

using internal::Rule;

constexpr std::string_view kSigma = "sigma";
constexpr std::string_view kCorrelation = "sigma-correlation";

}  // namespace

class CorrelationHub {
 public:
  explicit CorrelationHub(size_t max_groups) : max_groups_(max_groups) {}

  // A match of rule `rule` of the rule set with generation `generation`. Matches from
  // an older rule set than the newest seen (a reload in progress) are dropped.
  void OnMatch(const std::shared_ptr<const RuleSet>& set, uint64_t generation, uint32_t rule,
               int64_t time_ns, const FieldLookup& fields, std::vector<CorrelationHit>& out) {
    std::lock_guard lock(engine_mutex_);
    if (generation > generation_ || !engine_) {
      if (generation < generation_) return;
      if (engine_) evicted_before_ += engine_->stats().evicted_groups;
      engine_ = std::make_unique<CorrelationEngine>(set->correlations, set->correlation_rule,
                                                    max_groups_);
      set_ = set;
      generation_ = generation;
    } else if (generation < generation_) {
      return;
    }
    engine_->OnMatch(rule, time_ns, fields, out);
  }

  DetectorStats Stats() const {
    std::lock_guard lock(engine_mutex_);
    DetectorStats s;
    s.correlation_evicted = evicted_before_;
    if (engine_) {
      const auto c = engine_->stats();
      s.correlation_evicted += c.evicted_groups;
      s.correlation_groups = c.groups;
    }
    return s;
  }

 private:
  const size_t max_groups_;
  mutable std::mutex engine_mutex_;     // guards everything below
  std::shared_ptr<const RuleSet> set_;  // keeps the specs the engine refers to alive
  uint64_t generation_ = 0;
  std::unique_ptr<CorrelationEngine> engine_;
  uint64_t evicted_before_ = 0;
};

namespace {

class SigmaDetector final : public Detector {
 public:
  SigmaDetector(const RuleSetHandle* handle, const DetectorOptions& options)
      : handle_(handle), options_(options) {}

  std::string_view name() const override { return kSigma; }

  void Inspect(const Event& event, std::vector<Alert>& out) override {
    Refresh();
    if (!matcher_) return;
    matches_.clear();
    matcher_->Match(event, matches_);
    for (RuleMatch& m : matches_) {
      const Rule& rule = set_->rules[m.rule];
      if (rule.info.generate) out.push_back(MakeAlert(rule, m, event));
      if (set_->correlation_referenced[m.rule]) {
        hits_.clear();
        const int64_t time = event.timestamp_ns;
        const FieldLookup lookup = [&](std::string_view field) -> std::optional<std::string> {
          const std::string_view name = InternCached(field);
          for (const Field& f : event.fields()) {
            if (f.key.original.data() == name.data() || f.key.name.data() == name.data()) {
              return f.value;
            }
          }
          return std::nullopt;
        };
        if (options_.correlations) {
          options_.correlations->OnMatch(set_, generation_, m.rule, time, lookup, hits_);
        } else if (correlations_) {
          correlations_->OnMatch(m.rule, time, lookup, hits_);
        }
        for (const CorrelationHit& hit : hits_) out.push_back(MakeCorrelationAlert(hit, event));
      }
    }
  }

  DetectorStats Stats() const {
    DetectorStats s;
    s.matcher = matcher_before_;
    if (matcher_) s.matcher += matcher_->stats();
    if (correlations_) {
      const auto c = correlations_->stats();
      s.correlation_evicted = evicted_before_ + c.evicted_groups;
      s.correlation_groups = c.groups;
    } else {
      s.correlation_evicted = evicted_before_;
    }
    return s;
  }

 private:
  void Refresh() {
    const uint64_t generation = handle_->generation();
    if (matcher_ && generation == generation_) return;
    generation_ = generation;
    set_ = handle_->Get();
    if (!set_) {
      matcher_.reset();
      correlations_.reset();
      return;
    }
    if (correlations_) evicted_before_ += correlations_->stats().evicted_groups;
    if (matcher_) matcher_before_ += matcher_->stats();
    matcher_ = std::make_unique<Matcher>(set_);
    correlations_.reset();
    if (!set_->correlations.empty() && !options_.correlations) {
      correlations_ = std::make_unique<CorrelationEngine>(
          set_->correlations, set_->correlation_rule, options_.correlation_max_groups);
    }
  }

  std::string_view InternCached(std::string_view field) {
    auto it = interned_.find(std::string(field));
    if (it != interned_.end()) return it->second;
    const std::string_view v = Intern(field);
    interned_.emplace(std::string(field), v);
    return v;
  }

  Alert BaseAlert(const Rule& rule, std::string_view detector, const Event& event) {
    Alert alert;
    alert.id = AlertId(detector, rule.info.id, event);
    alert.time_ns = NowNs();
    alert.event_time_ns = event.timestamp_ns;
    alert.severity = rule.info.level;
    alert.detector = std::string(detector);
    alert.rule = rule.info.id;
    alert.rule_status = rule.info.status;
    alert.title = rule.info.title;
    alert.indicator_type = "sigma";
    alert.indicator_source = rule.info.path;
    alert.tags = rule.info.tags;
    alert.event_source = event.source;
    alert.event_line = event.line;
    alert.event_offset = event.offset;
    alert.event_format = event.format;
    if (const Field* source = event.Find("source.ip")) alert.source_ip = source->value;
    if (const Field* destination = event.Find("destination.ip")) {
      alert.destination_ip = destination->value;
    }
    if (options_.include_event_json) alert.event_json = EventToJson(event);
    return alert;
  }

  Alert MakeAlert(const Rule& rule, const RuleMatch& m, const Event& event) {
    Alert alert = BaseAlert(rule, kSigma, event);
    for (const MatchedField& f : m.fields) {
      AlertMatch match;
      match.field = std::string(f.field);
      match.original = std::string(f.original);
      match.value = f.value;
      match.indicator = f.selection;
      match.match = "selection";
      alert.matches.push_back(std::move(match));
    }
    return alert;
  }

  Alert MakeCorrelationAlert(const CorrelationHit& hit, const Event& event) {
    const Rule& rule = set_->rules[hit.correlation];
    Alert alert = BaseAlert(rule, kCorrelation, event);
    // Distinct windows of the same group get distinct ids.
    alert.id = AlertId(kCorrelation, rule.info.id + "@" + std::to_string(hit.first_ns), event);
    const CorrelationSpec& spec = set_->correlations[rule.correlation_index];
    std::string summary =
        std::string(CorrelationTypeName(spec.type)) + ": " + std::to_string(hit.events) + " events";
    for (const auto& [name, value] : hit.group) {
      AlertMatch match;
      match.field = name;
      match.original = name;
      match.value = value;
      match.indicator = "group-by";
      match.match = "group-by";
      alert.matches.push_back(std::move(match));
      summary += ", " + name + "=" + value;
    }
    alert.title = rule.info.title + " (" + summary + ")";
    return alert;
  }

  const RuleSetHandle* handle_;
  DetectorOptions options_;
  uint64_t generation_ = 0;
  std::shared_ptr<const RuleSet> set_;
  std::unique_ptr<Matcher> matcher_;
  std::unique_ptr<CorrelationEngine> correlations_;
  std::vector<RuleMatch> matches_;
  std::vector<CorrelationHit> hits_;
  std::unordered_map<std::string, std::string_view> interned_;
  uint64_t evicted_before_ = 0;
  MatcherStats matcher_before_;  // of matchers replaced by reloads
};

}  // namespace

std::unique_ptr<Detector> MakeSigmaDetector(const RuleSetHandle* handle,
                                            const DetectorOptions& options) {
  return std::make_unique<SigmaDetector>(handle, options);
}

std::shared_ptr<CorrelationHub> MakeCorrelationHub(size_t max_groups) {
  return std::make_shared<CorrelationHub>(max_groups);
}

DetectorStats CorrelationHubStats(const CorrelationHub& hub) { return hub.Stats(); }

DetectorStats SigmaDetectorStats(const Detector& detector) {
  if (const auto* d = dynamic_cast<const SigmaDetector*>(&detector)) return d->Stats();
  return {};
}

}  // namespace aegis::detect::sigma
