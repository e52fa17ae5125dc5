// libFuzzer target: one Zeek JSON record -> the Zeek JSON parser. Seeds: fuzz/corpus/zeek_json/
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/event.h"
#include "ingest/ingest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // One parser and event for the whole run, as a reader uses them: state carried from
  // one record to the next (field caches) is fuzzed too.
  static auto parser = aegis::ingest::MakeParser(aegis::EventFormat::kZeekJson);
  static aegis::Event event;
  event.Clear();
  auto outcome = parser->Parse(std::string_view(reinterpret_cast<const char*>(data), size), event);
  if (outcome && *outcome == aegis::ingest::ParseOutcome::kEvent) {
    for (const aegis::Field& field : event.fields()) {
      if (field.key.name.empty()) __builtin_trap();  // every field has a name
    }
  }
  return 0;
}
