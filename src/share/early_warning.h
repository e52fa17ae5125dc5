// Early Warning: each member organisation registers its IP ranges, domains and ASNs,
// and is told whenever new threat data (STIX indicators, observed data, sightings,
// reports arriving in the hub, and plain feed indicators) mentions them.
//
// Matching is done against an immutable in-memory index of the registrations (sorted
// prefixes for IPs, a hash of names walked label by label for domains, a hash of ASNs),
// rebuilt and swapped when registrations change. Private and bogon space never
// matches and cannot be registered. Each match is graded (Admiralty/NATO: source
// reliability A–F, information credibility 1–6), filtered by the caller's TLP
// predicate, de-duplicated within a window, stored as a notification (in-app) and
// queued for delivery by webhook (HMAC-SHA256 signed) and e-mail on a worker thread,
// so ingest never waits for the network. Tables of component "early_warning" in the
// shared SQLite database. See docs/EARLY-WARNING.md.
//
//   auto ew = share::EarlyWarning::Open("aegis.db", {.may_read = tlp_check, .lookup = get});
//   (*ew)->Register({.org_id = "rxa", .kind = share::RegistrationKind::kDomain,
//                    .value = "nhs-trust.nhs.uk"}, "admin");
//   stix_store.AddObjectsAddedHook([&](auto added) { (*ew)->OnObjectsAdded(added); });
//   (*ew)->Start();  // delivery worker; Stop() drains it
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "auth/tlp_policy.h"
#include "core/error.h"
#include "core/indicator.h"
#include "core/observables.h"
#include "intel/stix_store.h"
#include "store/sqlite.h"

