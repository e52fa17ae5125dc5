// Alert: a detector's finding about one event. Detectors produce alerts; the
// pipeline de-duplicates them and hands them to sinks (JSON lines, the store).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/event.h"
#include "core/types.h"

namespace aegis {

struct AlertMatch {
  std::string field;      // schema name of the event field, e.g. "dns.question.name"
  std::string original;   // the field's original name, e.g. "query"
  std::string value;      // the event's value, as seen
  std::string indicator;  // the indicator value that matched, e.g. "evil.com"
  std::string match;      // "exact", "subdomain", "prefix"
};

struct Alert {
  std::string id;              // stable: hash of detector, rule and event position
  int64_t time_ns = 0;         // when the alert was raised
  int64_t event_time_ns = 0;   // the event's own timestamp
  Severity severity = Severity::kMedium;
  Tlp tlp = Tlp::kClear;
  std::string detector;        // "indicator"
  std::string rule;            // what fired: the indicator value, or a Sigma rule id
  std::string rule_status;     // Sigma rule status (stable, test, ...); "" otherwise
  std::string title;           // one-line human summary
  std::string indicator_type;  // "domain", "ipv4", ...
  std::string indicator_source;
  int confidence = 0;
  std::vector<std::string> tags;
  std::vector<AlertMatch> matches;
  // The event, by position and content.
  std::string event_source;
  uint64_t event_line = 0;
  uint64_t event_offset = 0;
  EventFormat event_format = EventFormat::kUnknown;
  std::string source_ip;       // the event's source.ip / destination.ip, when it has them
  std::string destination_ip;  // (part of the de-duplication key)
  std::string event_json;      // EventToJson(event)
  uint32_t count = 1;          // 1 + repeats folded into this alert by de-duplication
};

// One JSON object (one line of alerts.jsonl).
std::string AlertToJson(const Alert& alert);

}  // namespace aegis
