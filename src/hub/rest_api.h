// The JSON REST API of the hub under /api/v1: the signed-in principal, organisations,
// users, API tokens, sessions, the audit log, collections, STIX objects and bundles,
// and the local instance's alerts; its OpenAPI 3 description at /api/v1/openapi.json.
//
// Every endpoint except the OpenAPI document and password sign-in authenticates with
// hub::AuthenticateRequest (Bearer token, Basic, or the `aegis_session` cookie), then
// checks the route's Access level and the organisation the resource belongs to.
// Objects pass the TLP policy (hub::VisibilityCheck, ReadPath::kRest; exports
// ReadPath::kExport); an object the caller may not see is answered with 404, never 403.
// Lists are paginated with `limit` and an opaque `next` cursor. Errors are
// {"error": "...", "status": N}. Every write goes to the audit log. See docs/API.md.
//
//   server::Router router;
//   hub::RestOptions options{.instance_org = "rxa-trust", .tls = true};
//   if (auto ok = hub::RegisterRestRoutes(router, context, options); !ok) ...;
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/error.h"
#include "hub/context.h"
#include "server/router.h"

namespace aegis::share {
class EarlyWarning;
}

namespace aegis::hub {

// What a route demands before its handler looks at the resource.
enum class RestAccess : unsigned char {
  kPublic,         // no credentials (the OpenAPI document, password sign-in)
  kAuthenticated,  // any valid credential (whoami, sign-out, own password, own tokens)
  kRead,           // auth::Permission::kRead
  kWrite,          // auth::Permission::kWrite
  kAdmin,          // auth::Permission::kAdmin (organisation checked by the handler)
};
std::string_view RestAccessName(RestAccess access);  // "public", "authenticated", ...

// One registered endpoint. `pattern` uses OpenAPI path templating ("{id}").
struct RestRoute {
  std::string_view method;   // "GET", "POST", "PATCH", "DELETE"
  std::string_view pattern;  // "/api/v1/orgs/{id}"
  RestAccess access;
  bool has_body;             // takes a JSON request body
  std::string_view summary;
};

// Every endpoint RegisterRestRoutes adds, in a stable order (tests enumerate it).
std::span<const RestRoute> RestRoutes();

// The OpenAPI 3.0 document served at /api/v1/openapi.json (a JSON text).
std::string_view OpenApiDocument();

struct RestOptions {
  // The organisation that runs this instance: its members may read the local alerts.
  // Empty: the alert endpoints answer 404 for everyone.
  std::string instance_org;
  bool tls = false;                        // the server speaks TLS: session cookies get Secure
  int64_t session_ttl_seconds = 8 * 3600;  // password sign-in session lifetime
  size_t max_json_body = 64 * 1024;        // account, collection bodies; larger: 413
  // Bundle import bodies; 0: HubContext::max_content_length. (The HTTP server's own
  // max_body_bytes applies first.)
  size_t max_bundle_body = 0;
  size_t default_page = 100;  // `limit` when absent; capped by HubContext::max_page
  // Early Warning registrations and notifications (/api/v1/ew/...); null: those
  // endpoints answer 404. Must outlive the router.
  share::EarlyWarning* early_warning = nullptr;
};

// Adds every RestRoutes() endpoint to `router`. `context` must outlive the router.
Result<void> RegisterRestRoutes(server::Router& router, HubContext& context,
                                RestOptions options = {});

}  // namespace aegis::hub
