// The REST API under /api/v1 over real HTTP (port 0): each endpoint's happy path on
// real accounts, STIX objects and alerts, TLP on the REST and export read paths, and
// the OpenAPI document against the route table.
#include "hub/rest_api.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "common/test_util.h"
#include "core/strings.h"
#include "hub/rest_test_util.h"

namespace aegis::hub::testing {
namespace {

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

class RestApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(hub.env.ok());
    hub.Start();
    ASSERT_NE(hub.env.port(), 0);
  }
  RestEnv hub;
};

TEST_F(RestApiTest, MeDescribesThePrincipalForEveryCredentialKind) {
  auto reply = hub.Get("/api/v1/me", hub.rxa_ana.Bearer());
  ASSERT_EQ(reply.status, 200) << reply.body;
  Json me(reply.body);
  ASSERT_TRUE(me.ok);
  EXPECT_EQ(me.Str("user_id"), "rxa-ana");
  EXPECT_EQ(me.Str("role"), "analyst");
  EXPECT_EQ(me.Strs("scopes"), (std::vector<std::string>{"read", "write"}));
  std::string_view org_id, org_type;
  ASSERT_FALSE(me.root["org"]["id"].get(org_id));
  ASSERT_FALSE(me.root["org"]["type"].get(org_type));
  EXPECT_EQ(org_id, "rxa");
  EXPECT_EQ(org_type, "trust");
  bool can_admin = true;
  ASSERT_FALSE(me.root["can"]["admin"].get(can_admin));
  EXPECT_FALSE(can_admin);

  auto basic = hub.Get("/api/v1/me", hub.rxa_ana.Basic());
  ASSERT_EQ(basic.status, 200) << basic.body;
  Json by_password(basic.body);
  EXPECT_EQ(by_password.Str("user_id"), "rxa-ana");
  EXPECT_NE(by_password.Str("auth_method"), me.Str("auth_method"));

  auto read_only = hub.Get("/api/v1/me", "Bearer " + hub.rxa_admin_read_token);
  ASSERT_EQ(read_only.status, 200);
  EXPECT_EQ(Json(read_only.body).Strs("scopes"), std::vector<std::string>{"read"});
}

TEST_F(RestApiTest, OrganisationsAreManagedByTheNationalCentreAndTheirOwnAdmins) {
  // The national centre creates one.
  auto created = hub.Send("POST", "/api/v1/orgs", hub.ncc_admin.Bearer(),
                          R"({"id":"new-trust","name":"New Trust","type":"trust","default_tlp":"green"})");
  ASSERT_EQ(created.status, 201) << created.body;
  Json org(created.body);
  EXPECT_EQ(org.Str("id"), "new-trust");
  EXPECT_EQ(org.Str("type"), "trust");
  EXPECT_EQ(org.Str("default_tlp"), "TLP:GREEN");
  EXPECT_TRUE(org.Str("stix_identity").starts_with("identity--"));
  EXPECT_EQ(hub.Send("POST", "/api/v1/orgs", hub.ncc_admin.Bearer(),
                     R"({"id":"new-trust","name":"Again","type":"trust"})")
                .status,
            409);

  // The national centre lists all, a trust admin only its own.
  Json all(hub.Get("/api/v1/orgs", hub.ncc_admin.Bearer()).body);
  auto ids = all.Column("items", "id");
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()),
            (std::set<std::string>{"ncc", "rxa", "gpx", "new-trust"}));
  Json own(hub.Get("/api/v1/orgs", hub.rxa_admin.Bearer()).body);
  EXPECT_EQ(own.Column("items", "id"), std::vector<std::string>{"rxa"});

  // Paging through the national list one at a time finds each once.
  std::vector<std::string> paged;
  std::string path = "/api/v1/orgs?limit=1";
  for (int guard = 0; guard < 10; ++guard) {
    Json page(hub.Get(path, hub.ncc_admin.Bearer()).body);
    for (auto& id : page.Column("items", "id")) paged.push_back(id);
    if (!page.Bool("more").value_or(false)) break;
    path = "/api/v1/orgs?limit=1&next=" + page.Str("next");
  }
  EXPECT_EQ(std::set<std::string>(paged.begin(), paged.end()),
            std::set<std::string>(ids.begin(), ids.end()));
  EXPECT_EQ(paged.size(), ids.size());

  // A trust admin may not create organisations, change its type or see others.
  EXPECT_EQ(hub.Send("POST", "/api/v1/orgs", hub.rxa_admin.Bearer(),
                     R"({"id":"rogue","name":"Rogue","type":"trust"})")
                .status,
            403);
  EXPECT_EQ(hub.Send("PATCH", "/api/v1/orgs/rxa", hub.rxa_admin.Bearer(), R"({"type":"national-centre"})")
                .status,
            403);
  EXPECT_EQ(hub.Get("/api/v1/orgs/gpx", hub.rxa_admin.Bearer()).status, 404);

  // ... but it changes its own organisation.
  auto patched = hub.Send("PATCH", "/api/v1/orgs/rxa", hub.rxa_admin.Bearer(),
                          R"({"name":"Royal X Trust","amber_share_with":["gpx"],"default_tlp":"amber"})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  Json after(hub.Get("/api/v1/orgs/rxa", hub.rxa_admin.Bearer()).body);
  EXPECT_EQ(after.Str("name"), "Royal X Trust");
  EXPECT_EQ(after.Strs("amber_share_with"), std::vector<std::string>{"gpx"});
  EXPECT_EQ(after.Str("default_tlp"), "TLP:AMBER");

  // Deletion: the national centre, of an organisation without users.
  EXPECT_EQ(hub.Send("DELETE", "/api/v1/orgs/rxa", hub.rxa_admin.Bearer(), "", "").status, 403);
  EXPECT_EQ(hub.Send("DELETE", "/api/v1/orgs/rxa", hub.ncc_admin.Bearer(), "", "").status, 409);
  EXPECT_EQ(hub.Send("DELETE", "/api/v1/orgs/new-trust", hub.ncc_admin.Bearer(), "", "").status, 204);
  EXPECT_EQ(hub.Get("/api/v1/orgs/new-trust", hub.ncc_admin.Bearer()).status, 404);
}

