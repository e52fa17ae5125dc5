#include "core/alert.h"

#include "core/strings.h"

namespace aegis {

std::string AlertToJson(const Alert& a) {
  std::string out = "{\"id\":";
  AppendJsonString(out, a.id);
  out += ",\"time\":";
  AppendJsonString(out, FormatTime(a.time_ns));
  out += ",\"event_time\":";
  if (a.event_time_ns == 0) {
    out += "null";  // the event carried no time of its own
  } else {
    AppendJsonString(out, FormatTime(a.event_time_ns));
  }
  out += ",\"severity\":";
  AppendJsonString(out, SeverityName(a.severity));
  out += ",\"tlp\":";
  AppendJsonString(out, TlpName(a.tlp));
  out += ",\"detector\":";
  AppendJsonString(out, a.detector);
  out += ",\"rule\":";
  AppendJsonString(out, a.rule);
  if (!a.rule_status.empty()) {
    out += ",\"rule_status\":";
    AppendJsonString(out, a.rule_status);
  }
  out += ",\"title\":";
  AppendJsonString(out, a.title);
  out += ",\"indicator\":{\"type\":";
  AppendJsonString(out, a.indicator_type);
  out += ",\"source\":";
  AppendJsonString(out, a.indicator_source);
  out += ",\"confidence\":" + std::to_string(a.confidence) + ",\"tags\":[";
  for (size_t i = 0; i < a.tags.size(); ++i) {
    if (i) out.push_back(',');
    AppendJsonString(out, a.tags[i]);
  }
  out += "]},\"matches\":[";
  for (size_t i = 0; i < a.matches.size(); ++i) {
    const AlertMatch& m = a.matches[i];
    if (i) out.push_back(',');
    out += "{\"field\":";
    AppendJsonString(out, m.field);
    out += ",\"original\":";
    AppendJsonString(out, m.original);
    out += ",\"value\":";
    AppendJsonString(out, m.value);
    out += ",\"indicator\":";
    AppendJsonString(out, m.indicator);
    out += ",\"match\":";
    AppendJsonString(out, m.match);
    out.push_back('}');
  }
  out += "],\"event\":{\"source\":";
  AppendJsonString(out, a.event_source);
  out += ",\"line\":" + std::to_string(a.event_line) +
         ",\"offset\":" + std::to_string(a.event_offset) + ",\"format\":";
  AppendJsonString(out, FormatName(a.event_format));
  if (!a.source_ip.empty()) {
    out += ",\"source_ip\":";
    AppendJsonString(out, a.source_ip);
  }
  if (!a.destination_ip.empty()) {
    out += ",\"destination_ip\":";
    AppendJsonString(out, a.destination_ip);
  }
  out += "},\"count\":" + std::to_string(a.count);
  if (!a.event_json.empty()) {
    out += ",\"event_data\":";
    out += a.event_json;  // already JSON
  }
  out.push_back('}');
  return out;
}

}  // namespace aegis
