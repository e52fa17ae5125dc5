// Syslog record parsers: RFC 5424 ("<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG")
// and RFC 3164 / BSD ("<PRI>Mmm dd hh:mm:ss HOST TAG[pid]: MSG"), plus the helpers
// they share with the CEF parser and the syslog listener (syslog_internal.h).
// A message whose MSG is itself CEF ("CEF:0|...") also gets the CEF fields.
// The field mapping is documented in docs/schema/syslog-cef.md.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/event.h"
#include "core/observables.h"
#include "core/strings.h"
#include "ingest/parsers.h"
#include "ingest/syslog_internal.h"

namespace aegis::ingest {

// ---------------------------------------------------------------------------------
// Shared helpers (declared in syslog_internal.h).

std::optional<FieldKey> DynamicKeyCache::Get(std::string_view name,
                                             std::string_view original) {
  lookup_.assign(name);
  lookup_.push_back('\x1f');
  lookup_.append(original);
  if (auto it = keys_.find(std::string_view(lookup_)); it != keys_.end()) return it->second;
  if (keys_.size() >= limit_) return std::nullopt;
  FieldKey key = KeyFor(name, original);
  keys_.emplace(lookup_, key);
  return key;
}

int MonthFromAbbreviation(std::string_view text) {
  static constexpr std::string_view kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                                 "jul", "aug", "sep", "oct", "nov", "dec"};
  if (text.size() != 3) return 0;
  for (int i = 0; i < 12; ++i) {
    if (IEquals(text, kMonths[i])) return i + 1;
  }
  return 0;
}

std::optional<int64_t> CivilToUnixNs(int year, int month, int day, int hour, int minute,
                                     int second, int64_t fraction_ns) {
  using namespace std::chrono;
  if (year < kMinYear || year > kMaxYear) return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) {
    return std::nullopt;
  }
  year_month_day date{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                      std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return std::nullopt;
  int64_t days_since_epoch = sys_days{date}.time_since_epoch().count();
  int64_t seconds = days_since_epoch * 86400 + hour * 3600 + minute * 60 + second;
  return seconds * 1'000'000'000 + fraction_ns;
}

std::optional<int64_t> ParseIsoTimeInRange(std::string_view text) {
  if (text.size() < 4) return std::nullopt;
  int year = 0;
  for (char c : text.substr(0, 4)) {
    if (c < '0' || c > '9') return std::nullopt;
    year = year * 10 + (c - '0');
  }
  if (year < kMinYear || year > kMaxYear) return std::nullopt;
  return ParseTime(text);
}

std::optional<int64_t> ResolveYearlessTime(int month, int day, int hour, int minute,
                                           int second, int64_t fraction_ns, int64_t now_ns) {
  using namespace std::chrono;
  constexpr int64_t kOneDayNs = 86'400LL * 1'000'000'000;
  sys_days today = floor<days>(sys_time<nanoseconds>(nanoseconds(now_ns)));
  int this_year = static_cast<int>(year_month_day{today}.year());
  // The latest of next, this and last year that is at most a day ahead of now: this
  // year normally, last year for "Dec 31" read on Jan 1, next year for a sender whose
  // clock is already in the new year.
  for (int year : {this_year + 1, this_year, this_year - 1}) {
    std::optional<int64_t> candidate =
        CivilToUnixNs(year, month, day, hour, minute, second, fraction_ns);
    if (candidate && *candidate <= now_ns + kOneDayNs) return candidate;
  }
  return std::nullopt;
}

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `count` digits at `pos`.
bool ReadFixedDigits(std::string_view text, size_t& pos, size_t count, int& out) {
  if (pos + count > text.size()) return false;
  int value = 0;
  for (size_t i = 0; i < count; ++i) {
    char c = text[pos + i];
    if (!IsDigit(c)) return false;
    value = value * 10 + (c - '0');
  }
  pos += count;
  out = value;
  return true;
}

