// Internal to src/ingest: the normalisation shared by every Windows event form
// (evtx_dump JSON, winlogbeat/nxlog flat JSON, EVTX XML). Each parser walks its own
// syntax and feeds the same WindowsEventBuilder, which decides names, types, value
// canonicalisation and field order, so that one record gives an identical Event
// whatever form it arrived in. The mapping is documented in docs/schema/windows.md.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/error.h"
#include "core/event.h"

namespace aegis::ingest {

// The <System> values a Windows event can carry, in the order they are emitted.
enum class WindowsSystemField : unsigned char {
  kEventId,            // EventID
  kProviderName,       // Provider_Name
  kProviderGuid,       // Provider_Guid
  kEventSourceName,    // Provider_EventSourceName
  kChannel,            // Channel
  kComputer,           // Computer
  kEventRecordId,      // EventRecordID
  kVersion,            // Version
  kLevel,              // Level
  kTask,               // Task
  kOpcode,             // Opcode
  kKeywords,           // Keywords
  kActivityId,         // Correlation_ActivityID
  kRelatedActivityId,  // Correlation_RelatedActivityID
  kProcessId,          // Execution_ProcessID
  kThreadId,           // Execution_ThreadID
  kUserId,             // Security_UserID
  kCount,
};

// Nesting limit for EventData/UserData trees and flattened JSON objects.
inline constexpr int kWindowsMaxDepth = 16;

// Builds one Event from the parts of a Windows record. Not thread-safe: one per
// parser. Field keys are created once per distinct name and cached here.
class WindowsEventBuilder {
 public:
  WindowsEventBuilder();

  // Starts a record that will be written into `out` (already Clear()ed by the caller).
  void Begin(Event& out, EventFormat format);
  // Sets a <System> value; empty values are ignored, a later value replaces an earlier.
  void SetSystem(WindowsSystemField field, std::string_view value);
  // A name/value from EventData or UserData (or a flat record's non-system member).
  // Empty values are dropped; the name decides the schema name and type.
  void AddData(std::string_view name, std::string_view value);
  // Completes the event: <System> fields first (fixed order), then the data fields in
  // the order they were added.
  void Finish();

 private:
  enum class Rule : unsigned char { kText, kInt, kIp, kHashes };
  struct NameInfo {
    FieldKey key;        // the mapped key
    FieldKey plain_key;  // original name only (kIp values that are not addresses)
    Rule rule = Rule::kText;
    std::array<FieldKey, 4> hash_keys{};  // kHashes: md5, sha1, sha256, imphash
  };
  const NameInfo& InfoFor(std::string_view name);
  void AddHashes(const NameInfo& info, std::string_view value);

  Event* out_ = nullptr;
  size_t first_field_ = 0;
  std::array<std::string, static_cast<size_t>(WindowsSystemField::kCount)> system_values_;
  std::array<FieldKey, static_cast<size_t>(WindowsSystemField::kCount)> system_keys_;
  uint32_t system_present_ = 0;  // bit per WindowsSystemField
  std::string scratch_;          // canonicalised value
  std::string hash_scratch_;

  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, NameInfo, StringHash, std::equal_to<>> names_;
  NameInfo uncached_;  // used once the cache is full (hostile input with endless names)
};

// The <System> value carried as the text of a child element of <System> named
// `element` (<EventID>4624</EventID>, ...); nothing for elements with attributes.
std::optional<WindowsSystemField> SystemFieldOfTextElement(std::string_view element);

// Parses a Windows event time (SystemTime, @timestamp, ...) with ParseTime and
// truncates it to whole microseconds: EVTX keeps 100 ns ticks, evtx_dump and most
// exporters write microseconds, and all forms of a record must agree.
std::optional<int64_t> ParseWindowsTime(std::string_view text);

// Flat exporters (nxlog) write Keywords as a signed 64-bit decimal integer
// (-9223372036854775808); EVTX writes "0x8000000000000000". Returns the EVTX form, or
// nothing when `decimal` is not a 64-bit integer.
std::optional<std::string> KeywordsFromInteger(std::string_view decimal);

}  // namespace aegis::ingest
