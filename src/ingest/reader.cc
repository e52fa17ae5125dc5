// EventReader: turns files, folders, gzip and zip archives, .evtx files and stdin into
// Events, one record at a time; and DeadLetterFile, the JSON-lines BadRecordSink.
//
// Layers (see docs/INGEST.md):
//   ByteSource    bytes of one stream: a file descriptor, a gzip stream, a zip entry
//   RecordStream  splits a stream into records (lines, JSON documents or <Event> XML
//                 elements), sniffs its format and feeds each record to a RecordParser
//   Input         what one path turns into: a RecordStream, an archive (one stream per
//                 entry) or an EVTX file
//   ReaderImpl    walks the paths in order, one Input after another
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "core/event.h"
#include "core/strings.h"
#include "ingest/evtx_file.h"
#include "ingest/ingest.h"

namespace aegis::ingest {
namespace {

constexpr size_t kReadChunk = size_t{1} << 20;  // bytes asked of read() at a time
constexpr size_t kMaxRecord = size_t{1} << 20;  // longer records are rejected
constexpr size_t kSniffBytes = size_t{64} << 10;
constexpr size_t kPadding = 64;  // slack after the buffer for parsers
constexpr size_t kDeadLetterRawLimit = size_t{64} << 10;

std::string ErrnoText(int error) { return std::generic_category().message(error); }

Error MakeError(std::string where, uint64_t line, uint64_t offset, std::string reason) {
  Error error;
  error.where = std::move(where);
  error.line = line;
  error.offset = offset;
  error.reason = std::move(reason);
  return error;
}

// Shared by every input of one reader.
struct Context {
  ReaderOptions options;
  BadRecordSink* sink = nullptr;
  ReaderStats stats;

  void Reject(Error error, EventFormat format, std::string_view raw) {
    ++stats.records;
    ++stats.bad_records;
    if (sink != nullptr) sink->Reject(BadRecord{std::move(error), format, raw});
  }
  // A file (or entry) of no recognised format: one notice, counted.
  void Skip(const std::string& where, std::string reason) {
    ++stats.skipped_files;
    if (sink != nullptr) sink->Reject(BadRecord{MakeError(where, 0, 0, std::move(reason)), {}, {}});
  }
  // A damaged stream: what came before the damage was kept.
  void Damaged(Error error, EventFormat format, std::string_view raw) {
    ++stats.damaged_files;
    Reject(std::move(error), format, raw);
  }
  bool Stopped() const { return options.stop != nullptr && options.stop->load(); }
};

// ---------------------------------------------------------------------------------------
// Byte sources

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `size` bytes into `data`; 0 at the end. An error means the stream is
  // damaged from here on; what was read before stays valid.
  virtual Result<size_t> Read(char* data, size_t size) = 0;
  // Bytes of the underlying file consumed so far (compressed bytes for gzip).
  virtual uint64_t consumed() const = 0;
};

class FdSource final : public ByteSource {
 public:
  FdSource(int fd, bool owned) : fd_(fd), owned_(owned) {}
  ~FdSource() override {
    if (owned_ && fd_ >= 0) ::close(fd_);
  }
  // For stdin, pipes and other non-regular inputs: wait for data with poll() in slices
  // of `poll_ms` and end the stream (Read returns 0) once `*stop` is set, so that a
  // reader blocked on a quiet pipe can be stopped.
  void StopWhen(const std::atomic<bool>* stop, int poll_ms) {
    stop_ = stop;
    poll_ms_ = std::max(1, poll_ms);
  }
  Result<size_t> Read(char* data, size_t size) override {
    if (fd_ < 0) return size_t{0};  // follow mode: the file does not exist yet
    while (true) {
      if (stop_ != nullptr) {
        if (stop_->load()) return size_t{0};
        pollfd waiting{fd_, POLLIN, 0};
        int ready = ::poll(&waiting, 1, poll_ms_);
        if (ready < 0 && errno != EINTR) return Fail("poll error: " + ErrnoText(errno));
        if (ready <= 0) continue;  // timeout or EINTR: check stop again
      }
      ssize_t n = ::read(fd_, data, size);
      if (n >= 0) {
        consumed_ += static_cast<uint64_t>(n);
        return static_cast<size_t>(n);
      }
      if (errno != EINTR) return Fail("read error: " + ErrnoText(errno));
    }
  }
  uint64_t consumed() const override { return consumed_; }
  int fd() const { return fd_; }
  // Follow mode: start over at the beginning (truncation) or on a new file (rotation).
  void Restart(int new_fd) {
    if (new_fd != fd_) {
      if (owned_ && fd_ >= 0) ::close(fd_);
      fd_ = new_fd;
      owned_ = true;
    } else {
      ::lseek(fd_, 0, SEEK_SET);
    }
    consumed_ = 0;
  }

 private:
  int fd_;
  bool owned_;
  uint64_t consumed_ = 0;
  const std::atomic<bool>* stop_ = nullptr;
  int poll_ms_ = 200;
};

// Wraps a source so that its first bytes can be looked at (for magic numbers) and are
// then read again.
class PeekableSource final : public ByteSource {
 public:
  explicit PeekableSource(std::unique_ptr<ByteSource> inner) : inner_(std::move(inner)) {}
  // Up to `size` first bytes (fewer at the end of a short stream).
  Result<std::string_view> Peek(size_t size) {
    while (peeked_.size() < size && !inner_end_) {
      char chunk[64];
      auto n = inner_->Read(chunk, std::min(sizeof chunk, size - peeked_.size()));
      if (!n) return std::unexpected(n.error());
      if (*n == 0) inner_end_ = true;
      peeked_.append(chunk, *n);
    }
    return std::string_view(peeked_).substr(0, std::min(size, peeked_.size()));
  }
  Result<size_t> Read(char* data, size_t size) override {
    if (position_ < peeked_.size()) {
      size_t n = std::min(size, peeked_.size() - position_);
      std::memcpy(data, peeked_.data() + position_, n);
      position_ += n;
      return n;
    }
    if (inner_end_) return size_t{0};
    return inner_->Read(data, size);
  }
  uint64_t consumed() const override { return inner_->consumed(); }
  ByteSource& inner() { return *inner_; }