// Reads ".digits" (1..9 of them) at `pos` if present.
bool ReadFraction(std::string_view text, size_t& pos, int64_t& fraction_ns) {
  fraction_ns = 0;
  if (pos >= text.size() || text[pos] != '.') return true;
  ++pos;
  int64_t scale = 100'000'000;
  size_t digits = 0;
  while (pos < text.size() && IsDigit(text[pos])) {
    if (++digits > 9) return false;
    fraction_ns += (text[pos] - '0') * scale;
    scale /= 10;
    ++pos;
  }
  return digits > 0;
}

}  // namespace

std::optional<int64_t> ParseBsdTimestamp(std::string_view text, int64_t now_ns,
                                         size_t* consumed) {
  if (text.size() < 4 || text[3] != ' ') return std::nullopt;
  int month = MonthFromAbbreviation(text.substr(0, 3));
  if (month == 0) return std::nullopt;
  size_t pos = 4;
  if (pos < text.size() && text[pos] == ' ') ++pos;  // "Jan  5": space-padded day
  int day = 0;
  size_t day_start = pos;
  while (pos < text.size() && IsDigit(text[pos]) && pos - day_start < 2) {
    day = day * 10 + (text[pos] - '0');
    ++pos;
  }
  if (pos == day_start || pos >= text.size() || text[pos] != ' ') return std::nullopt;
  ++pos;
  std::optional<int> year;
  if (pos + 5 <= text.size() && IsDigit(text[pos]) && IsDigit(text[pos + 1]) &&
      IsDigit(text[pos + 2]) && IsDigit(text[pos + 3]) && text[pos + 4] == ' ') {
    int value = 0;
    ReadFixedDigits(text, pos, 4, value);
    year = value;
    ++pos;
  }
  int hour = 0, minute = 0, second = 0;
  if (!ReadFixedDigits(text, pos, 2, hour) || pos >= text.size() || text[pos++] != ':' ||
      !ReadFixedDigits(text, pos, 2, minute) || pos >= text.size() || text[pos++] != ':' ||
      !ReadFixedDigits(text, pos, 2, second)) {
    return std::nullopt;
  }
  int64_t fraction_ns = 0;
  if (!ReadFraction(text, pos, fraction_ns)) return std::nullopt;
  std::optional<int64_t> time =
      year ? CivilToUnixNs(*year, month, day, hour, minute, second, fraction_ns)
           : ResolveYearlessTime(month, day, hour, minute, second, fraction_ns, now_ns);
  if (time) *consumed = pos;
  return time;
}

namespace {

// "<PRIVAL>" at the start of `text`: returns PRIVAL and sets `pos` past '>'.
Result<int> ParsePri(std::string_view text, size_t& pos) {
  if (text.empty() || text[0] != '<') return Fail("message does not start with '<PRI>'", "syslog.priority");
  pos = 1;
  int value = 0;
  while (pos < text.size() && IsDigit(text[pos])) {
    if (pos > 3) return Fail("PRI has more than 3 digits", "syslog.priority");
    value = value * 10 + (text[pos] - '0');
    ++pos;
  }
  if (pos == 1) return Fail("PRI has no digits after '<'", "syslog.priority");
  if (pos >= text.size() || text[pos] != '>') {
    return Fail("PRI is not closed by '>'", "syslog.priority");
  }
  if (pos > 2 && text[1] == '0') return Fail("PRI has a leading zero", "syslog.priority");
  if (value > 191) {
    return Fail("PRI " + std::to_string(value) + " is out of range 0-191", "syslog.priority");
  }
  ++pos;
  return value;
}

}  // namespace

