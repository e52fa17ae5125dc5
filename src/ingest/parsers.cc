// Format dispatch for src/ingest: MakeParser() maps an EventFormat to its record parser,
// and SniffFormat() recognises a format from the first bytes of a decompressed stream.
#include "ingest/parsers.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/event.h"
#include "ingest/ingest.h"

namespace aegis::ingest {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string_view SkipSpace(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && IsSpace(s[i])) ++i;
  return s.substr(i);
}

std::string_view FirstLine(std::string_view s) {
  size_t nl = s.find('\n');
  return nl == std::string_view::npos ? s : s.substr(0, nl);
}

// What the top-level keys of the first JSON object in a head say about its format.
struct JsonKeys {
  bool path = false;          // "_path" (Zeek, JSON streaming logs)
  bool uid = false;           // "uid" or "fuid"
  bool orig_h = false;        // "id.orig_h"
  bool ts = false;            // "ts"
  bool event_type = false;    // "event_type" (Suricata EVE)
  bool event_system = false;  // "Event": {"System": ...}
  bool event_id = false;      // "EventID"
  bool windows_key = false;   // a key that only Windows event exports use
};

bool IsWindowsFlatKey(std::string_view key) {
  static constexpr std::array<std::string_view, 14> kKeys = {
      "Channel",  "SourceName",    "winlog",        "Provider_Name", "Hostname",
      "Computer", "ProviderName",  "EventRecordID", "RecordNumber",  "SourceModuleType",
      "Provider", "computer_name", "ProviderGuid",  "EventType"};
  for (std::string_view k : kKeys) {
    if (key == k) return true;
  }
  return false;
}

// Walks the first JSON object of `s` (which may be cut short) and records its keys.
// Keys are compared as written (an escaped key never matches, which is fine here).
JsonKeys ScanJsonKeys(std::string_view s) {
  JsonKeys keys;
  int depth = 0;
  std::string_view top_key;  // the most recent key at depth 1
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == '"') {
      size_t start = ++i;
      while (i < s.size() && s[i] != '"') i += (s[i] == '\\') ? 2 : 1;
      if (i >= s.size()) break;
      std::string_view text = s.substr(start, i - start);
      ++i;
      size_t j = i;
      while (j < s.size() && IsSpace(s[j])) ++j;
      if (j >= s.size() || s[j] != ':') continue;  // a value, not a key
      if (depth == 1) {
        top_key = text;
        if (text == "_path") keys.path = true;
        if (text == "uid" || text == "fuid") keys.uid = true;
        if (text == "id.orig_h") keys.orig_h = true;
        if (text == "ts") keys.ts = true;
        if (text == "event_type") keys.event_type = true;
        if (text == "EventID") keys.event_id = true;
        if (IsWindowsFlatKey(text)) keys.windows_key = true;
      } else if (depth == 2 && top_key == "Event" && text == "System") {
        keys.event_system = true;
      }
      continue;
    }
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth <= 0) break;
    }
    ++i;
  }
  return keys;
}

EventFormat SniffJson(std::string_view head) {
  // An array of events: look at its first element.
  if (head.front() == '[') head = SkipSpace(head.substr(1));
  if (head.empty() || head.front() != '{') return EventFormat::kUnknown;
  JsonKeys keys = ScanJsonKeys(head);
  if (keys.path || (keys.uid && keys.orig_h) || (keys.ts && keys.uid)) {
    return EventFormat::kZeekJson;
  }
  if (keys.event_type) return EventFormat::kSuricataEve;
  if (keys.event_system) return EventFormat::kWindowsJson;
  if (keys.event_id && keys.windows_key) return EventFormat::kWindowsFlat;
  return EventFormat::kUnknown;
}

bool StartsWithMonth(std::string_view s) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() < 4 || s[3] != ' ') return false;
  for (std::string_view m : kMonths) {
    if (s.starts_with(m)) return true;
  }
  return false;
}

// "<PRI>..." where PRI is 1 to 3 digits: the syslog formats and CEF sent over syslog.
EventFormat SniffSyslog(std::string_view line) {
  size_t i = 1;
  while (i < line.size() && i <= 3 && IsDigit(line[i])) ++i;
  if (i == 1 || i >= line.size() || line[i] != '>') return EventFormat::kUnknown;
  std::string_view rest = line.substr(i + 1);
  if (rest.find("CEF:") != std::string_view::npos) return EventFormat::kCef;
  if (rest.starts_with("1 ")) return EventFormat::kSyslog5424;
  return EventFormat::kSyslog3164;
}