 private:
  std::unique_ptr<ByteSource> inner_;
  std::string peeked_;
  size_t position_ = 0;
  bool inner_end_ = false;
};

bool IsGzipMagic(std::string_view head) { return head.starts_with("\x1f\x8b"); }
bool IsZipMagic(std::string_view head) {
  return head.starts_with(std::string_view("PK\x03\x04", 4));
}
bool IsEvtxMagic(std::string_view head) {
  return head.starts_with(std::string_view("ElfFile\0", 8));
}

// Inflates a gzip stream (one or more members) read from another source.
class GzipSource final : public ByteSource {
 public:
  explicit GzipSource(std::unique_ptr<ByteSource> inner)
      : inner_(std::move(inner)), input_(kInputSize) {
    ok_ = inflateInit2(&stream_, 16 + MAX_WBITS) == Z_OK;
  }
  ~GzipSource() override {
    if (ok_) inflateEnd(&stream_);
  }
  Result<size_t> Read(char* data, size_t size) override {
    if (!ok_) return Fail("zlib could not be initialised");
    while (true) {
      if (stream_.avail_in == 0 && !input_end_) {
        auto n = inner_->Read(input_.data(), input_.size());
        if (!n) return std::unexpected(n.error());
        if (*n == 0) input_end_ = true;
        stream_.next_in = reinterpret_cast<Bytef*>(input_.data());
        stream_.avail_in = static_cast<uInt>(*n);
      }
      if (member_done_) {
        // Another member may follow (concatenated gzip files); anything else ends it.
        if (stream_.avail_in == 0) return size_t{0};
        if (stream_.next_in[0] != 0x1f) return size_t{0};
        inflateReset(&stream_);
        member_done_ = false;
      }
      stream_.next_out = reinterpret_cast<Bytef*>(data);
      stream_.avail_out = static_cast<uInt>(size);
      int status = inflate(&stream_, Z_NO_FLUSH);
      size_t produced = size - stream_.avail_out;
      if (status == Z_STREAM_END) {
        member_done_ = true;
        if (produced > 0) return produced;
        continue;
      }
      if (status == Z_OK || status == Z_BUF_ERROR) {
        if (produced > 0) return produced;
        if (input_end_ && stream_.avail_in == 0) {
          return Fail("truncated gzip stream: it ends after " + std::to_string(consumed()) +
                      " compressed bytes, inside a member");
        }
        continue;
      }
      return Fail(std::string("corrupt gzip stream: ") +
                  (stream_.msg != nullptr ? stream_.msg : "inflate failed") + " after " +
                  std::to_string(consumed()) + " compressed bytes");
    }
  }
  uint64_t consumed() const override { return inner_->consumed() - stream_.avail_in; }

 private:
  static constexpr size_t kInputSize = 256 << 10;
  std::unique_ptr<ByteSource> inner_;
  std::vector<char> input_;
  z_stream stream_{};
  bool ok_ = false;
  bool input_end_ = false;
  bool member_done_ = false;
};

// ---------------------------------------------------------------------------------------
// Inputs

class Input {
 public:
  virtual ~Input() = default;
  virtual bool Next(Event& out) = 0;
  // Bytes of the input's file consumed so far (for progress bars).
  virtual uint64_t progress() const = 0;
};

// Where the brace scanner is inside a JSON text.
struct JsonScanState {
  int depth = 0;
  bool in_string = false;
  bool escape = false;
};

// Advances `state` over data[from, to); returns the index just past the character that
// closes the top-level value, or `to` when it is still open.
size_t ScanJson(const char* data, size_t from, size_t to, JsonScanState& state,
                uint64_t& newlines) {
  for (size_t i = from; i < to; ++i) {
    char c = data[i];
    if (c == '\n') ++newlines;
    if (state.in_string) {
      if (state.escape) {
        state.escape = false;
      } else if (c == '\\') {
        state.escape = true;
      } else if (c == '"') {
        state.in_string = false;
      }
      continue;
    }
    if (c == '"') {
      state.in_string = true;
    } else if (c == '{' || c == '[') {
      ++state.depth;
    } else if (c == '}' || c == ']') {
      if (--state.depth == 0) return i + 1;
    }
  }
  return to;
}

bool IsJsonFormat(EventFormat format) {
  return format == EventFormat::kZeekJson || format == EventFormat::kSuricataEve ||
         format == EventFormat::kWindowsJson || format == EventFormat::kWindowsFlat;
}

bool IsBlank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return true;
}

// One stream of records: a plain file, stdin, a gzip stream or an archive entry.
class RecordStream final : public Input {
 public:
  // `follow_path`: follow mode for this plain file (source must be an FdSource).
  RecordStream(Context& context, std::string name, std::unique_ptr<ByteSource> source,
               FdSource* follow_source, std::string follow_path)
      : context_(context),
        name_(std::move(name)),
        source_(std::move(source)),
        follow_source_(follow_source),
        follow_path_(std::move(follow_path)),
        buffer_(kMaxRecord + kReadChunk + kPadding) {
    ++context_.stats.files;
  }

  uint64_t progress() const override { return source_->consumed(); }

  bool Next(Event& out) override {
    if (state_ == State::kStart && !Start()) Finish();
    if (state_ == State::kEnd) return false;
    bool got = false;
    switch (mode_) {
      case Mode::kLines:
        got = NextLine(out);
        break;
      case Mode::kJsonDocuments:
        got = NextJsonDocument(out);
        break;
      case Mode::kXmlEvents:
        got = NextXmlEvent(out);
        break;
    }
    if (!got) Finish();
    return got;
  }

 private:
  enum class State : unsigned char { kStart, kRecords, kEnd };
  enum class Mode : unsigned char { kLines, kJsonDocuments, kXmlEvents };

  std::string_view Pending() const { return {buffer_.data() + begin_, end_ - begin_}; }
  uint64_t OffsetOf(size_t index) const { return base_offset_ + index; }

  // Reads more bytes after end_, first moving the unread rest to the front.
  void Fill() {
    if (begin_ > 0) {
      std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
      base_offset_ += begin_;
      end_ -= begin_;
      scan_ = scan_ >= begin_ ? scan_ - begin_ : 0;
      begin_ = 0;
    }
    size_t room = buffer_.size() - kPadding - end_;
    if (room == 0) return;  // callers reject over-long records before this can happen
    auto n = source_->Read(buffer_.data() + end_, std::min(room, kReadChunk));
    if (!n) {
      damage_ = n.error();
      eof_ = true;
      return;
    }
    if (*n == 0) {
      eof_ = true;
      return;
    }
    end_ += *n;
    context_.stats.bytes += *n;
  }

