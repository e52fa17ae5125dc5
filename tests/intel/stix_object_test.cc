// Tests for STIX 2.1 object validation and versioning (intel/stix_object.h).
#include "intel/stix_object.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace aegis::intel::stix {
namespace {

namespace fs = std::filesystem;

constexpr const char* kIndicator = R"({
  "type": "indicator", "spec_version": "2.1",
  "id": "indicator--33fe3b22-0201-47cf-85d0-97c02164528d",
  "created": "2014-05-08T09:00:00.000Z", "modified": "2014-05-08T09:00:00.000Z",
  "name": "C2", "pattern": "[ipv4-addr:value = '10.0.0.1']", "pattern_type": "stix",
  "valid_from": "2014-05-08T09:00:00.000000Z",
  "object_marking_refs": ["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]
})";

// Replaces the first occurrence of `from` in `text` (the test fixtures are edited
// one property at a time).
std::string Edit(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// Expects a rejection naming `field` with a reason containing `reason_part`.
void ExpectRejected(const std::string& json, const std::string& field,
                    const std::string& reason_part) {
  auto result = ValidateObject(json);
  ASSERT_FALSE(result) << "accepted: " << json;
  EXPECT_EQ(result.error().field, field) << result.error().ToString();
  EXPECT_NE(result.error().reason.find(reason_part), std::string::npos)
      << result.error().ToString();
}

TEST(StixObjectTest, ValidIndicatorKeepsKeyProperties) {
  auto object = ValidateObject(kIndicator);
  ASSERT_TRUE(object) << object.error().ToString();
  EXPECT_EQ(object->type, "indicator");
  EXPECT_EQ(object->spec_version, "2.1");
  EXPECT_EQ(object->version, "2014-05-08T09:00:00.000Z");
  EXPECT_EQ(object->created_ns, 1399539600LL * 1'000'000'000);
  EXPECT_EQ(object->modified_ns, object->created_ns);
  ASSERT_EQ(object->object_marking_refs.size(), 1u);
  EXPECT_EQ(object->Key(), (ObjectKey{"indicator--33fe3b22-0201-47cf-85d0-97c02164528d",
                                      "2014-05-08T09:00:00.000Z"}));
  EXPECT_TRUE(object->json.starts_with("{") && object->json.ends_with("}"));
}

TEST(StixObjectTest, IdentifierRules) {
  ExpectRejected(Edit(kIndicator, "\"indicator--33fe", "\"malware--33fe"), "id",
                 "differs from type");
  ExpectRejected(Edit(kIndicator, "33fe3b22-0201", "33fe3b22-02"), "id", "RFC 4122");
  ExpectRejected(Edit(kIndicator, "-47cf-", "-07cf-"), "id", "RFC 4122");  // version 0
  ExpectRejected(
      Edit(kIndicator, "\"indicator--33fe3b22-0201-47cf-85d0-97c02164528d\"", "\"33fe\""), "id",
      "not an identifier");
  ExpectRejected(Edit(kIndicator, "\"type\": \"indicator\"", "\"type\": \"Indicator\""), "type",
                 "lower-case");
}

TEST(StixObjectTest, TimestampRules) {
  ExpectRejected(Edit(kIndicator, "\"modified\": \"2014-05-08T09:00:00.000Z\"",
                      "\"modified\": \"2014-05-07T09:00:00.000Z\""),
                 "modified", "earlier than created");
  ExpectRejected(Edit(kIndicator, "\"created\": \"2014-05-08T09:00:00.000Z\"",
                      "\"created\": \"2014-05-08 09:00:00.000\""),
                 "created", "not a STIX timestamp");
  ExpectRejected(Edit(kIndicator, "\"created\": \"2014-05-08T09:00:00.000Z\"",
                      "\"created\": \"2014-02-30T09:00:00.000Z\""),
                 "created", "not a STIX timestamp");
  ExpectRejected(Edit(kIndicator, "\"created\": \"2014-05-08T09:00:00.000Z\"",
                      "\"created\": \"2014-05-08T09:00:00+00:00\""),
                 "created", "not a STIX timestamp");
  ExpectRejected(Edit(kIndicator, "\"created\": \"2014-05-08T09:00:00.000Z\"",
                      "\"created\": \"2014-05-08T09:00:00Z\""),
                 "created", "millisecond");
  ExpectRejected(
      Edit(kIndicator, "\"valid_from\": \"2014-05-08T09:00:00.000000Z\"",
           "\"valid_from\": \"2014-05-08T09:00:00Z\", \"valid_until\": \"2014-05-08T09:00:00Z\""),
      "valid_until", "later than valid_from");
  auto later = ValidateObject(
      Edit(kIndicator, "\"valid_from\": \"2014-05-08T09:00:00.000000Z\"",
           "\"valid_from\": \"2014-05-08T09:00:00Z\", \"valid_until\": \"9999-12-31T23:59:59Z\""));
  EXPECT_TRUE(later) << later.error().ToString();
}

TEST(StixObjectTest, RequiredPropertiesPerType) {
  ExpectRejected(Edit(kIndicator, "\"pattern_type\": \"stix\",", ""), "pattern_type", "missing");
  ExpectRejected(Edit(kIndicator, "\"spec_version\": \"2.1\",", ""), "spec_version", "missing");
  ExpectRejected(Edit(kIndicator, "\"spec_version\": \"2.1\"", "\"spec_version\": \"2.0\""),
                 "spec_version", "2.1");
  const std::string head =
      R"("spec_version": "2.1", "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z")";
  ExpectRejected(
      R"({"type": "malware", "id": "malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061", )" + head + "}",
      "is_family", "missing");
  ExpectRejected(
      R"({"type": "malware", "id": "malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061", "is_family": true, )" +
          head + "}",
      "name", "is_family");
  ExpectRejected(
      R"({"type": "report", "id": "report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3", "name": "r",
                    "published": "2020-01-01T00:00:00Z", )" +
          head + "}",
      "object_refs", "missing");
  ExpectRejected(
      R"({"type": "relationship", "id": "relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad",
                    "relationship_type": "uses", "source_ref": "malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061", )" +
          head + "}",
      "target_ref", "missing");
  ExpectRejected(
      R"({"type": "observed-data", "id": "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
                    "first_observed": "2020-01-01T00:00:00Z", "last_observed": "2020-01-01T00:00:00Z",
                    "number_observed": 0, "object_refs": ["ipv4-addr--efcd5e80-570d-4131-b213-62cb18eaa6a8"], )" +
          head + "}",
      "number_observed", "out of range");
  ExpectRejected(
      R"({"type": "identity", "id": "identity--311b2d2d-f010-4473-83ec-1edf84858f4c", )" + head +
          "}",
      "name", "missing");
}