namespace aegis::share {

enum class RegistrationKind : unsigned char { kIp, kDomain, kAsn };
std::string_view RegistrationKindName(RegistrationKind kind);  // "ip", "domain", "asn"
std::optional<RegistrationKind> ParseRegistrationKind(std::string_view name);

struct Registration {
  int64_t id = 0;  // assigned by the database
  std::string org_id;
  RegistrationKind kind = RegistrationKind::kIp;
  std::string value;  // normalised: "81.2.69.0/24", "nhs-trust.nhs.uk", "5462"
  int64_t created_ns = 0;
  std::string created_by;
};

// ---------------------------------------------------------------------------
// Bogons and normalisation (pure functions).

// One range that never triggers a notification and cannot be registered.
struct BogonRange {
  std::string_view cidr;    // "10.0.0.0/8"
  std::string_view reason;  // "private range (RFC 1918)"
};
std::span<const BogonRange> BogonRanges();
// Why `prefix` is private, reserved or bogon space (it overlaps a listed range, or is
// broader than /8 for IPv4 or /16 for IPv6), or nullopt when it is public.
std::optional<std::string> BogonReason(const IpPrefix& prefix);

// One ASN range reserved for private use or documentation (RFC 6996, 5398, 7300, 6793).
struct ReservedAsnRange {
  uint32_t first, last;
  std::string_view reason;
};
std::span<const ReservedAsnRange> ReservedAsnRanges();
std::optional<std::string> ReservedAsnReason(uint32_t asn);

// Special-use names (RFC 2606, 6761, 6762, 8375) that never notify and cannot be
// registered: "localhost", "example.com", "*.test", "*.local", ...
std::optional<std::string> ReservedDomainReason(std::string_view normalised_domain);

// Parses "AS64496", "as64496" or "5462".
std::expected<uint32_t, std::string> ParseAsn(std::string_view text);

// Normalises a registration value for its kind, refusing bogon and reserved values
// with a reason that names the range ("10.0.0.0/8 is private range (RFC 1918)...").
Result<std::string> NormalizeRegistration(RegistrationKind kind, std::string_view value);

// ---------------------------------------------------------------------------
// Observables: what a piece of threat data mentions.

enum class ObservableKind : unsigned char { kIp, kDomain, kAsn };

struct Observable {
  ObservableKind kind = ObservableKind::kIp;
  std::string value;         // normalised: "81.2.69.142", "81.2.69.0/24", "mail.x.nhs.uk", "5462"
  std::string context;       // where it was found: "pattern domain-name:value", "url host"
  bool operator==(const Observable&) const = default;
};

// Observables in a STIX pattern: comparisons with =, IN, ISSUBSET or ISSUPERSET on
// ipv4-addr/ipv6-addr/domain-name/url/email-addr values, autonomous-system:number,
// and *_ref(s).value paths (network-traffic, email-message, resolves_to_refs), in any
// boolean structure (an indicator that ANDs an address with a port still mentions
// the address). Values that do not parse are skipped.
std::vector<Observable> ObservablesInPattern(std::string_view pattern);

// ---------------------------------------------------------------------------
// Grading (Admiralty / NATO system).

// 'A' completely reliable ... 'E' unreliable, 'F' reliability cannot be judged.
// 1 confirmed ... 5 improbable, 6 truth cannot be judged.
struct Grade {
  char reliability = 'F';
  int credibility = 6;
  std::string Code() const;  // "B2"
};

// STIX confidence (0–100) to credibility: 80–100 → 1, 60–79 → 2, 40–59 → 3,
// 20–39 → 4, 0–19 → 5; absent → 6 (STIX 2.1 appendix A, Admiralty scale).
int CredibilityFromConfidence(std::optional<int> confidence);
// Corroboration: `organisations` distinct organisations reported the same thing.
// Two cap credibility at 2, three or more at 1.
int CorroboratedCredibility(int credibility, size_t organisations);
std::string_view ReliabilityMeaning(char reliability);
std::string_view CredibilityMeaning(int credibility);

// ---------------------------------------------------------------------------
// Notifications and channels.

enum class NotificationKind : unsigned char { kIndicator, kObserved, kSighting, kReport, kFeed };
std::string_view NotificationKindName(NotificationKind kind);  // "indicator", ...

struct ChannelDelivery {
  int64_t channel_id = 0;
  std::string channel;  // "webhook https://..." or "email soc@x"
  std::string state;    // "pending", "delivered", "failed"
  int attempts = 0;
  std::string last_error;
  int64_t delivered_ns = 0;
};

struct Notification {
  int64_t id = 0;
  std::string org_id;
  int64_t created_ns = 0;
  int64_t last_seen_ns = 0;  // of the latest repeat folded into this one
  uint64_t count = 1;        // 1 + repeats within the de-duplication window
  NotificationKind kind = NotificationKind::kIndicator;
  std::string object_id;       // STIX id, or "feed:<source>" for feed indicators
  std::string object_version;  // STIX version; "" for feeds
  std::string object_type;     // "indicator", "sighting", ..., or the indicator type
  int64_t registration_id = 0;
  std::string registration;    // "domain nhs-trust.nhs.uk"
  std::string observed;        // the value in the threat data: "mail.nhs-trust.nhs.uk"
  std::string context;         // where it was found: "pattern domain-name:value"
  std::string summary;         // one line for people
  std::string source;          // producing organisation ("org:<id>") or feed ("feed:<name>")
  Grade grade;
  Tlp tlp = Tlp::kAmber;
  std::string dedup_key;
  int64_t acked_ns = 0;        // 0: not acknowledged
  std::string acked_by;
  std::vector<ChannelDelivery> deliveries;  // filled by GetNotification/ListNotifications
};

enum class ChannelKind : unsigned char { kWebhook, kEmail };
std::string_view ChannelKindName(ChannelKind kind);

struct Channel {
  int64_t id = 0;
  std::string org_id;
  ChannelKind kind = ChannelKind::kWebhook;
  std::string target;  // URL or e-mail address
  std::string secret;  // webhook HMAC key; empty: unsigned
  int64_t created_ns = 0;
};

// Header carrying "sha256=<hex HMAC-SHA256 of the body under the channel secret>".
inline constexpr std::string_view kSignatureHeader = "X-Aegis-Signature";
std::string WebhookSignature(std::string_view secret, std::string_view body);
// The JSON body posted to webhooks (and the --json form of a notification).
std::string NotificationJson(const Notification& notification);

struct NotificationQuery {
  std::string org_id;        // empty: every organisation
  int64_t since_ns = 0;      // created at or after
  bool unacked_only = false;
  size_t limit = 1000;
};

// Settings kept in the database (aegis ew settings).
struct Settings {
  std::string smtp_url;   // "smtp://127.0.0.1:25"; empty: no e-mail delivery
  std::string smtp_from = "aegis-early-warning@localhost";
  std::string smtp_user, smtp_password;
  int64_t dedup_window_ns = 24LL * 3600 * 1'000'000'000;
  // Source reliability per producer: "org:<id>" or "feed:<name prefix>" → 'A'..'F'.
  std::map<std::string, char> reliability;
};

// What an organisation would be told (before de-duplication and storage).
struct Match {
  std::string org_id;
  int64_t registration_id = 0;
  std::string registration;
  Observable observed;
};

struct Options {
  // May `org_id` read this object? (the hub passes its TLP check). Unset: yes.
  std::function<bool(const std::string& org_id, const intel::ObjectMeta&)> may_read;
  // The JSON of a referenced STIX object (latest version), for sightings, reports and
  // observed data. Unset: references are not followed.
  std::function<std::optional<std::string>(std::string_view id)> lookup;
  // The type of a producing organisation (default reliability). Unset: unknown.
  std::function<std::optional<auth::OrgType>(std::string_view org_id)> org_type;
  std::function<int64_t()> now_ns;  // unset: the wall clock
  // Webhook and e-mail delivery.
  int max_attempts = 5;
  std::chrono::milliseconds first_retry_delay{2'000};  // doubles per attempt
  std::chrono::milliseconds http_timeout{10'000};
  std::chrono::milliseconds drain_timeout{15'000};  // Stop(): how long to keep delivering
  bool verify_tls = true;
};

struct IngestStats {
  uint64_t objects = 0;        // looked at
  uint64_t matches = 0;        // (org, registration, observable) found
  uint64_t suppressed_bogon = 0;
  uint64_t denied_tlp = 0;
  uint64_t notified = 0;       // new notifications
  uint64_t repeats = 0;        // folded into an earlier notification
};

class EarlyWarning {
 public:
  // Opens (creating if needed, with its parent folder) the database at `db_path`.
  static Result<std::unique_ptr<EarlyWarning>> Open(const std::string& db_path,
                                                    Options options = {});
  ~EarlyWarning();  // Stop()s
  EarlyWarning(const EarlyWarning&) = delete;
  EarlyWarning& operator=(const EarlyWarning&) = delete;

  // Registrations. Register refuses bogons, reserved values and duplicates.
  Result<Registration> Register(Registration registration, std::string_view by);
  // By id, or by (org, kind, value). Returns how many were removed.
  Result<uint64_t> Unregister(int64_t id);
  Result<uint64_t> Unregister(std::string_view org_id, RegistrationKind kind,
                              std::string_view value);
  Result<std::vector<Registration>> ListRegistrations(std::string_view org_id = {});

  // Channels.
  Result<Channel> AddChannel(Channel channel);
  Result<uint64_t> RemoveChannel(int64_t id);
  Result<std::vector<Channel>> ListChannels(std::string_view org_id = {});

  Result<Settings> GetSettings();
  Result<void> PutSettings(const Settings& settings);

  // Ingest. Matching runs inline (an in-memory index; nothing touches the database
  // unless something matched); delivery is queued for the worker.
  Result<IngestStats> OnObjectsAdded(std::span<const intel::StoredObject> objects);
  Result<IngestStats> OnIndicators(std::span<const Indicator> indicators,
                                   std::string_view source);

  // Dry run: what these objects would raise (after bogon and TLP filtering, before
  // de-duplication), without storing or sending anything.
  // `stats` (optional) tells how many matches bogon and TLP filtering held back.
  Result<std::vector<Notification>> Check(std::span<const intel::StoredObject> objects,
                                          IngestStats* stats = nullptr);

  // Every registration that `observable` hits (bogons never hit).
  std::vector<Match> MatchObservable(const Observable& observable) const;

  Result<std::vector<Notification>> ListNotifications(const NotificationQuery& query);
  Result<std::optional<Notification>> GetNotification(int64_t id);
  // Marks a notification read; `org_id` non-empty: only if it belongs to that org.
  Result<bool> Ack(int64_t id, std::string_view by, std::string_view org_id = {});

  // Delivery worker: starts it (re-queues deliveries left pending by a previous run).
  Result<void> Start();
  // Stops accepting work and delivers what is queued (retries included) for up to
  // drain_timeout; what is left stays pending in the database. Idempotent.
  void Stop();
  // Deliveries queued or waiting for a retry.
  size_t pending_deliveries() const;

  struct Impl;

 private:
  explicit EarlyWarning(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace aegis::share
