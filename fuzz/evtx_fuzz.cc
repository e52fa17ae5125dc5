// libFuzzer target: EvtxFile (libevtx plus the padding of truncated files and the
// handling of damaged and recovered records) and the windows-xml parser on every
// record it yields. The input is written to a private temporary file, since EvtxFile
// reads from a path. Invariants: no crash, bad records and errors carry a reason.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "core/event.h"
#include "fuzz_input_file.h"
#include "ingest/evtx_file.h"
#include "ingest/parsers.h"

// libevtx 20181227 itself leaks a few hundred bytes on some malformed files (seen with
// a plain C program calling only libevtx_file_open/close/free); those leaks are not
// ours to fix, so allocations made inside libevtx are not reported.
extern "C" const char* __lsan_default_suppressions() { return "leak:libevtx.so\n"; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static aegis::fuzz::InputFile input("evtx");
  static std::unique_ptr<aegis::ingest::RecordParser> parser =
      aegis::ingest::MakeWindowsXmlParser();
  static aegis::Event event;
  input.Write(data, size);
  auto file = aegis::ingest::EvtxFile::Open(input.path());
  if (!file) {
    if (file.error().reason.empty()) __builtin_trap();
    return 0;
  }
  std::string xml;
  uint64_t record_number = 0;
  aegis::Error error;
  for (int records = 0; records < 5000; ++records) {
    const auto status = (*file)->Next(xml, record_number, error);
    if (status == aegis::ingest::EvtxFile::Status::kEnd) break;
    if (status == aegis::ingest::EvtxFile::Status::kBadRecord) {
      if (error.reason.empty()) __builtin_trap();
      continue;
    }
    event.Clear();
    auto result = parser->Parse(xml, event);
    if (!result && result.error().reason.empty()) __builtin_trap();
  }
  return 0;
}
