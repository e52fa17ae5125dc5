// Sightings: alerts from detection become STIX 2.1 `sighting` objects, so that an
// organisation can tell the community "we saw this indicator" without sending its logs.
//
// SightingFromAlert is the pure conversion: deterministic ids (UUIDv5), so the same
// alert always maps to the same sighting id and a repeat of it is a new version (higher
// `count`, later `modified`, same `created`). The reporting organisation appears as
// `where_sighted_refs` and `created_by_ref`, unless anonymised. TLP follows
// auth::AnonymisedSightingTlp over what matched: when that is nullopt (the matched
// indicator is AMBER+STRICT or RED) the sighting is marked with the restrictive TLP and
// kept local only; the TLP policy then never lets it leave the instance.
//
// AlertSightings stores sightings in a local StixStore collection (default alias
// "sightings"); alerts arrive by Publish (a sink) or by polling the alert store.
// See docs/FEDERATION.md.
//
//   share::SightingOptions opts{.org_id = "rxa", .org_identity = org.stix_identity};
//   auto s = share::SightingFromAlert(alert, opts, std::nullopt, NowNs());
//   if (s && s->shareable) ... s->sighting_json ...
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/alert.h"
#include "core/error.h"
#include "core/types.h"
#include "intel/stix_store.h"
#include "store/store.h"

namespace aegis::share {

// Name-based UUID (RFC 9562 version 5, SHA-1) under `namespace_uuid` (canonical text).
std::string UuidV5(std::string_view namespace_uuid, std::string_view name);
// The namespace of every id Aegis derives (sightings, indicators from alerts).
inline constexpr std::string_view kAegisNamespace = "5f3b0d2e-8a4c-5e1b-9d7f-2c6a4e8b1f30";
// created_by_ref of anonymised sightings: one fixed identity shared by every instance,
// "identity--" + UuidV5(kAegisNamespace, "anonymous health organisation").
std::string AnonymousIdentityId();
// The TLP 2.0 marking-definition id for `tlp`.
std::string_view Tlp2MarkingId(Tlp tlp);
// STIX pattern for an indicator value of `type` ("[domain-name:value = 'evil.com']"),
// or nullopt for a type without one.
std::optional<std::string> StixPatternFor(IndicatorType type, std::string_view value);
// Alert tag that carries the STIX id of the indicator that matched (set by
// LiveIndicators); the sighting then refers to that indicator instead of a new one.
inline constexpr std::string_view kStixIdTagPrefix = "stix-id:";

struct SightingOptions {
  std::string org_id;        // the reporting organisation (its id)
  std::string org_identity;  // its STIX identity id (auth::Organisation::stix_identity)
  bool anonymise = false;    // omit where_sighted_refs; created_by_ref = AnonymousIdentityId()
  Tlp requested_tlp = Tlp::kGreen;  // the TLP the organisation gives its sightings
};

// What an earlier version of the same sighting said (to raise `count` on a repeat).
struct PreviousSighting {
  std::string created;  // RFC 3339, kept by every later version
  std::string modified;
  uint64_t count = 0;
  std::string first_seen;
  std::string last_seen;
};

struct Sighting {
  std::string id;              // "sighting--<uuid v5>"
  std::string json;            // the sighting object
  std::string indicator_id;    // what it is a sighting of
  std::string indicator_json;  // a new indicator object, "" when it already exists
  Tlp tlp = Tlp::kGreen;       // the marking applied to the sighting
  bool shareable = false;      // false: local only (AMBER+STRICT / RED matched)
  uint64_t count = 1;
};

// Converts `alert` (count = alert.count, at least previous->count + 1 when previous is
// set). `now_ns` stamps `created` (first version) and `modified`. Errors name the
// alert field at fault; the output is checked with intel::stix::ValidateObject.
Result<Sighting> SightingFromAlert(const Alert& alert, const SightingOptions& options,
                                   const std::optional<PreviousSighting>& previous, int64_t now_ns);

// Reads the properties PreviousSighting needs from a stored sighting.
Result<PreviousSighting> ParsePreviousSighting(std::string_view sighting_json);

struct AlertSightingsOptions {
  SightingOptions sighting;
  std::string collection =
      "sightings";  // alias (or id) of the local collection; created if missing
  // Polling the alert store: alerts raised since the last poll minus this look-back are
  // looked at again (their counts may have grown through de-duplication).
  int64_t lookback_ns = 3'600'000'000'000;  // 1 h
  size_t poll_limit = 100'000;
};

struct AlertSightingsStats {
  uint64_t created = 0;     // new sightings
  uint64_t updated = 0;     // new versions (count raised)
  uint64_t unchanged = 0;   // alert already published with this count
  uint64_t local_only = 0;  // of created, not shareable
  uint64_t errors = 0;
};

// Publishes alerts as sightings into a local collection. Thread-safe (one lock).
class AlertSightings {
 public:
  static Result<std::unique_ptr<AlertSightings>> Open(intel::StixStore* stix,
                                                      AlertSightingsOptions options);
  ~AlertSightings();

  // Creates the sighting for `alert`, or a new version when its count grew; nothing
  // when the stored sighting already has this count. Returns the sighting id.
  Result<std::string> Publish(const Alert& alert);
  // A pipeline sink's "n more repeats of alert `id`" (pipeline::AlertSink::Repeat).
  Result<void> Repeat(const std::string& alert_id, uint32_t n);

  // Publishes every alert of `alerts` raised since the last poll (minus the look-back).
  // The position is kept in memory; the first poll starts `lookback_ns` back from now
  // unless `since_ns` is given.
  Result<uint64_t> PollStore(store::Store& alerts, std::optional<int64_t> since_ns = {});
  // Polls on a background thread every `interval_ns` until Stop() or destruction.
  void StartPolling(store::Store* alerts, int64_t interval_ns);
  void Stop();

  AlertSightingsStats stats() const;
  const std::string& collection_id() const { return collection_id_; }

 private:
  AlertSightings(intel::StixStore* stix, AlertSightingsOptions options, std::string collection_id);
  Result<std::string> PublishLocked(const Alert& alert);

  intel::StixStore* const stix_;
  const AlertSightingsOptions options_;
  const std::string collection_id_;

  mutable std::mutex mutex_;  // guards everything below and serialises publishing
  AlertSightingsStats stats_;
  std::map<std::string, Alert> recent_;  // alert id -> last alert published (for Repeat)
  std::optional<int64_t> poll_since_ns_;

  std::mutex poll_mutex_;  // guards stop_ for the polling thread's wait
  std::condition_variable poll_cv_;
  bool stop_ = false;
  std::thread poller_;
};

}  // namespace aegis::share
