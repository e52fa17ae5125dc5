// Early Warning service: registrations, matching index, notifications, delivery.
// See early_warning.h and docs/EARLY-WARNING.md.
#include "share/early_warning.h"

#include <openssl/hmac.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "core/event.h"
#include "core/strings.h"
#include "net/http_client.h"

namespace aegis::share {
namespace internal {
// early_warning_match.cc
void AddObservable(std::string_view kind, std::string_view value, std::string_view context,
                   std::vector<Observable>& out);
}  // namespace internal

namespace sql = store::sqlite;

namespace {

constexpr std::string_view kComponent = "early_warning";

constexpr sql::Migration kMigrations[] = {
    {1, "early warning registrations, channels, notifications, deliveries, settings",
     R"sql(
CREATE TABLE ew_registrations (
  id INTEGER PRIMARY KEY,
  org_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  value TEXT NOT NULL,
  created_ns INTEGER NOT NULL,
  created_by TEXT NOT NULL DEFAULT '',
  UNIQUE (org_id, kind, value)
);
CREATE TABLE ew_channels (
  id INTEGER PRIMARY KEY,
  org_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  target TEXT NOT NULL,
  secret TEXT NOT NULL DEFAULT '',
  created_ns INTEGER NOT NULL,
  UNIQUE (org_id, kind, target)
);
CREATE TABLE ew_notifications (
  id INTEGER PRIMARY KEY,
  org_id TEXT NOT NULL,
  created_ns INTEGER NOT NULL,
  last_seen_ns INTEGER NOT NULL,
  count INTEGER NOT NULL DEFAULT 1,
  kind TEXT NOT NULL,
  object_id TEXT NOT NULL,
  object_version TEXT NOT NULL DEFAULT '',
  object_type TEXT NOT NULL DEFAULT '',
  registration_id INTEGER NOT NULL,
  registration TEXT NOT NULL,
  observed TEXT NOT NULL,
  context TEXT NOT NULL DEFAULT '',
  summary TEXT NOT NULL,
  source TEXT NOT NULL DEFAULT '',
  reliability TEXT NOT NULL,
  credibility INTEGER NOT NULL,
  tlp TEXT NOT NULL,
  dedup_key TEXT NOT NULL,
  acked_ns INTEGER NOT NULL DEFAULT 0,
  acked_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ew_notifications_org ON ew_notifications (org_id, created_ns);
CREATE INDEX ew_notifications_dedup ON ew_notifications (dedup_key, created_ns);
CREATE TABLE ew_deliveries (
  notification_id INTEGER NOT NULL REFERENCES ew_notifications (id) ON DELETE CASCADE,
  channel_id INTEGER NOT NULL,
  channel TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  delivered_ns INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (notification_id, channel_id)
);
CREATE INDEX ew_deliveries_state ON ew_deliveries (state);
CREATE TABLE ew_settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE ew_corroboration (
  subject_id TEXT NOT NULL,
  org_id TEXT NOT NULL,
  first_ns INTEGER NOT NULL,
  PRIMARY KEY (subject_id, org_id)
);
)sql"},
};

using U128 = unsigned __int128;

U128 AddressValue(const IpAddress& addr) {
  U128 v = 0;
  if (!addr.v6) return addr.v4();
  for (uint8_t b : addr.bytes) v = (v << 8) | b;
  return v;
}

unsigned Width(bool v6) { return v6 ? 128 : 32; }

U128 MaskTo(U128 value, unsigned length, unsigned width) {
  if (length == 0) return 0;
  unsigned host = width - length;
  if (host == 0) return value;
  return value & ~((U128{1} << host) - 1);
}

U128 LastOf(U128 start, unsigned length, unsigned width) {
  unsigned host = width - length;
  if (host == 0) return start;
  return start | ((U128{1} << host) - 1);
}

std::string FormatReliabilityKey(std::string_view source) { return "reliability:" + std::string(source); }

}  // namespace

std::string_view NotificationKindName(NotificationKind kind) {
  switch (kind) {
    case NotificationKind::kIndicator: return "indicator";
    case NotificationKind::kObserved: return "observed";
    case NotificationKind::kSighting: return "sighting";
    case NotificationKind::kReport: return "report";
    case NotificationKind::kFeed: return "feed";
  }
  return "?";
}

namespace {
std::optional<NotificationKind> ParseNotificationKind(std::string_view name) {
  for (auto kind : {NotificationKind::kIndicator, NotificationKind::kObserved, NotificationKind::kSighting,
                    NotificationKind::kReport, NotificationKind::kFeed}) {
    if (NotificationKindName(kind) == name) return kind;
  }
  return std::nullopt;
}
}  // namespace

std::string_view ChannelKindName(ChannelKind kind) {
  return kind == ChannelKind::kWebhook ? "webhook" : "email";
}

std::string WebhookSignature(std::string_view secret, std::string_view body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

namespace {
void JsonMember(std::string& out, std::string_view key, std::string_view value, bool first = false) {
  if (!first) out.push_back(',');
  AppendJsonString(out, key);
  out.push_back(':');
  AppendJsonString(out, value);
}
void JsonNumber(std::string& out, std::string_view key, int64_t value) {
  out.push_back(',');
  AppendJsonString(out, key);
  out.push_back(':');
  out.append(std::to_string(value));
}
}  // namespace

std::string NotificationJson(const Notification& n) {
  std::string out = "{";
  JsonMember(out, "type", "aegis-early-warning", true);
  JsonNumber(out, "id", n.id);
  JsonMember(out, "org_id", n.org_id);
  JsonMember(out, "created", n.created_ns ? FormatTime(n.created_ns) : "");
  JsonMember(out, "last_seen", n.last_seen_ns ? FormatTime(n.last_seen_ns) : "");
  JsonNumber(out, "count", static_cast<int64_t>(n.count));
  JsonMember(out, "kind", NotificationKindName(n.kind));
  JsonMember(out, "object_id", n.object_id);
  JsonMember(out, "object_version", n.object_version);
  JsonMember(out, "object_type", n.object_type);
  out.append(",\"matched\":{\"registration_id\":" + std::to_string(n.registration_id));
  JsonMember(out, "registration", n.registration);
  JsonMember(out, "observed", n.observed);
  JsonMember(out, "context", n.context);
  out.push_back('}');
  JsonMember(out, "summary", n.summary);
  JsonMember(out, "source", n.source);
  out.append(",\"grade\":{");
  JsonMember(out, "code", n.grade.Code(), true);
  JsonMember(out, "reliability", std::string(1, n.grade.reliability));
  JsonMember(out, "reliability_meaning", ReliabilityMeaning(n.grade.reliability));
  JsonNumber(out, "credibility", n.grade.credibility);
  JsonMember(out, "credibility_meaning", CredibilityMeaning(n.grade.credibility));
  out.push_back('}');
  JsonMember(out, "tlp", TlpName(n.tlp));
  out.append(",\"acked\":");
  out.append(n.acked_ns ? "true" : "false");
  if (n.acked_ns) {
    JsonMember(out, "acked_at", FormatTime(n.acked_ns));
    JsonMember(out, "acked_by", n.acked_by);
  }
  if (!n.deliveries.empty()) {
    out.append(",\"deliveries\":[");
    for (size_t i = 0; i < n.deliveries.size(); ++i) {
      const ChannelDelivery& d = n.deliveries[i];
      if (i) out.push_back(',');
      out.push_back('{');
      JsonMember(out, "channel", d.channel, true);
      JsonMember(out, "state", d.state);
      JsonNumber(out, "attempts", d.attempts);
      if (!d.last_error.empty()) JsonMember(out, "last_error", d.last_error);
      if (d.delivered_ns) JsonMember(out, "delivered_at", FormatTime(d.delivered_ns));
      out.push_back('}');
    }
    out.push_back(']');
  }
  out.push_back('}');
  return out;
}

// ---------------------------------------------------------------------------
// Matching index: immutable once built.

namespace {

struct RegInfo {
  int64_t id;
  std::string org_id;
  std::string display;  // "ip 81.2.69.0/24"
};

struct IpEntry {
  bool v6;
  U128 start;
  uint8_t length;
  uint32_t reg;  // index into regs
  auto Key() const { return std::tuple(v6, start, length); }
};

class MatchIndex {
 public:
  explicit MatchIndex(const std::vector<Registration>& registrations) {
    for (const Registration& r : registrations) {
      auto reg = static_cast<uint32_t>(regs_.size());
      regs_.push_back({r.id, r.org_id, std::string(RegistrationKindName(r.kind)) + " " + r.value});
      switch (r.kind) {
        case RegistrationKind::kIp: {
          auto prefix = ParseCidr(r.value);
          if (!prefix) break;
          ips_.push_back({prefix->addr.v6, AddressValue(prefix->addr), prefix->length, reg});
          (prefix->addr.v6 ? lengths_v6_ : lengths_v4_).insert(prefix->length);
          break;
        }
        case RegistrationKind::kDomain: domains_[r.value].push_back(reg); break;
        case RegistrationKind::kAsn: {
          auto asn = ParseAsn(r.value);
          if (asn) asns_[*asn].push_back(reg);
          break;
        }
      }
    }
    std::sort(ips_.begin(), ips_.end(), [](const IpEntry& a, const IpEntry& b) { return a.Key() < b.Key(); });
  }

  bool empty() const { return regs_.empty(); }

  void Find(const Observable& o, std::vector<Match>& out) const {
    auto emit = [&](uint32_t reg) {
      const RegInfo& info = regs_[reg];
      out.push_back({info.org_id, info.id, info.display, o});
    };
    switch (o.kind) {
      case ObservableKind::kIp: {
        auto prefix = ParseCidr(o.value);
        if (!prefix) return;
        bool v6 = prefix->addr.v6;
        unsigned width = Width(v6);
        U128 start = AddressValue(prefix->addr);
        unsigned length = prefix->length;
        auto less = [](const IpEntry& a, const std::tuple<bool, U128, uint8_t>& k) { return a.Key() < k; };
        // Registrations that contain the observed prefix (one lookup per length in use).
        for (uint8_t l : (v6 ? lengths_v6_ : lengths_v4_)) {
          if (l > length) break;
          auto key = std::tuple(v6, MaskTo(start, l, width), l);
          for (auto it = std::lower_bound(ips_.begin(), ips_.end(), key, less);
               it != ips_.end() && it->Key() == key; ++it) {
            emit(it->reg);
          }
        }
        // Registrations inside the observed prefix (an indicator range covering ours).
        if (length < width) {
          U128 last = LastOf(start, length, width);
          auto key = std::tuple(v6, start, static_cast<uint8_t>(length + 1));
          for (auto it = std::lower_bound(ips_.begin(), ips_.end(), key, less);
               it != ips_.end() && it->v6 == v6 && it->start <= last; ++it) {
            if (it->length > length) emit(it->reg);
          }
        }
        return;
      }
      case ObservableKind::kDomain: {
        std::string_view name = o.value;
        while (true) {
          if (auto it = domains_.find(std::string(name)); it != domains_.end()) {
            for (uint32_t reg : it->second) emit(reg);
          }
          size_t dot = name.find('.');
          if (dot == std::string_view::npos) break;
          name.remove_prefix(dot + 1);
        }
        return;
      }
      case ObservableKind::kAsn: {
        auto asn = ParseAsn(o.value);
        if (!asn) return;
        if (auto it = asns_.find(*asn); it != asns_.end()) {
          for (uint32_t reg : it->second) emit(reg);
        }
        return;
      }
    }
  }

 private:
  std::vector<RegInfo> regs_;
  std::vector<IpEntry> ips_;  // sorted by (v6, start, length)
  std::set<uint8_t> lengths_v4_, lengths_v6_;
  std::unordered_map<std::string, std::vector<uint32_t>> domains_;
  std::unordered_map<uint32_t, std::vector<uint32_t>> asns_;
};

// Why an observable is never notified (bogon, reserved), or nullopt.
std::optional<std::string> SuppressionReason(const Observable& o) {
  switch (o.kind) {
    case ObservableKind::kIp: {
      auto prefix = ParseCidr(o.value);
      if (!prefix) return "not an address";
      return BogonReason(*prefix);
    }
    case ObservableKind::kDomain: return ReservedDomainReason(o.value);
    case ObservableKind::kAsn: {
      auto asn = ParseAsn(o.value);
      if (!asn) return "not an AS number";
      return ReservedAsnReason(*asn);
    }
  }
  return std::nullopt;
}

// One piece of threat data with what it mentions.
struct Subject {
  NotificationKind kind = NotificationKind::kIndicator;
  const intel::ObjectMeta* meta = nullptr;  // null for feed indicators
  intel::ObjectMeta feed_meta;              // for feeds: what may_read sees
  std::string object_id, object_version, object_type, name, source;
  std::optional<int> confidence;
  std::string corroboration_subject;  // sightings: the indicator id sighted
  std::string reporter_org;           // sightings: who reported
  std::vector<Observable> observables;
};

struct Candidate {
  Notification notification;
  std::string corroboration_subject, reporter_org;
};

}  // namespace

// ---------------------------------------------------------------------------

struct EarlyWarning::Impl {
  std::string path;
  Options options;

  // The connection and its statements; every database use holds db_mutex_.
  mutable std::mutex db_mutex_;
  sql::Db db;

  // The current matching index and the registrations generation it was built from.
  mutable std::mutex index_mutex_;
  std::shared_ptr<const MatchIndex> index;
  int64_t index_generation = -1;

  // Delivery queue: (due time) → (notification, channel). Guarded by queue_mutex_.
  struct DeliveryItem {
    int64_t notification_id;
    int64_t channel_id;
  };
  mutable std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::multimap<std::chrono::steady_clock::time_point, DeliveryItem> queue_;
  size_t in_flight_ = 0;
  bool running_ = false;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point drain_deadline_;
  std::thread worker_;

  int64_t Now() const { return options.now_ns ? options.now_ns() : NowNs(); }

  // --- database helpers (db_mutex_ held by the caller) ---

  Result<sql::Statement> Prep(std::string_view text) { return sql::Prepare(db.get(), text, path); }

  Error DbError(std::string_view what) { return sql::SqliteError(db.get(), what, path); }

  Result<int64_t> RegistrationsGenerationLocked() {
    auto stmt = Prep("SELECT value FROM ew_settings WHERE key = 'registrations_generation'");
    if (!stmt) return std::unexpected(stmt.error());
    sql::StatementUse use(stmt->get());
    if (use.Step() == SQLITE_ROW) return std::stoll(std::string(sql::ColumnText(use.get(), 0)));
    return 0;
  }

  Result<void> BumpGenerationLocked() {
    return sql::ExecSql(db.get(),
                        "INSERT INTO ew_settings (key, value) VALUES ('registrations_generation', '1') "
                        "ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)",
                        path);
  }

  Result<std::vector<Registration>> ListRegistrationsLocked(std::string_view org_id) {
    auto stmt = Prep(
        "SELECT id, org_id, kind, value, created_ns, created_by FROM ew_registrations "
        "WHERE ?1 = '' OR org_id = ?1 ORDER BY org_id, kind, value");
    if (!stmt) return std::unexpected(stmt.error());
    sql::StatementUse use(stmt->get());
    use.Text(1, org_id);
    std::vector<Registration> out;
    int rc;
    while ((rc = use.Step()) == SQLITE_ROW) {
      Registration r;
      r.id = sql::ColumnInt(use.get(), 0);
      r.org_id = sql::ColumnText(use.get(), 1);
      r.kind = ParseRegistrationKind(sql::ColumnText(use.get(), 2)).value_or(RegistrationKind::kIp);
      r.value = sql::ColumnText(use.get(), 3);
      r.created_ns = sql::ColumnInt(use.get(), 4);
      r.created_by = sql::ColumnText(use.get(), 5);
      out.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE) return std::unexpected(DbError("listing registrations"));
    return out;
  }

  // The index, rebuilt when the registrations changed (also by another process).
  Result<std::shared_ptr<const MatchIndex>> CurrentIndex() {
    std::lock_guard db_lock(db_mutex_);
    auto generation = RegistrationsGenerationLocked();
    if (!generation) return std::unexpected(generation.error());
    {
      std::lock_guard lock(index_mutex_);
      if (index && index_generation == *generation) return index;
    }
    auto registrations = ListRegistrationsLocked({});
    if (!registrations) return std::unexpected(registrations.error());
    auto built = std::make_shared<const MatchIndex>(*registrations);
    std::lock_guard lock(index_mutex_);
    index = built;
    index_generation = *generation;
    return built;
  }

  Result<Settings> GetSettingsLocked() {
    auto stmt = Prep("SELECT key, value FROM ew_settings");
    if (!stmt) return std::unexpected(stmt.error());
    sql::StatementUse use(stmt->get());
    Settings s;
    int rc;
    while ((rc = use.Step()) == SQLITE_ROW) {
      std::string_view key = sql::ColumnText(use.get(), 0);
      std::string value(sql::ColumnText(use.get(), 1));
      if (key == "smtp_url") {
        s.smtp_url = value;
      } else if (key == "smtp_from") {
        s.smtp_from = value;
      } else if (key == "smtp_user") {
        s.smtp_user = value;
      } else if (key == "smtp_password") {
        s.smtp_password = value;
      } else if (key == "dedup_window_ns") {
        s.dedup_window_ns = std::stoll(value);
      } else if (key.starts_with("reliability:") && !value.empty()) {
        s.reliability[std::string(key.substr(12))] = value[0];
      }
    }
    if (rc != SQLITE_DONE) return std::unexpected(DbError("reading settings"));
    return s;
  }

  // --- extraction ---

  struct Parsers {
    simdjson::dom::parser at[4];
  };

  // Looks a referenced object up: first among the objects of this batch.
  std::optional<std::string> Lookup(std::string_view id,
                                    const std::unordered_map<std::string_view, std::string_view>& batch) {
    if (auto it = batch.find(id); it != batch.end()) return std::string(it->second);
    if (options.lookup) return options.lookup(id);
    return std::nullopt;
  }

  // Adds what one STIX object mentions to `subject`; follows references to `depth` 3.
  void Extract(std::string_view json, int depth, std::string_view via, Parsers& parsers,
               const std::unordered_map<std::string_view, std::string_view>& batch,
               std::unordered_set<std::string>& visited, Subject& subject, bool top) {
    if (depth > 3) return;
    simdjson::dom::element doc;
    if (parsers.at[depth].parse(json.data(), json.size()).get(doc)) return;
    simdjson::dom::object obj;
    if (doc.get_object().get(obj)) return;
    std::string_view type, id;
    if (obj["type"].get_string().get(type)) type = {};
    if (obj["id"].get_string().get(id)) id = {};
    if (!id.empty() && !visited.insert(std::string(id)).second) return;
    std::string prefix = via.empty() ? std::string() : std::string(via) + " → ";
    if (top) {
      std::string_view name;
      if (!obj["name"].get_string().get(name)) subject.name = name;
      int64_t confidence;
      if (!obj["confidence"].get_int64().get(confidence)) subject.confidence = static_cast<int>(confidence);
    }
    auto follow = [&](std::string_view ref_id) {
      if (ref_id.empty()) return;
      auto referenced = Lookup(ref_id, batch);
      if (!referenced) return;
      Extract(*referenced, depth + 1, prefix + std::string(ref_id), parsers, batch, visited, subject, false);
    };
    auto follow_list = [&](std::string_view key) {
      simdjson::dom::array refs;
      if (obj[key].get_array().get(refs)) return;
      std::vector<std::string> ids;  // the parser of this depth is reused below: copy first
      for (auto ref : refs) {
        std::string_view ref_id;
        if (!ref.get_string().get(ref_id)) ids.emplace_back(ref_id);
        if (ids.size() >= 10'000) break;
      }
      for (const std::string& ref_id : ids) follow(ref_id);
    };
    auto string_member = [&](std::string_view key) -> std::string {
      std::string_view v;
      if (obj[key].get_string().get(v)) return {};
      return std::string(v);
    };

    if (type == "indicator") {
      bool revoked = false;
      if (obj["revoked"].get_bool().get(revoked)) revoked = {};
      if (revoked) return;
      std::string_view pattern_type = "stix";
      if (obj["pattern_type"].get_string().get(pattern_type)) pattern_type = "stix";
      std::string_view pattern;
      if (pattern_type != "stix" || obj["pattern"].get_string().get(pattern)) return;
      for (Observable& o : ObservablesInPattern(pattern)) {
        o.context = prefix + o.context;
        subject.observables.push_back(std::move(o));
      }
    } else if (type == "ipv4-addr" || type == "ipv6-addr") {
      internal::AddObservable("ip", string_member("value"), prefix + std::string(type), subject.observables);
    } else if (type == "domain-name") {
      internal::AddObservable("domain", string_member("value"), prefix + "domain-name", subject.observables);
    } else if (type == "url") {
      internal::AddObservable("url", string_member("value"), prefix + "url host", subject.observables);
    } else if (type == "email-addr") {
      internal::AddObservable("email", string_member("value"), prefix + "email-addr domain",
                              subject.observables);
    } else if (type == "autonomous-system") {
      int64_t number;
      if (!obj["number"].get_int64().get(number)) {
        internal::AddObservable("asn", std::to_string(number), prefix + "autonomous-system",
                                subject.observables);
      }
    } else if (type == "network-traffic") {
      std::string src = string_member("src_ref"), dst = string_member("dst_ref");
      follow(src);
      follow(dst);
    } else if (type == "observed-data") {
      // The deprecated embedded `objects` dictionary, then object_refs.
      simdjson::dom::object embedded;
      if (!obj["objects"].get_object().get(embedded)) {
        std::vector<std::string> inner;
        for (auto field : embedded) inner.push_back(simdjson::minify(field.value));
        for (const std::string& j : inner) Extract(j, depth + 1, prefix + "observed-data objects", parsers,
                                                   batch, visited, subject, false);
      }
      follow_list("object_refs");
    } else if (type == "sighting") {
      std::string of = string_member("sighting_of_ref");
      if (top) subject.corroboration_subject = of;
      std::vector<std::string> observed;
      simdjson::dom::array refs;
      if (!obj["observed_data_refs"].get_array().get(refs)) {
        for (auto ref : refs) {
          std::string_view r;
          if (!ref.get_string().get(r)) observed.emplace_back(r);
        }
      }
      follow(of);
      for (const std::string& r : observed) follow(r);
    } else if (type == "report" || type == "grouping") {
      if (depth == 0) follow_list("object_refs");
    }
  }

  Grade GradeFor(const Subject& subject, const Settings& settings, size_t corroborating_orgs) {
    Grade grade;
    grade.credibility = CorroboratedCredibility(CredibilityFromConfidence(subject.confidence),
                                                corroborating_orgs);
    // Reliability: configured for the source (longest matching key), else by its type.
    const std::string& source = subject.source;
    size_t best = 0;
    for (const auto& [key, letter] : settings.reliability) {
      bool hit = source == key || (key.starts_with("feed:") && source.starts_with(key) &&
                                   (source.size() == key.size() || source[key.size()] == '/'));
      if (hit && key.size() > best) {
        best = key.size();
        grade.reliability = letter;
      }
    }
    if (best > 0) return grade;
    if (subject.kind == NotificationKind::kFeed) {
      grade.reliability = 'C';
    } else if (source.starts_with("org:") && options.org_type) {
      auto type = options.org_type(std::string_view(source).substr(4));
      if (type) {
        switch (*type) {
          case auth::OrgType::kNationalCentre: grade.reliability = 'A'; break;
          case auth::OrgType::kTrust:
          case auth::OrgType::kGpPractice: grade.reliability = 'B'; break;
          case auth::OrgType::kSupplier: grade.reliability = 'C'; break;
        }
      }
    }
    return grade;
  }

  // Distinct organisations that reported `subject_id` (with `reporter` counted).
  Result<size_t> CorroborationLocked(std::string_view subject_id, std::string_view reporter,
                                     bool record) {
    if (subject_id.empty()) return size_t{1};
    if (record && !reporter.empty()) {
      auto insert = Prep(
          "INSERT OR IGNORE INTO ew_corroboration (subject_id, org_id, first_ns) VALUES (?1, ?2, ?3)");
      if (!insert) return std::unexpected(insert.error());
      sql::StatementUse use(insert->get());
      use.Text(1, subject_id);
      use.Text(2, reporter);
      use.Int(3, Now());
      if (use.Step() != SQLITE_DONE) return std::unexpected(DbError("recording corroboration"));
    }
    auto count = Prep(
        "SELECT COUNT(*), SUM(org_id = ?2) FROM ew_corroboration WHERE subject_id = ?1");
    if (!count) return std::unexpected(count.error());
    sql::StatementUse use(count->get());
    use.Text(1, subject_id);
    use.Text(2, reporter);
    if (use.Step() != SQLITE_ROW) return std::unexpected(DbError("counting corroboration"));
    auto n = static_cast<size_t>(sql::ColumnInt(use.get(), 0));
    bool reporter_counted = sql::ColumnInt(use.get(), 1) > 0;
    if (!reporter_counted && !reporter.empty()) ++n;
    return std::max<size_t>(n, 1);
  }

  // Turns subjects into candidate notifications: match, bogon filter, TLP filter.
  Result<std::vector<Candidate>> Candidates(std::vector<Subject>& subjects, const MatchIndex& idx,
                                            IngestStats& stats, bool record_corroboration) {
    std::vector<Candidate> out;
    std::optional<Settings> settings;
    std::vector<Match> matches;
    for (Subject& subject : subjects) {
      matches.clear();
      for (const Observable& o : subject.observables) {
        if (SuppressionReason(o)) {
          ++stats.suppressed_bogon;
          continue;
        }
        idx.Find(o, matches);
      }
      if (matches.empty()) continue;
      stats.matches += matches.size();
      if (!settings) {
        std::lock_guard lock(db_mutex_);
        auto loaded = GetSettingsLocked();
        if (!loaded) return std::unexpected(loaded.error());
        settings = std::move(*loaded);
      }
      size_t corroborating = 1;
      if (!subject.corroboration_subject.empty()) {
        std::lock_guard lock(db_mutex_);
        auto n = CorroborationLocked(subject.corroboration_subject, subject.reporter_org,
                                     record_corroboration);
        if (!n) return std::unexpected(n.error());
        corroborating = *n;
      }
      Grade grade = GradeFor(subject, *settings, corroborating);
      const intel::ObjectMeta& meta = subject.meta ? *subject.meta : subject.feed_meta;
      std::unordered_map<std::string, bool> allowed;  // per org
      std::set<std::tuple<std::string, int64_t, std::string>> seen;
      for (const Match& m : matches) {
        auto [it, fresh] = allowed.try_emplace(m.org_id, true);
        if (fresh && options.may_read) it->second = options.may_read(m.org_id, meta);
        if (!it->second) {
          ++stats.denied_tlp;
          continue;
        }
        if (!seen.emplace(m.org_id, m.registration_id, m.observed.value).second) continue;
        Candidate c;
        Notification& n = c.notification;
        n.org_id = m.org_id;
        n.kind = subject.kind;
        n.object_id = subject.object_id;
        n.object_version = subject.object_version;
        n.object_type = subject.object_type;
        n.registration_id = m.registration_id;
        n.registration = m.registration;
        n.observed = m.observed.value;
        n.context = m.observed.context;
        n.source = subject.source;
        n.grade = grade;
        n.tlp = meta.tlp;
        std::string what = subject.name.empty() ? subject.object_id : subject.name;
        n.summary = std::string(NotificationKindName(subject.kind)) + " '" + what + "' mentions " +
                    m.observed.value + " (your " + m.registration + ")";
        n.dedup_key = m.org_id + "|" + std::to_string(m.registration_id) + "|" + m.observed.value +
                      "|" + subject.object_id;
        out.push_back(std::move(c));
      }
    }
    return out;
  }

  std::vector<Subject> SubjectsFromObjects(std::span<const intel::StoredObject> objects, IngestStats& stats) {
    static const std::unordered_set<std::string_view> kInteresting = {
        "indicator", "sighting",   "report",    "grouping",          "observed-data",  "ipv4-addr",
        "ipv6-addr", "domain-name", "url",      "email-addr",        "autonomous-system", "network-traffic"};
    std::unordered_map<std::string_view, std::string_view> batch;
    for (const intel::StoredObject& o : objects) batch[o.meta.id] = o.json;
    Parsers parsers;
    std::vector<Subject> subjects;
    for (const intel::StoredObject& o : objects) {
      ++stats.objects;
      if (!kInteresting.contains(o.meta.type)) continue;
      Subject s;
      s.meta = &o.meta;
      s.object_id = o.meta.id;
      s.object_version = o.meta.version;
      s.object_type = o.meta.type;
      s.source = o.meta.producer_org.empty() ? std::string("unknown") : "org:" + o.meta.producer_org;
      s.reporter_org = o.meta.producer_org;
      if (o.meta.type == "indicator") {
        s.kind = NotificationKind::kIndicator;
      } else if (o.meta.type == "sighting") {
        s.kind = NotificationKind::kSighting;
      } else if (o.meta.type == "report" || o.meta.type == "grouping") {
        s.kind = NotificationKind::kReport;
      } else {
        s.kind = NotificationKind::kObserved;
      }
      std::unordered_set<std::string> visited;
      Extract(o.json, 0, {}, parsers, batch, visited, s, true);
      if (!s.observables.empty()) subjects.push_back(std::move(s));
    }
    return subjects;
  }

  // Stores candidates (de-duplicating) and returns the deliveries to queue.
  Result<std::vector<DeliveryItem>> Store(std::vector<Candidate>& candidates, IngestStats& stats) {
    std::vector<DeliveryItem> deliveries;
    if (candidates.empty()) return deliveries;
    std::lock_guard lock(db_mutex_);
    auto settings = GetSettingsLocked();
    if (!settings) return std::unexpected(settings.error());
    auto tx = sql::Transaction::Begin(db.get(), path);
    if (!tx) return std::unexpected(tx.error());
    auto find = Prep(
        "SELECT id FROM ew_notifications WHERE dedup_key = ?1 AND created_ns >= ?2 "
        "ORDER BY created_ns DESC LIMIT 1");
    auto repeat = Prep("UPDATE ew_notifications SET count = count + 1, last_seen_ns = ?2 WHERE id = ?1");
    auto insert = Prep(
        "INSERT INTO ew_notifications (org_id, created_ns, last_seen_ns, kind, object_id, object_version, "
        "object_type, registration_id, registration, observed, context, summary, source, reliability, "
        "credibility, tlp, dedup_key) VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
        "?14, ?15, ?16)");
    auto channels = Prep("SELECT id, kind, target FROM ew_channels WHERE org_id = ?1 ORDER BY id");
    auto add_delivery = Prep(
        "INSERT OR IGNORE INTO ew_deliveries (notification_id, channel_id, channel) VALUES (?1, ?2, ?3)");
    for (auto* s : {&find, &repeat, &insert, &channels, &add_delivery}) {
      if (!*s) return std::unexpected(s->error());
    }
    const int64_t now = Now();
    for (Candidate& c : candidates) {
      Notification& n = c.notification;
      int64_t existing = 0;
      {
        sql::StatementUse use(find->get());
        use.Text(1, n.dedup_key);
        use.Int(2, now - settings->dedup_window_ns);
        if (use.Step() == SQLITE_ROW) existing = sql::ColumnInt(use.get(), 0);
      }
      if (existing != 0) {
        sql::StatementUse use(repeat->get());
        use.Int(1, existing);
        use.Int(2, now);
        if (use.Step() != SQLITE_DONE) return std::unexpected(DbError("counting a repeat"));
        n.id = existing;
        ++stats.repeats;
        continue;
      }
      {
        sql::StatementUse use(insert->get());
        std::string reliability(1, n.grade.reliability);
        use.Text(1, n.org_id);
        use.Int(2, now);
        use.Text(3, NotificationKindName(n.kind));
        use.Text(4, n.object_id);
        use.Text(5, n.object_version);
        use.Text(6, n.object_type);
        use.Int(7, n.registration_id);
        use.Text(8, n.registration);
        use.Text(9, n.observed);
        use.Text(10, n.context);
        use.Text(11, n.summary);
        use.Text(12, n.source);
        use.Text(13, reliability);
        use.Int(14, n.grade.credibility);
        use.Text(15, TlpName(n.tlp));
        use.Text(16, n.dedup_key);
        if (use.Step() != SQLITE_DONE) return std::unexpected(DbError("storing a notification"));
      }
      n.id = sqlite3_last_insert_rowid(db.get());
      n.created_ns = n.last_seen_ns = now;
      ++stats.notified;
      std::vector<std::pair<int64_t, std::string>> org_channels;
      {
        sql::StatementUse use(channels->get());
        use.Text(1, n.org_id);
        while (use.Step() == SQLITE_ROW) {
          org_channels.emplace_back(sql::ColumnInt(use.get(), 0), std::string(sql::ColumnText(use.get(), 1)) +
                                                                      " " + std::string(sql::ColumnText(use.get(), 2)));
        }
      }
      for (const auto& [channel_id, label] : org_channels) {
        sql::StatementUse use(add_delivery->get());
        use.Int(1, n.id);
        use.Int(2, channel_id);
        use.Text(3, label);
        if (use.Step() != SQLITE_DONE) return std::unexpected(DbError("queueing a delivery"));
        deliveries.push_back({n.id, channel_id});
      }
    }
    if (auto ok = tx->Commit(); !ok) return std::unexpected(ok.error());
    return deliveries;
  }

  void Enqueue(const std::vector<DeliveryItem>& items) {
    if (items.empty()) return;
    std::lock_guard lock(queue_mutex_);
    if (!running_ || stopping_) return;  // stays pending in the database
    auto now = std::chrono::steady_clock::now();
    for (const DeliveryItem& item : items) queue_.emplace(now, item);
    queue_cv_.notify_all();
  }

  Result<IngestStats> Ingest(std::vector<Subject>& subjects, IngestStats stats) {
    auto idx = CurrentIndex();
    if (!idx) return std::unexpected(idx.error());
    auto candidates = Candidates(subjects, **idx, stats, true);
    if (!candidates) return std::unexpected(candidates.error());
    auto deliveries = Store(*candidates, stats);
    if (!deliveries) return std::unexpected(deliveries.error());
    Enqueue(*deliveries);
    return stats;
  }

  // --- reading notifications ---

  static constexpr std::string_view kNotificationColumns =
      "id, org_id, created_ns, last_seen_ns, count, kind, object_id, object_version, object_type, "
      "registration_id, registration, observed, context, summary, source, reliability, credibility, tlp, "
      "dedup_key, acked_ns, acked_by";

  static Notification ReadNotification(sqlite3_stmt* s) {
    Notification n;
    n.id = sql::ColumnInt(s, 0);
    n.org_id = sql::ColumnText(s, 1);
    n.created_ns = sql::ColumnInt(s, 2);
    n.last_seen_ns = sql::ColumnInt(s, 3);
    n.count = static_cast<uint64_t>(sql::ColumnInt(s, 4));
    n.kind = ParseNotificationKind(sql::ColumnText(s, 5)).value_or(NotificationKind::kIndicator);
    n.object_id = sql::ColumnText(s, 6);
    n.object_version = sql::ColumnText(s, 7);
    n.object_type = sql::ColumnText(s, 8);
    n.registration_id = sql::ColumnInt(s, 9);
    n.registration = sql::ColumnText(s, 10);
    n.observed = sql::ColumnText(s, 11);
    n.context = sql::ColumnText(s, 12);
    n.summary = sql::ColumnText(s, 13);
    n.source = sql::ColumnText(s, 14);
    std::string_view reliability = sql::ColumnText(s, 15);
    n.grade.reliability = reliability.empty() ? 'F' : reliability[0];
    n.grade.credibility = static_cast<int>(sql::ColumnInt(s, 16));
    n.tlp = ParseTlp(sql::ColumnText(s, 17)).value_or(Tlp::kAmber);
    n.dedup_key = sql::ColumnText(s, 18);
    n.acked_ns = sql::ColumnInt(s, 19);
    n.acked_by = sql::ColumnText(s, 20);
    return n;
  }

  Result<void> FillDeliveriesLocked(Notification& n) {
    auto stmt = Prep(
        "SELECT channel_id, channel, state, attempts, last_error, delivered_ns FROM ew_deliveries "
        "WHERE notification_id = ?1 ORDER BY channel_id");
    if (!stmt) return std::unexpected(stmt.error());
    sql::StatementUse use(stmt->get());
    use.Int(1, n.id);
    while (use.Step() == SQLITE_ROW) {
      ChannelDelivery d;
      d.channel_id = sql::ColumnInt(use.get(), 0);
      d.channel = sql::ColumnText(use.get(), 1);
      d.state = sql::ColumnText(use.get(), 2);
      d.attempts = static_cast<int>(sql::ColumnInt(use.get(), 3));
      d.last_error = sql::ColumnText(use.get(), 4);
      d.delivered_ns = sql::ColumnInt(use.get(), 5);
      n.deliveries.push_back(std::move(d));
    }
    return {};
  }

  Result<std::optional<Notification>> GetNotificationLocked(int64_t id) {
    auto stmt = Prep("SELECT " + std::string(kNotificationColumns) + " FROM ew_notifications WHERE id = ?1");
    if (!stmt) return std::unexpected(stmt.error());
    std::optional<Notification> out;
    {
      sql::StatementUse use(stmt->get());
      use.Int(1, id);
      if (use.Step() == SQLITE_ROW) out = ReadNotification(use.get());
    }
    if (out) {
      if (auto ok = FillDeliveriesLocked(*out); !ok) return std::unexpected(ok.error());
    }
    return out;
  }

  Result<std::optional<Channel>> GetChannelLocked(int64_t id) {
    auto stmt = Prep("SELECT id, org_id, kind, target, secret, created_ns FROM ew_channels WHERE id = ?1");
    if (!stmt) return std::unexpected(stmt.error());
    sql::StatementUse use(stmt->get());
    use.Int(1, id);
    if (use.Step() != SQLITE_ROW) return std::optional<Channel>();
    Channel c;
    c.id = sql::ColumnInt(use.get(), 0);
    c.org_id = sql::ColumnText(use.get(), 1);
    c.kind = sql::ColumnText(use.get(), 2) == "email" ? ChannelKind::kEmail : ChannelKind::kWebhook;
    c.target = sql::ColumnText(use.get(), 3);
    c.secret = sql::ColumnText(use.get(), 4);
    c.created_ns = sql::ColumnInt(use.get(), 5);
    return std::optional<Channel>(std::move(c));
  }

  // --- delivery ---

  // One attempt; returns "" on success or why it failed, and whether a retry may help.
  std::pair<std::string, bool> Attempt(net::HttpClient& client, const Notification& n, const Channel& channel,
                                       const Settings& settings) {
    std::string body = NotificationJson(n);
    if (channel.kind == ChannelKind::kWebhook) {
      net::Headers headers = {{"Content-Type", "application/json"},
                              {"X-Aegis-Event", "early-warning"},
                              {"X-Aegis-Delivery", std::to_string(n.id) + "-" + std::to_string(channel.id)}};
      if (!channel.secret.empty()) {
        headers.emplace_back(std::string(kSignatureHeader), WebhookSignature(channel.secret, body));
      }
      auto response = client.Post(channel.target, body, headers);
      if (!response) return {response.error().ToString(), true};
      if (response->status >= 200 && response->status < 300) return {"", false};
      bool retry = response->status >= 500 || response->status == 429 || response->status == 408;
      return {"HTTP " + std::to_string(response->status), retry};
    }
    if (settings.smtp_url.empty()) {
      return {"no SMTP server configured (aegis ew settings --smtp-url)", false};
    }
    net::MailMessage mail;
    mail.url = settings.smtp_url;
    mail.user = settings.smtp_user;
    mail.password = settings.smtp_password;
    mail.from = settings.smtp_from;
    mail.to = {channel.target};
    mail.subject = "[Aegis Early Warning " + n.grade.Code() + "] " + n.summary;
    mail.body = "Aegis Early Warning for " + n.org_id + "\n\n" + n.summary + "\n\n" +
                "Matched:      " + n.registration + "\n" + "Observed:     " + n.observed + "\n" +
                "Found in:     " + n.context + "\n" + "Object:       " + n.object_id +
                (n.object_version.empty() ? "" : " (" + n.object_version + ")") + "\n" +
                "Kind:         " + std::string(NotificationKindName(n.kind)) + "\n" +
                "Source:       " + n.source + "\n" + "Grade:        " + n.grade.Code() + " (" +
                std::string(ReliabilityMeaning(n.grade.reliability)) + ", " +
                std::string(CredibilityMeaning(n.grade.credibility)) + ")\n" +
                "TLP:          " + std::string(TlpName(n.tlp)) + "\n" +
                "Notification: " + std::to_string(n.id) + " (aegis ew ack " + std::to_string(n.id) + ")\n\n" +
                "This message is " + std::string(TlpName(n.tlp)) + ": share it accordingly.\n";
    mail.timeout = options.http_timeout;
    auto sent = net::SendMail(mail);
    if (!sent) return {sent.error().ToString(), true};
    return {"", false};
  }

  void DeliverOne(net::HttpClient& client, DeliveryItem item) {
    std::optional<Notification> n;
    std::optional<Channel> channel;
    Settings settings;
    int attempts_before = 0;
    {
      std::lock_guard lock(db_mutex_);
      auto got = GetNotificationLocked(item.notification_id);
      auto ch = GetChannelLocked(item.channel_id);
      auto st = GetSettingsLocked();
      if (!got || !ch || !st) {
        spdlog::warn("early warning: cannot load delivery {}-{}", item.notification_id, item.channel_id);
        return;
      }
      n = std::move(*got);
      channel = std::move(*ch);
      settings = std::move(*st);
      if (n) {
        for (const ChannelDelivery& d : n->deliveries) {
          if (d.channel_id == item.channel_id) {
            if (d.state != "pending") return;  // already done (e.g. re-queued twice)
            attempts_before = d.attempts;
          }
        }
      }
    }
    if (!n) return;  // deleted
    std::string error;
    bool retry = false;
    if (!channel) {
      error = "channel removed";
    } else {
      n->deliveries.clear();
      std::tie(error, retry) = Attempt(client, *n, *channel, settings);
    }
    const int attempts = attempts_before + 1;
    const bool give_up = !error.empty() && (!retry || attempts >= options.max_attempts);
    std::string state = error.empty() ? "delivered" : (give_up ? "failed" : "pending");
    {
      std::lock_guard lock(db_mutex_);
      auto stmt = Prep(
          "UPDATE ew_deliveries SET state = ?3, attempts = ?4, last_error = ?5, delivered_ns = ?6 "
          "WHERE notification_id = ?1 AND channel_id = ?2");
      if (stmt) {
        sql::StatementUse use(stmt->get());
        use.Int(1, item.notification_id);
        use.Int(2, item.channel_id);
        use.Text(3, state);
        use.Int(4, attempts);
        use.Text(5, error);
        use.Int(6, error.empty() ? Now() : 0);
        if (use.Step() != SQLITE_DONE) spdlog::warn("early warning: {}", DbError("recording a delivery").ToString());
      }
    }
    if (!error.empty()) {
      spdlog::warn("early warning: delivery of notification {} to {} failed (attempt {}): {}", n->id,
                   channel ? channel->target : std::string("removed channel"), attempts, error);
    }
    if (state == "pending") {
      auto delay = options.first_retry_delay * (1LL << std::min(attempts - 1, 20));
      std::lock_guard lock(queue_mutex_);
      queue_.emplace(std::chrono::steady_clock::now() + delay, item);
      queue_cv_.notify_all();
    }
  }

  void WorkerLoop() {
    net::HttpClient client({.timeout = options.http_timeout,
                            .connect_timeout = std::min(options.http_timeout, std::chrono::milliseconds(5'000)),
                            .ca_file = {},
                            .verify_tls = options.verify_tls,
                            .max_response_bytes = 1u << 20,
                            .user_agent = "aegis-early-warning"});
    std::unique_lock lock(queue_mutex_);
    while (true) {
      auto now = std::chrono::steady_clock::now();
      if (stopping_ && (queue_.empty() || now >= drain_deadline_)) break;
      if (queue_.empty()) {
        queue_cv_.wait(lock);
        continue;
      }
      auto it = queue_.begin();
      if (it->first > now) {
        auto until = stopping_ ? std::min(it->first, drain_deadline_) : it->first;
        queue_cv_.wait_until(lock, until);
        continue;
      }
      DeliveryItem item = it->second;
      queue_.erase(it);
      ++in_flight_;
      lock.unlock();
      DeliverOne(client, item);
      lock.lock();
      --in_flight_;
    }
    queue_.clear();  // what is left stays pending in the database
  }
};

// ---------------------------------------------------------------------------

EarlyWarning::EarlyWarning(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EarlyWarning::~EarlyWarning() { Stop(); }

Result<std::unique_ptr<EarlyWarning>> EarlyWarning::Open(const std::string& db_path, Options options) {
  if (db_path != ":memory:") {
    std::filesystem::path parent = std::filesystem::path(db_path).parent_path();
    std::error_code ec;
    if (!parent.empty() && !std::filesystem::exists(parent, ec)) {
      std::filesystem::create_directories(parent, ec);
      if (ec) {
        Error e;
        e.where = db_path;
        e.reason = "cannot create folder " + parent.string() + ": " + ec.message();
        return std::unexpected(std::move(e));
      }
    }
  }
  auto db = sql::OpenDatabase(db_path);
  if (!db) return std::unexpected(db.error());
  if (auto applied = sql::ApplyComponentMigrations(db->get(), kComponent, kMigrations, db_path); !applied) {
    return std::unexpected(applied.error());
  }
  auto impl = std::make_unique<Impl>();
  impl->path = db_path;
  impl->options = std::move(options);
  impl->db = std::move(*db);
  return std::unique_ptr<EarlyWarning>(new EarlyWarning(std::move(impl)));
}

Result<Registration> EarlyWarning::Register(Registration registration, std::string_view by) {
  if (Trim(registration.org_id).empty()) return Fail("organisation id is empty", "org_id");
  auto value = NormalizeRegistration(registration.kind, registration.value);
  if (!value) return std::unexpected(value.error());
  registration.value = std::move(*value);
  registration.created_ns = impl_->Now();
  registration.created_by = by;
  std::lock_guard lock(impl_->db_mutex_);
  auto tx = sql::Transaction::Begin(impl_->db.get(), impl_->path);
  if (!tx) return std::unexpected(tx.error());
  auto stmt = impl_->Prep(
      "INSERT INTO ew_registrations (org_id, kind, value, created_ns, created_by) VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!stmt) return std::unexpected(stmt.error());
  {
    sql::StatementUse use(stmt->get());
    use.Text(1, registration.org_id);
    use.Text(2, RegistrationKindName(registration.kind));
    use.Text(3, registration.value);
    use.Int(4, registration.created_ns);
    use.Text(5, registration.created_by);
    int rc = use.Step();
    if (rc == SQLITE_CONSTRAINT_UNIQUE) {
      return Fail(std::string(RegistrationKindName(registration.kind)) + " " + registration.value +
                      " is already registered for " + registration.org_id,
                  "value");
    }
    if (rc != SQLITE_DONE) return std::unexpected(impl_->DbError("adding a registration"));
  }
  registration.id = sqlite3_last_insert_rowid(impl_->db.get());
  if (auto ok = impl_->BumpGenerationLocked(); !ok) return std::unexpected(ok.error());
  if (auto ok = tx->Commit(); !ok) return std::unexpected(ok.error());
  return registration;
}

Result<uint64_t> EarlyWarning::Unregister(int64_t id) {
  std::lock_guard lock(impl_->db_mutex_);
  auto tx = sql::Transaction::Begin(impl_->db.get(), impl_->path);
  if (!tx) return std::unexpected(tx.error());
  auto stmt = impl_->Prep("DELETE FROM ew_registrations WHERE id = ?1");
  if (!stmt) return std::unexpected(stmt.error());
  {
    sql::StatementUse use(stmt->get());
    use.Int(1, id);
    if (use.Step() != SQLITE_DONE) return std::unexpected(impl_->DbError("removing a registration"));
  }
  auto removed = static_cast<uint64_t>(sqlite3_changes(impl_->db.get()));
  if (auto ok = impl_->BumpGenerationLocked(); !ok) return std::unexpected(ok.error());
  if (auto ok = tx->Commit(); !ok) return std::unexpected(ok.error());
  return removed;
}

Result<uint64_t> EarlyWarning::Unregister(std::string_view org_id, RegistrationKind kind,
                                          std::string_view value) {
  // Normalise like Register, but without refusing (old rows stay removable).
  std::string normalised(Trim(value));
  if (auto n = NormalizeRegistration(kind, value)) normalised = *n;
  std::lock_guard lock(impl_->db_mutex_);
  auto tx = sql::Transaction::Begin(impl_->db.get(), impl_->path);
  if (!tx) return std::unexpected(tx.error());
  auto stmt = impl_->Prep("DELETE FROM ew_registrations WHERE org_id = ?1 AND kind = ?2 AND value = ?3");
  if (!stmt) return std::unexpected(stmt.error());
  {
    sql::StatementUse use(stmt->get());
    use.Text(1, org_id);
    use.Text(2, RegistrationKindName(kind));
    use.Text(3, normalised);
    if (use.Step() != SQLITE_DONE) return std::unexpected(impl_->DbError("removing a registration"));
  }
  auto removed = static_cast<uint64_t>(sqlite3_changes(impl_->db.get()));
  if (auto ok = impl_->BumpGenerationLocked(); !ok) return std::unexpected(ok.error());
  if (auto ok = tx->Commit(); !ok) return std::unexpected(ok.error());
  return removed;
}

Result<std::vector<Registration>> EarlyWarning::ListRegistrations(std::string_view org_id) {
  std::lock_guard lock(impl_->db_mutex_);
  return impl_->ListRegistrationsLocked(org_id);
}

Result<Channel> EarlyWarning::AddChannel(Channel channel) {
  if (Trim(channel.org_id).empty()) return Fail("organisation id is empty", "org_id");
  channel.target = std::string(Trim(channel.target));
  if (channel.kind == ChannelKind::kWebhook) {
    if (!channel.target.starts_with("http://") && !channel.target.starts_with("https://")) {
      return Fail("webhook URL must start with http:// or https://: '" + channel.target + "'", "webhook");
    }
    if (channel.target.size() <= 8) return Fail("webhook URL has no host", "webhook");
  } else {
    auto email = NormalizeEmail(channel.target);
    if (!email) return Fail("'" + channel.target + "' is not an e-mail address: " + email.error(), "email");
    channel.target = *email;
    if (!channel.secret.empty()) return Fail("a secret applies to webhooks only", "secret");
  }
  channel.created_ns = impl_->Now();
  std::lock_guard lock(impl_->db_mutex_);
  auto stmt = impl_->Prep(
      "INSERT INTO ew_channels (org_id, kind, target, secret, created_ns) VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!stmt) return std::unexpected(stmt.error());
  sql::StatementUse use(stmt->get());
  use.Text(1, channel.org_id);
  use.Text(2, ChannelKindName(channel.kind));
  use.Text(3, channel.target);
  use.Text(4, channel.secret);
  use.Int(5, channel.created_ns);
  int rc = use.Step();
  if (rc == SQLITE_CONSTRAINT_UNIQUE) {
    return Fail(std::string(ChannelKindName(channel.kind)) + " " + channel.target + " is already a channel of " +
                    channel.org_id,
                "target");
  }
  if (rc != SQLITE_DONE) return std::unexpected(impl_->DbError("adding a channel"));
  channel.id = sqlite3_last_insert_rowid(impl_->db.get());
  return channel;
}

Result<uint64_t> EarlyWarning::RemoveChannel(int64_t id) {
  std::lock_guard lock(impl_->db_mutex_);
  auto stmt = impl_->Prep("DELETE FROM ew_channels WHERE id = ?1");
  if (!stmt) return std::unexpected(stmt.error());
  sql::StatementUse use(stmt->get());
  use.Int(1, id);
  if (use.Step() != SQLITE_DONE) return std::unexpected(impl_->DbError("removing a channel"));
  return static_cast<uint64_t>(sqlite3_changes(impl_->db.get()));
}

Result<std::vector<Channel>> EarlyWarning::ListChannels(std::string_view org_id) {
  std::lock_guard lock(impl_->db_mutex_);
  auto stmt = impl_->Prep(
      "SELECT id FROM ew_channels WHERE ?1 = '' OR org_id = ?1 ORDER BY org_id, id");
  if (!stmt) return std::unexpected(stmt.error());
  std::vector<int64_t> ids;
  {
    sql::StatementUse use(stmt->get());
    use.Text(1, org_id);
    while (use.Step() == SQLITE_ROW) ids.push_back(sql::ColumnInt(use.get(), 0));
  }
  std::vector<Channel> out;
  for (int64_t id : ids) {
    auto c = impl_->GetChannelLocked(id);
    if (!c) return std::unexpected(c.error());
    if (*c) out.push_back(std::move(**c));
  }
  return out;
}

Result<Settings> EarlyWarning::GetSettings() {
  std::lock_guard lock(impl_->db_mutex_);
  return impl_->GetSettingsLocked();
}

Result<void> EarlyWarning::PutSettings(const Settings& settings) {
  if (settings.dedup_window_ns < 0) return Fail("de-duplication window is negative", "dedup_window");
  for (const auto& [source, letter] : settings.reliability) {
    if (letter < 'A' || letter > 'F') {
      return Fail("reliability for '" + source + "' must be a letter A-F", "reliability");
    }
    if (!source.starts_with("org:") && !source.starts_with("feed:")) {
      return Fail("reliability source '" + source + "' must be org:<id> or feed:<name>", "reliability");
    }
  }
  std::lock_guard lock(impl_->db_mutex_);
  auto tx = sql::Transaction::Begin(impl_->db.get(), impl_->path);
  if (!tx) return std::unexpected(tx.error());
  if (auto ok = sql::ExecSql(impl_->db.get(), "DELETE FROM ew_settings WHERE key LIKE 'reliability:%'", impl_->path);
      !ok) {
    return ok;
  }
  auto stmt = impl_->Prep(
      "INSERT INTO ew_settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2");
  if (!stmt) return std::unexpected(stmt.error());
  std::vector<std::pair<std::string, std::string>> rows = {
      {"smtp_url", settings.smtp_url},
      {"smtp_from", settings.smtp_from},
      {"smtp_user", settings.smtp_user},
      {"smtp_password", settings.smtp_password},
      {"dedup_window_ns", std::to_string(settings.dedup_window_ns)}};
  for (const auto& [source, letter] : settings.reliability) {
    rows.emplace_back(FormatReliabilityKey(source), std::string(1, letter));
  }
  for (const auto& [key, value] : rows) {
    sql::StatementUse use(stmt->get());
    use.Text(1, key);
    use.Text(2, value);
    if (use.Step() != SQLITE_DONE) return std::unexpected(impl_->DbError("saving settings"));
  }
  return tx->Commit();
}

Result<IngestStats> EarlyWarning::OnObjectsAdded(std::span<const intel::StoredObject> objects) {
  IngestStats stats;
  {
    auto idx = impl_->CurrentIndex();
    if (!idx) return std::unexpected(idx.error());
    if ((*idx)->empty()) {
      stats.objects = objects.size();
      return stats;
    }
  }
  std::vector<Subject> subjects = impl_->SubjectsFromObjects(objects, stats);
  if (subjects.empty()) return stats;
  return impl_->Ingest(subjects, stats);
}

Result<IngestStats> EarlyWarning::OnIndicators(std::span<const Indicator> indicators, std::string_view source) {
  IngestStats stats;
  auto idx = impl_->CurrentIndex();
  if (!idx) return std::unexpected(idx.error());
  if ((*idx)->empty()) {
    stats.objects = indicators.size();
    return stats;
  }
  std::vector<Subject> subjects;
  std::string feed_source = "feed:" + std::string(source);
  for (const Indicator& indicator : indicators) {
    ++stats.objects;
    std::vector<Observable> observables;
    std::string context = "feed " + std::string(IndicatorTypeName(indicator.type));
    switch (indicator.type) {
      case IndicatorType::kIpv4:
      case IndicatorType::kIpv6:
      case IndicatorType::kCidr: internal::AddObservable("ip", indicator.value, context, observables); break;
      case IndicatorType::kDomain: internal::AddObservable("domain", indicator.value, context, observables); break;
      case IndicatorType::kUrl: internal::AddObservable("url", indicator.value, context, observables); break;
      case IndicatorType::kEmail: internal::AddObservable("email", indicator.value, context, observables); break;
      default: break;
    }
    if (observables.empty()) continue;
    // Cheap pre-check: most feed indicators match nothing.
    std::vector<Match> probe;
    for (const Observable& o : observables) (*idx)->Find(o, probe);
    if (probe.empty()) {
      for (const Observable& o : observables) {
        if (SuppressionReason(o)) ++stats.suppressed_bogon;
      }
      continue;
    }
    Subject s;
    s.kind = NotificationKind::kFeed;
    s.source = feed_source;
    s.object_id = feed_source;
    s.object_type = std::string(IndicatorTypeName(indicator.type));
    s.name = indicator.meta.source.empty() ? std::string(source) : indicator.meta.source;
    s.confidence = indicator.meta.confidence;
    s.feed_meta.id = feed_source;
    s.feed_meta.type = "indicator";
    s.feed_meta.tlp = indicator.meta.tlp;
    s.feed_meta.markings = {std::string(TlpName(indicator.meta.tlp))};
    s.observables = std::move(observables);
    subjects.push_back(std::move(s));
  }
  if (subjects.empty()) return stats;
  return impl_->Ingest(subjects, stats);
}

Result<std::vector<Notification>> EarlyWarning::Check(std::span<const intel::StoredObject> objects,
                                                      IngestStats* stats_out) {
  IngestStats stats;
  auto idx = impl_->CurrentIndex();
  if (!idx) return std::unexpected(idx.error());
  std::vector<Subject> subjects = impl_->SubjectsFromObjects(objects, stats);
  auto candidates = impl_->Candidates(subjects, **idx, stats, false);
  if (!candidates) return std::unexpected(candidates.error());
  std::vector<Notification> out;
  for (Candidate& c : *candidates) out.push_back(std::move(c.notification));
  if (stats_out != nullptr) *stats_out = stats;
  return out;
}

std::vector<Match> EarlyWarning::MatchObservable(const Observable& observable) const {
  std::vector<Match> out;
  if (SuppressionReason(observable)) return out;
  auto idx = impl_->CurrentIndex();
  if (!idx) return out;
  (*idx)->Find(observable, out);
  return out;
}

Result<std::vector<Notification>> EarlyWarning::ListNotifications(const NotificationQuery& query) {
  std::lock_guard lock(impl_->db_mutex_);
  auto stmt = impl_->Prep("SELECT " + std::string(Impl::kNotificationColumns) +
                          " FROM ew_notifications WHERE (?1 = '' OR org_id = ?1) AND created_ns >= ?2 "
                          "AND (?3 = 0 OR acked_ns = 0) ORDER BY created_ns DESC, id DESC LIMIT ?4");
  if (!stmt) return std::unexpected(stmt.error());
  std::vector<Notification> out;
  {
    sql::StatementUse use(stmt->get());
    use.Text(1, query.org_id);
    use.Int(2, query.since_ns);
    use.Int(3, query.unacked_only ? 1 : 0);
    use.Int(4, static_cast<int64_t>(std::min<size_t>(query.limit, 1'000'000)));
    int rc;
    while ((rc = use.Step()) == SQLITE_ROW) out.push_back(Impl::ReadNotification(use.get()));
    if (rc != SQLITE_DONE) return std::unexpected(impl_->DbError("listing notifications"));
  }
  for (Notification& n : out) {
    if (auto ok = impl_->FillDeliveriesLocked(n); !ok) return std::unexpected(ok.error());
  }
  return out;
}

Result<std::optional<Notification>> EarlyWarning::GetNotification(int64_t id) {
  std::lock_guard lock(impl_->db_mutex_);
  return impl_->GetNotificationLocked(id);
}

Result<bool> EarlyWarning::Ack(int64_t id, std::string_view by, std::string_view org_id) {
  std::lock_guard lock(impl_->db_mutex_);
  auto stmt = impl_->Prep(
      "UPDATE ew_notifications SET acked_ns = ?2, acked_by = ?3 WHERE id = ?1 AND acked_ns = 0 "
      "AND (?4 = '' OR org_id = ?4)");
  if (!stmt) return std::unexpected(stmt.error());
  sql::StatementUse use(stmt->get());
  use.Int(1, id);
  use.Int(2, impl_->Now());
  use.Text(3, by);
  use.Text(4, org_id);
  if (use.Step() != SQLITE_DONE) return std::unexpected(impl_->DbError("acknowledging"));
  return sqlite3_changes(impl_->db.get()) > 0;
}

Result<void> EarlyWarning::Start() {
  std::vector<Impl::DeliveryItem> pending;
  {
    std::lock_guard lock(impl_->db_mutex_);
    auto stmt = impl_->Prep(
        "SELECT notification_id, channel_id FROM ew_deliveries WHERE state = 'pending' "
        "ORDER BY notification_id, channel_id");
    if (!stmt) return std::unexpected(stmt.error());
    sql::StatementUse use(stmt->get());
    while (use.Step() == SQLITE_ROW) {
      pending.push_back({sql::ColumnInt(use.get(), 0), sql::ColumnInt(use.get(), 1)});
    }
  }
  {
    std::lock_guard lock(impl_->queue_mutex_);
    if (impl_->running_) return Fail("the early warning delivery worker is already running");
    impl_->running_ = true;
    impl_->stopping_ = false;
  }
  impl_->Enqueue(pending);
  impl_->worker_ = std::thread([this] { impl_->WorkerLoop(); });
  return {};
}

void EarlyWarning::Stop() {
  {
    std::lock_guard lock(impl_->queue_mutex_);
    if (!impl_->running_ || impl_->stopping_) return;
    impl_->stopping_ = true;
    impl_->drain_deadline_ = std::chrono::steady_clock::now() + impl_->options.drain_timeout;
    impl_->queue_cv_.notify_all();
  }
  if (impl_->worker_.joinable()) impl_->worker_.join();
  std::lock_guard lock(impl_->queue_mutex_);
  impl_->running_ = false;
}

size_t EarlyWarning::pending_deliveries() const {
  std::lock_guard lock(impl_->queue_mutex_);
  return impl_->queue_.size() + impl_->in_flight_;
}

}  // namespace aegis::share
