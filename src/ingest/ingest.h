// Ingest: turns bytes from files, folders, archives, stdin and syslog sockets into Events.
//
// Layers, each behind a small interface:
//   RecordParser  one record (a line, a JSON document, an EVTX XML record) -> Event
//   EventReader   a path or stdin -> records -> Events; sniffs the format, reads gzip
//                 and zip directly, walks folders, can follow a growing file
//   (syslog)      UDP/TCP listener -> Events (src/ingest/syslog_listener.h)
// Broken records never stop a reader: they are reported to a BadRecordSink with their
// file, line or offset and reason, counted, and reading goes on.
//
//   aegis::ingest::ReaderOptions opts;                 // format auto-detected
//   aegis::ingest::DeadLetterFile dead("bad.jsonl");
//   auto reader = aegis::ingest::EventReader::Open("logs/", opts, &dead);
//   aegis::Event ev;
//   while ((*reader)->Next(ev)) detect(ev);
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/event.h"

namespace aegis::ingest {

// What a parser did with one record.
enum class ParseOutcome : unsigned char {
  kEvent,  // `out` holds an event
  kSkip,   // not an event (a Zeek '#' header, a blank line): nothing to report
};

// Parses single records of one format. Not thread-safe: one parser per thread.
class RecordParser {
 public:
  virtual ~RecordParser() = default;
  virtual EventFormat format() const = 0;
  // Parses `record` into `out` (which the caller has Clear()ed and whose source/line/
  // offset/raw it has set). On error, Error::field and Error::reason say what is wrong;
  // the caller fills in where/line/offset.
  virtual Result<ParseOutcome> Parse(std::string_view record, Event& out) = 0;
};

// A parser for `format`; nullptr for kUnknown and kEvtx (a container, see EventReader).
std::unique_ptr<RecordParser> MakeParser(EventFormat format);

// Guesses the format from the first bytes of a (decompressed) stream.
// Returns kUnknown when nothing fits.
EventFormat SniffFormat(std::string_view head);

// A record that could not be parsed.
struct BadRecord {
  Error error;             // where (file/entry), line or offset, field, reason
  EventFormat format = EventFormat::kUnknown;
  std::string_view raw;    // the record itself (may be truncated by sinks)
};

class BadRecordSink {
 public:
  virtual ~BadRecordSink() = default;
  virtual void Reject(const BadRecord& bad) = 0;  // must be thread-safe
};

// Writes each bad record as one JSON line {"time","where","line","offset","field",
// "reason","format","raw"} to a dead-letter file, and counts them. Thread-safe.
class DeadLetterFile : public BadRecordSink {
 public:
  // An empty path counts without writing.
  explicit DeadLetterFile(std::string path);
  ~DeadLetterFile() override;
  void Reject(const BadRecord& bad) override;
  uint64_t count() const { return count_.load(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::mutex mutex_;  // guards file_
  std::FILE* file_ = nullptr;
  std::atomic<uint64_t> count_{0};
};

struct ReaderOptions {
  EventFormat format = EventFormat::kUnknown;  // kUnknown: sniff each file
  bool follow = false;        // keep reading as the file grows (like tail -F)
  int follow_poll_ms = 200;
  const std::atomic<bool>* stop = nullptr;     // ends follow mode when set
  bool keep_raw = true;       // copy each record into Event::raw
};

struct ReaderStats {
  uint64_t files = 0;
  uint64_t records = 0;       // records seen, including bad ones
  uint64_t events = 0;
  uint64_t bad_records = 0;
  uint64_t bytes = 0;         // decompressed bytes read
  uint64_t damaged_files = 0; // truncated gzip/zip/evtx: what came before the damage was kept
  uint64_t skipped_files = 0; // files (or archive entries) of no recognised format, each
                              // reported once to the BadRecordSink
};

// Reads events from a file, a folder (recursively, sorted), a .gz or .zip archive, an
// .evtx file, or stdin ("-"). Not thread-safe: one reader per thread.
class EventReader {
 public:
  virtual ~EventReader() = default;
  // Opens `path`; an error if it does not exist or cannot be read at all.
  static Result<std::unique_ptr<EventReader>> Open(const std::string& path,
                                                   const ReaderOptions& options,
                                                   BadRecordSink* bad_records);
  // Fills `out` with the next event; false at the end of input. Bad records and damaged
  // files go to the sink (and to stats) and never end the reading early.
  virtual bool Next(Event& out) = 0;
  virtual const ReaderStats& stats() const = 0;
  // Bytes consumed so far and total size, for progress bars (total 0 when unknown).
  virtual uint64_t progress_bytes() const = 0;
  virtual uint64_t total_bytes() const = 0;
};

}  // namespace aegis::ingest
