// Every REST endpoint, enumerated from RestRoutes() so that a new one cannot be
// forgotten, tried over real HTTP: without credentials (401), with another
// organisation's admin credentials (403/404 and never a byte of the victim's AMBER/RED
// data), with read-only credentials on writes (403), and with malformed bodies (400,
// 413, 415, 422; never 500).
#include "hub/rest_api.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "hub/rest_test_util.h"

namespace aegis::hub::testing {
namespace {

// How one endpoint is probed. The victim is organisation rxa; the intruder is the
// admin of gpx (a full admin of another member organisation).
struct Probe {
  Probe(std::string target, std::string body, std::set<int> intruder, std::string good_body = {},
        std::string good_target = {})
      : target(std::move(target)),
        body(std::move(body)),
        intruder(std::move(intruder)),
        good_body(std::move(good_body)),
        good_target(std::move(good_target)) {}

  std::string target;       // concrete path and query, aimed at rxa's resources
  std::string body;         // sent with the intruder's and the credential-less requests
  std::set<int> intruder;   // statuses the intruder may get
  std::string good_body;    // a valid body for the national admin (malformed-body tests)
  std::string good_target;  // target for the national admin; empty: `target`
};

std::string Key(const RestRoute& route) {
  return std::string(route.method) + " " + std::string(route.pattern);
}

std::map<std::string, Probe> Probes(const RestEnv& hub) {
  const std::string bundle = Bundle({Indicator(200, Tlp::kGreen, "probe.example")});
  return {
      {"GET /api/v1/openapi.json", {"/api/v1/openapi.json", "", {200}}},
      {"GET /api/v1/me", {"/api/v1/me", "", {200}}},
      {"GET /api/v1/orgs", {"/api/v1/orgs", "", {200}}},
      {"POST /api/v1/orgs",
       {"/api/v1/orgs", R"({"id":"probe-org","name":"Probe","type":"trust"})", {403},
        R"({"id":"probe-org","name":"Probe","type":"supplier","amber_share_with":["rxa"],"default_tlp":"green","anonymise_sightings":true})"}},
      {"GET /api/v1/orgs/{id}", {"/api/v1/orgs/rxa", "", {404}}},
      {"PATCH /api/v1/orgs/{id}",
       {"/api/v1/orgs/rxa", R"({"name":"pwned"})", {404},
        R"({"name":"Renamed","amber_share_with":["gpx"],"default_tlp":"amber","anonymise_sightings":false})"}},
      {"DELETE /api/v1/orgs/{id}", {"/api/v1/orgs/rxa", "", {404}}},
      {"GET /api/v1/users", {"/api/v1/users?org=rxa", "", {404}}},
      {"POST /api/v1/users",
       {"/api/v1/users", R"({"id":"probe-user","org_id":"rxa","role":"admin","password":"probe-password-1"})",
        {403},
        R"({"id":"probe-user","org_id":"rxa","display_name":"Probe","role":"analyst","password":"probe-password-1"})"}},
      {"GET /api/v1/users/{id}", {"/api/v1/users/rxa-admin", "", {404}}},
      {"PATCH /api/v1/users/{id}",
       {"/api/v1/users/rxa-admin", R"({"disabled":true})", {404}, R"({"role":"read-only","disabled":false})",
        "/api/v1/users/rxa-ana"}},
      {"POST /api/v1/users/{id}/password",
       {"/api/v1/users/rxa-admin/password", R"({"password":"taken-over-123"})", {404},
        R"({"password":"probe-password-2"})", "/api/v1/users/rxa-ro/password"}},
      {"GET /api/v1/tokens", {"/api/v1/tokens?user=rxa-ana", "", {200, 404}}},
      {"POST /api/v1/tokens",
       {"/api/v1/tokens", R"({"user_id":"rxa-ana","scopes":["read"]})", {422},
        R"({"name":"probe","scopes":["read"],"ttl_seconds":600,"never_expires":false})"}},
      {"DELETE /api/v1/tokens/{id}", {"/api/v1/tokens/" + hub.rxa_ana_token_id, "", {404}}},
      {"POST /api/v1/sessions",
       {"/api/v1/sessions", R"({"user":"rxa-ana","password":"not-the-password"})", {401},
        fmt::format(R"({{"user":"rxa-ana","password":"{}"}})", hub.rxa_ana.password)}},
      {"DELETE /api/v1/sessions/current", {"/api/v1/sessions/current", "", {400}}},
      {"GET /api/v1/audit", {"/api/v1/audit?org=rxa", "", {404}}},
      {"GET /api/v1/collections", {"/api/v1/collections", "", {200}}},
      {"POST /api/v1/collections",
       {"/api/v1/collections", R"({"alias":"probe","title":"Probe","writers":["rxa"]})", {403},
        R"({"alias":"probe","title":"Probe","description":"d","readers":["*"],"writers":["ncc"]})"}},
      {"GET /api/v1/objects", {"/api/v1/objects?collection=rxa-private", "", {404}}},
      {"GET /api/v1/objects/{id}", {"/api/v1/objects/" + IndicatorId(kAmber), "", {404}}},
      {"POST /api/v1/bundles",
       {"/api/v1/bundles?collection=rxa-private", bundle, {404}, bundle, "/api/v1/bundles?collection=shared"}},
      {"GET /api/v1/bundles/export", {"/api/v1/bundles/export?collection=rxa-private", "", {404}}},
      {"GET /api/v1/alerts", {"/api/v1/alerts", "", {403}}},
      {"GET /api/v1/alerts/{id}", {"/api/v1/alerts/alert-0001", "", {403}}},
      {"GET /api/v1/ew/registrations", {"/api/v1/ew/registrations?org=rxa", "", {404}}},
      {"POST /api/v1/ew/registrations",
       {"/api/v1/ew/registrations", R"({"org_id":"rxa","kind":"domain","value":"intruder.nhs.uk"})", {403},
        R"({"org_id":"rxa","kind":"ip","value":"81.2.69.0/24"})"}},
      {"DELETE /api/v1/ew/registrations/{id}",
       {fmt::format("/api/v1/ew/registrations/{}", hub.rxa_registration_id), "", {404}}},
      {"GET /api/v1/ew/notifications", {"/api/v1/ew/notifications?org=rxa", "", {404}}},
      {"POST /api/v1/ew/notifications/{id}/ack",
       {fmt::format("/api/v1/ew/notifications/{}/ack", hub.rxa_notification_id), "", {404}}},
  };
}

class RestAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(hub.env.ok());
    hub.Start();
    ASSERT_NE(hub.env.port(), 0);
    probes = Probes(hub);
  }
  const Probe& ProbeFor(const RestRoute& route) {
    static const Probe kNone("/api/v1/none", "", {});
    auto found = probes.find(Key(route));
    if (found == probes.end()) {
      ADD_FAILURE() << "no probe for " << Key(route);
      return kNone;
    }
    return found->second;
  }
  net::HttpResponse Call(const RestRoute& route, const std::string& authorization,
                         const std::string& target, const std::string& body,
                         std::string content_type = "application/json") {
    if (!route.has_body) content_type.clear();
    return hub.Send(route.method, target, authorization, route.has_body ? body : std::string(),
                    content_type);
  }

