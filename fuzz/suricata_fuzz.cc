// libFuzzer target: one EVE JSON record -> the Suricata parser. Seeds: fuzz/corpus/suricata/
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/event.h"
#include "ingest/ingest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Reused across inputs like a reader does, so the parser's name caches are fuzzed too.
  static auto parser = aegis::ingest::MakeParser(aegis::EventFormat::kSuricataEve);
  static aegis::Event event;
  event.Clear();
  auto outcome = parser->Parse(std::string_view(reinterpret_cast<const char*>(data), size), event);
  if (outcome && *outcome == aegis::ingest::ParseOutcome::kEvent) {
    for (const aegis::Field& field : event.fields()) {
      if (field.key.name.empty()) __builtin_trap();
    }
  }
  return 0;
}