  // In follow mode, waits for the file to grow, to be truncated or to be replaced.
  // Returns false when the reader is told to stop. `tail` is the unfinished record.
  // A file that does not exist yet (fd -1) is waited for and read from its start.
  bool WaitForMore() {
    using std::chrono::milliseconds;
    const int poll_ms = std::max(1, context_.options.follow_poll_ms);
    // Draining a rotated file: its rest is read at once, without waiting.
    for (int waited = 0; !draining_ && waited < poll_ms; waited += 10) {
      if (context_.Stopped()) return false;
      std::this_thread::sleep_for(milliseconds(std::min(10, poll_ms - waited)));
    }
    draining_ = false;
    if (context_.Stopped()) return false;
    struct stat open_stat {};
    struct stat path_stat {};
    const bool open_ok = ::fstat(follow_source_->fd(), &open_stat) == 0;
    if (open_ok && static_cast<uint64_t>(open_stat.st_size) < follow_source_->consumed()) {
      Restart(follow_source_->fd());  // truncated in place: read it again from the start
    } else if (::stat(follow_path_.c_str(), &path_stat) == 0 &&
               (!open_ok || path_stat.st_ino != open_stat.st_ino ||
                path_stat.st_dev != open_stat.st_dev)) {
      if (open_ok && static_cast<uint64_t>(open_stat.st_size) > follow_source_->consumed()) {
        // Rotated, but the old file grew before it was renamed: read it to its end first.
        draining_ = true;
      } else {
        int fd = ::open(follow_path_.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {  // rotated (or created): the old file was read to its end
          RejectUnfinishedBeforeRotation();
          Restart(fd);
        }
      }
    }
    eof_ = false;
    return true;
  }

  // The old file of a rotation ended inside a record (a half-written last line): it is
  // reported rather than silently dropped.
  void RejectUnfinishedBeforeRotation() {
    if (skipping_ || damage_ || begin_ >= end_) return;
    std::string_view pending = Pending();
    if (state_ == State::kRecords && mode_ != Mode::kLines) {
      if (!in_document_) return;  // only blanks or a partial "<Event" between records
      context_.Reject(MakeError(name_, document_line_, OffsetOf(begin_),
                                mode_ == Mode::kXmlEvents
                                    ? "incomplete <Event> element before rotation"
                                    : "incomplete JSON document before rotation"),
                      format_, pending.substr(0, kMaxRecord));
      return;
    }
    if (IsBlank(pending)) return;
    context_.Reject(MakeError(name_, line_ + 1, OffsetOf(begin_),
                              "incomplete last line before rotation"),
                    format_, pending.substr(0, kMaxRecord));
  }

  void Restart(int fd) {
    follow_source_->Restart(fd);
    begin_ = end_ = scan_ = 0;
    base_offset_ = 0;
    line_ = 0;
    skipping_ = false;
    in_document_ = false;
    if (parser_ != nullptr) parser_ = MakeParser(format_);  // e.g. a new Zeek header follows
  }

  bool Following() const { return follow_source_ != nullptr; }

  // Reads enough of the stream to recognise its format and how it splits into records.
  bool Start() {
    format_ = context_.options.format;
    while (true) {
      std::string_view head = Pending().substr(0, kSniffBytes);
      if (!head.empty()) {
        EventFormat sniffed = format_ != EventFormat::kUnknown ? format_ : SniffFormat(head);
        bool decided =
            sniffed != EventFormat::kUnknown && (!IsJsonFormat(sniffed) || JsonModeDecided(head));
        if (decided || eof_ || head.size() >= kSniffBytes) {
          format_ = sniffed;
          break;
        }
      }
      if (eof_) {
        if (Following() && end_ == 0 && WaitForMore()) continue;
        if (Following() && end_ > 0 && !context_.Stopped() && WaitForMore()) continue;
        break;
      }
      Fill();
    }
    if (end_ == 0) return false;  // empty: nothing to recognise
    if (format_ == EventFormat::kUnknown) {
      context_.Skip(name_, "skipped: format not recognised (give the format explicitly)");
      return false;
    }
    if (format_ == EventFormat::kEvtx) {
      if (!IsEvtxMagic(Pending())) {  // only when the format was forced
        context_.Skip(name_, "skipped: not an EVTX file (no ElfFile header)");
        return false;
      }
      context_.Skip(name_,
                    "skipped: an EVTX file inside a compressed stream or on stdin; "
                    "decompress it to a file first");
      return false;
    }
    parser_ = MakeParser(format_);
    if (parser_ == nullptr) {
      context_.Skip(name_, "skipped: no parser for format " + std::string(FormatName(format_)));
      return false;
    }
    if (IsJsonFormat(format_)) {
      mode_ = JsonIsOneDocumentPerLine(Pending().substr(0, kSniffBytes)) ? Mode::kLines
                                                                         : Mode::kJsonDocuments;
    } else if (format_ == EventFormat::kWindowsXml) {
      mode_ = Mode::kXmlEvents;
      records_at_start_ = context_.stats.records;
      head_sample_.assign(Pending().substr(0, kHeadSample));
    } else {
      mode_ = Mode::kLines;
    }
    state_ = State::kRecords;
    return true;
  }

  // Whether the head shows how its JSON splits: the first document ended, or a newline
  // came before its end.
  static bool JsonModeDecided(std::string_view head) {
    size_t start = head.find_first_not_of(" \t\r\n\xEF\xBB\xBF");
    if (start == std::string_view::npos) return false;
    if (head[start] == '[') return true;
    JsonScanState state;
    uint64_t newlines = 0;
    size_t end = ScanJson(head.data(), start, head.size(), state, newlines);
    if (newlines > 0) return true;
    return end < head.size();
  }

  // NDJSON (read line by line, fast) or JSON text (pretty-printed, arrays, several
  // documents on a line: split by the brace scanner).
  static bool JsonIsOneDocumentPerLine(std::string_view head) {
    size_t start = head.find_first_not_of(" \t\r\n");
    if (start == std::string_view::npos || head[start] != '{') return false;
    JsonScanState state;
    uint64_t newlines = 0;
    size_t end = ScanJson(head.data(), start, head.size(), state, newlines);
    if (newlines > 0 || state.depth != 0) return false;
    size_t next = head.find_first_not_of(" \t\r", end);
    return next == std::string_view::npos || head[next] == '\n';
  }

  // Hands one record to the parser; true when it gave an event.
  bool Deliver(std::string_view record, uint64_t line, uint64_t offset, Event& out) {
    out.Clear();
    out.format = format_;
    out.source.assign(name_);
    out.line = line;
    out.offset = offset;
    if (context_.options.keep_raw) out.raw.assign(record.data(), record.size());
    auto parsed = parser_->Parse(record, out);
    if (!parsed) {
      Error error = std::move(parsed.error());
      error.where = name_;
      error.line = line;
      error.offset = offset;
      context_.Reject(std::move(error), format_, record);
      return false;
    }
    if (*parsed == ParseOutcome::kSkip) return false;
    ++context_.stats.records;
    ++context_.stats.events;
    return true;
  }

  void RejectOversize(uint64_t line, uint64_t offset, std::string_view start) {
    context_.Reject(MakeError(name_, line, offset, "record longer than 1 MiB"), format_,
                    start.substr(0, kMaxRecord));
  }

  // The input ended inside a record: rejects what is left of it as an incomplete
  // `what` (unless it is being skipped or the stream broke) and leaves the record.
  void RejectIncompleteAtEnd(std::string_view what) {
    if (!skipping_ && !damage_ && begin_ < end_) {
      context_.Reject(MakeError(name_, document_line_, OffsetOf(begin_),
                                "incomplete " + std::string(what) + " at the end of the input"),
                      format_, Pending().substr(0, kMaxRecord));
      begin_ = end_;
    }
    in_document_ = false;
  }

  // The stream broke: report it once, with the unfinished record as raw.
  void ReportDamage(std::string_view tail = {}) {
    if (!damage_) return;
    Error error = std::move(*damage_);
    damage_.reset();
    error.where = name_;
    error.offset = OffsetOf(end_);
    error.line = 0;
    context_.Damaged(std::move(error), format_, tail);
  }

  void Finish() {
    if (state_ != State::kEnd) ReportDamage(Pending().substr(0, kMaxRecord));
    if (state_ == State::kRecords && mode_ == Mode::kXmlEvents &&
        context_.stats.records == records_at_start_ && !IsBlank(head_sample_)) {
      // Not one <Event> element (e.g. a format forced on the wrong file): say so once
      // rather than reporting nothing.
      context_.Reject(MakeError(name_, 0, 0, "no <Event> record found"), format_, head_sample_);
    }
    state_ = State::kEnd;
  }

  bool NextLine(Event& out) {
    while (true) {
      char* data = buffer_.data();
      if (skipping_) {  // the rest of an over-long line
        const void* newline = std::memchr(data + begin_, '\n', end_ - begin_);
        if (newline == nullptr) {
          begin_ = end_;
          if (eof_) return false;
          Fill();
          continue;
        }
        begin_ = static_cast<const char*>(newline) - data + 1;
        skipping_ = false;
        continue;
      }
      size_t from = std::max(begin_, scan_);
      const char* newline = static_cast<const char*>(std::memchr(data + from, '\n', end_ - from));
      if (newline != nullptr) {
        size_t start = begin_;
        size_t length = newline - (data + start);
        begin_ = scan_ = length + start + 1;
        ++line_;
        std::string_view record(data + start, length);
        if (!record.empty() && record.back() == '\r') record.remove_suffix(1);
        if (record.size() > kMaxRecord) {
          RejectOversize(line_, OffsetOf(start), record);
          continue;
        }
        if (record.empty() || ((record[0] == ' ' || record[0] == '\t') && IsBlank(record))) {
          continue;
        }
        if (Deliver(record, line_, OffsetOf(start), out)) return true;
        continue;
      }
      scan_ = end_;
      if (end_ - begin_ > kMaxRecord) {
        ++line_;
        RejectOversize(line_, OffsetOf(begin_), Pending());
        skipping_ = true;
        begin_ = scan_ = end_;
        continue;
      }
      if (eof_) {
        if (Following() && WaitForMore()) {
          Fill();
          continue;
        }
        if (begin_ == end_) return false;
        if (damage_) return false;  // the unfinished line goes with the damage report
        // The last line has no newline.
        size_t start = begin_;
        std::string_view record(data + start, end_ - start);
        begin_ = scan_ = end_;
        ++line_;
        if (!record.empty() && record.back() == '\r') record.remove_suffix(1);
        if (IsBlank(record)) return false;
        if (Deliver(record, line_, OffsetOf(start), out)) return true;
        return false;
      }
      Fill();
    }
  }

  bool NextJsonDocument(Event& out) {
    while (true) {
      char* data = buffer_.data();
      if (!in_document_) {
        // Between documents: skip blanks, commas and the brackets of top-level arrays.
        while (begin_ < end_) {
          char c = data[begin_];
          if (c == '\n') {
            ++line_;
          } else if (c != ' ' && c != '\t' && c != '\r' && c != ',' && c != '[' && c != ']') {
            break;
          }
          ++begin_;
        }
        if (begin_ == end_) {
          if (eof_) {
            if (Following() && WaitForMore()) {
              Fill();
              continue;
            }
            return false;
          }
          Fill();
          continue;
        }
        if (data[begin_] != '{') {
          // Not a JSON object: reject up to the end of the line.
          const void* newline = std::memchr(data + begin_, '\n', end_ - begin_);
          if (newline == nullptr && !eof_ && end_ - begin_ <= kMaxRecord) {
            Fill();
            continue;
          }
          size_t stop = newline != nullptr ? static_cast<const char*>(newline) - data : end_;
          std::string_view junk(data + begin_, stop - begin_);
          context_.Reject(MakeError(name_, line_ + 1, OffsetOf(begin_), "not a JSON object"),
                          format_, junk.substr(0, kMaxRecord));
          begin_ = stop;
          continue;
        }
        in_document_ = true;
        json_state_ = JsonScanState{};
        document_line_ = line_ + 1;
        document_newlines_ = 0;
        scan_ = begin_;
      }
      size_t end = ScanJson(data, scan_, end_, json_state_, document_newlines_);
      if (json_state_.depth == 0 && end > scan_) {
        // A whole document: [begin_, end).
        in_document_ = false;
        std::string_view record(data + begin_, end - begin_);
        uint64_t offset = OffsetOf(begin_);
        begin_ = scan_ = end;
        line_ += document_newlines_;
        if (skipping_) {
          skipping_ = false;
          continue;
        }
        if (Deliver(record, document_line_, offset, out)) return true;
        continue;
      }
      scan_ = end_;
      if (skipping_) {
        begin_ = scan_ = end_;
      } else if (end_ - begin_ > kMaxRecord) {
        RejectOversize(document_line_, OffsetOf(begin_), Pending());
        skipping_ = true;
        begin_ = scan_ = end_;
      }
      if (eof_) {
        if (Following() && WaitForMore()) {
          Fill();
          continue;
        }
        RejectIncompleteAtEnd("JSON document");
        return false;
      }
      Fill();
    }
  }

  // Windows XML: each <Event ...>...</Event> element is a record, wherever the line
  // breaks fall; text between them (<Events>, <?xml ...?>) is ignored.
  bool NextXmlEvent(Event& out) {
    static constexpr std::string_view kOpen = "<Event";
    static constexpr std::string_view kClose = "</Event>";
    while (true) {
      std::string_view pending = Pending();
      if (!in_document_) {
        size_t open = 0;
        while (true) {
          open = pending.find(kOpen, open);
          if (open == std::string_view::npos || open + kOpen.size() >= pending.size()) break;
          char after = pending[open + kOpen.size()];
          if (after == ' ' || after == '>' || after == '\t' || after == '\r' || after == '\n')
            break;
          open += kOpen.size();  // <Events> or <EventData>
        }
        if (open == std::string_view::npos || open + kOpen.size() >= pending.size()) {
          // Keep a possible partial "<Event" at the end for the next read.
          size_t keep = std::min(pending.size(), kOpen.size());
          size_t drop = pending.size() - keep;
          line_ += std::count(pending.begin(), pending.begin() + drop, '\n');
          begin_ += drop;
          if (eof_) {
            if (Following() && WaitForMore()) {
              Fill();
              continue;
            }
            begin_ = end_;
            return false;
          }
          Fill();
          continue;
        }
        line_ += std::count(pending.begin(), pending.begin() + open, '\n');
        begin_ += open;
        scan_ = begin_;
        in_document_ = true;
        document_line_ = line_ + 1;
        continue;
      }
      size_t close = pending.find(kClose, scan_ - begin_);
      if (close != std::string_view::npos) {
        size_t length = close + kClose.size();
        std::string_view record = pending.substr(0, length);
        uint64_t offset = OffsetOf(begin_);
        line_ += std::count(record.begin(), record.end(), '\n');
        begin_ += length;
        scan_ = begin_;
        in_document_ = false;
        if (skipping_) {
          skipping_ = false;
          continue;
        }
        if (Deliver(record, document_line_, offset, out)) return true;
        continue;
      }
      // Search again from just before the end: the closing tag may be cut in two.
      scan_ = std::max(begin_, end_ - std::min(end_ - begin_, kClose.size()));
      if (!skipping_ && end_ - begin_ > kMaxRecord) {
        RejectOversize(document_line_, OffsetOf(begin_), pending);
        skipping_ = true;
      }
      if (skipping_) {
        size_t drop = scan_ - begin_;
        line_ += std::count(pending.begin(), pending.begin() + drop, '\n');
        begin_ = scan_;
      }
      if (eof_) {
        if (Following() && WaitForMore()) {
          Fill();
          continue;
        }
        RejectIncompleteAtEnd("<Event> element");
        return false;
      }
      Fill();
    }
  }

  Context& context_;
  std::string name_;
  std::unique_ptr<ByteSource> source_;
  FdSource* follow_source_;  // non-null in follow mode (owned by source_)
  std::string follow_path_;
  std::vector<char> buffer_;
  size_t begin_ = 0;          // first unread byte in buffer_
  size_t end_ = 0;            // end of the bytes in buffer_
  size_t scan_ = 0;           // bytes before this (and after begin_) were searched already
  uint64_t base_offset_ = 0;  // stream offset of buffer_[0]
  uint64_t line_ = 0;         // lines before begin_
  bool eof_ = false;
  bool draining_ = false;  // follow mode: reading the rest of a rotated file
  bool skipping_ = false;  // inside an over-long record
  std::optional<Error> damage_;
  State state_ = State::kStart;
  Mode mode_ = Mode::kLines;
  EventFormat format_ = EventFormat::kUnknown;
  std::unique_ptr<RecordParser> parser_;
  // JSON documents and XML elements that span reads.
  bool in_document_ = false;
  JsonScanState json_state_;
  // Windows XML: to report a stream that held no <Event> element at all.
  static constexpr size_t kHeadSample = 256;
  uint64_t records_at_start_ = 0;
  std::string head_sample_;
  uint64_t document_line_ = 0;
  uint64_t document_newlines_ = 0;
};

// An .evtx file read with EvtxFile; each record is parsed as Windows XML.
class EvtxInput final : public Input {
 public:
  EvtxInput(Context& context, std::string path, std::string name, bool remove_when_done)
      : context_(context),
        path_(std::move(path)),
        name_(std::move(name)),
        remove_when_done_(remove_when_done) {
    ++context_.stats.files;
    auto file = EvtxFile::Open(path_);
    if (!file) {
      Error error = std::move(file.error());
      error.where = name_;
      context_.Damaged(std::move(error), EventFormat::kEvtx, {});
      return;
    }
    file_ = std::move(*file);
    parser_ = MakeParser(EventFormat::kWindowsXml);
    if (parser_ == nullptr) {
      context_.Skip(name_, "skipped: no Windows XML parser");
      file_.reset();
    }
  }
  ~EvtxInput() override {
    file_.reset();
    if (remove_when_done_) ::unlink(path_.c_str());
  }

