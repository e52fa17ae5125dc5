// EvtxFile over libevtx: hands out each record of a Windows .evtx file as XML.
//
// Damage handling. libevtx reads a file chunk by chunk (64 KiB each after a 4 KiB
// header) and drops a chunk that is cut short, so a truncated file would lose every
// record of its last chunk. A file whose size is not a whole number of chunks (or
// shorter than its header says) is therefore read from a private copy padded with
// zeros to the chunk boundary: libevtx then reads the records before the cut. Such a
// file, a file libevtx reports as corrupted, and a file with an unreadable record are
// damaged(); for those the records libevtx recovers (from damaged chunks and free
// space) are handed out too, after the regular ones and without duplicates. Intact
// files yield only their regular records: what libevtx recovers there is leftover
// data of deleted records.
#include "ingest/evtx_file.h"

#include <libevtx.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace aegis::ingest {
namespace {

constexpr uint64_t kHeaderSize = 4096;
constexpr uint64_t kChunkSize = 65536;
constexpr char kSignature[8] = {'E', 'l', 'f', 'F', 'i', 'l', 'e', '\0'};
constexpr char kChunkSignature[8] = {'E', 'l', 'f', 'C', 'h', 'n', 'k', '\0'};

uint16_t ReadLe16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

uint64_t ReadLe64(const unsigned char* p) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

// The number of records the chunk headers of `path` list (first to last record
// identifier of each chunk with a valid signature), to tell how many a damaged file
// lost. Chunks cut short count too: their header says what they held.
uint64_t RecordsListedInChunks(const std::string& path, uint64_t file_size) {
  std::FILE* in = std::fopen(path.c_str(), "rb");
  if (in == nullptr) return 0;
  uint64_t listed = 0;
  unsigned char header[40];
  for (uint64_t offset = kHeaderSize; offset + sizeof header <= file_size; offset += kChunkSize) {
    if (fseeko(in, static_cast<off_t>(offset), SEEK_SET) != 0) break;
    if (std::fread(header, 1, sizeof header, in) != sizeof header) break;
    if (std::memcmp(header, kChunkSignature, sizeof kChunkSignature) != 0) continue;
    const uint64_t first = ReadLe64(header + 24);
    const uint64_t last = ReadLe64(header + 32);
    // A chunk holds at most 64 KiB / 24-byte minimal records; ignore nonsense.
    if (last >= first && last - first < kChunkSize / 24) listed += last - first + 1;
  }
  std::fclose(in);
  return listed;
}

// libevtx's message for `error`, which it frees.
std::string TakeErrorMessage(libevtx_error_t*& error) {
  if (error == nullptr) return "unknown libevtx error";
  char buffer[1024];
  std::string message;
  if (libevtx_error_sprint(error, buffer, sizeof buffer) > 0) message = buffer;
  libevtx_error_free(&error);
  while (!message.empty() && (message.back() == '\n' || message.back() == '.')) {
    message.pop_back();
  }
  return message.empty() ? "unknown libevtx error" : message;
}

// Copies `path` to a new temporary file padded with zeros to `padded_size` bytes.
Result<std::string> MakePaddedCopy(const std::string& path, uint64_t padded_size) {
  const char* tmpdir = std::getenv("TMPDIR");
  std::string temp_path = (tmpdir && *tmpdir) ? tmpdir : "/tmp";
  temp_path += "/aegis-evtx-XXXXXX";
  const int fd = mkstemp(temp_path.data());
  if (fd < 0) return Fail("cannot create a temporary copy: " + std::string(std::strerror(errno)));
  std::FILE* in = std::fopen(path.c_str(), "rb");
  bool ok = in != nullptr;
  std::vector<char> buffer(1 << 16);
  while (ok) {
    const size_t n = std::fread(buffer.data(), 1, buffer.size(), in);
    if (n == 0) {
      ok = !std::ferror(in);
      break;
    }
    size_t written = 0;
    while (written < n) {
      const ssize_t w = write(fd, buffer.data() + written, n - written);
      if (w <= 0) {
        ok = false;
        break;
      }
      written += static_cast<size_t>(w);
    }
  }
  if (in) std::fclose(in);
  if (ok) ok = ftruncate(fd, static_cast<off_t>(padded_size)) == 0;
  close(fd);
  if (!ok) {
    unlink(temp_path.c_str());
    return Fail("cannot make a padded copy of the truncated file");
  }
  return temp_path;
}

class LibevtxFile : public EvtxFile {
 public:
  LibevtxFile(std::string path, uint64_t file_size, uint64_t records_listed)
      : path_(std::move(path)), file_size_(file_size), records_listed_(records_listed) {}