EventFormat SniffXml(std::string_view head) {
  if (head.starts_with("<?xml")) {
    size_t end = head.find("?>");
    if (end == std::string_view::npos) return EventFormat::kUnknown;
    head = SkipSpace(head.substr(end + 2));
  }
  if (head.starts_with("<Event")) return EventFormat::kWindowsXml;  // <Event ...> or <Events>
  return EventFormat::kUnknown;
}

}  // namespace

std::optional<int64_t> ParseTimeInRange(std::string_view text) {
  size_t start = 0;
  while (start < text.size() && (text[start] == ' ' || text[start] == '\t')) ++start;
  if (text.size() < start + 4) return std::nullopt;
  int year = 0;
  for (size_t i = start; i < start + 4; ++i) {
    if (!IsDigit(text[i])) return std::nullopt;
    year = year * 10 + (text[i] - '0');
  }
  if (year < 1678 || year > 2261) return std::nullopt;
  return ParseTime(text);
}

std::optional<int64_t> ParseEpochSecondsInRange(std::string_view text) {
  if (text.find_first_of("eE") != std::string_view::npos) {
    // Zeek's TSV writer prints far-off times in exponent form: "2.385616957e+09".
    double seconds = 0;
    const char* first = text.data();
    const char* last = text.data() + text.size();
    auto [end, error] = std::from_chars(first, last, seconds);
    if (error != std::errc() || end != last || !(std::fabs(seconds) < 9.2e9)) return std::nullopt;
    return std::llround(seconds * 1e9);
  }
  size_t start = 0;
  while (start < text.size() && (text[start] == ' ' || text[start] == '\t')) ++start;
  if (start < text.size() && text[start] == '-') ++start;
  size_t digits = 0;
  while (start + digits < text.size() && IsDigit(text[start + digits])) ++digits;
  // At most 9,2xx,xxx,xxx seconds fit in int64 nanoseconds: allow up to 9 digits freely
  // and 10 digits below 9,000,000,000.
  if (digits > 10 || (digits == 10 && text[start] == '9')) return std::nullopt;
  return ParseEpochSeconds(text);
}

std::unique_ptr<RecordParser> MakeParser(EventFormat format) {
  switch (format) {
    case EventFormat::kZeekJson:
      return MakeZeekJsonParser();
    case EventFormat::kZeekTsv:
      return MakeZeekTsvParser();
    case EventFormat::kSuricataEve:
      return MakeSuricataParser();
    case EventFormat::kWindowsJson:
      return MakeWindowsJsonParser();
    case EventFormat::kWindowsFlat:
      return MakeWindowsFlatParser();
    case EventFormat::kWindowsXml:
      return MakeWindowsXmlParser();
    case EventFormat::kSyslog5424:
      return MakeSyslog5424Parser();
    case EventFormat::kSyslog3164:
      return MakeSyslog3164Parser();
    case EventFormat::kCef:
      return MakeCefParser();
    case EventFormat::kUnknown:
    case EventFormat::kEvtx:
      return nullptr;
  }
  return nullptr;
}

EventFormat SniffFormat(std::string_view head) {
  if (head.starts_with(std::string_view("ElfFile\0", 8))) return EventFormat::kEvtx;
  if (head.starts_with("\xEF\xBB\xBF")) head.remove_prefix(3);  // UTF-8 byte order mark
  head = SkipSpace(head);
  if (head.empty()) return EventFormat::kUnknown;
  switch (head.front()) {
    case '#':
      if (head.starts_with("#separator") || head.starts_with("#fields") ||
          head.starts_with("#set_separator") || head.starts_with("#path")) {
        return EventFormat::kZeekTsv;
      }
      return EventFormat::kUnknown;
    case '{':
    case '[':
      return SniffJson(head);
    case '<':
      if (head.size() > 1 && IsDigit(head[1])) return SniffSyslog(FirstLine(head));
      return SniffXml(head);
    default:
      break;
  }
  std::string_view line = FirstLine(head);
  if (line.starts_with("CEF:")) return EventFormat::kCef;
  // Syslog as written to files by syslog daemons: no <PRI>, a BSD timestamp first.
  if (StartsWithMonth(line)) {
    return line.find("CEF:") != std::string_view::npos ? EventFormat::kCef
                                                       : EventFormat::kSyslog3164;
  }
  return EventFormat::kUnknown;
}

}  // namespace aegis::ingest
