// Zeek JSON logs (LogAscii::use_json, or the JSON streaming logs package with "_path"):
// one JSON object per record -> Event. Also home of the Zeek field -> schema mapping
// (MapZeekField) that the TSV parser shares; docs/schema/zeek-suricata.md documents it.
#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/event.h"
#include "ingest/http_url.h"
#include "ingest/ingest.h"
#include "ingest/json_fields.h"
#include "ingest/parsers.h"

namespace aegis::ingest {
namespace {

struct ZeekMappingEntry {
  std::string_view log_path;  // "" applies to every log
  std::string_view original;
  std::string_view name;  // "" keeps the original name
  std::optional<ValueType> type;
};

constexpr auto kIp = ValueType::kIp;
constexpr auto kInt = ValueType::kInt;
constexpr auto kTime = ValueType::kTime;
constexpr auto kString = ValueType::kString;
constexpr std::nullopt_t kAsGiven = std::nullopt;

// Log-specific entries come before the generic ones with the same original name.
constexpr ZeekMappingEntry kZeekMappings[] = {
    // Every log.
    {"", "_path", "event.dataset", kString},
    {"", "_write_ts", "", kTime},
    {"", "uid", "zeek.uid", kString},
    {"", "fuid", "zeek.fuid", kString},
    {"", "id.orig_h", "source.ip", kIp},
    {"", "id.orig_p", "source.port", kInt},
    {"", "id.resp_h", "destination.ip", kIp},
    {"", "id.resp_p", "destination.port", kInt},
    {"", "proto", "network.transport", kString},
    {"", "service", "network.protocol", kString},
    {"", "community_id", "network.community_id", kString},
    {"", "user_agent", "user_agent.original", kString},
    // conn
    {"conn", "orig_bytes", "source.bytes", kInt},
    {"conn", "resp_bytes", "destination.bytes", kInt},
    {"conn", "orig_pkts", "source.packets", kInt},
    {"conn", "resp_pkts", "destination.packets", kInt},
    {"conn", "orig_l2_addr", "source.mac", kString},
    {"conn", "resp_l2_addr", "destination.mac", kString},
    {"conn", "conn_state", "zeek.conn.state", kString},
    {"conn", "duration", "zeek.conn.duration", kAsGiven},
    // dns
    {"dns", "query", "dns.question.name", kString},
    {"dns", "qtype_name", "dns.question.type", kString},
    {"dns", "qclass_name", "dns.question.class", kString},
    {"dns", "rcode_name", "dns.response_code", kString},
    {"dns", "trans_id", "dns.id", kInt},
    {"dns", "answers", "dns.answers.data", kString},
    {"dns", "TTLs", "dns.answers.ttl", kAsGiven},
    // http
    {"http", "host", "url.domain", kString},
    {"http", "uri", "url.path", kString},
    {"http", "method", "http.request.method", kString},
    {"http", "status_code", "http.response.status_code", kInt},
    {"http", "referrer", "http.request.referrer", kString},
    {"http", "version", "http.version", kString},
    {"http", "request_body_len", "http.request.body.bytes", kInt},
    {"http", "response_body_len", "http.response.body.bytes", kInt},
    {"http", "resp_mime_types", "http.response.mime_type", kString},
    {"http", "username", "user.name", kString},
    // ssl
    {"ssl", "server_name", "tls.server_name", kString},
    {"ssl", "ja3", "tls.client.ja3", kString},
    {"ssl", "ja3s", "tls.server.ja3s", kString},
    {"ssl", "version", "tls.version", kString},
    {"ssl", "cipher", "tls.cipher", kString},
    {"ssl", "curve", "tls.curve", kString},
    {"ssl", "subject", "tls.server.subject", kString},
    {"ssl", "issuer", "tls.server.issuer", kString},
    {"ssl", "client_subject", "tls.client.subject", kString},
    {"ssl", "client_issuer", "tls.client.issuer", kString},
    {"ssl", "cert_chain_fps", "tls.server.hash.sha256", kString},
    {"ssl", "client_cert_chain_fps", "tls.client.hash.sha256", kString},
    {"ssl", "established", "tls.established", kAsGiven},
    {"ssl", "resumed", "tls.resumed", kAsGiven},
    {"ssl", "next_protocol", "tls.next_protocol", kString},
    // x509
    {"x509", "fingerprint", "tls.server.hash.sha256", kString},
    {"x509", "certificate.version", "x509.version_number", kAsGiven},
    {"x509", "certificate.serial", "x509.serial_number", kString},
    {"x509", "certificate.subject", "x509.subject.distinguished_name", kString},
    {"x509", "certificate.issuer", "x509.issuer.distinguished_name", kString},
    {"x509", "certificate.cn", "x509.subject.common_name", kString},
    {"x509", "certificate.not_valid_before", "x509.not_before", kTime},
    {"x509", "certificate.not_valid_after", "x509.not_after", kTime},
    {"x509", "certificate.key_alg", "x509.public_key_algorithm", kString},
    {"x509", "certificate.sig_alg", "x509.signature_algorithm", kString},
    {"x509", "certificate.key_type", "x509.public_key_type", kString},
    {"x509", "certificate.key_length", "x509.public_key_size", kInt},
    {"x509", "certificate.exponent", "x509.public_key_exponent", kString},
    {"x509", "certificate.curve", "x509.public_key_curve", kString},
    {"x509", "san.dns", "x509.san.dns", kString},
    {"x509", "san.uri", "x509.san.uri", kString},
    {"x509", "san.email", "x509.san.email", kString},
    {"x509", "san.ip", "x509.san.ip", kIp},
    // smtp
    {"smtp", "mailfrom", "email.from.address", kString},
    {"smtp", "rcptto", "email.to.address", kString},
    {"smtp", "from", "email.from.address", kString},
    {"smtp", "to", "email.to.address", kString},
    {"smtp", "cc", "email.cc.address", kString},
    {"smtp", "reply_to", "email.reply_to.address", kString},
    {"smtp", "subject", "email.subject", kString},
    {"smtp", "msg_id", "email.message_id", kString},
    {"smtp", "x_originating_ip", "email.x_originating_ip", kIp},
    {"smtp", "path", "", kIp},
    {"ftp", "data_channel.orig_h", "", kIp},
    {"ftp", "data_channel.resp_h", "", kIp},
    {"ftp", "data_channel.resp_p", "", kInt},
    // files
    {"files", "md5", "file.hash.md5", kString},
    {"files", "sha1", "file.hash.sha1", kString},
    {"files", "sha256", "file.hash.sha256", kString},
    {"files", "mime_type", "file.mime_type", kString},
    {"files", "filename", "file.name", kString},
    {"files", "total_bytes", "file.size", kInt},
    {"files", "tx_hosts", "source.ip", kIp},
    {"files", "rx_hosts", "destination.ip", kIp},
    // pe
    {"pe", "machine", "pe.architecture", kString},
    {"pe", "compile_ts", "pe.compile_time", kTime},
    // notice
    {"notice", "note", "rule.name", kString},
    {"notice", "msg", "message", kString},
    {"notice", "src", "source.ip", kIp},
    {"notice", "dst", "destination.ip", kIp},
    {"notice", "p", "destination.port", kInt},
    // ftp
    {"ftp", "user", "user.name", kString},
    {"ftp", "mime_type", "file.mime_type", kString},
    {"ftp", "file_size", "file.size", kInt},
    // ntlm, rdp, kerberos, ssh
    {"ntlm", "username", "user.name", kString},
    {"ntlm", "domainname", "user.domain", kString},
    {"rdp", "cookie", "user.name", kString},
    {"ssh", "client", "ssh.client", kString},
    {"ssh", "server", "ssh.server", kString},
    {"ssh", "hassh", "ssh.hassh", kString},
    {"ssh", "hasshServer", "ssh.hassh_server", kString},
    // dhcp
    {"dhcp", "mac", "client.mac", kString},
    {"dhcp", "assigned_addr", "client.ip", kIp},
    {"dhcp", "client_addr", "client.ip", kIp},
    {"dhcp", "server_addr", "server.ip", kIp},
    {"dhcp", "host_name", "host.hostname", kString},
    {"dhcp", "domain", "client.domain", kString},
    // host inventories
    {"known_hosts", "host", "host.ip", kIp},
    {"known_services", "host", "host.ip", kIp},
    {"known_services", "port_num", "destination.port", kInt},
    {"known_certs", "host", "host.ip", kIp},
    {"known_certs", "port_num", "destination.port", kInt},
    {"known_certs", "subject", "x509.subject.distinguished_name", kString},
    {"known_certs", "issuer_subject", "x509.issuer.distinguished_name", kString},
    {"known_certs", "serial", "x509.serial_number", kString},
    {"software", "host", "host.ip", kIp},
    {"software", "host_p", "destination.port", kInt},
    // syslog
    {"syslog", "facility", "log.syslog.facility.name", kString},
    {"syslog", "severity", "log.syslog.severity.name", kString},
    {"syslog", "message", "message", kString},
    // smb
    {"smb_files", "name", "file.name", kString},
    {"smb_files", "path", "file.directory", kString},
    {"smb_files", "action", "event.action", kString},
    {"smb_mapping", "path", "file.directory", kString},
};

// The log path of a record: the value of "_path", found without parsing (it decides
// how the other fields map, and need not come first).
std::string_view FindLogPath(std::string_view record) {
  constexpr std::string_view kKey = "\"_path\"";
  size_t at =
      record.size() > 1 && record.compare(1, kKey.size(), kKey) == 0 ? 1 : record.find(kKey);
  while (at != std::string_view::npos) {
    size_t i = at + kKey.size();
    while (i < record.size() && (record[i] == ' ' || record[i] == '\t' || record[i] == '\n' ||
                                 record[i] == '\r' || record[i] == ':')) {
      ++i;
    }
    if (i < record.size() && record[i] == '"' && record.find(':', at + kKey.size()) < i) {
      size_t end = record.find('"', i + 1);
      if (end == std::string_view::npos) return {};
      return record.substr(i + 1, end - i - 1);
    }
    at = record.find(kKey, at + kKey.size());
  }
  return {};
}

// Zeek writes every time value in JSON as "2018-03-24T17:15:20.865716Z": a field of
// Zeek type `time` that the mapping table does not list is recognised by its shape.
bool LooksLikeZeekTime(std::string_view s) {
  return s.size() == 27 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' &&
         s[16] == ':' && s[19] == '.' && s[26] == 'Z' && IsAsciiDigit(s[0]) &&
         IsAsciiDigit(s[25]);
}

class ZeekJsonParser final : public RecordParser {
 public:
  EventFormat format() const override { return EventFormat::kZeekJson; }

