// MISP feeds: a folder with manifest.json (event uuid -> {"info", ...}) and one
// <uuid>.json file per event ({"Event": {...}}), parsed with simdjson on-demand.
//
// Attributes of the event and of its objects are loaded when they are flagged
// to_ids (the MISP flag for "usable for detection"); set LoadOptions::misp_only_to_ids
// to false to load every attribute. Deleted attributes are skipped. Type mapping:
//   ip-src, ip-dst (an address or a CIDR)         -> ipv4 / ipv6 / cidr
//   ip-src|port, ip-dst|port                      -> the address (port dropped)
//   domain, hostname, hostname|port               -> domain
//   domain|ip                                     -> a domain and an address
//   url, uri                                      -> url (a bare path is rejected)
//   md5, sha1, sha256, filename|md5|sha1|sha256   -> the hash
//   email, email-src, email-dst, email-reply-to   -> email
// Any other type is counted as not loaded ("unsupported MISP attribute type 'x'").
// Metadata: event info -> description, source "misp/<event uuid>", threat_level_id
// 1/2/3 -> severity high/medium/low (4 keeps the default), "tlp:*" tags -> TLP (an
// attribute's own TLP tag wins over the event's), other tags of the event and the
// attribute -> tags plus "misp-category:<category>", the attribute timestamp ->
// last_seen, first_seen/last_seen when the attribute has them.
#include <simdjson.h>

#include <algorithm>
#include <vector>

#include "core/strings.h"
#include "intel/json_members.h"
#include "intel/loaders.h"

