// Internal to src/detect: the stable id of an alert, shared by every detector.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "core/event.h"
#include "detect/hashing.h"

namespace aegis::detect {

// Hashes the detector, what fired (an indicator, a rule id), and the event's position
// and content: the same finding on the same event always gets the same id, so a
// re-scan updates alerts instead of duplicating them. Network inputs have no file
// position that survives a restart: the event's own time and raw record keep ids of
// different events apart there too.
inline std::string AlertId(std::string_view detector, std::string_view what, const Event& event) {
  uint64_t h = hashing::HashBytes(detector);
  h = hashing::HashBytes(what, h);
  h = hashing::HashBytes(event.source, h);
  h = hashing::HashU64(event.line, h);
  h = hashing::HashU64(event.offset, h);
  h = hashing::HashU64(static_cast<uint64_t>(event.timestamp_ns), h);
  h = hashing::HashBytes(event.raw, h);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hashing::Finish(h)));
  return std::string(hex, 16);
}

}  // namespace aegis::detect
