// Sightings from alerts: conversion and the local publisher. See sightings.h.
#include "auth/secret_crypto.h"
#include "share/sightings.h"

#include <openssl/evp.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>

#include "auth/tlp_policy.h"
#include "core/event.h"
#include "core/indicator.h"
#include "core/strings.h"
#include "intel/stix_object.h"

namespace aegis::share {
namespace {

// A STIX pattern string literal: backslash and quote escaped.
std::string PatternLiteral(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\\' || c == '\'') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

void Member(std::string& out, std::string_view key, std::string_view value) {
  out.push_back(',');
  AppendJsonString(out, key);
  out.push_back(':');
  AppendJsonString(out, value);
}

void MarkingRefs(std::string& out, Tlp tlp) {
  out.append(",\"object_marking_refs\":[");
  AppendJsonString(out, Tlp2MarkingId(tlp));
  out.push_back(']');
}

int64_t EventTime(const Alert& alert) {
  if (alert.event_time_ns > 0) return alert.event_time_ns;
  return alert.time_ns;
}

}  // namespace

std::string UuidV5(std::string_view namespace_uuid, std::string_view name) {
  // One implementation for the whole code base (auth/secret_crypto.h); a malformed
  // namespace falls back to the nil UUID, as the callers' fixed namespaces never are.
  auto id = auth::crypto::UuidV5(namespace_uuid, name);
  if (id) return *id;
  return auth::crypto::UuidV5("00000000-0000-0000-0000-000000000000", name).value_or("");
}

std::string AnonymousIdentityId() {
  return "identity--" + UuidV5(kAegisNamespace, "anonymous health organisation");
}

std::string_view Tlp2MarkingId(Tlp tlp) {
  switch (tlp) {
    case Tlp::kClear:
      return "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
    case Tlp::kGreen:
      return "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
    case Tlp::kAmber:
      return "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
    case Tlp::kAmberStrict:
      return "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";
    case Tlp::kRed:
      return "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";
  }
  return "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";
}

std::optional<std::string> StixPatternFor(IndicatorType type, std::string_view value) {
  std::string_view path;
  switch (type) {
    case IndicatorType::kIpv4:
      path = "ipv4-addr:value";
      break;
    case IndicatorType::kIpv6:
      path = "ipv6-addr:value";
      break;
    case IndicatorType::kCidr:
      path = value.find(':') != std::string_view::npos ? "ipv6-addr:value" : "ipv4-addr:value";
      break;
    case IndicatorType::kDomain:
      path = "domain-name:value";
      break;
    case IndicatorType::kUrl:
      path = "url:value";
      break;
    case IndicatorType::kMd5:
      path = "file:hashes.MD5";
      break;
    case IndicatorType::kSha1:
      path = "file:hashes.'SHA-1'";
      break;
    case IndicatorType::kSha256:
      path = "file:hashes.'SHA-256'";
      break;
    case IndicatorType::kEmail:
      path = "email-addr:value";
      break;
  }
  if (path.empty() || value.empty()) return std::nullopt;
  return "[" + std::string(path) + " = " + PatternLiteral(value) + "]";
}

Result<Sighting> SightingFromAlert(const Alert& alert, const SightingOptions& options,
                                   const std::optional<PreviousSighting>& previous,
                                   int64_t now_ns) {
  if (alert.id.empty()) return Fail("alert has no id", "id");
  if (alert.rule.empty()) return Fail("alert '" + alert.id + "' has no rule", "rule");
  if (options.org_id.empty()) return Fail("no reporting organisation configured", "org_id");
  if (!options.anonymise && !options.org_identity.starts_with("identity--")) {
    return Fail("reporting organisation '" + options.org_id +
                    "' needs a STIX identity (identity--<uuid>) unless sightings are anonymised",
                "org_identity");
  }
  const int64_t first_seen_ns = EventTime(alert);
  if (first_seen_ns <= 0) return Fail("alert '" + alert.id + "' has no time", "time_ns");

  Sighting out;
  const std::string now = FormatTime(now_ns);

  // What the sighting is of: the STIX indicator that matched when known, else an
  // indicator derived from the alert (same rule -> same id on every instance).
  for (const std::string& tag : alert.tags) {
    if (tag.starts_with(kStixIdTagPrefix) &&
        std::string_view(tag).substr(kStixIdTagPrefix.size()).starts_with("indicator--")) {
      out.indicator_id = tag.substr(kStixIdTagPrefix.size());
      break;
    }
  }
  if (out.indicator_id.empty()) {
    std::string pattern, pattern_type = "stix";
    if (alert.detector == "indicator") {
      auto type = ParseIndicatorType(alert.indicator_type);
      if (!type) {
        return Fail(
            "alert '" + alert.id + "': unknown indicator type '" + alert.indicator_type + "'",
            "indicator_type");
      }
      auto p = StixPatternFor(*type, alert.rule);
      if (!p) return Fail("alert '" + alert.id + "': no STIX pattern for its rule", "rule");
      pattern = std::move(*p);
    } else {
      // A Sigma (or other) rule: refer to it by id; the rule text stays where it is.
      pattern_type = "sigma";
      pattern = "id: " + alert.rule + "\ntitle: " + alert.title + "\n";
    }
    out.indicator_id =
        "indicator--" + UuidV5(kAegisNamespace, "indicator|" + pattern_type + "|" + pattern);
    std::string& ind = out.indicator_json;
    ind = "{\"type\":\"indicator\",\"spec_version\":\"2.1\"";
    Member(ind, "id", out.indicator_id);
    Member(ind, "created", now);
    Member(ind, "modified", now);
    Member(ind, "name", alert.detector == "indicator" ? alert.rule : alert.title);
    ind.append(",\"indicator_types\":[\"malicious-activity\"]");
    Member(ind, "pattern", pattern);
    Member(ind, "pattern_type", pattern_type);
    Member(ind, "valid_from", now);
    MarkingRefs(ind, alert.tlp);
    ind.push_back('}');
    if (auto valid = intel::stix::ValidateObject(ind); !valid) {
      Error e = valid.error();
      e.reason = "indicator derived from alert '" + alert.id + "' is not valid STIX: " + e.reason;
      return std::unexpected(e);
    }
  }

  // TLP: a sighting reveals that what matched was seen here.
  const Tlp matched[] = {alert.tlp};
  if (auto shared = auth::AnonymisedSightingTlp(matched, options.requested_tlp)) {
    out.tlp = *shared;
    out.shareable = true;
  } else {
    out.tlp = std::max(alert.tlp, options.requested_tlp);
    out.shareable = false;
  }

  std::string name = "sighting|" + options.org_id + "|" + alert.id;
  if (options.anonymise) name += "|anonymous";
  out.id = "sighting--" + UuidV5(kAegisNamespace, name);

  std::string first_seen = FormatTime(first_seen_ns);
  std::string last_seen = FormatTime(std::max(first_seen_ns, EventTime(alert)));
  std::string created = now;
  out.count = std::max<uint64_t>(alert.count, 1);
  if (previous) {
    created = previous->created.empty() ? now : previous->created;
    out.count = std::max<uint64_t>(out.count, previous->count + 1);
    if (!previous->first_seen.empty()) first_seen = previous->first_seen;
    // A repeat was seen by now.
    last_seen = std::max(previous->last_seen, now);
    if (last_seen < first_seen) last_seen = first_seen;
  }
  std::string modified = now;
  if (previous && modified <= previous->modified) {
    // Same microsecond as the previous version: move one microsecond on.
    auto prev = ParseTime(previous->modified);
    modified = FormatTime(prev ? *prev + 1000 : now_ns);
  }
  if (modified < created) modified = created;

  std::string& s = out.json;
  s = "{\"type\":\"sighting\",\"spec_version\":\"2.1\"";
  Member(s, "id", out.id);
  Member(s, "created", created);
  Member(s, "modified", modified);
  Member(s, "created_by_ref", options.anonymise ? AnonymousIdentityId() : options.org_identity);
  Member(s, "sighting_of_ref", out.indicator_id);
  s.append(",\"count\":").append(std::to_string(std::min<uint64_t>(out.count, 999'999'999)));
  Member(s, "first_seen", first_seen);
  Member(s, "last_seen", last_seen);
  if (!options.anonymise) {
    s.append(",\"where_sighted_refs\":[");
    AppendJsonString(s, options.org_identity);
    s.push_back(']');
    if (!alert.title.empty()) Member(s, "description", alert.title);
  }
  MarkingRefs(s, out.tlp);
  s.push_back('}');
  if (auto valid = intel::stix::ValidateObject(s); !valid) {
    Error e = valid.error();
    e.reason = "sighting derived from alert '" + alert.id + "' is not valid STIX: " + e.reason;
    return std::unexpected(e);
  }
  return out;
}

Result<PreviousSighting> ParsePreviousSighting(std::string_view sighting_json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::padded_string padded(sighting_json);
  if (auto error = parser.parse(padded).get(doc)) {
    return Fail(std::string("stored sighting is not JSON: ") + simdjson::error_message(error));
  }
  PreviousSighting out;
  auto text = [&](const char* key, std::string& to) {
    std::string_view v;
    if (!doc[key].get_string().get(v)) to.assign(v);
  };
  text("created", out.created);
  text("modified", out.modified);
  text("first_seen", out.first_seen);
  text("last_seen", out.last_seen);
  int64_t count = 0;
  if (!doc["count"].get_int64().get(count) && count > 0) out.count = static_cast<uint64_t>(count);
  if (out.created.empty()) return Fail("stored sighting has no 'created'", "created");
  return out;
}

// ---------------------------------------------------------------------------

AlertSightings::AlertSightings(intel::StixStore* stix, AlertSightingsOptions options,
                               std::string collection_id)
    : stix_(stix), options_(std::move(options)), collection_id_(std::move(collection_id)) {}

AlertSightings::~AlertSightings() { Stop(); }

Result<std::unique_ptr<AlertSightings>> AlertSightings::Open(intel::StixStore* stix,
                                                             AlertSightingsOptions options) {
  if (stix == nullptr) return Fail("no STIX store", "stix");
  if (options.collection.empty()) return Fail("no sightings collection configured", "collection");
  auto existing = stix->GetCollection(options.collection);
  if (!existing) return std::unexpected(existing.error());
  std::string id;
  if (*existing) {
    id = (*existing)->id;
  } else {
    intel::Collection c;
    c.alias = options.collection;
    c.title = "Sightings";
    c.description = "Sightings of indicators, derived from this instance's alerts.";
    auto created = stix->CreateCollection(std::move(c));
    if (!created) return std::unexpected(created.error());
    id = created->id;
  }
  return std::unique_ptr<AlertSightings>(new AlertSightings(stix, std::move(options), id));
}

Result<std::string> AlertSightings::Publish(const Alert& alert) {
  std::lock_guard lock(mutex_);
  return PublishLocked(alert);
}

Result<std::string> AlertSightings::PublishLocked(const Alert& alert) {
  auto fail = [&](Error e) -> Result<std::string> {
    ++stats_.errors;
    return std::unexpected(std::move(e));
  };
  // The newest stored version of this alert's sighting, if any.
  auto first = SightingFromAlert(alert, options_.sighting, std::nullopt, NowNs());
  if (!first) return fail(first.error());
  intel::ObjectQuery q;
  q.collection_id = collection_id_;
  q.ids = {first->id};
  q.versions = intel::VersionMatch::kLast;
  q.limit = 1;
  auto page = stix_->Query(q);
  if (!page) return fail(page.error());
  std::optional<PreviousSighting> previous;
  if (!page->objects.empty()) {
    auto parsed = ParsePreviousSighting(page->objects.front().json);
    if (!parsed) return fail(parsed.error());
    if (parsed->count >= alert.count) {
      ++stats_.unchanged;
      recent_[alert.id] = alert;
      return first->id;
    }
    previous = std::move(*parsed);
  }
  Sighting sighting = std::move(*first);
  if (previous) {
    auto next = SightingFromAlert(alert, options_.sighting, previous, NowNs());
    if (!next) return fail(next.error());
    sighting = std::move(*next);
  }

  std::vector<intel::stix::StixObject> objects;
  if (!sighting.indicator_json.empty()) {
    intel::ObjectQuery iq;
    iq.collection_id = collection_id_;
    iq.ids = {sighting.indicator_id};
    iq.limit = 1;
    iq.with_json = false;
    auto known = stix_->Query(iq);
    if (!known) return fail(known.error());
    if (known->objects.empty()) {
      auto ind = intel::stix::ValidateObject(sighting.indicator_json);
      if (!ind) return fail(ind.error());
      objects.push_back(std::move(*ind));
    }
  }
  auto obj = intel::stix::ValidateObject(sighting.json);
  if (!obj) return fail(obj.error());
  objects.push_back(std::move(*obj));
  auto added = stix_->AddObjects(
      {.collection_id = collection_id_, .producer_org = options_.sighting.org_id}, objects);
  if (!added) return fail(added.error());
  if (added->failed > 0) {
    for (const auto& outcome : added->outcomes) {
      if (outcome.kind == intel::AddOutcome::Kind::kFailed) {
        Error e;
        e.where = outcome.id;
        e.reason = "storing sighting failed: " + outcome.message;
        return fail(std::move(e));
      }
    }
  }
  if (previous) {
    ++stats_.updated;
  } else {
    ++stats_.created;
    if (!sighting.shareable) ++stats_.local_only;
  }
  Alert& kept = recent_[alert.id];
  kept = alert;
  kept.event_json.clear();
  kept.matches.clear();
  if (recent_.size() > 100'000) recent_.erase(recent_.begin());
  return sighting.id;
}

Result<void> AlertSightings::Repeat(const std::string& alert_id, uint32_t n) {
  std::lock_guard lock(mutex_);
  auto it = recent_.find(alert_id);
  if (it == recent_.end()) return Fail("alert '" + alert_id + "' was not published here", "id");
  Alert alert = it->second;
  alert.count += n;
  auto published = PublishLocked(alert);
  if (!published) return std::unexpected(published.error());
  return {};
}

Result<uint64_t> AlertSightings::PollStore(store::Store& alerts, std::optional<int64_t> since_ns) {
  std::lock_guard lock(mutex_);
  const int64_t now = NowNs();
  int64_t since = 0;
  if (since_ns) {
    since = *since_ns;
  } else if (poll_since_ns_) {
    since = *poll_since_ns_ - options_.lookback_ns;
  } else {
    since = now - options_.lookback_ns;
  }
  store::AlertQuery q;
  q.limit = options_.poll_limit;
  q.since_ns = std::max<int64_t>(since, 1);
  auto list = alerts.ListAlerts(q);
  if (!list) {
    ++stats_.errors;
    return std::unexpected(list.error());
  }
  uint64_t published = 0;
  std::optional<Error> first_error;
  // Oldest first, so a sighting's versions follow the alerts' order.
  for (auto it = list->rbegin(); it != list->rend(); ++it) {
    const uint64_t before = stats_.created + stats_.updated;
    auto r = PublishLocked(*it);
    if (!r) {
      if (!first_error) first_error = r.error();
      continue;
    }
    if (stats_.created + stats_.updated > before) ++published;
  }
  poll_since_ns_ = now;
  if (first_error) {
    spdlog::warn("sightings: {} (and maybe more)", first_error->ToString());
  }
  return published;
}

void AlertSightings::StartPolling(store::Store* alerts, int64_t interval_ns) {
  Stop();
  {
    std::lock_guard lock(poll_mutex_);
    stop_ = false;
  }
  poller_ = std::thread([this, alerts, interval_ns] {
    std::unique_lock lock(poll_mutex_);
    while (!stop_) {
      lock.unlock();
      if (auto r = PollStore(*alerts); !r) {
        spdlog::warn("sightings: polling the alert store failed: {}", r.error().ToString());
      }
      lock.lock();
      poll_cv_.wait_for(lock, std::chrono::nanoseconds(std::max<int64_t>(interval_ns, 1'000'000)),
                        [this] { return stop_; });
    }
  });
}

void AlertSightings::Stop() {
  {
    std::lock_guard lock(poll_mutex_);
    stop_ = true;
  }
  poll_cv_.notify_all();
  if (poller_.joinable()) poller_.join();
}

AlertSightingsStats AlertSightings::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace aegis::share
