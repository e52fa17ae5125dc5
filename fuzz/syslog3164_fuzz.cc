// libFuzzer target: the RFC 3164 (BSD) syslog parser, with a fixed clock so that the
// year inference is deterministic, including CEF carried after the header.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "core/event.h"
#include "ingest/parsers.h"
#include "ingest/syslog_internal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<aegis::ingest::RecordParser> parser =
      aegis::ingest::MakeSyslog3164ParserWithClock(
          [] { return int64_t{1'717'243'200} * 1'000'000'000; });  // 2024-06-01T12:00:00Z
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