TEST_F(RestApiTest, UsersAndPasswords) {
  auto created = hub.Send("POST", "/api/v1/users", hub.rxa_admin.Bearer(),
                          R"({"id":"bob","display_name":"Bob","role":"analyst","password":"first-password-1"})");
  ASSERT_EQ(created.status, 201) << created.body;
  Json bob(created.body);
  EXPECT_EQ(bob.Str("org_id"), "rxa");
  EXPECT_EQ(bob.Str("role"), "analyst");
  EXPECT_EQ(bob.Bool("has_password"), true);
  EXPECT_EQ(hub.Send("POST", "/api/v1/users", hub.rxa_admin.Bearer(), R"({"id":"bob","role":"analyst"})").status,
            409);
  // Not into another organisation.
  EXPECT_EQ(hub.Send("POST", "/api/v1/users", hub.rxa_admin.Bearer(),
                     R"({"id":"eve","org_id":"gpx","role":"admin"})")
                .status,
            403);

  Json listed(hub.Get("/api/v1/users", hub.rxa_admin.Bearer()).body);
  auto ids = listed.Column("items", "id");
  EXPECT_TRUE(Contains(ids, "bob"));
  EXPECT_TRUE(Contains(ids, "rxa-ana"));
  EXPECT_FALSE(Contains(ids, "gpx-ana"));
  Json national(hub.Get("/api/v1/users?org=gpx", hub.ncc_admin.Bearer()).body);
  auto gpx_ids = national.Column("items", "id");
  EXPECT_EQ(std::set<std::string>(gpx_ids.begin(), gpx_ids.end()),
            (std::set<std::string>{"gpx-admin", "gpx-ana"}));

  const std::string bob_basic = net::BasicAuthorization("bob", "first-password-1");
  EXPECT_EQ(hub.Get("/api/v1/users/bob", bob_basic).status, 200);
  EXPECT_EQ(hub.Get("/api/v1/users/rxa-ana", bob_basic).status, 404);  // not self, not admin

  auto demoted = hub.Send("PATCH", "/api/v1/users/bob", hub.rxa_admin.Bearer(), R"({"role":"read-only"})");
  ASSERT_EQ(demoted.status, 200) << demoted.body;
  EXPECT_EQ(Json(demoted.body).Str("role"), "read-only");
  EXPECT_EQ(hub.Send("PATCH", "/api/v1/users/rxa-admin", hub.rxa_admin.Bearer(), R"({"disabled":true})").status,
            422);  // not oneself

  // Own password: the current one is required and checked.
  EXPECT_EQ(hub.Send("POST", "/api/v1/users/bob/password", bob_basic,
                     R"({"password":"second-password-2","current_password":"wrong-password-0"})")
                .status,
            403);
  EXPECT_EQ(hub.Send("POST", "/api/v1/users/bob/password", bob_basic, R"({"password":"second-password-2"})")
                .status,
            422);
  auto changed = hub.Send("POST", "/api/v1/users/bob/password", bob_basic,
                          R"({"password":"second-password-2","current_password":"first-password-1"})");
  ASSERT_EQ(changed.status, 204) << changed.body;
  EXPECT_EQ(hub.Get("/api/v1/me", net::BasicAuthorization("bob", "second-password-2")).status, 200);
  // An admin resets it without the current one.
  EXPECT_EQ(hub.Send("POST", "/api/v1/users/bob/password", hub.rxa_admin.Bearer(),
                     R"({"password":"third-password-3"})")
                .status,
            204);
  EXPECT_EQ(hub.Get("/api/v1/me", net::BasicAuthorization("bob", "third-password-3")).status, 200);

  // Disabling locks the user out.
  ASSERT_EQ(hub.Send("PATCH", "/api/v1/users/bob", hub.rxa_admin.Bearer(), R"({"disabled":true})").status, 200);
  EXPECT_EQ(hub.Get("/api/v1/me", net::BasicAuthorization("bob", "third-password-3")).status, 401);
}

