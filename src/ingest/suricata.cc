// Suricata EVE JSON: one JSON object per record -> Event. Nested objects flatten to
// dotted original names ("dns.rrname", "tls.sni"); arrays give one field per element,
// objects inside arrays flatten under the array's name ("dns.answers.rdata"). Names map
// to the schema as documented in docs/schema/zeek-suricata.md.
#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/event.h"
#include "ingest/ingest.h"
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

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Validates a JSON number token (on-demand parsing leaves unread numbers unchecked).
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

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

struct SuricataMapping {
  FieldKey key;
  std::optional<ValueType> type;
};

SuricataMapping MapSuricataField(std::string_view original) {
  for (const SuricataMappingEntry& entry : kSuricataMappings) {
    if (entry.original == original) return {KeyFor(entry.name, original), entry.type};
  }
  return {KeyFor("", original), std::nullopt};
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

class SuricataParser final : public RecordParser {
 public:
  EventFormat format() const override { return EventFormat::kSuricataEve; }

  Result<ParseOutcome> Parse(std::string_view record, Event& out) override {
    namespace od = simdjson::ondemand;
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
    previous_ = nullptr;
    name_.clear();
    if (auto walked = WalkObject(object, out, 0); !walked) return std::unexpected(walked.error());
    const char* trailing = nullptr;
    if (doc.current_location().get(trailing) == simdjson::SUCCESS) {
      return Fail("trailing characters after the JSON object");
    }
    AddHttpUrl(out);
    return ParseOutcome::kEvent;
  }

 private:
  struct CachedField {
    std::string original;
    SuricataMapping mapping;
    bool is_timestamp = false;
    CachedField* next = nullptr;  // the field that followed this one last time
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  // nullptr when the record would add a name beyond kMaxDistinctNames.
  const CachedField* Lookup(std::string_view original) {
    CachedField*& expected = previous_ == nullptr ? first_ : previous_->next;
    if (expected != nullptr && SameShortText(expected->original, original)) {
      previous_ = expected;
      return expected;
    }
    auto it = by_name_.find(original);
    if (it == by_name_.end()) {
      if (distinct_names_ >= kMaxDistinctNames) return nullptr;
      ++distinct_names_;
      CachedField field;
      field.original.assign(original);
      field.mapping = MapSuricataField(original);
      field.is_timestamp = original == "timestamp";
      it = by_name_.emplace(field.original, std::move(field)).first;
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
    if (value.type().get(type) != simdjson::SUCCESS) return Bad("malformed value", name_);
    if (depth < kMaxNesting) {
      if (type == od::json_type::object) {
        od::object inner;
        if (value.get_object().get(inner) != simdjson::SUCCESS)
          return Bad("malformed object", name_);
        return WalkObject(inner, out, depth + 1);
      }
      if (type == od::json_type::array) {
        od::array array;
        if (value.get_array().get(array) != simdjson::SUCCESS) return Bad("malformed array", name_);
        for (auto element_result : array) {
          if (auto r = WalkValue(element_result, out, depth + 1); !r) return r;
        }
        return {};
      }
    }
    const CachedField* cached = Lookup(name_);
    if (cached == nullptr) return Bad("too many distinct field names", name_);
    return AddScalar(*cached, value, type, out);
  }

  Result<void> AddScalar(const CachedField& cached,
                         simdjson::simdjson_result<simdjson::ondemand::value>& value,
                         simdjson::ondemand::json_type type, Event& out) {
    namespace od = simdjson::ondemand;
    const std::optional<ValueType>& schema_type = cached.mapping.type;
    switch (type) {
      case od::json_type::string: {
        std::string_view text;
        if (value.get_string().get(text) != simdjson::SUCCESS) {
          return Bad("malformed string", cached.original);
        }
        if (cached.is_timestamp) {
          auto ns = ParseTimeInRange(text);
          if (!ns) return Bad("not a time", cached.original);
          out.timestamp_ns = *ns;
          return {};
        }
        out.Add(cached.mapping.key, schema_type.value_or(ValueType::kString), text);
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
        if (cached.is_timestamp) return Bad("not a time", cached.original);
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
        // Nested deeper than kMaxNesting: keep the JSON text.
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

  // http events: url.full from the host name and the request target.
  void AddHttpUrl(Event& out) {
    const Field* path = out.Find("url.path");
    if (path == nullptr) return;
    const Field* host = out.Find("url.domain");
    if (host == nullptr || !path->value.starts_with('/')) return;
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
  std::unordered_map<std::string, CachedField, StringHash, std::equal_to<>> by_name_;
  CachedField* first_ = nullptr;
  CachedField* previous_ = nullptr;
  size_t distinct_names_ = 0;
  std::string name_;
  FieldKey url_key_;
  std::string url_;
};

}  // namespace

std::unique_ptr<RecordParser> MakeSuricataParser() { return std::make_unique<SuricataParser>(); }

}  // namespace aegis::ingest