  RestEnv hub;
  std::map<std::string, Probe> probes;
};

TEST_F(RestAuthTest, EveryRouteHasAProbeAndEveryProbeARoute) {
  std::set<std::string> routes;
  for (const RestRoute& route : RestRoutes()) {
    EXPECT_TRUE(routes.insert(Key(route)).second) << "duplicate route " << Key(route);
    EXPECT_TRUE(probes.contains(Key(route))) << "write a probe for the new endpoint " << Key(route);
  }
  for (const auto& [key, probe] : probes) EXPECT_TRUE(routes.contains(key)) << "stale probe " << key;
  EXPECT_GE(routes.size(), 31u);
}

TEST_F(RestAuthTest, WithoutCredentialsEveryNonPublicEndpointAnswers401) {
  const std::vector<std::string> bad_credentials = {
      "",  // none
      "Bearer aegis_tok_0000000000000000_forged",
      "Bearer ",
      net::BasicAuthorization("rxa-ana", "wrong password"),
      "Basic !!!not-base64!!!",
      "Negotiate abc",
  };
  for (const RestRoute& route : RestRoutes()) {
    SCOPED_TRACE(Key(route));
    const Probe& probe = ProbeFor(route);
    for (const auto& authorization : bad_credentials) {
      SCOPED_TRACE("Authorization: " + authorization);
      auto reply = Call(route, authorization, probe.target, probe.body);
      if (route.access == RestAccess::kPublic) {
        EXPECT_LT(reply.status, 500) << reply.body;
        continue;
      }
      EXPECT_EQ(reply.status, 401) << reply.body;
      EXPECT_TRUE(reply.Header("WWW-Authenticate").has_value());
      Json error(reply.body);
      EXPECT_EQ(error.Int("status"), 401);
      EXPECT_FALSE(error.Str("error").empty());
    }
    // A forged session cookie is no better.
    if (route.access != RestAccess::kPublic) {
      net::Headers headers{{"Cookie", "aegis_session=aegis_ses_0000000000000000_forged"}};
      if (route.has_body) headers.emplace_back("Content-Type", "application/json");
      EXPECT_EQ(hub.env.Send(route.method, probe.target, headers, route.has_body ? probe.body : "").status, 401);
    }
  }
}

