// TAXII authentication, authorisation and TLP over real HTTP: every endpoint without
// credentials or with bad ones (401), with another organisation's credentials
// (404/403), malformed bodies, and the TLP matrix (several organisations × markings)
// walked page by page with `next`.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/test_util.h"
#include "hub/hub_test_util.h"
#include "hub/taxii.h"

namespace aegis::hub {
namespace {

using testing::HubTestEnv;
using testing::TestUser;

constexpr char kTaxii[] = "application/taxii+json;version=2.1";
constexpr char kClear[] = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
constexpr char kGreen[] = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
constexpr char kAmber[] = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
constexpr char kAmberStrict[] = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";
constexpr char kRed[] = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";
constexpr char kWhite1[] = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9";

std::string Uuid(unsigned n) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "0e3f4a10-5c6d-4e7f-8a9b-%012x", n);
  return buffer;
}

// An indicator with the given markings and share list (x_aegis_share_with).
std::string Indicator(const std::string& id, std::vector<std::string> markings = {},
                      std::vector<std::string> share_with = {}) {
  std::string out = R"({"type":"indicator","spec_version":"2.1","id":")" + id +
                    R"(","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","name":"n","pattern":"[domain-name:value = 'example.org']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z")";
  auto list = [&out](const char* key, const std::vector<std::string>& values) {
    if (values.empty()) return;
    out += ",\"";
    out += key;
    out += "\":[";
    for (size_t i = 0; i < values.size(); ++i) out += (i ? ",\"" : "\"") + values[i] + "\"";
    out += "]";
  };
  list("object_marking_refs", markings);
  list("x_aegis_share_with", share_with);
  return out + "}";
}

std::string Envelope(const std::vector<std::string>& objects) {
  std::string out = "{\"objects\":[";
  for (size_t i = 0; i < objects.size(); ++i) out += (i ? "," : "") + objects[i];
  return out + "]}";
}

std::string Enc(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      char b[4];
      std::snprintf(b, sizeof b, "%%%02X", static_cast<unsigned char>(c));
      out += b;
    }
  }
  return out;
}

struct Page {
  long status = 0;
  std::vector<std::string> ids;
  bool more = false;
  std::string next;
  std::string body;
};

Page ParsePage(const net::HttpResponse& r, std::string_view list_key = "objects") {
  Page page;
  page.status = r.status;
  page.body = r.body;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(r.body).get(root)) return page;
  if (root["more"].get_bool().get(page.more)) page.more = false;
  std::string_view next;
  if (!root["next"].get_string().get(next)) page.next = next;
  simdjson::dom::array list;
  if (!root[list_key].get_array().get(list)) {
    for (auto e : list) {
      std::string_view id;
      if (!e["id"].get_string().get(id)) page.ids.emplace_back(id);
    }
  }
  return page;
}

