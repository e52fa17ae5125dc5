// libFuzzer target: the windows-xml RecordParser, the <Event> XML reader (entities,
// CDATA, nesting limits).
// Invariants: no crash, errors carry a reason, events carry no empty names or values.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/event.h"
#include "ingest/parsers.h"
#include "record_parser_fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<aegis::ingest::RecordParser> parser =
      aegis::ingest::MakeWindowsXmlParser();
  static aegis::Event event;
  namespace fuzzing = aegis::ingest::fuzzing;
  if (fuzzing::ParseChecked(*parser, fuzzing::AsText(data, size), event)) {
    fuzzing::CheckNoEmptyFields(event);
  }
  return 0;
}
