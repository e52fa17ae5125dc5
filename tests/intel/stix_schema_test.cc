// STIX validation checked against the official STIX 2.1 JSON schemas in
// ../shared/data/intel/stix/schemas: for every SDO schema, the properties it and the
// common core schema mark `required` are read from the schema files themselves; an
// object holding all of them validates, and the same object without any one of them
// is rejected, naming that property.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "intel/stix_object.h"

namespace aegis::intel::stix {
namespace {

namespace fs = std::filesystem;

const fs::path kSchemas = fs::path(AEGIS_SHARED_DATA) / "intel/stix/schemas";

// The `required` arrays of a schema file: top level and inside `allOf`.
std::set<std::string> RequiredOf(const fs::path& file) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.load(file.string());
  std::set<std::string> out;
  auto collect = [&](simdjson::dom::element e) {
    simdjson::dom::array required;
    if (e["required"].get(required) == simdjson::SUCCESS) {
      for (auto name : required) out.insert(std::string(std::string_view(name)));
    }
  };
  collect(doc);
  simdjson::dom::array all_of;
  if (doc["allOf"].get(all_of) == simdjson::SUCCESS) {
    for (auto part : all_of) collect(part);
  }
  return out;
}

// A valid value for each property the SDO schemas require, as JSON text.
const std::map<std::string, std::string>& Fillers() {
  static const std::map<std::string, std::string> fillers = {
      {"name", "\"Example\""},
      {"context", "\"suspicious-activity\""},
      {"content", "\"Seen at two trusts\""},
      {"opinion", "\"agree\""},
      {"product", "\"sandbox\""},
      {"object_refs", "[\"indicator--33fe3b22-0201-47cf-85d0-97c02164528d\"]"},
      {"pattern", "\"[ipv4-addr:value = '203.0.113.7']\""},
      {"pattern_type", "\"stix\""},
      {"valid_from", "\"2024-06-03T08:00:00Z\""},
      {"published", "\"2024-06-03T08:00:00Z\""},
      {"first_observed", "\"2024-06-03T08:00:00Z\""},
      {"last_observed", "\"2024-06-03T09:00:00Z\""},
      {"number_observed", "1"},
      {"is_family", "true"},
  };
  return fillers;
}

// What each type needs besides its `required` list (the schemas' oneOf/anyOf).
const std::map<std::string, std::string>& Alternatives() {
  static const std::map<std::string, std::string> extra = {
      {"location", ",\"region\":\"northern-europe\""},
      {"malware-analysis", ",\"result\":\"malicious\""},
      {"observed-data", ",\"object_refs\":[\"ipv4-addr--efcd5e80-570d-4131-b213-62cb18eaa6a8\"]"},
      {"malware", ",\"name\":\"WannaCry\""},
  };
  return extra;
}

std::string Build(const std::string& type, const std::set<std::string>& properties,
                  const std::string& omit) {
  std::string json = "{";
  bool first = true;
  for (const std::string& property : properties) {
    if (property == omit) continue;
    std::string value;
    if (property == "type") {
      value = "\"" + type + "\"";
    } else if (property == "id") {
      value = "\"" + type + "--2f5a9c1e-7b3d-4e8f-9a6b-1c2d3e4f5a6b\"";
    } else if (property == "spec_version") {
      value = "\"2.1\"";
    } else if (property == "created" || property == "modified") {
      value = "\"2024-06-03T08:00:00.000Z\"";
    } else if (auto filler = Fillers().find(property); filler != Fillers().end()) {
      value = filler->second;
    } else {
      ADD_FAILURE() << type << ": no test value for required property '" << property << "'";
      value = "\"x\"";
    }
    json += (first ? "\"" : ",\"") + property + "\":" + value;
    first = false;
  }
  if (auto extra = Alternatives().find(type); extra != Alternatives().end()) {
    if (!(type == "observed-data" && omit.empty() == false && omit == "object_refs")) {
      json += extra->second;
    }
  }
  return json + "}";
}

TEST(StixSchemaTest, EverySdoSchemaRequiredPropertyIsEnforced) {
  if (!fs::is_directory(kSchemas / "sdos")) {
    GTEST_SKIP() << "STIX schemas not found under " << kSchemas << " (AEGIS_SHARED_DATA)";
  }
  const std::set<std::string> core = RequiredOf(kSchemas / "common/core.json");
  ASSERT_TRUE(core.count("id") && core.count("type") && core.count("created"));
  size_t types = 0, omissions = 0;
  for (const auto& entry : fs::directory_iterator(kSchemas / "sdos")) {
    if (entry.path().extension() != ".json") continue;
    const std::string type = entry.path().stem().string();
    std::set<std::string> required = RequiredOf(entry.path());
    required.insert(core.begin(), core.end());
    const std::string full = Build(type, required, "");
    auto valid = ValidateObject(full);
    EXPECT_TRUE(valid.has_value()) << type << ": " << valid.error().ToString() << "\n" << full;
    ++types;
    for (const std::string& property : required) {
      const std::string without = Build(type, required, property);
      auto result = ValidateObject(without);
      EXPECT_FALSE(result.has_value())
          << type << " without required '" << property << "' was accepted: " << without;
      if (!result) {
        EXPECT_EQ(result.error().field, property) << type << ": " << result.error().ToString();
      }
      ++omissions;
    }
  }
  EXPECT_EQ(types, 19u);  // the SDO schemas of STIX 2.1
  EXPECT_GT(omissions, 100u);
}

}  // namespace
}  // namespace aegis::intel::stix
