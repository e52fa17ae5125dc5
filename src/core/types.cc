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
