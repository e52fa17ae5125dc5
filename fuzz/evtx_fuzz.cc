// libFuzzer target: EvtxFile (libevtx plus the padding of truncated files and the
// handling of damaged and recovered records) and the windows-xml parser on every
// record it yields. The input is written to a private temporary file, since EvtxFile
// reads from a path. Invariants: no crash, bad records and errors carry a reason.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "core/event.h"
#include "ingest/evtx_file.h"
#include "ingest/parsers.h"

namespace {

// The temporary file the inputs are written to; removed at exit.
class InputFile {
 public:
  InputFile() {
    const char* tmpdir = std::getenv("TMPDIR");
    path_ = (tmpdir && *tmpdir) ? tmpdir : "/tmp";
    path_ += "/aegis-evtx-fuzz-XXXXXX";
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

}  // namespace

// libevtx 20181227 itself leaks a few hundred bytes on some malformed files (seen with
// a plain C program calling only libevtx_file_open/close/free); those leaks are not
// ours to fix, so allocations made inside libevtx are not reported.
extern "C" const char* __lsan_default_suppressions() { return "leak:libevtx.so\n"; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static InputFile input;
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
