#include "core/indicator.h"

#include "core/strings.h"

namespace aegis {

std::string_view IndicatorTypeName(IndicatorType t) {
  switch (t) {
    case IndicatorType::kIpv4: return "ipv4";
    case IndicatorType::kIpv6: return "ipv6";
    case IndicatorType::kCidr: return "cidr";
    case IndicatorType::kDomain: return "domain";
    case IndicatorType::kUrl: return "url";
    case IndicatorType::kMd5: return "md5";
    case IndicatorType::kSha1: return "sha1";
    case IndicatorType::kSha256: return "sha256";
    case IndicatorType::kEmail: return "email";
  }
  return "domain";
}

std::optional<IndicatorType> ParseIndicatorType(std::string_view name) {
  std::string n = AsciiLower(Trim(name));
  for (auto t : {IndicatorType::kIpv4, IndicatorType::kIpv6, IndicatorType::kCidr,
                 IndicatorType::kDomain, IndicatorType::kUrl, IndicatorType::kMd5,
                 IndicatorType::kSha1, IndicatorType::kSha256, IndicatorType::kEmail}) {
    if (n == IndicatorTypeName(t)) return t;
  }
  if (n == "ip" || n == "ip-dst" || n == "ip-src") return IndicatorType::kIpv4;
  if (n == "hostname" || n == "domain-name" || n == "fqdn") return IndicatorType::kDomain;
  if (n == "email-addr" || n == "email-src" || n == "email-dst") return IndicatorType::kEmail;
  if (n == "sha-1") return IndicatorType::kSha1;
  if (n == "sha-256") return IndicatorType::kSha256;
  return std::nullopt;
}

}  // namespace aegis
