// libFuzzer target: a Zeek TSV log (header and data lines) -> a fresh Zeek TSV parser,
// line by line. Seeds: fuzz/corpus/zeek_tsv/
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/event.h"
#include "ingest/ingest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parser = aegis::ingest::MakeParser(aegis::EventFormat::kZeekTsv);  // headers are state
  aegis::Event event;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    event.Clear();
    (void)parser->Parse(line, event);
  }
  return 0;
}
