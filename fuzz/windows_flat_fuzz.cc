// libFuzzer target: the windows-flat RecordParser, the flat winlogbeat/nxlog JSON
// form.
// Invariants: no crash, errors carry a reason, events carry no empty names or values.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "core/event.h"
#include "ingest/parsers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<aegis::ingest::RecordParser> parser =
      aegis::ingest::MakeWindowsFlatParser();
  static aegis::Event event;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  event.Clear();
  auto result = parser->Parse(input, event);
  if (!result) {
    if (result.error().reason.empty()) __builtin_trap();
    return 0;
  }
  for (const aegis::Field& field : event.fields()) {
    if (field.key.name.empty() || field.key.original.empty() || field.value.empty()) {
      __builtin_trap();
    }
  }
  return 0;
}
