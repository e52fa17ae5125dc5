// Internal to src/ingest: reads the records of a Windows .evtx file with libevtx and
// hands each one out as its XML text (parsed by the windows-xml RecordParser).
// A damaged file (truncated, bad chunk) yields every record that could be read;
// unreadable records are reported one by one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/error.h"

namespace aegis::ingest {

class EvtxFile {
 public:
  enum class Status : unsigned char { kRecord, kBadRecord, kEnd };

  virtual ~EvtxFile() = default;
  // Fails when the file cannot be opened or is not an EVTX file at all.
  static Result<std::unique_ptr<EvtxFile>> Open(const std::string& path);
  // kRecord: `xml` holds the record's XML, `record_number` its 1-based position.
  // kBadRecord: `error` says which record and why; call Next() again to go on.
  virtual Status Next(std::string& xml, uint64_t& record_number, Error& error) = 0;
  // True once the file turned out to be damaged (truncated, corrupted chunks).
  virtual bool damaged() const = 0;
  virtual uint64_t file_size() const = 0;
  virtual uint64_t records_total() const = 0;
};

}  // namespace aegis::ingest
