// Internal to src/ingest: url.full for HTTP records, built from url.domain and
// url.path, shared by the Zeek (JSON and TSV) and Suricata parsers.
#pragma once

#include <string>

#include "core/event.h"

namespace aegis::ingest {

// One per parser: keeps the url.full key and the buffer the URL is built in.
class HttpUrlBuilder {
 public:
  // Adds url.full = "http://" + url.domain + url.path when `out` has both fields and
  // the path is an origin-form request target (starts with '/').
  void AddFullUrl(Event& out);

 private:
  FieldKey url_key_;
  std::string url_;
};

}  // namespace aegis::ingest
