// Internal to src/ingest: the factory of each record parser. MakeParser() in
// parsers.cc is the one place that maps an EventFormat to its parser.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "ingest/ingest.h"

namespace aegis::ingest {

std::unique_ptr<RecordParser> MakeZeekJsonParser();     // zeek_json.cc
std::unique_ptr<RecordParser> MakeZeekTsvParser();      // zeek_tsv.cc (stateful: #fields header)
std::unique_ptr<RecordParser> MakeSuricataParser();     // suricata.cc
std::unique_ptr<RecordParser> MakeWindowsJsonParser();  // windows_json.cc (Event.System/EventData)
std::unique_ptr<RecordParser> MakeWindowsFlatParser();  // windows_json.cc (winlogbeat/nxlog flat)
std::unique_ptr<RecordParser> MakeWindowsXmlParser();   // windows_xml.cc (<Event> XML from EVTX)
std::unique_ptr<RecordParser> MakeSyslog5424Parser();   // syslog.cc
std::unique_ptr<RecordParser> MakeSyslog3164Parser();   // syslog.cc
std::unique_ptr<RecordParser> MakeCefParser();          // cef.cc

// Schema name of a Zeek field, shared by the JSON and TSV parsers (zeek_json.cc).
// `type` is the schema's type for the field, or nullopt when the record's own type
// applies. Calls KeyFor (takes a lock): parsers cache the result per field name.
struct ZeekMapping {
  FieldKey key;
  std::optional<ValueType> type;
};
ZeekMapping MapZeekField(std::string_view log_path, std::string_view original);

// ParseTime / ParseEpochSeconds limited to times that fit int64 nanoseconds (years
// 1678..2261); the core functions overflow beyond that (parsers.cc).
std::optional<int64_t> ParseTimeInRange(std::string_view text);
std::optional<int64_t> ParseEpochSecondsInRange(std::string_view text);

}  // namespace aegis::ingest
