// Internal to src/ingest: helpers shared by the syslog and CEF parsers (syslog.cc,
// cef.cc), the syslog listener and their tests. Not part of the public ingest API.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/event.h"
#include "ingest/ingest.h"

namespace aegis::ingest {

// Which parser a single syslog message needs: kCef for a bare "CEF:" record,
// kSyslog5424 for "<PRI>VERSION SP...", kSyslog3164 for anything else.
EventFormat DetectSyslogFormat(std::string_view message);

// An RFC 3164 parser whose "now" (used to guess the missing year) comes from `now_ns`.
// MakeSyslog3164Parser() uses the wall clock; tests pass a fixed clock.
std::unique_ptr<RecordParser> MakeSyslog3164ParserWithClock(std::function<int64_t()> now_ns);

// Year inference for RFC 3164 and CEF "MMM dd HH:mm:ss" times: the month/day/time in
// the year of `now_ns` (UTC), or in the previous year when that would be more than a
// day in the future. Returns nullopt for an impossible date (Feb 30).
std::optional<int64_t> ResolveYearlessTime(int month, int day, int hour, int minute,
                                           int second, int64_t fraction_ns, int64_t now_ns);

// Years the parsers accept: int64 nanoseconds since 1970 only span 1678..2262.
inline constexpr int kMinYear = 1700;
inline constexpr int kMaxYear = 2200;

// aegis::ParseTime (ISO 8601) for years kMinYear..kMaxYear only, so that a hostile
// "9999-..." never reaches the nanosecond arithmetic; nullopt otherwise.
std::optional<int64_t> ParseIsoTimeInRange(std::string_view text);

// Unix nanoseconds of a UTC civil time; nullopt when the date does not exist or the
// year is outside kMinYear..kMaxYear.
std::optional<int64_t> CivilToUnixNs(int year, int month, int day, int hour, int minute,
                                     int second, int64_t fraction_ns);

// 1..12 for "Jan".."Dec" (case-insensitive), 0 otherwise.
int MonthFromAbbreviation(std::string_view text);

// Parses a BSD-style time at the start of `text`: "Mmm dd hh:mm:ss" (the day may be
// space-padded, " 5", or not), optionally with a year ("Mmm dd yyyy hh:mm:ss") and a
// fraction (".123"). Without a year, ResolveYearlessTime picks it from `now_ns`.
// On success sets *consumed to the number of bytes used; the time is read as UTC.
std::optional<int64_t> ParseBsdTimestamp(std::string_view text, int64_t now_ns,
                                         size_t* consumed);

// Caches FieldKeys for names only known at run time (structured-data parameters, CEF
// extension keys and labels), so that KeyFor (which takes a lock) runs once per name
// per parser. The number of distinct names is bounded: hostile input cannot grow the
// process-wide intern pool without limit through one parser. Not thread-safe.
class DynamicKeyCache {
 public:
  static constexpr size_t kDefaultLimit = 4096;
  explicit DynamicKeyCache(size_t limit = kDefaultLimit) : limit_(limit) {}

  // The key for (name, original), or nullopt once `limit` distinct pairs are cached
  // and this pair is not one of them (the caller then uses a fallback key).
  std::optional<FieldKey> Get(std::string_view name, std::string_view original);

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  size_t limit_;
  std::string lookup_;  // reused "name\x1foriginal" lookup buffer
  std::unordered_map<std::string, FieldKey, StringHash, std::equal_to<>> keys_;
};

// Parses the CEF record `record` ("CEF:0|...") and appends its fields to `out`
// without clearing it or changing its format; sets out.timestamp_ns from rt/start/end
// when present. Used by the CEF parser and for CEF carried inside syslog messages.
class CefFieldParser {
 public:
  virtual ~CefFieldParser() = default;
  virtual Result<ParseOutcome> AppendFields(std::string_view record, Event& out) = 0;
};
std::unique_ptr<CefFieldParser> MakeCefFieldParser(std::function<int64_t()> now_ns);

// True when `text` starts with "CEF:" followed by a digit (the CEF version).
inline bool LooksLikeCef(std::string_view text) {
  return text.size() > 4 && text.substr(0, 4) == "CEF:" && text[4] >= '0' && text[4] <= '9';
}

}  // namespace aegis::ingest