  bool Next(Event& out) override {
    if (file_ == nullptr) return false;
    while (true) {
      uint64_t record_number = 0;
      Error error;
      switch (file_->Next(xml_, record_number, error)) {
        case EvtxFile::Status::kRecord: {
          ++records_read_;
          context_.stats.bytes += xml_.size();
          out.Clear();
          out.format = EventFormat::kWindowsXml;
          out.source.assign(name_);
          out.line = record_number;
          if (context_.options.keep_raw) out.raw.assign(xml_);
          auto parsed = parser_->Parse(xml_, out);
          if (!parsed) {
            Error bad = std::move(parsed.error());
            bad.where = name_;
            bad.line = record_number;
            context_.Reject(std::move(bad), EventFormat::kWindowsXml, xml_);
            continue;
          }
          if (*parsed == ParseOutcome::kSkip) continue;
          ++context_.stats.records;
          ++context_.stats.events;
          return true;
        }
        case EvtxFile::Status::kBadRecord:
          ++records_read_;
          error.where = name_;
          context_.Reject(std::move(error), EventFormat::kEvtx, {});
          continue;
        case EvtxFile::Status::kEnd:
          if (file_->damaged()) ++context_.stats.damaged_files;
          done_size_ = file_->file_size();
          file_.reset();
          return false;
      }
    }
  }

