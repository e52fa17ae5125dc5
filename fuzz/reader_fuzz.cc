// libFuzzer target: EventReader over a file holding the input, i.e. everything a
// reader does with one file: magic-number and content sniffing, gzip and zip decoding
// (damaged archives included), JSON document splitting, EVTX, and every record
// parser the sniffing can pick. The input is written to a private temporary file.
// Invariants: no crash, every bad record says why, the stats agree with what was seen.
// Seeds: fuzz/corpus/reader/ (gzip, zip, NDJSON, Zeek TSV, pretty JSON)
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "core/event.h"
#include "ingest/ingest.h"

namespace {

// The temporary file the inputs are written to; removed at exit.
class InputFile {
 public:
  InputFile() {
    const char* tmpdir = std::getenv("TMPDIR");
    path_ = (tmpdir && *tmpdir) ? tmpdir : "/tmp";
    path_ += "/aegis-reader-fuzz-XXXXXX";
    fd_ = mkstemp(path_.data());
    if (fd_ < 0) __builtin_trap();
  }
  ~InputFile() {
    close(fd_);
    unlink(path_.c_str());
  }
  void Write(const uint8_t* data, size_t size) {
    if (ftruncate(fd_, 0) != 0) __builtin_trap();
    size_t written = 0;
    while (written < size) {
      const ssize_t n = pwrite(fd_, data + written, size - written, static_cast<off_t>(written));
      if (n <= 0) __builtin_trap();
      written += static_cast<size_t>(n);
    }
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

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
  static InputFile input;
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
