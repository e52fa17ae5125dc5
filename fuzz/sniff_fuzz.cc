// libFuzzer target: the first bytes of a stream -> SniffFormat, then the chosen parser
// (when it is one of the Zeek/Suricata parsers) on the first line. Seeds: fuzz/corpus/sniff/
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/event.h"
#include "ingest/ingest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view head(reinterpret_cast<const char*>(data), size);
  aegis::EventFormat format = aegis::ingest::SniffFormat(head);
  if (aegis::FormatName(format).empty()) __builtin_trap();
  if (format == aegis::EventFormat::kZeekJson || format == aegis::EventFormat::kZeekTsv ||
      format == aegis::EventFormat::kSuricataEve) {
    auto parser = aegis::ingest::MakeParser(format);
    aegis::Event event;
    (void)parser->Parse(head.substr(0, head.find('\n')), event);
  }
  return 0;
}
