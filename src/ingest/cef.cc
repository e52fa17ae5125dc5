// CEF (ArcSight Common Event Format) parser:
//   CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension
// Header fields may escape '|' and '\' with a backslash; the extension is a list of
// key=value pairs separated by spaces, where values may contain spaces and escape
// '=', '\', newline (\n) and carriage return (\r). Well-known keys are mapped to schema
// names (docs/schema/syslog-cef.md); other keys keep their CEF name. Custom fields
// (cs1..cs6, cn1..cn3, ...) keep their CEF name and, when a "<key>Label" is present,
// are repeated as "cef.custom.<label>" with the label as original name.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/event.h"
#include "core/observables.h"
#include "core/strings.h"
#include "ingest/parsers.h"
#include "ingest/syslog_internal.h"

namespace aegis::ingest {
namespace {

// How an extension value is typed.
enum class CefValueKind : unsigned char {
  kText,
  kLowerText,  // lower-cased text (network.transport: "TCP" -> "tcp")
  kIp,         // kIp when it parses as an address, else text
  kInt,        // kInt when it is an integer, else text
  kFloat,      // kFloat when it is a number, else text
  kTime,       // kTime (RFC 3339) when it parses, else text
  kHash,       // file.hash.{md5,sha1,sha256} by digest length, else unmapped text
};

// Which Event timestamp a time key may set; lower wins.
enum TimePriority : int { kTimeReceipt = 0, kTimeStart = 1, kTimeEnd = 2, kTimeNone = 99 };

struct CefMapping {
  FieldKey key;
  CefValueKind kind = CefValueKind::kText;
  int time_priority = kTimeNone;
};

struct CefKeys {
  FieldKey version, vendor, product, device_version, signature_id, name, severity,
      severity_text;
  FieldKey hash_md5, hash_sha1, hash_sha256;
  FieldKey extension_overflow;  // "key=value" of names past the DynamicKeyCache limit
  std::unordered_map<std::string_view, CefMapping> extension;
};

const CefKeys* BuildCefKeys() {
  auto* keys = new CefKeys();
  keys->version = KeyFor("cef.version", "cefVersion");
  keys->vendor = KeyFor("observer.vendor", "deviceVendor");
  keys->product = KeyFor("observer.product", "deviceProduct");
  keys->device_version = KeyFor("observer.version", "deviceVersion");
  keys->signature_id = KeyFor("event.code", "signatureId");
  keys->name = KeyFor("rule.name", "name");
  keys->severity = KeyFor("event.severity", "severity");
  keys->severity_text = KeyFor("cef.severity", "severity");
  keys->hash_md5 = KeyFor("file.hash.md5", "fileHash");
  keys->hash_sha1 = KeyFor("file.hash.sha1", "fileHash");
  keys->hash_sha256 = KeyFor("file.hash.sha256", "fileHash");
  keys->extension_overflow = KeyFor("cef.extension", "cef.extension");

  struct Row {
    std::string_view cef_key;
    std::string_view schema_name;  // empty: keep the CEF key as name
    CefValueKind kind;
    int time_priority;
  };
  using K = CefValueKind;
  static constexpr Row kRows[] = {
      {"src", "source.ip", K::kIp, kTimeNone},
      {"sourceAddress", "source.ip", K::kIp, kTimeNone},
      {"dst", "destination.ip", K::kIp, kTimeNone},
      {"destinationAddress", "destination.ip", K::kIp, kTimeNone},
      {"spt", "source.port", K::kInt, kTimeNone},
      {"sourcePort", "source.port", K::kInt, kTimeNone},
      {"dpt", "destination.port", K::kInt, kTimeNone},
      {"destinationPort", "destination.port", K::kInt, kTimeNone},
      {"shost", "source.domain", K::kText, kTimeNone},
      {"sourceHostName", "source.domain", K::kText, kTimeNone},
      {"dhost", "destination.domain", K::kText, kTimeNone},
      {"destinationHostName", "destination.domain", K::kText, kTimeNone},
      {"suser", "source.user.name", K::kText, kTimeNone},
      {"sourceUserName", "source.user.name", K::kText, kTimeNone},
      {"duser", "destination.user.name", K::kText, kTimeNone},
      {"destinationUserName", "destination.user.name", K::kText, kTimeNone},
      {"suid", "source.user.id", K::kText, kTimeNone},
      {"sourceUserId", "source.user.id", K::kText, kTimeNone},
      {"duid", "destination.user.id", K::kText, kTimeNone},
      {"destinationUserId", "destination.user.id", K::kText, kTimeNone},
      {"smac", "source.mac", K::kText, kTimeNone},
      {"sourceMacAddress", "source.mac", K::kText, kTimeNone},
      {"dmac", "destination.mac", K::kText, kTimeNone},
      {"destinationMacAddress", "destination.mac", K::kText, kTimeNone},
      {"sourceTranslatedAddress", "source.nat.ip", K::kIp, kTimeNone},
      {"destinationTranslatedAddress", "destination.nat.ip", K::kIp, kTimeNone},
      {"sourceTranslatedPort", "source.nat.port", K::kInt, kTimeNone},
      {"destinationTranslatedPort", "destination.nat.port", K::kInt, kTimeNone},
      {"in", "source.bytes", K::kInt, kTimeNone},
      {"bytesIn", "source.bytes", K::kInt, kTimeNone},
      {"out", "destination.bytes", K::kInt, kTimeNone},
      {"bytesOut", "destination.bytes", K::kInt, kTimeNone},
      {"request", "url.full", K::kText, kTimeNone},
      {"requestURL", "url.full", K::kText, kTimeNone},
      {"requestClientApplication", "user_agent.original", K::kText, kTimeNone},
      {"requestMethod", "http.request.method", K::kText, kTimeNone},
      {"fileHash", "", K::kHash, kTimeNone},
      {"fname", "file.name", K::kText, kTimeNone},
      {"fileName", "file.name", K::kText, kTimeNone},
      {"filePath", "file.path", K::kText, kTimeNone},
      {"fsize", "file.size", K::kInt, kTimeNone},
      {"fileSize", "file.size", K::kInt, kTimeNone},
      {"msg", "message", K::kText, kTimeNone},
      {"message", "message", K::kText, kTimeNone},
      {"act", "event.action", K::kText, kTimeNone},
      {"deviceAction", "event.action", K::kText, kTimeNone},
      {"outcome", "event.outcome", K::kText, kTimeNone},
      {"reason", "event.reason", K::kText, kTimeNone},
      {"proto", "network.transport", K::kLowerText, kTimeNone},
      {"transportProtocol", "network.transport", K::kLowerText, kTimeNone},
      {"app", "network.protocol", K::kLowerText, kTimeNone},
      {"applicationProtocol", "network.protocol", K::kLowerText, kTimeNone},
      {"dvc", "observer.ip", K::kIp, kTimeNone},
      {"deviceAddress", "observer.ip", K::kIp, kTimeNone},
      {"dvchost", "observer.hostname", K::kText, kTimeNone},
      {"deviceHostName", "observer.hostname", K::kText, kTimeNone},
      {"dproc", "process.name", K::kText, kTimeNone},
      {"destinationProcessName", "process.name", K::kText, kTimeNone},
      {"dpid", "process.pid", K::kInt, kTimeNone},
      {"destinationProcessId", "process.pid", K::kInt, kTimeNone},
      {"rt", "event.created", K::kTime, kTimeReceipt},
      {"receiptTime", "event.created", K::kTime, kTimeReceipt},
      {"start", "event.start", K::kTime, kTimeStart},
      {"startTime", "event.start", K::kTime, kTimeStart},
      {"end", "event.end", K::kTime, kTimeEnd},
      {"endTime", "event.end", K::kTime, kTimeEnd},
      // Typed but unmapped: the CEF key stays the name.
      {"cnt", "", K::kInt, kTimeNone},
      {"spid", "", K::kInt, kTimeNone},
      {"dvcpid", "", K::kInt, kTimeNone},
      {"cn1", "", K::kInt, kTimeNone},
      {"cn2", "", K::kInt, kTimeNone},
      {"cn3", "", K::kInt, kTimeNone},
      {"flexNumber1", "", K::kInt, kTimeNone},
      {"flexNumber2", "", K::kInt, kTimeNone},
      {"cfp1", "", K::kFloat, kTimeNone},
      {"cfp2", "", K::kFloat, kTimeNone},
      {"cfp3", "", K::kFloat, kTimeNone},
      {"cfp4", "", K::kFloat, kTimeNone},
      {"c6a1", "", K::kIp, kTimeNone},
      {"c6a2", "", K::kIp, kTimeNone},
      {"c6a3", "", K::kIp, kTimeNone},
      {"c6a4", "", K::kIp, kTimeNone},
      {"deviceCustomDate1", "", K::kTime, kTimeNone},
      {"deviceCustomDate2", "", K::kTime, kTimeNone},
      {"flexDate1", "", K::kTime, kTimeNone},
  };
  for (const Row& row : kRows) {
    CefMapping mapping;
    mapping.key = KeyFor(row.schema_name.empty() ? row.cef_key : row.schema_name, row.cef_key);
    mapping.kind = row.kind;
    mapping.time_priority = row.time_priority;
    keys->extension.emplace(mapping.key.original, mapping);
  }
  return keys;
}

const CefKeys& Keys() {
  static const CefKeys* keys = BuildCefKeys();  // never destroyed: FieldKeys outlive statics
  return *keys;
}

bool IsExtensionKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '.' || c == '-' || c == '[' || c == ']';
}

bool IsExtensionKey(std::string_view key) {
  if (key.empty() || key.size() > 128) return false;
  for (char c : key) {
    if (!IsExtensionKeyChar(c)) return false;
  }
  return true;
}

bool IsInteger(std::string_view s) {
  size_t i = (!s.empty() && s[0] == '-') ? 1 : 0;
  if (i == s.size() || s.size() - i > 19) return false;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

bool IsFloat(std::string_view s) {
  if (s.empty()) return false;
  double value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return ec == std::errc() && end == s.data() + s.size();
}

// A zone suffix of a CEF time: "UTC", "GMT", "Z", "+hh:mm", "+hhmm", "GMT+hh:mm".
std::optional<int64_t> ParseZoneOffsetSeconds(std::string_view zone) {
  if (zone == "UTC" || zone == "GMT" || zone == "Z") return 0;
  if (zone.starts_with("UTC") || zone.starts_with("GMT")) zone.remove_prefix(3);
  if (zone.size() < 3 || (zone[0] != '+' && zone[0] != '-')) return std::nullopt;
  std::string digits;
  for (char c : zone.substr(1)) {
    if (c == ':') continue;
    if (c < '0' || c > '9') return std::nullopt;
    digits.push_back(c);
  }
  if (digits.size() != 2 && digits.size() != 4) return std::nullopt;
  int hours = (digits[0] - '0') * 10 + (digits[1] - '0');
  int minutes = digits.size() == 4 ? (digits[2] - '0') * 10 + (digits[3] - '0') : 0;
  if (hours > 14 || minutes > 59) return std::nullopt;
  int64_t seconds = hours * 3600 + minutes * 60;
  return zone[0] == '+' ? seconds : -seconds;
}

// CEF times: milliseconds since the epoch (values below 1e11 are taken as seconds),
// "MMM dd [yyyy] HH:mm:ss[.SSS][ zone]", or ISO 8601.
std::optional<int64_t> ParseCefTime(std::string_view text, int64_t now_ns) {
  text = Trim(text);
  if (text.empty()) return std::nullopt;
  bool all_digits = text.size() <= 16;
  for (char c : text) all_digits = all_digits && c >= '0' && c <= '9';
  if (all_digits) {
    int64_t number = 0;
    std::from_chars(text.data(), text.data() + text.size(), number);
    if (number < 100'000'000'000LL) {  // seconds
      if (number > 7'000'000'000LL) return std::nullopt;  // past 2191: not a real time
      return number * 1'000'000'000;
    }
    if (number > 7'000'000'000'000LL) return std::nullopt;
    return number * 1'000'000;
  }
  if (MonthFromAbbreviation(text.substr(0, 3)) != 0) {
    size_t consumed = 0;
    std::optional<int64_t> time = ParseBsdTimestamp(text, now_ns, &consumed);
    if (!time) return std::nullopt;
    std::string_view rest = text.substr(consumed);
    if (rest.empty()) return time;
    if (rest[0] != ' ') return std::nullopt;
    std::optional<int64_t> offset = ParseZoneOffsetSeconds(Trim(rest));
    if (!offset) return std::nullopt;
    return *time - *offset * 1'000'000'000;
  }
  return ParseIsoTimeInRange(text);
}

// Appends the header field text[begin,end) to `out`, resolving \| and \\.
void UnescapeHeader(std::string_view text, std::string& out) {
  out.clear();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == '|' || text[i + 1] == '\\')) {
      out.push_back(text[++i]);
    } else {
      out.push_back(text[i]);
    }
  }
}