TEST(StixObjectTest, SightingCountAndOrder) {
  const std::string sighting = R"({"type": "sighting", "spec_version": "2.1",
    "id": "sighting--ee20065d-2555-424f-ad9e-0f8428623c75",
    "created": "2016-04-06T20:08:31.000Z", "modified": "2016-04-06T20:08:31.000Z",
    "sighting_of_ref": "indicator--33fe3b22-0201-47cf-85d0-97c02164528d", "count": 5,
    "first_seen": "2016-04-06T20:00:00Z", "last_seen": "2016-04-06T21:00:00Z"})";
  EXPECT_TRUE(ValidateObject(sighting));
  ExpectRejected(Edit(sighting, "\"count\": 5", "\"count\": 1000000000"), "count", "out of range");
  ExpectRejected(Edit(sighting, "\"count\": 5", "\"count\": -1"), "count", "out of range");
  ExpectRejected(Edit(sighting, "\"last_seen\": \"2016-04-06T21", "\"last_seen\": \"2016-04-06T19"),
                 "last_seen", "first_seen");
  ExpectRejected(Edit(sighting, "\"count\": 5",
                      "\"count\": 5, \"where_sighted_refs\": "
                      "[\"malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061\"]"),
                 "where_sighted_refs", "identity or location");
}

TEST(StixObjectTest, ReferencesMustBeIdentifiers) {
  ExpectRejected(Edit(kIndicator, "\"name\": \"C2\"",
                      "\"name\": \"C2\", \"created_by_ref\": \"identity--nope\""),
                 "created_by_ref", "RFC 4122");
  ExpectRejected(Edit(kIndicator, "marking-definition--34098fce", "identity--34098fce"),
                 "object_marking_refs", "marking-definition");
  ExpectRejected(Edit(kIndicator, "\"name\": \"C2\"", "\"name\": \"C2\", \"x_sample_refs\": []"),
                 "x_sample_refs", "empty");
}

