// Shared setup of the REST API tests (rest_api_test.cc, rest_auth_test.cc): a hub with
// three organisations (the national centre "ncc", the trust "rxa", the GP practice
// "gpx"), their users and tokens, collections, STIX objects of every TLP produced by
// rxa, a few alerts of rxa's instance, and the REST routes on a real HTTP server.
#pragma once

#include <gtest/gtest.h>
#include <fmt/format.h>
#include <simdjson.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/alert.h"
#include "core/types.h"
#include "hub/hub_test_util.h"
#include "hub/rest_api.h"
#include "intel/stix_object.h"
#include "share/early_warning.h"
#include "store/store.h"

namespace aegis::hub::testing {

// A parsed JSON answer (the parser owns the document).
struct Json {
  std::unique_ptr<simdjson::dom::parser> parser = std::make_unique<simdjson::dom::parser>();
  simdjson::dom::element root;
  bool ok = false;

  explicit Json(const std::string& text) {
    ok = !parser->parse(text).get(root);
  }
  std::string Str(std::string_view key) const {
    std::string_view value;
    if (root[key].get_string().get(value)) return {};
    return std::string(value);
  }
  std::vector<std::string> Strs(std::string_view key) const {
    std::vector<std::string> out;
    simdjson::dom::array array;
    if (root[key].get_array().get(array)) return out;
    for (auto item : array) {
      std::string_view v;
      if (!item.get_string().get(v)) out.emplace_back(v);
    }
    return out;
  }
  // The values of `field` of each object in the array `key`.
  std::vector<std::string> Column(std::string_view key, std::string_view field) const {
    std::vector<std::string> out;
    simdjson::dom::array array;
    if (root[key].get_array().get(array)) return out;
    for (auto item : array) {
      std::string_view v;
      if (!item[field].get_string().get(v)) out.emplace_back(v);
    }
    return out;
  }
  size_t Count(std::string_view key) const {
    simdjson::dom::array array;
    if (root[key].get_array().get(array)) return 0;
    return array.size();
  }
  std::optional<bool> Bool(std::string_view key) const {
    bool b = false;
    if (root[key].get_bool().get(b)) return std::nullopt;
    return b;
  }
  std::optional<int64_t> Int(std::string_view key) const {
    int64_t n = 0;
    if (root[key].get_int64().get(n)) return std::nullopt;
    return n;
  }
};

// The TLP 2.0 marking-definition id of `tlp`, from the core table.
inline std::string MarkingId(Tlp tlp) {
  for (const auto& m : StixTlpMarkings()) {
    if (m.tlp == tlp && m.source.find("2.0") != std::string_view::npos) return std::string(m.id);
  }
  ADD_FAILURE() << "no TLP 2.0 marking for " << TlpName(tlp);
  return {};
}

// A STIX 2.1 indicator with a fresh-looking id built from `n` and an optional marking.
inline std::string Indicator(int n, std::optional<Tlp> tlp, std::string_view domain) {
  const std::string id = fmt::format("indicator--{:08x}-1111-4222-8333-{:012x}", n, n);
  std::string markings;
  if (tlp) markings = fmt::format(R"(,"object_marking_refs":["{}"])", MarkingId(*tlp));
  return fmt::format(
      R"({{"type":"indicator","spec_version":"2.1","id":"{}","created":"2026-03-01T10:00:00.000Z",)"
      R"("modified":"2026-03-01T10:00:00.000Z","name":"bad domain {}","pattern":"[domain-name:value = '{}']",)"
      R"("pattern_type":"stix","valid_from":"2026-03-01T10:00:00Z"{}}})",
      id, domain, domain, markings);
}

inline std::string IndicatorId(int n) {
  return fmt::format("indicator--{:08x}-1111-4222-8333-{:012x}", n, n);
}

inline std::string Bundle(const std::vector<std::string>& objects) {
  std::string out = R"({"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[)";
  for (size_t i = 0; i < objects.size(); ++i) {
    if (i) out += ',';
    out += objects[i];
  }
  return out + "]}";
}

// Indicator numbers of rxa's objects in the "shared" collection, by TLP.
inline constexpr int kGreen = 1, kAmber = 2, kAmberStrict = 3, kRed = 4, kClear = 5;
// rxa's AMBER objects in its private collection; kEw mentions rxa's registered domain.
inline constexpr int kPrivate = 6, kEw = 7;
inline constexpr std::string_view kRxaDomain = "rxa-trust.nhs.uk";

class RestEnv {
 public:
  RestEnv() {
    if (!env.ok()) return;
    env.AddOrg("ncc", auth::OrgType::kNationalCentre);
    env.AddOrg("rxa", auth::OrgType::kTrust);
    env.AddOrg("gpx", auth::OrgType::kGpPractice);
    ncc_admin = env.AddUser("ncc-admin", "ncc", auth::Role::kAdmin);
    rxa_admin = env.AddUser("rxa-admin", "rxa", auth::Role::kAdmin);
    rxa_ana = env.AddUser("rxa-ana", "rxa", auth::Role::kAnalyst);
    rxa_ro = env.AddUser("rxa-ro", "rxa", auth::Role::kReadOnly);
    gpx_admin = env.AddUser("gpx-admin", "gpx", auth::Role::kAdmin);
    gpx_ana = env.AddUser("gpx-ana", "gpx", auth::Role::kAnalyst);
    // The rxa admin's second token, read scope only: "a read-only token".
    auto read_token = env.accounts().CreateToken(
        {.user_id = "rxa-admin", .name = "read only", .scopes = auth::kScopeRead}, auth::Actor::Cli());
    if (read_token) rxa_admin_read_token = read_token->secret;
    auto tokens = env.accounts().ListTokens("rxa-ana");
    if (tokens && !tokens->empty()) rxa_ana_token_id = tokens->front().id;

    shared = env.AddCollection("shared", {"*"}, {"*"});
    rxa_private = env.AddCollection("rxa-private", {"rxa"}, {"rxa"});

    std::vector<std::string> objects = {
        Indicator(kGreen, Tlp::kGreen, "green.example"),
        Indicator(kAmber, Tlp::kAmber, "amber.example"),
        Indicator(kAmberStrict, Tlp::kAmberStrict, "strict.example"),
        Indicator(kRed, Tlp::kRed, "red.example"),
        Indicator(kClear, Tlp::kClear, "clear.example"),
    };
    AddObjects(shared.id, "rxa", objects);
    AddObjects(rxa_private.id, "rxa", {Indicator(kPrivate, Tlp::kAmber, "private.example")});

    // Early Warning: rxa registers its domain; an object mentioning it notifies rxa.
    auto ew = share::EarlyWarning::Open(env.db_path());
    if (!ew) {
      ADD_FAILURE() << "EarlyWarning::Open: " << ew.error().ToString();
      return;
    }
    early_warning = std::move(*ew);
    auto registered = early_warning->Register(
        {.org_id = "rxa", .kind = share::RegistrationKind::kDomain, .value = std::string(kRxaDomain),
         .created_ns = 0, .created_by = "test"},
        "test");
    if (!registered) ADD_FAILURE() << registered.error().ToString();
    if (registered) rxa_registration_id = registered->id;
    share::EarlyWarning* warning = early_warning.get();
    env.stix().AddObjectsAddedHook(
        [warning](std::span<const intel::StoredObject> added) { (void)warning->OnObjectsAdded(added); });
    AddObjects(rxa_private.id, "rxa", {Indicator(kEw, Tlp::kAmber, fmt::format("mail.{}", kRxaDomain))});
    auto notifications = early_warning->ListNotifications({.org_id = "rxa"});
    if (notifications && !notifications->empty()) rxa_notification_id = notifications->front().id;
    if (rxa_notification_id == 0) ADD_FAILURE() << "no Early Warning notification for rxa";

    alerts_dir = env.dir() / "alerts.db";
    auto alerts = store::Open(alerts_dir.string());
    if (!alerts) {
      ADD_FAILURE() << alerts.error().ToString();
      return;
    }
    alert_store = std::move(*alerts);
    for (int i = 0; i < 3; ++i) {
      Alert a;
      a.id = fmt::format("alert-{:04}", i);
      a.time_ns = 1'770'000'000'000'000'000 + i;
      a.severity = i == 2 ? Severity::kHigh : Severity::kMedium;
      a.detector = "indicator";
      a.rule = fmt::format("bad{}.example", i);
      a.title = fmt::format("DNS query for bad{}.example", i);
      alert_ids.push_back(a.id);
      if (auto put = alert_store->PutAlerts(std::span(&a, 1)); !put) ADD_FAILURE() << put.error().ToString();
    }
    env.context.alerts = alert_store.get();
    env.context.max_content_length = 1u << 20;  // bundle bodies above 1 MiB: 413
  }

