// StixStore: the hub's durable store of STIX 2.1 objects, kept per TAXII collection,
// with every version, TAXII status resources, and keyset pagination on
// (date_added, id, version) that survives ties and concurrent writers.
//
// Objects arrive validated (intel/stix_object.h). Each row remembers who produced it
// and the sharing facts the TLP policy needs, so every read path (REST, TAXII,
// export, federation) filters with auth::Decide through the `visible` predicate
// while paging: a page is filled with visible objects only, and the cursor moves
// past invisible ones (no count of hidden objects leaks through page sizes).
//
// SQLite tables of component "stix" in the shared database; one writer connection
// behind a named lock, a small pool of reader connections (WAL) so GETs do not wait
// for ingest. See docs/STIX.md ("Store").
//
//   auto store = intel::StixStore::Open("aegis.db");
//   auto added = (*store)->AddObjects({.collection_id = c, .producer_org = "rxa"}, objects);
//   auto page = (*store)->Query({.collection_id = c, .limit = 1000, .visible = can_see});
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "auth/tlp_policy.h"
#include "core/error.h"
#include "core/types.h"
#include "intel/stix_object.h"

namespace aegis::intel {

// Who may read and write a collection: organisation ids, "*" for every member, or
// "type:<org type>" ("type:national-centre"). TLP still applies per object on read.
struct CollectionAccess {
  std::vector<std::string> readers{"*"};
  std::vector<std::string> writers;
};

struct Collection {
  std::string id;     // UUID (TAXII requires an identifier)
  std::string alias;  // optional short name, unique: "national-indicators"
  std::string title;
  std::string description;
  CollectionAccess access;
  std::vector<std::string> media_types{"application/stix+json;version=2.1"};
  std::string created_at;
};

// Sharing facts of one stored version (what auth::SharedObject needs).
struct ObjectMeta {
  std::string collection_id;
  std::string id;
  std::string type;
  std::string version;       // `modified`, else `created`, else date_added (RFC 3339)
  int64_t version_us = 0;
  std::string spec_version;  // "2.1" when the object does not say
  int64_t date_added_us = 0; // microseconds since the epoch; unique per collection row
  std::string producer_org;  // the organisation whose member added it
  std::vector<std::string> markings;     // object_marking_refs
  std::vector<std::string> share_with;   // x_aegis_share_with (AMBER share list, RED recipients)
  Tlp tlp = Tlp::kAmber;                 // effective TLP when stored (auth::ResolveTlp)
  std::string media_type = "application/stix+json;version=2.1";

  // For auth::Decide. `producer_default` and the producer's own share list are
  // added by the caller, which knows the organisation.
  auth::SharedObject AsShared() const;
};

struct StoredObject {
  ObjectMeta meta;
  std::string json;  // the object as received
};

enum class VersionMatch : unsigned char { kLast, kFirst, kAll, kList };

// A position in a collection's (date_added, id, version) order.
struct Cursor {
  int64_t date_added_us = 0;
  std::string id;
  std::string version;
  std::string Encode() const;                       // opaque, URL-safe
  static std::optional<Cursor> Decode(std::string_view token);
};

struct ObjectQuery {
  std::string collection_id;
  std::optional<int64_t> added_after_us;     // strictly after
  std::vector<std::string> ids;              // match[id], OR
  std::vector<std::string> types;            // match[type], OR
  // match[spec_version], OR. Empty: for each object only the rows of its newest
  // spec_version (TAXII 2.1 default). first/last are taken over all spec versions.
  std::vector<std::string> spec_versions;
  VersionMatch versions = VersionMatch::kLast;
  std::vector<std::string> version_list;     // match[version] timestamps when kList (matched
                                             // by instant: ".000Z" and "Z" are the same)
  size_t limit = 1000;
  std::optional<Cursor> after;               // continue after this row (from `next`)
  // Called for each candidate row; false hides it (TLP, access). Unset: all visible.
  std::function<bool(const ObjectMeta&)> visible;
  bool with_json = true;                     // false for manifests (meta only)
};

struct ObjectPage {
  std::vector<StoredObject> objects;
  bool more = false;
  std::optional<Cursor> next;           // set whenever `more` is true
  int64_t first_added_us = 0;           // of the returned objects (0 when empty)
  int64_t last_added_us = 0;
};

// The outcome of one object of an add request (TAXII status details).
struct AddOutcome {
  enum class Kind : unsigned char { kAdded, kDuplicate, kFailed };
  Kind kind = Kind::kAdded;
  std::string id;
  std::string version;
  std::string message;  // why it failed
};

struct AddRequest {
  std::string collection_id;
  std::string producer_org;
};

struct AddResult {
  std::vector<AddOutcome> outcomes;  // in input order
  uint64_t added = 0, duplicates = 0, failed = 0;
  int64_t first_added_us = 0, last_added_us = 0;
};

// TAXII status resource.
struct StatusRecord {
  std::string id;  // UUID
  std::string status = "complete";  // "complete" or "pending"
  std::string request_timestamp;
  uint64_t total_count = 0, success_count = 0, failure_count = 0, pending_count = 0;
  std::vector<AddOutcome> successes;  // duplicates count as successes
  std::vector<AddOutcome> failures;
  std::string owner_org;  // only this organisation may read it
};

struct DeleteQuery {
  std::string collection_id;
  std::string id;
  VersionMatch versions = VersionMatch::kAll;  // TAXII DELETE default: all versions
  std::vector<std::string> version_list;
  std::vector<std::string> spec_versions;  // empty: every spec version
};

// Called after each committed add, with the rows that were new (not duplicates).
// Used for live detection-index updates, Early Warning and federation push.
using ObjectsAddedHook = std::function<void(std::span<const StoredObject> added)>;

class StixStore {
 public:
  static Result<std::unique_ptr<StixStore>> Open(const std::string& db_path);
  virtual ~StixStore() = default;

  // Collections
  virtual Result<Collection> CreateCollection(Collection collection) = 0;  // id "" → new UUID
  virtual Result<std::vector<Collection>> ListCollections() = 0;
  // By id or alias.
  virtual Result<std::optional<Collection>> GetCollection(std::string_view id_or_alias) = 0;

  // Objects. Duplicates (same id and version, same content) are accepted idempotently;
  // the same id and version with other content fails that object only. Objects
  // without `modified`/`created` (SCOs) are duplicates when equal to their latest
  // stored version, else a new version keyed by date_added. One transaction per call.
  virtual Result<AddResult> AddObjects(const AddRequest& request,
                                       std::span<const stix::StixObject> objects) = 0;
  virtual Result<ObjectPage> Query(const ObjectQuery& query) = 0;
  // All versions of one object (ascending version), filtered like Query: `ids` must
  // hold exactly one id; `versions` is ignored. The cursor works as for Query.
  virtual Result<ObjectPage> Versions(const ObjectQuery& query) = 0;
  virtual Result<uint64_t> Delete(const DeleteQuery& query) = 0;
  virtual Result<uint64_t> CountObjects(std::string_view collection_id) = 0;

  // Status resources
  virtual Result<void> PutStatus(const StatusRecord& status) = 0;
  virtual Result<std::optional<StatusRecord>> GetStatus(std::string_view id) = 0;

  // Bundles: export a collection's visible latest versions as a STIX bundle.
  virtual Result<std::string> ExportBundle(const ObjectQuery& query) = 0;

  // Hooks run on the writer's thread after commit; keep them short.
  virtual void AddObjectsAddedHook(ObjectsAddedHook hook) = 0;
};

}  // namespace aegis::intel
