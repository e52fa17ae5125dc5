// TLP 2.0 sharing policy: who may read a shared object, on which read path.
//
// Pure logic, no I/O. Every read path of the threat-intelligence hub (REST, TAXII,
// exports, federation) asks `Decide` before it hands out an object; the returned
// reason string goes to the audit log. Rules and decisions: docs/TLP.md.
//
//   auth::Decision d = auth::Decide(reader, object, auth::ReadPath::kTaxii);
//   if (!d.allowed) audit.Deny(object.id, d.reason);
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/types.h"

namespace aegis::auth {

// The kinds of member organisation in the national health service community.
// The type grants no access by itself: TLP is the producer's consent, and the
// national centre sees an AMBER object only when the producer shares it.
enum class OrgType : unsigned char { kNationalCentre, kTrust, kGpPractice, kSupplier };
std::string_view OrgTypeName(OrgType type);  // "national-centre", "trust", ...

// Who is reading. For federation, the organisation that runs the receiving instance.
struct Reader {
  std::string org_id;
  OrgType org_type = OrgType::kTrust;
  // False for anyone outside the community (e.g. a public page): sees TLP:CLEAR only.
  bool member = true;
};

// An object as the policy sees it.
struct SharedObject {
  std::string id;            // for reasons and audit only
  std::string producer_org;  // the organisation that produced (and marked) it
  // Marking references as received: STIX marking-definition ids (TLP 1.0 or 2.0) or
  // TLP names ("TLP:AMBER", "amber+strict", "white"). Anything else is unknown.
  std::vector<std::string> markings;
  // The producer's default for objects it leaves unmarked; unset means TLP:AMBER.
  std::optional<Tlp> producer_default;
  std::vector<std::string> amber_share_with;  // org ids the producer shares AMBER with
  std::vector<std::string> red_recipients;    // org ids named for TLP:RED
};

enum class ReadPath : unsigned char { kRest, kTaxii, kExport, kFederation };
std::string_view ReadPathName(ReadPath path);  // "rest", "taxii", "export", "federation"

// One known STIX marking-definition id and the TLP it stands for (core/types.h).
using MarkingId = StixTlpMarking;

// All STIX TLP marking-definition ids this policy recognises (TLP 1.0 and 2.0).
std::span<const MarkingId> KnownMarkingIds();

// The TLP of one STIX marking-definition id (exact, case-sensitive match), or nullopt.
std::optional<Tlp> TlpFromMarkingId(std::string_view id);

// The TLP of one marking reference: a STIX id first, then a TLP name (core ParseTlp).
std::optional<Tlp> ParseMarking(std::string_view marking);

// The TLP that governs an object, from all its marking references.
struct EffectiveTlp {
  Tlp tlp = Tlp::kAmber;
  bool defaulted = false;  // no recognised marking: the producer default (or AMBER)
  std::vector<std::string> unknown_markings;  // ignored for TLP, kept for the audit log
};

// Most restrictive of the recognised markings; when none is recognised, the
// producer's default, else TLP:AMBER. Unknown references are recorded, not used.
EffectiveTlp ResolveTlp(const SharedObject& object);

struct Decision {
  bool allowed = false;
  Tlp tlp = Tlp::kAmber;  // the effective TLP the decision was made on
  bool defaulted = false;
  std::vector<std::string> unknown_markings;
  // One line for the audit log, e.g.
  // "taxii deny object 'x' to 'gp-1': TLP:AMBER, reader is neither producer nor in share list"
  std::string reason;
};

// Whether `reader` may receive `object` over `path`. Fails closed.
Decision Decide(const Reader& reader, const SharedObject& object, ReadPath path);

// The TLP for an anonymised sighting derived from an alert, to share with the
// community: the most restrictive of `requested` and the TLPs of everything the alert
// matched (a sighting reveals that an indicator was seen). nullopt when that is
// AMBER+STRICT or RED: such a sighting must not be shared anonymised at all.
std::optional<Tlp> AnonymisedSightingTlp(std::span<const Tlp> matched, Tlp requested);

}  // namespace aegis::auth
