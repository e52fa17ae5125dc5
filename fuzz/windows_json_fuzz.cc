// libFuzzer target: the windows-json RecordParser, the evtx_dump JSON form
// ({"Event":{"System":..,"EventData":..}}).
// Invariants: no crash, errors carry a reason, events carry no empty names or values.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/event.h"
#include "ingest/parsers.h"
#include "record_parser_fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<aegis::ingest::RecordParser> parser =
      aegis::ingest::MakeWindowsJsonParser();
  static aegis::Event event;
  namespace fuzzing = aegis::ingest::fuzzing;
  if (fuzzing::ParseChecked(*parser, fuzzing::AsText(data, size), event)) {
    fuzzing::CheckNoEmptyFields(event);
  }
  return 0;
}