TEST_F(RestApiTest, TokensAreIssuedOnceListedWithoutSecretsAndRevoked) {
  auto issued = hub.Send("POST", "/api/v1/tokens", hub.rxa_ana.Bearer(),
                         R"({"name":"feed reader","scopes":["read"],"ttl_seconds":3600})");
  ASSERT_EQ(issued.status, 201) << issued.body;
  Json token(issued.body);
  const std::string secret = token.Str("secret");
  const std::string id = token.Str("id");
  ASSERT_FALSE(secret.empty());
  EXPECT_EQ(token.Strs("scopes"), std::vector<std::string>{"read"});
  EXPECT_FALSE(token.Str("expires_at").empty());

  Json me(hub.Get("/api/v1/me", "Bearer " + secret).body);
  EXPECT_EQ(me.Str("user_id"), "rxa-ana");
  EXPECT_EQ(me.Strs("scopes"), std::vector<std::string>{"read"});

  auto listed = hub.Get("/api/v1/tokens", hub.rxa_ana.Bearer());
  ASSERT_EQ(listed.status, 200);
  EXPECT_TRUE(Contains(Json(listed.body).Column("items", "id"), id));
  EXPECT_EQ(listed.body.find(secret), std::string::npos);
  // The org admin sees the analyst's tokens; another organisation's admin does not.
  EXPECT_TRUE(Contains(Json(hub.Get("/api/v1/tokens", hub.rxa_admin.Bearer()).body).Column("items", "id"), id));
  EXPECT_FALSE(Contains(Json(hub.Get("/api/v1/tokens", hub.gpx_admin.Bearer()).body).Column("items", "id"), id));

  // No credential mints a stronger one.
  EXPECT_EQ(hub.Send("POST", "/api/v1/tokens", hub.rxa_ana.Bearer(), R"({"scopes":["admin"]})").status, 403);
  EXPECT_EQ(hub.Send("POST", "/api/v1/tokens", hub.rxa_ana.Bearer(), R"({"never_expires":true})").status, 403);
  // An admin issues one for a member of the organisation.
  auto for_member = hub.Send("POST", "/api/v1/tokens", hub.rxa_admin.Bearer(),
                             R"({"user_id":"rxa-ro","name":"taxii client","scopes":["read"]})");
  ASSERT_EQ(for_member.status, 201) << for_member.body;
  EXPECT_EQ(Json(hub.Get("/api/v1/me", "Bearer " + Json(for_member.body).Str("secret")).body).Str("user_id"),
            "rxa-ro");

  EXPECT_EQ(hub.Send("DELETE", "/api/v1/tokens/" + id, hub.gpx_admin.Bearer(), "", "").status, 404);
  EXPECT_EQ(hub.Send("DELETE", "/api/v1/tokens/" + id, hub.rxa_ana.Bearer(), "", "").status, 204);
  EXPECT_EQ(hub.Get("/api/v1/me", "Bearer " + secret).status, 401);
  EXPECT_EQ(hub.Send("DELETE", "/api/v1/tokens/" + id, hub.rxa_ana.Bearer(), "", "").status, 409);
}

