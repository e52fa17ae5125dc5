// STIX 2.1 object validation and versioning (see stix_object.h, docs/STIX.md).
// Section numbers (§) refer to STIX Version 2.1, OASIS Standard, 10 June 2021. The
// required properties per type come from the OASIS JSON schemas
// (oasis-open/cti-stix2-json-schemas, schemas/sdos, sros, common), encoded here.
#include "intel/stix_object.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <compare>
#include <iterator>
#include <limits>
#include <optional>
#include <span>
#include <utility>

namespace aegis::intel::stix {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

// Validation failures inside one object: the property and why. The caller adds
// which object.
struct Problem {
  std::string field;
  std::string reason;
};
using Check = std::expected<void, Problem>;

std::unexpected<Problem> Bad(std::string_view field, std::string reason) {
  return std::unexpected<Problem>(Problem{std::string(field), std::move(reason)});
}

// ---------------------------------------------------------------------------
// Object kinds and the per-type tables.

enum class Kind {
  kSdo,
  kSro,
  kSco,
  kMarkingDefinition,
  kLanguageContent,
  kExtensionDefinition,
  kCustom
};

struct TypeRule {
  std::string_view type;
  Kind kind;
  std::vector<std::string_view> required;    // beyond the common ones of the kind
  std::vector<std::string_view> properties;  // type-specific properties (schemas)
};

const std::vector<TypeRule>& TypeRules() {
  // clang-format off
  static const std::vector<TypeRule> rules = {
      // §4 STIX Domain Objects.
      {"attack-pattern", Kind::kSdo, {"name"}, {"aliases", "description", "kill_chain_phases", "name"}},
      {"campaign", Kind::kSdo, {"name"}, {"aliases", "description", "first_seen", "last_seen", "name", "objective"}},
      {"course-of-action", Kind::kSdo, {"name"}, {"description", "name"}},
      {"grouping", Kind::kSdo, {"context", "object_refs"}, {"context", "description", "name", "object_refs"}},
      {"identity", Kind::kSdo, {"name"}, {"contact_information", "description", "identity_class", "name", "roles", "sectors"}},
      {"incident", Kind::kSdo, {"name"}, {"description", "name", "kill_chain_phases"}},
      {"indicator", Kind::kSdo, {"pattern", "pattern_type", "valid_from"},
       {"description", "indicator_types", "kill_chain_phases", "name", "pattern", "pattern_type", "pattern_version",
        "valid_from", "valid_until"}},
      {"infrastructure", Kind::kSdo, {"name"},
       {"aliases", "description", "first_seen", "infrastructure_types", "kill_chain_phases", "last_seen", "name"}},
      {"intrusion-set", Kind::kSdo, {"name"},
       {"aliases", "description", "first_seen", "goals", "last_seen", "name", "primary_motivation", "resource_level",
        "secondary_motivations"}},
      {"location", Kind::kSdo, {},
       {"administrative_area", "city", "country", "description", "latitude", "longitude", "name", "postal_code",
        "precision", "region", "street_address"}},
      {"malware", Kind::kSdo, {"is_family"},
       {"aliases", "architecture_execution_envs", "capabilities", "description", "first_seen",
        "implementation_languages", "is_family", "kill_chain_phases", "last_seen", "malware_types", "name",
        "operating_system_refs", "sample_refs"}},
      {"malware-analysis", Kind::kSdo, {"product"},
       {"analysis_definition_version", "analysis_ended", "analysis_engine_version", "analysis_sco_refs",
        "analysis_started", "configuration_version", "host_vm_ref", "installed_software_refs", "modules",
        "operating_system_ref", "product", "result", "result_name", "sample_ref", "submitted", "version"}},
      {"note", Kind::kSdo, {"content", "object_refs"}, {"abstract", "authors", "content", "object_refs"}},
      {"observed-data", Kind::kSdo, {"first_observed", "last_observed", "number_observed"},
       {"first_observed", "last_observed", "number_observed", "object_refs", "objects"}},
      {"opinion", Kind::kSdo, {"opinion", "object_refs"}, {"authors", "explanation", "object_refs", "opinion"}},
      {"report", Kind::kSdo, {"name", "published", "object_refs"},
       {"description", "name", "object_refs", "published", "report_types"}},
      {"threat-actor", Kind::kSdo, {"name"},
       {"aliases", "description", "first_seen", "goals", "last_seen", "name", "personal_motivations",
        "primary_motivation", "resource_level", "roles", "secondary_motivations", "sophistication",
        "threat_actor_types"}},
      {"tool", Kind::kSdo, {"name"}, {"aliases", "description", "kill_chain_phases", "name", "tool_types", "tool_version"}},
      {"vulnerability", Kind::kSdo, {"name"}, {"description", "name"}},
      // §5 STIX Relationship Objects.
      {"relationship", Kind::kSro, {"relationship_type", "source_ref", "target_ref"},
       {"description", "relationship_type", "source_ref", "start_time", "stop_time", "target_ref"}},
      {"sighting", Kind::kSro, {"sighting_of_ref"},
       {"count", "description", "first_seen", "last_seen", "observed_data_refs", "sighting_of_ref", "summary",
        "where_sighted_refs"}},
      // §7 STIX Meta Objects.
      {"language-content", Kind::kLanguageContent, {"object_ref", "contents"},
       {"contents", "object_modified", "object_ref"}},
      {"marking-definition", Kind::kMarkingDefinition, {}, {"definition", "definition_type", "name"}},
      {"extension-definition", Kind::kExtensionDefinition, {"name", "schema", "version", "extension_types"},
       {"description", "extension_properties", "extension_types", "name", "schema", "version"}},
      // §6 STIX Cyber-observable Objects: type and id only (loose, see docs/STIX.md).
      {"artifact", Kind::kSco, {}, {}},
      {"autonomous-system", Kind::kSco, {}, {}},
      {"directory", Kind::kSco, {}, {}},
      {"domain-name", Kind::kSco, {}, {}},
      {"email-addr", Kind::kSco, {}, {}},
      {"email-message", Kind::kSco, {}, {}},
      {"file", Kind::kSco, {}, {}},
      {"ipv4-addr", Kind::kSco, {}, {}},
      {"ipv6-addr", Kind::kSco, {}, {}},
      {"mac-addr", Kind::kSco, {}, {}},
      {"mutex", Kind::kSco, {}, {}},
      {"network-traffic", Kind::kSco, {}, {}},
      {"process", Kind::kSco, {}, {}},
      {"software", Kind::kSco, {}, {}},
      {"url", Kind::kSco, {}, {}},
      {"user-account", Kind::kSco, {}, {}},
      {"windows-registry-key", Kind::kSco, {}, {}},
      {"x509-certificate", Kind::kSco, {}, {}},
  };
  // clang-format on
  return rules;
}

const TypeRule* FindTypeRule(std::string_view type) {
  for (const TypeRule& rule : TypeRules()) {
    if (rule.type == type) return &rule;
  }
  return nullptr;
}

// §3.2 common properties of SDOs and SROs (and of language-content, §7.1).
constexpr std::array<std::string_view, 14> kCommonProperties = {"type",
                                                                "spec_version",
                                                                "id",
                                                                "created_by_ref",
                                                                "created",
                                                                "modified",
                                                                "revoked",
                                                                "labels",
                                                                "confidence",
                                                                "lang",
                                                                "external_references",
                                                                "object_marking_refs",
                                                                "granular_markings",
                                                                "extensions"};
// §7.2.1 marking-definition has no modified, revoked, labels, confidence or lang.
constexpr std::array<std::string_view, 9> kMarkingProperties = {"type",
                                                                "spec_version",
                                                                "id",
                                                                "created_by_ref",
                                                                "created",
                                                                "external_references",
                                                                "object_marking_refs",
                                                                "granular_markings",
                                                                "extensions"};

template <typename List>
bool Contains(const List& list, std::string_view name) {
  return std::find(std::begin(list), std::end(list), name) != std::end(list);
}

// ---------------------------------------------------------------------------
// Lexical rules.

bool IsLowerAlpha(char c) { return c >= 'a' && c <= 'z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// §2.9 / §3.1: type names are 3-250 characters of a-z, 0-9 and '-', start with a
// letter; the identifier schema further excludes "--" and a trailing '-'.
std::optional<std::string> TypeNameProblem(std::string_view type) {
  if (type.size() < 3 || type.size() > 250) return "must be 3 to 250 characters long";
  if (!IsLowerAlpha(type.front())) return "must start with a lower-case letter";
  for (char c : type) {
    if (!IsLowerAlpha(c) && !IsDigit(c) && c != '-') return "may only contain a-z, 0-9 and '-'";
  }
  if (type.find("--") != std::string_view::npos) return "must not contain \"--\"";
  if (type.back() == '-') return "must not end with '-'";
  return std::nullopt;
}

// RFC 4122 text form 8-4-4-4-12 hex digits, version 1-5 and the RFC 4122 variant
// (as the identifier schema requires).
bool IsRfc4122Uuid(std::string_view uuid) {
  if (uuid.size() != 36) return false;
  for (size_t i = 0; i < uuid.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (uuid[i] != '-') return false;
    } else if (!IsHex(uuid[i])) {
      return false;
    }
  }
  if (uuid[14] < '1' || uuid[14] > '5') return false;
  char variant = uuid[19];
  return variant == '8' || variant == '9' || variant == 'a' || variant == 'b' || variant == 'A' ||
         variant == 'B';
}

// §2.9 identifier: <type>--<UUID>.
std::optional<std::string> IdentifierProblem(std::string_view id) {
  size_t separator = id.find("--");
  if (separator == std::string_view::npos) return "not an identifier <type>--<UUID>";
  if (auto type_problem = TypeNameProblem(id.substr(0, separator))) {
    return "identifier type prefix " + *type_problem;
  }
  if (!IsRfc4122Uuid(id.substr(separator + 2))) return "identifier UUID is not an RFC 4122 UUID";
  return std::nullopt;
}

// §3.1 property names: a-z, 0-9, '_', 3 to 250 characters, starting with a letter
// (the properties schema; "id" is the one shorter name).
bool IsPropertyName(std::string_view name) {
  if (name == "id") return true;
  if (name.size() < 3 || name.size() > 250 || !IsLowerAlpha(name.front())) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return IsLowerAlpha(c) || IsDigit(c) || c == '_'; });
}