// Appends an extension value to `out`, resolving \= \\ \n \r (and a stray \|).
void UnescapeExtensionValue(std::string_view text, std::string& out) {
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      char next = text[i + 1];
      if (next == '=' || next == '\\' || next == '|') {
        out.push_back(next);
        ++i;
        continue;
      }
      if (next == 'n' || next == 'r') {
        out.push_back(next == 'n' ? '\n' : '\r');
        ++i;
        continue;
      }
    }
    out.push_back(c);
  }
}

// Index of the next '=' at or after `from` that is not escaped, or npos.
size_t FindUnescapedEquals(std::string_view text, size_t from) {
  for (size_t i = from; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
    } else if (text[i] == '=') {
      return i;
    }
  }
  return std::string_view::npos;
}

std::optional<std::string_view> SeverityWord(std::string_view text) {
  static constexpr std::string_view kWords[] = {"Unknown", "Low", "Medium", "High",
                                                "Very-High"};
  for (std::string_view word : kWords) {
    if (IEquals(text, word)) return word;
  }
  return std::nullopt;
}

class CefFieldParserImpl : public CefFieldParser {
 public:
  explicit CefFieldParserImpl(std::function<int64_t()> now_ns)
      : now_ns_(std::move(now_ns)), keys_(Keys()) {}