  Result<ParseOutcome> Parse(std::string_view record, Event& out) override {
    simdjson::ondemand::document doc;
    simdjson::ondemand::object object;
    if (auto opened = reader_.Open(record, doc, object); !opened) {
      return std::unexpected(opened.error());
    }
    SelectLog(FindLogPath(record));
    name_.clear();
    if (auto walked = WalkObject(object, out, 0); !walked) return std::unexpected(walked.error());
    if (auto ended = JsonObjectReader::CheckNothingFollows(doc); !ended) {
      return std::unexpected(ended.error());
    }
    if (log_->is_http) http_url_.AddFullUrl(out);
    return ParseOutcome::kEvent;
  }

 private:
  struct LogCache {
    bool is_http = false;
    JsonFieldTable fields;
  };

  void SelectLog(std::string_view path) {
    if (log_ == nullptr || path != log_path_) {
      log_path_.assign(path);
      auto it = logs_.find(log_path_);
      if (it == logs_.end()) {
        it = logs_.emplace(log_path_, LogCache{}).first;
        it->second.is_http = path == "http";
      }
      log_ = &it->second;
    }
    fields_.StartRecord(log_->fields);
  }

  // nullptr when the record would add a name beyond kJsonMaxDistinctNames.
  const CachedJsonField* Lookup(std::string_view original) {
    return fields_.Lookup(original, [this](std::string_view name, CachedJsonField& field) {
      ZeekMapping mapping = MapZeekField(log_path_, name);
      field.key = std::move(mapping.key);
      field.type = mapping.type;
      field.is_timestamp = name == "ts";
    });
  }

