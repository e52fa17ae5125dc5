// Zeek JSON logs (LogAscii::use_json, or the JSON streaming logs package with "_path"):
// one JSON object per record -> Event. Also home of the Zeek field -> schema mapping
// (MapZeekField) that the TSV parser shares; docs/schema/zeek-suricata.md documents it.
#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/event.h"
#include "ingest/ingest.h"
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

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Checks a JSON number token and says whether it is an integer. The on-demand parser
// does not validate numbers it is not asked to convert.
bool CheckNumber(std::string_view token, bool& is_integer) {
  size_t i = 0;
  if (i < token.size() && token[i] == '-') ++i;
  size_t digits_start = i;
  while (i < token.size() && IsDigit(token[i])) ++i;
  if (i == digits_start) return false;
  is_integer = true;
  if (i < token.size() && token[i] == '.') {
    is_integer = false;
    size_t frac_start = ++i;
    while (i < token.size() && IsDigit(token[i])) ++i;
    if (i == frac_start) return false;
  }
  if (i < token.size() && (token[i] == 'e' || token[i] == 'E')) {
    is_integer = false;
    ++i;
    if (i < token.size() && (token[i] == '+' || token[i] == '-')) ++i;
    size_t exp_start = i;
    while (i < token.size() && IsDigit(token[i])) ++i;
    if (i == exp_start) return false;
  }
  return i == token.size();
}

