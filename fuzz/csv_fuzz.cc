// libFuzzer target: the CSV loader. The first byte picks the mapping (delimiter,
// header or not, which optional columns are used) so that all paths are reached.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "intel/loaders.h"
#include "intel_fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint8_t selector = data[0];
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  aegis::intel::LoadOptions options;
  aegis::intel::CsvMapping& csv = options.csv;
  static constexpr char kDelimiters[] = {',', ';', '\t', '|'};
  csv.delimiter = kDelimiters[selector & 3];
  csv.has_header = (selector & 4) == 0;
  if (csv.has_header) {
    csv.value_column = "value";
    if (selector & 8) csv.type_column = "type";
    if (selector & 16) csv.confidence_column = "confidence";
    if (selector & 32) csv.tags_column = "tags";
    if (selector & 64) csv.first_seen_column = "first_seen";
    if (selector & 128) csv.valid_until_column = "valid_until";
  } else {
    csv.value_column = "0";
    if (selector & 8) csv.type_column = "1";
    if (selector & 16) csv.confidence_column = "2";
    if (selector & 32) csv.tags_column = "3";
    if (selector & 64) csv.last_seen_column = "4";
  }
  aegis::intel::LoadReport report;
  aegis::intel::fuzzing::CheckingSink sink;
  {
    aegis::intel::internal::LoadContext context(options, sink, report);
    aegis::intel::internal::LoadCsvText(input, "fuzz.csv", options.defaults, context);
  }
  aegis::intel::fuzzing::CheckReport(report);
  return 0;
}