  Result<ParseOutcome> AppendFields(std::string_view record, Event& out) override {
    while (!record.empty() && (record.back() == '\n' || record.back() == '\r' ||
                               record.back() == '\0')) {
      record.remove_suffix(1);
    }
    if (!LooksLikeCef(record)) {
      return Fail("record does not start with 'CEF:<version>|'", "cef.version");
    }
    // Split the seven header fields on unescaped pipes.
    std::string_view header_fields[7];
    size_t field_count = 0;
    size_t field_start = 4;
    size_t extension_start = std::string_view::npos;
    for (size_t i = 4; i < record.size(); ++i) {
      if (record[i] == '\\') {
        ++i;
      } else if (record[i] == '|') {
        header_fields[field_count++] = record.substr(field_start, i - field_start);
        field_start = i + 1;
        if (field_count == 7) {
          extension_start = i + 1;
          break;
        }
      }
    }
    if (field_count == 6) {  // no trailing '|': the severity ends the record
      header_fields[field_count++] = record.substr(field_start);
      extension_start = record.size();
    }
    if (field_count < 7) {
      return Fail("header has " + std::to_string(field_count + 1) +
                      " '|'-separated fields; CEF needs 7 (Version|Device Vendor|Device "
                      "Product|Device Version|Signature ID|Name|Severity) and an extension",
                  "cef.header");
    }
    std::string_view version = header_fields[0];
    if (!IsInteger(version) || version[0] == '-') {
      return Fail("CEF version must be a number, got '" + std::string(version) + "'",
                  "cef.version");
    }
    std::string_view severity = Trim(header_fields[6]);
    std::optional<std::string_view> severity_word;
    if (IsInteger(severity) && severity[0] != '-') {
      if (severity.size() > 2 || std::stoi(std::string(severity)) > 10) {
        return Fail("severity must be 0-10, got '" + std::string(severity) + "'", "severity");
      }
    } else {
      severity_word = SeverityWord(severity);
      if (!severity_word) {
        return Fail("severity must be 0-10 or Unknown, Low, Medium, High, Very-High; got '" +
                        std::string(severity.substr(0, 32)) + "'",
                    "severity");
      }
    }
    if (auto parsed = ParseExtension(record.substr(extension_start)); !parsed) {
      return std::unexpected(std::move(parsed.error()));
    }

    out.Add(keys_.version, ValueType::kInt, version);
    AddHeaderField(keys_.vendor, header_fields[1], out);
    AddHeaderField(keys_.product, header_fields[2], out);
    AddHeaderField(keys_.device_version, header_fields[3], out);
    AddHeaderField(keys_.signature_id, header_fields[4], out);
    AddHeaderField(keys_.name, header_fields[5], out);
    if (severity_word) {
      out.Add(keys_.severity_text, ValueType::kString, *severity_word);
    } else {
      out.Add(keys_.severity, ValueType::kInt, severity);
    }
    EmitExtension(out);
    return ParseOutcome::kEvent;
  }