TEST_F(RestApiTest, PasswordSignInSetsAStrictHttpOnlyCookie) {
  EXPECT_EQ(hub.Send("POST", "/api/v1/sessions", "", R"({"user":"rxa-ana","password":"nope-nope-nope"})").status,
            401);
  auto signed_in = hub.Send("POST", "/api/v1/sessions", "",
                            fmt::format(R"({{"user":"rxa-ana","password":"{}"}})", hub.rxa_ana.password));
  ASSERT_EQ(signed_in.status, 201) << signed_in.body;
  auto set_cookie = signed_in.Header("Set-Cookie");
  ASSERT_TRUE(set_cookie.has_value());
  EXPECT_TRUE(set_cookie->starts_with("aegis_session="));
  EXPECT_NE(set_cookie->find("HttpOnly"), std::string_view::npos);
  EXPECT_NE(set_cookie->find("SameSite=Strict"), std::string_view::npos);
  EXPECT_EQ(set_cookie->find("Secure"), std::string_view::npos);  // plain HTTP here
  const std::string cookie(set_cookie->substr(0, set_cookie->find(';')));

  auto me = hub.env.Send("GET", "/api/v1/me", {{"Cookie", cookie}});
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(Json(me.body).Str("user_id"), "rxa-ana");

  // Signing out needs the session itself; a token cannot end it.
  EXPECT_EQ(hub.Send("DELETE", "/api/v1/sessions/current", hub.rxa_ana.Bearer(), "", "").status, 400);
  auto out = hub.env.Send("DELETE", "/api/v1/sessions/current", {{"Cookie", cookie}});
  EXPECT_EQ(out.status, 204) << out.body;
  ASSERT_TRUE(out.Header("Set-Cookie").has_value());
  EXPECT_NE(out.Header("Set-Cookie")->find("Max-Age=0"), std::string_view::npos);
  EXPECT_EQ(hub.env.Send("GET", "/api/v1/me", {{"Cookie", cookie}}).status, 401);
}

TEST_F(RestApiTest, SessionCookiesAreSecureWhenTheServerSpeaksTls) {
  RestEnv tls_hub;
  tls_hub.Start({.instance_org = "rxa", .tls = true});
  auto signed_in = tls_hub.Send("POST", "/api/v1/sessions", "",
                                fmt::format(R"({{"user":"rxa-ana","password":"{}"}})", tls_hub.rxa_ana.password));
  ASSERT_EQ(signed_in.status, 201) << signed_in.body;
  ASSERT_TRUE(signed_in.Header("Set-Cookie").has_value());
  EXPECT_NE(signed_in.Header("Set-Cookie")->find("; Secure"), std::string_view::npos);
}

TEST_F(RestApiTest, AuditLogIsPerOrganisationAndPaginated) {
  ASSERT_EQ(hub.Send("POST", "/api/v1/users", hub.rxa_admin.Bearer(), R"({"id":"carol","role":"read-only"})").status,
            201);
  ASSERT_EQ(hub.Send("POST", "/api/v1/orgs", hub.ncc_admin.Bearer(), R"({"id":"sup1","name":"Supplier","type":"supplier"})")
                .status,
            201);
  auto own = hub.Get("/api/v1/audit?limit=1000", hub.rxa_admin.Bearer());
  ASSERT_EQ(own.status, 200) << own.body;
  Json rxa_log(own.body);
  EXPECT_TRUE(Contains(rxa_log.Column("items", "target"), "carol"));
  EXPECT_FALSE(Contains(rxa_log.Column("items", "target"), "sup1"));
  Json national(hub.Get("/api/v1/audit?limit=1000", hub.ncc_admin.Bearer()).body);
  EXPECT_TRUE(Contains(national.Column("items", "target"), "carol"));
  EXPECT_TRUE(Contains(national.Column("items", "target"), "sup1"));
  EXPECT_EQ(hub.Get("/api/v1/audit", hub.rxa_ana.Bearer()).status, 403);

  // Pages of one entry, newest first, each entry once.
  std::vector<int64_t> seqs;
  std::string path = "/api/v1/audit?limit=1";
  for (int guard = 0; guard < 5; ++guard) {
    auto reply = hub.Get(path, hub.ncc_admin.Bearer());
    ASSERT_EQ(reply.status, 200) << reply.body;
    Json page(reply.body);
    simdjson::dom::array items;
    ASSERT_FALSE(page.root["items"].get(items));
    for (auto item : items) seqs.push_back(item["seq"].get_int64().value_unsafe());
    if (!page.Bool("more").value_or(false)) break;
    path = "/api/v1/audit?limit=1&next=" + page.Str("next");
  }
  ASSERT_GE(seqs.size(), 3u);
  EXPECT_TRUE(std::is_sorted(seqs.rbegin(), seqs.rend()));
  EXPECT_EQ(std::set<int64_t>(seqs.begin(), seqs.end()).size(), seqs.size());
}

