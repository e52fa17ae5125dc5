// Suricata EVE JSON: one JSON object per record -> Event. Nested objects flatten to
// dotted original names ("dns.rrname", "tls.sni"); arrays give one field per element,
// objects inside arrays flatten under the array's name ("dns.answers.rdata"). Names map
// to the schema as documented in docs/schema/zeek-suricata.md.
#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>

#include "core/event.h"
#include "ingest/http_url.h"
#include "ingest/ingest.h"
#include "ingest/json_fields.h"
#include "ingest/parsers.h"

namespace aegis::ingest {
namespace {

struct SuricataMappingEntry {
  std::string_view original;  // dotted EVE name
  std::string_view name;      // schema name
  std::optional<ValueType> type;
};

constexpr auto kIp = ValueType::kIp;
constexpr auto kInt = ValueType::kInt;
constexpr auto kTime = ValueType::kTime;
constexpr auto kString = ValueType::kString;

constexpr SuricataMappingEntry kSuricataMappings[] = {
    {"event_type", "event.dataset", kString},
    {"src_ip", "source.ip", kIp},
    {"src_port", "source.port", kInt},
    {"dest_ip", "destination.ip", kIp},
    {"dest_port", "destination.port", kInt},
    {"proto", "network.transport", kString},
    {"app_proto", "network.protocol", kString},
    {"community_id", "network.community_id", kString},
    {"flow_id", "suricata.flow_id", kInt},
    {"in_iface", "observer.ingress.interface.name", kString},
    {"vlan", "network.vlan.id", kInt},
    {"host", "observer.name", kString},
    // alert
    {"alert.signature", "rule.name", kString},
    {"alert.signature_id", "rule.id", kInt},
    {"alert.rev", "rule.version", kInt},
    {"alert.category", "rule.category", kString},
    {"alert.severity", "event.severity", kInt},
    {"alert.action", "event.action", kString},
    // dns (EVE versions 1 to 3)
    {"dns.rrname", "dns.question.name", kString},
    {"dns.rrtype", "dns.question.type", kString},
    {"dns.rcode", "dns.response_code", kString},
    {"dns.id", "dns.id", kInt},
    {"dns.type", "dns.type", kString},
    {"dns.rdata", "dns.answers.data", kString},
    {"dns.queries.rrname", "dns.question.name", kString},
    {"dns.queries.rrtype", "dns.question.type", kString},
    {"dns.query.rrname", "dns.question.name", kString},
    {"dns.query.rrtype", "dns.question.type", kString},
    {"dns.answers.rrname", "dns.answers.name", kString},
    {"dns.answers.rrtype", "dns.answers.type", kString},
    {"dns.answers.rdata", "dns.answers.data", kString},
    {"dns.answers.ttl", "dns.answers.ttl", kInt},
    {"dns.grouped.A", "dns.answers.data", kIp},
    {"dns.grouped.AAAA", "dns.answers.data", kIp},
    {"dns.grouped.CNAME", "dns.answers.data", kString},
    {"dns.grouped.MX", "dns.answers.data", kString},
    {"dns.grouped.NS", "dns.answers.data", kString},
    {"dns.grouped.PTR", "dns.answers.data", kString},
    {"dns.grouped.TXT", "dns.answers.data", kString},
    // http
    {"http.hostname", "url.domain", kString},
    {"http.url", "url.path", kString},
    {"http.http_method", "http.request.method", kString},
    {"http.status", "http.response.status_code", kInt},
    {"http.http_user_agent", "user_agent.original", kString},
    {"http.http_refer", "http.request.referrer", kString},
    {"http.http_content_type", "http.response.mime_type", kString},
    {"http.protocol", "http.version", kString},
    {"http.length", "http.response.body.bytes", kInt},
    // tls
    {"tls.sni", "tls.server_name", kString},
    {"tls.subject", "tls.server.subject", kString},
    {"tls.issuerdn", "tls.server.issuer", kString},
    {"tls.serial", "tls.server.x509.serial_number", kString},
    {"tls.fingerprint", "tls.server.hash.sha1", kString},
    {"tls.version", "tls.version", kString},
    {"tls.notbefore", "tls.server.not_before", kTime},
    {"tls.notafter", "tls.server.not_after", kTime},
    {"tls.ja3.hash", "tls.client.ja3", kString},
    {"tls.ja3s.hash", "tls.server.ja3s", kString},
    // files
    {"fileinfo.filename", "file.name", kString},
    {"fileinfo.md5", "file.hash.md5", kString},
    {"fileinfo.sha1", "file.hash.sha1", kString},
    {"fileinfo.sha256", "file.hash.sha256", kString},
    {"fileinfo.size", "file.size", kInt},
    {"fileinfo.magic", "file.type", kString},
    // smtp and email
    {"smtp.helo", "smtp.helo", kString},
    {"smtp.mail_from", "email.from.address", kString},
    {"smtp.rcpt_to", "email.to.address", kString},
    {"email.from", "email.from.address", kString},
    {"email.to", "email.to.address", kString},
    {"email.cc", "email.cc.address", kString},
    {"email.subject", "email.subject", kString},
    // flow
    {"flow.bytes_toserver", "source.bytes", kInt},
    {"flow.bytes_toclient", "destination.bytes", kInt},
    {"flow.pkts_toserver", "source.packets", kInt},
    {"flow.pkts_toclient", "destination.packets", kInt},
    {"flow.start", "event.start", kTime},
    {"flow.end", "event.end", kTime},
    // ssh
    {"ssh.client.software_version", "ssh.client", kString},
    {"ssh.server.software_version", "ssh.server", kString},
    {"ssh.client.hassh.hash", "ssh.hassh", kString},
    {"ssh.server.hassh.hash", "ssh.hassh_server", kString},
};

void DescribeSuricataField(std::string_view original, CachedJsonField& field) {
  field.is_timestamp = original == "timestamp";
  for (const SuricataMappingEntry& entry : kSuricataMappings) {
    if (entry.original == original) {
      field.key = KeyFor(entry.name, original);
      field.type = entry.type;
      return;
    }
  }
  field.key = KeyFor("", original);
}

class SuricataParser final : public RecordParser {
 public:
  EventFormat format() const override { return EventFormat::kSuricataEve; }

