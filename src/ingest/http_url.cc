// url.full for HTTP records: see http_url.h.
#include "ingest/http_url.h"

namespace aegis::ingest {

void HttpUrlBuilder::AddFullUrl(Event& out) {
  const Field* host = out.Find("url.domain");
  const Field* path = out.Find("url.path");
  if (host == nullptr || path == nullptr || !path->value.starts_with('/')) return;
  if (url_key_.name.empty()) url_key_ = KeyFor("url.full", "url.full");
  url_.assign("http://");
  url_.append(host->value);
  url_.append(path->value);
  out.Add(url_key_, ValueType::kString, url_);
}

}  // namespace aegis::ingest
