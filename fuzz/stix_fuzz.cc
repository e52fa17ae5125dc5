// libFuzzer target: the STIX loader (JSON collection with simdjson, marking
// resolution, metadata) and the STIX pattern parser on its own.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "intel/loaders.h"
#include "intel_fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // The pattern parser sees the raw bytes too: patterns are where the grammar is.
  auto comparisons = aegis::intel::internal::ParseStixPattern(input);
  if (comparisons) {
    for (const auto& comparison : *comparisons) {
      if (comparison.path.empty()) __builtin_trap();
    }
  } else if (comparisons.error().empty()) {
    __builtin_trap();
  }
  aegis::intel::LoadOptions options;
  aegis::intel::LoadReport report;
  aegis::intel::fuzzing::CheckingSink sink;
  {
    aegis::intel::internal::LoadContext context(options, sink, report);
    aegis::intel::internal::LoadStixText(input, "fuzz.json", context);
  }
  aegis::intel::fuzzing::CheckReport(report);
  return 0;
}