  uint64_t progress() const override {
    if (file_ == nullptr) return done_size_;
    uint64_t total = file_->records_total();
    if (total == 0) return 0;
    return file_->file_size() * std::min(records_read_, total) / total;
  }

 private:
  Context& context_;
  std::string path_;
  std::string name_;
  bool remove_when_done_;
  std::unique_ptr<EvtxFile> file_;
  std::unique_ptr<RecordParser> parser_;
  std::string xml_;
  uint64_t records_read_ = 0;
  uint64_t done_size_ = 0;
};

// Copies a stream into a temporary file (EvtxFile reads files only). Returns its path.
Result<std::string> CopyToTemporaryFile(ByteSource& source) {
  std::string path = (std::filesystem::temp_directory_path() / "aegis-evtx-XXXXXX").string();
  int fd = ::mkstemp(path.data());
  if (fd < 0) return Fail("cannot create a temporary file: " + ErrnoText(errno));
  std::vector<char> chunk(kReadChunk);
  while (true) {
    auto n = source.Read(chunk.data(), chunk.size());
    if (!n || *n == 0) {
      ::close(fd);
      if (!n) {
        ::unlink(path.c_str());
        return std::unexpected(n.error());
      }
      return path;
    }
    size_t written = 0;
    while (written < *n) {
      ssize_t w = ::write(fd, chunk.data() + written, *n - written);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        ::close(fd);
        ::unlink(path.c_str());
        return Fail("cannot write a temporary file: " + ErrnoText(errno));
      }
      written += static_cast<size_t>(w);
    }
  }
}

