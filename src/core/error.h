// Error values that cross module boundaries.
//
// Every stage reports failures as `aegis::Error` inside `std::expected`, never as
// exceptions: bad input is an expected event. An Error says where (file and line
// or offset), which field, and why, so that a person can find the broken record.
//
//   aegis::Result<int> ParsePort(std::string_view s);
//   if (auto port = ParsePort(text); !port) log(port.error().ToString());
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <utility>

namespace aegis {

struct Error {
  std::string where;   // "path/to/file.log", "udp://127.0.0.1:514", ... (may be empty)
  uint64_t line = 0;   // 1-based line number, 0 when not line-oriented
  uint64_t offset = 0; // byte offset in the (decompressed) stream when known
  std::string field;   // the field at fault, if any
  std::string reason;  // why, in plain words

  // "file.log:12: field 'ts': not a number"
  std::string ToString() const;
};

template <typename T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> Fail(std::string reason, std::string field = {}) {
  Error e;
  e.reason = std::move(reason);
  e.field = std::move(field);
  return std::unexpected<Error>(std::move(e));
}

}  // namespace aegis