TEST_F(RestApiTest, CollectionsAreListedByReadAccessAndCreatedByAdmins) {
  Json for_gpx(hub.Get("/api/v1/collections", hub.gpx_ana.Bearer()).body);
  auto gpx_aliases = for_gpx.Column("items", "alias");
  EXPECT_TRUE(Contains(gpx_aliases, "shared"));
  EXPECT_FALSE(Contains(gpx_aliases, "rxa-private"));
  Json for_rxa(hub.Get("/api/v1/collections", hub.rxa_ro.Bearer()).body);
  EXPECT_TRUE(Contains(for_rxa.Column("items", "alias"), "rxa-private"));

  auto created = hub.Send("POST", "/api/v1/collections", hub.rxa_admin.Bearer(),
                          R"({"alias":"rxa-to-ncc","title":"Up to the centre","readers":["rxa","type:national-centre"]})");
  ASSERT_EQ(created.status, 201) << created.body;
  Json collection(created.body);
  EXPECT_EQ(collection.Strs("writers"), std::vector<std::string>{"rxa"});
  EXPECT_EQ(collection.Bool("can_write"), true);
  EXPECT_TRUE(Contains(Json(hub.Get("/api/v1/collections", hub.ncc_admin.Bearer()).body).Column("items", "alias"),
                       "rxa-to-ncc"));
  EXPECT_FALSE(Contains(Json(hub.Get("/api/v1/collections", hub.gpx_ana.Bearer()).body).Column("items", "alias"),
                        "rxa-to-ncc"));
  EXPECT_EQ(hub.Send("POST", "/api/v1/collections", hub.rxa_admin.Bearer(),
                     R"({"alias":"rxa-to-ncc","title":"Again"})")
                .status,
            409);
  // Only the national centre grants others write access.
  EXPECT_EQ(hub.Send("POST", "/api/v1/collections", hub.rxa_admin.Bearer(),
                     R"({"alias":"x","title":"X","writers":["gpx"]})")
                .status,
            403);
  EXPECT_EQ(hub.Send("POST", "/api/v1/collections", hub.ncc_admin.Bearer(),
                     R"({"alias":"national","title":"National indicators","readers":["*"],"writers":["ncc","type:trust"]})")
                .status,
            201);
  EXPECT_EQ(hub.Send("POST", "/api/v1/collections", hub.ncc_admin.Bearer(),
                     R"({"alias":"bad","title":"Bad","readers":["no-such-org"]})")
                .status,
            422);
}

