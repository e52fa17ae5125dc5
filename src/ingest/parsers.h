// Internal to src/ingest: the factory of each record parser. MakeParser() in
// parsers.cc is the one place that maps an EventFormat to its parser.
#pragma once

#include <memory>

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

}  // namespace aegis::ingest
