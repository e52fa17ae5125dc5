// libFuzzer target: the RFC 3164 (BSD) syslog parser, with a fixed clock so that the
// year inference is deterministic, including CEF carried after the header.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/event.h"
#include "ingest/parsers.h"
#include "ingest/syslog_internal.h"
#include "record_parser_fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<aegis::ingest::RecordParser> parser =
      aegis::ingest::MakeSyslog3164ParserWithClock(
          [] { return int64_t{1'717'243'200} * 1'000'000'000; });  // 2024-06-01T12:00:00Z
  static aegis::Event event;
  namespace fuzzing = aegis::ingest::fuzzing;
  if (fuzzing::ParseChecked(*parser, fuzzing::AsText(data, size), event)) {
    fuzzing::ReadEveryField(event);
  }
  return 0;
}