// Zeek writes every time value in JSON as "2018-03-24T17:15:20.865716Z": a field of
// Zeek type `time` that the mapping table does not list is recognised by its shape.
bool LooksLikeZeekTime(std::string_view s) {
  return s.size() == 27 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' &&
         s[16] == ':' && s[19] == '.' && s[26] == 'Z' && IsDigit(s[0]) && IsDigit(s[25]);
}

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Equality for field names, inline and a word at a time: a call to memcmp per field
// was a tenth of the parse time. Loads stay inside both strings.
bool SameShortText(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  auto load64 = [](const char* p) {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  };
  auto load32 = [](const char* p) {
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  };
  if (n >= 8 && n <= 16) {
    return load64(a.data()) == load64(b.data()) &&
           load64(a.data() + n - 8) == load64(b.data() + n - 8);
  }
  if (n >= 4 && n < 8) {
    return load32(a.data()) == load32(b.data()) &&
           load32(a.data() + n - 4) == load32(b.data() + n - 4);
  }
  if (n < 4) {
    for (size_t i = 0; i < n; ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }
  return a == b;
}

constexpr int kMaxNesting = 16;
// Field names are interned for the life of the process: a parser accepts at most this
// many distinct names, so that garbage with ever new keys cannot grow memory forever.
constexpr size_t kMaxDistinctNames = 8192;

class ZeekJsonParser final : public RecordParser {
 public:
  EventFormat format() const override { return EventFormat::kZeekJson; }

  Result<ParseOutcome> Parse(std::string_view record, Event& out) override {
    namespace od = simdjson::ondemand;
    // The on-demand parser reads up to SIMDJSON_PADDING bytes past the end.
    if (padded_.size() < record.size() + simdjson::SIMDJSON_PADDING) {
      padded_.resize(record.size() + simdjson::SIMDJSON_PADDING);
    }
    std::memcpy(padded_.data(), record.data(), record.size());
    od::document doc;
    if (parser_.iterate(padded_.data(), record.size(), padded_.size()).get(doc) !=
        simdjson::SUCCESS) {
      return Fail("not JSON");
    }
    od::object object;
    if (doc.get_object().get(object) != simdjson::SUCCESS) return Fail("not a JSON object");
    SelectLog(FindLogPath(record));
    name_.clear();
    if (auto walked = WalkObject(object, out, 0); !walked) return std::unexpected(walked.error());
    const char* trailing = nullptr;
    if (doc.current_location().get(trailing) == simdjson::SUCCESS) {
      return Fail("trailing characters after the JSON object");
    }
    if (log_->is_http) AddHttpUrl(out);
    return ParseOutcome::kEvent;
  }

 private:
  struct CachedField {
    std::string original;  // full dotted name
    ZeekMapping mapping;
    bool is_ts = false;
    CachedField* next = nullptr;  // the field that followed this one in the last record
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct LogCache {
    bool is_http = false;
    CachedField* first = nullptr;  // the first field of the last record
    std::unordered_map<std::string, CachedField, StringHash, std::equal_to<>> by_name;
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
    previous_ = nullptr;
  }

  // Records of one log mostly list the same fields in the same order: try the field
  // that followed the previous one last time before hashing the name.
  // nullptr when the record would add a name beyond kMaxDistinctNames.
  const CachedField* Lookup(std::string_view original) {
    CachedField*& expected = previous_ == nullptr ? log_->first : previous_->next;
    if (expected != nullptr && SameShortText(expected->original, original)) {
      previous_ = expected;
      return expected;
    }
    auto it = log_->by_name.find(original);
    if (it == log_->by_name.end()) {
      if (distinct_names_ >= kMaxDistinctNames) return nullptr;
      ++distinct_names_;
      CachedField field;
      field.original.assign(original);
      field.mapping = MapZeekField(log_path_, original);
      field.is_ts = original == "ts";
      it = log_->by_name.emplace(field.original, std::move(field)).first;
    }
    expected = &it->second;
    previous_ = &it->second;
    return &it->second;
  }

  Result<void> WalkObject(simdjson::ondemand::object& object, Event& out, int depth) {
    namespace od = simdjson::ondemand;
    const size_t prefix_size = name_.size();
    for (auto field_result : object) {
      std::string_view key;
      if (!ReadKey(field_result, key)) return Bad("malformed key");
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
      if (value.type().get(type) != simdjson::SUCCESS) return Bad("malformed value", name);
      if (type == od::json_type::object && depth < kMaxNesting) {
        od::object inner;
        if (value.get_object().get(inner) != simdjson::SUCCESS) {
          return Bad("malformed object", name);
        }
        if (prefix_size == 0) name_.assign(key);
        if (auto r = WalkObject(inner, out, depth + 1); !r) return r;
        name_.resize(prefix_size);
        continue;
      }
      const CachedField* found = Lookup(name);
      if (found == nullptr) return Bad("too many distinct field names", name);
      const CachedField& cached = *found;
      if (type == od::json_type::array) {
        od::array array;
        if (value.get_array().get(array) != simdjson::SUCCESS) return Bad("malformed array", name);
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
  Result<void> AddValue(const CachedField& cached,
                        simdjson::simdjson_result<simdjson::ondemand::value>& value, Event& out,
                        bool in_array) {
    namespace od = simdjson::ondemand;
    od::json_type type;
    if (value.type().get(type) != simdjson::SUCCESS) return Bad("malformed value", cached.original);
    const std::optional<ValueType>& schema_type = cached.mapping.type;
    switch (type) {
      case od::json_type::string: {
        std::string_view text;
        if (value.get_string().get(text) != simdjson::SUCCESS) {
          return Bad("malformed string", cached.original);
        }
        if (cached.is_ts) {
          auto ns = ParseTimeInRange(text);
          if (!ns) return Bad("not a time", "ts");
          out.timestamp_ns = *ns;
          return {};
        }
        // The TSV writer cannot tell {""} from an empty set: neither gives a field.
        if (in_array && text.empty()) return {};
        ValueType type = schema_type.value_or(ValueType::kString);
        if (!schema_type && LooksLikeZeekTime(text)) type = ValueType::kTime;
        out.Add(cached.mapping.key, type, text);
        return {};
      }
      case od::json_type::number: {
        std::string_view token;
        if (value.raw_json_token().get(token) != simdjson::SUCCESS) {
          return Bad("malformed number", cached.original);
        }
        token = TrimRight(token);
        bool is_integer = false;
        if (!CheckNumber(token, is_integer)) return Bad("malformed number", cached.original);
        if (cached.is_ts || schema_type == ValueType::kTime) {
          auto ns = ParseEpochSecondsInRange(token);
          if (!ns) return Bad("not a time", cached.original);
          if (cached.is_ts) {
            out.timestamp_ns = *ns;
          } else {
            out.Add(cached.mapping.key, ValueType::kTime, FormatTime(*ns));
          }
          return {};
        }
        ValueType number_type = is_integer ? ValueType::kInt : ValueType::kFloat;
        if (schema_type == ValueType::kInt || schema_type == ValueType::kFloat) {
          number_type = *schema_type;
        }
        out.Add(cached.mapping.key, number_type, token);
        return {};
      }
      case od::json_type::boolean: {
        bool flag = false;
        if (value.get_bool().get(flag) != simdjson::SUCCESS) {
          return Bad("malformed boolean", cached.original);
        }
        out.Add(cached.mapping.key, ValueType::kBool, flag ? "true" : "false");
        return {};
      }
      case od::json_type::null: {
        bool is_null = false;
        if (value.is_null().get(is_null) != simdjson::SUCCESS || !is_null) {
          return Bad("malformed null", cached.original);
        }
        return {};
      }
      case od::json_type::object:
      case od::json_type::array: {
        // Nested too deep, or an array inside an array: keep the JSON text.
        std::string_view json;
        if (RawJson(value, type, json) != simdjson::SUCCESS) {
          return Bad("malformed value", cached.original);
        }
        out.Add(cached.mapping.key, ValueType::kString, TrimRight(json));
        return {};
      }
    }
    return Bad("unexpected JSON value", cached.original);
  }

  // http: url.full from the host and the request target.
  void AddHttpUrl(Event& out) {
    const Field* host = out.Find("url.domain");
    const Field* path = out.Find("url.path");
    if (host == nullptr || path == nullptr || !path->value.starts_with('/')) return;
    if (url_key_.name.empty()) url_key_ = KeyFor("url.full", "url.full");
    url_.assign("http://");
    url_.append(host->value);
    url_.append(path->value);
    out.Add(url_key_, ValueType::kString, url_);
  }

  // The JSON text of an object or array value.
  static simdjson::error_code RawJson(simdjson::simdjson_result<simdjson::ondemand::value>& value,
                                      simdjson::ondemand::json_type type, std::string_view& json) {
    if (type == simdjson::ondemand::json_type::object) {
      simdjson::ondemand::object object;
      if (auto error = value.get_object().get(object); error) return error;
      return object.raw_json().get(json);
    }
    simdjson::ondemand::array array;
    if (auto error = value.get_array().get(array); error) return error;
    return array.raw_json().get(json);
  }

  // The key of a field: read in place when it has no escapes (the common case, and
  // much cheaper than unescaping a copy).
  static bool ReadKey(simdjson::simdjson_result<simdjson::ondemand::field>& field,
                      std::string_view& key) {
    simdjson::ondemand::raw_json_string raw;
    if (field.key().get(raw) != simdjson::SUCCESS) return false;
    const char* start = raw.raw();
    const char* end = start;
    // The document was validated by stage 1: the closing quote exists.
    while (*end != '"' && *end != '\\') ++end;
    if (*end == '"') {
      key = std::string_view(start, static_cast<size_t>(end - start));
      return true;
    }
    return field.unescaped_key().get(key) == simdjson::SUCCESS;
  }

  static std::unexpected<Error> Bad(std::string reason, std::string_view field = {}) {
    return Fail(std::move(reason), std::string(field));
  }

  simdjson::ondemand::parser parser_;
  std::vector<char> padded_;
  std::unordered_map<std::string, LogCache> logs_;
  std::string log_path_;
  LogCache* log_ = nullptr;
  CachedField* previous_ = nullptr;  // the field read last in this record
  size_t distinct_names_ = 0;
  std::string name_;  // dotted name of the field being read
  FieldKey url_key_;
  std::string url_;
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