class TaxiiAuth : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(env.ok());
    env.AddOrg("prod", auth::OrgType::kTrust, {"peer"});
    env.AddOrg("peer", auth::OrgType::kTrust);
    env.AddOrg("stranger", auth::OrgType::kTrust);
    env.AddOrg("ncc", auth::OrgType::kNationalCentre);
    env.AddOrg("gp", auth::OrgType::kGpPractice);
    users["prod"] = env.AddUser("pat", "prod", auth::Role::kAnalyst);
    users["peer"] = env.AddUser("pia", "peer", auth::Role::kAnalyst);
    users["stranger"] = env.AddUser("sam", "stranger", auth::Role::kAnalyst);
    users["ncc"] = env.AddUser("nat", "ncc", auth::Role::kAnalyst);
    users["gp"] = env.AddUser("gus", "gp", auth::Role::kReadOnly);
    shared_ = env.AddCollection("shared", {"*"}, {"*"});
    private_ = env.AddCollection("private", {"prod"}, {"prod"});
    env.context.max_content_length = 32 * 1024;
    env.Start([](server::Router& r, HubContext& c) { return RegisterTaxiiRoutes(r, c); });
    ASSERT_NE(env.port(), 0);
  }

  net::HttpResponse Call(std::string_view method, const std::string& path,
                         std::optional<std::string> authorization, std::string_view body = {},
                         std::string content_type = kTaxii) {
    net::Headers headers{{"Accept", kTaxii}};
    if (authorization) headers.emplace_back("Authorization", *authorization);
    if (method == "POST") headers.emplace_back("Content-Type", content_type);
    // libcurl turns a GET with a body into a POST: bodies go with POST only.
    return env.Send(method, path, headers, method == "POST" ? body : std::string_view());
  }
  net::HttpResponse As(const std::string& org, std::string_view method, const std::string& path,
                       std::string_view body = {}) {
    return Call(method, path, users[org].Bearer(), body);
  }
  std::string Objects(const intel::Collection& c) const {
    return "/taxii2/hub/collections/" + c.id + "/objects/";
  }
  std::string Manifest(const intel::Collection& c) const {
    return "/taxii2/hub/collections/" + c.id + "/manifest/";
  }

  // Every page of objects (or manifest records) `org` gets, following `next`.
  std::vector<std::string> Walk(const std::string& org, const std::string& base, size_t limit) {
    std::vector<std::string> ids;
    std::string next;
    for (int pages = 0; pages < 100; ++pages) {
      std::string path = base + "?limit=" + std::to_string(limit);
      if (!next.empty()) path += "&next=" + Enc(next);
      Page page = ParsePage(As(org, "GET", path));
      EXPECT_EQ(page.status, 200) << page.body;
      EXPECT_LE(page.ids.size(), limit);
      ids.insert(ids.end(), page.ids.begin(), page.ids.end());
      if (!page.more) break;
      EXPECT_FALSE(page.next.empty());
      next = page.next;
    }
    return ids;
  }

  HubTestEnv env;
  std::map<std::string, TestUser> users;
  intel::Collection shared_, private_;
};

// Every endpoint, with its method.
std::vector<std::pair<std::string, std::string>> Endpoints(const std::string& coll,
                                                           const std::string& object_id,
                                                           const std::string& status_id) {
  const std::string c = "/taxii2/hub/collections/" + coll + "/";
  return {{"GET", "/taxii2/"},
          {"GET", "/taxii2/hub/"},
          {"GET", "/taxii2/hub/status/" + status_id + "/"},
          {"GET", "/taxii2/hub/collections/"},
          {"GET", c},
          {"GET", c + "manifest/"},
          {"GET", c + "objects/"},
          {"POST", c + "objects/"},
          {"GET", c + "objects/" + object_id + "/"},
          {"DELETE", c + "objects/" + object_id + "/"},
          {"GET", c + "objects/" + object_id + "/versions/"}};
}

TEST_F(TaxiiAuth, EveryEndpointWithoutOrWithBadCredentialsIs401) {
  const std::string id = "indicator--" + Uuid(1);
  auto posted = As("prod", "POST", Objects(shared_), Envelope({Indicator(id, {kClear})}));
  ASSERT_EQ(posted.status, 202);
  simdjson::dom::parser parser;
  const std::string status_id(parser.parse(posted.body)["id"].get_string().value_unsafe());
  ASSERT_TRUE(env.accounts().CreateUser({.id = "old", .org_id = "prod", .role = auth::Role::kAnalyst},
                                        auth::Actor::Cli()));
  auto revoked = env.accounts().CreateToken({.user_id = "old", .name = "old", .scopes = auth::kScopeRead | auth::kScopeWrite},
                                            auth::Actor::Cli());
  ASSERT_TRUE(revoked.has_value());
  ASSERT_TRUE(env.accounts().RevokeToken(revoked->info.id, auth::Actor::Cli()));
  const std::vector<std::optional<std::string>> bad = {
      std::nullopt,
      "Bearer " + users["prod"].token + "x",
      "Bearer " + revoked->secret,
      "Bearer ",
      net::BasicAuthorization("pat", "not-the-password"),
      net::BasicAuthorization("nobody", "whatever"),
      "Basic !!!not-base64!!!",
      "Digest username=\"pat\"",
  };
  for (const auto& [method, path] : Endpoints(shared_.id, id, status_id)) {
    for (const auto& authorization : bad) {
      auto r = Call(method, path, authorization, Envelope({Indicator("indicator--" + Uuid(2))}));
      EXPECT_EQ(r.status, 401) << method << " " << path << " " << authorization.value_or("(none)");
      EXPECT_EQ(r.Header("Content-Type").value_or(""), kTaxii);
      EXPECT_TRUE(r.Header("WWW-Authenticate").has_value());
      EXPECT_EQ(r.body.find(id), std::string::npos);
    }
  }
  // Nothing was written or deleted by the refused requests.
  auto all = ParsePage(As("prod", "GET", Objects(shared_)));
  EXPECT_EQ(all.ids, std::vector<std::string>{id});
}