EventFormat DetectSyslogFormat(std::string_view message) {
  if (LooksLikeCef(message)) return EventFormat::kCef;
  // RFC 5424: "<1-3 digits>" then VERSION (a non-zero digit) and a space.
  if (message.empty() || message[0] != '<') return EventFormat::kSyslog3164;
  size_t pos = 1;
  while (pos < message.size() && pos <= 4 && IsDigit(message[pos])) ++pos;
  if (pos == 1 || pos >= message.size() || message[pos] != '>') return EventFormat::kSyslog3164;
  ++pos;
  size_t version_start = pos;
  while (pos < message.size() && pos - version_start < 3 && IsDigit(message[pos])) ++pos;
  if (pos == version_start || message[version_start] == '0') return EventFormat::kSyslog3164;
  if (pos < message.size() && message[pos] == ' ') return EventFormat::kSyslog5424;
  return EventFormat::kSyslog3164;
}

namespace {

constexpr std::string_view kFacilityNames[24] = {
    "kern",     "user",   "mail",   "daemon", "auth",     "syslog",
    "lpr",      "news",   "uucp",   "cron",   "authpriv", "ftp",
    "ntp",      "security", "console", "solaris-cron", "local0", "local1",
    "local2",   "local3", "local4", "local5", "local6",   "local7"};
constexpr std::string_view kSeverityNames[8] = {"emergency", "alert",  "critical",
                                                "error",     "warning", "notice",
                                                "informational", "debug"};
constexpr std::string_view kDigitStrings[24] = {"0",  "1",  "2",  "3",  "4",  "5",
                                                "6",  "7",  "8",  "9",  "10", "11",
                                                "12", "13", "14", "15", "16", "17",
                                                "18", "19", "20", "21", "22", "23"};

struct SyslogKeys {
  FieldKey priority = KeyFor("log.syslog.priority", "syslog.priority");
  FieldKey facility_code = KeyFor("log.syslog.facility.code", "syslog.facility.code");
  FieldKey facility_name = KeyFor("log.syslog.facility.name", "syslog.facility.name");
  FieldKey severity_code = KeyFor("log.syslog.severity.code", "syslog.severity.code");
  FieldKey severity_name = KeyFor("log.syslog.severity.name", "syslog.severity.name");
  FieldKey version = KeyFor("log.syslog.version", "syslog.version");
  FieldKey host_name = KeyFor("host.name", "hostname");
  FieldKey host_ip = KeyFor("host.ip", "hostname");
  FieldKey app_name = KeyFor("process.name", "app_name");
  FieldKey procid = KeyFor("process.pid", "procid");
  FieldKey procid_text = KeyFor("log.syslog.procid", "procid");
  FieldKey msgid = KeyFor("log.syslog.msgid", "msgid");
  FieldKey tag = KeyFor("process.name", "tag");
  FieldKey pid = KeyFor("process.pid", "pid");
  FieldKey pid_text = KeyFor("log.syslog.procid", "pid");
  FieldKey message = KeyFor("message", "msg");
  FieldKey structured_data_overflow =
      KeyFor("log.syslog.structured_data", "syslog.structured_data");
};

const SyslogKeys& Keys() {
  static const SyslogKeys* keys = new SyslogKeys();  // never destroyed
  return *keys;
}

bool IsAllDigits(std::string_view s) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

bool IsPrintUsAscii(char c) { return c >= 33 && c <= 126; }

void StripRecordEnd(std::string_view& record) {
  while (!record.empty() &&
         (record.back() == '\n' || record.back() == '\r' || record.back() == '\0')) {
    record.remove_suffix(1);
  }
}

void AddPriorityFields(const SyslogKeys& keys, int pri, Event& out) {
  int facility = pri / 8;
  int severity = pri % 8;
  std::string pri_text = std::to_string(pri);
  out.Add(keys.priority, ValueType::kInt, pri_text);
  out.Add(keys.facility_code, ValueType::kInt, kDigitStrings[facility]);
  out.Add(keys.facility_name, ValueType::kString, kFacilityNames[facility]);
  out.Add(keys.severity_code, ValueType::kInt, kDigitStrings[severity]);
  out.Add(keys.severity_name, ValueType::kString, kSeverityNames[severity]);
}

void AddHostFields(const SyslogKeys& keys, std::string_view host, Event& out) {
  out.Add(keys.host_name, ValueType::kString, host);
  if (ParseIp(host)) out.Add(keys.host_ip, ValueType::kIp, host);
}

// Shared by both parsers: MSG that is CEF gets the CEF fields; anything else is
// the message field.
Result<ParseOutcome> AddMessage(const SyslogKeys& keys, CefFieldParser& cef,
                                std::string_view message, Event& out) {
  if (LooksLikeCef(message)) {
    EventFormat format = out.format;
    int64_t header_time = out.timestamp_ns;
    out.timestamp_ns = 0;
    Result<ParseOutcome> parsed = cef.AppendFields(message, out);
    out.format = format;  // still a syslog record, carrying CEF
    if (out.timestamp_ns == 0) out.timestamp_ns = header_time;
    if (!parsed) {
      Error error = std::move(parsed.error());
      error.reason = "CEF in MSG: " + error.reason;
      return std::unexpected(std::move(error));
    }
    return ParseOutcome::kEvent;
  }
  if (!message.empty()) out.Add(keys.message, ValueType::kString, message);
  return ParseOutcome::kEvent;
}

// RFC 5424 TIMESTAMP: FULL-DATE "T" PARTIAL-TIME [.fraction] ("Z" / +hh:mm / -hh:mm).
std::optional<int64_t> ParseRfc5424Timestamp(std::string_view text) {
  size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!ReadFixedDigits(text, pos, 4, year) || pos >= text.size() || text[pos++] != '-' ||
      !ReadFixedDigits(text, pos, 2, month) || pos >= text.size() || text[pos++] != '-' ||
      !ReadFixedDigits(text, pos, 2, day) || pos >= text.size() || text[pos++] != 'T' ||
      !ReadFixedDigits(text, pos, 2, hour) || pos >= text.size() || text[pos++] != ':' ||
      !ReadFixedDigits(text, pos, 2, minute) || pos >= text.size() || text[pos++] != ':' ||
      !ReadFixedDigits(text, pos, 2, second)) {
    return std::nullopt;
  }
  int64_t fraction_ns = 0;
  if (!ReadFraction(text, pos, fraction_ns) || pos >= text.size()) return std::nullopt;
  int64_t offset_seconds = 0;
  if (text[pos] == 'Z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    bool negative = text[pos] == '-';
    ++pos;
    int offset_hours = 0, offset_minutes = 0;
    if (!ReadFixedDigits(text, pos, 2, offset_hours) || pos >= text.size() ||
        text[pos++] != ':' || !ReadFixedDigits(text, pos, 2, offset_minutes) ||
        offset_hours > 23 || offset_minutes > 59) {
      return std::nullopt;
    }
    offset_seconds = (offset_hours * 3600 + offset_minutes * 60) * (negative ? -1 : 1);
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  std::optional<int64_t> local =
      CivilToUnixNs(year, month, day, hour, minute, second, fraction_ns);
  if (!local) return std::nullopt;
  return *local - offset_seconds * 1'000'000'000;
}

class Syslog5424Parser : public RecordParser {
 public:
  Syslog5424Parser() : keys_(Keys()), cef_(MakeCefFieldParser(NowNs)) {}
  EventFormat format() const override { return EventFormat::kSyslog5424; }