  ~LibevtxFile() override {
    if (file_ != nullptr) {
      libevtx_file_close(file_, nullptr);
      libevtx_file_free(&file_, nullptr);
    }
    if (!temp_path_.empty()) unlink(temp_path_.c_str());
  }

  // `truncated`: shorter than the header says or cut inside a chunk; `padded_size` > 0:
  // read a copy padded to that size.
  Result<void> Open(bool truncated, uint64_t padded_size) {
    damaged_ = truncated;
    std::string open_path = path_;
    if (padded_size > 0) {
      auto copy = MakePaddedCopy(path_, padded_size);
      if (!copy) return std::unexpected(copy.error());
      temp_path_ = *copy;
      open_path = temp_path_;
    }
    libevtx_error_t* error = nullptr;
    if (libevtx_file_initialize(&file_, &error) != 1) {
      return Fail("libevtx: " + TakeErrorMessage(error));
    }
    if (libevtx_file_open(file_, open_path.c_str(), LIBEVTX_OPEN_READ, &error) != 1) {
      std::string reason = "not a readable EVTX file: " + TakeErrorMessage(error);
      libevtx_file_free(&file_, nullptr);
      return Fail(std::move(reason));
    }
    int count = 0;
    if (libevtx_file_get_number_of_records(file_, &count, &error) != 1) {
      return Fail("libevtx: " + TakeErrorMessage(error));
    }
    live_count_ = std::max(count, 0);
    count = 0;
    if (libevtx_file_get_number_of_recovered_records(file_, &count, &error) != 1) {
      libevtx_error_free(&error);
      count = 0;
    }
    recovered_count_ = std::max(count, 0);
    const int corrupted = libevtx_file_is_corrupted(file_, &error);
    if (corrupted != 0) damaged_ = true;
    if (corrupted < 0) libevtx_error_free(&error);
    return {};
  }

  Status Next(std::string& xml, uint64_t& record_number, Error& error) override {
    while (next_live_ < live_count_) {
      const int index = next_live_++;
      record_number = static_cast<uint64_t>(index) + 1;
      libevtx_record_t* record = nullptr;
      libevtx_error_t* lib_error = nullptr;
      if (libevtx_file_get_record_by_index(file_, index, &record, &lib_error) != 1) {
        damaged_ = true;
        return Bad(error, record_number, "record", TakeErrorMessage(lib_error));
      }
      const Status status = ReadXml(record, xml, record_number, "record", error, false);
      libevtx_record_free(&record, nullptr);
      return status;
    }
    if (!damaged_) return Status::kEnd;
    if (!identifiers_sorted_) {
      std::sort(live_identifiers_.begin(), live_identifiers_.end());
      identifiers_sorted_ = true;
    }
    while (next_recovered_ < recovered_count_) {
      const int index = next_recovered_++;
      record_number = static_cast<uint64_t>(live_count_) + static_cast<uint64_t>(index) + 1;
      libevtx_record_t* record = nullptr;
      libevtx_error_t* lib_error = nullptr;
      if (libevtx_file_get_recovered_record_by_index(file_, index, &record, &lib_error) != 1) {
        return Bad(error, record_number, "recovered record", TakeErrorMessage(lib_error));
      }
      uint64_t identifier = 0;
      libevtx_error_t* id_error = nullptr;
      if (libevtx_record_get_identifier(record, &identifier, &id_error) == 1 &&
          std::binary_search(live_identifiers_.begin(), live_identifiers_.end(), identifier)) {
        libevtx_record_free(&record, nullptr);
        continue;  // the regular copy was handed out already
      }
      if (id_error != nullptr) libevtx_error_free(&id_error);
      const Status status = ReadXml(record, xml, record_number, "recovered record", error, true);
      libevtx_record_free(&record, nullptr);
      return status;
    }
    // Records that libevtx could not even find (a chunk cut short or unreadable).
    if (!loss_reported_) {
      loss_reported_ = true;
      const uint64_t read = live_identifiers_.size() + recovered_yielded_;
      if (records_listed_ > read) {
        record_number = 0;
        error = Error{};
        error.where = path_;
        error.reason = "only " + std::to_string(read) + " of the " +
                       std::to_string(records_listed_) +
                       " records listed in the chunk headers could be read";
        return Status::kBadRecord;
      }
    }
    return Status::kEnd;
  }

