// libFuzzer target: the RFC 5424 syslog parser (structured data, and CEF carried in
// MSG) and the per-message format detection used by the syslog listener.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "core/event.h"
#include "ingest/parsers.h"
#include "ingest/syslog_internal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<aegis::ingest::RecordParser> parser =
      aegis::ingest::MakeSyslog5424Parser();
  static aegis::Event event;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)aegis::ingest::DetectSyslogFormat(input);
  event.Clear();
  auto result = parser->Parse(input, event);
  if (result) {
    size_t total = 0;
    for (const aegis::Field& field : event.fields()) total += field.key.name.size() + field.value.size();
    if (total == SIZE_MAX) __builtin_trap();  // keeps the loop from being optimised away
  } else if (result.error().reason.empty()) {
    __builtin_trap();  // every error must say why
  }
  return 0;
}