 private:
  struct Pair {
    std::string_view key;
    size_t value_begin;  // into values_
    size_t value_size;
  };

  std::string_view Value(const Pair& pair) const {
    return std::string_view(values_).substr(pair.value_begin, pair.value_size);
  }

  void AddHeaderField(const FieldKey& key, std::string_view escaped, Event& out) {
    UnescapeHeader(escaped, scratch_);
    if (!scratch_.empty()) out.Add(key, ValueType::kString, scratch_);
  }

  // Splits the extension into pairs_ (values unescaped into values_). A '=' starts a
  // new pair only when the word before it is a valid key preceded by a space; any other
  // '=' (an unescaped one inside a URL, say) belongs to the current value.
  Result<void> ParseExtension(std::string_view text) {
    pairs_.clear();
    values_.clear();
    size_t pos = 0;
    while (pos < text.size() && text[pos] == ' ') ++pos;
    if (pos == text.size()) return {};
    size_t equals = FindUnescapedEquals(text, pos);
    if (equals == std::string_view::npos) {
      return Fail("extension has no key=value pair: '" + std::string(text.substr(pos, 40)) +
                      "'",
                  "cef.extension");
    }
    std::string_view key = text.substr(pos, equals - pos);
    while (true) {
      if (!IsExtensionKey(key)) {
        return Fail("extension key '" + std::string(key.substr(0, 40)) +
                        "' has characters other than letters, digits, '_', '.', '-', '[]'",
                    "cef.extension");
      }
      size_t value_start = equals + 1;
      size_t value_end = text.size();
      size_t next_key_start = std::string_view::npos;
      size_t next_equals = std::string_view::npos;
      size_t last_space = std::string_view::npos;
      for (size_t i = value_start; i < text.size(); ++i) {
        if (text[i] == '\\') {
          ++i;
        } else if (text[i] == ' ') {
          last_space = i;
        } else if (text[i] == '=' && last_space != std::string_view::npos &&
                   IsExtensionKey(text.substr(last_space + 1, i - last_space - 1))) {
          value_end = last_space;
          next_key_start = last_space + 1;
          next_equals = i;
          break;
        }
      }
      std::string_view raw_value = text.substr(value_start, value_end - value_start);
      while (!raw_value.empty() && raw_value.back() == ' ') raw_value.remove_suffix(1);
      Pair pair{key, values_.size(), 0};
      UnescapeExtensionValue(raw_value, values_);
      pair.value_size = values_.size() - pair.value_begin;
      pairs_.push_back(pair);
      if (next_key_start == std::string_view::npos) break;
      key = text.substr(next_key_start, next_equals - next_key_start);
      equals = next_equals;
    }
    return {};
  }

