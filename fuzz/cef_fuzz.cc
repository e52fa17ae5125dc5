// libFuzzer target: the CEF parser (header escapes, extension splitting and escapes,
// custom labels, times, hashes).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "core/event.h"
#include "ingest/parsers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<aegis::ingest::RecordParser> parser = aegis::ingest::MakeCefParser();
  static aegis::Event event;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  event.Clear();
  auto result = parser->Parse(input, event);
  if (result) {
    size_t total = 0;
    for (const aegis::Field& field : event.fields()) total += field.key.name.size() + field.value.size();
    if (total == SIZE_MAX) __builtin_trap();
  } else if (result.error().reason.empty()) {
    __builtin_trap();
  }
  return 0;
}
