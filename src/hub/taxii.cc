// TAXII 2.1 server handlers: see hub/taxii.h and docs/TAXII.md.
#include "hub/taxii.h"

#include <openssl/rand.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <memory>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/event.h"
#include "core/strings.h"
#include "intel/stix_object.h"

namespace aegis::hub {
namespace {

using server::Request;
using server::Response;

constexpr std::string_view kStixMediaType = "application/stix+json;version=2.1";

// ---------------------------------------------------------------------------
// Small helpers: timestamps, ids, JSON bits.

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::optional<int> Digits(std::string_view text, size_t at, size_t count) {
  if (at + count > text.size()) return std::nullopt;
  int value = 0;
  for (size_t i = at; i < at + count; ++i) {
    if (!IsDigit(text[i])) return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

std::string NewUuidV4() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    // Fall back on the clock and address entropy; ids only need to be unique.
    const int64_t now = NowNs();
    for (size_t i = 0; i < bytes.size(); ++i) {
      bytes[i] = static_cast<unsigned char>((now >> ((i % 8) * 8)) ^ (i * 37));
    }
  }
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0x0f]);
  }
  return out;
}

// The TAXII media type check shared by Accept and Content-Type: `type/subtype` with
// an optional `version` parameter.
struct MediaRange {
  std::string type;  // lower case "application/taxii+json"
  std::optional<std::string> version;
  double q = 1.0;
};