TEST_F(RestApiTest, ObjectsHonourTlpOnTheRestReadPath) {
  auto rxa = hub.Get("/api/v1/objects?collection=shared", hub.rxa_ana.Bearer());
  ASSERT_EQ(rxa.status, 200) << rxa.body;
  auto rxa_ids = Json(rxa.body).Column("objects", "id");
  EXPECT_EQ(std::set<std::string>(rxa_ids.begin(), rxa_ids.end()),
            (std::set<std::string>{IndicatorId(kGreen), IndicatorId(kAmber), IndicatorId(kAmberStrict),
                                   IndicatorId(kRed), IndicatorId(kClear)}));

  auto gpx = hub.Get("/api/v1/objects?collection=" + hub.shared.id, hub.gpx_ana.Bearer());
  ASSERT_EQ(gpx.status, 200) << gpx.body;
  auto gpx_ids = Json(gpx.body).Column("objects", "id");
  EXPECT_EQ(std::set<std::string>(gpx_ids.begin(), gpx_ids.end()),
            (std::set<std::string>{IndicatorId(kGreen), IndicatorId(kClear)}));
  // The national centre is not implied in AMBER sharing.
  auto ncc_ids = Json(hub.Get("/api/v1/objects?collection=shared", hub.ncc_admin.Bearer()).body).Column("objects", "id");
  EXPECT_FALSE(Contains(ncc_ids, IndicatorId(kAmber)));
  EXPECT_TRUE(Contains(ncc_ids, IndicatorId(kGreen)));

  // One object: 404 when not visible, the same as when absent.
  auto hidden = hub.Get("/api/v1/objects/" + IndicatorId(kAmber), hub.gpx_ana.Bearer());
  auto absent = hub.Get("/api/v1/objects/" + IndicatorId(999), hub.gpx_ana.Bearer());
  EXPECT_EQ(hidden.status, 404);
  EXPECT_EQ(absent.status, 404);
  EXPECT_EQ(hidden.body, absent.body);
  EXPECT_EQ(hub.Get("/api/v1/objects/" + IndicatorId(kPrivate), hub.gpx_admin.Bearer()).status, 404);
  auto visible = hub.Get("/api/v1/objects/" + IndicatorId(kAmber), hub.rxa_ro.Bearer());
  ASSERT_EQ(visible.status, 200) << visible.body;
  Json envelope(visible.body);
  EXPECT_EQ(envelope.Str("tlp"), "TLP:AMBER");
  EXPECT_EQ(envelope.Str("producer_org"), "rxa");
  std::string_view object_id;
  ASSERT_FALSE(envelope.root["object"]["id"].get(object_id));
  EXPECT_EQ(object_id, IndicatorId(kAmber));

  // Once rxa shares AMBER with gpx, gpx sees it (and still not AMBER+STRICT or RED).
  ASSERT_EQ(hub.Send("PATCH", "/api/v1/orgs/rxa", hub.rxa_admin.Bearer(), R"({"amber_share_with":["gpx"]})").status,
            200);
  auto shared = Json(hub.Get("/api/v1/objects?collection=shared", hub.gpx_ana.Bearer()).body).Column("objects", "id");
  EXPECT_TRUE(Contains(shared, IndicatorId(kAmber)));
  EXPECT_FALSE(Contains(shared, IndicatorId(kAmberStrict)));
  EXPECT_FALSE(Contains(shared, IndicatorId(kRed)));

  // Filters and paging.
  EXPECT_EQ(Json(hub.Get("/api/v1/objects?collection=shared&type=malware", hub.rxa_ana.Bearer()).body).Count("objects"),
            0u);
  auto by_id = Json(hub.Get("/api/v1/objects?collection=shared&id=" + IndicatorId(kGreen), hub.rxa_ana.Bearer()).body)
                   .Column("objects", "id");
  EXPECT_EQ(by_id, std::vector<std::string>{IndicatorId(kGreen)});
  std::vector<std::string> paged;
  std::string path = "/api/v1/objects?collection=shared&limit=2";
  for (int guard = 0; guard < 10; ++guard) {
    auto reply = hub.Get(path, hub.rxa_ana.Bearer());
    ASSERT_EQ(reply.status, 200) << reply.body;
    Json page(reply.body);
    for (auto& id : page.Column("objects", "id")) paged.push_back(id);
    if (!page.Bool("more").value_or(false)) break;
    ASSERT_FALSE(page.Str("next").empty());
    path = "/api/v1/objects?collection=shared&limit=2&next=" + page.Str("next");
  }
  EXPECT_EQ(paged.size(), 5u);
  EXPECT_EQ(std::set<std::string>(paged.begin(), paged.end()).size(), 5u);
  EXPECT_EQ(hub.Get("/api/v1/objects?collection=rxa-private", hub.gpx_ana.Bearer()).status, 404);
  EXPECT_EQ(hub.Get("/api/v1/objects?collection=shared&next=garbage", hub.rxa_ana.Bearer()).status, 400);
}

