// Hosts-file blocklists: "0.0.0.0 evil.com other.com", "127.0.0.1 x  # note".
//
// The address column only says where the blocklist sends the name, so it is
// ignored; every name after it becomes a domain indicator. Names that belong to
// the machine itself (localhost, broadcasthost, ip6-localhost, ...) are skipped and
// counted as not loaded. A line whose first column is not an address is rejected.
#include <array>

#include "core/observables.h"
#include "intel/loaders.h"

namespace aegis::intel::internal {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != b[i]) return false;
  }
  return true;
}

bool IsLocalName(std::string_view name) {
  static constexpr std::array<std::string_view, 14> kLocalNames = {
      "localhost",      "localhost.localdomain", "local",          "broadcasthost",
      "localdomain",    "ip6-localhost",         "ip6-loopback",   "ip6-localnet",
      "ip6-mcastprefix", "ip6-allnodes",         "ip6-allrouters", "ip6-allhosts",
      "0.0.0.0",        "localhost.",
  };
  for (std::string_view local : kLocalNames) {
    if (EqualsNoCase(name, local)) return true;
  }
  return false;
}

// Splits off the next blank-separated token.
std::string_view NextToken(std::string_view& rest) {
  size_t begin = 0;
  while (begin < rest.size() && IsBlank(rest[begin])) ++begin;
  size_t end = begin;
  while (end < rest.size() && !IsBlank(rest[end])) ++end;
  std::string_view token = rest.substr(begin, end - begin);
  rest.remove_prefix(end);
  return token;
}

}  // namespace

void LoadHostsText(std::string_view text, std::string_view where, const IndicatorMeta& meta,
                   LoadContext& context) {
  detect::MetaId meta_id = context.Meta(meta);
  uint64_t line_number = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t newline = text.find('\n', pos);
    std::string_view line = text.substr(pos, newline == std::string_view::npos ? std::string_view::npos : newline - pos);
    pos = newline == std::string_view::npos ? text.size() : newline + 1;
    ++line_number;
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    std::string_view rest = line;
    std::string_view address = NextToken(rest);
    if (address.empty()) continue;
    if (!ParseIp(address)) {
      context.Reject("hosts line without address", address, where, line_number);
      continue;
    }
    for (std::string_view name = NextToken(rest); !name.empty(); name = NextToken(rest)) {
      if (IsLocalName(name)) {
        context.NotLoaded("localhost name", name, where, line_number);
        continue;
      }
      context.Offer(name, IndicatorType::kDomain, meta_id, where, line_number);
    }
  }
}

}  // namespace aegis::intel::internal