// What an archive entry or a decompressed stream turns into: gzip inside is
// decompressed, EVTX goes through a temporary file, anything else is a record stream.
std::unique_ptr<Input> MakeStreamInput(Context& context, std::string name,
                                       std::unique_ptr<ByteSource> source) {
  auto peekable = std::make_unique<PeekableSource>(std::move(source));
  auto head = peekable->Peek(8);
  if (head && IsGzipMagic(*head)) {
    auto gzip = std::make_unique<GzipSource>(std::move(peekable));
    return std::make_unique<RecordStream>(context, std::move(name), std::move(gzip), nullptr,
                                          std::string());
  }
  if (head && IsEvtxMagic(*head) && (context.options.format == EventFormat::kUnknown ||
                                     context.options.format == EventFormat::kEvtx)) {
    auto path = CopyToTemporaryFile(*peekable);
    if (!path) {
      Error error = std::move(path.error());
      error.where = name;
      context.Damaged(std::move(error), EventFormat::kEvtx, {});
      return nullptr;
    }
    return std::make_unique<EvtxInput>(context, *path, std::move(name), true);
  }
  if (head && IsZipMagic(*head)) {
    context.Skip(name, "skipped: a zip archive inside an archive or on stdin; unpack it first");
    return nullptr;
  }
  return std::make_unique<RecordStream>(context, std::move(name), std::move(peekable), nullptr,
                                        std::string());
}

// A zip archive read with libzip: each entry in turn, named "archive.zip!entry".
class ZipInput final : public Input {
 public:
  ZipInput(Context& context, zip_t* archive, std::string path)
      : context_(context), archive_(archive), path_(std::move(path)) {
    entries_ = static_cast<uint64_t>(std::max<zip_int64_t>(0, zip_get_num_entries(archive_, 0)));
  }
  ~ZipInput() override {
    current_.reset();
    zip_discard(archive_);
  }

  bool Next(Event& out) override {
    while (true) {
      if (current_ != nullptr) {
        if (current_->Next(out)) return true;
        current_.reset();
        done_bytes_ += current_compressed_;
        current_compressed_ = 0;
        current_entry_ = nullptr;
      }
      if (next_index_ >= entries_) return false;
      OpenEntry(next_index_++);
    }
  }

  uint64_t progress() const override {
    uint64_t part = 0;
    if (current_entry_ != nullptr && current_size_ > 0) {
      part =
          current_compressed_ * std::min(current_entry_->consumed(), current_size_) / current_size_;
    }
    return done_bytes_ + part;
  }

 private:
  // Reads one entry of the archive.
  class EntrySource final : public ByteSource {
   public:
    explicit EntrySource(zip_file_t* file) : file_(file) {}
    ~EntrySource() override { zip_fclose(file_); }
    Result<size_t> Read(char* data, size_t size) override {
      zip_int64_t n = zip_fread(file_, data, size);
      if (n < 0) {
        return Fail(std::string("damaged zip entry: ") +
                    zip_error_strerror(zip_file_get_error(file_)));
      }
      consumed_ += static_cast<uint64_t>(n);
      return static_cast<size_t>(n);
    }
    uint64_t consumed() const override { return consumed_; }

   private:
    zip_file_t* file_;
    uint64_t consumed_ = 0;
  };

  void OpenEntry(uint64_t index) {
    zip_stat_t stat;
    zip_stat_init(&stat);
    if (zip_stat_index(archive_, index, 0, &stat) != 0) return;
    std::string entry_name = (stat.valid & ZIP_STAT_NAME) != 0 ? stat.name : "?";
    if (entry_name.ends_with('/')) return;  // a folder
    std::string name = path_ + "!" + entry_name;
    zip_file_t* file = zip_fopen_index(archive_, index, 0);
    if (file == nullptr) {
      context_.Damaged(MakeError(name, 0, 0,
                                 std::string("cannot read zip entry: ") +
                                     zip_error_strerror(zip_get_error(archive_))),
                       EventFormat::kUnknown, {});
      return;
    }
    auto entry = std::make_unique<EntrySource>(file);
    current_entry_ = entry.get();
    current_size_ = (stat.valid & ZIP_STAT_SIZE) != 0 ? stat.size : 0;
    current_compressed_ = (stat.valid & ZIP_STAT_COMP_SIZE) != 0 ? stat.comp_size : 0;
    current_ = MakeStreamInput(context_, std::move(name), std::move(entry));
    if (current_ == nullptr) {
      done_bytes_ += current_compressed_;
      current_compressed_ = 0;
      current_entry_ = nullptr;
    }
  }

  Context& context_;
  zip_t* archive_;
  std::string path_;
  uint64_t entries_ = 0;
  uint64_t next_index_ = 0;
  std::unique_ptr<Input> current_;
  EntrySource* current_entry_ = nullptr;  // owned by current_
  uint64_t current_size_ = 0;
  uint64_t current_compressed_ = 0;
  uint64_t done_bytes_ = 0;
};

// A zip archive whose central directory is missing (a truncated download): the entries
// are read in order from their local headers, up to the damage.
class DamagedZipInput final : public Input {
 public:
  DamagedZipInput(Context& context, int fd, std::string path)
      : context_(context), file_(fd, true), path_(std::move(path)), input_(kInputSize) {}
  ~DamagedZipInput() override {
    current_.reset();
    if (inflating_) inflateEnd(&stream_);
  }

  bool Next(Event& out) override {
    while (true) {
      if (current_ != nullptr) {
        if (current_->Next(out)) return true;
        current_.reset();
        if (entry_damaged_) {
          // The entry's stream reported where the archive broke.
          finished_ = true;
          reported_ = true;
          return false;
        }
        if (!FinishEntry()) return false;
      }
      if (finished_) return false;
      if (!OpenNextEntry()) return false;
    }
  }

  uint64_t progress() const override { return file_.consumed() - available_; }

 private:
  static constexpr size_t kInputSize = 256 << 10;

  class EntrySource final : public ByteSource {
   public:
    explicit EntrySource(DamagedZipInput& owner) : owner_(owner) {}
    Result<size_t> Read(char* data, size_t size) override { return owner_.ReadEntry(data, size); }
    uint64_t consumed() const override { return owner_.progress(); }

   private:
    DamagedZipInput& owner_;
  };

