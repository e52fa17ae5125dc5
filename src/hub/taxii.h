// TAXII 2.1 server of the threat-intelligence hub: discovery, one API root, status,
// collections, manifests, objects (GET/POST/DELETE) and versions under /taxii2/,
// as HTTP handlers on server::Router.
//
// Every request authenticates (hub::AuthenticateRequest: Bearer token or HTTP Basic
// with a password or a token), then the collection's access lists decide can_read and
// can_write, and every object handed out passes the TLP policy on the TAXII read path
// (hub::VisibilityCheck, auth::ReadPath::kTaxii). A `next` cursor is a position only:
// each page re-checks credentials, permissions and TLP. Responses are built by
// appending the stored JSON texts (no DOM re-serialisation). Errors are TAXII `error`
// resources with Content-Type application/taxii+json;version=2.1. See docs/TAXII.md
// for the endpoints, the choices made where the spec is open, and curl examples.
//
//   server::Router router;
//   if (auto ok = hub::RegisterTaxiiRoutes(router, context); !ok) ...;
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "hub/context.h"
#include "server/router.h"

namespace aegis::hub {

inline constexpr std::string_view kTaxiiMediaType = "application/taxii+json;version=2.1";

// Adds the TAXII routes (prefix /taxii2/ for GET, POST and DELETE) to `router`.
// `context` must outlive the router. The HTTP server's max_body_bytes should exceed
// context.max_content_length so that oversized envelopes get the TAXII 413 answer.
Result<void> RegisterTaxiiRoutes(server::Router& router, HubContext& context);

// Formats Unix microseconds as a TAXII timestamp: RFC 3339 UTC with exactly six
// fractional digits ("2021-06-10T12:00:00.123456Z").
std::string FormatTaxiiTimestamp(int64_t unix_us);

// Parses a strict RFC 3339 date-time (`T` separator, any number of fractional
// digits, `Z` or a ±hh:mm offset) to Unix microseconds; nullopt when malformed.
std::optional<int64_t> ParseTaxiiTimestamp(std::string_view text);

}  // namespace aegis::hub
