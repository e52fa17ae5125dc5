// Router: the request/response vocabulary of the HTTP server and the table that maps
// (method, path) to a handler. Exact paths win over prefix routes; among prefix routes
// the longest wins. A path known for other methods only gives 405 with `Allow`; an
// unknown path gives 404. A handler that throws or returns an Error gives 500 with a
// JSON body; the server keeps running.
//
//   Router r;
//   r.Get("/api/v1/indicators", [](const Request& q) -> Result<Response> {
//     return Response::Json(200, R"({"items":[]})");
//   });
//   r.AddPrefix("GET", "/taxii2/", ServeTaxii);
//
// Routes are registered before the server starts; the table is read-only afterwards.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.h"

namespace aegis::server {

// A view of one request; valid only during the handler call.
struct Request {
  std::string_view method;                                 // "GET", "POST", ...
  std::string_view target;                                 // raw request target: "/a/b?x=1"
  std::string_view path;                                   // target before '?', not percent-decoded
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::vector<std::pair<std::string_view, std::string_view>> headers;  // as received
  std::string_view body;
  std::string_view remote;  // "127.0.0.1:54321"
  std::string_view route;   // the matched route pattern (set by the router)

  // First query parameter / header with that name (headers: case-insensitive).
  std::optional<std::string_view> Query(std::string_view name) const;
  std::optional<std::string_view> Header(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Type among them
  std::string body;

  static Response Json(int status, std::string body);
  static Response Text(int status, std::string body);
  // {"error":"<message>","status":<status>} with JSON escaping.
  static Response Error(int status, std::string_view message);
};

using Handler = std::function<Result<Response>(const Request&)>;

// "a%20b+c" → "a b c" (plus as space: query-string rules). Bad escapes are kept as is.
std::string UrlDecode(std::string_view s, bool plus_as_space = true);
// "a=1&b=x%20y&c" → {{"a","1"},{"b","x y"},{"c",""}}
std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view query);
std::string JsonEscape(std::string_view s);

class Router {
 public:
  // Exact path. Error if (method, path) is already registered.
  Result<void> Add(std::string method, std::string path, Handler handler);
  // Every path equal to `prefix` or below it: "/taxii2" and "/taxii2/" both match
  // "/taxii2/collections/..."; "/taxii2" does not match "/taxii2x".
  Result<void> AddPrefix(std::string method, std::string prefix, Handler handler);
  Result<void> Get(std::string path, Handler handler) {
    return Add("GET", std::move(path), std::move(handler));
  }
  Result<void> Post(std::string path, Handler handler) {
    return Add("POST", std::move(path), std::move(handler));
  }

  struct Outcome {
    Response response;
    std::string route;  // matched pattern ("/x", "/api/*"), or "unmatched"
    std::string error;  // why a 500 was produced (for the log), empty otherwise
  };
  // Finds the handler and runs it; never throws.
  Outcome Dispatch(Request& request) const;

 private:
  using MethodTable = std::map<std::string, Handler, std::less<>>;
  struct PrefixRoute {
    std::string prefix;   // without a trailing '/'
    std::string pattern;  // prefix + "/*", the route label
    MethodTable methods;
  };
  std::unordered_map<std::string, MethodTable> exact_;
  std::vector<PrefixRoute> prefixes_;  // longest prefix first
};

}  // namespace aegis::server