  // Makes at least `size` bytes available at input_[position_]; false at the end of file.
  bool Ensure(size_t size) {
    if (available_ >= size) return true;
    std::memmove(input_.data(), input_.data() + position_, available_);
    position_ = 0;
    while (available_ < size) {
      auto n = file_.Read(input_.data() + available_, input_.size() - available_);
      if (!n || *n == 0) return false;
      available_ += *n;
    }
    return true;
  }
  void Consume(size_t size) {
    position_ += size;
    available_ -= size;
  }
  uint32_t Le32(size_t at) const {
    const auto* p = reinterpret_cast<const unsigned char*>(input_.data() + position_ + at);
    return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
  }
  uint16_t Le16(size_t at) const {
    const auto* p = reinterpret_cast<const unsigned char*>(input_.data() + position_ + at);
    return static_cast<uint16_t>(p[0] | (p[1] << 8));
  }

  bool OpenNextEntry() {
    while (true) {
      if (!Ensure(30) || Le32(0) != 0x04034b50) {
        // End of the local entries: the central directory (or the damage) follows.
        finished_ = true;
        ReportArchiveDamage({});
        return false;
      }
      flags_ = Le16(6);
      method_ = Le16(8);
      remaining_ = Le32(18);
      size_t name_length = Le16(26);
      size_t extra_length = Le16(28);
      if (!Ensure(30 + name_length + extra_length)) {
        finished_ = true;
        ReportArchiveDamage({});
        return false;
      }
      std::string entry_name(input_.data() + position_ + 30, name_length);
      Consume(30 + name_length + extra_length);
      entry_name_ = path_ + "!" + entry_name;
      bool sizes_known = (flags_ & 8) == 0 && remaining_ != 0xFFFFFFFFu;
      if (method_ == 8) {
        std::memset(&stream_, 0, sizeof stream_);
        if (inflateInit2(&stream_, -MAX_WBITS) != Z_OK) return false;
        inflating_ = true;
      } else if (method_ != 0 || !sizes_known) {
        finished_ = true;
        ReportArchiveDamage("entry " + entry_name +
                            " cannot be read without the central directory");
        return false;
      }
      entry_end_ = false;
      entry_damaged_ = false;
      if (entry_name.ends_with('/')) {
        if (!FinishEntry()) return false;
        continue;
      }
      current_ = MakeStreamInput(context_, entry_name_, std::make_unique<EntrySource>(*this));
      if (current_ == nullptr && !FinishEntry()) return false;
      if (current_ != nullptr) return true;
    }
  }

  Result<size_t> ReadEntry(char* data, size_t size) {
    if (entry_end_) return size_t{0};
    if (method_ == 0) {
      if (remaining_ == 0) {
        entry_end_ = true;
        return size_t{0};
      }
      if (available_ == 0 && !Ensure(1)) return Truncated();
      size_t n = std::min<uint64_t>({size, available_, remaining_});
      std::memcpy(data, input_.data() + position_, n);
      Consume(n);
      remaining_ -= n;
      return n;
    }
    while (true) {
      if (available_ == 0 && !Ensure(1)) return Truncated();
      stream_.next_in = reinterpret_cast<Bytef*>(input_.data() + position_);
      stream_.avail_in = static_cast<uInt>(available_);
      stream_.next_out = reinterpret_cast<Bytef*>(data);
      stream_.avail_out = static_cast<uInt>(size);
      int status = inflate(&stream_, Z_NO_FLUSH);
      Consume(available_ - stream_.avail_in);
      size_t produced = size - stream_.avail_out;
      if (status == Z_STREAM_END) {
        entry_end_ = true;
        return produced;
      }
      if (status != Z_OK && status != Z_BUF_ERROR) {
        entry_damaged_ = true;
        return Fail("corrupt zip entry data");
      }
      if (produced > 0) return produced;
    }
  }

  std::unexpected<Error> Truncated() {
    entry_damaged_ = true;
    return Fail("truncated zip archive: it ends inside entry data after " +
                std::to_string(file_.consumed()) + " bytes");
  }

  // Skips what is left of the entry and its data descriptor.
  bool FinishEntry() {
    char scratch[4096];
    while (!entry_end_) {
      auto n = ReadEntry(scratch, sizeof scratch);
      if (!n) {
        finished_ = true;
        Error error = std::move(n.error());
        error.where = entry_name_;
        context_.Damaged(std::move(error), EventFormat::kUnknown, {});
        return false;
      }
      if (*n == 0) break;
    }
    if (inflating_) {
      inflateEnd(&stream_);
      inflating_ = false;
    }
    if ((flags_ & 8) != 0) {
      if (Ensure(4) && Le32(0) == 0x08074b50) Consume(4);
      if (Ensure(12)) Consume(12);
    }
    return true;
  }

  // The archive as a whole is damaged (no central directory): reported once.
  void ReportArchiveDamage(std::string reason) {
    if (reported_) return;
    reported_ = true;
    if (reason.empty()) {
      reason = "truncated zip archive: no central directory; entries read up to byte " +
               std::to_string(progress());
    }
    context_.Damaged(MakeError(path_, 0, progress(), std::move(reason)), EventFormat::kUnknown, {});
  }

  Context& context_;
  FdSource file_;
  std::string path_;
  std::vector<char> input_;
  size_t position_ = 0;
  size_t available_ = 0;
  z_stream stream_{};
  bool inflating_ = false;
  uint16_t flags_ = 0;
  uint16_t method_ = 0;
  uint64_t remaining_ = 0;  // stored entries: bytes left
  std::string entry_name_;
  bool entry_end_ = false;
  bool entry_damaged_ = false;
  bool finished_ = false;
  bool reported_ = false;
  std::unique_ptr<Input> current_;
};

// ---------------------------------------------------------------------------------------
// The reader

class ReaderImpl final : public EventReader {
 public:
  ReaderImpl(const ReaderOptions& options, BadRecordSink* sink, std::vector<std::string> paths,
             uint64_t total_bytes, bool follow)
      : paths_(std::move(paths)), total_bytes_(total_bytes), follow_(follow) {
    context_.options = options;
    context_.sink = sink;
  }

  bool Next(Event& out) override {
    while (true) {
      if (current_ != nullptr) {
        if (current_->Next(out)) return true;
        done_bytes_ += std::max(current_size_, current_->progress());
        current_.reset();
      }
      if (next_path_ >= paths_.size()) return false;
      if (context_.Stopped()) return false;  // files not yet started are left unread
      OpenPath(paths_[next_path_++]);
    }
  }

  const ReaderStats& stats() const override { return context_.stats; }
  uint64_t progress_bytes() const override {
    return done_bytes_ + (current_ != nullptr ? current_->progress() : 0);
  }
  uint64_t total_bytes() const override { return total_bytes_; }

