// IndicatorDetector: matches each event's observable fields (IPs, domains, URLs, hashes,
// emails, chosen by the field's schema kind) against the current IndicatorIndex
// snapshot and raises one Alert per matched indicator per event. An optional live
// overlay (a second, small IndexHandle of indicators that arrived while running) is
// consulted after the main index; the same indicator in both is one alert.
//
// Hot path: most events match nothing, so that path takes no shared_ptr reference
// counts (the snapshot is cached and refreshed only when the handle's generation
// changes) and allocates nothing (normalisation writes into member scratch strings),
// except for URL fields, whose normaliser returns a new string.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "core/observables.h"
#include "core/strings.h"
#include "detect/detect.h"
#include "detect/alert_id.h"
#include "detect/hashing.h"

namespace aegis::detect {
namespace {

constexpr std::string_view kDetectorName = "indicator";

// Wall clock for expiry checks: the coarse clock costs a few ns and is exact to a few
// ms, which is plenty for indicators that expire after days.
int64_t CoarseNowNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

bool IsAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// The host part of a normalised URL key ("evil.com:8080/x" -> "evil.com",
// "[2001:db8::1]:81/" -> "[2001:db8::1]").
std::string_view UrlHost(std::string_view key) {
  if (!key.empty() && key.front() == '[') {
    const size_t close = key.find(']');
    return close == std::string_view::npos ? std::string_view{} : key.substr(0, close + 1);
  }
  return key.substr(0, key.find_first_of(":/?"));
}

bool IsOneOf(std::string_view name, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string AlertTitle(std::string_view field, const IndicatorMatch& m) {
  std::string title;
  const std::string_view value = m.value;
  switch (m.type) {
    case IndicatorType::kDomain: {
      const std::string_view what =
          m.subdomain ? "a subdomain of known-bad domain " : "known-bad domain ";
      if (field == "dns.question.name") {
        title = "DNS query for ";
      } else if (field.starts_with("dns.answers")) {
        title = "DNS answer with ";
      } else if (field.starts_with("tls.") || field.starts_with("x509.")) {
        title = "TLS connection to ";
      } else if (field.starts_with("url.") || field.starts_with("http.")) {
        title = "Web request to ";
      } else if (field.ends_with(".domain")) {
        title = "Connection involving ";
      } else {
        title = "Reference to ";
      }
      title.append(what).append(value);
      break;
    }
    case IndicatorType::kIpv4:
    case IndicatorType::kIpv6:
    case IndicatorType::kCidr: {
      const std::string_view what =
          m.type == IndicatorType::kCidr ? "known-bad network " : "known-bad IP ";
      if (IsOneOf(field, {"destination.ip", "server.ip", "destination.nat.ip"})) {
        title = "Connection to ";
      } else if (IsOneOf(field, {"source.ip", "client.ip", "source.nat.ip"})) {
        title = "Connection from ";
      } else if (field.starts_with("dns.answers")) {
        title = "DNS answer with ";
      } else if (field.starts_with("url.") || field.starts_with("http.")) {
        title = "Web request to ";
      } else {
        title = "Activity involving ";
      }
      title.append(what).append(value);
      break;
    }
    case IndicatorType::kUrl:
      title = "Request for known-bad URL ";
      title.append(value);
      break;
    case IndicatorType::kMd5:
    case IndicatorType::kSha1:
    case IndicatorType::kSha256:
      title = "Known-bad file hash ";
      title.append(value);
      break;
    case IndicatorType::kEmail:
      title = "Email involving known-bad address ";
      title.append(value);
      break;
  }
  if (!m.meta->source.empty()) title.append(" (").append(m.meta->source).append(")");
  return title;
}

class IndicatorDetector final : public Detector {
 public:
  IndicatorDetector(const IndexHandle* handle, const IndexHandle* live, bool include_event_json)
      : handle_(handle), live_(live), include_event_json_(include_event_json) {}

  std::string_view name() const override { return kDetectorName; }

  void Inspect(const Event& event, std::vector<Alert>& out) override {
    if (handle_ == nullptr) return;
    // One consistent snapshot per event; refreshed only after a reload.
    const uint64_t generation = handle_->generation();
    if (!snapshot_ || generation != generation_) {
      snapshot_ = handle_->Snapshot();
      generation_ = generation;
    }
    now_ns_ = CoarseNowNs();
    event_alerts_.clear();
    InspectWith(*snapshot_, event, out);
    if (live_ == nullptr) return;
    // The live overlay: indicators that arrived while running (small, swapped on its own).
    const uint64_t live_generation = live_->generation();
    if (live_generation != live_generation_) {
      live_snapshot_ = live_->Snapshot();
      live_generation_ = live_generation;
    }
    if (live_snapshot_ && live_snapshot_->stats().indicators > 0) {
      InspectWith(*live_snapshot_, event, out);
    }
  }

 private:
  void InspectWith(const IndicatorIndex& index, const Event& event, std::vector<Alert>& out) {
    for (const Field& field : event.fields()) {
      const unsigned char kind = field.key.kind;
      if (kind == kKindNone || field.value.empty() || field.value == "-") continue;
      if (kind == kKindAny) {
        if (auto ip = ParseIp(field.value)) {
          MatchIp(index, *ip, event, field, out);
        } else {
          MatchDomain(index, field.value, event, field, out);
        }
        continue;
      }
      if (kind & kKindIp) {
        if (auto ip = ParseIp(field.value)) MatchIp(index, *ip, event, field, out);
      }
      if (kind & kKindDomain) MatchDomain(index, field.value, event, field, out);
      if (kind & kKindUrl) MatchUrl(index, event, field, out);
      if (kind & kKindHash) MatchHash(index, event, field, out);
      if (kind & kKindEmail) MatchEmail(index, event, field, out);
    }
  }

  struct EventAlert {
    IndicatorType type;
    std::string_view indicator;  // the indicator value (in the snapshot that matched)
    size_t alert;                // index into `out`
  };

  void MatchIp(const IndicatorIndex& index, const IpAddress& ip, const Event& event,
               const Field& field, std::vector<Alert>& out) {
    if (auto m = index.MatchIp(ip, now_ns_)) {
      Report(*m, m->type == IndicatorType::kCidr ? "prefix" : "exact", event, field, out);
    }
  }

  void MatchDomain(const IndicatorIndex& index, std::string_view text, const Event& event,
                   const Field& field, std::vector<Alert>& out) {
    if (!NormalizeDomainForMatch(text, domain_scratch_)) return;
    if (auto m = index.MatchDomain(domain_scratch_, now_ns_)) {
      Report(*m, m->subdomain ? "subdomain" : "exact", event, field, out);
    }
  }

  void MatchUrl(const IndicatorIndex& index, const Event& event, const Field& field,
                std::vector<Alert>& out) {
    auto key = NormalizeUrl(field.value);
    if (!key) return;
    if (auto m = index.MatchUrl(*key, now_ns_)) Report(*m, "exact", event, field, out);
    const std::string_view host = UrlHost(*key);
    if (host.empty()) return;
    if (host.front() == '[' || (host.back() >= '0' && host.back() <= '9')) {
      if (auto ip = ParseIp(host)) {
        MatchIp(index, *ip, event, field, out);
        return;
      }
    }
    if (auto m = index.MatchDomain(host, now_ns_)) {  // the key's host is normalised
      Report(*m, m->subdomain ? "subdomain" : "exact", event, field, out);
    }
  }

  void MatchHash(const IndicatorIndex& index, const Event& event, const Field& field,
                 std::vector<Alert>& out) {
    const std::string& value = field.value;
    if (value.size() != 32 && value.size() != 40 && value.size() != 64) return;
    hash_scratch_.resize(value.size());
    for (size_t i = 0; i < value.size(); ++i) hash_scratch_[i] = AsciiLowerChar(value[i]);
    if (auto m = index.MatchHash(hash_scratch_, now_ns_)) Report(*m, "exact", event, field, out);
  }

  void MatchEmail(const IndicatorIndex& index, const Event& event, const Field& field,
                  std::vector<Alert>& out) {
    std::string_view text = field.value;
    if (IsAscii(text)) {
      // ASCII fast path, same result as NormalizeEmail for any address that can match.
      if (text.size() > 7 && IEquals(text.substr(0, 7), "mailto:")) text.remove_prefix(7);
      if (!text.empty() && text.back() == '.') text.remove_suffix(1);
      email_scratch_.resize(text.size());
      for (size_t i = 0; i < text.size(); ++i) email_scratch_[i] = AsciiLowerChar(text[i]);
    } else {
      auto normalised = NormalizeEmail(text);
      if (!normalised) return;
      email_scratch_ = std::move(*normalised);
    }
    if (auto m = index.MatchEmail(email_scratch_, now_ns_)) Report(*m, "exact", event, field, out);
  }

  // Adds the match to this event's alert for the indicator, creating the alert first.
  void Report(const IndicatorMatch& m, std::string_view how, const Event& event, const Field& field,
              std::vector<Alert>& out) {
    AlertMatch match;
    match.field = field.key.name;
    match.original = field.key.original;
    match.value = field.value;
    match.indicator = m.value;
    match.match = how;
    for (const EventAlert& known : event_alerts_) {
      // By value: the same indicator in the main index and the live overlay is one alert.
      if (known.indicator.data() != m.value.data() &&
          (known.type != m.type || known.indicator != m.value)) {
        continue;
      }
      std::vector<AlertMatch>& matches = out[known.alert].matches;
      const bool seen = std::any_of(matches.begin(), matches.end(), [&](const AlertMatch& x) {
        return x.field == match.field && x.value == match.value;
      });
      if (!seen) matches.push_back(std::move(match));
      return;
    }
    event_alerts_.push_back({m.type, m.value, out.size()});
    Alert& alert = out.emplace_back();
    alert.id = AlertId(kDetectorName, m.value, event);
    alert.time_ns = NowNs();
    alert.event_time_ns = event.timestamp_ns;
    alert.severity = m.meta->severity;
    alert.tlp = m.meta->tlp;
    alert.detector = kDetectorName;
    alert.rule = m.value;
    alert.title = AlertTitle(field.key.name, m);
    alert.indicator_type = IndicatorTypeName(m.type);
    alert.indicator_source = m.meta->source;
    alert.confidence = m.meta->confidence;
    alert.tags = m.meta->tags;
    alert.matches.push_back(std::move(match));
    alert.event_source = event.source;
    alert.event_line = event.line;
    alert.event_offset = event.offset;
    alert.event_format = event.format;
    if (const Field* source = event.Find("source.ip")) alert.source_ip = source->value;
    if (const Field* destination = event.Find("destination.ip")) {
      alert.destination_ip = destination->value;
    }
    if (include_event_json_) alert.event_json = EventToJson(event);
  }

  const IndexHandle* const handle_;
  const IndexHandle* const live_;  // may be null
  const bool include_event_json_;
  std::shared_ptr<const IndicatorIndex> snapshot_;
  uint64_t generation_ = 0;
  std::shared_ptr<const IndicatorIndex> live_snapshot_;
  uint64_t live_generation_ = 0;
  int64_t now_ns_ = 0;
  // Scratch state reused across events (this detector is used from one thread).
  std::string domain_scratch_;
  std::string hash_scratch_;
  std::string email_scratch_;
  std::vector<EventAlert> event_alerts_;
};

}  // namespace

std::unique_ptr<Detector> MakeIndicatorDetector(const IndexHandle* index, bool include_event_json) {
  return std::make_unique<IndicatorDetector>(index, nullptr, include_event_json);
}

std::unique_ptr<Detector> MakeIndicatorDetector(const IndexHandle* index, const IndexHandle* live,
                                                bool include_event_json) {
  return std::make_unique<IndicatorDetector>(index, live, include_event_json);
}

}  // namespace aegis::detect
