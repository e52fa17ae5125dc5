// The JSON forms of Windows events, both normalised by WindowsEventBuilder so that
// they give the same Events as the EVTX/XML form:
//   windows-json  evtx_dump's rendering of the XML: {"Event":{"System":{...},
//                 "EventData":{...}}} with "#attributes" and "#text" members
//   windows-flat  one object per line: nxlog/OTRF ({"EventID":1,"SourceName":..,
//                 "Hostname":..,"Image":..}) or winlogbeat ({"winlog":{"event_id":..,
//                 "event_data":{...}},"@timestamp":..})
// Parsing uses simdjson On-Demand with error codes (no exceptions); one simdjson
// parser per RecordParser, so one per thread.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "core/event.h"
#include "ingest/parsers.h"
#include "ingest/windows_event.h"

namespace aegis::ingest {
namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool IsBlank(std::string_view text) {
  for (char c : text) {
    if (!IsJsonSpace(c)) return false;
  }
  return true;
}

// RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool IsJsonNumber(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

// The textual value of a scalar: strings unescaped, numbers as written, booleans as
// "true"/"false". `present` is false for null. Views stay valid for the document.
error_code ScalarText(od::value& value, od::json_type type, std::string_view& text,
                      bool& present) {
  present = true;
  switch (type) {
    case od::json_type::string:
      return value.get_string().get(text);
    case od::json_type::number: {
      std::string_view token;
      token = value.raw_json_token();
      while (!token.empty() && IsJsonSpace(token.back())) token.remove_suffix(1);
      if (!IsJsonNumber(token)) return simdjson::NUMBER_ERROR;
      text = token;
      return simdjson::SUCCESS;
    }
    case od::json_type::boolean: {
      bool flag = false;
      if (auto error = value.get_bool().get(flag); error) return error;
      text = flag ? "true" : "false";
      return simdjson::SUCCESS;
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto error = value.is_null().get(is_null); error) return error;
      if (!is_null) return simdjson::N_ATOM_ERROR;
      present = false;
      return simdjson::SUCCESS;
    }
    default:
      return simdjson::INCORRECT_TYPE;
  }
}