TEST(StixObjectTest, UnknownAndCustomContent) {
  ExpectRejected(Edit(Edit(kIndicator, "\"type\": \"indicator\"", "\"type\": \"gadget\""),
                      "\"indicator--", "\"gadget--"),
                 "type", "unknown type");
  ExpectRejected(Edit(kIndicator, "\"name\": \"C2\"", "\"name\": \"C2\", \"severity\": \"high\""),
                 "severity", "custom properties");
  EXPECT_TRUE(ValidateObject(
      Edit(kIndicator, "\"name\": \"C2\"", "\"name\": \"C2\", \"x_acme_score\": 7")));
  auto custom = ValidateObject(
      R"({"type": "x-acme-widget", "id": "x-acme-widget--2f4f2b1c-6b0a-4d36-9c1a-1a1b8d0f9e21",
                                  "spec_version": "2.1", "anything_goes": 1})");
  EXPECT_TRUE(custom) << custom.error().ToString();
  EXPECT_EQ(custom->version, "");
  auto sco = ValidateObject(
      R"({"type": "ipv4-addr", "id": "ipv4-addr--efcd5e80-570d-4131-b213-62cb18eaa6a8", "value": "10.0.0.1"})");
  EXPECT_TRUE(sco) << sco.error().ToString();
  ExpectRejected("[1, 2]", "", "JSON object");
  ExpectRejected("{\"type\": ", "", "not valid JSON");
}

TEST(StixObjectTest, MarkingDefinitions) {
  auto tlp_green = ValidateObject(R"({"type": "marking-definition", "spec_version": "2.1",
    "id": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "created": "2017-01-20T00:00:00.000Z",
    "definition_type": "tlp", "name": "TLP:GREEN", "definition": {"tlp": "green"}})");
  ASSERT_TRUE(tlp_green) << tlp_green.error().ToString();
  EXPECT_EQ(tlp_green->version, "2017-01-20T00:00:00.000Z");
  ExpectRejected(R"({"type": "marking-definition", "spec_version": "2.1",
    "id": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "created": "2017-01-20T00:00:00.000Z",
    "definition_type": "tlp", "definition": {"tlp": "red"}})",
                 "definition", "tlp \"green\"");
  ExpectRejected(R"({"type": "marking-definition", "spec_version": "2.1",
    "id": "marking-definition--d81f86b9-975b-4c0b-875e-810c5ad45a4f", "created": "2017-01-20T00:00:00.000Z",
    "definition_type": "tlp", "definition": {"tlp": "red"}})",
                 "id", "predefined");
  EXPECT_TRUE(ValidateObject(R"({"type": "marking-definition", "spec_version": "2.1",
    "id": "marking-definition--d81f86b9-975b-4c0b-875e-810c5ad45a4f", "created": "2017-01-20T00:00:00.000Z",
    "definition_type": "statement", "definition": {"statement": "Copyright 2019, Example Corp"}})"));
}

TEST(StixObjectTest, BundleRejectsObjectsOneByOne) {
  std::string bundle =
      std::string(
          R"({"type": "bundle", "id": "bundle--44af6c39-c09b-49c5-9de2-394224b04982", "objects": [)") +
      kIndicator +
      R"(, {"type": "gadget", "id": "gadget--44af6c39-c09b-49c5-9de2-394224b04982"}, 7, {"type": tru}]})";
  auto result = ValidateBundle(bundle);
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_EQ(result->bundle_id, "bundle--44af6c39-c09b-49c5-9de2-394224b04982");
  ASSERT_EQ(result->objects.size(), 1u);
  ASSERT_EQ(result->rejected.size(), 3u);
  EXPECT_EQ(result->rejected[0].where, "objects[1] gadget--44af6c39-c09b-49c5-9de2-394224b04982");
  EXPECT_EQ(result->rejected[0].field, "type");
  EXPECT_EQ(bundle.substr(result->rejected[0].offset, 9), "{\"type\": ");
  EXPECT_EQ(result->rejected[1].where, "objects[2]");
  EXPECT_EQ(result->rejected[2].where, "objects[3]");
  // The object's bytes are kept as they appeared in the bundle.
  EXPECT_NE(bundle.find(result->objects[0].json), std::string::npos);

  EXPECT_FALSE(ValidateBundle("not json"));
  EXPECT_FALSE(ValidateBundle(
      R"({"type": "report", "id": "bundle--44af6c39-c09b-49c5-9de2-394224b04982"})"));
  EXPECT_FALSE(ValidateBundle(R"({"type": "bundle", "id": "bundle--nope", "objects": []})"));
  EXPECT_FALSE(ValidateBundle(
      R"({"type": "bundle", "id": "bundle--44af6c39-c09b-49c5-9de2-394224b04982"} x)"));
  auto empty =
      ValidateBundle(R"({"type": "bundle", "id": "bundle--44af6c39-c09b-49c5-9de2-394224b04982"})");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->objects.empty());
}

