// libFuzzer target: the hosts-file loader ("0.0.0.0 evil.com other.com  # note"),
// with private addresses allowed or not (picked by the input's length), and format
// detection on the same bytes. Seeds: fuzz/corpus/hosts/
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "intel/loaders.h"
#include "intel_fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (aegis::intel::internal::DetectFileFormat("hosts", input) == aegis::intel::FeedFormat::kAuto) {
    __builtin_trap();
  }
  aegis::intel::LoadOptions options;
  options.allow_private = size % 2 == 1;
  options.max_rejects = 8;  // the kept-rejects limit is exercised too
  aegis::intel::LoadReport report;
  aegis::intel::fuzzing::CheckingSink sink;
  {
    aegis::intel::internal::LoadContext context(options, sink, report);
    aegis::intel::internal::LoadHostsText(input, "hosts", options.defaults, context);
  }
  aegis::intel::fuzzing::CheckReport(report);
  if (report.rejects.size() > options.max_rejects) __builtin_trap();
  return 0;
}
