// Indicator: one threat indicator (IoC) and the metadata that travels with it.
//
// Loaders (src/intel) produce indicators; the index (src/detect) matches them.
// Metadata is shared: a feed file's thousands of indicators point at one
// IndicatorMeta, so an indicator costs little more than its value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/types.h"

namespace aegis {

enum class IndicatorType : unsigned char {
  kIpv4,
  kIpv6,
  kCidr,    // an IPv4 or IPv6 range, matched by longest prefix
  kDomain,  // matches the name and all its subdomains
  kUrl,
  kMd5,
  kSha1,
  kSha256,
  kEmail,
};

std::string_view IndicatorTypeName(IndicatorType t);  // "ipv4", "domain", "sha256", ...
std::optional<IndicatorType> ParseIndicatorType(std::string_view name);

struct IndicatorMeta {
  std::string source;              // feed or file it came from, e.g. "maltrail/malware/emotet"
  int confidence = 50;             // 0..100
  Tlp tlp = Tlp::kClear;
  std::vector<std::string> tags;   // e.g. "malware:emotet", "c2"
  int64_t first_seen_ns = 0;       // 0 = unknown
  int64_t last_seen_ns = 0;        // 0 = unknown
  int64_t valid_until_ns = 0;      // 0 = no expiry; past it the indicator stops matching
  std::string description;
  Severity severity = Severity::kHigh;  // severity of an alert raised by this indicator

  bool operator==(const IndicatorMeta&) const = default;
};

struct Indicator {
  IndicatorType type = IndicatorType::kDomain;
  std::string value;  // normalised (see core/observables.h)
  IndicatorMeta meta;
};

}  // namespace aegis
