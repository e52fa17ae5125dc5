// The shared normalisation of Windows events (see windows_event.h): name mapping to
// the schema, value types and canonical forms, and the order of fields.
#include "ingest/windows_event.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "core/observables.h"
#include "core/strings.h"

namespace aegis::ingest {
namespace {

struct SystemName {
  std::string_view original;
  std::string_view schema;
  bool integer;
};

// Indexed by WindowsSystemField.
constexpr SystemName kSystemNames[] = {
    {"EventID", "event.code", true},
    {"Provider_Name", "winlog.provider_name", false},
    {"Provider_Guid", "winlog.provider_guid", false},
    {"Provider_EventSourceName", "winlog.event_source_name", false},
    {"Channel", "winlog.channel", false},
    {"Computer", "host.name", false},
    {"EventRecordID", "winlog.record_id", true},
    {"Version", "winlog.version", true},
    {"Level", "winlog.level", true},
    {"Task", "winlog.task", true},
    {"Opcode", "winlog.opcode", true},
    {"Keywords", "winlog.keywords", false},
    {"Correlation_ActivityID", "winlog.activity_id", false},
    {"Correlation_RelatedActivityID", "winlog.related_activity_id", false},
    {"Execution_ProcessID", "winlog.process.pid", true},
    {"Execution_ThreadID", "winlog.process.thread.id", true},
    {"Security_UserID", "winlog.user.identifier", false},
};
static_assert(std::size(kSystemNames) == static_cast<size_t>(WindowsSystemField::kCount));

enum class DataRule : unsigned char { kText, kInt, kIp, kHashes };

struct DataName {
  std::string_view original;
  std::string_view schema;  // empty: keeps the original name
  DataRule rule;
};

// EventData / UserData names with a schema name (Sysmon and Security log names).
constexpr DataName kDataNames[] = {
    {"Image", "process.executable", DataRule::kText},
    {"NewProcessName", "process.executable", DataRule::kText},
    {"CommandLine", "process.command_line", DataRule::kText},
    {"ProcessId", "process.pid", DataRule::kInt},
    {"ProcessGuid", "process.entity_id", DataRule::kText},
    {"CurrentDirectory", "process.working_directory", DataRule::kText},
    {"OriginalFileName", "process.pe.original_file_name", DataRule::kText},
    {"ParentImage", "process.parent.executable", DataRule::kText},
    {"ParentProcessName", "process.parent.executable", DataRule::kText},
    {"ParentCommandLine", "process.parent.command_line", DataRule::kText},
    {"ParentProcessId", "process.parent.pid", DataRule::kInt},
    {"ParentProcessGuid", "process.parent.entity_id", DataRule::kText},
    {"User", "user.name", DataRule::kText},
    {"SubjectUserName", "user.name", DataRule::kText},
    {"SubjectUserSid", "user.id", DataRule::kText},
    {"SubjectDomainName", "user.domain", DataRule::kText},
    {"TargetUserName", "user.target.name", DataRule::kText},
    {"TargetUserSid", "user.target.id", DataRule::kText},
    {"TargetDomainName", "user.target.domain", DataRule::kText},
    {"IpAddress", "source.ip", DataRule::kIp},
    {"SourceIp", "source.ip", DataRule::kIp},
    {"SourceAddress", "source.ip", DataRule::kIp},
    {"DestinationIp", "destination.ip", DataRule::kIp},
    {"DestAddress", "destination.ip", DataRule::kIp},
    {"IpPort", "source.port", DataRule::kInt},
    {"SourcePort", "source.port", DataRule::kInt},
    {"DestinationPort", "destination.port", DataRule::kInt},
    {"DestPort", "destination.port", DataRule::kInt},
    {"SourceHostname", "source.domain", DataRule::kText},
    {"DestinationHostname", "destination.domain", DataRule::kText},
    {"Protocol", "network.transport", DataRule::kText},
    {"QueryName", "dns.question.name", DataRule::kText},
    {"TargetFilename", "file.path", DataRule::kText},
    {"ImageLoaded", "dll.path", DataRule::kText},
    {"TargetObject", "registry.path", DataRule::kText},
    {"ServiceName", "service.name", DataRule::kText},
    {"Hashes", "", DataRule::kHashes},
    {"Hash", "", DataRule::kHashes},
};

struct HashAlgorithm {
  std::string_view label;   // as in Sysmon's Hashes value
  std::string_view schema;  // the derived field
  size_t hex_length;
  bool bare;                // recognised by length alone in a bare digest
};
constexpr HashAlgorithm kHashAlgorithms[] = {
    {"MD5", "file.hash.md5", 32, true},
    {"SHA1", "file.hash.sha1", 40, true},
    {"SHA256", "file.hash.sha256", 64, true},
    {"IMPHASH", "file.pe.imphash", 32, false},
};
static_assert(std::size(kHashAlgorithms) == 4);  // WindowsEventBuilder::NameInfo::hash_keys

constexpr size_t kMaxCachedNames = 4096;

bool IsInteger(std::string_view s) {
  if (!s.empty() && s[0] == '-') s.remove_prefix(1);
  if (s.empty() || s.size() > 19) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// 8-4-4-4-12 hex digits without braces.
bool IsBareGuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position ? s[i] != '-' : !IsHex(s[i])) return false;
  }
  return true;
}

