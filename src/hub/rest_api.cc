// The REST API under /api/v1: routing, authentication and authorisation, and the
// handlers. See hub/rest_api.h and docs/API.md.
#include "hub/rest_api.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <ctime>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include "core/strings.h"
#include "hub/rest_json.h"
#include "share/early_warning.h"

namespace aegis::hub {

namespace {

using auth::Permission;
using auth::Principal;
using server::Request;
using server::Response;
using rest::BodyReader;
using rest::JsonArray;
using rest::JsonObject;

constexpr std::string_view kSessionCookie = "aegis_session";
constexpr size_t kMaxOffset = 100'000;  // offset cursors (small in-memory lists, alerts)

// ---------------------------------------------------------------------------------------
// Helpers

Response NotFound(std::string_view what) { return Response::Error(404, fmt::format("{} not found", what)); }

Response NoContent() {
  Response r;
  r.status = 204;
  return r;
}

std::string Rfc3339FromMicros(int64_t us) {
  if (us <= 0) return "";
  const std::time_t seconds = static_cast<std::time_t>(us / 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, us % 1'000'000);
}

std::vector<std::string> ScopeNames(auth::Scopes scopes) {
  std::vector<std::string> out;
  if (scopes & auth::kScopeRead) out.emplace_back("read");
  if (scopes & auth::kScopeWrite) out.emplace_back("write");
  if (scopes & auth::kScopeAdmin) out.emplace_back("admin");
  return out;
}

bool IsNational(const Principal& p) { return p.org_type == auth::OrgType::kNationalCentre; }

// Whether `p` administers organisation `org_id`: admin permission, and the national
// centre or the organisation itself.
bool AdministersOrg(const Principal& p, std::string_view org_id) {
  return p.Can(Permission::kAdmin) && (IsNational(p) || p.org_id == org_id);
}

// Collection access lists: "*", an organisation id, or "type:<org type>".
bool ListAdmits(const std::vector<std::string>& list, const Principal& p) {
  const std::string type_entry = fmt::format("type:{}", auth::OrgTypeName(p.org_type));
  return std::any_of(list.begin(), list.end(), [&](const std::string& entry) {
    return entry == "*" || entry == p.org_id || entry == type_entry;
  });
}
bool CanReadCollection(const intel::Collection& c, const Principal& p) {
  return ListAdmits(c.access.readers, p) || ListAdmits(c.access.writers, p);
}
bool CanWriteCollection(const intel::Collection& c, const Principal& p) {
  return ListAdmits(c.access.writers, p);
}

// Maps an error of the accounts or STIX store to an answer. Their errors carry no code:
// a conflict says "already ..." or "still has ...", a lookup miss "no ..."; anything else
// the caller sent that the store refused is 422 with the store's words (field and why).
Response StoreError(const Error& error) {
  // Field and reason only: `where` may be a server-side path (the database file).
  const std::string text =
      error.field.empty() ? error.reason : fmt::format("field '{}': {}", error.field, error.reason);
  const std::string reason = AsciiLower(error.reason);
  if (reason.find("already") != std::string::npos || reason.find("still has") != std::string::npos ||
      reason.find("in use") != std::string::npos || reason.find("unique") != std::string::npos) {
    return Response::Error(409, text);
  }
  if (reason.starts_with("no ") || reason.find("not found") != std::string::npos ||
      reason.find("unknown") != std::string::npos) {
    return Response::Error(404, text);
  }
  return Response::Error(422, text);
}

// Offset cursors for lists held in memory ("o<offset>"), opaque to clients.
std::string EncodeOffset(size_t offset) { return fmt::format("o{}", offset); }
std::optional<size_t> DecodeOffset(std::string_view next) {
  if (next.size() < 2 || next[0] != 'o') return std::nullopt;
  size_t value = 0;
  auto [ptr, ec] = std::from_chars(next.data() + 1, next.data() + next.size(), value);
  if (ec != std::errc() || ptr != next.data() + next.size() || value > kMaxOffset) {
    return std::nullopt;
  }
  return value;
}

struct PageParams {
  size_t limit = 100;
  std::optional<std::string> next;
};

std::optional<int64_t> ParseInt(std::string_view text) {
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

// A list answer: {"items": [...], "more": bool, "next": "..."}.
Response ListResponse(std::string_view key, const std::vector<std::string>& items, bool more,
                      const std::optional<std::string>& next) {
  JsonObject o;
  o.Raw(key, JsonArray(items)).Bool("more", more);
  if (more && next) o.Str("next", *next);
  return Response::Json(200, o.Done());
}

// Pages a list held in memory with an offset cursor.
template <typename T, typename ToJson>
Response PageInMemory(const std::vector<T>& all, const PageParams& page, ToJson&& to_json) {
  size_t offset = 0;
  if (page.next) {
    auto decoded = DecodeOffset(*page.next);
    if (!decoded) return Response::Error(400, "query parameter 'next': not a cursor of this list");
    offset = *decoded;
  }
  std::vector<std::string> items;
  for (size_t i = offset; i < all.size() && items.size() < page.limit; ++i) {
    items.push_back(to_json(all[i]));
  }
  const size_t end = offset + items.size();
  const bool more = end < all.size();
  return ListResponse("items", items, more, more ? std::optional(EncodeOffset(end)) : std::nullopt);
}

std::string OrgJson(const auth::Organisation& org) {
  return JsonObject()
      .Str("id", org.id)
      .Str("name", org.name)
      .Str("type", auth::OrgTypeName(org.type))
      .Str("stix_identity", org.stix_identity)
      .StrArray("amber_share_with", org.amber_share_with)
      .OptStr("default_tlp", org.default_tlp ? std::optional<std::string>(std::string(TlpName(*org.default_tlp)))
                                             : std::nullopt)
      .Bool("anonymise_sightings", org.anonymise_sightings)
      .Str("created_at", org.created_at)
      .Done();
}

std::string UserJson(const auth::User& user) {
  return JsonObject()
      .Str("id", user.id)
      .Str("org_id", user.org_id)
      .Str("display_name", user.display_name)
      .Str("role", auth::RoleName(user.role))
      .Bool("disabled", user.disabled)
      .Bool("has_password", user.has_password)
      .Str("created_at", user.created_at)
      .Done();
}

std::string TokenJson(const auth::TokenInfo& token) {
  return JsonObject()
      .Str("id", token.id)
      .Str("user_id", token.user_id)
      .Str("org_id", token.org_id)
      .Str("name", token.name)
      .StrArray("scopes", ScopeNames(token.scopes))
      .Str("created_at", token.created_at)
      .OptStr("expires_at", token.expires_at)
      .OptStr("revoked_at", token.revoked_at)
      .OptStr("last_used_at", token.last_used_at)
      .Done();
}

std::string AuditJson(const auth::AuditEntry& e) {
  return JsonObject()
      .Int("seq", e.seq)
      .Str("at", e.at)
      .Str("actor_user", e.actor_user)
      .Str("actor_org", e.actor_org)
      .Str("remote", e.remote)
      .Str("action", e.action)
      .Str("target", e.target)
      .Str("outcome", e.outcome)
      .Str("detail", e.detail)
      .Done();
}

std::string CollectionJson(const intel::Collection& c, const Principal& p) {
  JsonObject o;
  o.Str("id", c.id)
      .Str("alias", c.alias)
      .Str("title", c.title)
      .Str("description", c.description)
      .Bool("can_read", CanReadCollection(c, p))
      .Bool("can_write", CanWriteCollection(c, p))
      .StrArray("media_types", c.media_types)
      .Str("created_at", c.created_at);
  // Who else may read or write is the business of the national centre and the writers.
  if (IsNational(p) || CanWriteCollection(c, p)) {
    o.StrArray("readers", c.access.readers).StrArray("writers", c.access.writers);
  }
  return o.Done();
}

std::string OutcomeJson(std::string_view outcome, std::string_view id, std::string_view version,
                        std::string_view message) {
  JsonObject o;
  o.Str("outcome", outcome).Str("id", id);
  if (!version.empty()) o.Str("version", version);
  if (!message.empty()) o.Str("message", message);
  return o.Done();
}

// "application/json", "application/stix+json;version=2.1", "application/x+json; charset=utf-8"
bool IsJsonMediaType(std::string_view content_type) {
  std::string_view type = Trim(content_type.substr(0, content_type.find(';')));
  const std::string lower = AsciiLower(type);
  return lower == "application/json" || (lower.starts_with("application/") && lower.ends_with("+json"));
}

// ---------------------------------------------------------------------------------------
// One request as the handlers see it.

struct Call {
  Call(const Request& r, std::vector<std::string> p) : request(r), params(std::move(p)) {}

  const Request& request;
  Principal principal;              // unset fields for public routes
  std::vector<std::string> params;  // path parameters, in pattern order
  simdjson::dom::parser parser;
  simdjson::dom::object body;       // when the route has a body

  auth::Actor Actor() const { return auth::Actor::Of(principal, request.remote); }
  PageParams Page(size_t default_limit, size_t max_limit, std::optional<Response>& error) const {
    PageParams page;
    page.limit = std::min(default_limit, max_limit);
    if (auto limit = request.Query("limit")) {
      auto n = ParseInt(*limit);
      if (!n || *n < 1) {
        error = Response::Error(400, "query parameter 'limit': must be a positive integer");
        return page;
      }
      page.limit = std::min<size_t>(static_cast<size_t>(*n), max_limit);
    }
    if (auto next = request.Query("next")) page.next = std::string(*next);
    return page;
  }
};

class Api;
using Method = Response (Api::*)(Call&);

// ---------------------------------------------------------------------------------------
// The handlers

class Api {
 public:
  Api(HubContext& context, RestOptions options) : ctx_(context), opt_(std::move(options)) {
    if (opt_.max_bundle_body == 0) opt_.max_bundle_body = ctx_.max_content_length;
  }

  const RestOptions& options() const { return opt_; }
  size_t MaxPage() const { return std::max<size_t>(1, ctx_.max_page); }

  Response Run(const RestRoute& route, Method method, const Request& request,
               std::vector<std::string> params);

  // Who am I
  Response Me(Call& c);
  // Organisations
  Response ListOrgs(Call& c);
  Response CreateOrg(Call& c);
  Response GetOrg(Call& c);
  Response PatchOrg(Call& c);
  Response DeleteOrg(Call& c);
  // Users
  Response ListUsers(Call& c);
  Response CreateUser(Call& c);
  Response GetUser(Call& c);
  Response PatchUser(Call& c);
  Response SetPassword(Call& c);
  // Tokens
  Response ListTokens(Call& c);
  Response CreateToken(Call& c);
  Response RevokeToken(Call& c);
  // Sessions
  Response SignIn(Call& c);
  Response SignOut(Call& c);
  // Audit
  Response ListAudit(Call& c);
  // Collections, objects, bundles
  Response ListCollections(Call& c);
  Response CreateCollection(Call& c);
  Response ListObjects(Call& c);
  Response GetObject(Call& c);
  Response ImportBundle(Call& c);
  Response ExportBundle(Call& c);
  // Alerts
  Response ListAlerts(Call& c);
  Response GetAlert(Call& c);
  // Early Warning
  Response ListRegistrations(Call& c);
  Response CreateRegistration(Call& c);
  Response DeleteRegistration(Call& c);
  Response ListNotifications(Call& c);
  Response AckNotification(Call& c);
  // The OpenAPI document
  Response OpenApi(Call& c);

 private:
  void Audit(const Call& c, std::string action, std::string target, std::string outcome,
             std::string detail = {}) {
    auth::AuditEntry entry;
    entry.actor_user = c.principal.user_id;
    entry.actor_org = c.principal.org_id;
    entry.remote = std::string(c.request.remote);
    entry.action = std::move(action);
    entry.target = std::move(target);
    entry.outcome = std::move(outcome);
    entry.detail = std::move(detail);
    (void)ctx_.accounts->Audit(std::move(entry));  // best effort: the answer stands
  }
  // The collection named by ?collection= that `c` may read, or the answer to send.
  std::expected<intel::Collection, Response> ReadableCollection(const Call& c,
                                                               std::string_view id_or_alias);
  std::optional<Response> CheckAccessList(const std::vector<std::string>& list, std::string_view field);
  std::optional<Response> AlertAccess(const Call& c);

  HubContext& ctx_;
  RestOptions opt_;
};

Response Api::Run(const RestRoute& route, Method method, const Request& request,
                  std::vector<std::string> params) {
  Call call(request, std::move(params));
  const bool write = route.method != "GET";
  if (route.access != RestAccess::kPublic) {
    auto principal = AuthenticateRequest(ctx_, request);
    if (!principal) return std::move(principal.error());
    call.principal = std::move(*principal);
    std::optional<Permission> needed;
    if (route.access == RestAccess::kRead) needed = Permission::kRead;
    if (route.access == RestAccess::kWrite) needed = Permission::kWrite;
    if (route.access == RestAccess::kAdmin) needed = Permission::kAdmin;
    if (needed && !call.principal.Can(*needed)) {
      const std::string_view name = RestAccessName(route.access);
      if (write) {
        Audit(call, "rest.denied", fmt::format("{} {}", route.method, request.path), "denied",
              fmt::format("permission '{}' required", name));
      }
      return Response::Error(
          403, fmt::format("permission '{}' required: role '{}' with token scope '{}'", name,
                           name == "read" ? "read-only" : (name == "write" ? "analyst" : "admin"),
                           name));
    }
  }
  if (route.has_body) {
    const bool bundle = route.pattern == "/api/v1/bundles";
    const size_t max = bundle ? opt_.max_bundle_body : opt_.max_json_body;
    if (request.body.size() > max) {
      return Response::Error(413, fmt::format("request body of {} bytes is larger than {} bytes",
                                              request.body.size(), max));
    }
    auto content_type = request.Header("Content-Type");
    if (!content_type || !IsJsonMediaType(*content_type)) {
      return Response::Error(415, "Content-Type must be application/json");
    }
    simdjson::dom::element root;
    if (auto error = call.parser.parse(request.body.data(), request.body.size()).get(root)) {
      return Response::Error(400, fmt::format("request body is not JSON: {}",
                                              simdjson::error_message(error)));
    }
    if (root.get_object().get(call.body)) {
      return Response::Error(422, "request body must be a JSON object");
    }
  }
  return (this->*method)(call);
}

// --- Who am I -------------------------------------------------------------------------

Response Api::Me(Call& c) {
  const Principal& p = c.principal;
  std::string org_name;
  if (auto org = ctx_.accounts->GetOrg(p.org_id); org && *org) org_name = (*org)->name;
  std::string display_name;
  if (auto user = ctx_.accounts->GetUser(p.user_id); user && *user) {
    display_name = (*user)->display_name;
  }
  return Response::Json(
      200, JsonObject()
               .Str("user_id", p.user_id)
               .Str("display_name", display_name)
               .Raw("org", JsonObject()
                               .Str("id", p.org_id)
                               .Str("name", org_name)
                               .Str("type", auth::OrgTypeName(p.org_type))
                               .Done())
               .Str("role", auth::RoleName(p.role))
               .StrArray("scopes", ScopeNames(p.scopes))
               .Raw("can", JsonObject()
                               .Bool("read", p.Can(Permission::kRead))
                               .Bool("write", p.Can(Permission::kWrite))
                               .Bool("admin", p.Can(Permission::kAdmin))
                               .Done())
               .Str("auth_method", auth::AuthMethodName(p.method))
               .Str("credential_id", p.credential_id)
               .Done());
}

// --- Organisations -------------------------------------------------------------------

Response Api::ListOrgs(Call& c) {
  std::optional<Response> error;
  const PageParams page = c.Page(opt_.default_page, MaxPage(), error);
  if (error) return *error;
  std::vector<auth::Organisation> orgs;
  if (IsNational(c.principal)) {
    auto all = ctx_.accounts->ListOrgs();
    if (!all) return StoreError(all.error());
    orgs = std::move(*all);
  } else {
    auto own = ctx_.accounts->GetOrg(c.principal.org_id);
    if (!own) return StoreError(own.error());
    if (*own) orgs.push_back(std::move(**own));
  }
  return PageInMemory(orgs, page, OrgJson);
}

// Reads the mutable organisation fields of a create or patch body into `org`.
void ReadOrgFields(BodyReader& body, auth::NewOrg& org) {
  if (auto name = body.String("name")) org.name = *name;
  if (auto share = body.Strings("amber_share_with")) org.amber_share_with = *share;
  if (body.IsNull("default_tlp")) {
    org.default_tlp.reset();
  } else if (auto tlp = body.String("default_tlp")) {
    auto parsed = ParseTlp(*tlp);
    if (!parsed) {
      body.Fail(fmt::format("field 'default_tlp': '{}' is not a TLP level (clear, green, amber, "
                            "amber+strict, red)",
                            *tlp));
    } else {
      org.default_tlp = *parsed;
    }
  }
  if (auto anonymise = body.Bool("anonymise_sightings")) org.anonymise_sightings = *anonymise;
}

std::optional<auth::OrgType> ReadOrgType(BodyReader& body, bool required) {
  auto type = body.String("type", required);
  if (!type) return std::nullopt;
  auto parsed = auth::ParseOrgType(*type);
  if (!parsed) {
    body.Fail(fmt::format("field 'type': '{}' is not an organisation type (national-centre, "
                          "trust, gp-practice, supplier)",
                          *type));
  }
  return parsed;
}

Response Api::CreateOrg(Call& c) {
  if (!IsNational(c.principal)) {
    Audit(c, "org.create", "", "denied", "only the national centre creates organisations");
    return Response::Error(403, "only an admin of the national centre may create organisations");
  }
  BodyReader body(c.body);
  body.AllowOnly({"id", "name", "type", "amber_share_with", "default_tlp", "anonymise_sightings"});
  auth::NewOrg org;
  if (auto id = body.String("id", true)) org.id = *id;
  body.String("name", true);
  if (auto type = ReadOrgType(body, true)) org.type = *type;
  ReadOrgFields(body, org);
  if (body.failed()) return body.error();
  if (auto existing = ctx_.accounts->GetOrg(org.id); existing && *existing) {
    return Response::Error(409, fmt::format("organisation '{}' already exists", org.id));
  }
  auto created = ctx_.accounts->CreateOrg(org, c.Actor());
  if (!created) return StoreError(created.error());
  Response r = Response::Json(201, OrgJson(*created));
  r.headers.emplace_back("Location", fmt::format("/api/v1/orgs/{}", created->id));
  return r;
}

Response Api::GetOrg(Call& c) {
  const std::string& id = c.params[0];
  if (!AdministersOrg(c.principal, id)) return NotFound("organisation");
  auto org = ctx_.accounts->GetOrg(id);
  if (!org) return StoreError(org.error());
  if (!*org) return NotFound("organisation");
  return Response::Json(200, OrgJson(**org));
}

Response Api::PatchOrg(Call& c) {
  const std::string& id = c.params[0];
  if (!AdministersOrg(c.principal, id)) return NotFound("organisation");
  auto existing = ctx_.accounts->GetOrg(id);
  if (!existing) return StoreError(existing.error());
  if (!*existing) return NotFound("organisation");
  if (c.body.size() == 0) {
    return Response::Error(422, "nothing to change: give name, type, amber_share_with, default_tlp "
                                "or anonymise_sightings");
  }
  BodyReader body(c.body);
  body.AllowOnly({"name", "type", "amber_share_with", "default_tlp", "anonymise_sightings"});
  const auth::Organisation& old = **existing;
  auth::NewOrg org{.id = old.id,
                   .name = old.name,
                   .type = old.type,
                   .amber_share_with = old.amber_share_with,
                   .default_tlp = old.default_tlp,
                   .anonymise_sightings = old.anonymise_sightings};
  if (body.Has("name")) {
    if (auto name = body.String("name", true)) org.name = *name;
  }
  if (auto type = ReadOrgType(body, false)) {
    if (*type != old.type && !IsNational(c.principal)) {
      return Response::Error(403, "only an admin of the national centre may change an organisation's type");
    }
    org.type = *type;
  }
  ReadOrgFields(body, org);
  if (body.failed()) return body.error();
  auto updated = ctx_.accounts->UpdateOrg(org, c.Actor());
  if (!updated) return StoreError(updated.error());
  return Response::Json(200, OrgJson(*updated));
}

Response Api::DeleteOrg(Call& c) {
  const std::string& id = c.params[0];
  if (!AdministersOrg(c.principal, id)) return NotFound("organisation");
  if (!IsNational(c.principal)) {
    Audit(c, "org.delete", id, "denied", "only the national centre deletes organisations");
    return Response::Error(403, "only an admin of the national centre may delete organisations");
  }
  if (id == c.principal.org_id) {
    return Response::Error(422, "an organisation cannot delete itself");
  }
  auto existing = ctx_.accounts->GetOrg(id);
  if (!existing) return StoreError(existing.error());
  if (!*existing) return NotFound("organisation");
  if (auto done = ctx_.accounts->DeleteOrg(id, c.Actor()); !done) return StoreError(done.error());
  return NoContent();
}

// --- Users ---------------------------------------------------------------------------

Response Api::ListUsers(Call& c) {
  std::optional<Response> error;
  const PageParams page = c.Page(opt_.default_page, MaxPage(), error);
  if (error) return *error;
  std::string org_id = c.principal.org_id;
  if (IsNational(c.principal)) org_id.clear();  // all, unless ?org= narrows it
  if (auto org = c.request.Query("org")) {
    if (!AdministersOrg(c.principal, *org)) return NotFound("organisation");
    org_id = std::string(*org);
  }
  auto users = ctx_.accounts->ListUsers(org_id);
  if (!users) return StoreError(users.error());
  return PageInMemory(*users, page, UserJson);
}

Response Api::CreateUser(Call& c) {
  BodyReader body(c.body);
  body.AllowOnly({"id", "org_id", "display_name", "role", "password"});
  auth::NewUser user;
  if (auto id = body.String("id", true)) user.id = *id;
  user.org_id = c.principal.org_id;
  if (auto org = body.String("org_id")) user.org_id = *org;
  if (auto name = body.String("display_name")) user.display_name = *name;
  if (auto role = body.String("role", true)) {
    auto parsed = auth::ParseRole(*role);
    if (!parsed) {
      body.Fail(fmt::format("field 'role': '{}' is not a role (admin, analyst, read-only)", *role));
    } else {
      user.role = *parsed;
    }
  }
  if (auto password = body.String("password")) user.password = *password;
  if (body.failed()) return body.error();
  if (!AdministersOrg(c.principal, user.org_id)) {
    Audit(c, "user.create", user.id, "denied", fmt::format("not an admin of '{}'", user.org_id));
    return Response::Error(403, fmt::format("only an admin of '{}' or of the national centre may "
                                            "add users to it",
                                            user.org_id));
  }
  if (auto org = ctx_.accounts->GetOrg(user.org_id); !org || !*org) {
    return Response::Error(422, fmt::format("field 'org_id': organisation '{}' does not exist",
                                            user.org_id));
  }
  if (auto existing = ctx_.accounts->GetUser(user.id); existing && *existing) {
    return Response::Error(409, fmt::format("user '{}' already exists", user.id));
  }
  auto created = ctx_.accounts->CreateUser(user, c.Actor());
  if (!created) return StoreError(created.error());
  Response r = Response::Json(201, UserJson(*created));
  r.headers.emplace_back("Location", fmt::format("/api/v1/users/{}", created->id));
  return r;
}

Response Api::GetUser(Call& c) {
  const std::string& id = c.params[0];
  auto user = ctx_.accounts->GetUser(id);
  if (!user) return StoreError(user.error());
  if (!*user) return NotFound("user");
  if (id != c.principal.user_id && !AdministersOrg(c.principal, (*user)->org_id)) {
    return NotFound("user");
  }
  return Response::Json(200, UserJson(**user));
}

Response Api::PatchUser(Call& c) {
  const std::string& id = c.params[0];
  auto user = ctx_.accounts->GetUser(id);
  if (!user) return StoreError(user.error());
  if (!*user || !AdministersOrg(c.principal, (*user)->org_id)) return NotFound("user");
  BodyReader body(c.body);
  body.AllowOnly({"role", "disabled"});
  std::optional<auth::Role> role;
  if (auto text = body.String("role")) {
    role = auth::ParseRole(*text);
    if (!role) body.Fail(fmt::format("field 'role': '{}' is not a role (admin, analyst, read-only)", *text));
  }
  auto disabled = body.Bool("disabled");
  if (body.failed()) return body.error();
  if (!role && !disabled) return Response::Error(422, "nothing to change: give 'role' or 'disabled'");
  if (id == c.principal.user_id) {
    return Response::Error(422, "admins cannot change their own role or disable themselves; ask another admin");
  }
  if (role) {
    if (auto done = ctx_.accounts->SetRole(id, *role, c.Actor()); !done) return StoreError(done.error());
  }
  if (disabled) {
    if (auto done = ctx_.accounts->SetDisabled(id, *disabled, c.Actor()); !done) {
      return StoreError(done.error());
    }
  }
  auto updated = ctx_.accounts->GetUser(id);
  if (!updated || !*updated) return NotFound("user");
  return Response::Json(200, UserJson(**updated));
}

Response Api::SetPassword(Call& c) {
  const std::string& id = c.params[0];
  BodyReader body(c.body);
  body.AllowOnly({"password", "current_password"});
  auto password = body.String("password", true);
  auto current = body.String("current_password");
  if (body.failed()) return body.error();
  auto user = ctx_.accounts->GetUser(id);
  if (!user) return StoreError(user.error());
  if (!*user) return NotFound("user");
  const bool self = id == c.principal.user_id;
  if (!self && !AdministersOrg(c.principal, (*user)->org_id)) return NotFound("user");
  if (self) {
    // People (admins too) change their own password by proving the current one, so a
    // leaked token or an unattended session cannot take over the account.
    if (!current) return Response::Error(422, "field 'current_password' is required");
    if (!ctx_.accounts->AuthenticateBasic(id, *current)) {
      Audit(c, "user.password", id, "denied", "current password did not match");
      return Response::Error(403, "current password does not match");
    }
  }
  if (auto done = ctx_.accounts->SetPassword(id, *password, c.Actor()); !done) {
    return StoreError(done.error());
  }
  return NoContent();
}

// --- Tokens --------------------------------------------------------------------------

Response Api::ListTokens(Call& c) {
  std::optional<Response> error;
  const PageParams page = c.Page(opt_.default_page, MaxPage(), error);
  if (error) return *error;
  std::vector<auth::TokenInfo> tokens;
  auto user_filter = c.request.Query("user");
  if (c.principal.Can(Permission::kAdmin)) {
    auto all = ctx_.accounts->ListTokens(user_filter ? *user_filter : std::string_view());
    if (!all) return StoreError(all.error());
    for (auto& token : *all) {
      if (AdministersOrg(c.principal, token.org_id)) tokens.push_back(std::move(token));
    }
  } else {
    if (user_filter && *user_filter != c.principal.user_id) return NotFound("user");
    auto own = ctx_.accounts->ListTokens(c.principal.user_id);
    if (!own) return StoreError(own.error());
    tokens = std::move(*own);
  }
  return PageInMemory(tokens, page, TokenJson);
}

Response Api::CreateToken(Call& c) {
  BodyReader body(c.body);
  body.AllowOnly({"user_id", "name", "scopes", "ttl_seconds", "never_expires"});
  auth::NewToken token;
  token.user_id = c.principal.user_id;
  if (auto user = body.String("user_id")) token.user_id = *user;
  if (auto name = body.String("name")) token.name = *name;
  if (auto scopes = body.Strings("scopes")) {
    if (scopes->empty()) body.Fail("field 'scopes': give at least one of read, write, admin");
    token.scopes = 0;
    for (const auto& scope : *scopes) {
      auto parsed = auth::ParseScopes(scope);
      if (!parsed) {
        body.Fail(fmt::format("field 'scopes': '{}' is not a scope (read, write, admin)", scope));
        break;
      }
      token.scopes |= *parsed;
    }
  }
  if (auto ttl = body.Int("ttl_seconds")) {
    if (*ttl <= 0) body.Fail("field 'ttl_seconds': must be a positive number of seconds");
    token.ttl_seconds = *ttl;
  }
  if (auto never = body.Bool("never_expires")) token.never_expires = *never;
  if (body.failed()) return body.error();

  auto user = ctx_.accounts->GetUser(token.user_id);
  if (!user) return StoreError(user.error());
  const bool self = token.user_id == c.principal.user_id;
  if (!*user || (!self && !AdministersOrg(c.principal, (*user)->org_id))) {
    return Response::Error(422, fmt::format("field 'user_id': no user '{}' you may issue tokens for",
                                            token.user_id));
  }
  // A credential never mints a more powerful one.
  if ((token.scopes & ~c.principal.scopes) != 0) {
    return Response::Error(403, fmt::format("cannot issue scopes '{}' with a credential that has '{}'",
                                            auth::ScopesToString(token.scopes),
                                            auth::ScopesToString(c.principal.scopes)));
  }
  if (token.never_expires && !c.principal.Can(Permission::kAdmin)) {
    return Response::Error(403, "only admins may issue tokens that never expire");
  }
  auto issued = ctx_.accounts->CreateToken(token, c.Actor());
  if (!issued) return StoreError(issued.error());
  std::string json = TokenJson(issued->info);
  json.pop_back();  // add the secret to the token object: shown this once only
  json += ",\"secret\":";
  AppendJsonString(json, issued->secret);
  json += '}';
  Response r = Response::Json(201, std::move(json));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Response Api::RevokeToken(Call& c) {
  const std::string& id = c.params[0];
  auto all = ctx_.accounts->ListTokens();
  if (!all) return StoreError(all.error());
  auto found = std::find_if(all->begin(), all->end(), [&](const auto& t) { return t.id == id; });
  if (found == all->end()) return NotFound("token");
  if (found->user_id != c.principal.user_id && !AdministersOrg(c.principal, found->org_id)) {
    return NotFound("token");
  }
  if (auto done = ctx_.accounts->RevokeToken(id, c.Actor()); !done) return StoreError(done.error());
  return NoContent();
}

// --- Sessions ------------------------------------------------------------------------

std::optional<std::string_view> SessionCookie(const Request& request) {
  auto header = request.Header("Cookie");
  if (!header) return std::nullopt;
  for (std::string_view part : Split(*header, ';')) {
    part = Trim(part);
    const size_t eq = part.find('=');
    if (eq != std::string_view::npos && Trim(part.substr(0, eq)) == kSessionCookie) {
      return Trim(part.substr(eq + 1));
    }
  }
  return std::nullopt;
}

Response Api::SignIn(Call& c) {
  BodyReader body(c.body);
  body.AllowOnly({"user", "password"});
  auto user = body.String("user", true);
  auto password = body.String("password", true);
  if (body.failed()) return body.error();
  auto principal = ctx_.accounts->AuthenticateBasic(*user, *password);
  if (!principal) {
    c.principal.user_id = *user;  // for the audit line only
    Audit(c, "session.create", *user, "denied", principal.error().reason);
    Response r = Response::Error(401, "wrong user name or password");
    return r;
  }
  c.principal = *principal;
  auto session = ctx_.accounts->CreateSession(principal->user_id, auth::SessionMethod::kPassword,
                                              opt_.session_ttl_seconds, c.Actor());
  if (!session) return StoreError(session.error());
  Response r = Response::Json(201, JsonObject()
                                       .Str("session_id", session->id)
                                       .Str("user_id", principal->user_id)
                                       .Str("org_id", principal->org_id)
                                       .Str("expires_at", session->expires_at)
                                       .Done());
  r.headers.emplace_back(
      "Set-Cookie", fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}", kSessionCookie,
                                session->secret, opt_.session_ttl_seconds, opt_.tls ? "; Secure" : ""));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Response Api::SignOut(Call& c) {
  if (c.principal.method != auth::AuthMethod::kSession) {
    return Response::Error(400, "this request was not signed in with a session cookie; revoke tokens "
                                "with DELETE /api/v1/tokens/{id}");
  }
  auto secret = SessionCookie(c.request);
  if (!secret) return Response::Error(400, "no aegis_session cookie");
  if (auto done = ctx_.accounts->EndSession(*secret, c.Actor()); !done) return StoreError(done.error());
  Response r = NoContent();
  r.headers.emplace_back("Set-Cookie", fmt::format("{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{}",
                                                   kSessionCookie, opt_.tls ? "; Secure" : ""));
  return r;
}

// --- Audit ---------------------------------------------------------------------------

Response Api::ListAudit(Call& c) {
  std::optional<Response> error;
  const PageParams page = c.Page(opt_.default_page, MaxPage(), error);
  if (error) return *error;
  auth::AuditQuery query;
  query.limit = page.limit + 1;
  query.org_id = IsNational(c.principal) ? std::string() : c.principal.org_id;
  if (auto org = c.request.Query("org")) {
    if (!AdministersOrg(c.principal, *org)) return NotFound("organisation");
    query.org_id = std::string(*org);
  }
  if (auto action = c.request.Query("action")) query.action_prefix = std::string(*action);
  if (page.next) {
    auto seq = page.next->size() > 1 && (*page.next)[0] == 's' ? ParseInt(page.next->substr(1))
                                                                : std::nullopt;
    if (!seq || *seq <= 0) return Response::Error(400, "query parameter 'next': not a cursor of this list");
    query.before_seq = *seq;
  }
  auto entries = ctx_.accounts->ListAudit(query);
  if (!entries) return StoreError(entries.error());
  const bool more = entries->size() > page.limit;
  if (more) entries->resize(page.limit);
  std::vector<std::string> items;
  for (const auto& e : *entries) items.push_back(AuditJson(e));
  std::optional<std::string> next;
  if (more && !entries->empty()) next = fmt::format("s{}", entries->back().seq);
  return ListResponse("items", items, more, next);
}

// --- Collections, objects, bundles ---------------------------------------------------

std::expected<intel::Collection, Response> Api::ReadableCollection(const Call& c,
                                                                   std::string_view id_or_alias) {
  auto collection = ctx_.stix->GetCollection(id_or_alias);
  if (!collection) return std::unexpected(StoreError(collection.error()));
  if (!*collection || !CanReadCollection(**collection, c.principal)) {
    return std::unexpected(NotFound("collection"));
  }
  return std::move(**collection);
}

Response Api::ListCollections(Call& c) {
  std::optional<Response> error;
  const PageParams page = c.Page(opt_.default_page, MaxPage(), error);
  if (error) return *error;
  auto all = ctx_.stix->ListCollections();
  if (!all) return StoreError(all.error());
  std::vector<intel::Collection> readable;
  for (auto& collection : *all) {
    if (CanReadCollection(collection, c.principal)) readable.push_back(std::move(collection));
  }
  return PageInMemory(readable, page,
                      [&](const intel::Collection& col) { return CollectionJson(col, c.principal); });
}

std::optional<Response> Api::CheckAccessList(const std::vector<std::string>& list,
                                             std::string_view field) {
  for (const auto& entry : list) {
    if (entry == "*") continue;
    if (entry.starts_with("type:")) {
      if (!auth::ParseOrgType(std::string_view(entry).substr(5))) {
        return Response::Error(422, fmt::format("field '{}': '{}' names no organisation type", field, entry));
      }
      continue;
    }
    auto org = ctx_.accounts->GetOrg(entry);
    if (!org || !*org) {
      return Response::Error(
          422, fmt::format("field '{}': '{}' is neither \"*\", \"type:<org type>\" nor an organisation",
                           field, entry));
    }
  }
  return std::nullopt;
}

Response Api::CreateCollection(Call& c) {
  BodyReader body(c.body);
  body.AllowOnly({"id", "alias", "title", "description", "readers", "writers"});
  intel::Collection collection;
  if (auto id = body.String("id")) collection.id = *id;
  if (auto alias = body.String("alias")) collection.alias = *alias;
  if (auto title = body.String("title", true)) collection.title = *title;
  if (auto description = body.String("description")) collection.description = *description;
  if (auto readers = body.Strings("readers")) collection.access.readers = *readers;
  collection.access.writers = {c.principal.org_id};
  if (auto writers = body.Strings("writers")) collection.access.writers = *writers;
  if (body.failed()) return body.error();
  if (!IsNational(c.principal)) {
    for (const auto& writer : collection.access.writers) {
      if (writer != c.principal.org_id) {
        Audit(c, "collection.create", collection.alias, "denied", "writers beyond own organisation");
        return Response::Error(403, fmt::format("field 'writers': only the national centre may grant "
                                                "write access to '{}'; you may list your own organisation",
                                                writer));
      }
    }
  }
  if (auto bad = CheckAccessList(collection.access.readers, "readers")) return *bad;
  if (auto bad = CheckAccessList(collection.access.writers, "writers")) return *bad;
  for (const std::string* key : {&collection.id, &collection.alias}) {
    if (key->empty()) continue;
    if (auto existing = ctx_.stix->GetCollection(*key); existing && *existing) {
      return Response::Error(409, fmt::format("a collection '{}' already exists", *key));
    }
  }
  auto created = ctx_.stix->CreateCollection(collection);
  if (!created) return StoreError(created.error());
  Audit(c, "collection.create", created->id, "ok",
        JsonObject().Str("alias", created->alias).Str("title", created->title).Done());
  Response r = Response::Json(201, CollectionJson(*created, c.principal));
  r.headers.emplace_back("Location", fmt::format("/api/v1/collections/{}", created->id));
  return r;
}

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view part : Split(text, ',')) {
    part = Trim(part);
    if (!part.empty()) out.emplace_back(part);
  }
  return out;
}

Response Api::ListObjects(Call& c) {
  std::optional<Response> error;
  const PageParams page = c.Page(opt_.default_page, MaxPage(), error);
  if (error) return *error;
  auto collection_id = c.request.Query("collection");
  if (!collection_id || collection_id->empty()) {
    return Response::Error(400, "query parameter 'collection' is required (id or alias; see GET /api/v1/collections)");
  }
  auto collection = ReadableCollection(c, *collection_id);
  if (!collection) return std::move(collection.error());
  intel::ObjectQuery query;
  query.collection_id = collection->id;
  query.limit = page.limit;
  for (const auto& [key, value] : c.request.query) {
    if (key == "type") {
      for (auto& t : SplitList(value)) query.types.push_back(std::move(t));
    } else if (key == "id") {
      for (auto& i : SplitList(value)) query.ids.push_back(std::move(i));
    }
  }
  if (page.next) {
    query.after = intel::Cursor::Decode(*page.next);
    if (!query.after) return Response::Error(400, "query parameter 'next': not a cursor of this list");
  }
  VisibilityCheck visible(ctx_, c.principal.AsReader(), auth::ReadPath::kRest);
  query.visible = visible.AsPredicate();
  auto result = ctx_.stix->Query(query);
  if (!result) return StoreError(result.error());
  std::vector<std::string> items;
  items.reserve(result->objects.size());
  for (auto& object : result->objects) items.push_back(std::move(object.json));
  std::optional<std::string> next;
  if (result->more && result->next) next = result->next->Encode();
  return ListResponse("objects", items, result->more && next, next);
}

Response Api::GetObject(Call& c) {
  const std::string& id = c.params[0];
  std::vector<intel::Collection> candidates;
  if (auto only = c.request.Query("collection")) {
    auto collection = ReadableCollection(c, *only);
    if (!collection) return NotFound("object");
    candidates.push_back(std::move(*collection));
  } else {
    auto all = ctx_.stix->ListCollections();
    if (!all) return StoreError(all.error());
    for (auto& collection : *all) {
      if (CanReadCollection(collection, c.principal)) candidates.push_back(std::move(collection));
    }
  }
  VisibilityCheck visible(ctx_, c.principal.AsReader(), auth::ReadPath::kRest);
  std::optional<intel::StoredObject> best;
  for (const auto& collection : candidates) {
    intel::ObjectQuery query;
    query.collection_id = collection.id;
    query.ids = {id};
    query.versions = intel::VersionMatch::kAll;
    query.limit = MaxPage();
    query.visible = visible.AsPredicate();
    auto page = ctx_.stix->Query(query);
    if (!page) continue;
    for (auto& object : page->objects) {
      if (!best || object.meta.version_us > best->meta.version_us) best = std::move(object);
    }
  }
  // Not there and not visible look the same: the answer must not reveal existence.
  if (!best) return NotFound("object");
  return Response::Json(200, JsonObject()
                                 .Str("collection_id", best->meta.collection_id)
                                 .Str("version", best->meta.version)
                                 .Str("date_added", Rfc3339FromMicros(best->meta.date_added_us))
                                 .Str("tlp", TlpName(best->meta.tlp))
                                 .Str("producer_org", best->meta.producer_org)
                                 .Raw("object", best->json)
                                 .Done());
}

Response Api::ImportBundle(Call& c) {
  auto collection_id = c.request.Query("collection");
  if (!collection_id || collection_id->empty()) {
    return Response::Error(400, "query parameter 'collection' is required (id or alias)");
  }
  auto collection = ReadableCollection(c, *collection_id);
  if (!collection) return std::move(collection.error());
  if (!CanWriteCollection(*collection, c.principal)) {
    Audit(c, "bundle.import", collection->id, "denied", "organisation may not write to this collection");
    return Response::Error(403, "your organisation may read but not write this collection");
  }
  auto bundle = intel::stix::ValidateBundle(c.request.body);
  if (!bundle) return Response::Error(422, bundle.error().ToString());
  auto added = ctx_.stix->AddObjects({.collection_id = collection->id, .producer_org = c.principal.org_id},
                                     bundle->objects);
  if (!added) return StoreError(added.error());
  std::vector<std::string> outcomes;
  for (const auto& outcome : added->outcomes) {
    std::string_view kind = outcome.kind == intel::AddOutcome::Kind::kAdded       ? "added"
                            : outcome.kind == intel::AddOutcome::Kind::kDuplicate ? "duplicate"
                                                                                  : "failed";
    outcomes.push_back(OutcomeJson(kind, outcome.id, outcome.version, outcome.message));
  }
  for (const auto& rejected : bundle->rejected) {
    outcomes.push_back(OutcomeJson("rejected", rejected.where, "", rejected.ToString()));
  }
  const uint64_t rejected_count = bundle->rejected.size();
  std::string summary = JsonObject()
                            .Str("collection_id", collection->id)
                            .Str("bundle_id", bundle->bundle_id)
                            .Int("added", static_cast<int64_t>(added->added))
                            .Int("duplicates", static_cast<int64_t>(added->duplicates))
                            .Int("failed", static_cast<int64_t>(added->failed))
                            .Int("rejected", static_cast<int64_t>(rejected_count))
                            .Done();
  Audit(c, "bundle.import", collection->id,
        added->added + added->duplicates > 0 || (added->failed + rejected_count) == 0 ? "ok" : "failed",
        summary);
  summary.pop_back();
  summary += ",\"objects\":" + JsonArray(outcomes) + "}";
  return Response::Json(200, std::move(summary));
}

Response Api::ExportBundle(Call& c) {
  auto collection_id = c.request.Query("collection");
  if (!collection_id || collection_id->empty()) {
    return Response::Error(400, "query parameter 'collection' is required (id or alias)");
  }
  auto collection = ReadableCollection(c, *collection_id);
  if (!collection) return std::move(collection.error());
  intel::ObjectQuery query;
  query.collection_id = collection->id;
  query.limit = MaxPage();  // the store pages through the whole collection
  for (const auto& [key, value] : c.request.query) {
    if (key == "type") {
      for (auto& t : SplitList(value)) query.types.push_back(std::move(t));
    }
  }
  VisibilityCheck visible(ctx_, c.principal.AsReader(), auth::ReadPath::kExport);
  query.visible = visible.AsPredicate();
  auto bundle = ctx_.stix->ExportBundle(query);
  if (!bundle) return StoreError(bundle.error());
  Audit(c, "bundle.export", collection->id, "ok",
        fmt::format("{} object(s) withheld by TLP", visible.denied()));
  Response r = Response::Json(200, std::move(*bundle));
  r.headers.emplace_back("Content-Disposition",
                         fmt::format("attachment; filename=\"{}.json\"",
                                     collection->alias.empty() ? collection->id : collection->alias));
  return r;
}

// --- Alerts --------------------------------------------------------------------------

std::optional<Response> Api::AlertAccess(const Call& c) {
  if (ctx_.alerts == nullptr || opt_.instance_org.empty()) {
    return Response::Error(404, "this instance keeps no alerts");
  }
  if (c.principal.org_id != opt_.instance_org) {
    return Response::Error(403, "alerts belong to the organisation that runs this instance");
  }
  return std::nullopt;
}

Response Api::ListAlerts(Call& c) {
  if (auto denied = AlertAccess(c)) return *denied;
  std::optional<Response> error;
  const PageParams page = c.Page(opt_.default_page, MaxPage(), error);
  if (error) return *error;
  size_t offset = 0;
  if (page.next) {
    auto decoded = DecodeOffset(*page.next);
    if (!decoded) return Response::Error(400, "query parameter 'next': not a cursor of this list");
    offset = *decoded;
  }
  store::AlertQuery query;
  query.limit = offset + page.limit + 1;
  if (auto since = c.request.Query("since_ns")) {
    auto n = ParseInt(*since);
    if (!n || *n < 0) return Response::Error(400, "query parameter 'since_ns': must be nanoseconds since the epoch");
    query.since_ns = *n;
  }
  if (auto severity = c.request.Query("min_severity")) {
    query.min_severity = ParseSeverity(*severity);
    if (!query.min_severity) {
      return Response::Error(400, "query parameter 'min_severity': informational, low, medium, high or critical");
    }
  }
  if (auto rule = c.request.Query("rule")) query.rule = std::string(*rule);
  if (auto detector = c.request.Query("detector")) query.detector = std::string(*detector);
  auto alerts = ctx_.alerts->ListAlerts(query);
  if (!alerts) return StoreError(alerts.error());
  std::vector<std::string> items;
  for (size_t i = offset; i < alerts->size() && items.size() < page.limit; ++i) {
    items.push_back(AlertToJson((*alerts)[i]));
  }
  const size_t end = offset + items.size();
  const bool more = end < alerts->size() && end < kMaxOffset;
  return ListResponse("items", items, more, more ? std::optional(EncodeOffset(end)) : std::nullopt);
}

Response Api::GetAlert(Call& c) {
  if (auto denied = AlertAccess(c)) return *denied;
  auto alert = ctx_.alerts->GetAlert(c.params[0]);
  if (!alert) return StoreError(alert.error());
  if (!*alert) return NotFound("alert");
  return Response::Json(200, AlertToJson(**alert));
}

// --- Early Warning -------------------------------------------------------------------

std::string RegistrationJson(const share::Registration& r) {
  return JsonObject()
      .Int("id", r.id)
      .Str("org_id", r.org_id)
      .Str("kind", share::RegistrationKindName(r.kind))
      .Str("value", r.value)
      .Int("created_ns", r.created_ns)
      .Str("created_by", r.created_by)
      .Done();
}

// The organisation whose Early Warning data the request is about: the caller's, or
// `?org=` for an admin who manages it. nullopt and `error` set when not allowed.
std::optional<std::string> EwOrg(const Call& c, std::optional<Response>& error) {
  auto org = c.request.Query("org");
  if (!org || *org == c.principal.org_id) return c.principal.org_id;
  if (!AdministersOrg(c.principal, *org)) {
    error = NotFound("organisation");
    return std::nullopt;
  }
  return std::string(*org);
}

Response EwDisabled() { return Response::Error(404, "Early Warning is not enabled on this instance"); }

std::optional<int64_t> PositiveId(std::string_view text) {
  auto n = ParseInt(text);
  if (!n || *n <= 0) return std::nullopt;
  return n;
}

Response Api::ListRegistrations(Call& c) {
  if (opt_.early_warning == nullptr) return EwDisabled();
  std::optional<Response> error;
  const PageParams page = c.Page(opt_.default_page, MaxPage(), error);
  if (error) return *error;
  auto org = EwOrg(c, error);
  if (!org) return *error;
  auto registrations = opt_.early_warning->ListRegistrations(*org);
  if (!registrations) return StoreError(registrations.error());
  return PageInMemory(*registrations, page, RegistrationJson);
}

Response Api::CreateRegistration(Call& c) {
  if (opt_.early_warning == nullptr) return EwDisabled();
  BodyReader body(c.body);
  body.AllowOnly({"org_id", "kind", "value"});
  share::Registration registration;
  registration.org_id = c.principal.org_id;
  if (auto org = body.String("org_id", false)) registration.org_id = *org;
  if (auto kind = body.String("kind", true)) {
    auto parsed = share::ParseRegistrationKind(*kind);
    if (!parsed) {
      body.Fail(fmt::format("field 'kind': '{}' is not ip, domain or asn", *kind));
    } else {
      registration.kind = *parsed;
    }
  }
  if (auto value = body.String("value", true)) registration.value = *value;
  if (body.failed()) return body.error();
  if (!AdministersOrg(c.principal, registration.org_id)) {
    Audit(c, "ew.register", registration.org_id, "denied", "not an admin of the organisation");
    return Response::Error(403, fmt::format("only an admin of '{}' or of the national centre may "
                                            "register its networks",
                                            registration.org_id));
  }
  const std::string detail = JsonObject()
                                 .Str("kind", share::RegistrationKindName(registration.kind))
                                 .Str("value", registration.value)
                                 .Done();
  auto created = opt_.early_warning->Register(registration, c.principal.user_id);
  if (!created) {
    Audit(c, "ew.register", registration.org_id, "failed", created.error().reason);
    Response r = StoreError(created.error());
    if (r.status == 404) r = Response::Error(422, created.error().reason);
    return r;
  }
  Audit(c, "ew.register", registration.org_id, "ok", detail);
  return Response::Json(201, RegistrationJson(*created));
}

Response Api::DeleteRegistration(Call& c) {
  if (opt_.early_warning == nullptr) return EwDisabled();
  auto id = PositiveId(c.params[0]);
  if (!id) return NotFound("registration");
  auto all = opt_.early_warning->ListRegistrations();
  if (!all) return StoreError(all.error());
  auto found = std::find_if(all->begin(), all->end(), [&](const auto& r) { return r.id == *id; });
  if (found == all->end() || !AdministersOrg(c.principal, found->org_id)) return NotFound("registration");
  auto removed = opt_.early_warning->Unregister(*id);
  if (!removed) return StoreError(removed.error());
  Audit(c, "ew.unregister", found->org_id, "ok", RegistrationJson(*found));
  return NoContent();
}

Response Api::ListNotifications(Call& c) {
  if (opt_.early_warning == nullptr) return EwDisabled();
  std::optional<Response> error;
  const PageParams page = c.Page(opt_.default_page, MaxPage(), error);
  if (error) return *error;
  auto org = EwOrg(c, error);
  if (!org) return *error;
  size_t offset = 0;
  if (page.next) {
    auto decoded = DecodeOffset(*page.next);
    if (!decoded) return Response::Error(400, "query parameter 'next': not a cursor of this list");
    offset = *decoded;
  }
  share::NotificationQuery query;
  query.org_id = *org;
  query.limit = offset + page.limit + 1;
  if (auto since = c.request.Query("since_ns")) {
    auto n = ParseInt(*since);
    if (!n || *n < 0) return Response::Error(400, "query parameter 'since_ns': must be nanoseconds since the epoch");
    query.since_ns = *n;
  }
  if (auto unacked = c.request.Query("unacked")) {
    if (*unacked != "true" && *unacked != "false") {
      return Response::Error(400, "query parameter 'unacked': true or false");
    }
    query.unacked_only = *unacked == "true";
  }
  auto notifications = opt_.early_warning->ListNotifications(query);
  if (!notifications) return StoreError(notifications.error());
  std::vector<std::string> items;
  for (size_t i = offset; i < notifications->size() && items.size() < page.limit; ++i) {
    items.push_back(share::NotificationJson((*notifications)[i]));
  }
  const size_t end = offset + items.size();
  const bool more = end < notifications->size() && end < kMaxOffset;
  return ListResponse("items", items, more, more ? std::optional(EncodeOffset(end)) : std::nullopt);
}

Response Api::AckNotification(Call& c) {
  if (opt_.early_warning == nullptr) return EwDisabled();
  auto id = PositiveId(c.params[0]);
  if (!id) return NotFound("notification");
  auto notification = opt_.early_warning->GetNotification(*id);
  if (!notification) return StoreError(notification.error());
  if (!*notification || (**notification).org_id != c.principal.org_id) return NotFound("notification");
  auto acked = opt_.early_warning->Ack(*id, c.principal.user_id, c.principal.org_id);
  if (!acked) return StoreError(acked.error());
  Audit(c, "ew.ack", std::to_string(*id), "ok");
  auto after = opt_.early_warning->GetNotification(*id);
  if (!after || !*after) return NotFound("notification");
  return Response::Json(200, share::NotificationJson(**after));
}

// --- OpenAPI -------------------------------------------------------------------------

Response Api::OpenApi(Call&) {
  Response r = Response::Json(200, std::string(OpenApiDocument()));
  r.headers.emplace_back("Cache-Control", "public, max-age=300");
  return r;
}

// ---------------------------------------------------------------------------------------
// The route table

struct RouteEntry {
  RestRoute route;
  Method method;
};

constexpr RestAccess kPub = RestAccess::kPublic;
constexpr RestAccess kAny = RestAccess::kAuthenticated;
constexpr RestAccess kRd = RestAccess::kRead;
constexpr RestAccess kWr = RestAccess::kWrite;
constexpr RestAccess kAdm = RestAccess::kAdmin;

const std::array kRoutes = {
    RouteEntry{{"GET", "/api/v1/openapi.json", kPub, false, "This document"}, &Api::OpenApi},
    RouteEntry{{"GET", "/api/v1/me", kAny, false, "The authenticated principal"}, &Api::Me},
    RouteEntry{{"GET", "/api/v1/orgs", kAdm, false, "List organisations"}, &Api::ListOrgs},
    RouteEntry{{"POST", "/api/v1/orgs", kAdm, true, "Create an organisation (national centre)"},
               &Api::CreateOrg},
    RouteEntry{{"GET", "/api/v1/orgs/{id}", kAdm, false, "Get an organisation"}, &Api::GetOrg},
    RouteEntry{{"PATCH", "/api/v1/orgs/{id}", kAdm, true, "Change an organisation"}, &Api::PatchOrg},
    RouteEntry{{"DELETE", "/api/v1/orgs/{id}", kAdm, false, "Delete an organisation (national centre)"},
               &Api::DeleteOrg},
    RouteEntry{{"GET", "/api/v1/users", kAdm, false, "List users"}, &Api::ListUsers},
    RouteEntry{{"POST", "/api/v1/users", kAdm, true, "Create a user"}, &Api::CreateUser},
    RouteEntry{{"GET", "/api/v1/users/{id}", kAny, false, "Get a user (self or admin)"}, &Api::GetUser},
    RouteEntry{{"PATCH", "/api/v1/users/{id}", kAdm, true, "Change a user's role or disable it"},
               &Api::PatchUser},
    RouteEntry{{"POST", "/api/v1/users/{id}/password", kAny, true, "Set a user's password"},
               &Api::SetPassword},
    RouteEntry{{"GET", "/api/v1/tokens", kAny, false, "List API tokens"}, &Api::ListTokens},
    RouteEntry{{"POST", "/api/v1/tokens", kWr, true, "Issue an API token"}, &Api::CreateToken},
    RouteEntry{{"DELETE", "/api/v1/tokens/{id}", kAny, false, "Revoke an API token"}, &Api::RevokeToken},
    RouteEntry{{"POST", "/api/v1/sessions", kPub, true, "Sign in with a password"}, &Api::SignIn},
    RouteEntry{{"DELETE", "/api/v1/sessions/current", kAny, false, "Sign out"}, &Api::SignOut},
    RouteEntry{{"GET", "/api/v1/audit", kAdm, false, "Read the audit log"}, &Api::ListAudit},
    RouteEntry{{"GET", "/api/v1/collections", kRd, false, "List readable collections"},
               &Api::ListCollections},
    RouteEntry{{"POST", "/api/v1/collections", kAdm, true, "Create a collection"},
               &Api::CreateCollection},
    RouteEntry{{"GET", "/api/v1/objects", kRd, false, "List visible STIX objects of a collection"},
               &Api::ListObjects},
    RouteEntry{{"GET", "/api/v1/objects/{id}", kRd, false, "Latest visible version of a STIX object"},
               &Api::GetObject},
    RouteEntry{{"POST", "/api/v1/bundles", kWr, true, "Import a STIX bundle"}, &Api::ImportBundle},
    RouteEntry{{"GET", "/api/v1/bundles/export", kRd, false, "Export a collection as a STIX bundle"},
               &Api::ExportBundle},
    RouteEntry{{"GET", "/api/v1/alerts", kRd, false, "List this instance's alerts"}, &Api::ListAlerts},
    RouteEntry{{"GET", "/api/v1/alerts/{id}", kRd, false, "Get one alert"}, &Api::GetAlert},
    RouteEntry{{"GET", "/api/v1/ew/registrations", kRd, false, "List Early Warning registrations"},
               &Api::ListRegistrations},
    RouteEntry{{"POST", "/api/v1/ew/registrations", kAdm, true, "Register an IP range, domain or ASN"},
               &Api::CreateRegistration},
    RouteEntry{{"DELETE", "/api/v1/ew/registrations/{id}", kAdm, false, "Remove a registration"},
               &Api::DeleteRegistration},
    RouteEntry{{"GET", "/api/v1/ew/notifications", kRd, false, "List Early Warning notifications"},
               &Api::ListNotifications},
    RouteEntry{{"POST", "/api/v1/ew/notifications/{id}/ack", kWr, false, "Acknowledge a notification"},
               &Api::AckNotification},
};

const std::array<RestRoute, kRoutes.size()> kPublicRoutes = [] {
  std::array<RestRoute, kRoutes.size()> out{};
  for (size_t i = 0; i < kRoutes.size(); ++i) out[i] = kRoutes[i].route;
  return out;
}();

// Matches `path` against a pattern with "{name}" segments; the decoded values of
// those segments, or nullopt.
std::optional<std::vector<std::string>> MatchPattern(std::string_view pattern, std::string_view path) {
  std::vector<std::string_view> want = Split(pattern, '/');
  std::vector<std::string_view> have = Split(path, '/');
  if (want.size() != have.size()) return std::nullopt;
  std::vector<std::string> params;
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i].starts_with('{')) {
      if (have[i].empty()) return std::nullopt;
      params.push_back(server::UrlDecode(have[i], false));
    } else if (want[i] != have[i]) {
      return std::nullopt;
    }
  }
  return params;
}

}  // namespace