TEST_F(RestAuthTest, AnotherOrganisationsAdminGetsNothingOfTheVictims) {
  // Everything of rxa's that gpx must never receive.
  const std::vector<std::string> secrets = {
      IndicatorId(kAmber), IndicatorId(kAmberStrict), IndicatorId(kRed), IndicatorId(kPrivate),
      "amber.example",     "strict.example",          "red.example",     "private.example",
      hub.rxa_ana.token,   hub.rxa_admin.token,       hub.rxa_private.id, hub.rxa_ana_token_id,
      IndicatorId(kEw),    std::string(kRxaDomain),
  };
  for (const RestRoute& route : RestRoutes()) {
    SCOPED_TRACE(Key(route));
    const Probe& probe = ProbeFor(route);
    if (route.access == RestAccess::kPublic && route.method != "GET") continue;
    auto reply = Call(route, hub.gpx_admin.Bearer(), probe.target, probe.body);
    EXPECT_TRUE(probe.intruder.contains(reply.status)) << "status " << reply.status << ": " << reply.body;
    for (const auto& secret : secrets) {
      EXPECT_EQ(reply.body.find(secret), std::string::npos) << "leaked '" << secret << "': " << reply.body;
    }
    // The organisations list shows gpx only its own.
    if (route.pattern == "/api/v1/orgs" && route.method == "GET") {
      EXPECT_EQ(Json(reply.body).Column("items", "id"), std::vector<std::string>{"gpx"});
    }
  }
  // Shared places too: the "shared" collection holds rxa's objects of every TLP, and
  // gpx gets only CLEAR and GREEN from it, on every read path.
  for (const std::string& target : std::vector<std::string>{
           "/api/v1/objects?collection=shared", "/api/v1/objects?collection=shared&limit=1",
        "/api/v1/bundles/export?collection=shared", "/api/v1/objects/" + IndicatorId(kRed),
        "/api/v1/objects/" + IndicatorId(kAmberStrict) + "?collection=shared"}) {
    SCOPED_TRACE(target);
    auto reply = hub.Get(target, hub.gpx_admin.Bearer());
    EXPECT_LT(reply.status, 500);
    for (const auto& secret : secrets) {
      EXPECT_EQ(reply.body.find(secret), std::string::npos) << "leaked '" << secret << "': " << reply.body;
    }
  }
  // Nothing changed at the victim.
  auto rxa = hub.env.accounts().GetOrg("rxa");
  ASSERT_TRUE(rxa && *rxa);
  EXPECT_EQ((*rxa)->name, "Org rxa");
  auto admin = hub.env.accounts().GetUser("rxa-admin");
  ASSERT_TRUE(admin && *admin);
  EXPECT_FALSE((*admin)->disabled);
  EXPECT_EQ(hub.Get("/api/v1/me", hub.rxa_admin.Basic()).status, 200);  // password unchanged
  EXPECT_EQ(hub.Get("/api/v1/me", hub.rxa_ana.Bearer()).status, 200);   // token not revoked
  EXPECT_FALSE(hub.env.accounts().GetUser("probe-user").value_or(std::nullopt).has_value());
  auto registrations = hub.early_warning->ListRegistrations("rxa");
  ASSERT_TRUE(registrations);
  EXPECT_EQ(registrations->size(), 1u);  // not removed, nothing added
  auto notification = hub.early_warning->GetNotification(hub.rxa_notification_id);
  ASSERT_TRUE(notification && *notification);
  EXPECT_EQ((*notification)->acked_ns, 0);
}