  Result<ParseOutcome> Parse(std::string_view record, Event& out) override {
    out.format = EventFormat::kSyslog5424;
    StripRecordEnd(record);
    size_t pos = 0;
    Result<int> pri = ParsePri(record, pos);
    if (!pri) return std::unexpected(std::move(pri.error()));

    size_t version_start = pos;
    while (pos < record.size() && IsDigit(record[pos]) && pos - version_start < 3) ++pos;
    std::string_view version = record.substr(version_start, pos - version_start);
    if (version.empty() || pos >= record.size() || record[pos] != ' ') {
      return Fail("VERSION after PRI must be a number followed by a space", "syslog.version");
    }
    if (version != "1") {
      return Fail("unsupported VERSION '" + std::string(version) + "' (only 1 is defined)",
                  "syslog.version");
    }
    ++pos;

    std::string_view timestamp, hostname, app_name, procid, msgid;
    struct HeaderToken {
      std::string_view* out;
      std::string_view field;
      std::string_view label;
      size_t max_size;
    };
    const HeaderToken tokens[] = {
        {&timestamp, "syslog.timestamp", "TIMESTAMP", 64},
        {&hostname, "hostname", "HOSTNAME", 255},
        {&app_name, "app_name", "APP-NAME", 48},
        {&procid, "procid", "PROCID", 128},
        {&msgid, "msgid", "MSGID", 32},
    };
    for (const HeaderToken& token : tokens) {
      size_t start = pos;
      while (pos < record.size() && record[pos] != ' ') {
        if (!IsPrintUsAscii(record[pos])) {
          return Fail(std::string(token.label) + " has a non-printable or non-ASCII byte",
                      std::string(token.field));
        }
        ++pos;
      }
      *token.out = record.substr(start, pos - start);
      if (token.out->empty()) {
        return Fail(std::string(token.label) + " is missing (empty or doubled space)",
                    std::string(token.field));
      }
      if (token.out->size() > token.max_size) {
        return Fail(std::string(token.label) + " is longer than " +
                        std::to_string(token.max_size) + " characters",
                    std::string(token.field));
      }
      if (pos >= record.size()) {
        return Fail(std::string("message ends after ") + std::string(token.label) +
                        "; STRUCTURED-DATA is missing",
                    "syslog.structured_data");
      }
      ++pos;  // the space
    }

    if (timestamp != "-") {
      std::optional<int64_t> time = ParseRfc5424Timestamp(timestamp);
      if (!time) {
        return Fail("TIMESTAMP '" + std::string(timestamp) +
                        "' is not RFC 3339 (YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm)) or '-'",
                    "syslog.timestamp");
      }
      out.timestamp_ns = *time;
    }

    AddPriorityFields(keys_, *pri, out);
    out.Add(keys_.version, ValueType::kInt, version);
    if (hostname != "-") AddHostFields(keys_, hostname, out);
    if (app_name != "-") out.Add(keys_.app_name, ValueType::kString, app_name);
    if (procid != "-") {
      if (IsAllDigits(procid)) {
        out.Add(keys_.procid, ValueType::kInt, procid);
      } else {
        out.Add(keys_.procid_text, ValueType::kString, procid);
      }
    }
    if (msgid != "-") out.Add(keys_.msgid, ValueType::kString, msgid);

    if (pos >= record.size()) {
      return Fail("STRUCTURED-DATA is missing after MSGID", "syslog.structured_data");
    }
    if (record[pos] == '-') {
      ++pos;
    } else if (record[pos] == '[') {
      if (auto parsed = ParseStructuredData(record, pos, out); !parsed) {
        return std::unexpected(std::move(parsed.error()));
      }
    } else {
      return Fail("STRUCTURED-DATA must be '-' or start with '['", "syslog.structured_data");
    }
    std::string_view message;
    if (pos < record.size()) {
      if (record[pos] != ' ') {
        return Fail("STRUCTURED-DATA is not followed by a space before MSG",
                    "syslog.structured_data");
      }
      message = record.substr(pos + 1);
      if (message.starts_with("\xEF\xBB\xBF")) message.remove_prefix(3);  // UTF-8 BOM
    }
    return AddMessage(keys_, *cef_, message, out);
  }