std::string_view RestAccessName(RestAccess access) {
  switch (access) {
    case RestAccess::kPublic:
      return "public";
    case RestAccess::kAuthenticated:
      return "authenticated";
    case RestAccess::kRead:
      return "read";
    case RestAccess::kWrite:
      return "write";
    case RestAccess::kAdmin:
      return "admin";
  }
  return "admin";
}

std::span<const RestRoute> RestRoutes() { return kPublicRoutes; }

Result<void> RegisterRestRoutes(server::Router& router, HubContext& context, RestOptions options) {
  if (context.accounts == nullptr || context.stix == nullptr) {
    return Fail("the REST API needs the accounts and the STIX store", "context");
  }
  auto api = std::make_shared<Api>(context, std::move(options));
  // Templated routes share one prefix route per (method, fixed prefix).
  std::map<std::pair<std::string, std::string>, std::vector<const RouteEntry*>> templated;
  for (const RouteEntry& entry : kRoutes) {
    const RestRoute& route = entry.route;
    const size_t brace = route.pattern.find("/{");
    if (brace == std::string_view::npos) {
      auto added = router.Add(std::string(route.method), std::string(route.pattern),
                              [api, &entry](const Request& request) -> Result<Response> {
                                return api->Run(entry.route, entry.method, request, {});
                              });
      if (!added) return added;
      continue;
    }
    templated[{std::string(route.method), std::string(route.pattern.substr(0, brace))}].push_back(&entry);
  }
  for (auto& [key, entries] : templated) {
    auto added = router.AddPrefix(
        key.first, key.second, [api, entries](const Request& request) -> Result<Response> {
          for (const RouteEntry* entry : entries) {
            if (auto params = MatchPattern(entry->route.pattern, request.path)) {
              return api->Run(entry->route, entry->method, request, std::move(*params));
            }
          }
          return Response::Error(404, fmt::format("no endpoint {} {}", request.method, request.path));
        });
    if (!added) return added;
  }
  return {};
}

}  // namespace aegis::hub