 private:
  void OpenPath(const std::string& path) {
    current_size_ = 0;
    if (path == "-") {
      auto input = std::make_unique<FdSource>(STDIN_FILENO, false);
      input->StopWhen(context_.options.stop, context_.options.follow_poll_ms);
      current_ = MakeStreamInput(context_, "stdin", std::move(input));
      return;
    }
    // O_NONBLOCK: opening a named pipe must not wait for a writer (cleared below).
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 && errno == ENOENT && follow_) {
      // Followed file that does not exist (yet): wait for it to appear, like tail -F.
      auto missing = std::make_unique<FdSource>(-1, true);
      FdSource* follow_source = missing.get();
      current_ = std::make_unique<RecordStream>(context_, path, std::move(missing), follow_source,
                                                path);
      return;
    }
    if (fd < 0) {
      context_.Skip(path, "skipped: cannot open: " + ErrnoText(errno));
      return;
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    struct stat st {};
    if (::fstat(fd, &st) == 0) current_size_ = static_cast<uint64_t>(st.st_size);
    char magic[8] = {};
    ssize_t n = ::pread(fd, magic, sizeof magic, 0);
    std::string_view head(magic, n > 0 ? static_cast<size_t>(n) : 0);
    if (IsZipMagic(head)) {
      OpenZip(fd, path);
      return;
    }
    if (IsEvtxMagic(head) && (context_.options.format == EventFormat::kUnknown ||
                              context_.options.format == EventFormat::kEvtx)) {
      ::close(fd);
      current_ = std::make_unique<EvtxInput>(context_, path, path, false);
      return;
    }
    auto file = std::make_unique<FdSource>(fd, true);
    if (!S_ISREG(st.st_mode)) {
      file->StopWhen(context_.options.stop, context_.options.follow_poll_ms);
    }
    if (IsGzipMagic(head)) {
      current_ = std::make_unique<RecordStream>(
          context_, path, std::make_unique<GzipSource>(std::move(file)), nullptr, std::string());
      return;
    }
    FdSource* follow_source = follow_ && S_ISREG(st.st_mode) ? file.get() : nullptr;
    current_ = std::make_unique<RecordStream>(context_, path, std::move(file), follow_source,
                                              follow_source != nullptr ? path : std::string());
  }

  void OpenZip(int fd, const std::string& path) {
    int error = 0;
    zip_t* archive = zip_fdopen(fd, 0, &error);
    if (archive != nullptr) {
      current_ = std::make_unique<ZipInput>(context_, archive, path);
      return;
    }
    // zip_fdopen keeps the descriptor only on success.
    if (error == ZIP_ER_NOZIP || error == ZIP_ER_INCONS) {
      ::lseek(fd, 0, SEEK_SET);
      current_ = std::make_unique<DamagedZipInput>(context_, fd, path);
      return;
    }
    ::close(fd);
    zip_error_t zip_error;
    zip_error_init_with_code(&zip_error, error);
    context_.Damaged(
        MakeError(path, 0, 0,
                  std::string("cannot open zip archive: ") + zip_error_strerror(&zip_error)),
        EventFormat::kUnknown, {});
    zip_error_fini(&zip_error);
  }

  Context context_;
  std::vector<std::string> paths_;
  size_t next_path_ = 0;
  uint64_t total_bytes_ = 0;
  bool follow_ = false;
  std::unique_ptr<Input> current_;
  uint64_t current_size_ = 0;
  uint64_t done_bytes_ = 0;
};

// JSON-safe copy of possibly invalid UTF-8: bad bytes become U+FFFD.
std::string SanitizeUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t length = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xE  ? 3
                    : (c >> 3) == 0x1E ? 4
                                       : 0;
    bool valid = length != 0 && i + length <= s.size();
    for (size_t k = 1; valid && k < length; ++k) {
      valid = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    }
    if (valid) {
      out.append(s.substr(i, length));
      i += length;
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<EventReader>> EventReader::Open(const std::string& path,
                                                       const ReaderOptions& options,
                                                       BadRecordSink* bad_records) {
  std::vector<std::string> paths;
  uint64_t total = 0;
  bool follow = false;
  if (path == "-") {
    paths.push_back(path);
  } else {
    namespace fs = std::filesystem;
    std::error_code error;
    fs::file_status status = fs::status(path, error);
    if (error || !fs::exists(status)) {
      // Follow mode waits for a file that does not exist yet (like tail -F), as long as
      // its folder exists.
      fs::path parent = fs::path(path).parent_path();
      std::error_code parent_error;
      if (options.follow && !path.empty() && path.back() != '/' &&
          fs::is_directory(parent.empty() ? fs::path(".") : parent, parent_error)) {
        paths.push_back(path);
        return std::make_unique<ReaderImpl>(options, bad_records, std::move(paths), 0, true);
      }
      Error e = MakeError(path, 0, 0, "no such file or directory");
      return std::unexpected(std::move(e));
    }
    if (fs::is_directory(status)) {
      auto walker = fs::recursive_directory_iterator(
          path, fs::directory_options::skip_permission_denied, error);
      if (error)
        return std::unexpected(MakeError(path, 0, 0, "cannot read folder: " + error.message()));
      for (auto it = walker; it != fs::recursive_directory_iterator(); it.increment(error)) {
        if (error) break;
        std::error_code entry_error;
        if (it->is_regular_file(entry_error)) {
          paths.push_back(it->path().string());
          total += it->file_size(entry_error);
        }
      }
      std::sort(paths.begin(), paths.end());
    } else {
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // a pipe: no wait
      if (fd < 0) return std::unexpected(MakeError(path, 0, 0, "cannot open: " + ErrnoText(errno)));
      struct stat st {};
      if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) total = static_cast<uint64_t>(st.st_size);
      ::close(fd);
      paths.push_back(path);
      follow = options.follow;
    }
  }
  return std::make_unique<ReaderImpl>(options, bad_records, std::move(paths), total, follow);
}

DeadLetterFile::DeadLetterFile(std::string path) : path_(std::move(path)) {
  if (!path_.empty()) file_ = std::fopen(path_.c_str(), "ae");
}

DeadLetterFile::~DeadLetterFile() {
  if (file_ != nullptr) std::fclose(file_);
}

void DeadLetterFile::Reject(const BadRecord& bad) {
  count_.fetch_add(1);
  if (file_ == nullptr) return;
  std::string line = "{\"time\":";
  AppendJsonString(line, FormatTime(NowNs()));
  line += ",\"where\":";
  AppendJsonString(line, SanitizeUtf8(bad.error.where));
  line += ",\"line\":" + std::to_string(bad.error.line);
  line += ",\"offset\":" + std::to_string(bad.error.offset);
  line += ",\"field\":";
  AppendJsonString(line, SanitizeUtf8(bad.error.field));
  line += ",\"reason\":";
  AppendJsonString(line, SanitizeUtf8(bad.error.reason));
  line += ",\"format\":";
  AppendJsonString(line, FormatName(bad.format));
  line += ",\"raw\":";
  AppendJsonString(line, SanitizeUtf8(bad.raw.substr(0, kDeadLetterRawLimit)));
  line += "}\n";
  std::lock_guard lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

}  // namespace aegis::ingest
