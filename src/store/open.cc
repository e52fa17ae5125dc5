// store::Open: picks the backend from a store URL.
//
//   sqlite:PATH, sqlite://PATH, sqlite:///ABSOLUTE/PATH, or a bare PATH -> SQLite file
//   sqlite::memory: (or :memory:)                                  -> SQLite in memory
//   postgres://... , postgresql://...                              -> not in this build yet
//   any other scheme:...                                           -> error
#include <filesystem>
#include <string>
#include <string_view>

#include "core/strings.h"
#include "store/sqlite_internal.h"
#include "store/store.h"

namespace aegis::store {
namespace {

bool IsSchemeChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '+' || c == '-' || c == '.';
}

// The URL scheme ("sqlite", "postgres", ...), or empty for a bare path. A scheme is
// at least two characters so that "C:" style prefixes and paths with a colon later
// on ("./a:b.db") are not mistaken for one; such files can be named "sqlite:a:b.db".
std::string_view SchemeOf(std::string_view url) {
  size_t colon = url.find(':');
  if (colon == std::string_view::npos || colon < 2) return {};
  const char first = url[0];
  if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z'))) return {};
  for (size_t i = 1; i < colon; ++i) {
    if (!IsSchemeChar(url[i])) return {};
  }
  return url.substr(0, colon);
}

// The URL without the password of "scheme://user:password@host/...", for errors.
std::string Redacted(std::string_view url) {
  size_t authority = url.find("://");
  if (authority == std::string_view::npos) return std::string(url);
  authority += 3;
  size_t at = url.find('@', authority);
  size_t path = url.find('/', authority);
  if (at == std::string_view::npos || (path != std::string_view::npos && at > path)) {
    return std::string(url);
  }
  size_t colon = url.find(':', authority);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return std::string(url.substr(0, colon + 1)) + "***" + std::string(url.substr(at));
}

std::unexpected<Error> UrlError(std::string_view url, std::string reason) {
  Error e;
  e.where = Redacted(url);
  e.reason = std::move(reason);
  return std::unexpected(std::move(e));
}

}  // namespace

namespace {

Result<std::unique_ptr<Store>> OpenUrl(const std::string& url, bool must_exist) {
  if (url.empty()) return UrlError(url, "empty store URL");
  const std::string scheme = AsciiLower(SchemeOf(url));
  std::string path;
  if (scheme.empty()) {
    path = url;
  } else if (scheme == "sqlite") {
    std::string_view rest = std::string_view(url).substr(scheme.size() + 1);
    if (rest.starts_with("//")) rest.remove_prefix(2);  // sqlite://rel.db, sqlite:///abs.db
    if (rest.empty()) return UrlError(url, "store URL names no database file");
    path = std::string(rest);
  } else if (scheme == "postgres" || scheme == "postgresql") {
    return UrlError(url, "PostgreSQL backend is not available in this build yet");
  } else {
    return UrlError(url, "unknown store URL scheme '" + scheme +
                             "' (use sqlite:PATH or a file path)");
  }
  std::error_code ec;
  if (must_exist && path != ":memory:" && !std::filesystem::exists(path, ec)) {
    return UrlError(url, "no store here yet (aegis scan --store, aegis intel load and aegis run "
                         "create it; check the path or set --store / $AEGIS_STORE)");
  }
  return internal::OpenSqliteStore(path);
}

}  // namespace

Result<std::unique_ptr<Store>> Open(const std::string& url) { return OpenUrl(url, false); }

Result<std::unique_ptr<Store>> OpenExisting(const std::string& url) { return OpenUrl(url, true); }

}  // namespace aegis::store
