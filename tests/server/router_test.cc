#include "server/router.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace aegis::server {
namespace {

Handler Say(std::string what) {
  return [what](const Request&) -> Result<Response> { return Response::Text(200, what); };
}

Router::Outcome Dispatch(const Router& r, std::string_view method, std::string_view path) {
  Request q;
  q.method = method;
  q.path = path;
  q.target = path;
  return r.Dispatch(q);
}

TEST(UrlDecodeTest, DecodesPercentAndPlus) {
  EXPECT_EQ(UrlDecode("a%20b+c"), "a b c");
  EXPECT_EQ(UrlDecode("a+b", false), "a+b");
  EXPECT_EQ(UrlDecode("100%"), "100%");
  EXPECT_EQ(UrlDecode("%zz%4"), "%zz%4");
  EXPECT_EQ(UrlDecode("%2F%2f"), "//");
}

TEST(ParseQueryTest, SplitsAndDecodes) {
  auto q = ParseQuery("a=1&b=x%20y&c&&d=&e=f=g");
  ASSERT_EQ(q.size(), 5u);
  EXPECT_EQ(q[0], (std::pair<std::string, std::string>{"a", "1"}));
  EXPECT_EQ(q[1], (std::pair<std::string, std::string>{"b", "x y"}));
  EXPECT_EQ(q[2], (std::pair<std::string, std::string>{"c", ""}));
  EXPECT_EQ(q[3], (std::pair<std::string, std::string>{"d", ""}));
  EXPECT_EQ(q[4], (std::pair<std::string, std::string>{"e", "f=g"}));
  EXPECT_TRUE(ParseQuery("").empty());
}

TEST(RequestTest, QueryAndHeaderLookup) {
  Request q;
  q.query = {{"a", "1"}, {"a", "2"}};
  q.headers = {{"User-Agent", "x"}};
  EXPECT_EQ(q.Query("a"), "1");
  EXPECT_FALSE(q.Query("b"));
  EXPECT_EQ(q.Header("user-agent"), "x");
  EXPECT_FALSE(q.Header("host"));
}

TEST(RouterTest, ExactBeatsPrefixAndLongestPrefixWins) {
  Router r;
  ASSERT_TRUE(r.Get("/api/v1/status", Say("exact")));
  ASSERT_TRUE(r.AddPrefix("GET", "/api", Say("api")));
  ASSERT_TRUE(r.AddPrefix("GET", "/api/v1/", Say("v1")));
  EXPECT_EQ(Dispatch(r, "GET", "/api/v1/status").response.body, "exact");
  EXPECT_EQ(Dispatch(r, "GET", "/api/v1/status").route, "/api/v1/status");
  EXPECT_EQ(Dispatch(r, "GET", "/api/v1/x/y").response.body, "v1");
  EXPECT_EQ(Dispatch(r, "GET", "/api/v1/x/y").route, "/api/v1/*");
  EXPECT_EQ(Dispatch(r, "GET", "/api/v1").response.body, "v1");
  EXPECT_EQ(Dispatch(r, "GET", "/api/v2").response.body, "api");
  EXPECT_EQ(Dispatch(r, "GET", "/api").response.body, "api");
  EXPECT_EQ(Dispatch(r, "GET", "/apix").response.status, 404);
}

TEST(RouterTest, DuplicateAndBadRoutesRefused) {
  Router r;
  ASSERT_TRUE(r.Get("/a", Say("1")));
  EXPECT_FALSE(r.Get("/a", Say("2")));
  EXPECT_TRUE(r.Post("/a", Say("3")));
  EXPECT_FALSE(r.Get("a", Say("4")));
  EXPECT_FALSE(r.AddPrefix("GET", "x/", Say("5")));
}

TEST(RouterTest, NotFoundAndMethodNotAllowed) {
  Router r;
  ASSERT_TRUE(r.Get("/a", Say("get")));
  ASSERT_TRUE(r.Add("DELETE", "/a", Say("del")));
  ASSERT_TRUE(r.AddPrefix("PUT", "/a", Say("put")));
  auto nf = Dispatch(r, "GET", "/nope");
  EXPECT_EQ(nf.response.status, 404);
  EXPECT_EQ(nf.route, "unmatched");
  EXPECT_NE(nf.response.body.find("\"error\""), std::string::npos);
  auto na = Dispatch(r, "POST", "/a");
  EXPECT_EQ(na.response.status, 405);
  std::string allow;
  for (auto& [k, v] : na.response.headers)
    if (k == "Allow") allow = v;
  EXPECT_EQ(allow, "DELETE, GET, PUT");
  EXPECT_EQ(Dispatch(r, "PUT", "/a").response.body, "put");
}

TEST(RouterTest, HandlerErrorsBecome500) {
  Router r;
  ASSERT_TRUE(r.Get("/throw",
                    [](const Request&) -> Result<Response> { throw std::runtime_error("boom"); }));
  ASSERT_TRUE(
      r.Get("/fail", [](const Request&) -> Result<Response> { return Fail("no database"); }));
  ASSERT_TRUE(r.Get("/int", [](const Request&) -> Result<Response> { throw 42; }));
  for (const char* p : {"/throw", "/fail", "/int"}) {
    auto out = Dispatch(r, "GET", p);
    EXPECT_EQ(out.response.status, 500) << p;
    EXPECT_EQ(out.response.body, R"({"error":"internal server error","status":500})");
    EXPECT_FALSE(out.error.empty());
  }
  EXPECT_NE(Dispatch(r, "GET", "/throw").error.find("boom"), std::string::npos);
}

TEST(RouterTest, RouteVisibleToHandler) {
  Router r;
  ASSERT_TRUE(r.AddPrefix("GET", "/t/", [](const Request& q) -> Result<Response> {
    return Response::Text(200, std::string(q.route));
  }));
  EXPECT_EQ(Dispatch(r, "GET", "/t/x").response.body, "/t/*");
}

TEST(JsonEscapeTest, Escapes) {
  EXPECT_EQ(JsonEscape("a\"b\\c\n\x01"), "a\\\"b\\\\c\\n\\u0001");
  EXPECT_EQ(Response::Error(404, "a\"b").body, R"({"error":"a\"b","status":404})");
}

}  // namespace
}  // namespace aegis::server