// §2.15 timestamp: YYYY-MM-DDTHH:MM:SS[.fraction]Z, UTC only.
struct Timestamp {
  int64_t seconds = 0;  // Unix seconds
  int32_t nanos = 0;
  int fraction_digits = 0;
  auto operator<=>(const Timestamp& other) const {
    if (auto order = seconds <=> other.seconds; order != 0) return order;
    return nanos <=> other.nanos;
  }
  bool operator==(const Timestamp& other) const {
    return seconds == other.seconds && nanos == other.nanos;
  }
  // Saturates outside the int64 nanosecond range (years 1678 to 2261).
  int64_t UnixNs() const {
    constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / 1'000'000'000 - 1;
    if (seconds > kMaxSeconds) return std::numeric_limits<int64_t>::max();
    if (seconds < -kMaxSeconds) return std::numeric_limits<int64_t>::min();
    return seconds * 1'000'000'000 + nanos;
  }
};

int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day) {
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const unsigned year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<int64_t>(day_of_era) - 719468;
}

std::optional<Timestamp> ParseStixTimestamp(std::string_view text) {
  auto digits = [&](size_t pos, size_t count) -> std::optional<int> {
    if (pos + count > text.size()) return std::nullopt;
    int value = 0;
    for (size_t i = pos; i < pos + count; ++i) {
      if (!IsDigit(text[i])) return std::nullopt;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text.back() != 'Z') {
    return std::nullopt;
  }
  auto year = digits(0, 4), month = digits(5, 2), day = digits(8, 2);
  auto hour = digits(11, 2), minute = digits(14, 2), second = digits(17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  if (*month < 1 || *month > 12 || *day < 1 || *hour > 23 || *minute > 59 || *second > 60)
    return std::nullopt;
  static constexpr int kDaysInMonth[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (*year % 4 == 0 && *year % 100 != 0) || *year % 400 == 0;
  int month_days = kDaysInMonth[*month - 1] + (*month == 2 && leap ? 1 : 0);
  if (*day > month_days) return std::nullopt;
  Timestamp out;
  size_t pos = 19;
  if (text[pos] == '.') {
    ++pos;
    int64_t nanos = 0;
    while (pos < text.size() && IsDigit(text[pos])) {
      if (out.fraction_digits < 9) nanos = nanos * 10 + (text[pos] - '0');
      ++out.fraction_digits;
      ++pos;
    }
    if (out.fraction_digits == 0) return std::nullopt;
    for (int i = out.fraction_digits; i < 9; ++i) nanos *= 10;
    out.nanos = static_cast<int32_t>(nanos);
  }
  if (pos != text.size() - 1) return std::nullopt;
  out.seconds = DaysFromCivil(*year, *month, *day) * 86400 + *hour * 3600 + *minute * 60 + *second;
  return out;
}

// ---------------------------------------------------------------------------
// Property readers.

std::string_view TypeName(element value) {
  switch (value.type()) {
    case element_type::ARRAY:
      return "a list";
    case element_type::OBJECT:
      return "an object";
    case element_type::STRING:
      return "a string";
    case element_type::BOOL:
      return "a boolean";
    case element_type::NULL_VALUE:
      return "null";
    default:
      return "a number";
  }
}

std::expected<std::string_view, Problem> GetString(object obj, std::string_view name) {
  element value;
  if (obj[name].get(value)) return Bad(name, "required property is missing");
  std::string_view text;
  if (value.get_string().get(text))
    return Bad(name, "must be a string, not " + std::string(TypeName(value)));
  return text;
}

std::expected<Timestamp, Problem> GetTimestamp(object obj, std::string_view name) {
  auto text = GetString(obj, name);
  if (!text) return std::unexpected(text.error());
  auto stamp = ParseStixTimestamp(*text);
  if (!stamp) {
    return Bad(name, "not a STIX timestamp (RFC 3339 in UTC, YYYY-MM-DDTHH:MM:SS[.s+]Z): \"" +
                         std::string(*text) + "\"");
  }
  return *stamp;
}

std::optional<Timestamp> OptionalTimestamp(object obj, std::string_view name, Check& check) {
  if (!check || obj[name].error()) return std::nullopt;
  auto stamp = GetTimestamp(obj, name);
  if (!stamp) {
    check = std::unexpected(stamp.error());
    return std::nullopt;
  }
  return *stamp;
}

bool Has(object obj, std::string_view name) { return !obj[name].error(); }

// An integer property within [min, max].
Check CheckIntegerRange(object obj, std::string_view name, int64_t min, int64_t max) {
  element value;
  if (obj[name].get(value)) return {};
  int64_t number = 0;
  if (value.get_int64().get(number))
    return Bad(name, "must be an integer, not " + std::string(TypeName(value)));
  if (number < min || number > max) {
    return Bad(name, std::to_string(number) + " is out of range " + std::to_string(min) + ".." +
                         std::to_string(max));
  }
  return {};
}

Check CheckNumberRange(object obj, std::string_view name, double min, double max) {
  element value;
  if (obj[name].get(value)) return {};
  double number = 0;
  if (value.get_double().get(number))
    return Bad(name, "must be a number, not " + std::string(TypeName(value)));
  if (number < min || number > max) {
    return Bad(name, std::to_string(number) + " is out of range " + std::to_string(min) + ".." +
                         std::to_string(max));
  }
  return {};
}

Check CheckBoolean(object obj, std::string_view name) {
  element value;
  if (obj[name].get(value)) return {};
  if (value.type() != element_type::BOOL)
    return Bad(name, "must be a boolean, not " + std::string(TypeName(value)));
  return {};
}

// A non-empty list (§2.12 lists MUST NOT be empty) whose items all pass `is_item`.
template <typename IsItem>
Check CheckList(object obj, std::string_view name, IsItem is_item, std::string_view items_are) {
  element value;
  if (obj[name].get(value)) return {};
  array items;
  if (value.get_array().get(items))
    return Bad(name, "must be a list, not " + std::string(TypeName(value)));
  if (items.size() == 0) return Bad(name, "must not be an empty list");
  for (element item : items) {
    if (!is_item(item)) return Bad(name, "must be a list of " + std::string(items_are));
  }
  return {};
}

Check CheckStringList(object obj, std::string_view name) {
  return CheckList(
      obj, name, [](element e) { return e.is_string(); }, "strings");
}

Check CheckObjectList(object obj, std::string_view name) {
  return CheckList(
      obj, name, [](element e) { return e.is_object(); }, "objects");
}

// Checks one reference; `allowed_types` empty means any type.
Check CheckReference(std::string_view name, std::string_view ref,
                     std::span<const std::string_view> allowed_types) {
  if (auto problem = IdentifierProblem(ref))
    return Bad(name, "\"" + std::string(ref) + "\": " + *problem);
  if (!allowed_types.empty()) {
    std::string_view ref_type = ref.substr(0, ref.find("--"));
    if (!Contains(allowed_types, ref_type)) {
      std::string expected;
      for (std::string_view type : allowed_types)
        expected += (expected.empty() ? "" : " or ") + std::string(type);
      return Bad(name, "\"" + std::string(ref) + "\" must refer to " + expected);
    }
  }
  return {};
}

// Reference properties whose target type the specification fixes.
std::span<const std::string_view> AllowedReferenceTypes(std::string_view type,
                                                        std::string_view name) {
  static constexpr std::string_view kIdentity[] = {"identity"};
  static constexpr std::string_view kMarking[] = {"marking-definition"};
  static constexpr std::string_view kObservedData[] = {"observed-data"};
  static constexpr std::string_view kWhereSighted[] = {"identity", "location"};
  if (name == "created_by_ref") return kIdentity;                                // §3.2
  if (name == "object_marking_refs") return kMarking;                            // §3.2, §7.2.2
  if (type == "sighting" && name == "observed_data_refs") return kObservedData;  // §5.2
  if (type == "sighting" && name == "where_sighted_refs") return kWhereSighted;  // §5.2
  return {};
}

// §2.9 + §3.5: every top-level *_ref is an identifier, every *_refs a non-empty list
// of identifiers.
Check CheckReferences(object obj, std::string_view type, StixObject& out) {
  for (auto [key, value] : obj) {
    auto allowed = AllowedReferenceTypes(type, key);
    if (key.ends_with("_ref")) {
      std::string_view ref;
      if (value.get_string().get(ref))
        return Bad(key, "must be an identifier string, not " + std::string(TypeName(value)));
      if (auto check = CheckReference(key, ref, allowed); !check) return check;
      if (key == "created_by_ref") out.created_by_ref = ref;
    } else if (key.ends_with("_refs")) {
      array items;
      if (value.get_array().get(items))
        return Bad(key, "must be a list of identifiers, not " + std::string(TypeName(value)));
      if (items.size() == 0) return Bad(key, "must not be an empty list");
      for (element item : items) {
        std::string_view ref;
        if (item.get_string().get(ref)) return Bad(key, "must be a list of identifier strings");
        if (auto check = CheckReference(key, ref, allowed); !check) return check;
        if (key == "object_marking_refs") out.object_marking_refs.emplace_back(ref);
      }
    }
  }
  return {};
}

// §11.1 custom properties. Names must follow §3.1. On the specification's own types
// a property the schemas do not list is allowed when its name starts with "x_", or
// when the object declares `extensions` (§7.3: extensions may add top-level
// properties). Custom types (x-...) and SCOs accept any well-formed name.
Check CheckPropertyNames(object obj, const TypeRule* rule) {
  for (auto [key, value] : obj) {
    if (!IsPropertyName(key)) {
      return Bad(key,
                 "property names are 3-250 characters of a-z, 0-9 and '_', starting with a letter");
    }
  }
  if (rule == nullptr || rule->kind == Kind::kSco) return {};
  bool has_extensions = Has(obj, "extensions");
  for (auto [key, value] : obj) {
    bool known = Contains(rule->properties, key) ||
                 (rule->kind == Kind::kMarkingDefinition ? Contains(kMarkingProperties, key)
                                                         : Contains(kCommonProperties, key));
    if (known || key.starts_with("x_") || has_extensions) continue;
    return Bad(
        key,
        "not a property of " + std::string(rule->type) +
            " (custom properties must start with \"x_\", or the object must declare extensions)");
  }
  return {};
}

// §3.2 common properties other than type/id/created/modified and references.
Check CheckCommonValues(object obj) {
  if (auto check = CheckStringList(obj, "labels"); !check) return check;
  if (auto check = CheckIntegerRange(obj, "confidence", 0, 100); !check) return check;
  if (auto check = CheckBoolean(obj, "revoked"); !check) return check;
  if (Has(obj, "lang")) {
    if (auto lang = GetString(obj, "lang"); !lang) return std::unexpected(lang.error());
  }
  if (auto check = CheckObjectList(obj, "external_references"); !check) return check;
  if (auto check = CheckObjectList(obj, "granular_markings"); !check) return check;
  element extensions;
  if (!obj["extensions"].get(extensions)) {
    object members;
    if (extensions.get_object().get(members))
      return Bad("extensions", "must be an object (a dictionary)");
    if (members.size() == 0) return Bad("extensions", "must not be empty");
  }
  return {};
}

// Later-than checks between two optional timestamps of one object.
Check CheckOrder(object obj, std::string_view earlier, std::string_view later, bool strictly) {
  Check check;
  auto first = OptionalTimestamp(obj, earlier, check);
  auto second = OptionalTimestamp(obj, later, check);
  if (!check) return check;
  if (!first || !second) return {};
  if (strictly ? *second <= *first : *second < *first) {
    return Bad(later, std::string("must be ") + (strictly ? "later than " : "at or after ") +
                          std::string(earlier));
  }
  return {};
}

Check CheckRequired(object obj, const TypeRule& rule) {
  for (std::string_view name : rule.required) {
    if (!Has(obj, name))
      return Bad(name, "required property of " + std::string(rule.type) + " is missing");
  }
  return {};
}

// Per-type rules beyond required properties.
Check CheckTypeSpecific(object obj, std::string_view type) {
  // Properties that are timestamps wherever they appear on these types.
  static constexpr std::string_view kTimestampProperties[] = {
      "first_seen",     "last_seen",     "valid_from",     "valid_until", "published",
      "first_observed", "last_observed", "start_time",     "stop_time",   "analysis_started",
      "analysis_ended", "submitted",     "object_modified"};
  for (std::string_view name : kTimestampProperties) {
    if (Has(obj, name)) {
      if (auto stamp = GetTimestamp(obj, name); !stamp) return std::unexpected(stamp.error());
    }
  }
  // §4.2, §4.8, §4.9, §4.11, §4.17, §5.2: last_seen MUST NOT precede first_seen.
  if (auto check = CheckOrder(obj, "first_seen", "last_seen", false); !check) return check;

  if (type == "indicator") {  // §4.7
    for (std::string_view name : {"pattern", "pattern_type"}) {
      if (auto text = GetString(obj, name); !text) return std::unexpected(text.error());
    }
    if (auto check = CheckOrder(obj, "valid_from", "valid_until", true); !check) return check;
  } else if (type == "malware") {  // §4.11: is_family; a family needs a name
    if (auto check = CheckBoolean(obj, "is_family"); !check) return check;
    bool is_family = false;
    if (!obj["is_family"].get(is_family) && is_family && !Has(obj, "name")) {
      return Bad("name", "required when is_family is true");
    }
  } else if (type == "malware-analysis") {  // §4.12: result or analysis_sco_refs
    if (!Has(obj, "result") && !Has(obj, "analysis_sco_refs")) {
      return Bad("result", "malware-analysis needs result or analysis_sco_refs");
    }
  } else if (type == "observed-data") {  // §4.14
    if (auto check = CheckIntegerRange(obj, "number_observed", 1, 999'999'999); !check)
      return check;
    if (auto check = CheckOrder(obj, "first_observed", "last_observed", false); !check)
      return check;
    bool refs = Has(obj, "object_refs"), objects = Has(obj, "objects");
    if (refs == objects)
      return Bad("object_refs", "exactly one of object_refs and (deprecated) objects is required");
  } else if (type == "opinion") {  // §4.15 opinion-enum
    auto opinion = GetString(obj, "opinion");
    if (!opinion) return std::unexpected(opinion.error());
    static constexpr std::string_view kOpinions[] = {"strongly-disagree", "disagree", "neutral",
                                                     "agree", "strongly-agree"};
    if (!Contains(kOpinions, *opinion))
      return Bad("opinion", "\"" + std::string(*opinion) + "\" is not in opinion-enum");
  } else if (type == "location") {  // §4.10
    if (!Has(obj, "region") && !Has(obj, "country") &&
        !(Has(obj, "latitude") && Has(obj, "longitude"))) {
      return Bad("region", "location needs region, country, or latitude and longitude");
    }
    if (Has(obj, "latitude") != Has(obj, "longitude"))
      return Bad("longitude", "latitude and longitude go together");
    if (Has(obj, "precision") && !Has(obj, "latitude"))
      return Bad("precision", "requires latitude and longitude");
    if (auto check = CheckNumberRange(obj, "latitude", -90, 90); !check) return check;
    if (auto check = CheckNumberRange(obj, "longitude", -180, 180); !check) return check;
  } else if (type == "relationship") {  // §5.1
    auto relationship_type = GetString(obj, "relationship_type");
    if (!relationship_type) return std::unexpected(relationship_type.error());
    if (relationship_type->size() < 3 || relationship_type->size() > 250 ||
        !std::all_of(relationship_type->begin(), relationship_type->end(),
                     [](char c) { return IsLowerAlpha(c) || IsDigit(c) || c == '-'; })) {
      return Bad("relationship_type", "must be 3-250 characters of a-z, 0-9 and '-'");
    }
    if (auto check = CheckOrder(obj, "start_time", "stop_time", true); !check) return check;
  } else if (type == "sighting") {  // §5.2
    if (auto check = CheckIntegerRange(obj, "count", 0, 999'999'999); !check) return check;
  } else if (type == "extension-definition") {  // §7.3
    if (auto check = CheckStringList(obj, "extension_types"); !check) return check;
    static constexpr std::string_view kExtensionTypes[] = {
        "new-sdo", "new-sco", "new-sro", "property-extension", "toplevel-property-extension"};
    array types;
    if (!obj["extension_types"].get(types)) {
      for (element item : types) {
        std::string_view text;
        if (!item.get_string().get(text) && !Contains(kExtensionTypes, text)) {
          return Bad("extension_types",
                     "\"" + std::string(text) + "\" is not in extension-type-enum");
        }
      }
    }
  } else if (type == "language-content") {  // §7.1
    object contents;
    if (obj["contents"].get(contents)) return Bad("contents", "must be a dictionary of languages");
  }
  return {};
}

// §7.2.5 / §7.2.1.4: the TLP 1.0 marking definitions are predefined; TLP 2.0 ones are
// expressed through their extension (OASIS TLP 2.0 extension definition).
struct PredefinedTlp {
  std::string_view id;
  std::string_view tlp;  // the TLP 1.0 definition value; "" for TLP 2.0
};
constexpr PredefinedTlp kPredefinedTlp[] = {
    {"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", "white"},
    {"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "green"},
    {"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "amber"},
    {"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "red"},
    {"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", ""},  // TLP:CLEAR
    {"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", ""},  // TLP:GREEN
    {"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", ""},  // TLP:AMBER
    {"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", ""},  // TLP:AMBER+STRICT
    {"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", ""},  // TLP:RED
};

// §7.2.1: definition_type + definition, unless the marking is defined by extensions.
Check CheckMarkingDefinition(object obj, std::string_view id) {
  bool has_extensions = Has(obj, "extensions");
  if (!has_extensions || Has(obj, "definition_type") || Has(obj, "definition")) {
    auto definition_type = GetString(obj, "definition_type");
    if (!definition_type) return std::unexpected(definition_type.error());
    object definition;
    if (!Has(obj, "definition"))
      return Bad("definition", "required property of marking-definition is missing");
    if (obj["definition"].get(definition)) return Bad("definition", "must be an object");
    if (*definition_type == "tlp") {
      const PredefinedTlp* predefined = nullptr;
      for (const auto& tlp : kPredefinedTlp) {
        if (tlp.id == id && !tlp.tlp.empty()) predefined = &tlp;
      }
      if (predefined == nullptr)
        return Bad("id", "a TLP 1.0 marking must use one of the predefined TLP ids (§7.2.5)");
      std::string_view colour;
      if (definition["tlp"].get(colour) || colour != predefined->tlp) {
        return Bad("definition", "predefined TLP marking " + std::string(id) + " must have tlp \"" +
                                     std::string(predefined->tlp) + "\"");
      }
    }
  }
  return {};
}

// Validates one parsed object; fills `out`.
Check ValidateElement(element root, std::string_view raw, StixObject& out) {
  object obj;
  if (root.get_object().get(obj))
    return Bad("", "a STIX object must be a JSON object, not " + std::string(TypeName(root)));

  // §3.2 type, §2.9 id.
  auto type = GetString(obj, "type");
  if (!type) return std::unexpected(type.error());
  if (auto problem = TypeNameProblem(*type))
    return Bad("type", "\"" + std::string(*type) + "\" " + *problem);
  out.type = *type;
  auto id = GetString(obj, "id");
  if (!id) return std::unexpected(id.error());
  out.id = *id;
  if (auto problem = IdentifierProblem(*id)) return Bad("id", *problem);
  if (id->substr(0, id->find("--")) != *type) {
    return Bad("id", "prefix \"" + std::string(id->substr(0, id->find("--"))) +
                         "\" differs from type \"" + std::string(*type) + "\"");
  }
  if (*type == "bundle")
    return Bad("type", "a bundle is not a STIX object (bundles do not nest, §8)");

  const TypeRule* rule = FindTypeRule(*type);
  bool custom = type->starts_with("x-");
  if (rule == nullptr && !custom) {
    return Bad("type",
               "unknown type \"" + std::string(*type) +
                   "\" (not a STIX 2.1 type; custom object types must start with \"x-\", §11.2)");
  }
  Kind kind = rule != nullptr ? rule->kind : Kind::kCustom;

  // §3.2 spec_version: required on SDOs, SROs and meta objects; optional on SCOs
  // (§6.1) and accepted as optional on custom objects. When present, "2.1".
  bool spec_version_required = kind != Kind::kSco && kind != Kind::kCustom;
  if (spec_version_required || Has(obj, "spec_version")) {
    auto spec_version = GetString(obj, "spec_version");
    if (!spec_version) return std::unexpected(spec_version.error());
    if (*spec_version != "2.1")
      return Bad("spec_version", "must be \"2.1\", not \"" + std::string(*spec_version) + "\"");
    out.spec_version = *spec_version;
  }

  // §3.2 created / modified, §3.4 versioning. SDOs, SROs, language-content and
  // extension-definition require both (at millisecond precision); marking
  // definitions have created only (§7.2.1); SCOs have neither; custom objects are
  // checked when they carry them.
  bool needs_both = kind == Kind::kSdo || kind == Kind::kSro || kind == Kind::kLanguageContent ||
                    kind == Kind::kExtensionDefinition;
  Check check;
  std::optional<Timestamp> created, modified;
  if (needs_both || kind == Kind::kMarkingDefinition) {
    auto stamp = GetTimestamp(obj, "created");
    if (!stamp) return std::unexpected(stamp.error());
    created = *stamp;
  } else {
    created = OptionalTimestamp(obj, "created", check);
  }
  if (needs_both) {
    auto stamp = GetTimestamp(obj, "modified");
    if (!stamp) return std::unexpected(stamp.error());
    modified = *stamp;
  } else {
    modified = OptionalTimestamp(obj, "modified", check);
  }
  if (!check) return check;
  if (needs_both) {
    if (created->fraction_digits < 3)
      return Bad("created", "must be precise to the millisecond (§3.2)");
    if (modified->fraction_digits < 3)
      return Bad("modified", "must be precise to the millisecond (§3.2)");
  }
  if (created && modified && *modified < *created)
    return Bad("modified", "must not be earlier than created (§3.2)");
  if (created) {
    out.created_ns = created->UnixNs();
    out.version = *GetString(obj, "created");
    out.version_ns = out.created_ns;
  }
  if (modified) {
    out.modified_ns = modified->UnixNs();
    out.version = *GetString(obj, "modified");
    out.version_ns = out.modified_ns;
  }

  if (auto names = CheckPropertyNames(obj, rule); !names) return names;
  if (kind != Kind::kSco) {
    if (auto common = CheckCommonValues(obj); !common) return common;
  }
  if (auto refs = CheckReferences(obj, *type, out); !refs) return refs;
  if (rule != nullptr) {
    if (auto required = CheckRequired(obj, *rule); !required) return required;
    if (kind == Kind::kMarkingDefinition) {
      if (auto marking = CheckMarkingDefinition(obj, *id); !marking) return marking;
    } else if (kind != Kind::kSco) {
      if (auto specific = CheckTypeSpecific(obj, *type); !specific) return specific;
    }
  }
  out.json = raw;
  return {};
}

std::string_view TrimWhitespace(std::string_view text) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

// Parses and validates one object's text; `where` names it in the error.
Result<StixObject> ValidateText(simdjson::dom::parser& parser, std::string_view json,
                                std::string where, uint64_t offset) {
  json = TrimWhitespace(json);
  element root;
  auto fail = [&](std::string field, std::string reason, std::string_view id) {
    Error error;
    error.where = std::move(where);
    if (!id.empty()) error.where += error.where.empty() ? std::string(id) : " " + std::string(id);
    if (error.where.empty()) error.where = "object";
    error.offset = offset;
    error.field = std::move(field);
    error.reason = std::move(reason);
    return std::unexpected<Error>(std::move(error));
  };
  if (auto parse_error = parser.parse(json.data(), json.size()).get(root)) {
    return fail("", std::string("not valid JSON: ") + simdjson::error_message(parse_error), "");
  }
  StixObject out;
  if (auto check = ValidateElement(root, json, out); !check) {
    return fail(std::move(check.error().field), std::move(check.error().reason), out.id);
  }
  return out;
}

std::string Minify(std::string_view json) {
  std::string out(json.size(), '\0');
  size_t length = 0;
  if (simdjson::minify(json.data(), json.size(), out.data(), length)) return std::string(json);
  out.resize(length);
  return out;
}

}  // namespace

Result<StixObject> ValidateObject(std::string_view json) {
  simdjson::dom::parser parser;
  return ValidateText(parser, json, "", 0);
}

Result<BundleResult> ValidateBundle(std::string_view json) {
  // §8 bundle: the outer walk uses On-Demand to keep each object's bytes as received;
  // each object is then parsed and validated on its own, so one malformed object is
  // one rejection.
  simdjson::padded_string padded(json);
  simdjson::ondemand::parser outer;
  simdjson::ondemand::document doc;
  auto not_bundle = [](std::string field, std::string reason) {
    Error error;
    error.where = "bundle";
    error.field = std::move(field);
    error.reason = std::move(reason);
    return std::unexpected<Error>(std::move(error));
  };
  if (auto error = outer.iterate(padded).get(doc)) {
    return not_bundle("", std::string("not valid JSON: ") + simdjson::error_message(error));
  }
  simdjson::ondemand::object bundle;
  if (doc.get_object().get(bundle)) return not_bundle("", "not a JSON object");
  std::string type, id;
  std::vector<std::pair<std::string_view, uint64_t>> object_texts;  // raw text, byte offset
  std::vector<uint64_t> non_objects;                                // indexes of non-object items
  for (auto field : bundle) {
    std::string_view key;
    if (auto error = field.unescaped_key().get(key)) {
      return not_bundle("", std::string("not valid JSON: ") + simdjson::error_message(error));
    }
    simdjson::ondemand::value value;
    if (auto error = field.value().get(value)) {
      return not_bundle(std::string(key),
                        std::string("not valid JSON: ") + simdjson::error_message(error));
    }
    if (key == "type" || key == "id") {
      std::string_view text;
      if (value.get_string().get(text)) return not_bundle(std::string(key), "must be a string");
      (key == "type" ? type : id) = text;
    } else if (key == "objects") {
      simdjson::ondemand::array items;
      if (value.get_array().get(items)) return not_bundle("objects", "must be a list");
      uint64_t index = 0;
      for (auto item : items) {
        simdjson::ondemand::value item_value;
        if (auto error = item.get(item_value)) {
          return not_bundle("objects",
                            std::string("not valid JSON: ") + simdjson::error_message(error));
        }
        simdjson::ondemand::json_type kind;
        if (auto error = item_value.type().get(kind)) {
          return not_bundle("objects",
                            std::string("not valid JSON: ") + simdjson::error_message(error));
        }
        if (kind == simdjson::ondemand::json_type::object) {
          simdjson::ondemand::object item_object;
          std::string_view text;
          if (auto error = item_value.get_object().get(item_object); !error)
            error = item_object.raw_json().get(text);
          if (text.empty()) return not_bundle("objects", "not valid JSON inside the objects list");
          object_texts.emplace_back(text, static_cast<uint64_t>(text.data() - padded.data()));
        } else {
          non_objects.push_back(index);
          object_texts.emplace_back(std::string_view(), 0);
        }
        ++index;
      }
    }
  }
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
    return not_bundle("", "trailing content after the bundle");
  }
  if (type != "bundle") return not_bundle("type", "must be \"bundle\"");
  if (IdentifierProblem(id) || !id.starts_with("bundle--"))
    return not_bundle("id", "must be bundle--<UUID>");

  BundleResult result;
  result.bundle_id = id;
  simdjson::dom::parser parser;
  for (size_t index = 0; index < object_texts.size(); ++index) {
    auto [text, offset] = object_texts[index];
    std::string where = "objects[" + std::to_string(index) + "]";
    if (text.empty()) {
      Error error;
      error.where = std::move(where);
      error.reason = "a STIX object must be a JSON object";
      result.rejected.push_back(std::move(error));
      continue;
    }
    auto validated = ValidateText(parser, text, std::move(where), offset);
    if (validated) {
      result.objects.push_back(std::move(*validated));
    } else {
      result.rejected.push_back(std::move(validated.error()));
    }
  }
  return result;
}

Result<ObjectVersions::Added> ObjectVersions::Add(StixObject object) {
  std::vector<StoredVersion>& versions = versions_by_id_[object.id];
  // §3.4: versions are ordered by modified (else created); the same instant is the
  // same version whatever the text form of the timestamp.
  auto position = std::lower_bound(
      versions.begin(), versions.end(), object.version_ns,
      [](const StoredVersion& stored, int64_t ns) { return stored.object.version_ns < ns; });
  std::string minified = Minify(object.json);
  if (position != versions.end() && position->object.version_ns == object.version_ns) {
    if (position->minified_json == minified) return Added::kDuplicate;
    Error error;
    error.where = object.id;
    error.field = object.version.empty() ? "id" : "modified";
    error.reason = "version " +
                   (object.version.empty() ? std::string("(unversioned)") : object.version) +
                   " already exists with different content (conflict)";
    return std::unexpected<Error>(std::move(error));
  }
  versions.insert(position, StoredVersion{std::move(object), std::move(minified)});
  return Added::kNewVersion;
}

const StixObject* ObjectVersions::Newest(std::string_view id) const {
  auto found = versions_by_id_.find(std::string(id));
  if (found == versions_by_id_.end() || found->second.empty()) return nullptr;
  return &found->second.back().object;
}

std::vector<const StixObject*> ObjectVersions::Versions(std::string_view id) const {
  std::vector<const StixObject*> out;
  auto found = versions_by_id_.find(std::string(id));
  if (found == versions_by_id_.end()) return out;
  for (const StoredVersion& stored : found->second) out.push_back(&stored.object);
  return out;
}

}  // namespace aegis::intel::stix