 private:
  static bool IsSdNameChar(char c) {
    return IsPrintUsAscii(c) && c != '=' && c != ']' && c != '"';
  }

  // Reads an SD-NAME (SD-ID or PARAM-NAME: 1..32 printable ASCII except = ] " SP).
  static Result<std::string_view> ReadSdName(std::string_view record, size_t& pos,
                                             std::string_view what) {
    size_t start = pos;
    while (pos < record.size() && IsSdNameChar(record[pos])) ++pos;
    std::string_view name = record.substr(start, pos - start);
    if (name.empty()) {
      return Fail(std::string(what) + " is empty at byte " + std::to_string(start),
                  "syslog.structured_data");
    }
    if (name.size() > 32) {
      return Fail(std::string(what) + " '" + std::string(name.substr(0, 40)) +
                      "' is longer than 32 characters",
                  "syslog.structured_data");
    }
    return name;
  }

  // One or more "[SD-ID *(SP PARAM-NAME="value")]" starting at `pos` (on '[').
  Result<void> ParseStructuredData(std::string_view record, size_t& pos, Event& out) {
    while (pos < record.size() && record[pos] == '[') {
      ++pos;
      Result<std::string_view> sd_id = ReadSdName(record, pos, "SD-ID");
      if (!sd_id) return std::unexpected(std::move(sd_id.error()));
      while (true) {
        if (pos >= record.size()) {
          return Fail("SD element '" + std::string(*sd_id) + "' is not closed by ']'",
                      "syslog.structured_data");
        }
        if (record[pos] == ']') {
          ++pos;
          break;
        }
        if (record[pos] != ' ') {
          return Fail("unexpected '" + std::string(1, record[pos]) + "' in SD element '" +
                          std::string(*sd_id) + "'",
                      "syslog.structured_data");
        }
        ++pos;
        Result<std::string_view> param = ReadSdName(record, pos, "PARAM-NAME");
        if (!param) return std::unexpected(std::move(param.error()));
        if (pos + 1 >= record.size() || record[pos] != '=' || record[pos + 1] != '"') {
          return Fail("SD-PARAM '" + std::string(*param) + "' in '" + std::string(*sd_id) +
                          "' is not followed by =\"value\"",
                      "syslog.structured_data");
        }
        pos += 2;
        value_.clear();
        bool closed = false;
        while (pos < record.size()) {
          char c = record[pos];
          if (c == '\\' && pos + 1 < record.size() &&
              (record[pos + 1] == '"' || record[pos + 1] == '\\' || record[pos + 1] == ']')) {
            value_.push_back(record[pos + 1]);
            pos += 2;
            continue;
          }
          ++pos;
          if (c == '"') {
            closed = true;
            break;
          }
          value_.push_back(c);
        }
        if (!closed) {
          return Fail("value of SD-PARAM '" + std::string(*sd_id) + "." + std::string(*param) +
                          "' has no closing '\"'",
                      "syslog.structured_data");
        }
        name_.assign(*sd_id);
        name_.push_back('.');
        name_.append(*param);
        if (auto key = dynamic_keys_.Get(name_, name_)) {
          out.Add(*key, ValueType::kString, value_);
        } else {
          name_.push_back('=');
          name_.append(value_);
          out.Add(keys_.structured_data_overflow, ValueType::kString, name_);
        }
      }
    }
    return {};
  }