TEST_F(TaxiiAuth, BasicPasswordBasicTokenAndBearerAllWork) {
  const TestUser& pat = users["prod"];
  for (const std::string& authorization : {pat.Bearer(), pat.Basic(), pat.BasicToken()}) {
    EXPECT_EQ(Call("GET", "/taxii2/hub/collections/", authorization).status, 200) << authorization;
  }
}

TEST_F(TaxiiAuth, OtherOrganisationGets404OnPrivateCollection) {
  const std::string id = "indicator--" + Uuid(3);
  auto posted = As("prod", "POST", Objects(private_), Envelope({Indicator(id, {kClear})}));
  ASSERT_EQ(posted.status, 202);
  simdjson::dom::parser parser;
  const std::string status_id(parser.parse(posted.body)["id"].get_string().value_unsafe());
  for (const auto& [method, path] : Endpoints(private_.id, id, status_id)) {
    if (!path.starts_with("/taxii2/hub/collections/" + private_.id) &&
        !path.starts_with("/taxii2/hub/status/")) {
      continue;
    }
    auto r = As("stranger", method, path, Envelope({Indicator("indicator--" + Uuid(4))}));
    EXPECT_EQ(r.status, 404) << method << " " << path << " " << r.body;
    EXPECT_EQ(r.body.find(id), std::string::npos);
  }
  // The collection is not listed either, and nothing changed.
  auto list = As("stranger", "GET", "/taxii2/hub/collections/");
  EXPECT_EQ(list.body.find(private_.id), std::string::npos);
  EXPECT_EQ(ParsePage(As("prod", "GET", Objects(private_))).ids, std::vector<std::string>{id});
}

TEST_F(TaxiiAuth, StatusOnlyForTheOwnerOrganisation) {
  auto posted = As("prod", "POST", Objects(shared_), Envelope({Indicator("indicator--" + Uuid(5))}));
  ASSERT_EQ(posted.status, 202);
  simdjson::dom::parser parser;
  const std::string status_id(parser.parse(posted.body)["id"].get_string().value_unsafe());
  const std::string path = "/taxii2/hub/status/" + status_id + "/";
  EXPECT_EQ(As("prod", "GET", path).status, 200);
  for (const char* org : {"peer", "stranger", "ncc", "gp"}) {
    auto r = As(org, "GET", path);
    EXPECT_EQ(r.status, 404) << org;
    EXPECT_EQ(r.body.find("success_count"), std::string::npos);
  }
}

TEST_F(TaxiiAuth, ReadOnlyRoleAndReadScopeCannotWrite) {
  const std::string body = Envelope({Indicator("indicator--" + Uuid(6))});
  EXPECT_EQ(As("gp", "POST", Objects(shared_), body).status, 403);  // read-only role
  TestUser scoped = env.AddUser("reader", "peer", auth::Role::kAnalyst, auth::kScopeRead);
  EXPECT_EQ(Call("POST", Objects(shared_), scoped.Bearer(), body).status, 403);
  EXPECT_EQ(Call("GET", Objects(shared_), scoped.Bearer()).status, 200);
  EXPECT_FALSE(ParsePage(As("prod", "GET", Objects(shared_))).more);
  EXPECT_TRUE(ParsePage(As("prod", "GET", Objects(shared_))).ids.empty());
  // Denied writes are audited.
  auto audit = env.accounts().ListAudit({.limit = 50, .action_prefix = "taxii."});
  ASSERT_TRUE(audit.has_value());
  size_t denied = 0;
  for (const auto& e : *audit) denied += e.outcome == "denied" ? 1 : 0;
  EXPECT_EQ(denied, 2u);
}

