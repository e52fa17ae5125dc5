// Small vocabulary types shared by every stage: TLP markings and severities.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace aegis {

// Traffic Light Protocol 2.0 (FIRST). Ordered from least to most restrictive.
enum class Tlp : unsigned char { kClear, kGreen, kAmber, kAmberStrict, kRed };

std::string_view TlpName(Tlp tlp);  // "TLP:CLEAR", "TLP:AMBER+STRICT", ...
// Accepts "clear", "TLP:GREEN", "white" (TLP 1.0), "amber+strict", case-insensitive.
std::optional<Tlp> ParseTlp(std::string_view text);

// The STIX marking-definition objects that stand for TLP levels.
struct StixTlpMarking {
  std::string_view id;      // "marking-definition--<uuid>"
  Tlp tlp;
  std::string_view source;  // "TLP 1.0 (STIX 2.1 7.2.1.4)" or "TLP 2.0 (OASIS extension)"
};
// All of them: the four TLP 1.0 definitions and the five TLP 2.0 ones.
std::span<const StixTlpMarking> StixTlpMarkings();
// The TLP of one marking-definition id (exact, case-sensitive), or nullopt.
std::optional<Tlp> TlpFromStixMarking(std::string_view marking_definition_id);

enum class Severity : unsigned char { kInformational, kLow, kMedium, kHigh, kCritical };

std::string_view SeverityName(Severity s);  // "informational", "low", ...
std::optional<Severity> ParseSeverity(std::string_view text);

}  // namespace aegis
