// Shared by the RecordParser fuzz targets: one parse of the fuzzer's input, and the
// checks made on what the parser gives back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/event.h"
#include "ingest/ingest.h"

namespace aegis::ingest::fuzzing {

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// Parses `input` into `event` (cleared first) with a parser reused across inputs, as
// a reader reuses it. Traps when an error gives no reason; false on an error.
inline bool ParseChecked(RecordParser& parser, std::string_view input, Event& event) {
  event.Clear();
  auto result = parser.Parse(input, event);
  if (!result) {
    if (result.error().reason.empty()) __builtin_trap();  // every error must say why
    return false;
  }
  return true;
}

// Traps on a field with an empty name, original name or value.
inline void CheckNoEmptyFields(const Event& event) {
  for (const Field& field : event.fields()) {
    if (field.key.name.empty() || field.key.original.empty() || field.value.empty()) {
      __builtin_trap();
    }
  }
}

// Reads every field's name and value, so that the parser's work is not optimised away.
inline void ReadEveryField(const Event& event) {
  size_t total = 0;
  for (const Field& field : event.fields()) total += field.key.name.size() + field.value.size();
  if (total == SIZE_MAX) __builtin_trap();
}

}  // namespace aegis::ingest::fuzzing