TEST_F(RestAuthTest, ReadOnlyCredentialsAreRefusedOnWritesAndAdminEndpoints) {
  const std::vector<std::pair<std::string, std::string>> readers = {
      {"rxa admin's read-scoped token", "Bearer " + hub.rxa_admin_read_token},
      {"rxa read-only user's token", hub.rxa_ro.Bearer()},
      {"rxa read-only user's password", hub.rxa_ro.Basic()},
  };
  size_t checked = 0;
  for (const RestRoute& route : RestRoutes()) {
    if (route.access != RestAccess::kWrite && route.access != RestAccess::kAdmin) continue;
    SCOPED_TRACE(Key(route));
    const Probe& probe = ProbeFor(route);
    // Aimed at rxa's own resources, which these credentials' owners could otherwise touch.
    const std::string target = probe.good_target.empty() ? probe.target : probe.good_target;
    for (const auto& [who, authorization] : readers) {
      SCOPED_TRACE(who);
      auto reply = Call(route, authorization, target, probe.good_body.empty() ? probe.body : probe.good_body);
      EXPECT_EQ(reply.status, 403) << reply.body;
    }
    ++checked;
  }
  EXPECT_GE(checked, 12u);
  // The read-scoped admin token changed nothing.
  auto rxa = hub.env.accounts().GetOrg("rxa");
  ASSERT_TRUE(rxa && *rxa);
  EXPECT_EQ((*rxa)->name, "Org rxa");
  // An analyst may write intelligence but not administer.
  for (const RestRoute& route : RestRoutes()) {
    if (route.access != RestAccess::kAdmin) continue;
    SCOPED_TRACE(Key(route));
    const Probe& probe = ProbeFor(route);
    EXPECT_EQ(Call(route, hub.rxa_ana.Bearer(), probe.target, probe.good_body).status, 403);
  }
}

// `body` (a JSON object) with member `key` replaced by a value of the wrong type.
std::string WithWrongType(const std::string& body, std::string_view key) {
  simdjson::dom::parser parser;
  simdjson::dom::object object = parser.parse(body).get_object().value_unsafe();
  std::string out = "{";
  bool first = true;
  for (auto [k, v] : object) {
    if (!first) out += ',';
    first = false;
    out += fmt::format(R"("{}":)", k);
    if (k != key) {
      out += simdjson::minify(v);
    } else if (v.is_string()) {
      out += "123";
    } else if (v.is_array()) {
      out += R"("not-an-array")";
    } else if (v.is_bool()) {
      out += R"("yes")";
    } else if (v.is_number()) {
      out += R"("12x")";
    } else {
      out += "[]";
    }
  }
  return out + "}";
}

