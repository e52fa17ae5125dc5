// libFuzzer target: one MISP event file (Event, Tag, Attribute, Object, composite
// "a|b" values, to_ids in its bool / string / number spellings).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "intel/loaders.h"
#include "intel_fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  aegis::intel::LoadOptions options;
  options.misp_only_to_ids = size % 2 == 0;  // explore both attribute policies
  aegis::intel::LoadReport report;
  aegis::intel::fuzzing::CheckingSink sink;
  {
    aegis::intel::internal::LoadContext context(options, sink, report);
    aegis::intel::internal::LoadMispEventText(input, "fuzz.json", "manifest info", context);
  }
  aegis::intel::fuzzing::CheckReport(report);
  return 0;
}