TEST_F(TaxiiAuth, WritesAreAudited) {
  const std::string id = "indicator--" + Uuid(7);
  ASSERT_EQ(As("prod", "POST", Objects(shared_), Envelope({Indicator(id, {kClear})})).status, 202);
  ASSERT_EQ(As("prod", "DELETE", Objects(shared_) + id + "/").status, 200);
  auto audit = env.accounts().ListAudit({.limit = 50, .action_prefix = "taxii."});
  ASSERT_TRUE(audit.has_value());
  std::set<std::string> actions;
  for (const auto& e : *audit) {
    if (e.outcome == "ok") {
      actions.insert(e.action);
      EXPECT_EQ(e.actor_user, "pat");
      EXPECT_EQ(e.actor_org, "prod");
    }
  }
  EXPECT_TRUE(actions.count("taxii.objects.add"));
  EXPECT_TRUE(actions.count("taxii.objects.delete"));
  // Metrics counted the requests.
  const std::string metrics = env.metrics.Render();
  EXPECT_NE(metrics.find("aegis_taxii_requests_total{endpoint=\"objects_add\",code=\"202\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("aegis_taxii_objects_added_total 1"), std::string::npos);
}

TEST_F(TaxiiAuth, MalformedBodiesGetClearErrors) {
  const std::string path = Objects(shared_);
  struct Case {
    std::string body;
    std::vector<long> statuses;
  };
  std::vector<Case> cases = {
      {"", {400}},
      {"not json", {400}},
      {"{\"objects\":[", {400}},
      {"{\"objects\":[{}]} trailing", {400}},
      {"\xff\xfe{}", {400}},
      {std::string(5000, '[') + std::string(5000, ']'), {400, 422}},
      {"[]", {422}},
      {"42", {422}},
      {"{}", {422}},
      {"{\"objects\":null}", {422}},
      {"{\"objects\":{}}", {422}},
      {"{\"objects\":\"x\"}", {422}},
      {"{\"objects\":[]}", {422}},
      {"{\"objects\":[1,\"a\",null]}", {422}},
      {"{\"more\":\"yes\",\"objects\":[" + Indicator("indicator--" + Uuid(8)) + "]}", {422}},
      {"{\"next\":5,\"objects\":[" + Indicator("indicator--" + Uuid(8)) + "]}", {422}},
  };
  for (const auto& c : cases) {
    auto r = As("prod", "POST", path, c.body);
    EXPECT_NE(std::find(c.statuses.begin(), c.statuses.end(), r.status), c.statuses.end())
        << r.status << " for " << c.body.substr(0, 40) << ": " << r.body;
    EXPECT_EQ(r.Header("Content-Type").value_or(""), kTaxii);
    EXPECT_NE(r.body.find("\"description\""), std::string::npos) << r.body;
  }
  // Objects that are JSON objects but not valid STIX: 202 with per-object failures
  // naming the property.
  auto r = As("prod", "POST", path,
              Envelope({R"({"type":"indicator","id":"indicator--)" + Uuid(9) + R"("})",
                        R"({"type":"indicator","spec_version":"2.1","id":"not-an-id"})"}));
  EXPECT_EQ(r.status, 202);
  EXPECT_NE(r.body.find("\"failure_count\":2"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("indicator--" + Uuid(9)), std::string::npos);
  // Huge: over max_content_length.
  auto huge = As("prod", "POST", path, std::string(env.context.max_content_length * 2, 'x'));
  EXPECT_EQ(huge.status, 413);
  // Still serving, nothing stored.
  EXPECT_TRUE(ParsePage(As("prod", "GET", path)).ids.empty());
}

TEST_F(TaxiiAuth, MalformedRequestsOverRawSockets) {
  const std::string auth = "Authorization: " + users["prod"].Bearer() + "\r\n";
  for (const std::string& target :
       {std::string("/taxii2/hub/collections/%zz/"), std::string("/taxii2/hub/collections//objects/"),
        "/taxii2/hub/collections/" + shared_.id + "/objects/?match%5Btype%5D=indicator&limit=%",
        "/taxii2/hub/collections/" + shared_.id + "/objects/?next=" + std::string(3000, 'A'),
        std::string("/taxii2/../etc/passwd")}) {
    std::string raw = env.SendRaw("GET " + target + " HTTP/1.1\r\nHost: x\r\n" + auth +
                                  "Accept: " + kTaxii + "\r\nConnection: close\r\n\r\n");
    ASSERT_FALSE(raw.empty()) << target;
    const int status = std::atoi(raw.substr(9, 3).c_str());
    EXPECT_TRUE(status == 200 || status == 400 || status == 404) << target << ": " << raw;
  }
  // POST without Content-Type: 415.
  std::string raw = env.SendRaw("POST " + Objects(shared_) + " HTTP/1.1\r\nHost: x\r\n" + auth +
                                "Content-Length: 2\r\nConnection: close\r\n\r\n{}");
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 415")) << raw;
  // The server is still up.
  EXPECT_EQ(As("prod", "GET", "/taxii2/").status, 200);
}

// The TLP matrix: prod (shares AMBER with peer) produces objects under every marking;
// each organisation must see exactly what docs/TLP.md allows on the TAXII path, on
// every page, in the manifest, and through the single-object endpoints.
TEST_F(TaxiiAuth, TlpMatrixAcrossPagination) {
  std::map<std::string, std::string> ids;  // name → STIX id
  std::vector<std::string> objects;
  unsigned n = 100;
  auto add = [&](const std::string& name, std::vector<std::string> markings,
                 std::vector<std::string> share = {}) {
    ids[name] = "indicator--" + Uuid(n++);
    objects.push_back(Indicator(ids[name], std::move(markings), std::move(share)));
  };
  add("clear", {kClear});
  add("green", {kGreen});
  add("white1", {kWhite1});
  add("amber", {kAmber});
  add("amber_ncc", {kAmber}, {"ncc"});
  add("strict", {kAmberStrict}, {"peer"});
  add("red", {kRed});
  add("red_gp", {kRed}, {"gp"});
  add("unmarked", {});
  add("green_and_red", {kGreen, kRed});
  ASSERT_EQ(As("prod", "POST", Objects(shared_), Envelope(objects)).status, 202);
  const std::string stranger_strict = "indicator--" + Uuid(n++);
  ASSERT_EQ(As("stranger", "POST", Objects(shared_),
               Envelope({Indicator(stranger_strict, {kAmberStrict})}))
                .status,
            202);

  const std::vector<std::string> everyone = {"clear", "green", "white1"};
  std::map<std::string, std::vector<std::string>> expected = {
      {"prod", {"clear", "green", "white1", "amber", "amber_ncc", "strict", "red", "red_gp",
                "unmarked", "green_and_red"}},
      {"peer", {"clear", "green", "white1", "amber", "amber_ncc", "unmarked"}},
      {"stranger", {"clear", "green", "white1", "@stranger_strict"}},
      {"ncc", {"clear", "green", "white1", "amber_ncc"}},
      {"gp", {"clear", "green", "white1", "red_gp"}},
  };
  for (const auto& [org, names] : expected) {
    std::set<std::string> want;
    for (const auto& name : names) want.insert(name == "@stranger_strict" ? stranger_strict : ids[name]);
    for (size_t limit : {1u, 2u, 3u, 100u}) {
      auto got = Walk(org, Objects(shared_), limit);
      std::set<std::string> unique(got.begin(), got.end());
      EXPECT_EQ(unique.size(), got.size()) << org << " duplicates at limit " << limit;
      EXPECT_EQ(unique, want) << org << " objects, limit " << limit;
    }
    auto manifest = Walk(org, Manifest(shared_), 2);
    EXPECT_EQ(std::set<std::string>(manifest.begin(), manifest.end()), want) << org << " manifest";
    // Single object and versions: visible → 200, otherwise 404 (like a missing one).
    for (const auto& [name, id] : ids) {
      const bool visible = want.count(id) > 0;
      const long object = As(org, "GET", Objects(shared_) + id + "/").status;
      const long versions = As(org, "GET", Objects(shared_) + id + "/versions/").status;
      EXPECT_EQ(object, visible ? 200 : 404) << org << " " << name;
      EXPECT_EQ(versions, visible ? 200 : 404) << org << " " << name;
    }
    // Filters do not widen anything.
    auto typed = ParsePage(As(org, "GET", Objects(shared_) + "?match[type]=indicator&match[version]=all"));
    for (const auto& id : typed.ids) EXPECT_TRUE(want.count(id)) << org << " " << id;
  }
  // A cursor from prod, reused by stranger, still shows only stranger's objects.
  Page first = ParsePage(As("prod", "GET", Objects(shared_) + "?limit=1"));
  ASSERT_TRUE(first.more);
  Page reused = ParsePage(As("stranger", "GET", Objects(shared_) + "?limit=100&next=" + Enc(first.next)));
  for (const auto& id : reused.ids) {
    EXPECT_TRUE(id == ids["green"] || id == ids["white1"] || id == ids["clear"] || id == stranger_strict)
        << id;
  }
}

TEST_F(TaxiiAuth, DeleteNeedsVisibilityAndOwnership) {
  const std::string clear = "indicator--" + Uuid(200), strict = "indicator--" + Uuid(201);
  ASSERT_EQ(As("prod", "POST", Objects(shared_),
               Envelope({Indicator(clear, {kClear}), Indicator(strict, {kAmberStrict})}))
                .status,
            202);
  // Another organisation that may write the collection: 403 on what it can see, 404
  // on what it cannot.
  EXPECT_EQ(As("stranger", "DELETE", Objects(shared_) + clear + "/").status, 403);
  EXPECT_EQ(As("stranger", "DELETE", Objects(shared_) + strict + "/").status, 404);
  EXPECT_EQ(ParsePage(As("prod", "GET", Objects(shared_))).ids.size(), 2u);
  EXPECT_EQ(As("prod", "DELETE", Objects(shared_) + strict + "/").status, 200);
  EXPECT_EQ(ParsePage(As("prod", "GET", Objects(shared_))).ids, std::vector<std::string>{clear});
}

// Not a pass/fail test (timings never are): run by hand with
//   hub_tests --gtest_also_run_disabled_tests --gtest_filter='*Page1000*'
// It stores 1000 objects and prints the server-side duration (access hook) of GETs of
// one 1000-object page.
TEST_F(TaxiiAuth, DISABLED_Page1000Timing) {
  for (int batch = 0; batch < 25; ++batch) {
    std::vector<std::string> objects;
    for (int i = 0; i < 40; ++i) {  // 40 per POST: under max_content_length (32 KiB)
      objects.push_back(Indicator("indicator--" + Uuid(10000 + batch * 40 + i), {kGreen}));
    }
    ASSERT_EQ(As("prod", "POST", Objects(shared_), Envelope(objects)).status, 202);
  }
  std::mutex mutex;
  std::vector<uint64_t> durations;
  env.server()->SetAccessHook([&](const server::AccessRecord& record) {
    if (record.method != "GET") return;
    std::lock_guard lock(mutex);
    durations.push_back(record.duration_us);
  });
  for (const char* org : {"prod", "stranger"}) {
    {
      std::lock_guard lock(mutex);
      durations.clear();
    }
    size_t bytes = 0;
    for (int i = 0; i < 200; ++i) {
      auto r = As(org, "GET", Objects(shared_) + "?limit=1000");
      ASSERT_EQ(r.status, 200);
      bytes = r.body.size();
    }
    ASSERT_TRUE(aegis::testing::WaitFor([&] {
      std::lock_guard lock(mutex);
      return durations.size() >= 200;
    }));
    std::lock_guard lock(mutex);
    std::sort(durations.begin(), durations.end());
    std::printf("TAXII GET 1000-object page as %s (%zu bytes): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
                org, bytes, durations[durations.size() / 2] / 1000.0,
                durations[durations.size() * 99 / 100] / 1000.0, durations.back() / 1000.0);
  }
}

}  // namespace
}  // namespace aegis::hub
