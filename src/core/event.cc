#include "core/event.h"

#include <chrono>
#include <cstdio>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "core/strings.h"

namespace aegis {
namespace {

struct InternPool {
  std::shared_mutex mutex;
  std::deque<std::string> storage;  // deque: element addresses are stable
  std::unordered_set<std::string_view> index;
};

InternPool& Pool() {
  static InternPool* pool = new InternPool();  // never destroyed: views outlive statics
  return *pool;
}

struct SchemaEntry {
  std::string_view name;
  unsigned char kind;
};

// Observable schema names and what an indicator matcher looks for in them.
// docs/SCHEMA.md lists the full schema; names not here are not observables.
constexpr SchemaEntry kObservables[] = {
    {"source.ip", kKindIp},
    {"destination.ip", kKindIp},
    {"client.ip", kKindIp},
    {"server.ip", kKindIp},
    {"host.ip", kKindIp},
    {"related.ip", kKindIp},
    {"source.nat.ip", kKindIp},
    {"destination.nat.ip", kKindIp},
    {"dns.question.name", kKindDomain},
    {"dns.answers.data", kKindAny},
    {"dns.answers.name", kKindDomain},
    {"url.domain", kKindDomain},
    {"url.full", kKindUrl},
    {"url.original", kKindUrl},
    {"http.request.referrer", kKindUrl},
    {"destination.domain", kKindDomain},
    {"source.domain", kKindDomain},
    {"server.domain", kKindDomain},
    {"tls.server_name", kKindDomain},
    {"tls.client.server_name", kKindDomain},
    {"x509.subject.common_name", kKindDomain},
    {"x509.san.dns", kKindDomain},
    {"related.hosts", kKindDomain},
    {"file.hash.md5", kKindHash},
    {"file.hash.sha1", kKindHash},
    {"file.hash.sha256", kKindHash},
    {"process.hash.md5", kKindHash},
    {"process.hash.sha1", kKindHash},
    {"process.hash.sha256", kKindHash},
    {"tls.server.hash.sha256", kKindHash},
    {"tls.server.hash.sha1", kKindHash},
    {"tls.server.hash.md5", kKindHash},
    {"related.hash", kKindHash},
    {"email.from.address", kKindEmail},
    {"email.to.address", kKindEmail},
    {"email.cc.address", kKindEmail},
    {"email.sender.address", kKindEmail},
    {"email.reply_to.address", kKindEmail},
    {"user.email", kKindEmail},
};

// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool ReadDigits(std::string_view s, size_t& pos, size_t n, int64_t& out) {
  if (pos + n > s.size()) return false;
  int64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += n;
  out = v;
  return true;
}

}  // namespace

std::string_view FormatName(EventFormat f) {
  switch (f) {
    case EventFormat::kUnknown: return "unknown";
    case EventFormat::kZeekJson: return "zeek-json";
    case EventFormat::kZeekTsv: return "zeek-tsv";
    case EventFormat::kSuricataEve: return "suricata";
    case EventFormat::kWindowsJson: return "windows-json";
    case EventFormat::kWindowsFlat: return "windows-flat";
    case EventFormat::kWindowsXml: return "windows-xml";
    case EventFormat::kEvtx: return "evtx";
    case EventFormat::kSyslog5424: return "syslog5424";
    case EventFormat::kSyslog3164: return "syslog3164";
    case EventFormat::kCef: return "cef";
  }
  return "unknown";
}

std::optional<EventFormat> ParseFormatName(std::string_view name) {
  for (auto f : {EventFormat::kZeekJson, EventFormat::kZeekTsv, EventFormat::kSuricataEve,
                 EventFormat::kWindowsJson, EventFormat::kWindowsFlat, EventFormat::kWindowsXml,
                 EventFormat::kEvtx, EventFormat::kSyslog5424, EventFormat::kSyslog3164,
                 EventFormat::kCef}) {
    if (IEquals(name, FormatName(f))) return f;
  }
  if (IEquals(name, "auto")) return EventFormat::kUnknown;
  if (IEquals(name, "eve")) return EventFormat::kSuricataEve;
  if (IEquals(name, "syslog")) return EventFormat::kSyslog5424;
  return std::nullopt;
}

std::string_view Intern(std::string_view s) {
  InternPool& pool = Pool();
  {
    std::shared_lock lock(pool.mutex);
    auto it = pool.index.find(s);
    if (it != pool.index.end()) return *it;
  }
  std::unique_lock lock(pool.mutex);
  auto it = pool.index.find(s);
  if (it != pool.index.end()) return *it;
  pool.storage.emplace_back(s);
  std::string_view view = pool.storage.back();
  pool.index.insert(view);
  return view;
}

unsigned char SchemaKind(std::string_view name) {
  for (const auto& e : kObservables) {
    if (e.name == name) return e.kind;
  }
  return kKindNone;
}

FieldKey KeyFor(std::string_view name, std::string_view original) {
  FieldKey key;
  key.name = Intern(name.empty() ? original : name);
  key.original = Intern(original.empty() ? name : original);
  key.kind = SchemaKind(key.name);
  return key;
}

void Event::Clear() {
  timestamp_ns = 0;
  format = EventFormat::kUnknown;
  source.clear();
  line = 0;
  offset = 0;
  raw.clear();
  count_ = 0;
}

