// libFuzzer target: the CEF parser (header escapes, extension splitting and escapes,
// custom labels, times, hashes).
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/event.h"
#include "ingest/parsers.h"
#include "record_parser_fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<aegis::ingest::RecordParser> parser = aegis::ingest::MakeCefParser();
  static aegis::Event event;
  namespace fuzzing = aegis::ingest::fuzzing;
  if (fuzzing::ParseChecked(*parser, fuzzing::AsText(data, size), event)) {
    fuzzing::ReadEveryField(event);
  }
  return 0;
}
