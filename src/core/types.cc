#include "core/types.h"

#include "core/strings.h"

namespace aegis {

std::string_view TlpName(Tlp tlp) {
  switch (tlp) {
    case Tlp::kClear: return "TLP:CLEAR";
    case Tlp::kGreen: return "TLP:GREEN";
    case Tlp::kAmber: return "TLP:AMBER";
    case Tlp::kAmberStrict: return "TLP:AMBER+STRICT";
    case Tlp::kRed: return "TLP:RED";
  }
  return "TLP:CLEAR";
}

std::optional<Tlp> ParseTlp(std::string_view text) {
  std::string t = AsciiLower(Trim(text));
  if (t.starts_with("tlp:")) t.erase(0, 4);
  if (t == "clear" || t == "white") return Tlp::kClear;
  if (t == "green") return Tlp::kGreen;
  if (t == "amber") return Tlp::kAmber;
  if (t == "amber+strict" || t == "amber-strict" || t == "amber_strict") return Tlp::kAmberStrict;
  if (t == "red") return Tlp::kRed;
  return std::nullopt;
}

namespace {

// Sources:
// - TLP 1.0: STIX 2.1 (OASIS Standard), section 7.2.1.4 "TLP Marking", the four
//   predefined marking-definition objects (created 2017-01-20).
// - TLP 2.0: OASIS CTI "TLP 2.0 marking definitions" property extension,
//   extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d (created 2022-10-01).
constexpr std::string_view kTlp1 = "TLP 1.0 (STIX 2.1 7.2.1.4)";
constexpr std::string_view kTlp2 = "TLP 2.0 (OASIS extension)";
constexpr StixTlpMarking kStixTlpMarkings[] = {
    {"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", Tlp::kClear, kTlp1},  // WHITE
    {"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", Tlp::kGreen, kTlp1},
    {"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", Tlp::kAmber, kTlp1},
    {"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", Tlp::kRed, kTlp1},
    {"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", Tlp::kClear, kTlp2},
    {"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", Tlp::kGreen, kTlp2},
    {"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", Tlp::kAmber, kTlp2},
    {"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", Tlp::kAmberStrict, kTlp2},
    {"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", Tlp::kRed, kTlp2},
};

}  // namespace

std::span<const StixTlpMarking> StixTlpMarkings() { return kStixTlpMarkings; }

std::optional<Tlp> TlpFromStixMarking(std::string_view marking_definition_id) {
  for (const StixTlpMarking& m : kStixTlpMarkings) {
    if (m.id == marking_definition_id) return m.tlp;
  }
  return std::nullopt;
}

std::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kInformational: return "informational";
    case Severity::kLow: return "low";
    case Severity::kMedium: return "medium";
    case Severity::kHigh: return "high";
    case Severity::kCritical: return "critical";
  }
  return "informational";
}

std::optional<Severity> ParseSeverity(std::string_view text) {
  std::string t = AsciiLower(Trim(text));
  if (t == "informational" || t == "info") return Severity::kInformational;
  if (t == "low") return Severity::kLow;
  if (t == "medium") return Severity::kMedium;
  if (t == "high") return Severity::kHigh;
  if (t == "critical") return Severity::kCritical;
  return std::nullopt;
}

}  // namespace aegis