  const SyslogKeys& keys_;
  std::unique_ptr<CefFieldParser> cef_;
  DynamicKeyCache dynamic_keys_;
  std::string name_;   // reused "<sd-id>.<param>"
  std::string value_;  // reused unescaped param value
};

class Syslog3164Parser : public RecordParser {
 public:
  explicit Syslog3164Parser(std::function<int64_t()> now_ns)
      : keys_(Keys()), now_ns_(std::move(now_ns)), cef_(MakeCefFieldParser(now_ns_)) {}
  EventFormat format() const override { return EventFormat::kSyslog3164; }

  Result<ParseOutcome> Parse(std::string_view record, Event& out) override {
    out.format = EventFormat::kSyslog3164;
    StripRecordEnd(record);
    size_t pos = 0;
    std::optional<int> pri;
    if (!record.empty() && record[0] == '<') {
      Result<int> parsed = ParsePri(record, pos);
      if (!parsed) return std::unexpected(std::move(parsed.error()));
      pri = *parsed;
    }

    std::string_view rest = record.substr(pos);
    if (!rest.empty() && IsDigit(rest[0])) {  // ISO 8601, as rsyslog's RFC 3339 templates send
      size_t end = rest.find(' ');
      std::string_view iso = rest.substr(0, end);
      std::optional<int64_t> time =
          iso.find('T') != std::string_view::npos ? ParseIsoTimeInRange(iso) : std::nullopt;
      if (!time) {
        return Fail("TIMESTAMP '" + std::string(iso.substr(0, 40)) + "' is not ISO 8601",
                    "syslog.timestamp");
      }
      out.timestamp_ns = *time;
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    } else {
      size_t consumed = 0;
      std::optional<int64_t> time = ParseBsdTimestamp(rest, now_ns_(), &consumed);
      if (!time) {
        return Fail("TIMESTAMP must be 'Mmm dd hh:mm:ss' (or ISO 8601), got '" +
                        std::string(rest.substr(0, 20)) + "'",
                    "syslog.timestamp");
      }
      out.timestamp_ns = *time;
      rest = rest.substr(consumed);
      if (!rest.empty()) {
        if (rest[0] != ' ') {
          return Fail("TIMESTAMP is not followed by a space", "syslog.timestamp");
        }
        rest.remove_prefix(1);
      }
    }

    if (pri) AddPriorityFields(keys_, *pri, out);
    if (LooksLikeCef(rest)) return AddMessage(keys_, *cef_, rest, out);

    // HOSTNAME, unless the first word is already the TAG ("su:", "cron[12]:").
    size_t word_end = std::min(rest.find(' '), rest.size());
    std::string_view first_word = rest.substr(0, word_end);
    if (!first_word.empty() && !first_word.ends_with(':') &&
        first_word.find('[') == std::string_view::npos) {
      AddHostFields(keys_, first_word, out);
      rest = rest.substr(std::min(word_end + 1, rest.size()));
    }
    if (LooksLikeCef(rest)) return AddMessage(keys_, *cef_, rest, out);

    // TAG: up to '[' (then pid ']') or ':'. Text without either has no tag.
    size_t tag_end = 0;
    while (tag_end < rest.size() && rest[tag_end] != ' ' && rest[tag_end] != '[' &&
           rest[tag_end] != ':') {
      ++tag_end;
    }
    std::string_view tag = rest.substr(0, tag_end);
    std::string_view pid;
    size_t message_start = 0;
    bool has_tag = false;
    if (!tag.empty() && tag_end < rest.size() && rest[tag_end] == '[') {
      size_t close = rest.find(']', tag_end);
      if (close != std::string_view::npos) {
        pid = rest.substr(tag_end + 1, close - tag_end - 1);
        message_start = close + 1;
        if (message_start < rest.size() && rest[message_start] == ':') ++message_start;
        has_tag = true;
      }
    } else if (!tag.empty() && tag_end < rest.size() && rest[tag_end] == ':') {
      message_start = tag_end + 1;
      has_tag = true;
    }
    if (has_tag) {
      if (message_start < rest.size() && rest[message_start] == ' ') ++message_start;
      out.Add(keys_.tag, ValueType::kString, tag);
      if (!pid.empty()) {
        if (IsAllDigits(pid)) {
          out.Add(keys_.pid, ValueType::kInt, pid);
        } else {
          out.Add(keys_.pid_text, ValueType::kString, pid);
        }
      }
      rest = rest.substr(message_start);
    }
    return AddMessage(keys_, *cef_, rest, out);
  }

 private:
  const SyslogKeys& keys_;
  std::function<int64_t()> now_ns_;
  std::unique_ptr<CefFieldParser> cef_;
};

}  // namespace

std::unique_ptr<RecordParser> MakeSyslog3164ParserWithClock(std::function<int64_t()> now_ns) {
  return std::make_unique<Syslog3164Parser>(std::move(now_ns));
}

std::unique_ptr<RecordParser> MakeSyslog5424Parser() {
  return std::make_unique<Syslog5424Parser>();
}

std::unique_ptr<RecordParser> MakeSyslog3164Parser() {
  return MakeSyslog3164ParserWithClock(NowNs);
}

}  // namespace aegis::ingest