TEST(StixObjectVersionsTest, NewestWinsDuplicatesAndConflicts) {
  auto v1 = ValidateObject(kIndicator);
  auto v2 = ValidateObject(Edit(Edit(kIndicator, "\"modified\": \"2014-05-08T09:00:00.000Z\"",
                                     "\"modified\": \"2015-01-01T00:00:00.000Z\""),
                                "\"name\": \"C2\"", "\"name\": \"C2 v2\""));
  ASSERT_TRUE(v1 && v2);
  ObjectVersions versions;
  ASSERT_EQ(versions.Add(*v2), ObjectVersions::Added::kNewVersion);  // newer first, older later
  ASSERT_EQ(versions.Add(*v1), ObjectVersions::Added::kNewVersion);
  const StixObject* newest = versions.Newest(v1->id);
  ASSERT_NE(newest, nullptr);
  EXPECT_EQ(newest->version, "2015-01-01T00:00:00.000Z");
  auto all = versions.Versions(v1->id);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]->version, "2014-05-08T09:00:00.000Z");

  // The same version re-sent, even with other whitespace, changes nothing.
  auto resent =
      ValidateObject(Edit(kIndicator, "\"type\": \"indicator\", ", "\"type\":\"indicator\","));
  ASSERT_TRUE(resent);
  auto duplicate = versions.Add(*resent);
  ASSERT_TRUE(duplicate);
  EXPECT_EQ(*duplicate, ObjectVersions::Added::kDuplicate);
  EXPECT_EQ(versions.Versions(v1->id).size(), 2u);

  // Same id and version, other content: a conflict.
  auto changed = ValidateObject(Edit(kIndicator, "\"name\": \"C2\"", "\"name\": \"C2 changed\""));
  ASSERT_TRUE(changed);
  auto conflict = versions.Add(*changed);
  ASSERT_FALSE(conflict);
  EXPECT_NE(conflict.error().reason.find("conflict"), std::string::npos);
  EXPECT_EQ(versions.Newest(v1->id)->version, "2015-01-01T00:00:00.000Z");
  EXPECT_EQ(versions.Newest("indicator--00000000-0000-4000-8000-000000000000"), nullptr);
}

TEST(StixObjectExamplesTest, EveryOasisExampleValidates) {
  fs::path root = fs::path(AEGIS_SHARED_DATA) / "intel" / "stix" / "examples";
  if (!fs::exists(root))
    GTEST_SKIP() << "STIX examples not found under " << root << " (AEGIS_SHARED_DATA)";
  size_t files = 0, objects = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    // Most examples are bundles; a few are one object on its own.
    std::string json = text.str();
    if (json.find("\"bundle--") == std::string::npos) {
      auto object = ValidateObject(json);
      EXPECT_TRUE(object) << entry.path() << ": " << object.error().ToString();
      ++files;
      objects += object ? 1 : 0;
      continue;
    }
    auto result = ValidateBundle(json);
    ASSERT_TRUE(result) << entry.path() << ": " << result.error().ToString();
    for (const Error& error : result->rejected)
      ADD_FAILURE() << entry.path() << ": " << error.ToString();
    ObjectVersions versions;
    for (const StixObject& object : result->objects) {
      auto added = versions.Add(object);
      EXPECT_TRUE(added) << entry.path() << ": " << added.error().ToString();
    }
    ++files;
    objects += result->objects.size();
  }
  EXPECT_GE(files, 8u);
  EXPECT_GT(objects, 200u);
}

}  // namespace
}  // namespace aegis::intel::stix
