// libFuzzer target: VetValue with every type hint, and the core observable parsers it
// builds on (ParseIp / FormatIp round trip, ParseCidr, NormalizeUrl, NormalizeEmail,
// NormalizeDomainForMatch agreeing with NormalizeDomain).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/observables.h"
#include "intel/intel.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  using aegis::IndicatorType;
  const std::optional<IndicatorType> kHints[] = {
      std::nullopt,          IndicatorType::kIpv4, IndicatorType::kIpv6,   IndicatorType::kCidr,
      IndicatorType::kDomain, IndicatorType::kUrl, IndicatorType::kMd5,    IndicatorType::kSha1,
      IndicatorType::kSha256, IndicatorType::kEmail,
  };
  for (const auto& hint : kHints) {
    for (bool allow_private : {false, true}) {
      auto vetted = aegis::intel::VetValue(input, hint, allow_private);
      if (!vetted) {
        if (vetted.error().empty()) __builtin_trap();
        continue;
      }
      if (vetted->value.empty()) __builtin_trap();
      if (vetted->type == IndicatorType::kUrl) continue;
      auto again = aegis::intel::VetValue(vetted->value, vetted->type, allow_private);
      if (!again || again->value != vetted->value || again->type != vetted->type) __builtin_trap();
    }
  }
  if (auto ip = aegis::ParseIp(input)) {
    auto round_trip = aegis::ParseIp(aegis::FormatIp(*ip));
    if (!round_trip || !(*round_trip == *ip)) __builtin_trap();
  }
  if (auto prefix = aegis::ParseCidr(input)) {
    auto round_trip = aegis::ParseCidr(aegis::FormatPrefix(*prefix));
    if (!round_trip || round_trip->length != prefix->length || !(round_trip->addr == prefix->addr)) __builtin_trap();
    (void)aegis::SpecialRangeReason(*prefix);
  }
  (void)aegis::NormalizeUrl(input);
  (void)aegis::NormalizeEmail(input);
  std::string out;
  bool usable = aegis::NormalizeDomainForMatch(input, out);
  auto strict = aegis::NormalizeDomain(input);
  if (strict && (!usable || out != *strict)) __builtin_trap();
  return 0;
}