  bool damaged() const override { return damaged_; }
  uint64_t file_size() const override { return file_size_; }
  uint64_t records_total() const override {
    return static_cast<uint64_t>(live_count_) +
           (damaged_ ? static_cast<uint64_t>(recovered_count_) : 0);
  }

 private:
  Status ReadXml(libevtx_record_t* record, std::string& xml, uint64_t record_number,
                 const char* kind, Error& error, bool recovered) {
    libevtx_error_t* lib_error = nullptr;
    size_t size = 0;
    if (libevtx_record_get_utf8_xml_string_size(record, &size, &lib_error) != 1 || size == 0) {
      if (!recovered) damaged_ = true;
      return Bad(error, record_number, kind,
                 lib_error ? TakeErrorMessage(lib_error) : "empty XML rendering");
    }
    xml_buffer_.resize(size);
    if (libevtx_record_get_utf8_xml_string(record, xml_buffer_.data(), size, &lib_error) != 1) {
      if (!recovered) damaged_ = true;
      return Bad(error, record_number, kind, TakeErrorMessage(lib_error));
    }
    size_t length = size;
    while (length > 0 && xml_buffer_[length - 1] == 0) --length;
    xml.assign(reinterpret_cast<const char*>(xml_buffer_.data()), length);
    if (recovered) ++recovered_yielded_;
    if (!recovered) {
      uint64_t identifier = 0;
      libevtx_error_t* id_error = nullptr;
      if (libevtx_record_get_identifier(record, &identifier, &id_error) == 1) {
        live_identifiers_.push_back(identifier);
      } else {
        libevtx_error_free(&id_error);
      }
    }
    return Status::kRecord;
  }

  Status Bad(Error& error, uint64_t record_number, const char* kind, std::string reason) {
    error = Error{};
    error.where = path_;
    error.reason = std::string(kind) + " " + std::to_string(record_number) + ": " + reason;
    return Status::kBadRecord;
  }

  std::string path_;
  std::string temp_path_;  // padded copy of a truncated file; removed when done
  uint64_t file_size_ = 0;
  libevtx_file_t* file_ = nullptr;
  int live_count_ = 0;
  int recovered_count_ = 0;
  int next_live_ = 0;
  int next_recovered_ = 0;
  uint64_t records_listed_ = 0;     // by the chunk headers
  uint64_t recovered_yielded_ = 0;
  bool damaged_ = false;
  bool identifiers_sorted_ = false;
  bool loss_reported_ = false;
  std::vector<uint64_t> live_identifiers_;  // to skip recovered duplicates
  std::vector<uint8_t> xml_buffer_;
};

}  // namespace

Result<std::unique_ptr<EvtxFile>> EvtxFile::Open(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    return Fail("cannot open " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(info.st_mode)) return Fail(path + " is not a regular file");
  const uint64_t file_size = static_cast<uint64_t>(info.st_size);

  unsigned char header[kHeaderSize] = {};
  std::FILE* in = std::fopen(path.c_str(), "rb");
  if (in == nullptr) return Fail("cannot open " + path + ": " + std::strerror(errno));
  const size_t header_bytes = std::fread(header, 1, sizeof header, in);
  std::fclose(in);
  if (header_bytes < sizeof kSignature || std::memcmp(header, kSignature, sizeof kSignature) != 0) {
    return Fail("not an EVTX file (no ElfFile signature)");
  }
  if (file_size < kHeaderSize) {
    return Fail("truncated EVTX file: " + std::to_string(file_size) +
                " bytes, shorter than its 4096-byte header");
  }
  // A file cut inside a chunk, or shorter than the chunk count in its header.
  const uint64_t chunk_bytes = file_size - kHeaderSize;
  const uint64_t whole_chunks = chunk_bytes / kChunkSize;
  const uint64_t declared_chunks = ReadLe16(header + 42);
  const bool partial_chunk = chunk_bytes % kChunkSize != 0;
  const bool truncated = partial_chunk || declared_chunks > whole_chunks;
  const uint64_t padded_size = partial_chunk ? kHeaderSize + (whole_chunks + 1) * kChunkSize : 0;

  auto file = std::make_unique<LibevtxFile>(path, file_size,
                                            RecordsListedInChunks(path, file_size));
  if (auto opened = file->Open(truncated, padded_size); !opened) {
    Error error = opened.error();
    error.where = path;
    return std::unexpected(std::move(error));
  }
  return std::unique_ptr<EvtxFile>(std::move(file));
}

}  // namespace aegis::ingest