  // Indexes "<key>Label" pairs by <key>, sorted, so that LabelFor is a binary search.
  void IndexLabels() {
    labels_.clear();
    for (const Pair& pair : pairs_) {
      if (pair.key.size() > 5 && pair.key.ends_with("Label")) {
        labels_.emplace_back(pair.key.substr(0, pair.key.size() - 5), Value(pair));
      }
    }
    std::stable_sort(labels_.begin(), labels_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
  }

  // The value of "<key>Label", if the record has one (the first, if several).
  std::optional<std::string_view> LabelFor(std::string_view key) const {
    auto it = std::lower_bound(labels_.begin(), labels_.end(), key,
                               [](const auto& label, std::string_view k) { return label.first < k; });
    if (it == labels_.end() || it->first != key) return std::nullopt;
    return it->second;
  }

  void EmitExtension(Event& out) {
    IndexLabels();
    int best_time_priority = kTimeNone;
    for (const Pair& pair : pairs_) {
      std::string_view value = Value(pair);
      if (value.empty()) continue;
      auto mapping_it = keys_.extension.find(pair.key);
      CefValueKind kind = CefValueKind::kText;
      FieldKey key;
      if (mapping_it != keys_.extension.end()) {
        key = mapping_it->second.key;
        kind = mapping_it->second.kind;
      } else if (auto dynamic = dynamic_keys_.Get(pair.key, pair.key)) {
        key = *dynamic;
      } else {
        AddOverflow(pair.key, value, out);
        continue;
      }
      std::optional<int64_t> time = AddTyped(key, kind, pair.key, value, out);
      if (time && mapping_it != keys_.extension.end() &&
          mapping_it->second.time_priority < best_time_priority) {
        best_time_priority = mapping_it->second.time_priority;
        out.timestamp_ns = *time;
      }
      if (auto label = LabelFor(pair.key); label && !label->empty() && label->size() <= 128) {
        labelled_name_.assign("cef.custom.");
        for (char c : *label) labelled_name_.push_back(c == ' ' ? '_' : c);
        if (auto labelled = dynamic_keys_.Get(labelled_name_, *label)) {
          AddTyped(*labelled, kind, pair.key, value, out);
        } else {
          AddOverflow(*label, value, out);
        }
      }
    }
  }

  void AddOverflow(std::string_view name, std::string_view value, Event& out) {
    scratch_.assign(name);
    scratch_.push_back('=');
    scratch_.append(value);
    out.Add(keys_.extension_overflow, ValueType::kString, scratch_);
  }

  // Adds `value` typed by `kind`; returns the time when `kind` is kTime and it parsed.
  std::optional<int64_t> AddTyped(const FieldKey& key, CefValueKind kind,
                                  std::string_view cef_key, std::string_view value,
                                  Event& out) {
    switch (kind) {
      case CefValueKind::kText:
        out.Add(key, ValueType::kString, value);
        return std::nullopt;
      case CefValueKind::kLowerText:
        scratch_.assign(value);
        AsciiLowerInPlace(scratch_);
        out.Add(key, ValueType::kString, scratch_);
        return std::nullopt;
      case CefValueKind::kIp:
        out.Add(key, ParseIp(value) ? ValueType::kIp : ValueType::kString, value);
        return std::nullopt;
      case CefValueKind::kInt:
        out.Add(key, IsInteger(value) ? ValueType::kInt : ValueType::kString, value);
        return std::nullopt;
      case CefValueKind::kFloat:
        out.Add(key, IsFloat(value) ? ValueType::kFloat : ValueType::kString, value);
        return std::nullopt;
      case CefValueKind::kTime: {
        std::optional<int64_t> time = ParseCefTime(value, now_ns_());
        if (time) {
          out.Add(key, ValueType::kTime, FormatTime(*time));
        } else {
          out.Add(key, ValueType::kString, value);
        }
        return time;
      }
      case CefValueKind::kHash: {
        auto hash = NormalizeHash(value);
        if (!hash) {
          if (auto plain = dynamic_keys_.Get(cef_key, cef_key)) {
            out.Add(*plain, ValueType::kString, value);
          } else {
            AddOverflow(cef_key, value, out);
          }
          return std::nullopt;
        }
        const FieldKey& hash_key = hash->first == HashKind::kMd5    ? keys_.hash_md5
                                   : hash->first == HashKind::kSha1 ? keys_.hash_sha1
                                                                    : keys_.hash_sha256;
        out.Add(hash_key, ValueType::kString, value);
        return std::nullopt;
      }
    }
    return std::nullopt;
  }

  std::function<int64_t()> now_ns_;
  const CefKeys& keys_;
  DynamicKeyCache dynamic_keys_;
  std::vector<Pair> pairs_;    // reused per record
  std::vector<std::pair<std::string_view, std::string_view>> labels_;  // <key> -> label
  std::string values_;         // unescaped extension values, reused per record
  std::string scratch_;        // reused per field
  std::string labelled_name_;  // reused per labelled field
};

class CefParser : public RecordParser {
 public:
  CefParser() : fields_(MakeCefFieldParser(NowNs)) {}
  EventFormat format() const override { return EventFormat::kCef; }
  Result<ParseOutcome> Parse(std::string_view record, Event& out) override {
    out.format = EventFormat::kCef;
    return fields_->AppendFields(record, out);
  }

 private:
  std::unique_ptr<CefFieldParser> fields_;
};

}  // namespace

std::unique_ptr<CefFieldParser> MakeCefFieldParser(std::function<int64_t()> now_ns) {
  return std::make_unique<CefFieldParserImpl>(std::move(now_ns));
}

std::unique_ptr<RecordParser> MakeCefParser() { return std::make_unique<CefParser>(); }

}  // namespace aegis::ingest