  Result<void> WalkObject(simdjson::ondemand::object& object, Event& out, int depth) {
    namespace od = simdjson::ondemand;
    const size_t prefix_size = name_.size();
    for (auto field_result : object) {
      std::string_view key;
      if (!ReadJsonKey(field_result, key)) return JsonFieldError("malformed key");
      if (prefix_size == 0 && key.empty()) continue;  // an empty key names nothing: skipped
      // Top-level names (nearly all in Zeek logs) are used as they are; nested ones are
      // joined to their parents' in name_.
      std::string_view name = key;
      if (prefix_size != 0) {
        name_.resize(prefix_size);
        name_.push_back('.');
        name_.append(key);
        name = name_;
      }
      // Kept as a result: copying the value out of it costs a store-forwarding stall.
      simdjson::simdjson_result<od::value> value = field_result.value();
      od::json_type type;
      if (value.type().get(type) != simdjson::SUCCESS) {
        return JsonFieldError("malformed value", name);
      }
      if (type == od::json_type::object && depth < kJsonMaxNesting) {
        od::object inner;
        if (value.get_object().get(inner) != simdjson::SUCCESS) {
          return JsonFieldError("malformed object", name);
        }
        if (prefix_size == 0) name_.assign(key);
        if (auto r = WalkObject(inner, out, depth + 1); !r) return r;
        name_.resize(prefix_size);
        continue;
      }
      const CachedJsonField* found = Lookup(name);
      if (found == nullptr) return JsonFieldError("too many distinct field names", name);
      const CachedJsonField& cached = *found;
      if (type == od::json_type::array) {
        od::array array;
        if (value.get_array().get(array) != simdjson::SUCCESS) {
          return JsonFieldError("malformed array", name);
        }
        for (auto element_result : array) {
          if (auto r = AddValue(cached, element_result, out, true); !r) return r;
        }
        continue;
      }
      if (auto r = AddValue(cached, value, out, false); !r) return r;
    }
    name_.resize(prefix_size);
    return {};
  }