MediaRange ParseMediaRange(std::string_view text) {
  MediaRange range;
  auto parts = Split(text, ';');
  if (parts.empty()) return range;
  range.type = AsciiLower(Trim(parts[0]));
  for (size_t i = 1; i < parts.size(); ++i) {
    std::string_view param = Trim(parts[i]);
    const size_t eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    std::string name = AsciiLower(Trim(param.substr(0, eq)));
    std::string_view value = Trim(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (name == "version") {
      range.version = std::string(value);
    } else if (name == "q") {
      char* end = nullptr;
      std::string copy(value);
      range.q = std::strtod(copy.c_str(), &end);
    }
  }
  return range;
}

bool VersionOk(const MediaRange& range) { return !range.version || *range.version == "2.1"; }

// Accept: the TAXII media type (2.1 or unversioned: the latest), wildcards, or on the
// objects endpoints the STIX 2.1 media type. An absent header accepts anything.
bool AcceptAllowed(std::optional<std::string_view> accept, bool stix_allowed) {
  if (!accept || Trim(*accept).empty()) return true;
  for (std::string_view part : Split(*accept, ',')) {
    if (Trim(part).empty()) continue;
    MediaRange range = ParseMediaRange(part);
    if (range.q <= 0) continue;
    if (range.type == "*/*" || range.type == "application/*") return true;
    if (range.type == "application/taxii+json" && VersionOk(range)) return true;
    if (stix_allowed && range.type == "application/stix+json" && VersionOk(range)) return true;
  }
  return false;
}

bool ContentTypeAllowed(std::optional<std::string_view> content_type) {
  if (!content_type) return false;
  MediaRange range = ParseMediaRange(*content_type);
  return range.type == "application/taxii+json" && VersionOk(range);
}

Response TaxiiResponse(int status, std::string body) {
  Response response;
  response.status = status;
  response.headers.emplace_back("Content-Type", std::string(kTaxiiMediaType));
  response.body = std::move(body);
  return response;
}

Response TaxiiError(int status, std::string_view title, std::string_view description = {}) {
  std::string body = "{\"title\":";
  AppendJsonString(body, title);
  if (!description.empty()) {
    body += ",\"description\":";
    AppendJsonString(body, description);
  }
  body += ",\"http_status\":\"" + std::to_string(status) + "\"}";
  return TaxiiResponse(status, std::move(body));
}

void AppendStringList(std::string& out, std::string_view key, const std::vector<std::string>& list) {
  out += '"';
  out += key;
  out += "\":[";
  for (size_t i = 0; i < list.size(); ++i) {
    if (i > 0) out += ',';
    AppendJsonString(out, list[i]);
  }
  out += ']';
}

// ---------------------------------------------------------------------------
// Routing of /taxii2/... paths.

enum class Endpoint : unsigned char {
  kDiscovery,
  kApiRoot,
  kStatus,
  kCollections,
  kCollection,
  kManifest,
  kObjects,
  kObject,
  kVersions,
  kUnknown,
};

std::string_view EndpointName(Endpoint endpoint, std::string_view method) {
  switch (endpoint) {
    case Endpoint::kDiscovery: return "discovery";
    case Endpoint::kApiRoot: return "api_root";
    case Endpoint::kStatus: return "status";
    case Endpoint::kCollections: return "collections";
    case Endpoint::kCollection: return "collection";
    case Endpoint::kManifest: return "manifest";
    case Endpoint::kObjects: return method == "POST" ? "objects_add" : "objects";
    case Endpoint::kObject: return method == "DELETE" ? "object_delete" : "object";
    case Endpoint::kVersions: return "versions";
    case Endpoint::kUnknown: break;
  }
  return "unknown";
}

struct Route {
  Endpoint endpoint = Endpoint::kUnknown;
  std::string api_root;
  std::string status_id;
  std::string collection;
  std::string object_id;
};

// "/taxii2/<root>/collections/<id>/objects/<object-id>/versions/" and the shorter
// forms; the trailing slash is optional, empty segments ("//") are not allowed.
Route ParseRoute(std::string_view path) {
  Route route;
  constexpr std::string_view kBase = "/taxii2";
  if (!path.starts_with(kBase)) return route;
  path.remove_prefix(kBase.size());
  if (path.empty() || path == "/") {
    route.endpoint = Endpoint::kDiscovery;
    return route;
  }
  if (path.front() != '/') return route;
  path.remove_prefix(1);
  if (path.ends_with('/')) path.remove_suffix(1);
  std::vector<std::string> segments;
  for (std::string_view segment : Split(path, '/')) {
    if (segment.empty()) return route;
    segments.push_back(server::UrlDecode(segment, /*plus_as_space=*/false));
  }
  const size_t n = segments.size();
  route.api_root = segments[0];
  if (n == 1) {
    route.endpoint = Endpoint::kApiRoot;
  } else if (segments[1] == "status" && n == 3) {
    route.endpoint = Endpoint::kStatus;
    route.status_id = segments[2];
  } else if (segments[1] == "collections") {
    if (n >= 3) route.collection = segments[2];
    if (n == 2) {
      route.endpoint = Endpoint::kCollections;
    } else if (n == 3) {
      route.endpoint = Endpoint::kCollection;
    } else if (n == 4 && segments[3] == "manifest") {
      route.endpoint = Endpoint::kManifest;
    } else if (n == 4 && segments[3] == "objects") {
      route.endpoint = Endpoint::kObjects;
    } else if (n >= 5 && segments[3] == "objects") {
      route.object_id = segments[4];
      if (n == 5) {
        route.endpoint = Endpoint::kObject;
      } else if (n == 6 && segments[5] == "versions") {
        route.endpoint = Endpoint::kVersions;
      }
    }
  }
  return route;
}

// ---------------------------------------------------------------------------
// Query parameters (TAXII §3.4).

struct Filters {
  std::optional<int64_t> added_after_us;
  std::optional<size_t> limit;
  std::optional<intel::Cursor> next;
  std::vector<std::string> ids;
  std::vector<std::string> types;
  std::vector<std::string> spec_versions;
  bool version_given = false;
  intel::VersionMatch versions = intel::VersionMatch::kLast;
  std::vector<std::string> version_list;  // timestamps as given
  // Mixed keywords and timestamps ("first,last", "first,<ts>"): resolved per object.
  bool mixed = false;
  bool want_first = false;
  bool want_last = false;
  std::vector<int64_t> version_us;  // the timestamps of `version_list`
};

std::expected<std::vector<std::string>, std::string> SplitList(std::string_view name,
                                                               std::string_view value) {
  std::vector<std::string> out;
  for (std::string_view item : Split(value, ',')) {
    if (item.empty()) return std::unexpected(std::string(name) + ": empty value in the list");
    if (item != Trim(item)) {
      return std::unexpected(std::string(name) + ": list values must not contain spaces");
    }
    out.emplace_back(item);
  }
  if (out.empty()) return std::unexpected(std::string(name) + ": empty value");
  return out;
}

bool IsStixType(std::string_view type) {
  if (type.size() < 3 || type.size() > 250) return false;
  for (char c : type) {
    if (!((c >= 'a' && c <= 'z') || IsDigit(c) || c == '-')) return false;
  }
  return true;
}

bool IsSpecVersion(std::string_view v) {
  if (v.empty() || v.size() > 16) return false;
  bool dot = false;
  for (char c : v) {
    if (c == '.') {
      dot = true;
    } else if (!IsDigit(c)) {
      return false;
    }
  }
  return dot && v.front() != '.' && v.back() != '.';
}

std::expected<Filters, std::string> ParseFilters(const Request& request, size_t max_page) {
  Filters filters;
  std::set<std::string, std::less<>> seen;
  for (const auto& [name, value] : request.query) {
    const bool known = name == "added_after" || name == "limit" || name == "next" ||
                       name == "match[id]" || name == "match[type]" ||
                       name == "match[version]" || name == "match[spec_version]";
    if (!known) continue;  // unknown parameters and match fields are ignored (§3.4 MAY)
    if (!seen.insert(name).second) return std::unexpected(name + ": given more than once");
    if (name == "added_after") {
      auto us = ParseTaxiiTimestamp(value);
      if (!us) {
        return std::unexpected("added_after: '" + value +
                               "' is not an RFC 3339 timestamp (2021-06-10T12:00:00.000Z)");
      }
      filters.added_after_us = *us;
    } else if (name == "limit") {
      size_t limit = 0;
      bool ok = !value.empty() && value.size() <= 9;
      for (char c : value) {
        if (!IsDigit(c)) ok = false;
        if (ok) limit = limit * 10 + static_cast<size_t>(c - '0');
      }
      if (!ok || limit == 0) {
        return std::unexpected("limit: '" + value + "' is not a positive integer");
      }
      filters.limit = std::min(limit, max_page);
    } else if (name == "next") {
      auto cursor = intel::Cursor::Decode(value);
      if (!cursor) return std::unexpected("next: not a value this server handed out");
      filters.next = std::move(*cursor);
    } else if (name == "match[id]") {
      auto list = SplitList(name, value);
      if (!list) return std::unexpected(list.error());
      filters.ids = std::move(*list);
    } else if (name == "match[type]") {
      auto list = SplitList(name, value);
      if (!list) return std::unexpected(list.error());
      for (const auto& type : *list) {
        if (!IsStixType(type)) return std::unexpected("match[type]: '" + type + "' is not a STIX type name");
      }
      filters.types = std::move(*list);
    } else if (name == "match[spec_version]") {
      auto list = SplitList(name, value);
      if (!list) return std::unexpected(list.error());
      for (const auto& v : *list) {
        if (!IsSpecVersion(v)) return std::unexpected("match[spec_version]: '" + v + "' is not a version such as 2.1");
      }
      filters.spec_versions = std::move(*list);
    } else if (name == "match[version]") {
      auto list = SplitList(name, value);
      if (!list) return std::unexpected(list.error());
      std::set<std::string> distinct;
      bool all = false;
      for (const auto& v : *list) {
        if (!distinct.insert(v).second) return std::unexpected("match[version]: '" + v + "' repeated");
        if (v == "all") {
          all = true;
        } else if (v == "first") {
          filters.want_first = true;
        } else if (v == "last") {
          filters.want_last = true;
        } else {
          auto us = ParseTaxiiTimestamp(v);
          if (!us || !v.ends_with('Z')) {
            return std::unexpected("match[version]: '" + v +
                                   "' is neither first, last, all nor a STIX timestamp");
          }
          filters.version_list.push_back(v);
          filters.version_us.push_back(*us);
        }
      }
      if (all && list->size() > 1) return std::unexpected("match[version]: 'all' cannot be combined");
      filters.version_given = true;
      const int kinds = (filters.want_first ? 1 : 0) + (filters.want_last ? 1 : 0) +
                        (filters.version_list.empty() ? 0 : 1);
      if (all) {
        filters.versions = intel::VersionMatch::kAll;
      } else if (kinds > 1) {
        filters.mixed = true;
        filters.versions = intel::VersionMatch::kAll;
      } else if (filters.want_first) {
        filters.versions = intel::VersionMatch::kFirst;
      } else if (filters.want_last) {
        filters.versions = intel::VersionMatch::kLast;
      } else {
        filters.versions = intel::VersionMatch::kList;
      }
    }
  }
  return filters;
}

// ---------------------------------------------------------------------------
// The service.

bool AccessListMatches(const std::vector<std::string>& list, const auth::Principal& principal) {
  for (const auto& entry : list) {
    if (entry == "*" || entry == principal.org_id) return true;
    if (entry.starts_with("type:") &&
        std::string_view(entry).substr(5) == auth::OrgTypeName(principal.org_type)) {
      return true;
    }
  }
  return false;
}

struct CollectionRights {
  bool can_read = false;
  bool can_write = false;
};

CollectionRights RightsOf(const intel::Collection& collection, const auth::Principal& principal) {
  return {.can_read = principal.Can(auth::Permission::kRead) &&
                      AccessListMatches(collection.access.readers, principal),
          .can_write = principal.Can(auth::Permission::kWrite) &&
                       AccessListMatches(collection.access.writers, principal)};
}

void AppendCollection(std::string& out, const intel::Collection& c, CollectionRights rights) {
  out += "{\"id\":";
  AppendJsonString(out, c.id);
  out += ",\"title\":";
  AppendJsonString(out, c.title.empty() ? c.id : c.title);
  if (!c.description.empty()) {
    out += ",\"description\":";
    AppendJsonString(out, c.description);
  }
  if (!c.alias.empty()) {
    out += ",\"alias\":";
    AppendJsonString(out, c.alias);
  }
  out += rights.can_read ? ",\"can_read\":true" : ",\"can_read\":false";
  out += rights.can_write ? ",\"can_write\":true" : ",\"can_write\":false";
  if (!c.media_types.empty()) {
    out += ',';
    AppendStringList(out, "media_types", c.media_types);
  }
  out += '}';
}

void AppendStatus(std::string& out, const intel::StatusRecord& status) {
  auto details = [&out](std::string_view key, const std::vector<intel::AddOutcome>& list) {
    if (list.empty()) return;
    out += ",\"";
    out += key;
    out += "\":[";
    for (size_t i = 0; i < list.size(); ++i) {
      if (i > 0) out += ',';
      out += "{\"id\":";
      AppendJsonString(out, list[i].id);
      out += ",\"version\":";
      AppendJsonString(out, list[i].version);
      if (!list[i].message.empty()) {
        out += ",\"message\":";
        AppendJsonString(out, list[i].message);
      }
      out += '}';
    }
    out += ']';
  };
  out += "{\"id\":";
  AppendJsonString(out, status.id);
  out += ",\"status\":";
  AppendJsonString(out, status.status);
  if (!status.request_timestamp.empty()) {
    out += ",\"request_timestamp\":";
    AppendJsonString(out, status.request_timestamp);
  }
  out += ",\"total_count\":" + std::to_string(status.total_count);
  out += ",\"success_count\":" + std::to_string(status.success_count);
  details("successes", status.successes);
  out += ",\"failure_count\":" + std::to_string(status.failure_count);
  details("failures", status.failures);
  out += ",\"pending_count\":" + std::to_string(status.pending_count);
  out += '}';
}

class TaxiiService {
 public:
  explicit TaxiiService(HubContext& context) : context_(context) {}

  Response Handle(const Request& request) {
    const Route route = ParseRoute(request.path);
    if (request.method == "HEAD") {
      // HEAD is GET; the server sends its headers (and Content-Length) only.
      Request get = request;
      get.method = "GET";
      Response response = Dispatch(get, route);
      CountRequest("head", response.status);
      return response;
    }
    Response response = Dispatch(request, route);
    CountRequest(EndpointName(route.endpoint, request.method), response.status);
    return response;
  }

 private:
  Response Dispatch(const Request& request, const Route& route) {
    auto principal = AuthenticateRequest(context_, request);
    if (!principal) {
      Response response = TaxiiError(401, "Authentication required",
                                     "Send a Bearer token, or HTTP Basic with a password or token.");
      for (auto& header : principal.error().headers) {
        if (IEquals(header.first, "WWW-Authenticate")) response.headers.push_back(header);
      }
      return response;
    }
    if (route.endpoint == Endpoint::kUnknown) return TaxiiError(404, "Not found");
    // Methods each endpoint takes.
    const std::string_view method = request.method;
    std::string_view allow = "GET";
    if (route.endpoint == Endpoint::kObjects) allow = "GET, POST";
    if (route.endpoint == Endpoint::kObject) allow = "GET, DELETE";
    if (allow.find(method) == std::string_view::npos || method.empty()) {
      Response response = TaxiiError(405, "Method not allowed",
                                     std::string(method) + " is not supported on this endpoint");
      response.headers.emplace_back("Allow", std::string(allow));
      return response;
    }
    const bool stix_ok = route.endpoint == Endpoint::kObjects ||
                         route.endpoint == Endpoint::kObject ||
                         route.endpoint == Endpoint::kManifest;
    if (!AcceptAllowed(request.Header("Accept"), stix_ok)) {
      return TaxiiError(406, "Not acceptable",
                        "This server answers with application/taxii+json;version=2.1");
    }
    if (route.endpoint == Endpoint::kDiscovery) return Discovery();
    if (route.api_root != context_.api_root) return TaxiiError(404, "Not found", "unknown API root");
    switch (route.endpoint) {
      case Endpoint::kApiRoot: return ApiRoot();
      case Endpoint::kStatus: return Status(*principal, route.status_id);
      case Endpoint::kCollections: return Collections(*principal);
      default: break;
    }
    // Collection endpoints.
    auto found = context_.stix->GetCollection(route.collection);
    if (!found) return Internal(found.error());
    const CollectionRights rights = *found ? RightsOf(**found, *principal) : CollectionRights{};
    if (!*found || (!rights.can_read && !rights.can_write)) {
      // Unknown and invisible collections look the same (no existence leak).
      return TaxiiError(404, "Not found", "unknown collection");
    }
    const intel::Collection& collection = **found;
    if (route.endpoint == Endpoint::kCollection) {
      std::string body;
      AppendCollection(body, collection, rights);
      return TaxiiResponse(200, std::move(body));
    }
    if (route.endpoint == Endpoint::kObjects && method == "POST") {
      return AddObjects(request, *principal, collection, rights);
    }
    if (route.endpoint == Endpoint::kObject && method == "DELETE") {
      return DeleteObject(request, *principal, collection, rights, route.object_id);
    }
    if (!rights.can_read) return TaxiiError(403, "Forbidden", "no read access to this collection");
    auto filters = ParseFilters(request, context_.max_page);
    if (!filters) return TaxiiError(400, "Bad request", filters.error());
    switch (route.endpoint) {
      case Endpoint::kManifest:
        return GetObjects(*principal, collection, *filters, /*manifest=*/true, {});
      case Endpoint::kObjects:
        return GetObjects(*principal, collection, *filters, /*manifest=*/false, {});
      case Endpoint::kObject:
        return GetObjects(*principal, collection, *filters, /*manifest=*/false, route.object_id);
      case Endpoint::kVersions:
        return Versions(*principal, collection, *filters, route.object_id);
      default:
        return TaxiiError(404, "Not found");
    }
  }

  Response Internal(const Error& error) {
    (void)error;
    return TaxiiError(500, "Internal error", "the request could not be completed");
  }

  Response Discovery() {
    const std::string root = "/taxii2/" + context_.api_root + "/";
    std::string body = "{\"title\":";
    AppendJsonString(body, context_.title);
    body += ",\"description\":\"TAXII 2.1 server of the Aegis threat-intelligence hub\"";
    if (!context_.contact.empty()) {
      body += ",\"contact\":";
      AppendJsonString(body, context_.contact);
    }
    body += ",\"default\":";
    AppendJsonString(body, root);
    body += ",";
    AppendStringList(body, "api_roots", {root});
    body += '}';
    return TaxiiResponse(200, std::move(body));
  }

  Response ApiRoot() {
    std::string body = "{\"title\":";
    AppendJsonString(body, context_.title);
    body += ",\"description\":\"Collections of STIX 2.1 objects shared by member organisations\"";
    body += ",\"versions\":[\"application/taxii+json;version=2.1\"]";
    body += ",\"max_content_length\":" + std::to_string(context_.max_content_length) + "}";
    return TaxiiResponse(200, std::move(body));
  }

  Response Status(const auth::Principal& principal, const std::string& id) {
    auto status = context_.stix->GetStatus(id);
    if (!status) return Internal(status.error());
    if (!*status || (*status)->owner_org != principal.org_id) {
      return TaxiiError(404, "Not found", "unknown status id");
    }
    std::string body;
    AppendStatus(body, **status);
    return TaxiiResponse(200, std::move(body));
  }

  Response Collections(const auth::Principal& principal) {
    auto collections = context_.stix->ListCollections();
    if (!collections) return Internal(collections.error());
    std::string items;
    for (const auto& collection : *collections) {
      const CollectionRights rights = RightsOf(collection, principal);
      if (!rights.can_read && !rights.can_write) continue;
      if (!items.empty()) items += ',';
      AppendCollection(items, collection, rights);
    }
    if (items.empty()) return TaxiiResponse(200, "{}");
    return TaxiiResponse(200, "{\"collections\":[" + items + "]}");
  }

  // The first and last visible versions of one object, for mixed match[version].
  struct Extremes {
    std::string first, last;
  };

  // objects, manifest, and one object (object_id non-empty).
  Response GetObjects(const auth::Principal& principal, const intel::Collection& collection,
                      const Filters& filters, bool manifest, const std::string& object_id) {
    VisibilityCheck check(context_, principal.AsReader(), auth::ReadPath::kTaxii);
    intel::ObjectQuery query;
    query.collection_id = collection.id;
    query.added_after_us = filters.added_after_us;
    if (object_id.empty()) {
      query.ids = filters.ids;
      query.types = filters.types;
    } else {
      query.ids = {object_id};
    }
    query.spec_versions = filters.spec_versions;
    query.versions = filters.versions;
    if (query.versions == intel::VersionMatch::kList) query.version_list = filters.version_list;
    query.limit = filters.limit.value_or(context_.max_page);
    query.after = filters.next;
    query.visible = check.AsPredicate();
    query.with_json = !manifest;
    auto page = context_.stix->Query(query);
    if (!page) return Internal(page.error());

    std::vector<const intel::StoredObject*> rows;
    rows.reserve(page->objects.size());
    if (filters.mixed) {
      std::unordered_map<std::string, Extremes> extremes;
      for (const auto& row : page->objects) {
        const auto& meta = row.meta;
        bool keep = std::find(filters.version_us.begin(), filters.version_us.end(),
                              meta.version_us) != filters.version_us.end();
        if (!keep && (filters.want_first || filters.want_last)) {
          auto it = extremes.find(meta.id);
          if (it == extremes.end()) {
            it = extremes.emplace(meta.id, FindExtremes(collection.id, meta.id, filters, check)).first;
          }
          keep = (filters.want_first && meta.version == it->second.first) ||
                 (filters.want_last && meta.version == it->second.last);
        }
        if (keep) rows.push_back(&row);
      }
    } else {
      for (const auto& row : page->objects) rows.push_back(&row);
    }

    if (!object_id.empty() && rows.empty() && !filters.next && !page->more) {
      // An unknown (or invisible) object is 404; a known one filtered away is {}.
      intel::ObjectQuery exists;
      exists.collection_id = collection.id;
      exists.ids = {object_id};
      exists.versions = intel::VersionMatch::kAll;
      exists.limit = 1;
      exists.visible = check.AsPredicate();
      exists.with_json = false;
      auto any = context_.stix->Query(exists);
      if (!any) return Internal(any.error());
      if (any->objects.empty()) return TaxiiError(404, "Not found", "unknown object");
    }

    std::string body;
    size_t estimate = 64;
    for (const auto* row : rows) estimate += (manifest ? 160 : row->json.size() + 1);
    body.reserve(estimate);
    body += page->more ? "{\"more\":true" : "{\"more\":false";
    if (page->more && page->next) {
      body += ",\"next\":";
      AppendJsonString(body, page->next->Encode());
    }
    if (!rows.empty()) {
      body += ",\"objects\":[";
      bool first = true;
      for (const auto* row : rows) {
        if (!first) body += ',';
        first = false;
        if (manifest) {
          body += "{\"id\":";
          AppendJsonString(body, row->meta.id);
          body += ",\"date_added\":\"";
          body += FormatTaxiiTimestamp(row->meta.date_added_us);
          body += "\",\"version\":";
          AppendJsonString(body, row->meta.version);
          body += ",\"media_type\":";
          AppendJsonString(body, row->meta.media_type.empty() ? std::string(kStixMediaType)
                                                              : row->meta.media_type);
          body += '}';
        } else {
          body += row->json;
        }
      }
      body += ']';
    }
    body += '}';
    Response response = TaxiiResponse(200, std::move(body));
    AddDateHeaders(response, rows, filters);
    CountObjects(manifest ? "manifest" : "objects", rows.size());
    return response;
  }

  Extremes FindExtremes(const std::string& collection_id, const std::string& id,
                        const Filters& filters, VisibilityCheck& check) {
    Extremes out;
    for (intel::VersionMatch which : {intel::VersionMatch::kFirst, intel::VersionMatch::kLast}) {
      if (which == intel::VersionMatch::kFirst && !filters.want_first) continue;
      if (which == intel::VersionMatch::kLast && !filters.want_last) continue;
      intel::ObjectQuery q;
      q.collection_id = collection_id;
      q.ids = {id};
      q.spec_versions = filters.spec_versions;
      q.versions = which;
      q.limit = 1;
      q.visible = check.AsPredicate();
      q.with_json = false;
      auto page = context_.stix->Query(q);
      if (page && !page->objects.empty()) {
        (which == intel::VersionMatch::kFirst ? out.first : out.last) = page->objects[0].meta.version;
      }
    }
    return out;
  }

  // X-TAXII-Date-Added-First/Last: of the first and last item returned; on an empty
  // page both carry the position the client asked from (added_after, the cursor) or
  // the epoch, so a client paging by added_after stays where it is.
  void AddDateHeaders(Response& response, const std::vector<const intel::StoredObject*>& rows,
                      const Filters& filters) {
    int64_t first = 0, last = 0;
    if (!rows.empty()) {
      first = rows.front()->meta.date_added_us;
      last = rows.back()->meta.date_added_us;
    } else {
      int64_t position = 0;
      if (filters.added_after_us) position = *filters.added_after_us;
      if (filters.next) position = std::max(position, filters.next->date_added_us);
      first = last = position;
    }
    response.headers.emplace_back("X-TAXII-Date-Added-First", FormatTaxiiTimestamp(first));
    response.headers.emplace_back("X-TAXII-Date-Added-Last", FormatTaxiiTimestamp(last));
  }

  Response Versions(const auth::Principal& principal, const intel::Collection& collection,
                    const Filters& filters, const std::string& object_id) {
    VisibilityCheck check(context_, principal.AsReader(), auth::ReadPath::kTaxii);
    intel::ObjectQuery query;
    query.collection_id = collection.id;
    query.ids = {object_id};
    query.added_after_us = filters.added_after_us;
    query.spec_versions = filters.spec_versions;
    query.versions = intel::VersionMatch::kAll;
    query.limit = filters.limit.value_or(context_.max_page);
    query.after = filters.next;
    query.visible = check.AsPredicate();
    query.with_json = false;
    auto page = context_.stix->Versions(query);
    if (!page) return Internal(page.error());
    if (page->objects.empty() && !filters.next) {
      intel::ObjectQuery exists;
      exists.collection_id = collection.id;
      exists.ids = {object_id};
      exists.versions = intel::VersionMatch::kAll;
      exists.limit = 1;
      exists.visible = check.AsPredicate();
      exists.with_json = false;
      auto any = context_.stix->Query(exists);
      if (!any) return Internal(any.error());
      if (any->objects.empty()) return TaxiiError(404, "Not found", "unknown object");
    }
    std::vector<const intel::StoredObject*> rows;
    for (const auto& row : page->objects) rows.push_back(&row);
    std::string body = page->more ? "{\"more\":true" : "{\"more\":false";
    if (page->more && page->next) {
      body += ",\"next\":";
      AppendJsonString(body, page->next->Encode());
    }
    if (!rows.empty()) {
      body += ",\"versions\":[";
      for (size_t i = 0; i < rows.size(); ++i) {
        if (i > 0) body += ',';
        AppendJsonString(body, rows[i]->meta.version);
      }
      body += ']';
    }
    body += '}';
    Response response = TaxiiResponse(200, std::move(body));
    AddDateHeaders(response, rows, filters);
    return response;
  }

  void Audit(const auth::Principal& principal, const Request& request, std::string action,
             std::string target, std::string outcome, std::string detail) {
    auth::AuditEntry entry;
    entry.actor_user = principal.user_id;
    entry.actor_org = principal.org_id;
    entry.remote = std::string(request.remote);
    entry.action = std::move(action);
    entry.target = std::move(target);
    entry.outcome = std::move(outcome);
    entry.detail = std::move(detail);
    (void)context_.accounts->Audit(std::move(entry));
  }

  Response AddObjects(const Request& request, const auth::Principal& principal,
                      const intel::Collection& collection, CollectionRights rights) {
    if (!ContentTypeAllowed(request.Header("Content-Type"))) {
      return TaxiiError(415, "Unsupported media type",
                        "POST bodies must be application/taxii+json;version=2.1 envelopes");
    }
    if (request.body.size() > context_.max_content_length) {
      return TaxiiError(413, "Payload too large",
                        "the envelope is larger than max_content_length (" +
                            std::to_string(context_.max_content_length) + " bytes)");
    }
    if (!rights.can_write) {
      Audit(principal, request, "taxii.objects.add", collection.id, "denied",
            "no write access to the collection");
      return TaxiiError(403, "Forbidden", "no write access to this collection");
    }
    const int64_t request_us = NowNs() / 1000;
    // Whole-body validation first (DOM), then an On-Demand walk that keeps each
    // object's bytes as received.
    simdjson::padded_string padded(request.body);
    {
      simdjson::dom::parser dom;
      simdjson::dom::element root;
      if (auto error = dom.parse(padded).get(root)) {
        return TaxiiError(400, "Bad request",
                          std::string("the body is not valid JSON: ") + simdjson::error_message(error));
      }
      simdjson::dom::object envelope;
      if (root.get_object().get(envelope)) {
        return TaxiiError(422, "Unprocessable entity", "the body must be an envelope (a JSON object)");
      }
      simdjson::dom::element objects;
      if (envelope["objects"].get(objects)) {
        return TaxiiError(422, "Unprocessable entity", "objects: missing");
      }
      simdjson::dom::array list;
      if (objects.get_array().get(list)) {
        return TaxiiError(422, "Unprocessable entity", "objects: must be a list of STIX objects");
      }
      if (list.size() == 0) {
        return TaxiiError(422, "Unprocessable entity", "objects: must not be empty");
      }
      size_t index = 0;
      for (auto item : list) {
        if (!item.is_object()) {
          return TaxiiError(422, "Unprocessable entity",
                            "objects[" + std::to_string(index) + "]: must be a JSON object");
        }
        ++index;
      }
      for (auto field : envelope) {
        if ((field.key == "more" && !field.value.is_bool()) ||
            (field.key == "next" && !field.value.is_string())) {
          return TaxiiError(422, "Unprocessable entity",
                            std::string(field.key) + ": has the wrong type");
        }
      }
    }
    std::vector<std::string_view> texts;
    {
      simdjson::ondemand::parser parser;
      simdjson::ondemand::document doc;
      simdjson::ondemand::object envelope;
      if (parser.iterate(padded).get(doc) || doc.get_object().get(envelope)) {
        return TaxiiError(400, "Bad request", "the body is not valid JSON");
      }
      for (auto field : envelope) {
        std::string_view key;
        if (field.unescaped_key().get(key)) return TaxiiError(400, "Bad request", "bad JSON key");
        if (key != "objects") continue;
        simdjson::ondemand::array items;
        if (field.value().get_array().get(items)) {
          return TaxiiError(422, "Unprocessable entity", "objects: must be a list");
        }
        texts.clear();  // a repeated "objects" key: the last one wins, as in the DOM
        for (auto item : items) {
          simdjson::ondemand::object object;
          std::string_view text;
          if (item.get_object().get(object) || object.raw_json().get(text)) {
            return TaxiiError(422, "Unprocessable entity", "objects: every element must be an object");
          }
          texts.push_back(text);
        }
      }
    }

    intel::StatusRecord status;
    status.id = NewUuidV4();
    status.status = "complete";
    status.request_timestamp = FormatTaxiiTimestamp(request_us);
    status.owner_org = principal.org_id;
    status.total_count = texts.size();
    std::vector<intel::stix::StixObject> valid;
    valid.reserve(texts.size());
    for (std::string_view text : texts) {
      auto object = intel::stix::ValidateObject(text);
      if (object) {
        valid.push_back(std::move(*object));
        continue;
      }
      intel::AddOutcome failure;
      failure.kind = intel::AddOutcome::Kind::kFailed;
      ExtractIdAndVersion(text, failure.id, failure.version);
      failure.message = object.error().ToString();
      status.failures.push_back(std::move(failure));
    }
    uint64_t added = 0;
    uint64_t duplicates = 0;
    if (!valid.empty()) {
      auto result = context_.stix->AddObjects(
          {.collection_id = collection.id, .producer_org = principal.org_id}, valid);
      if (!result) {
        Audit(principal, request, "taxii.objects.add", collection.id, "failed",
              result.error().ToString());
        return Internal(result.error());
      }
      added = result->added;
      duplicates = result->duplicates;
      for (auto& outcome : result->outcomes) {
        if (outcome.kind == intel::AddOutcome::Kind::kFailed) {
          status.failures.push_back(std::move(outcome));
        } else {
          status.successes.push_back(std::move(outcome));
        }
      }
    }
    status.success_count = status.successes.size();
    status.failure_count = status.failures.size();
    status.pending_count = 0;
    if (auto stored = context_.stix->PutStatus(status); !stored) return Internal(stored.error());
    Audit(principal, request, "taxii.objects.add", collection.id, "ok",
          "{\"status\":\"" + status.id + "\",\"total\":" + std::to_string(status.total_count) +
              ",\"added\":" + std::to_string(added) + ",\"duplicates\":" +
              std::to_string(duplicates) + ",\"failed\":" + std::to_string(status.failure_count) +
              "}");
    CountObjectsAdded(added);
    std::string body;
    AppendStatus(body, status);
    return TaxiiResponse(202, std::move(body));
  }

  // Best effort id and version of an object that failed validation (status details).
  static void ExtractIdAndVersion(std::string_view text, std::string& id, std::string& version) {
    simdjson::dom::parser parser;
    simdjson::dom::object object;
    if (parser.parse(text.data(), text.size()).get(object)) return;
    std::string_view value;
    if (!object["id"].get_string().get(value)) id = value;
    if (!object["modified"].get_string().get(value) || !object["created"].get_string().get(value)) {
      version = value;
    }
  }

  Response DeleteObject(const Request& request, const auth::Principal& principal,
                        const intel::Collection& collection, CollectionRights rights,
                        const std::string& object_id) {
    if (!rights.can_read || !rights.can_write) {
      Audit(principal, request, "taxii.objects.delete", collection.id + "/" + object_id, "denied",
            "needs read and write access to the collection");
      return TaxiiError(403, "Forbidden", "deleting needs read and write access to the collection");
    }
    auto filters = ParseFilters(request, context_.max_page);
    if (!filters) return TaxiiError(400, "Bad request", filters.error());
    if (!filters->version_given) filters->versions = intel::VersionMatch::kAll;
    VisibilityCheck check(context_, principal.AsReader(), auth::ReadPath::kTaxii);
    // The exact versions the filter selects (all producers), paged through.
    intel::ObjectQuery query;
    query.collection_id = collection.id;
    query.ids = {object_id};
    query.spec_versions = filters->spec_versions;
    query.versions = filters->versions;
    if (query.versions == intel::VersionMatch::kList) query.version_list = filters->version_list;
    query.limit = 1000;
    query.with_json = false;
    std::vector<intel::ObjectMeta> selected;
    std::unordered_map<std::string, Extremes> extremes;
    for (int pages = 0; pages < 10000; ++pages) {
      auto page = context_.stix->Query(query);
      if (!page) return Internal(page.error());
      for (auto& row : page->objects) {
        if (filters->mixed) {
          bool keep = std::find(filters->version_us.begin(), filters->version_us.end(),
                                row.meta.version_us) != filters->version_us.end();
          if (!keep) {
            auto it = extremes.find(row.meta.id);
            if (it == extremes.end()) {
              it = extremes.emplace(row.meta.id,
                                    FindExtremes(collection.id, row.meta.id, *filters, check))
                       .first;
            }
            keep = (filters->want_first && row.meta.version == it->second.first) ||
                   (filters->want_last && row.meta.version == it->second.last);
          }
          if (!keep) continue;
        }
        selected.push_back(std::move(row.meta));
      }
      if (!page->more || !page->next) break;
      query.after = page->next;
    }
    bool any_visible = false;
    bool foreign = false;
    for (const auto& meta : selected) {
      if (check(meta)) any_visible = true;
      if (meta.producer_org != principal.org_id) foreign = true;
    }
    if (!any_visible) return TaxiiError(404, "Not found", "unknown object");
    if (foreign) {
      Audit(principal, request, "taxii.objects.delete", collection.id + "/" + object_id, "denied",
            "versions produced by another organisation");
      return TaxiiError(403, "Forbidden",
                        "only the organisation that produced an object may delete it");
    }
    intel::DeleteQuery del;
    del.collection_id = collection.id;
    del.id = object_id;
    del.versions = intel::VersionMatch::kList;
    for (const auto& meta : selected) del.version_list.push_back(meta.version);
    del.spec_versions = filters->spec_versions;
    auto deleted = context_.stix->Delete(del);
    if (!deleted) {
      Audit(principal, request, "taxii.objects.delete", collection.id + "/" + object_id, "failed",
            deleted.error().ToString());
      return Internal(deleted.error());
    }
    Audit(principal, request, "taxii.objects.delete", collection.id + "/" + object_id, "ok",
          "{\"versions_deleted\":" + std::to_string(*deleted) + "}");
    if (context_.metrics) {
      if (auto c = context_.metrics->GetCounter("aegis_taxii_objects_deleted_total",
                                                "STIX object versions deleted over TAXII.")) {
        (*c)->Inc(static_cast<double>(*deleted));
      }
    }
    return TaxiiResponse(200, "{}");
  }

  void CountRequest(std::string_view endpoint, int status) {
    if (!context_.metrics) return;
    auto counter = context_.metrics->GetCounter(
        "aegis_taxii_requests_total", "TAXII requests by endpoint and status code.",
        {{"endpoint", std::string(endpoint)}, {"code", std::to_string(status)}});
    if (counter) (*counter)->Inc();
  }
  void CountObjects(std::string_view endpoint, size_t n) {
    if (!context_.metrics || n == 0) return;
    auto counter = context_.metrics->GetCounter("aegis_taxii_objects_returned_total",
                                                "STIX objects or manifest records returned.",
                                                {{"endpoint", std::string(endpoint)}});
    if (counter) (*counter)->Inc(static_cast<double>(n));
  }
  void CountObjectsAdded(uint64_t n) {
    if (!context_.metrics) return;
    auto counter = context_.metrics->GetCounter("aegis_taxii_objects_added_total",
                                                "STIX object versions added over TAXII.");
    if (counter) (*counter)->Inc(static_cast<double>(n));
  }

  HubContext& context_;
};

}  // namespace