  Result<ParseOutcome> Parse(std::string_view record, Event& out) override {
    simdjson::ondemand::document doc;
    simdjson::ondemand::object object;
    if (auto opened = reader_.Open(record, doc, object); !opened) {
      return std::unexpected(opened.error());
    }
    fields_.StartRecord(field_table_);
    name_.clear();
    if (auto walked = WalkObject(object, out, 0); !walked) return std::unexpected(walked.error());
    if (auto ended = JsonObjectReader::CheckNothingFollows(doc); !ended) {
      return std::unexpected(ended.error());
    }
    http_url_.AddFullUrl(out);
    return ParseOutcome::kEvent;
  }

 private:
  Result<void> WalkObject(simdjson::ondemand::object& object, Event& out, int depth) {
    namespace od = simdjson::ondemand;
    const size_t prefix_size = name_.size();
    for (auto field_result : object) {
      std::string_view key;
      if (!ReadJsonKey(field_result, key)) return JsonFieldError("malformed key");
      name_.resize(prefix_size);
      if (prefix_size != 0) name_.push_back('.');
      name_.append(key);
      if (name_.empty()) continue;  // an empty top-level key names nothing: skipped
      // Kept as a result: copying the value out of it costs a store-forwarding stall.
      simdjson::simdjson_result<od::value> value = field_result.value();
      if (auto r = WalkValue(value, out, depth); !r) return r;
    }
    name_.resize(prefix_size);
    return {};
  }

  // Adds the value named name_: objects flatten, arrays give one field per element.
  Result<void> WalkValue(simdjson::simdjson_result<simdjson::ondemand::value>& value, Event& out,
                         int depth) {
    namespace od = simdjson::ondemand;
    od::json_type type;
    if (value.type().get(type) != simdjson::SUCCESS) {
      return JsonFieldError("malformed value", name_);
    }
    if (depth < kJsonMaxNesting) {
      if (type == od::json_type::object) {
        od::object inner;
        if (value.get_object().get(inner) != simdjson::SUCCESS) {
          return JsonFieldError("malformed object", name_);
        }
        return WalkObject(inner, out, depth + 1);
      }
      if (type == od::json_type::array) {
        od::array array;
        if (value.get_array().get(array) != simdjson::SUCCESS) {
          return JsonFieldError("malformed array", name_);
        }
        for (auto element_result : array) {
          if (auto r = WalkValue(element_result, out, depth + 1); !r) return r;
        }
        return {};
      }
    }
    const CachedJsonField* cached = fields_.Lookup(name_, DescribeSuricataField);
    if (cached == nullptr) return JsonFieldError("too many distinct field names", name_);
    return AddScalar(*cached, value, type, out);
  }

  Result<void> AddScalar(const CachedJsonField& cached,
                         simdjson::simdjson_result<simdjson::ondemand::value>& value,
                         simdjson::ondemand::json_type type, Event& out) {
    namespace od = simdjson::ondemand;
    switch (type) {
      case od::json_type::string: {
        std::string_view text;
        if (value.get_string().get(text) != simdjson::SUCCESS) {
          return JsonFieldError("malformed string", cached.original);
        }
        if (cached.is_timestamp) {
          auto ns = ParseTimeInRange(text);
          if (!ns) return JsonFieldError("not a time", cached.original);
          out.timestamp_ns = *ns;
          return {};
        }
        out.Add(cached.key, cached.type.value_or(ValueType::kString), text);
        return {};
      }
      case od::json_type::number: {
        std::string_view token;
        bool is_integer = false;
        if (!ReadJsonNumber(value, token, is_integer)) {
          return JsonFieldError("malformed number", cached.original);
        }
        if (cached.is_timestamp) return JsonFieldError("not a time", cached.original);
        out.Add(cached.key, JsonNumberType(is_integer, cached.type), token);
        return {};
      }
      default:
        return AddOtherJsonValue(cached, value, type, out);
    }
  }

  JsonObjectReader reader_;
  JsonFieldTable field_table_;
  JsonFieldCache fields_;
  std::string name_;  // dotted name of the field being read
  HttpUrlBuilder http_url_;
};

}  // namespace

std::unique_ptr<RecordParser> MakeSuricataParser() { return std::make_unique<SuricataParser>(); }

}  // namespace aegis::ingest
