// libFuzzer target: the Sigma rule loader (YAML documents → detection rules, filters,
// correlations, logsource groups, the Hyperscan prefilter) and, when rules load, the
// matcher on one fixed crafted event that exercises every value kind (wildcards,
// base64/UTF-16 blobs, dashes, IPs, numbers, a timestamp, fields to compare with
// fieldref, repeated and empty fields).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "detect/sigma.h"

namespace {

using aegis::Event;
using aegis::EventFormat;
using aegis::KeyFor;
using aegis::ValueType;
namespace sigma = aegis::detect::sigma;

const Event& CraftedEvent() {
  static const Event event = [] {
    Event ev;
    ev.format = EventFormat::kWindowsFlat;
    ev.source = "fuzz.json";
    auto add = [&ev](std::string_view schema, std::string_view original, ValueType type,
                     std::string_view value) { ev.Add(KeyFor(schema, original), type, value); };
    add("winlog.channel", "Channel", ValueType::kString, "Microsoft-Windows-Sysmon/Operational");
    add("event.code", "EventID", ValueType::kInt, "1");
    add("process.executable", "Image", ValueType::kString, "C:\\Windows\\System32\\cmd.exe");
    add("process.command_line", "CommandLine", ValueType::kString,
        "cmd.exe /c powershell -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBi"
        "AEMAbABpAGUAbgB0ACkA \xE2\x80\x93nop \xE2\x80\x94w hidden a?b*c \\\\server\\share");
    add("ParentImage", "ParentImage", ValueType::kString, "C:\\Windows\\explorer.exe");
    // Short values compared with each other by fieldref: the tested field comes
    // first, the referenced one after it.
    add("TargetUserName", "TargetUserName", ValueType::kString, "alice");
    add("SubjectUserName", "SubjectUserName", ValueType::kString, "ALICE");
    add("TargetFilename", "TargetFilename", ValueType::kString, "C:\\Windows\\System32\\cmd.exe");
    add("User", "User", ValueType::kString, "CORP\\adm_alice");
    add("destination.ip", "DestinationIp", ValueType::kIp, "10.1.2.3");
    add("source.ip", "SourceIp", ValueType::kIp, "2001:db8::1");
    add("destination.port", "DestinationPort", ValueType::kInt, "3389");
    add("UtcTime", "UtcTime", ValueType::kTime, "2024-03-15T13:45:30.250Z");
    add("Hashes", "Hashes", ValueType::kString, "SHA256=0123456789ABCDEF,IMPHASH=FFFF");
    add("Hashes", "Hashes", ValueType::kString, "MD5=00112233445566778899AABBCCDDEEFF");
    add("Description", "Description", ValueType::kString, "J\xC3\xB6rg's t\xC3\xB6\xC3\xB6l");
    add("Empty", "Empty", ValueType::kString, "");
    add("IntegrityLevel", "IntegrityLevel", ValueType::kString, "0x3000");
    return ev;
  }();
  return event;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  sigma::LoadOptions options;
  options.placeholders["Administrators"] = {"CORP\\adm_*", "alice"};
  options.placeholders["Servers"] = {"srv01"};
  auto loaded = sigma::LoadRulesFromText(input, "fuzz.yml", options);
  if (!loaded) {
    if (loaded.error().reason.empty()) __builtin_trap();
    return 0;
  }
  for (const auto& issue : loaded->issues) {
    if (issue.reason.empty() || issue.path != "fuzz.yml" || issue.line < 0) __builtin_trap();
  }
  if (!loaded->rules) __builtin_trap();
  const sigma::RuleSet& rules = *loaded->rules;
  const size_t count = sigma::RuleCount(rules);
  if (loaded->rules_loaded + loaded->correlations != count) __builtin_trap();
  for (size_t i = 0; i < count; ++i) {
    if (sigma::RuleAt(rules, i).title.empty()) __builtin_trap();
  }

  // Match twice with one matcher (the second time from the route cache): the results
  // must be the same, and refer to loaded rules and selections.
  sigma::Matcher matcher(loaded->rules);
  std::vector<sigma::RuleMatch> first, second;
  matcher.Match(CraftedEvent(), first);
  matcher.Match(CraftedEvent(), second);
  if (first.size() != second.size()) __builtin_trap();
  for (size_t i = 0; i < first.size(); ++i) {
    if (first[i].rule >= count || first[i].rule != second[i].rule) __builtin_trap();
    if (first[i].fields.size() != second[i].fields.size()) __builtin_trap();
    if (sigma::RuleAt(rules, first[i].rule).is_correlation) __builtin_trap();
    for (const auto& f : first[i].fields) {
      if (f.selection.empty()) __builtin_trap();
    }
  }
  if (matcher.stats().matches != first.size() + second.size()) __builtin_trap();
  return 0;
}
