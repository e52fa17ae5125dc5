// libFuzzer target: EventReader over a file holding the input, i.e. everything a
// reader does with one file: magic-number and content sniffing, gzip and zip decoding
// (damaged archives included), JSON document splitting, EVTX, and every record
// parser the sniffing can pick. The input is written to a private temporary file.
// Invariants: no crash, every bad record says why, the stats agree with what was seen.
// Seeds: fuzz/corpus/reader/ (gzip, zip, NDJSON, Zeek TSV, pretty JSON)
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "core/event.h"
#include "fuzz_input_file.h"
#include "ingest/ingest.h"

namespace {


// Checks each bad record as the reader reports it.
class CheckingBadRecords : public aegis::ingest::BadRecordSink {
 public:
  void Reject(const aegis::ingest::BadRecord& bad) override {
    if (bad.error.reason.empty()) __builtin_trap();
    count_.fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t count() const { return count_.load(); }

 private:
  std::atomic<uint64_t> count_{0};
};

}  // namespace

// Allocations made inside libevtx are not ours to fix (see evtx_fuzz.cc).
extern "C" const char* __lsan_default_suppressions() { return "leak:libevtx.so\n"; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static aegis::fuzz::InputFile input("reader");
  input.Write(data, size);
  CheckingBadRecords bad_records;
  aegis::ingest::ReaderOptions options;
  options.keep_raw = size % 2 == 0;
  auto reader = aegis::ingest::EventReader::Open(input.path(), options, &bad_records);
  if (!reader) {
    if (reader.error().reason.empty()) __builtin_trap();
    return 0;
  }
  aegis::Event event;
  uint64_t events = 0;
  size_t total = 0;
  while (events < 100'000 && (*reader)->Next(event)) {
    ++events;
    for (const aegis::Field& field : event.fields()) {
      if (field.key.name.empty()) __builtin_trap();  // every field has a name
      total += field.value.size();
    }
  }
  if (total == SIZE_MAX) __builtin_trap();  // keeps the loop from being optimised away
  const aegis::ingest::ReaderStats& stats = (*reader)->stats();
  if (events < 100'000) {
    if (stats.events != events) __builtin_trap();
    if (stats.bad_records + stats.events > stats.records) __builtin_trap();
    // Every bad record and every skipped file reached the sink exactly once.
    if (bad_records.count() != stats.bad_records + stats.skipped_files) __builtin_trap();
  }
  return 0;
}
