// STIX 2.1 object validation and versioning: the groundwork the threat-intelligence
// hub (and later its TAXII server) uses to accept objects and bundles from outside.
//
// ValidateObject checks one object against the STIX 2.1 specification (OASIS, 2021):
// identifiers, timestamps, common and per-type required properties, references and
// custom content (docs/STIX.md lists the rules). ValidateBundle does the same for each
// object of a bundle, keeping the good ones and rejecting the bad ones one by one.
// ObjectVersions keeps every version of each id, knows the newest one, accepts an
// exact re-send as a no-op and refuses a different object under the same version.
//
//   auto bundle = stix::ValidateBundle(text);
//   if (!bundle) return bundle.error();            // not JSON, or not a bundle
//   for (const Error& e : bundle->rejected) log(e.ToString());
//   stix::ObjectVersions versions;
//   for (auto& object : bundle->objects) {
//     if (auto added = versions.Add(std::move(object)); !added) log(added.error().ToString());
//   }
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.h"

namespace aegis::intel::stix {

// One version of one object: its id and the text of `modified` (else `created`,
// else "" for objects without either, such as SCOs), as written.
struct ObjectKey {
  std::string id;
  std::string version;
  bool operator==(const ObjectKey&) const = default;
};

// A validated STIX object: the properties the hub indexes, and the object itself.
struct StixObject {
  std::string type;
  std::string id;
  std::string spec_version;  // "" when absent (allowed on SCOs and custom objects)
  int64_t created_ns = 0;    // Unix nanoseconds; 0 when absent
  int64_t modified_ns = 0;   // Unix nanoseconds; 0 when absent
  std::string version;       // `modified`, else `created`, else "" (text as written)
  int64_t version_ns = 0;    // the instant of `version`; what versions are ordered by
  std::vector<std::string> object_marking_refs;
  std::string created_by_ref;
  std::string json;  // the object as received (surrounding whitespace trimmed)

  ObjectKey Key() const { return {id, version}; }
};

// Validates one JSON object. The error names the object (its id when known), the
// property at fault and why.
Result<StixObject> ValidateObject(std::string_view json);

struct BundleResult {
  std::string bundle_id;
  std::vector<StixObject> objects;  // valid objects, in bundle order
  // One per rejected object: `where` is "objects[<index>]" plus the id when known,
  // `offset` the object's byte offset in the bundle, then property and reason.
  std::vector<Error> rejected;
};

// Validates {"type":"bundle","id":"bundle--<uuid>","objects":[...]}. Bad objects are
// rejected one by one and the rest kept; text that is not JSON or not a bundle is an
// error.
Result<BundleResult> ValidateBundle(std::string_view json);

// Every version of every object id seen. Not thread-safe: one owner, or guard it.
class ObjectVersions {
 public:
  enum class Added { kNewVersion, kDuplicate };

  // Adds one version. The same id and version with the same content (JSON compared
  // without insignificant whitespace) is a duplicate and changes nothing; the same id
  // and version with other content is a conflict, returned as an error.
  Result<Added> Add(StixObject object);

  // The version with the greatest `modified` (else `created`), or nullptr.
  const StixObject* Newest(std::string_view id) const;
  // All versions of `id`, oldest first; empty when the id is unknown.
  std::vector<const StixObject*> Versions(std::string_view id) const;
  size_t id_count() const { return versions_by_id_.size(); }

 private:
  struct StoredVersion {
    StixObject object;
    std::string minified_json;
  };
  // Per id, sorted by version_ns ascending.
  std::unordered_map<std::string, std::vector<StoredVersion>> versions_by_id_;
};

}  // namespace aegis::intel::stix