// True when nothing but whitespace follows the root value.
bool AtEnd(od::document& document) {
  return document.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

// What went wrong in a record, beyond simdjson's own error codes.
struct RecordProblem {
  std::string reason;
  std::string field;
};

// Shared by both JSON parsers: the padded copy of the record and the simdjson parser.
class JsonRecordReader {
 public:
  error_code Start(std::string_view record, od::document& document) {
    const size_t capacity = record.size() + simdjson::SIMDJSON_PADDING;
    if (buffer_.size() < capacity) buffer_.resize(capacity);
    std::copy(record.begin(), record.end(), buffer_.begin());
    std::fill(buffer_.begin() + static_cast<ptrdiff_t>(record.size()),
              buffer_.begin() + static_cast<ptrdiff_t>(capacity), '\0');
    return parser_.iterate(buffer_.data(), record.size(), buffer_.size()).get(document);
  }

 private:
  od::parser parser_;
  std::vector<char> buffer_;
};

Result<ParseOutcome> JsonFailure(error_code error, const RecordProblem& problem) {
  if (!problem.reason.empty()) return Fail(problem.reason, problem.field);
  return Fail(std::string("JSON: ") + simdjson::error_message(error), problem.field);
}

// ---------------------------------------------------------------------------------
// evtx_dump form.

class WindowsJsonParser : public RecordParser {
 public:
  EventFormat format() const override { return EventFormat::kWindowsJson; }

  Result<ParseOutcome> Parse(std::string_view record, Event& out) override {
    if (IsBlank(record)) return ParseOutcome::kSkip;
    problem_ = {};
    od::document document;
    if (auto error = reader_.Start(record, document); error) return JsonFailure(error, problem_);
    builder_.Begin(out, EventFormat::kWindowsJson);
    if (auto error = ReadDocument(document, out); error) return JsonFailure(error, problem_);
    builder_.Finish();
    return ParseOutcome::kEvent;
  }

 private:
  error_code ReadDocument(od::document& document, Event& out) {
    od::object root;
    if (auto error = document.get_object().get(root); error) return error;
    bool event_seen = false;
    for (auto member : root) {
      od::field field;
      if (auto error = std::move(member).get(field); error) return error;
      std::string_view key;
      if (auto error = field.unescaped_key().get(key); error) return error;
      if (key != "Event") continue;
      if (event_seen) return Problem("two \"Event\" members", "Event");
      event_seen = true;
      od::object event;
      if (auto error = field.value().get_object().get(event); error) return error;
      if (auto error = ReadEvent(event, out); error) return error;
    }
    if (!AtEnd(document)) return simdjson::TRAILING_CONTENT;
    if (!event_seen) return Problem("no \"Event\" object", "Event");
    return simdjson::SUCCESS;
  }

  error_code ReadEvent(od::object& event, Event& out) {
    bool system_seen = false;
    for (auto member : event) {
      od::field field;
      if (auto error = std::move(member).get(field); error) return error;
      std::string_view key;
      if (auto error = field.unescaped_key().get(key); error) return error;
      if (key == "System") {
        system_seen = true;
        od::object system;
        if (auto error = field.value().get_object().get(system); error) return error;
        if (auto error = ReadSystem(system, out); error) return error;
      } else if (key == "EventData" || key == "UserData") {
        od::value value = field.value();
        if (auto error = Visit(key, value, 0); error) return error;
      }
    }
    if (!system_seen) return Problem("no \"System\" object", "System");
    return simdjson::SUCCESS;
  }

  // Calls on_attribute(name, text) for each non-null member of value["#attributes"].
  template <typename OnAttribute>
  error_code ForEachAttribute(od::value& value, OnAttribute on_attribute) {
    od::json_type type;
    if (auto error = value.type().get(type); error) return error;
    if (type == od::json_type::null) return simdjson::SUCCESS;
    od::object object;
    if (auto error = value.get_object().get(object); error) return error;
    for (auto member : object) {
      od::field field;
      if (auto error = std::move(member).get(field); error) return error;
      std::string_view key;
      if (auto error = field.unescaped_key().get(key); error) return error;
      if (key != "#attributes") continue;
      od::object attributes;
      if (auto error = field.value().get_object().get(attributes); error) return error;
      for (auto attribute_member : attributes) {
        od::field attribute;
        if (auto error = std::move(attribute_member).get(attribute); error) return error;
        std::string_view name;
        if (auto error = attribute.unescaped_key().get(name); error) return error;
        od::value attribute_value = attribute.value();
        od::json_type attribute_type;
        if (auto error = attribute_value.type().get(attribute_type); error) return error;
        std::string_view text;
        bool present = false;
        if (auto error = ScalarText(attribute_value, attribute_type, text, present); error) {
          return error;
        }
        if (present) {
          if (auto error = on_attribute(name, text); error) return error;
        }
      }
    }
    return simdjson::SUCCESS;
  }

  // A System element's text: a scalar, or the "#text" of {"#text":..,"#attributes":..}.
  error_code ElementText(od::value& value, std::string_view& text, bool& present) {
    od::json_type type;
    if (auto error = value.type().get(type); error) return error;
    if (type != od::json_type::object) return ScalarText(value, type, text, present);
    present = false;
    od::object object;
    if (auto error = value.get_object().get(object); error) return error;
    for (auto member : object) {
      od::field field;
      if (auto error = std::move(member).get(field); error) return error;
      std::string_view key;
      if (auto error = field.unescaped_key().get(key); error) return error;
      if (key != "#text") continue;
      od::value text_value = field.value();
      od::json_type text_type;
      if (auto error = text_value.type().get(text_type); error) return error;
      if (auto error = ScalarText(text_value, text_type, text, present); error) return error;
    }
    return simdjson::SUCCESS;
  }

  error_code ReadSystem(od::object& system, Event& out) {
    for (auto member : system) {
      od::field field;
      if (auto error = std::move(member).get(field); error) return error;
      std::string_view key;
      if (auto error = field.unescaped_key().get(key); error) return error;
      od::value value = field.value();
      error_code error = simdjson::SUCCESS;
      if (key == "Provider") {
        error = ForEachAttribute(value, [&](std::string_view name, std::string_view text) {
          if (name == "Name") builder_.SetSystem(WindowsSystemField::kProviderName, text);
          if (name == "Guid") builder_.SetSystem(WindowsSystemField::kProviderGuid, text);
          if (name == "EventSourceName") {
            builder_.SetSystem(WindowsSystemField::kEventSourceName, text);
          }
          return simdjson::SUCCESS;
        });
      } else if (key == "TimeCreated") {
        error = ForEachAttribute(value, [&](std::string_view name, std::string_view text) {
          if (name != "SystemTime" || text.empty()) return simdjson::SUCCESS;
          auto time = ParseWindowsTime(text);
          if (!time) return Problem("bad SystemTime '" + std::string(text) + "'", "SystemTime");
          out.timestamp_ns = *time;
          return simdjson::SUCCESS;
        });
      } else if (key == "Correlation") {
        error = ForEachAttribute(value, [&](std::string_view name, std::string_view text) {
          if (name == "ActivityID") builder_.SetSystem(WindowsSystemField::kActivityId, text);
          if (name == "RelatedActivityID") {
            builder_.SetSystem(WindowsSystemField::kRelatedActivityId, text);
          }
          return simdjson::SUCCESS;
        });
      } else if (key == "Execution") {
        error = ForEachAttribute(value, [&](std::string_view name, std::string_view text) {
          if (name == "ProcessID") builder_.SetSystem(WindowsSystemField::kProcessId, text);
          if (name == "ThreadID") builder_.SetSystem(WindowsSystemField::kThreadId, text);
          return simdjson::SUCCESS;
        });
      } else if (key == "Security") {
        error = ForEachAttribute(value, [&](std::string_view name, std::string_view text) {
          if (name == "UserID") builder_.SetSystem(WindowsSystemField::kUserId, text);
          return simdjson::SUCCESS;
        });
      } else if (auto slot = TextSystemField(key)) {
        std::string_view text;
        bool present = false;
        error = ElementText(value, text, present);
        if (!error && present) builder_.SetSystem(*slot, text);
      }
      if (error) return error;
    }
    return simdjson::SUCCESS;
  }

  static std::optional<WindowsSystemField> TextSystemField(std::string_view name) {
    if (name == "EventID") return WindowsSystemField::kEventId;
    if (name == "Version") return WindowsSystemField::kVersion;
    if (name == "Level") return WindowsSystemField::kLevel;
    if (name == "Task") return WindowsSystemField::kTask;
    if (name == "Opcode") return WindowsSystemField::kOpcode;
    if (name == "Keywords") return WindowsSystemField::kKeywords;
    if (name == "EventRecordID") return WindowsSystemField::kEventRecordId;
    if (name == "Channel") return WindowsSystemField::kChannel;
    if (name == "Computer") return WindowsSystemField::kComputer;
    return std::nullopt;
  }

  // The JSON image of the XML leaf rule (see windows_xml.cc): a scalar under key K is
  // the value of K; {"#text": v} belongs to its element's name ("Data" elements take
  // their Name attribute); arrays repeat their key; other members are child elements.
  error_code Visit(std::string_view name, od::value& value, int depth) {
    if (depth > kWindowsMaxDepth) return Problem("EventData nested too deeply", std::string(name));
    od::json_type type;
    if (auto error = value.type().get(type); error) return error;
    if (type == od::json_type::array) {
      od::array array;
      if (auto error = value.get_array().get(array); error) return error;
      for (auto element_result : array) {
        od::value element;
        if (auto error = element_result.get(element); error) return error;
        if (auto error = Visit(name, element, depth + 1); error) return error;
      }
      return simdjson::SUCCESS;
    }
    if (type != od::json_type::object) {
      std::string_view text;
      bool present = false;
      if (auto error = ScalarText(value, type, text, present); error) return error;
      if (present) builder_.AddData(name, text);
      return simdjson::SUCCESS;
    }
    od::object object;
    if (auto error = value.get_object().get(object); error) return error;
    std::string_view text_name = name;
    for (auto member : object) {
      od::field field;
      if (auto error = std::move(member).get(field); error) return error;
      std::string_view key;
      if (auto error = field.unescaped_key().get(key); error) return error;
      od::value child = field.value();
      if (key == "#attributes") {
        if (name != "Data") continue;
        od::object attributes;
        if (auto error = child.get_object().get(attributes); error) return error;
        for (auto attribute_member : attributes) {
          od::field attribute;
          if (auto error = std::move(attribute_member).get(attribute); error) return error;
          std::string_view attribute_name;
          if (auto error = attribute.unescaped_key().get(attribute_name); error) return error;
          if (attribute_name != "Name") continue;
          std::string_view data_name;
          if (attribute.value().get_string().get(data_name) == simdjson::SUCCESS &&
              !data_name.empty()) {
            text_name = data_name;
          }
        }
      } else if (key == "#text") {
        if (auto error = Visit(text_name, child, depth + 1); error) return error;
      } else {
        if (auto error = Visit(key, child, depth + 1); error) return error;
      }
    }
    return simdjson::SUCCESS;
  }

  error_code Problem(std::string reason, std::string field) {
    problem_.reason = std::move(reason);
    problem_.field = std::move(field);
    return simdjson::INCORRECT_TYPE;  // the reason in problem_ is reported instead
  }

  JsonRecordReader reader_;
  WindowsEventBuilder builder_;
  RecordProblem problem_;
};

// ---------------------------------------------------------------------------------
// Flat form (nxlog / OTRF and winlogbeat).

// Flat member names that carry a <System> value.
std::optional<WindowsSystemField> FlatSystemField(std::string_view name) {
  static constexpr std::pair<std::string_view, WindowsSystemField> kNames[] = {
      {"EventID", WindowsSystemField::kEventId},
      {"SourceName", WindowsSystemField::kProviderName},
      {"ProviderName", WindowsSystemField::kProviderName},
      {"Provider_Name", WindowsSystemField::kProviderName},
      {"ProviderGuid", WindowsSystemField::kProviderGuid},
      {"Provider_Guid", WindowsSystemField::kProviderGuid},
      {"Channel", WindowsSystemField::kChannel},
      {"Hostname", WindowsSystemField::kComputer},
      {"Computer", WindowsSystemField::kComputer},
      {"RecordNumber", WindowsSystemField::kEventRecordId},
      {"EventRecordID", WindowsSystemField::kEventRecordId},
      {"Version", WindowsSystemField::kVersion},
      {"Level", WindowsSystemField::kLevel},
      {"Task", WindowsSystemField::kTask},
      {"OpcodeValue", WindowsSystemField::kOpcode},
      {"Keywords", WindowsSystemField::kKeywords},
      {"ActivityID", WindowsSystemField::kActivityId},
      {"RelatedActivityID", WindowsSystemField::kRelatedActivityId},
      {"ExecutionProcessID", WindowsSystemField::kProcessId},
      {"ThreadID", WindowsSystemField::kThreadId},
      {"UserID", WindowsSystemField::kUserId},
  };
  for (const auto& [flat_name, field] : kNames) {
    if (flat_name == name) return field;
  }
  return std::nullopt;
}

// Members of winlogbeat's "winlog" object that carry a <System> value.
std::optional<WindowsSystemField> WinlogSystemField(std::string_view name) {
  static constexpr std::pair<std::string_view, WindowsSystemField> kNames[] = {
      {"event_id", WindowsSystemField::kEventId},
      {"provider_name", WindowsSystemField::kProviderName},
      {"provider_guid", WindowsSystemField::kProviderGuid},
      {"channel", WindowsSystemField::kChannel},
      {"computer_name", WindowsSystemField::kComputer},
      {"record_id", WindowsSystemField::kEventRecordId},
      {"version", WindowsSystemField::kVersion},
      {"activity_id", WindowsSystemField::kActivityId},
      {"related_activity_id", WindowsSystemField::kRelatedActivityId},
  };
  for (const auto& [winlog_name, field] : kNames) {
    if (winlog_name == name) return field;
  }
  return std::nullopt;
}

class WindowsFlatParser : public RecordParser {
 public:
  EventFormat format() const override { return EventFormat::kWindowsFlat; }

  Result<ParseOutcome> Parse(std::string_view record, Event& out) override {
    if (IsBlank(record)) return ParseOutcome::kSkip;
    problem_ = {};
    event_id_seen_ = false;
    for (auto& candidate : time_candidates_) candidate = {};
    od::document document;
    if (auto error = reader_.Start(record, document); error) return JsonFailure(error, problem_);
    builder_.Begin(out, EventFormat::kWindowsFlat);
    if (auto error = ReadDocument(document); error) return JsonFailure(error, problem_);
    if (!event_id_seen_) return Fail("not a Windows event: no EventID", "EventID");
    for (const std::string_view candidate : time_candidates_) {
      if (candidate.empty()) continue;
      if (auto time = ParseWindowsTime(candidate)) {
        out.timestamp_ns = *time;
        break;
      }
    }
    builder_.Finish();
    return ParseOutcome::kEvent;
  }

 private:
  // Where the event time may come from, most trustworthy first.
  enum TimeSource { kTimeCreated, kTimestamp, kUtcTime, kEventTime, kTimeSourceCount };

  error_code ReadDocument(od::document& document) {
    od::object root;
    if (auto error = document.get_object().get(root); error) return error;
    // winlogbeat puts the record under "winlog" and ECS copies of it at the top level,
    // which are skipped; nxlog puts everything at the top level.
    bool winlogbeat = false;
    for (auto member : root) {
      od::field field;
      if (auto error = std::move(member).get(field); error) return error;
      std::string_view key;
      if (auto error = field.unescaped_key().get(key); error) return error;
      if (key == "winlog") winlogbeat = true;
    }
    if (!AtEnd(document)) return simdjson::TRAILING_CONTENT;
    document.rewind();
    if (auto error = document.get_object().get(root); error) return error;
    for (auto member : root) {
      od::field field;
      if (auto error = std::move(member).get(field); error) return error;
      std::string_view key;
      if (auto error = field.unescaped_key().get(key); error) return error;
      od::value value = field.value();
      error_code error = simdjson::SUCCESS;
      if (key == "@timestamp") {
        error = TimeCandidate(value, kTimestamp);
      } else if (winlogbeat) {
        if (key == "winlog") {
          od::object winlog;
          error = value.get_object().get(winlog);
          if (!error) error = ReadWinlog(winlog);
        } else if (key == "message") {
          path_.assign(key);
          error = VisitFlat(value, 0);
        }
      } else {
        error = ReadFlatMember(key, value);
      }
      if (error) return error;
    }
    return simdjson::SUCCESS;
  }

  error_code TimeCandidate(od::value& value, TimeSource source) {
    std::string_view text;
    if (value.get_string().get(text) == simdjson::SUCCESS) time_candidates_[source] = text;
    return simdjson::SUCCESS;
  }

  error_code ReadFlatMember(std::string_view key, od::value& value) {
    if (key == "TimeCreated") return TimeCandidate(value, kTimeCreated);
    const auto system = FlatSystemField(key);
    if (!system) {
      if (key == "UtcTime" || key == "EventTime") {
        // Kept as data (UtcTime is Sysmon EventData) and remembered as a time.
        std::string_view text;
        if (value.get_string().get(text) == simdjson::SUCCESS) {
          time_candidates_[key == "UtcTime" ? kUtcTime : kEventTime] = text;
          builder_.AddData(key, text);
          return simdjson::SUCCESS;
        }
      }
      path_.assign(key);
      return VisitFlat(value, 0);
    }
    od::json_type type;
    if (auto error = value.type().get(type); error) return error;
    std::string_view text;
    bool present = false;
    if (type == od::json_type::object || type == od::json_type::array) {
      return Problem("expected a single value", std::string(key));
    }
    if (auto error = ScalarText(value, type, text, present); error) return error;
    if (!present) return simdjson::SUCCESS;
    if (*system == WindowsSystemField::kEventId) event_id_seen_ = true;
    if (*system == WindowsSystemField::kKeywords && type == od::json_type::number) {
      if (auto hex = KeywordsFromInteger(text)) {
        builder_.SetSystem(*system, *hex);
        return simdjson::SUCCESS;
      }
    }
    builder_.SetSystem(*system, text);
    return simdjson::SUCCESS;
  }

  error_code ReadWinlog(od::object& winlog) {
    for (auto member : winlog) {
      od::field field;
      if (auto error = std::move(member).get(field); error) return error;
      std::string_view key;
      if (auto error = field.unescaped_key().get(key); error) return error;
      od::value value = field.value();
      error_code error = simdjson::SUCCESS;
      if (key == "event_data" || key == "user_data") {
        error = ReadWinlogData(value);
      } else if (key == "process") {
        error = ReadWinlogProcess(value);
      } else if (key == "user") {
        error = ReadWinlogUser(value);
      } else if (auto system = WinlogSystemField(key)) {
        error = SetSystemFromScalar(*system, key, value);
      } else {
        path_.assign("winlog.");
        path_.append(key);
        error = VisitFlat(value, 0);
      }
      if (error) return error;
    }
    return simdjson::SUCCESS;
  }

  // winlog.event_data / winlog.user_data: an object of EventData names.
  error_code ReadWinlogData(od::value& value) {
    od::object data;
    if (auto error = value.get_object().get(data); error) return error;
    for (auto member : data) {
      od::field field;
      if (auto error = std::move(member).get(field); error) return error;
      std::string_view name;
      if (auto error = field.unescaped_key().get(name); error) return error;
      od::value data_value = field.value();
      if (auto error = VisitLeaves(name, data_value, 0); error) return error;
    }
    return simdjson::SUCCESS;
  }

  error_code SetSystemFromScalar(WindowsSystemField system, std::string_view key,
                                 od::value& value) {
    od::json_type type;
    if (auto error = value.type().get(type); error) return error;
    if (type == od::json_type::object || type == od::json_type::array) {
      return Problem("expected a single value", std::string(key));
    }
    std::string_view text;
    bool present = false;
    if (auto error = ScalarText(value, type, text, present); error) return error;
    if (!present) return simdjson::SUCCESS;
    if (system == WindowsSystemField::kEventId) event_id_seen_ = true;
    builder_.SetSystem(system, text);
    return simdjson::SUCCESS;
  }

  // winlog.process: {"pid": .., "thread": {"id": ..}}
  error_code ReadWinlogProcess(od::value& value) {
    od::object process;
    if (auto error = value.get_object().get(process); error) return error;
    for (auto member : process) {
      od::field field;
      if (auto error = std::move(member).get(field); error) return error;
      std::string_view key;
      if (auto error = field.unescaped_key().get(key); error) return error;
      od::value child = field.value();
      if (key == "pid") {
        if (auto error = SetSystemFromScalar(WindowsSystemField::kProcessId, "winlog.process.pid",
                                             child);
            error) {
          return error;
        }
      } else if (key == "thread") {
        od::object thread;
        if (auto error = child.get_object().get(thread); error) return error;
        for (auto thread_member : thread) {
          od::field thread_field;
          if (auto error = std::move(thread_member).get(thread_field); error) return error;
          std::string_view thread_key;
          if (auto error = thread_field.unescaped_key().get(thread_key); error) return error;
          if (thread_key != "id") continue;
          od::value id = thread_field.value();
          if (auto error = SetSystemFromScalar(WindowsSystemField::kThreadId,
                                               "winlog.process.thread.id", id);
              error) {
            return error;
          }
        }
      }
    }
    return simdjson::SUCCESS;
  }

  // winlog.user: "identifier" is the <Security UserID>; the resolved name, domain and
  // type are kept as winlog.user.*.
  error_code ReadWinlogUser(od::value& value) {
    od::object user;
    if (auto error = value.get_object().get(user); error) return error;
    for (auto member : user) {
      od::field field;
      if (auto error = std::move(member).get(field); error) return error;
      std::string_view key;
      if (auto error = field.unescaped_key().get(key); error) return error;
      od::value child = field.value();
      error_code error;
      if (key == "identifier") {
        error = SetSystemFromScalar(WindowsSystemField::kUserId, "winlog.user.identifier", child);
      } else {
        path_.assign("winlog.user.");
        path_.append(key);
        error = VisitFlat(child, 0);
      }
      if (error) return error;
    }
    return simdjson::SUCCESS;
  }

  // EventData/UserData values in winlogbeat: scalars by name, nested elements by leaf.
  error_code VisitLeaves(std::string_view name, od::value& value, int depth) {
    if (depth > kWindowsMaxDepth) return Problem("event data nested too deeply", std::string(name));
    od::json_type type;
    if (auto error = value.type().get(type); error) return error;
    if (type == od::json_type::array) {
      od::array array;
      if (auto error = value.get_array().get(array); error) return error;
      for (auto element_result : array) {
        od::value element;
        if (auto error = element_result.get(element); error) return error;
        if (auto error = VisitLeaves(name, element, depth + 1); error) return error;
      }
      return simdjson::SUCCESS;
    }
    if (type == od::json_type::object) {
      od::object object;
      if (auto error = value.get_object().get(object); error) return error;
      for (auto member : object) {
        od::field field;
        if (auto error = std::move(member).get(field); error) return error;
        std::string_view key;
        if (auto error = field.unescaped_key().get(key); error) return error;
        od::value child = field.value();
        if (key == "xmlns" || key == "#attributes") continue;
        if (auto error = VisitLeaves(key == "#text" ? name : key, child, depth + 1); error) {
          return error;
        }
      }
      return simdjson::SUCCESS;
    }
    std::string_view text;
    bool present = false;
    if (auto error = ScalarText(value, type, text, present); error) return error;
    if (present) builder_.AddData(name, text);
    return simdjson::SUCCESS;
  }

  // Other members: scalars under their name, arrays repeat it, objects flatten to
  // dotted names ("winlog.keywords", "host.name").
  error_code VisitFlat(od::value& value, int depth) {
    if (depth > kWindowsMaxDepth) return Problem("object nested too deeply", path_);
    od::json_type type;
    if (auto error = value.type().get(type); error) return error;
    if (type == od::json_type::array) {
      od::array array;
      if (auto error = value.get_array().get(array); error) return error;
      for (auto element_result : array) {
        od::value element;
        if (auto error = element_result.get(element); error) return error;
        if (auto error = VisitFlat(element, depth + 1); error) return error;
      }
      return simdjson::SUCCESS;
    }
    if (type == od::json_type::object) {
      od::object object;
      if (auto error = value.get_object().get(object); error) return error;
      const size_t base = path_.size();
      for (auto member : object) {
        od::field field;
        if (auto error = std::move(member).get(field); error) return error;
        std::string_view key;
        if (auto error = field.unescaped_key().get(key); error) return error;
        path_.resize(base);
        path_.push_back('.');
        path_.append(key);
        od::value child = field.value();
        if (auto error = VisitFlat(child, depth + 1); error) return error;
      }
      path_.resize(base);
      return simdjson::SUCCESS;
    }
    std::string_view text;
    bool present = false;
    if (auto error = ScalarText(value, type, text, present); error) return error;
    if (present) builder_.AddData(path_, text);
    return simdjson::SUCCESS;
  }

  error_code Problem(std::string reason, std::string field) {
    problem_.reason = std::move(reason);
    problem_.field = std::move(field);
    return simdjson::INCORRECT_TYPE;  // the reason in problem_ is reported instead
  }

  JsonRecordReader reader_;
  WindowsEventBuilder builder_;
  RecordProblem problem_;
  bool event_id_seen_ = false;
  std::string_view time_candidates_[kTimeSourceCount];
  std::string path_;  // dotted name of the member being flattened
};

}  // namespace

std::unique_ptr<RecordParser> MakeWindowsJsonParser() {
  return std::make_unique<WindowsJsonParser>();
}

std::unique_ptr<RecordParser> MakeWindowsFlatParser() {
  return std::make_unique<WindowsFlatParser>();
}

}  // namespace aegis::ingest
