// HubContext: what the hub's HTTP handlers (TAXII 2.1, REST /api/v1) share: the
// stores, the accounts, the sharing policy inputs and the metrics. Built once by
// `aegis serve` (hub/hub.h); handlers hold a reference and run on server workers.
//
// Authentication for every hub endpoint goes through AuthenticateRequest: Bearer
// token, HTTP Basic (password or token as password), or the session cookie. Every
// endpoint then checks a Permission and, for objects, the TLP policy.
#pragma once

#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <optional>

#include "auth/accounts.h"
#include "auth/tlp_policy.h"
#include "intel/stix_store.h"
#include "server/metrics.h"
#include "server/router.h"
#include "store/store.h"

namespace aegis::hub {

struct HubContext {
  auth::Accounts* accounts = nullptr;  // required
  intel::StixStore* stix = nullptr;    // required
  store::Store* alerts = nullptr;      // may be null (no alert store configured)
  server::MetricsRegistry* metrics = nullptr;  // may be null
  std::string title = "Aegis threat-intelligence hub";
  std::string contact;                 // discovery `contact`
  std::string api_root = "hub";        // TAXII API root path segment: /taxii2/<api_root>/
  size_t max_page = 1000;              // TAXII/REST page size cap
  size_t max_content_length = 64u << 20;  // advertised max_content_length
};

// The authenticated caller, or the 401 response to send (with WWW-Authenticate).
std::expected<auth::Principal, server::Response> AuthenticateRequest(
    const HubContext& context, const server::Request& request);

// The TLP policy input for a stored object, with the producer's default TLP and
// share list taken from its organisation (looked up through `accounts`, cached
// briefly). Used by every read path before it hands out an object.
class VisibilityCheck {
 public:
  VisibilityCheck(const HubContext& context, auth::Reader reader, auth::ReadPath path);
  bool operator()(const intel::ObjectMeta& meta);
  // The predicate for intel::ObjectQuery::visible (borrows *this).
  std::function<bool(const intel::ObjectMeta&)> AsPredicate();
  uint64_t denied() const { return denied_; }

 private:
  const HubContext& context_;
  auth::Reader reader_;
  auth::ReadPath path_;
  uint64_t denied_ = 0;
  std::unordered_map<std::string, std::optional<auth::Organisation>> orgs_;  // per request
};

}  // namespace aegis::hub