  // The server stops before the alert store and Early Warning it uses go away.
  ~RestEnv() {
    if (env.server() != nullptr) env.server()->Stop();
  }
  RestEnv(const RestEnv&) = delete;
  RestEnv& operator=(const RestEnv&) = delete;

  void AddObjects(const std::string& collection, const std::string& producer,
                  const std::vector<std::string>& objects) {
    std::vector<intel::stix::StixObject> valid;
    for (const auto& text : objects) {
      auto object = intel::stix::ValidateObject(text);
      if (!object) {
        ADD_FAILURE() << object.error().ToString();
        continue;
      }
      valid.push_back(std::move(*object));
    }
    auto added = env.stix().AddObjects({.collection_id = collection, .producer_org = producer}, valid);
    if (!added) ADD_FAILURE() << added.error().ToString();
  }

  void Start(RestOptions options = {.instance_org = "rxa"}) {
    options.early_warning = early_warning.get();
    env.Start([options](server::Router& r, HubContext& c) { return RegisterRestRoutes(r, c, options); });
  }

  net::HttpResponse Get(std::string_view path, const std::string& authorization) {
    net::Headers headers;
    if (!authorization.empty()) headers.emplace_back("Authorization", authorization);
    return env.Send("GET", path, headers);
  }
  net::HttpResponse Send(std::string_view method, std::string_view path,
                         const std::string& authorization, std::string_view body,
                         std::string content_type = "application/json") {
    net::Headers headers;
    if (!authorization.empty()) headers.emplace_back("Authorization", authorization);
    if (!content_type.empty()) headers.emplace_back("Content-Type", content_type);
    return env.Send(method, path, headers, body);
  }

  HubTestEnv env;
  TestUser ncc_admin, rxa_admin, rxa_ana, rxa_ro, gpx_admin, gpx_ana;
  std::string rxa_admin_read_token;
  std::string rxa_ana_token_id;
  intel::Collection shared, rxa_private;
  std::filesystem::path alerts_dir;
  std::unique_ptr<store::Store> alert_store;
  std::vector<std::string> alert_ids;
  std::unique_ptr<share::EarlyWarning> early_warning;
  int64_t rxa_registration_id = 0;
  int64_t rxa_notification_id = 0;
};

}  // namespace aegis::hub::testing