Field& Event::Add(const FieldKey& key, ValueType type, std::string_view value) {
  if (count_ == fields_.size()) fields_.emplace_back();
  Field& f = fields_[count_++];
  f.key = key;
  f.type = type;
  f.value.assign(value.data(), value.size());
  return f;
}

const Field* Event::Find(std::string_view name) const {
  for (size_t i = 0; i < count_; ++i) {
    if (fields_[i].key.name == name) return &fields_[i];
  }
  return nullptr;
}

const Field* Event::FindOriginal(std::string_view original) const {
  for (size_t i = 0; i < count_; ++i) {
    if (fields_[i].key.original == original) return &fields_[i];
  }
  return nullptr;
}

std::string FormatTime(int64_t unix_ns) {
  int64_t secs = unix_ns / 1'000'000'000;
  int64_t frac = unix_ns % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    secs -= 1;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  // civil_from_days (H. Hinnant)
  int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += (m <= 2);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ",
                static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600),
                static_cast<long long>((rem % 3600) / 60), static_cast<long long>(rem % 60),
                static_cast<long long>(frac / 1000));
  return buf;
}

std::optional<int64_t> ParseTime(std::string_view s) {
  s = Trim(s);
  size_t pos = 0;
  int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!ReadDigits(s, pos, 4, y) || pos >= s.size() || s[pos++] != '-') return std::nullopt;
  if (!ReadDigits(s, pos, 2, mo) || pos >= s.size() || s[pos++] != '-') return std::nullopt;
  if (!ReadDigits(s, pos, 2, d)) return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return std::nullopt;
  // Nanoseconds in int64 cover 1677-09-21 to 2262-04-11: stay well inside.
  if (y < 1678 || y > 2261) return std::nullopt;
  int64_t frac_ns = 0;
  int64_t offset_s = 0;
  if (pos < s.size() && (s[pos] == 'T' || s[pos] == 't' || s[pos] == ' ')) {
    ++pos;
    if (!ReadDigits(s, pos, 2, h) || pos >= s.size() || s[pos++] != ':') return std::nullopt;
    if (!ReadDigits(s, pos, 2, mi)) return std::nullopt;
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      if (!ReadDigits(s, pos, 2, sec)) return std::nullopt;
    }
    if (h > 23 || mi > 59 || sec > 60) return std::nullopt;
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      ++pos;
      int64_t scale = 100'000'000;
      size_t digits = 0;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        frac_ns += (s[pos] - '0') * scale;
        scale /= 10;
        ++pos;
        ++digits;
      }
      if (digits == 0) return std::nullopt;
    }
    if (pos < s.size()) {
      char c = s[pos];
      if (c == 'Z' || c == 'z') {
        ++pos;
      } else if (c == '+' || c == '-') {
        ++pos;
        int64_t oh, om = 0;
        if (!ReadDigits(s, pos, 2, oh)) return std::nullopt;
        if (pos < s.size() && s[pos] == ':') ++pos;
        if (pos < s.size() && !ReadDigits(s, pos, 2, om)) return std::nullopt;
        offset_s = (oh * 3600 + om * 60) * (c == '+' ? 1 : -1);
      }
    }
  }
  if (pos != s.size()) return std::nullopt;
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
  return secs * 1'000'000'000 + frac_ns;
}

std::optional<int64_t> ParseEpochSeconds(std::string_view s) {
  s = Trim(s);
  if (s.empty()) return std::nullopt;
  size_t pos = 0;
  bool neg = false;
  if (s[0] == '-') {
    neg = true;
    pos = 1;
  }
  int64_t whole = 0;
  size_t digits = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    whole = whole * 10 + (s[pos] - '0');
    // Nanoseconds in int64 end in 2262 (9.2e9 s): refuse anything past 9e9 s.
    if (whole > 9'000'000'000LL) return std::nullopt;
    ++pos;
    ++digits;
  }
  if (digits == 0) return std::nullopt;
  int64_t frac = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t scale = 100'000'000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      frac += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
  }
  if (pos != s.size()) return std::nullopt;
  int64_t ns = whole * 1'000'000'000 + frac;
  return neg ? -ns : ns;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string EventToJson(const Event& ev, bool include_raw) {
  std::string out = "{\"@timestamp\":";
  AppendJsonString(out, FormatTime(ev.timestamp_ns));
  out += ",\"format\":";
  AppendJsonString(out, FormatName(ev.format));
  out += ",\"source\":";
  AppendJsonString(out, ev.source);
  out += ",\"line\":" + std::to_string(ev.line) + ",\"offset\":" + std::to_string(ev.offset);
  out += ",\"fields\":[";
  bool first = true;
  for (const Field& f : ev.fields()) {
    if (!first) out.push_back(',');
    first = false;
    out += "{\"name\":";
    AppendJsonString(out, f.key.name);
    if (f.key.original != f.key.name) {
      out += ",\"original\":";
      AppendJsonString(out, f.key.original);
    }
    out += ",\"value\":";
    AppendJsonString(out, f.value);
    out.push_back('}');
  }
  out.push_back(']');
  if (include_raw) {
    out += ",\"raw\":";
    AppendJsonString(out, ev.raw);
  }
  out.push_back('}');
  return out;
}

}  // namespace aegis