TEST_F(RestAuthTest, MalformedBodiesGetAClearClientErrorNeverA500) {
  size_t checked = 0;
  for (const RestRoute& route : RestRoutes()) {
    if (!route.has_body) continue;
    SCOPED_TRACE(Key(route));
    const Probe& probe = ProbeFor(route);
    ASSERT_FALSE(probe.good_body.empty()) << "probe needs a good body";
    const std::string target = probe.good_target.empty() ? probe.target : probe.good_target;
    const std::string auth = route.access == RestAccess::kPublic ? "" : hub.ncc_admin.Bearer();
    auto expect = [&](std::string_view what, const std::string& body, std::set<int> statuses,
                      std::string content_type = "application/json") {
      SCOPED_TRACE(std::string(what));
      auto reply = Call(route, auth, target, body, std::move(content_type));
      EXPECT_TRUE(statuses.contains(reply.status)) << "status " << reply.status << ": " << reply.body;
      EXPECT_LT(reply.status, 500);
      if (reply.status >= 400) {
        Json error(reply.body);
        EXPECT_TRUE(error.ok) << "error answers are JSON: " << reply.body;
        EXPECT_FALSE(error.Str("error").empty()) << reply.body;
      }
    };
    expect("not JSON", "{\"id\": ", {400});
    expect("trailing garbage", probe.good_body + "}", {400});
    expect("invalid UTF-8", "{\"name\":\"\xff\xfe\"}", {400});
    expect("too deep", std::string(5000, '[') + std::string(5000, ']'), {400});
    expect("an array", "[1,2,3]", {422});
    expect("a string", "\"hello\"", {422});
    expect("null", "null", {422});
    if (route.pattern != "/api/v1/bundles") {  // bundles may carry custom properties
      expect("unknown field",
             probe.good_body.substr(0, probe.good_body.size() - 1) + R"(,"x_unexpected":1})", {422});
    }
    if (route.pattern == "/api/v1/tokens") {
      expect("empty object (all optional)", "{}", {201});
    } else {
      expect("empty object", "{}", {422});
    }
    // Each member of a valid body, in turn, with a value of the wrong type.
    simdjson::dom::parser parser;
    simdjson::dom::object good;
    ASSERT_FALSE(parser.parse(probe.good_body).get(good)) << probe.good_body;
    for (auto [key, value] : good) {
      expect(fmt::format("member '{}' of the wrong type", key), WithWrongType(probe.good_body, key), {422});
    }
    const size_t limit = route.pattern == "/api/v1/bundles" ? hub.env.context.max_content_length
                                                           : RestOptions{}.max_json_body;
    expect("one byte too large",
           R"({"name":")" + std::string(limit + 1 - std::string_view(R"({"name":""})").size(), 'a') + R"("})",
           {413});
    expect("text/plain", probe.good_body, {415}, "text/plain");
    expect("form", probe.good_body, {415}, "application/x-www-form-urlencoded");
    expect("no content type", probe.good_body, {415}, "");
    // And the valid body works, so the refusals above were about the malformation.
    auto ok = Call(route, auth, target, probe.good_body);
    EXPECT_GE(ok.status, 200) << ok.body;
    EXPECT_LT(ok.status, 300) << ok.body;
    ++checked;
  }
  EXPECT_GE(checked, 9u);
}

TEST_F(RestAuthTest, MalformedQueryParametersAndPathsAre4xx) {
  const std::vector<std::string> targets = {
      "/api/v1/orgs?limit=0",          "/api/v1/orgs?limit=abc",       "/api/v1/orgs?next=zzz",
      "/api/v1/audit?next=s-1",        "/api/v1/audit?next=%00",       "/api/v1/objects",
      "/api/v1/objects?collection=",   "/api/v1/objects?collection=shared&next=%ff%fe",
      "/api/v1/alerts?since_ns=-5",    "/api/v1/alerts?min_severity=extreme",
      "/api/v1/alerts?next=o99999999", "/api/v1/bundles/export",
      "/api/v1/orgs/",                 "/api/v1/objects/%2e%2e%2f%2e%2e",
      "/api/v1/users/a/b/c",           "/api/v1/nope",
  };
  for (const auto& target : targets) {
    SCOPED_TRACE(target);
    auto reply = hub.Get(target, hub.ncc_admin.Bearer());
    EXPECT_GE(reply.status, 400) << reply.body;
    EXPECT_LT(reply.status, 500) << reply.body;
  }
  EXPECT_EQ(hub.Send("PUT", "/api/v1/orgs/rxa", hub.ncc_admin.Bearer(), "{}").status, 405);
}

}  // namespace
}  // namespace aegis::hub::testing