namespace aegis::intel::internal {
namespace {

using simdjson::ondemand::array;
using simdjson::ondemand::json_type;
using simdjson::ondemand::object;
using simdjson::ondemand::value;

struct MispAttribute {
  std::string_view type, value, category, uuid, timestamp, first_seen, last_seen;
  bool to_ids = false;
  bool deleted = false;
  std::vector<std::string_view> tags;
};

struct MispEvent {
  std::string_view uuid, info, threat_level_id;
  std::vector<std::string_view> tags;
  std::vector<MispAttribute> attributes;
};

// Reads a scalar (string, number or bool) as text; numbers and bools by their JSON text.
simdjson::error_code ScalarText(value v, json_type kind, std::string_view& out) {
  if (kind == json_type::string) return v.get_string().get(out);
  if (kind == json_type::number || kind == json_type::boolean) {
    std::string_view raw;
    raw = v.raw_json_token();
    while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\r' || raw.back() == '\t')) {
      raw.remove_suffix(1);
    }
    out = raw;
  }
  return simdjson::SUCCESS;
}

bool Truthy(std::string_view text) { return text == "true" || text == "1" || IEquals(text, "true"); }

// "Tag": [{"name": "tlp:amber"}, ...]
simdjson::error_code CollectTags(value v, std::vector<std::string_view>& tags) {
  return ForEachObjectElement(v, [&](object tag) {
    for (auto field : tag) {
      std::string_view key;
      if (auto error = field.unescaped_key().get(key)) return error;
      if (key != "name") continue;
      std::string_view name;
      if (field.value().get_string().get(name) == simdjson::SUCCESS) tags.push_back(name);
    }
    return simdjson::SUCCESS;
  });
}

simdjson::error_code CollectAttribute(object obj, MispAttribute& attribute) {
  return ForEachMember(obj, [&](std::string_view key, value v, json_type kind) {
    if (key == "Tag" && kind == json_type::array) return CollectTags(v, attribute.tags);
    std::string_view text;
    if (auto error = ScalarText(v, kind, text)) return error;
    if (key == "type") attribute.type = text;
    else if (key == "value") attribute.value = text;
    else if (key == "category") attribute.category = text;
    else if (key == "uuid") attribute.uuid = text;
    else if (key == "timestamp") attribute.timestamp = text;
    else if (key == "first_seen") attribute.first_seen = text;
    else if (key == "last_seen") attribute.last_seen = text;
    else if (key == "to_ids") attribute.to_ids = Truthy(text);
    else if (key == "deleted") attribute.deleted = Truthy(text);
    return simdjson::SUCCESS;
  });
}

simdjson::error_code CollectAttributes(value v, std::vector<MispAttribute>& attributes) {
  return ForEachObjectElement(v, [&](object obj) {
    MispAttribute attribute;
    if (auto error = CollectAttribute(obj, attribute)) return error;
    attributes.push_back(std::move(attribute));
    return simdjson::SUCCESS;
  });
}

// "Object": [{"name": ..., "deleted": false, "Attribute": [...]}]
simdjson::error_code CollectObjects(value v, std::vector<MispAttribute>& attributes) {
  return ForEachObjectElement(v, [&](object obj) {
    std::vector<MispAttribute> object_attributes;
    bool deleted = false;
    auto error = ForEachMember(obj, [&](std::string_view key, value inner, json_type kind) {
      if (key == "Attribute" && kind == json_type::array) {
        return CollectAttributes(inner, object_attributes);
      }
      if (key == "deleted") {
        std::string_view text;
        if (auto error = ScalarText(inner, kind, text)) return error;
        deleted = Truthy(text);
      }
      return simdjson::SUCCESS;
    });
    if (error) return error;
    for (MispAttribute& attribute : object_attributes) {
      attribute.deleted = attribute.deleted || deleted;
      attributes.push_back(std::move(attribute));
    }
    return simdjson::SUCCESS;
  });
}

simdjson::error_code CollectEvent(object obj, MispEvent& event, int depth) {
  return ForEachMember(obj, [&](std::string_view key, value v, json_type kind) {
    if (key == "Event" && kind == json_type::object && depth == 0) {
      object inner;
      if (auto error = v.get_object().get(inner)) return error;
      return CollectEvent(inner, event, depth + 1);
    }
    if (key == "Tag" && kind == json_type::array) return CollectTags(v, event.tags);
    if (key == "Attribute" && kind == json_type::array) return CollectAttributes(v, event.attributes);
    if (key == "Object" && kind == json_type::array) return CollectObjects(v, event.attributes);
    if (kind == json_type::string || kind == json_type::number) {
      std::string_view text;
      if (auto error = ScalarText(v, kind, text)) return error;
      if (key == "uuid") event.uuid = text;
      else if (key == "info") event.info = text;
      else if (key == "threat_level_id") event.threat_level_id = text;
    }
    return simdjson::SUCCESS;
  });
}

bool IsTlpTag(std::string_view tag) { return tag.size() > 4 && IEquals(tag.substr(0, 4), "tlp:"); }

// MISP tags into `meta`: the strictest "tlp:*" tag, if any, replaces its TLP; the
// other tags are added to its tags.
void ApplyTags(const std::vector<std::string_view>& tags, IndicatorMeta& meta) {
  std::optional<Tlp> strictest;
  for (std::string_view tag : tags) {
    if (IsTlpTag(tag)) {
      if (auto tlp = ParseTlp(tag)) strictest = std::max(strictest.value_or(*tlp), *tlp);
    } else {
      meta.tags.emplace_back(tag);
    }
  }
  if (strictest) meta.tlp = *strictest;
}

// Splits "left|right" composite values.
std::pair<std::string_view, std::string_view> SplitPipe(std::string_view value) {
  size_t bar = value.find('|');
  if (bar == std::string_view::npos) return {value, {}};
  return {value.substr(0, bar), value.substr(bar + 1)};
}

void LoadAttribute(const MispAttribute& attribute, const IndicatorMeta& event_meta, std::string_view where,
                   LoadContext& context) {
  std::string attribute_where(where);
  attribute_where.push_back(':');
  attribute_where.append(attribute.uuid.empty() ? std::string_view("(no uuid)") : attribute.uuid);
  if (attribute.deleted) {
    context.NotLoaded("deleted attribute", attribute.value, attribute_where);
    return;
  }
  if (context.options().misp_only_to_ids && !attribute.to_ids) {
    context.NotLoaded("to_ids is false", attribute.value, attribute_where);
    return;
  }
  struct Part {
    std::string_view value;
    IndicatorType type;
  };
  Part parts[2];
  int count = 0;
  std::string_view type = attribute.type;
  auto [left, right] = SplitPipe(attribute.value);
  if (type == "ip-src" || type == "ip-dst") {
    parts[count++] = {attribute.value, IndicatorType::kCidr};
  } else if (type == "ip-src|port" || type == "ip-dst|port") {
    parts[count++] = {left, IndicatorType::kCidr};
  } else if (type == "domain" || type == "hostname") {
    parts[count++] = {attribute.value, IndicatorType::kDomain};
  } else if (type == "hostname|port") {
    parts[count++] = {left, IndicatorType::kDomain};
  } else if (type == "domain|ip") {
    parts[count++] = {left, IndicatorType::kDomain};
    parts[count++] = {right, IndicatorType::kCidr};
  } else if (type == "url" || type == "uri") {
    parts[count++] = {attribute.value, IndicatorType::kUrl};
  } else if (type == "md5" || type == "sha1" || type == "sha256") {
    parts[count++] = {attribute.value, *ParseIndicatorType(type)};
  } else if (type == "filename|md5" || type == "filename|sha1" || type == "filename|sha256") {
    parts[count++] = {right, *ParseIndicatorType(type.substr(9))};
  } else if (type == "email" || type == "email-src" || type == "email-dst" || type == "email-reply-to") {
    parts[count++] = {attribute.value, IndicatorType::kEmail};
  } else {
    context.NotLoaded("unsupported MISP attribute type '" + std::string(type) + "'", attribute.value,
                      attribute_where);
    return;
  }

  IndicatorMeta meta = event_meta;
  ApplyTags(attribute.tags, meta);
  if (!attribute.category.empty()) meta.tags.push_back("misp-category:" + std::string(attribute.category));
  if (auto t = ParseFlexibleTime(attribute.timestamp)) meta.last_seen_ns = *t;
  if (auto t = ParseFlexibleTime(attribute.first_seen)) meta.first_seen_ns = *t;
  if (auto t = ParseFlexibleTime(attribute.last_seen)) meta.last_seen_ns = *t;
  detect::MetaId meta_id = context.Meta(meta);
  for (int i = 0; i < count; ++i) context.Offer(parts[i].value, parts[i].type, meta_id, attribute_where);
}

bool ValidUuid(std::string_view uuid) {
  if (uuid.empty() || uuid.size() > 64) return false;
  for (char c : uuid) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

void LoadMispEventText(std::string_view json, std::string_view where, std::string_view manifest_info,
                       LoadContext& context) {
  simdjson::padded_string padded(json);
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  object root;
  simdjson::error_code error = parser.iterate(padded).get(doc);
  if (!error) error = doc.get_object().get(root);
  MispEvent event;
  if (!error) error = CollectEvent(root, event, 0);
  if (error) {
    context.FileError(where, std::string("invalid MISP event JSON: ") + simdjson::error_message(error));
    return;
  }
  if (event.uuid.empty() && event.attributes.empty()) {
    context.FileError(where, "not a MISP event (no Event.uuid and no attributes)");
    return;
  }

  IndicatorMeta meta = context.options().defaults;
  meta.source = "misp/";
  meta.source.append(event.uuid.empty() ? std::filesystem::path(where).stem().string() : std::string(event.uuid));
  std::string_view info = event.info.empty() ? manifest_info : event.info;
  if (!info.empty()) meta.description.assign(info);
  if (event.threat_level_id == "1") meta.severity = Severity::kHigh;
  if (event.threat_level_id == "2") meta.severity = Severity::kMedium;
  if (event.threat_level_id == "3") meta.severity = Severity::kLow;
  ApplyTags(event.tags, meta);
  for (const MispAttribute& attribute : event.attributes) LoadAttribute(attribute, meta, where, context);
}

void LoadMispFolder(const std::filesystem::path& dir, LoadContext& context) {
  std::string manifest_path = (dir / "manifest.json").string();
  std::string manifest;
  std::string error_text;
  if (!ReadWholeFile(manifest_path, manifest, error_text)) {
    context.FileError(manifest_path, error_text);
    return;
  }
  // uuid -> info, copied out so the manifest parser can be released.
  std::vector<std::pair<std::string, std::string>> events;
  {
    simdjson::padded_string padded(manifest);
    simdjson::ondemand::parser parser;
    simdjson::ondemand::document doc;
    object root;
    simdjson::error_code error = parser.iterate(padded).get(doc);
    if (!error) error = doc.get_object().get(root);
    if (!error) {
      for (auto field : root) {
        std::string_view uuid;
        if ((error = field.unescaped_key().get(uuid))) break;
        std::string uuid_copy(uuid);
        std::string info;
        object entry;
        if (field.value().get_object().get(entry) == simdjson::SUCCESS) {
          for (auto entry_field : entry) {
            std::string_view key;
            if ((error = entry_field.unescaped_key().get(key))) break;
            std::string_view text;
            if (key == "info" && entry_field.value().get_string().get(text) == simdjson::SUCCESS) info.assign(text);
          }
          if (error) break;
        }
        events.emplace_back(std::move(uuid_copy), std::move(info));
      }
    }
    if (error) {
      context.FileError(manifest_path, std::string("invalid manifest JSON: ") + simdjson::error_message(error));
    }
  }
  std::string content;
  for (const auto& [uuid, info] : events) {
    if (!ValidUuid(uuid)) {
      context.FileError(manifest_path, "manifest lists an invalid event uuid '" + uuid + "'");
      continue;
    }
    std::string event_path = (dir / (uuid + ".json")).string();
    if (!ReadWholeFile(event_path, content, error_text)) {
      context.FileError(event_path, error_text);
      continue;
    }
    ++context.report().files;
    if (context.options().on_file) context.options().on_file(event_path, context.report().files);
    LoadMispEventText(content, event_path, info, context);
  }
}

}  // namespace aegis::intel::internal