TEST_F(RestApiTest, BundleImportReportsEachObjectAndExportHonoursTlp) {
  const std::string bundle = Bundle({
      Indicator(101, Tlp::kGreen, "imported-green.example"),
      Indicator(102, Tlp::kRed, "imported-red.example"),
      R"({"type":"indicator","spec_version":"2.1","id":"indicator--not-a-uuid","created":"2026-03-01T10:00:00Z"})",
  });
  auto imported = hub.Send("POST", "/api/v1/bundles?collection=shared", hub.gpx_ana.Bearer(), bundle);
  ASSERT_EQ(imported.status, 200) << imported.body;
  Json result(imported.body);
  EXPECT_EQ(result.Int("added"), 2);
  EXPECT_EQ(result.Int("rejected"), 1);
  EXPECT_EQ(result.Int("duplicates"), 0);
  auto outcomes = result.Column("objects", "outcome");
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), "added"), 2);
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), "rejected"), 1);

  // The same bundle again: duplicates, accepted idempotently.
  Json again(hub.Send("POST", "/api/v1/bundles?collection=shared", hub.gpx_ana.Bearer(), bundle).body);
  EXPECT_EQ(again.Int("duplicates"), 2);
  EXPECT_EQ(again.Int("added"), 0);

  // gpx produced them: gpx reads its own RED object, rxa does not.
  EXPECT_EQ(hub.Get("/api/v1/objects/" + IndicatorId(102), hub.gpx_ana.Bearer()).status, 200);
  EXPECT_EQ(hub.Get("/api/v1/objects/" + IndicatorId(102), hub.rxa_ana.Bearer()).status, 404);
  EXPECT_EQ(hub.Get("/api/v1/objects/" + IndicatorId(101), hub.rxa_ana.Bearer()).status, 200);

  // No writing where the organisation only reads; no reading where it cannot.
  EXPECT_EQ(hub.Send("POST", "/api/v1/bundles?collection=rxa-private", hub.gpx_ana.Bearer(), bundle).status, 404);
  hub.env.AddCollection("read-only-for-gpx", {"*"}, {"rxa"});
  EXPECT_EQ(hub.Send("POST", "/api/v1/bundles?collection=read-only-for-gpx", hub.gpx_ana.Bearer(), bundle).status,
            403);

  // Export for gpx: CLEAR, GREEN and its own objects, not rxa's AMBER and above.
  auto exported = hub.Get("/api/v1/bundles/export?collection=shared", hub.gpx_ana.Bearer());
  ASSERT_EQ(exported.status, 200) << exported.body;
  Json bundle_out(exported.body);
  EXPECT_EQ(bundle_out.Str("type"), "bundle");
  auto ids = bundle_out.Column("objects", "id");
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()),
            (std::set<std::string>{IndicatorId(kGreen), IndicatorId(kClear), IndicatorId(101), IndicatorId(102)}));
  simdjson::dom::array objects;
  ASSERT_FALSE(bundle_out.root["objects"].get(objects));
  for (auto object : objects) {
    auto validated = intel::stix::ValidateObject(simdjson::minify(object));
    EXPECT_TRUE(validated.has_value()) << validated.error().ToString();
  }
}

TEST_F(RestApiTest, AlertsBelongToTheInstanceOrganisation) {
  auto listed = hub.Get("/api/v1/alerts", hub.rxa_ro.Bearer());
  ASSERT_EQ(listed.status, 200) << listed.body;
  auto ids = Json(listed.body).Column("items", "id");
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()),
            std::set<std::string>(hub.alert_ids.begin(), hub.alert_ids.end()));
  auto high = Json(hub.Get("/api/v1/alerts?min_severity=high", hub.rxa_ro.Bearer()).body).Column("items", "id");
  EXPECT_EQ(high, std::vector<std::string>{"alert-0002"});
  // Paging by two.
  Json first(hub.Get("/api/v1/alerts?limit=2", hub.rxa_ro.Bearer()).body);
  EXPECT_EQ(first.Count("items"), 2u);
  ASSERT_EQ(first.Bool("more"), true);
  Json second(hub.Get("/api/v1/alerts?limit=2&next=" + first.Str("next"), hub.rxa_ro.Bearer()).body);
  EXPECT_EQ(second.Count("items"), 1u);
  EXPECT_EQ(second.Bool("more"), false);

  auto one = hub.Get("/api/v1/alerts/alert-0001", hub.rxa_ana.Bearer());
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(Json(one.body).Str("rule"), "bad1.example");
  EXPECT_EQ(hub.Get("/api/v1/alerts/alert-9999", hub.rxa_ana.Bearer()).status, 404);
  EXPECT_EQ(hub.Get("/api/v1/alerts", hub.gpx_admin.Bearer()).status, 403);
  EXPECT_EQ(hub.Get("/api/v1/alerts/alert-0001", hub.ncc_admin.Bearer()).status, 403);
}

