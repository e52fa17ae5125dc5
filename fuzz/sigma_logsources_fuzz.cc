// libFuzzer target: the Sigma logsource mapping (an operator-edited YAML file that
// routes rules to events, config/sigma-logsources.yml) and, when it parses, rule
// loading and matching with it, so that odd routing tests and field aliases reach
// the matcher too.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "core/event.h"
#include "detect/sigma.h"
#include "detect/sigma_internal.h"

namespace {

namespace sigma = aegis::detect::sigma;

constexpr char kRules[] = R"(title: Routed rule
id: 00000000-0000-4000-8000-000000000001
logsource: {product: windows, category: process_creation}
detection:
  selection:
    Image|endswith: '\cmd.exe'
  condition: selection
---
title: Zeek rule
id: 00000000-0000-4000-8000-000000000002
logsource: {product: zeek, service: dns}
detection:
  selection:
    query|contains: evil
  condition: selection
)";

const aegis::Event& CraftedEvent() {
  static const aegis::Event event = [] {
    aegis::Event ev;
    ev.format = aegis::EventFormat::kWindowsFlat;
    ev.source = "/logs/dns.json";
    ev.Add(aegis::KeyFor("winlog.channel", "Channel"), aegis::ValueType::kString,
           "Microsoft-Windows-Sysmon/Operational");
    ev.Add(aegis::KeyFor("event.code", "EventID"), aegis::ValueType::kInt, "1");
    ev.Add(aegis::KeyFor("process.executable", "Image"), aegis::ValueType::kString,
           "C:\\Windows\\System32\\cmd.exe");
    ev.Add(aegis::KeyFor("dns.question.name", "query"), aegis::ValueType::kString,
           "www.evil.example");
    return ev;
  }();
  return event;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto mapping = sigma::internal::ParseLogsourceMapping(text, "fuzz.yml");
  if (!mapping) {
    if (mapping.error().reason.empty()) __builtin_trap();  // every error says why
    return 0;
  }
  // The loader reads the mapping from a file: write this input to a private one.
  static const std::string path = [] {
    const auto p = std::filesystem::temp_directory_path() /
                   ("aegis-fuzz-logsources-" + std::to_string(::getpid()) + ".yml");
    return p.string();
  }();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  sigma::LoadOptions options;
  options.logsource_mapping_path = path;
  auto loaded = sigma::LoadRulesFromText(kRules, "rules.yml", options);
  if (!loaded) return 0;
  sigma::Matcher matcher(loaded->rules);
  std::vector<sigma::RuleMatch> out;
  matcher.Match(CraftedEvent(), out);
  matcher.Match(CraftedEvent(), out);         // the route is cached the second time
  if (out.size() % 2 != 0) __builtin_trap();  // both passes must agree
  return 0;
}