// "0x" and exactly 8 or 16 hex digits with leading zeros: libevtx's rendering of the
// HexInt32/HexInt64 types ("0x00000000000003e7"); Windows and evtx_dump write "0x3e7".
bool IsZeroPaddedHex(std::string_view s) {
  if (s.size() != 10 && s.size() != 18) return false;
  if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || s[2] != '0') return false;
  return std::all_of(s.begin() + 2, s.end(), IsHex);
}

// The canonical text of a value, the same whichever form the record came in:
//  - surrounding whitespace trimmed (evtx_dump trims; Sysmon leaves trailing spaces
//    in command lines);
//  - GUIDs in braces (evtx_dump drops them, Windows and libevtx write them);
//  - hex integers without zero padding (libevtx pads them, Windows does not).
std::string_view Canonical(std::string_view value, std::string& scratch) {
  value = Trim(value);
  if (IsBareGuid(value)) {
    scratch.resize(value.size() + 2);
    scratch.front() = '{';
    value.copy(scratch.data() + 1, value.size());
    scratch.back() = '}';
    return scratch;
  }
  if (IsZeroPaddedHex(value)) {
    size_t first = 2;
    while (first + 1 < value.size() && value[first] == '0') ++first;
    scratch.resize(2 + value.size() - first);
    scratch[0] = '0';
    scratch[1] = 'x';
    value.copy(scratch.data() + 2, value.size() - first, first);
    return scratch;
  }
  return value;
}

}  // namespace

