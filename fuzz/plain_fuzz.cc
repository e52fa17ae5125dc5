// libFuzzer target: plain lists (comments, inline comments, auto-detected values),
// hosts files, and format detection on the same bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "intel/loaders.h"
#include "intel_fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  aegis::intel::FeedFormat format = aegis::intel::internal::DetectFileFormat("fuzz.txt", input);
  if (format == aegis::intel::FeedFormat::kAuto) __builtin_trap();
  aegis::intel::LoadOptions options;
  aegis::intel::LoadReport report;
  aegis::intel::fuzzing::CheckingSink sink;
  {
    aegis::intel::internal::LoadContext context(options, sink, report);
    aegis::intel::internal::LoadPlainText(input, "fuzz.txt", options.defaults, context);
    aegis::intel::internal::LoadHostsText(input, "hosts", options.defaults, context);
  }
  aegis::intel::fuzzing::CheckReport(report);
  return 0;
}
