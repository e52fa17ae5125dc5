// Small vocabulary types shared by every stage: TLP markings and severities.
#pragma once

#include <optional>
#include <string_view>

namespace aegis {

// Traffic Light Protocol 2.0 (FIRST). Ordered from least to most restrictive.
enum class Tlp : unsigned char { kClear, kGreen, kAmber, kAmberStrict, kRed };

std::string_view TlpName(Tlp tlp);  // "TLP:CLEAR", "TLP:AMBER+STRICT", ...
// Accepts "clear", "TLP:GREEN", "white" (TLP 1.0), "amber+strict", case-insensitive.
std::optional<Tlp> ParseTlp(std::string_view text);

enum class Severity : unsigned char { kInformational, kLow, kMedium, kHigh, kCritical };

std::string_view SeverityName(Severity s);  // "informational", "low", ...
std::optional<Severity> ParseSeverity(std::string_view text);

}  // namespace aegis