  // `in_array`: an element of a set or vector.
  Result<void> AddValue(const CachedJsonField& cached,
                        simdjson::simdjson_result<simdjson::ondemand::value>& value, Event& out,
                        bool in_array) {
    namespace od = simdjson::ondemand;
    od::json_type type;
    if (value.type().get(type) != simdjson::SUCCESS) {
      return JsonFieldError("malformed value", cached.original);
    }
    const std::optional<ValueType>& schema_type = cached.type;
    switch (type) {
      case od::json_type::string: {
        std::string_view text;
        if (value.get_string().get(text) != simdjson::SUCCESS) {
          return JsonFieldError("malformed string", cached.original);
        }
        if (cached.is_timestamp) {
          auto ns = ParseTimeInRange(text);
          if (!ns) return JsonFieldError("not a time", "ts");
          out.timestamp_ns = *ns;
          return {};
        }
        // The TSV writer cannot tell {""} from an empty set: neither gives a field.
        if (in_array && text.empty()) return {};
        ValueType type = schema_type.value_or(ValueType::kString);
        if (!schema_type && LooksLikeZeekTime(text)) type = ValueType::kTime;
        out.Add(cached.key, type, text);
        return {};
      }
      case od::json_type::number: {
        std::string_view token;
        bool is_integer = false;
        if (!ReadJsonNumber(value, token, is_integer)) {
          return JsonFieldError("malformed number", cached.original);
        }
        if (cached.is_timestamp || schema_type == ValueType::kTime) {
          auto ns = ParseEpochSecondsInRange(token);
          if (!ns) return JsonFieldError("not a time", cached.original);
          if (cached.is_timestamp) {
            out.timestamp_ns = *ns;
          } else {
            out.Add(cached.key, ValueType::kTime, FormatTime(*ns));
          }
          return {};
        }
        out.Add(cached.key, JsonNumberType(is_integer, schema_type), token);
        return {};
      }
      default:
        return AddOtherJsonValue(cached, value, type, out);
    }
  }

  JsonObjectReader reader_;
  std::unordered_map<std::string, LogCache> logs_;
  std::string log_path_;
  LogCache* log_ = nullptr;
  JsonFieldCache fields_;
  std::string name_;  // dotted name of the field being read
  HttpUrlBuilder http_url_;
};

}  // namespace

ZeekMapping MapZeekField(std::string_view log_path, std::string_view original) {
  const ZeekMappingEntry* generic = nullptr;
  for (const ZeekMappingEntry& entry : kZeekMappings) {
    if (entry.original != original) continue;
    if (entry.log_path == log_path) return {KeyFor(entry.name, original), entry.type};
    if (entry.log_path.empty() && generic == nullptr) generic = &entry;
  }
  if (generic != nullptr) return {KeyFor(generic->name, original), generic->type};
  return {KeyFor("", original), std::nullopt};
}

std::unique_ptr<RecordParser> MakeZeekJsonParser() { return std::make_unique<ZeekJsonParser>(); }

}  // namespace aegis::ingest
