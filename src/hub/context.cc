// Authentication and TLP visibility shared by the hub's handlers: see hub/context.h.
#include "hub/context.h"

#include <utility>

namespace aegis::hub {

std::expected<auth::Principal, server::Response> AuthenticateRequest(
    const HubContext& context, const server::Request& request) {
  auto principal =
      context.accounts->AuthenticateHttp(request.Header("Authorization"), request.Header("Cookie"));
  if (principal) return *principal;
  server::Response response = server::Response::Error(401, "authentication required");
  response.headers.emplace_back("WWW-Authenticate", "Basic realm=\"aegis\", Bearer realm=\"aegis\"");
  return std::unexpected(std::move(response));
}

VisibilityCheck::VisibilityCheck(const HubContext& context, auth::Reader reader,
                                 auth::ReadPath path)
    : context_(context), reader_(std::move(reader)), path_(path) {}

bool VisibilityCheck::operator()(const intel::ObjectMeta& meta) {
  auth::SharedObject object = meta.AsShared();
  if (!meta.producer_org.empty()) {
    auto found = orgs_.find(meta.producer_org);
    if (found == orgs_.end()) {
      auto org = context_.accounts->GetOrg(meta.producer_org);
      found = orgs_.emplace(meta.producer_org, org ? *org : std::nullopt).first;
    }
    if (found->second) {
      object.producer_default = found->second->default_tlp;
      for (const auto& peer : found->second->amber_share_with) {
        object.amber_share_with.push_back(peer);
      }
    }
  }
  const bool allowed = auth::Decide(reader_, object, path_).allowed;
  if (!allowed) ++denied_;
  return allowed;
}

std::function<bool(const intel::ObjectMeta&)> VisibilityCheck::AsPredicate() {
  return [this](const intel::ObjectMeta& meta) { return (*this)(meta); };
}

}  // namespace aegis::hub