std::string FormatTaxiiTimestamp(int64_t unix_us) {
  int64_t days = unix_us >= 0 ? unix_us / 86'400'000'000LL : -((-unix_us + 86'399'999'999LL) / 86'400'000'000LL);
  int64_t rest = unix_us - days * 86'400'000'000LL;
  // civil_from_days
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  const int64_t seconds = rest / 1'000'000;
  const int64_t micros = rest % 1'000'000;
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ",
                static_cast<long long>(y), m, d, static_cast<long long>(seconds / 3600),
                static_cast<long long>(seconds / 60 % 60), static_cast<long long>(seconds % 60),
                static_cast<long long>(micros));
  return buffer;
}

std::optional<int64_t> ParseTaxiiTimestamp(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.f+](Z|±hh:mm)
  if (text.size() < 20) return std::nullopt;
  auto year = Digits(text, 0, 4), month = Digits(text, 5, 2), day = Digits(text, 8, 2);
  auto hour = Digits(text, 11, 2), minute = Digits(text, 14, 2), second = Digits(text, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  if (text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't') ||
      text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  static constexpr std::array<int, 12> kDays = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (*month < 1 || *month > 12 || *day < 1 || *day > kDays[*month - 1]) return std::nullopt;
  const bool leap = (*year % 4 == 0 && *year % 100 != 0) || *year % 400 == 0;
  if (*month == 2 && *day == 29 && !leap) return std::nullopt;
  if (*hour > 23 || *minute > 59 || *second > 59) return std::nullopt;
  size_t at = 19;
  int64_t micros = 0;
  if (at < text.size() && text[at] == '.') {
    ++at;
    const size_t start = at;
    int64_t scale = 100'000;
    while (at < text.size() && IsDigit(text[at])) {
      micros += (text[at] - '0') * scale;
      scale /= 10;
      ++at;
    }
    if (at == start) return std::nullopt;
  }
  int64_t offset_seconds = 0;
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    ++at;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    const int sign = text[at] == '+' ? 1 : -1;
    auto oh = Digits(text, at + 1, 2), om = Digits(text, at + 4, 2);
    if (!oh || !om || at + 3 >= text.size() || text[at + 3] != ':' || *oh > 23 || *om > 59) {
      return std::nullopt;
    }
    offset_seconds = sign * (*oh * 3600 + *om * 60);
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != text.size()) return std::nullopt;
  const int64_t days = DaysFromCivil(*year, static_cast<unsigned>(*month), static_cast<unsigned>(*day));
  const int64_t seconds = days * 86400 + *hour * 3600 + *minute * 60 + *second - offset_seconds;
  return seconds * 1'000'000 + micros;
}

Result<void> RegisterTaxiiRoutes(server::Router& router, HubContext& context) {
  if (context.accounts == nullptr || context.stix == nullptr) {
    return Fail("TAXII routes need the accounts and the STIX store");
  }
  auto service = std::make_shared<TaxiiService>(context);
  server::Handler handler = [service](const Request& request) -> Result<Response> {
    return service->Handle(request);
  };
  for (const char* method : {"GET", "HEAD", "POST", "DELETE", "PUT", "PATCH"}) {
    if (auto added = router.AddPrefix(method, "/taxii2/", handler); !added) return added;
  }
  return {};
}

}  // namespace aegis::hub
