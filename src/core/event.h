// Event: the normalised record that every input produces and every detector reads.
//
// An Event keeps its timestamp, where it came from (source, line, byte offset), the
// raw record, its format, and a flat list of typed fields. Each field carries two
// names: the schema name (ECS style, e.g. "source.ip", see docs/SCHEMA.md) and the
// original name in the source record (e.g. Zeek's "id.orig_h"), so that Sigma rules
// written against original names still work. Field names are interned FieldKeys:
// parsers build them once (KeyFor is slow) and reuse them for every record.
//
//   aegis::Event ev;                               // reuse one per thread
//   static const auto kSrc = aegis::KeyFor("source.ip", "id.orig_h");
//   ev.Clear();
//   ev.Add(kSrc, aegis::ValueType::kIp, "10.0.0.1");
//   if (const auto* f = ev.Find("source.ip")) use(f->value);
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace aegis {

enum class EventFormat : unsigned char {
  kUnknown,
  kZeekJson,
  kZeekTsv,
  kSuricataEve,
  kWindowsJson,  // evtx_dump form: {"Event":{"System":{...},"EventData":{...}}}
  kWindowsFlat,  // winlogbeat / nxlog flat form: {"EventID":1,"Image":...}
  kWindowsXml,   // one <Event> XML record, as read from a .evtx file
  kEvtx,         // a binary .evtx file (a container: its records are kWindowsXml)
  kSyslog5424,
  kSyslog3164,
  kCef,
};

std::string_view FormatName(EventFormat f);  // "zeek-json", "zeek-tsv", "suricata", ...
std::optional<EventFormat> ParseFormatName(std::string_view name);

// What an indicator matcher should look for in a field. A bit set.
enum FieldKind : unsigned char {
  kKindNone = 0,
  kKindIp = 1,      // an IPv4/IPv6 address
  kKindDomain = 2,  // a DNS name
  kKindUrl = 4,     // a full URL
  kKindHash = 8,    // an MD5/SHA-1/SHA-256 hex digest
  kKindEmail = 16,  // an email address
  kKindAny = 31,    // could be any of the above (e.g. DNS answers: names or addresses)
};

enum class ValueType : unsigned char { kString, kInt, kFloat, kBool, kIp, kTime };

// An interned pair of names plus the matcher kind. Views point into a process-wide
// pool and stay valid until exit.
struct FieldKey {
  std::string_view name;      // schema (ECS-style) name; equals `original` when unmapped
  std::string_view original;  // the name in the source record
  unsigned char kind = kKindNone;
};

// Interns both names and looks up the kind of `name` in the schema. Thread-safe,
// takes a lock: call it once per distinct name and cache the result.
FieldKey KeyFor(std::string_view name, std::string_view original);
// Interns a string into the process-wide pool (thread-safe).
std::string_view Intern(std::string_view s);
// The matcher kind for a schema name (kKindNone when not an observable).
unsigned char SchemaKind(std::string_view name);

struct Field {
  FieldKey key;
  ValueType type = ValueType::kString;
  std::string value;  // textual value: decimal numbers, "true"/"false", RFC 3339 time
};

class Event {
 public:
  int64_t timestamp_ns = 0;          // event time, Unix epoch nanoseconds (0 = unknown)
  EventFormat format = EventFormat::kUnknown;
  std::string source;                // file path (and archive entry), or listener address
  uint64_t line = 0;                 // 1-based line in the source, 0 if not line-based
  uint64_t offset = 0;               // byte offset of the record in the (decompressed) stream
  std::string raw;                   // the original record, byte for byte

  // Empties the event but keeps allocated capacity, so that a reused Event costs
  // no allocations in the steady state.
  void Clear();

  // Appends a field; returns it for further adjustment.
  Field& Add(const FieldKey& key, ValueType type, std::string_view value);

  std::span<const Field> fields() const { return {fields_.data(), count_}; }
  std::span<Field> mutable_fields() { return {fields_.data(), count_}; }
  size_t size() const { return count_; }

  // First field with this schema name, or nullptr.
  const Field* Find(std::string_view name) const;
  // First field with this original name, or nullptr.
  const Field* FindOriginal(std::string_view original) const;

 private:
  std::vector<Field> fields_;  // slots [0, count_) are live; the rest keep capacity
  size_t count_ = 0;
};

// Formats Unix nanoseconds as RFC 3339 UTC with microseconds: 2018-03-24T17:15:20.865716Z
std::string FormatTime(int64_t unix_ns);
// Parses RFC 3339 / ISO 8601 ("2020-06-10T02:50:56.537Z", "2020-06-10 02:50:54.631",
// fractional digits up to 9, 'Z' or ±hh:mm offset). Returns nullopt when malformed.
std::optional<int64_t> ParseTime(std::string_view text);
// Parses Unix seconds with an optional fraction ("1521911720.865716").
std::optional<int64_t> ParseEpochSeconds(std::string_view text);
// Current wall clock in Unix nanoseconds.
int64_t NowNs();

// Serialises the event (time, format, source, line, offset, fields by schema name
// with original names) as one JSON object. Used by alerts and --json output.
std::string EventToJson(const Event& ev, bool include_raw = true);

}  // namespace aegis