std::optional<int64_t> ParseWindowsTime(std::string_view text) {
  // Int64 nanoseconds reach from 1677 to 2262; refuse other years before ParseTime
  // (whose arithmetic would overflow) sees them.
  text = Trim(text);
  if (text.size() < 4 || !std::all_of(text.begin(), text.begin() + 4,
                                      [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const int year = (text[0] - '0') * 1000 + (text[1] - '0') * 100 + (text[2] - '0') * 10 +
                   (text[3] - '0');
  if (year < 1678 || year > 2261) return std::nullopt;
  auto time = ParseTime(text);
  if (!time) return std::nullopt;
  constexpr int64_t kMicrosecond = 1000;
  int64_t remainder = *time % kMicrosecond;
  if (remainder < 0) remainder += kMicrosecond;
  return *time - remainder;
}

std::optional<WindowsSystemField> SystemFieldOfTextElement(std::string_view element) {
  if (element == "EventID") return WindowsSystemField::kEventId;
  if (element == "Version") return WindowsSystemField::kVersion;
  if (element == "Level") return WindowsSystemField::kLevel;
  if (element == "Task") return WindowsSystemField::kTask;
  if (element == "Opcode") return WindowsSystemField::kOpcode;
  if (element == "Keywords") return WindowsSystemField::kKeywords;
  if (element == "EventRecordID") return WindowsSystemField::kEventRecordId;
  if (element == "Channel") return WindowsSystemField::kChannel;
  if (element == "Computer") return WindowsSystemField::kComputer;
  return std::nullopt;
}

std::optional<std::string> KeywordsFromInteger(std::string_view decimal) {
  int64_t signed_value = 0;
  auto [end, ec] = std::from_chars(decimal.data(), decimal.data() + decimal.size(), signed_value);
  if (ec != std::errc() || end != decimal.data() + decimal.size()) {
    uint64_t unsigned_value = 0;
    auto [uend, uec] =
        std::from_chars(decimal.data(), decimal.data() + decimal.size(), unsigned_value);
    if (uec != std::errc() || uend != decimal.data() + decimal.size()) return std::nullopt;
    signed_value = static_cast<int64_t>(unsigned_value);
  }
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "0x%016llx",
                static_cast<unsigned long long>(static_cast<uint64_t>(signed_value)));
  return std::string(buffer);
}

WindowsEventBuilder::WindowsEventBuilder() {
  for (size_t i = 0; i < system_keys_.size(); ++i) {
    system_keys_[i] = KeyFor(kSystemNames[i].schema, kSystemNames[i].original);
  }
}

void WindowsEventBuilder::Begin(Event& out, EventFormat format) {
  out_ = &out;
  out.format = format;
  first_field_ = out.size();
  system_present_ = 0;
}

void WindowsEventBuilder::SetSystem(WindowsSystemField field, std::string_view raw_value) {
  const std::string_view value = Canonical(raw_value, scratch_);
  if (value.empty()) return;
  const size_t index = static_cast<size_t>(field);
  system_values_[index].assign(value);
  system_present_ |= 1u << index;
}

const WindowsEventBuilder::NameInfo& WindowsEventBuilder::InfoFor(std::string_view name) {
  if (auto it = names_.find(name); it != names_.end()) return it->second;
  NameInfo info;
  // Names with spaces (Defender's "Threat Name") get the schema name without them
  // ("ThreatName"), the form Sigma rules and most tools use.
  std::string compact;
  for (char c : name) {
    if (c != ' ') compact += c;
  }
  info.plain_key = KeyFor(compact.size() != name.size() ? std::string_view(compact) : name, name);
  info.key = info.plain_key;
  for (const DataName& entry : kDataNames) {
    if (entry.original != name) continue;
    if (!entry.schema.empty()) info.key = KeyFor(entry.schema, name);
    switch (entry.rule) {
      case DataRule::kText: info.rule = Rule::kText; break;
      case DataRule::kInt: info.rule = Rule::kInt; break;
      case DataRule::kIp: info.rule = Rule::kIp; break;
      case DataRule::kHashes:
        info.rule = Rule::kHashes;
        for (size_t i = 0; i < std::size(kHashAlgorithms); ++i) {
          info.hash_keys[i] = KeyFor(kHashAlgorithms[i].schema, name);
        }
        break;
    }
    break;
  }
  if (names_.size() >= kMaxCachedNames) {
    uncached_ = info;
    return uncached_;
  }
  return names_.emplace(std::string(name), info).first->second;
}

void WindowsEventBuilder::AddData(std::string_view name, std::string_view raw_value) {
  const std::string_view value = Canonical(raw_value, scratch_);
  if (value.empty() || name.empty()) return;
  const NameInfo& info = InfoFor(name);
  switch (info.rule) {
    case Rule::kText:
      out_->Add(info.key, ValueType::kString, value);
      break;
    case Rule::kInt:
      out_->Add(info.key, IsInteger(value) ? ValueType::kInt : ValueType::kString, value);
      break;
    case Rule::kIp:
      if (ParseIp(value)) {
        out_->Add(info.key, ValueType::kIp, value);
      } else {
        out_->Add(info.plain_key, ValueType::kString, value);
      }
      break;
    case Rule::kHashes:
      out_->Add(info.key, ValueType::kString, value);
      AddHashes(info, value);
      break;
  }
}

// Sysmon writes "SHA1=..,MD5=..,SHA256=..,IMPHASH=.."; some exporters a bare digest.
void WindowsEventBuilder::AddHashes(const NameInfo& info, std::string_view value) {
  auto emit = [&](size_t algorithm, std::string_view digest) {
    if (digest.size() != kHashAlgorithms[algorithm].hex_length ||
        !std::all_of(digest.begin(), digest.end(), IsHex)) {
      return;
    }
    hash_scratch_.assign(digest);
    AsciiLowerInPlace(hash_scratch_);
    out_->Add(info.hash_keys[algorithm], ValueType::kString, hash_scratch_);
  };
  if (value.find('=') == std::string_view::npos) {
    for (size_t i = 0; i < std::size(kHashAlgorithms); ++i) {
      if (kHashAlgorithms[i].bare && value.size() == kHashAlgorithms[i].hex_length) {
        emit(i, value);
        return;
      }
    }
    return;
  }
  for (std::string_view part : Split(value, ',')) {
    const size_t equals = part.find('=');
    if (equals == std::string_view::npos) continue;
    const std::string_view label = Trim(part.substr(0, equals));
    const std::string_view digest = Trim(part.substr(equals + 1));
    for (size_t i = 0; i < std::size(kHashAlgorithms); ++i) {
      if (IEquals(label, kHashAlgorithms[i].label)) emit(i, digest);
    }
  }
}

void WindowsEventBuilder::Finish() {
  const size_t data_end = out_->size();
  for (size_t i = 0; i < system_keys_.size(); ++i) {
    if ((system_present_ & (1u << i)) == 0) continue;
    const std::string& value = system_values_[i];
    const ValueType type =
        kSystemNames[i].integer && IsInteger(value) ? ValueType::kInt : ValueType::kString;
    out_->Add(system_keys_[i], type, value);
  }
  auto fields = out_->mutable_fields();
  std::rotate(fields.begin() + static_cast<ptrdiff_t>(first_field_),
              fields.begin() + static_cast<ptrdiff_t>(data_end), fields.end());
  out_ = nullptr;
}

}  // namespace aegis::ingest
