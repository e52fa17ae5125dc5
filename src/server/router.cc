#include "server/router.h"

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <set>

namespace aegis::server {

namespace {

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool PrefixMatches(std::string_view prefix, std::string_view path) {
  if (prefix.empty()) return true;  // "/" registered: everything
  if (!path.starts_with(prefix)) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

}  // namespace

std::optional<std::string_view> Request::Query(std::string_view name) const {
  for (const auto& [k, v] : query)
    if (k == name) return std::string_view(v);
  return std::nullopt;
}

std::optional<std::string_view> Request::Header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (IEquals(k, name)) return v;
  return std::nullopt;
}

Response Response::Json(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

Response Response::Text(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
  r.body = std::move(body);
  return r;
}

Response Response::Error(int status, std::string_view message) {
  return Json(status, fmt::format(R"({{"error":"{}","status":{}}})", JsonEscape(message), status));
}

std::string JsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          out += fmt::format("\\u{:04x}", static_cast<int>(c));
        else
          out += c;
    }
  }
  return out;
}

std::string UrlDecode(std::string_view s, bool plus_as_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      const int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (plus_as_space && c == '+') ? ' ' : c;
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos)
      out.emplace_back(UrlDecode(part), std::string());
    else
      out.emplace_back(UrlDecode(part.substr(0, eq)), UrlDecode(part.substr(eq + 1)));
  }
  return out;
}

Result<void> Router::Add(std::string method, std::string path, Handler handler) {
  if (path.empty() || path[0] != '/')
    return Fail("route path must start with '/': " + path, "path");
  auto& table = exact_[path];
  if (!table.emplace(method, std::move(handler)).second)
    return Fail("route already registered: " + method + " " + path, "path");
  return {};
}

Result<void> Router::AddPrefix(std::string method, std::string prefix, Handler handler) {
  if (prefix.empty() || prefix[0] != '/')
    return Fail("route prefix must start with '/': " + prefix, "path");
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  auto it = std::find_if(prefixes_.begin(), prefixes_.end(),
                         [&](const PrefixRoute& p) { return p.prefix == prefix; });
  if (it == prefixes_.end()) {
    prefixes_.push_back(PrefixRoute{prefix, prefix + "/*", {}});
    std::stable_sort(prefixes_.begin(), prefixes_.end(),
                     [](const PrefixRoute& a, const PrefixRoute& b) {
                       return a.prefix.size() > b.prefix.size();
                     });
    it = std::find_if(prefixes_.begin(), prefixes_.end(),
                      [&](const PrefixRoute& p) { return p.prefix == prefix; });
  }
  if (!it->methods.emplace(method, std::move(handler)).second)
    return Fail("route already registered: " + method + " " + prefix + "/*", "path");
  return {};
}

Router::Outcome Router::Dispatch(Request& request) const {
  Outcome out;
  const Handler* handler = nullptr;
  std::string_view route;
  std::set<std::string> allowed;
  if (auto it = exact_.find(std::string(request.path)); it != exact_.end()) {
    if (auto h = it->second.find(request.method); h != it->second.end()) {
      handler = &h->second;
      route = it->first;
    } else {
      for (const auto& [m, _] : it->second) allowed.insert(m);
    }
  }
  for (size_t i = 0; handler == nullptr && i < prefixes_.size(); ++i) {
    const PrefixRoute& p = prefixes_[i];
    if (!PrefixMatches(p.prefix, request.path)) continue;
    if (auto h = p.methods.find(request.method); h != p.methods.end()) {
      handler = &h->second;
      route = p.pattern;
    } else {
      for (const auto& [m, _] : p.methods) allowed.insert(m);
    }
  }
  if (handler == nullptr) {
    out.route = "unmatched";
    if (allowed.empty()) {
      out.response = Response::Error(404, "not found");
    } else {
      out.response = Response::Error(405, "method not allowed");
      std::string allow;
      for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
      out.response.headers.emplace_back("Allow", std::move(allow));
    }
    return out;
  }
  request.route = route;  // points into the table: valid as long as the router
  out.route = std::string(route);
  try {
    Result<Response> r = (*handler)(request);
    if (r) {
      out.response = std::move(*r);
    } else {
      out.error = r.error().ToString();
      out.response = Response::Error(500, "internal server error");
    }
  } catch (const std::exception& e) {
    out.error = std::string("handler threw: ") + e.what();
    out.response = Response::Error(500, "internal server error");
  } catch (...) {
    out.error = "handler threw a non-standard exception";
    out.response = Response::Error(500, "internal server error");
  }
  return out;
}

}  // namespace aegis::server
