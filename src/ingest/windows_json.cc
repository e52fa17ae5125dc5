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
#include <utility>
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

  // Keeps the reason and returns the code that carries it up (the reason is reported
  // instead of the code).
  error_code Report(std::string why, std::string field_name) {
    reason = std::move(why);
    field = std::move(field_name);
    return simdjson::INCORRECT_TYPE;
  }
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

// Calls on_member(key, value) for each member of `object`, keys unescaped; stops at the
// first error.
template <typename OnMember>
error_code ForEachMember(od::object& object, OnMember&& on_member) {
  for (auto member : object) {
    od::field field;
    if (auto error = std::move(member).get(field); error) return error;
    std::string_view key;
    if (auto error = field.unescaped_key().get(key); error) return error;
    od::value value = field.value();
    if (auto error = on_member(key, value); error) return error;
  }
  return simdjson::SUCCESS;
}

// ForEachMember of an object value.
template <typename OnMember>
error_code ForEachMember(od::value& value, OnMember&& on_member) {
  od::object object;
  if (auto error = value.get_object().get(object); error) return error;
  return ForEachMember(object, std::forward<OnMember>(on_member));
}

// Calls on_element(element) for each element of the array `value`; stops at the first
// error.
template <typename OnElement>
error_code ForEachElement(od::value& value, OnElement&& on_element) {
  od::array array;
  if (auto error = value.get_array().get(array); error) return error;
  for (auto element_result : array) {
    od::value element;
    if (auto error = element_result.get(element); error) return error;
    if (auto error = on_element(element); error) return error;
  }
  return simdjson::SUCCESS;
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
    auto error = ForEachMember(root, [&](std::string_view key, od::value& value) {
      if (key != "Event") return simdjson::SUCCESS;
      if (event_seen) return problem_.Report("two \"Event\" members", "Event");
      event_seen = true;
      od::object event;
      if (auto error = value.get_object().get(event); error) return error;
      return ReadEvent(event, out);
    });
    if (error) return error;
    if (!AtEnd(document)) return simdjson::TRAILING_CONTENT;
    if (!event_seen) return problem_.Report("no \"Event\" object", "Event");
    return simdjson::SUCCESS;
  }

  error_code ReadEvent(od::object& event, Event& out) {
    bool system_seen = false;
    auto error = ForEachMember(event, [&](std::string_view key, od::value& value) {
      if (key == "System") {
        system_seen = true;
        od::object system;
        if (auto error = value.get_object().get(system); error) return error;
        return ReadSystem(system, out);
      }
      if (key == "EventData" || key == "UserData") return Visit(key, value, 0);
      return simdjson::SUCCESS;
    });
    if (error) return error;
    if (!system_seen) return problem_.Report("no \"System\" object", "System");
    return simdjson::SUCCESS;
  }

  // Calls on_attribute(name, text) for each non-null member of value["#attributes"].
  template <typename OnAttribute>
  error_code ForEachAttribute(od::value& value, OnAttribute on_attribute) {
    od::json_type type;
    if (auto error = value.type().get(type); error) return error;
    if (type == od::json_type::null) return simdjson::SUCCESS;
    return ForEachMember(value, [&](std::string_view key, od::value& attributes) {
      if (key != "#attributes") return simdjson::SUCCESS;
      return ForEachMember(attributes, [&](std::string_view name, od::value& attribute_value) {
        od::json_type attribute_type;
        if (auto error = attribute_value.type().get(attribute_type); error) return error;
        std::string_view text;
        bool present = false;
        if (auto error = ScalarText(attribute_value, attribute_type, text, present); error) {
          return error;
        }
        if (!present) return simdjson::SUCCESS;
        return on_attribute(name, text);
      });
    });
  }

  // A System element's text: a scalar, or the "#text" of {"#text":..,"#attributes":..}.
  error_code ElementText(od::value& value, std::string_view& text, bool& present) {
    od::json_type type;
    if (auto error = value.type().get(type); error) return error;
    if (type != od::json_type::object) return ScalarText(value, type, text, present);
    present = false;
    return ForEachMember(value, [&](std::string_view key, od::value& text_value) {
      if (key != "#text") return simdjson::SUCCESS;
      od::json_type text_type;
      if (auto error = text_value.type().get(text_type); error) return error;
      return ScalarText(text_value, text_type, text, present);
    });
  }

  error_code ReadSystem(od::object& system, Event& out) {
    return ForEachMember(system, [&](std::string_view key, od::value& value) {
      if (key == "Provider") {
        return ForEachAttribute(value, [&](std::string_view name, std::string_view text) {
          if (name == "Name") builder_.SetSystem(WindowsSystemField::kProviderName, text);
          if (name == "Guid") builder_.SetSystem(WindowsSystemField::kProviderGuid, text);
          if (name == "EventSourceName") {
            builder_.SetSystem(WindowsSystemField::kEventSourceName, text);
          }
          return simdjson::SUCCESS;
        });
      }
      if (key == "TimeCreated") {
        return ForEachAttribute(value, [&](std::string_view name, std::string_view text) {
          if (name != "SystemTime" || text.empty()) return simdjson::SUCCESS;
          auto time = ParseWindowsTime(text);
          if (!time) {
            return problem_.Report("bad SystemTime '" + std::string(text) + "'", "SystemTime");
          }
          out.timestamp_ns = *time;
          return simdjson::SUCCESS;
        });
      }
      if (key == "Correlation") {
        return ForEachAttribute(value, [&](std::string_view name, std::string_view text) {
          if (name == "ActivityID") builder_.SetSystem(WindowsSystemField::kActivityId, text);
          if (name == "RelatedActivityID") {
            builder_.SetSystem(WindowsSystemField::kRelatedActivityId, text);
          }
          return simdjson::SUCCESS;
        });
      }
      if (key == "Execution") {
        return ForEachAttribute(value, [&](std::string_view name, std::string_view text) {
          if (name == "ProcessID") builder_.SetSystem(WindowsSystemField::kProcessId, text);
          if (name == "ThreadID") builder_.SetSystem(WindowsSystemField::kThreadId, text);
          return simdjson::SUCCESS;
        });
      }
      if (key == "Security") {
        return ForEachAttribute(value, [&](std::string_view name, std::string_view text) {
          if (name == "UserID") builder_.SetSystem(WindowsSystemField::kUserId, text);
          return simdjson::SUCCESS;
        });
      }
      if (auto slot = SystemFieldOfTextElement(key)) {
        std::string_view text;
        bool present = false;
        error_code error = ElementText(value, text, present);
        if (!error && present) builder_.SetSystem(*slot, text);
        return error;
      }
      return simdjson::SUCCESS;
    });
  }

  // The JSON image of the XML leaf rule (see windows_xml.cc): a scalar under key K is
  // the value of K; {"#text": v} belongs to its element's name ("Data" elements take
  // their Name attribute); arrays repeat their key; other members are child elements.
  error_code Visit(std::string_view name, od::value& value, int depth) {
    if (depth > kWindowsMaxDepth) {
      return problem_.Report("EventData nested too deeply", std::string(name));
    }
    od::json_type type;
    if (auto error = value.type().get(type); error) return error;
    if (type == od::json_type::array) {
      return ForEachElement(value,
                            [&](od::value& element) { return Visit(name, element, depth + 1); });
    }
    if (type != od::json_type::object) {
      std::string_view text;
      bool present = false;
      if (auto error = ScalarText(value, type, text, present); error) return error;
      if (present) builder_.AddData(name, text);
      return simdjson::SUCCESS;
    }
    std::string_view text_name = name;
    return ForEachMember(value, [&](std::string_view key, od::value& child) {
      if (key == "#attributes") {
        if (name != "Data") return simdjson::SUCCESS;
        return ForEachMember(child, [&](std::string_view attribute_name, od::value& attribute) {
          if (attribute_name != "Name") return simdjson::SUCCESS;
          std::string_view data_name;
          if (attribute.get_string().get(data_name) == simdjson::SUCCESS && !data_name.empty()) {
            text_name = data_name;
          }
          return simdjson::SUCCESS;
        });
      }
      return Visit(key == "#text" ? text_name : key, child, depth + 1);
    });
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
    auto error = ForEachMember(root, [&](std::string_view key, od::value&) {
      if (key == "winlog") winlogbeat = true;
      return simdjson::SUCCESS;
    });
    if (error) return error;
    if (!AtEnd(document)) return simdjson::TRAILING_CONTENT;
    document.rewind();
    if (auto error = document.get_object().get(root); error) return error;
    return ForEachMember(root, [&](std::string_view key, od::value& value) {
      if (key == "@timestamp") return TimeCandidate(value, kTimestamp);
      if (!winlogbeat) return ReadFlatMember(key, value);
      if (key == "winlog") {
        od::object winlog;
        if (auto error = value.get_object().get(winlog); error) return error;
        return ReadWinlog(winlog);
      }
      if (key == "message") {
        path_.assign(key);
        return VisitFlat(value, 0);
      }
      return simdjson::SUCCESS;
    });
  }

  error_code TimeCandidate(od::value& value, TimeSource source) {
    std::string_view text;
    if (value.get_string().get(text) == simdjson::SUCCESS) time_candidates_[source] = text;
    return simdjson::SUCCESS;
  }

  // The text of a member that must hold a single value; `present` is false for null.
  error_code SingleValueText(std::string_view key, od::value& value, od::json_type& type,
                             std::string_view& text, bool& present) {
    if (auto error = value.type().get(type); error) return error;
    if (type == od::json_type::object || type == od::json_type::array) {
      return problem_.Report("expected a single value", std::string(key));
    }
    return ScalarText(value, type, text, present);
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
    std::string_view text;
    bool present = false;
    if (auto error = SingleValueText(key, value, type, text, present); error) return error;
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
    return ForEachMember(winlog, [&](std::string_view key, od::value& value) {
      if (key == "event_data" || key == "user_data") return ReadWinlogData(value);
      if (key == "process") return ReadWinlogProcess(value);
      if (key == "user") return ReadWinlogUser(value);
      if (auto system = WinlogSystemField(key)) return SetSystemFromScalar(*system, key, value);
      path_.assign("winlog.");
      path_.append(key);
      return VisitFlat(value, 0);
    });
  }

  // winlog.event_data / winlog.user_data: an object of EventData names.
  error_code ReadWinlogData(od::value& value) {
    return ForEachMember(value, [&](std::string_view name, od::value& data_value) {
      return VisitLeaves(name, data_value, 0);
    });
  }

  error_code SetSystemFromScalar(WindowsSystemField system, std::string_view key,
                                 od::value& value) {
    od::json_type type;
    std::string_view text;
    bool present = false;
    if (auto error = SingleValueText(key, value, type, text, present); error) return error;
    if (!present) return simdjson::SUCCESS;
    if (system == WindowsSystemField::kEventId) event_id_seen_ = true;
    builder_.SetSystem(system, text);
    return simdjson::SUCCESS;
  }

  // winlog.process: {"pid": .., "thread": {"id": ..}}
  error_code ReadWinlogProcess(od::value& value) {
    return ForEachMember(value, [&](std::string_view key, od::value& child) {
      if (key == "pid") {
        return SetSystemFromScalar(WindowsSystemField::kProcessId, "winlog.process.pid", child);
      }
      if (key != "thread") return simdjson::SUCCESS;
      return ForEachMember(child, [&](std::string_view thread_key, od::value& id) {
        if (thread_key != "id") return simdjson::SUCCESS;
        return SetSystemFromScalar(WindowsSystemField::kThreadId, "winlog.process.thread.id", id);
      });
    });
  }

  // winlog.user: "identifier" is the <Security UserID>; the resolved name, domain and
  // type are kept as winlog.user.*.
  error_code ReadWinlogUser(od::value& value) {
    return ForEachMember(value, [&](std::string_view key, od::value& child) {
      if (key == "identifier") {
        return SetSystemFromScalar(WindowsSystemField::kUserId, "winlog.user.identifier", child);
      }
      path_.assign("winlog.user.");
      path_.append(key);
      return VisitFlat(child, 0);
    });
  }

  // EventData/UserData values in winlogbeat: scalars by name, nested elements by leaf.
  error_code VisitLeaves(std::string_view name, od::value& value, int depth) {
    if (depth > kWindowsMaxDepth) {
      return problem_.Report("event data nested too deeply", std::string(name));
    }
    od::json_type type;
    if (auto error = value.type().get(type); error) return error;
    if (type == od::json_type::array) {
      return ForEachElement(
          value, [&](od::value& element) { return VisitLeaves(name, element, depth + 1); });
    }
    if (type == od::json_type::object) {
      return ForEachMember(value, [&](std::string_view key, od::value& child) {
        if (key == "xmlns" || key == "#attributes") return simdjson::SUCCESS;
        return VisitLeaves(key == "#text" ? name : key, child, depth + 1);
      });
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
    if (depth > kWindowsMaxDepth) return problem_.Report("object nested too deeply", path_);
    od::json_type type;
    if (auto error = value.type().get(type); error) return error;
    if (type == od::json_type::array) {
      return ForEachElement(value, [&](od::value& element) { return VisitFlat(element, depth + 1); });
    }
    if (type == od::json_type::object) {
      const size_t base = path_.size();
      auto error = ForEachMember(value, [&](std::string_view key, od::value& child) {
        path_.resize(base);
        path_.push_back('.');
        path_.append(key);
        return VisitFlat(child, depth + 1);
      });
      if (error) return error;
      path_.resize(base);
      return simdjson::SUCCESS;
    }
    std::string_view text;
    bool present = false;
    if (auto error = ScalarText(value, type, text, present); error) return error;
    if (present) builder_.AddData(path_, text);
    return simdjson::SUCCESS;
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
