#include "auth/tlp_policy.h"

#include <algorithm>

namespace aegis::auth {
namespace {

bool Contains(const std::vector<std::string>& list, std::string_view id) {
  return !id.empty() && std::find(list.begin(), list.end(), id) != list.end();
}

std::string Quote(std::string_view s) {
  std::string out = "'";
  out += s;
  out += '\'';
  return out;
}

}  // namespace

std::string_view OrgTypeName(OrgType type) {
  switch (type) {
    case OrgType::kNationalCentre:
      return "national-centre";
    case OrgType::kTrust:
      return "trust";
    case OrgType::kGpPractice:
      return "gp-practice";
    case OrgType::kSupplier:
      return "supplier";
  }
  return "trust";
}

std::string_view ReadPathName(ReadPath path) {
  switch (path) {
    case ReadPath::kRest:
      return "rest";
    case ReadPath::kTaxii:
      return "taxii";
    case ReadPath::kExport:
      return "export";
    case ReadPath::kFederation:
      return "federation";
  }
  return "rest";
}

std::span<const MarkingId> KnownMarkingIds() { return StixTlpMarkings(); }

std::optional<Tlp> TlpFromMarkingId(std::string_view id) { return TlpFromStixMarking(id); }

std::optional<Tlp> ParseMarking(std::string_view marking) {
  if (auto tlp = TlpFromMarkingId(marking)) return tlp;
  // Any other marking-definition id is a statement or custom marking, never a name.
  if (marking.starts_with("marking-definition--")) return std::nullopt;
  return ParseTlp(marking);
}

EffectiveTlp ResolveTlp(const SharedObject& object) {
  EffectiveTlp out;
  std::optional<Tlp> strictest;
  for (const std::string& marking : object.markings) {
    if (auto tlp = ParseMarking(marking)) {
      strictest = std::max(strictest.value_or(*tlp), *tlp);
    } else {
      out.unknown_markings.push_back(marking);
    }
  }
  if (strictest) {
    out.tlp = *strictest;
  } else {
    out.tlp = object.producer_default.value_or(Tlp::kAmber);
    out.defaulted = true;
  }
  return out;
}

Decision Decide(const Reader& reader, const SharedObject& object, ReadPath path) {
  EffectiveTlp effective = ResolveTlp(object);
  Decision d;
  d.tlp = effective.tlp;
  d.defaulted = effective.defaulted;
  d.unknown_markings = std::move(effective.unknown_markings);

  const bool federation = path == ReadPath::kFederation;
  const bool is_producer = !reader.org_id.empty() && reader.org_id == object.producer_org;
  std::string why;
  bool allowed = false;

  if (!reader.member) {
    allowed = d.tlp == Tlp::kClear;
    why = allowed ? "TLP:CLEAR is public" : "reader is not a community member";
  } else if (reader.org_id.empty()) {
    why = "reader has no organisation";
  } else {
    switch (d.tlp) {
      case Tlp::kClear:
      case Tlp::kGreen:
        allowed = true;
        why = "visible to every member organisation";
        break;
      case Tlp::kAmber:
        if (Contains(object.amber_share_with, reader.org_id)) {
          allowed = true;
          why = "reader is in the producer's share list";
        } else if (is_producer && !federation) {
          allowed = true;
          why = "reader is the producer";
        } else {
          why = federation ? "federation sends AMBER only to organisations in the share list"
                           : "reader is neither the producer nor in its share list";
        }
        break;
      case Tlp::kAmberStrict:
        if (federation) {
          why = "never federated";
        } else {
          allowed = is_producer;
          why = allowed ? "reader is the producer" : "producer's organisation only";
        }
        break;
      case Tlp::kRed:
        if (federation) {
          why = "never federated";
        } else if (is_producer) {
          allowed = true;
          why = "reader is the producer";
        } else if (Contains(object.red_recipients, reader.org_id)) {
          allowed = true;
          why = "reader is a named recipient";
        } else {
          why = "reader is not a named recipient";
        }
        break;
    }
  }

  d.allowed = allowed;
  d.reason.reserve(128);
  d.reason += ReadPathName(path);
  d.reason += allowed ? " allow object " : " deny object ";
  d.reason += Quote(object.id);
  d.reason += " to ";
  d.reason += Quote(reader.org_id);
  d.reason += ": ";
  d.reason += TlpName(d.tlp);
  if (d.defaulted) d.reason += " (unmarked: default)";
  d.reason += ", ";
  d.reason += why;
  if (!d.unknown_markings.empty()) {
    d.reason += "; ignored unknown markings:";
    for (const std::string& m : d.unknown_markings) {
      d.reason += ' ';
      d.reason += Quote(m);
    }
  }
  return d;
}

std::optional<Tlp> AnonymisedSightingTlp(std::span<const Tlp> matched, Tlp requested) {
  Tlp tlp = requested;
  for (Tlp m : matched) tlp = std::max(tlp, m);
  if (tlp > Tlp::kAmber) return std::nullopt;
  return tlp;
}

}  // namespace aegis::auth