TEST_F(RestApiTest, EarlyWarningRegistrationsAndNotifications) {
  Json registrations(hub.Get("/api/v1/ew/registrations", hub.rxa_ro.Bearer()).body);
  EXPECT_EQ(registrations.Column("items", "value"), std::vector<std::string>{std::string(kRxaDomain)});
  EXPECT_EQ(Json(hub.Get("/api/v1/ew/registrations", hub.gpx_ana.Bearer()).body).Count("items"), 0u);

  auto added = hub.Send("POST", "/api/v1/ew/registrations", hub.rxa_admin.Bearer(),
                        R"({"kind":"ip","value":"81.2.69.0/24"})");
  ASSERT_EQ(added.status, 201) << added.body;
  Json registration(added.body);
  EXPECT_EQ(registration.Str("org_id"), "rxa");
  EXPECT_EQ(registration.Str("kind"), "ip");
  auto bogon = hub.Send("POST", "/api/v1/ew/registrations", hub.rxa_admin.Bearer(),
                        R"({"kind":"ip","value":"10.1.0.0/16"})");
  EXPECT_EQ(bogon.status, 422) << bogon.body;
  EXPECT_NE(Json(bogon.body).Str("error").find("10.0.0.0/8"), std::string::npos) << bogon.body;
  EXPECT_EQ(hub.Send("POST", "/api/v1/ew/registrations", hub.rxa_ana.Bearer(),
                     R"({"kind":"domain","value":"other.nhs.uk"})")
                .status,
            403);
  // The national centre registers on behalf of a member.
  EXPECT_EQ(hub.Send("POST", "/api/v1/ew/registrations", hub.ncc_admin.Bearer(),
                     R"({"org_id":"gpx","kind":"asn","value":"AS5462"})")
                .status,
            201);

  // The notification raised by rxa's object reaches rxa only.
  auto listed = hub.Get("/api/v1/ew/notifications", hub.rxa_ana.Bearer());
  ASSERT_EQ(listed.status, 200) << listed.body;
  Json notifications(listed.body);
  ASSERT_EQ(notifications.Count("items"), 1u);
  EXPECT_EQ(notifications.Column("items", "object_id"), std::vector<std::string>{IndicatorId(kEw)});
  EXPECT_EQ(Json(hub.Get("/api/v1/ew/notifications", hub.gpx_ana.Bearer()).body).Count("items"), 0u);

  const std::string ack = fmt::format("/api/v1/ew/notifications/{}/ack", hub.rxa_notification_id);
  EXPECT_EQ(hub.Send("POST", ack, hub.gpx_ana.Bearer(), "", "").status, 404);
  auto acked = hub.Send("POST", ack, hub.rxa_ana.Bearer(), "", "");
  ASSERT_EQ(acked.status, 200) << acked.body;
  EXPECT_EQ(Json(acked.body).Bool("acked"), true);
  EXPECT_EQ(Json(hub.Get("/api/v1/ew/notifications?unacked=true", hub.rxa_ana.Bearer()).body).Count("items"), 0u);

  const std::string remove = fmt::format("/api/v1/ew/registrations/{}", registration.Int("id").value_or(0));
  EXPECT_EQ(hub.Send("DELETE", remove, hub.gpx_admin.Bearer(), "", "").status, 404);
  EXPECT_EQ(hub.Send("DELETE", remove, hub.rxa_admin.Bearer(), "", "").status, 204);
  EXPECT_EQ(Json(hub.Get("/api/v1/ew/registrations", hub.rxa_ro.Bearer()).body).Count("items"), 1u);
}

TEST_F(RestApiTest, OpenApiDocumentIsPublicJsonListingExactlyTheRegisteredRoutes) {
  auto reply = hub.Get("/api/v1/openapi.json", "");
  ASSERT_EQ(reply.status, 200);
  Json doc(reply.body);
  ASSERT_TRUE(doc.ok) << "the OpenAPI document is not JSON";
  EXPECT_TRUE(doc.Str("openapi").starts_with("3."));

  std::set<std::string> documented;
  simdjson::dom::object paths;
  ASSERT_FALSE(doc.root["paths"].get(paths));
  for (auto [path, item] : paths) {
    simdjson::dom::object operations;
    ASSERT_FALSE(item.get(operations));
    for (auto [method, operation] : operations) {
      if (method == "parameters") continue;
      std::string upper(method);
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      documented.insert(upper + " " + std::string(path));
      // Every operation names its answers, and its security when it is public.
      simdjson::dom::object responses;
      EXPECT_FALSE(operation["responses"].get(responses)) << upper << " " << path;
    }
  }
  std::set<std::string> registered;
  for (const RestRoute& route : RestRoutes()) {
    registered.insert(std::string(route.method) + " " + std::string(route.pattern));
    simdjson::dom::array security;
    const bool has_own_security = !paths[route.pattern][AsciiLower(route.method)]["security"].get(security);
    if (route.access == RestAccess::kPublic) {
      EXPECT_TRUE(has_own_security && security.size() == 0) << route.pattern << " is public";
    }
  }
  EXPECT_EQ(documented, registered);

  simdjson::dom::object schemes;
  ASSERT_FALSE(doc.root["components"]["securitySchemes"].get(schemes));
  for (const char* scheme : {"bearerAuth", "basicAuth", "cookieAuth"}) {
    EXPECT_FALSE(schemes[scheme].error()) << scheme;
  }

  // docs/openapi.json is the same document.
  EXPECT_EQ(aegis::testing::ReadAll(std::filesystem::path(AEGIS_SOURCE_DIR) / "docs" / "openapi.json"),
            std::string(OpenApiDocument()));
}

}  // namespace
}  // namespace aegis::hub::testing
