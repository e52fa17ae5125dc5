// Federation over TAXII 2.1: see federation.h.
#undef TOML_HEADER_ONLY
#undef TOML_SHARED_LIB
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include "share/federation.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>
#include <toml++/toml.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "core/event.h"
#include "intel/stix_object.h"
#include "net/http_client.h"
#include "store/sqlite.h"

namespace aegis::share {
namespace {

namespace sql = store::sqlite;

constexpr std::string_view kTaxiiMediaType = "application/taxii+json;version=2.1";

constexpr sql::Migration kMigrations[] = {
    {1, "federation cursors",
     "CREATE TABLE federation_cursors ("
     " peer TEXT NOT NULL,"
     " direction TEXT NOT NULL,"  // 'pull' or 'push'
     " remote_collection TEXT NOT NULL,"
     " local_collection TEXT NOT NULL,"
     " cursor TEXT NOT NULL,"  // pull: X-TAXII-Date-Added-Last; push: intel::Cursor::Encode()
     " updated_at TEXT NOT NULL,"
     " PRIMARY KEY (peer, direction, remote_collection, local_collection));"},
};

// ---------------------------------------------------------------------------
// Configuration

Error ConfigError(std::string_view where, const toml::source_region& at, std::string field,
                  std::string reason) {
  Error e;
  e.where = std::string(where);
  e.line = at.begin.line;
  e.field = std::move(field);
  e.reason = std::move(reason);
  return e;
}

// toml++ 3.3 misbehaves on some non-ASCII code points (see pipeline/config.cc); such
// files are refused with a clear error instead.
std::optional<Error> CheckTomlSafe(std::string_view text, std::string_view where) {
  uint64_t line = 1;
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') ++line;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = c >= 0xF5 ? 0 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    uint32_t cp = len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
    bool valid = len > 1 && i + len <= text.size();
    for (size_t k = 1; valid && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      valid = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    const bool unsafe = (cp >= 0xA1 && cp <= 0x499) ||
                        (cp >= 0x2C5E && cp <= 0x3057 && cp != 0x3000) ||
                        (cp >= 0xFB26 && cp <= 0xFEFE);
    if (!valid || unsafe) {
      Error e;
      e.where = std::string(where);
      e.line = line;
      e.reason = valid ? "character not supported in configuration files by this build's TOML "
                         "parser (toml++ 3.3); use ASCII or \\u escapes"
                       : "not valid UTF-8";
      return e;
    }
    i += len;
  }
  return std::nullopt;
}

std::optional<std::chrono::seconds> ParseSeconds(const toml::node& node) {
  if (auto v = node.value<int64_t>()) {
    if (*v <= 0 || *v > 86'400 * 7) return std::nullopt;
    return std::chrono::seconds(*v);
  }
  auto s = node.value<std::string>();
  if (!s || s->size() < 2) return std::nullopt;
  const char unit = s->back();
  int64_t factor = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : 0;
  if (factor == 0) return std::nullopt;
  int64_t n = 0;
  for (size_t i = 0; i + 1 < s->size(); ++i) {
    const char d = (*s)[i];
    if (d < '0' || d > '9' || n > 1'000'000) return std::nullopt;
    n = n * 10 + (d - '0');
  }
  if (n <= 0 || n * factor > 86'400 * 7) return std::nullopt;
  return std::chrono::seconds(n * factor);
}

bool ValidPeerName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

std::optional<auth::OrgType> ParseOrgTypeName(std::string_view s) {
  for (auth::OrgType t : {auth::OrgType::kNationalCentre, auth::OrgType::kTrust,
                          auth::OrgType::kGpPractice, auth::OrgType::kSupplier}) {
    if (auth::OrgTypeName(t) == s) return t;
  }
  return std::nullopt;
}

// Percent-encodes a query parameter value.
std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string Snippet(std::string_view body) {
  std::string out(body.substr(0, 300));
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

Error PeerError(std::string_view peer, std::string reason) {
  Error e;
  e.where = "federation peer '" + std::string(peer) + "'";
  e.reason = std::move(reason);
  return e;
}

}  // namespace

Result<FederationConfig> ParseFederationToml(std::string_view text, std::string_view where) {
  if (auto unsafe = CheckTomlSafe(text, where)) return std::unexpected(*unsafe);
  toml::parse_result parsed = toml::parse(text, std::string(where));
  if (!parsed) {
    const auto& err = parsed.error();
    return std::unexpected(ConfigError(where, err.source(), "", std::string(err.description())));
  }
  FederationConfig config;
  const toml::table* federation = parsed.table()["federation"].as_table();
  if (federation == nullptr) {
    config.enabled = false;
    return config;
  }
  for (auto&& [key, node] : *federation) {
    if (key != "enabled" && key != "peers") {
      return std::unexpected(ConfigError(where, node.source(),
                                         "federation." + std::string(key.str()),
                                         "unknown key (expected enabled, peers)"));
    }
  }
  if (const toml::node* n = federation->get("enabled")) {
    auto v = n->value<bool>();
    if (!v)
      return std::unexpected(
          ConfigError(where, n->source(), "federation.enabled", "must be true or false"));
    config.enabled = *v;
  }
  const toml::node* peers_node = federation->get("peers");
  if (peers_node == nullptr) return config;
  const toml::array* peers = peers_node->as_array();
  if (peers == nullptr) {
    return std::unexpected(ConfigError(where, peers_node->source(), "federation.peers",
                                       "must be an array of tables ([[federation.peers]])"));
  }
  size_t index = 0;
  for (const toml::node& peer_node : *peers) {
    const std::string prefix = "federation.peers[" + std::to_string(index++) + "].";
    const toml::table* t = peer_node.as_table();
    if (t == nullptr) {
      return std::unexpected(ConfigError(where, peer_node.source(), prefix, "must be a table"));
    }
    FederationPeer peer;
    static constexpr std::string_view kKeys[] = {
        "name", "url",      "org",          "org_type",  "token",      "token_env",
        "user", "password", "password_env", "ca_file",   "verify_tls", "pull",
        "push", "interval", "max_backoff",  "page_size", "push_batch", "timeout"};
    for (auto&& [key, node] : *t) {
      if (std::find(std::begin(kKeys), std::end(kKeys), key.str()) == std::end(kKeys)) {
        return std::unexpected(
            ConfigError(where, node.source(), prefix + std::string(key.str()), "unknown key"));
      }
    }
    auto string = [&](std::string_view key, std::string& out) -> std::optional<Error> {
      if (const toml::node* n = t->get(key)) {
        auto v = n->value<std::string>();
        if (!v)
          return ConfigError(where, n->source(), prefix + std::string(key), "must be a string");
        out = *v;
      }
      return std::nullopt;
    };
    auto env = [&](std::string_view key, std::string& out) -> std::optional<Error> {
      std::string name;
      if (auto e = string(key, name)) return e;
      if (name.empty()) return std::nullopt;
      const char* value = std::getenv(name.c_str());
      if (value == nullptr || *value == '\0') {
        return ConfigError(where, t->get(key)->source(), prefix + std::string(key),
                           "environment variable '" + name + "' is not set");
      }
      out = value;
      return std::nullopt;
    };
    std::string org_type;
    for (auto [key, out] : {std::pair<std::string_view, std::string*>{"name", &peer.name},
                            {"url", &peer.url},
                            {"org", &peer.org},
                            {"org_type", &org_type},
                            {"token", &peer.token},
                            {"user", &peer.user},
                            {"password", &peer.password},
                            {"ca_file", &peer.ca_file}}) {
      if (auto e = string(key, *out)) return std::unexpected(*e);
    }
    if (auto e = env("token_env", peer.token)) return std::unexpected(*e);
    if (auto e = env("password_env", peer.password)) return std::unexpected(*e);
    if (const toml::node* n = t->get("verify_tls")) {
      auto v = n->value<bool>();
      if (!v)
        return std::unexpected(
            ConfigError(where, n->source(), prefix + "verify_tls", "must be true or false"));
      peer.verify_tls = *v;
    }
    for (auto [key, out] :
         {std::pair<std::string_view, std::chrono::seconds*>{"interval", &peer.interval},
          {"max_backoff", &peer.max_backoff},
          {"timeout", &peer.timeout}}) {
      if (const toml::node* n = t->get(key)) {
        auto d = ParseSeconds(*n);
        if (!d) {
          return std::unexpected(
              ConfigError(where, n->source(), prefix + std::string(key),
                          "must be a duration from 1s to 7 days (60, \"30s\", \"5m\", \"1h\")"));
        }
        *out = *d;
      }
    }
    for (auto [key, out] : {std::pair<std::string_view, size_t*>{"page_size", &peer.page_size},
                            {"push_batch", &peer.push_batch}}) {
      if (const toml::node* n = t->get(key)) {
        auto v = n->value<int64_t>();
        if (!v || *v < 1 || *v > 10'000) {
          return std::unexpected(ConfigError(where, n->source(), prefix + std::string(key),
                                             "must be a whole number from 1 to 10000"));
        }
        *out = static_cast<size_t>(*v);
      }
    }
    for (auto [key, links] :
         {std::pair<std::string_view, std::vector<CollectionLink>*>{"pull", &peer.pull},
          {"push", &peer.push}}) {
      const toml::node* n = t->get(key);
      if (n == nullptr) continue;
      const toml::array* list = n->as_array();
      if (list == nullptr) {
        return std::unexpected(
            ConfigError(where, n->source(), prefix + std::string(key),
                        "must be an array of {remote = \"<collection id>\", local = \"<alias>\"}"));
      }
      size_t i = 0;
      for (const toml::node& item : *list) {
        const std::string field = prefix + std::string(key) + "[" + std::to_string(i++) + "]";
        const toml::table* link = item.as_table();
        auto remote = link ? link->get_as<std::string>("remote") : nullptr;
        auto local = link ? link->get_as<std::string>("local") : nullptr;
        if (link == nullptr || remote == nullptr || local == nullptr || remote->get().empty() ||
            local->get().empty() || link->size() != 2) {
          return std::unexpected(
              ConfigError(where, item.source(), field,
                          "must be {remote = \"<collection id>\", local = \"<alias>\"}"));
        }
        links->push_back({remote->get(), local->get()});
      }
    }
    const toml::source_region& at = t->source();
    if (!ValidPeerName(peer.name)) {
      return std::unexpected(
          ConfigError(where, at, prefix + "name", "required: [a-z0-9-_], up to 64 characters"));
    }
    if (!peer.url.starts_with("https://") && !peer.url.starts_with("http://")) {
      return std::unexpected(
          ConfigError(where, at, prefix + "url",
                      "required: the peer's TAXII API root URL (https://host/taxii2/<root>/)"));
    }
    if (peer.org.empty()) {
      return std::unexpected(
          ConfigError(where, at, prefix + "org", "required: the peer's organisation id"));
    }
    if (!org_type.empty()) {
      auto type = ParseOrgTypeName(org_type);
      if (!type) {
        return std::unexpected(
            ConfigError(where, at, prefix + "org_type",
                        "must be national-centre, trust, gp-practice or supplier"));
      }
      peer.org_type = *type;
    }
    if (peer.token.empty() && (peer.user.empty() || peer.password.empty())) {
      return std::unexpected(
          ConfigError(where, at, prefix + "token",
                      "credentials required: token (or token_env), or user and password"));
    }
    if (peer.pull.empty() && peer.push.empty()) {
      return std::unexpected(
          ConfigError(where, at, prefix + "pull", "nothing to do: give pull and/or push"));
    }
    for (const FederationPeer& other : config.peers) {
      if (other.name == peer.name) {
        return std::unexpected(
            ConfigError(where, at, prefix + "name", "duplicate peer name '" + peer.name + "'"));
      }
    }
    config.peers.push_back(std::move(peer));
  }
  return config;
}

Result<FederationConfig> LoadFederationConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Error e;
    e.where = path;
    e.reason = "cannot read the configuration file";
    return std::unexpected(e);
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseFederationToml(buffer.str(), path);
}

// ---------------------------------------------------------------------------

struct PeerRuntime {
  FederationPeer config;
  std::vector<std::string> pull_local_ids;  // resolved, parallel to config.pull
  std::vector<std::string> push_local_ids;  // resolved, parallel to config.push

  std::mutex sync_mutex;  // serialises rounds of this peer; guards client
  std::unique_ptr<net::HttpClient> client;

  mutable std::mutex stats_mutex;  // guards stats
  PeerStats stats;

  std::thread thread;
};

struct Federation::Impl {
  Options options;
  std::vector<std::unique_ptr<PeerRuntime>> peers;

  std::mutex db_mutex;  // guards db and the statements
  sql::Db db;
  sql::Statement get_cursor, put_cursor;

  // Wake-ups: stop and "something to push". Shared with the store hook (weakly).
  struct Signal {
    std::mutex mutex;  // guards stop, nudges
    std::condition_variable cv;
    bool stop = false;
    uint64_t nudges = 0;
  };
  std::shared_ptr<Signal> signal = std::make_shared<Signal>();
  bool started = false;

  std::mutex orgs_mutex;  // guards orgs
  std::map<std::string, std::optional<auth::Organisation>, std::less<>> orgs;

  std::optional<std::string> GetCursor(const PeerRuntime& peer, std::string_view direction,
                                       std::string_view remote, std::string_view local) {
    std::lock_guard lock(db_mutex);
    sql::StatementUse use(get_cursor.get());
    use.Text(1, peer.config.name);
    use.Text(2, direction);
    use.Text(3, remote);
    use.Text(4, local);
    if (use.Step() == SQLITE_ROW) return std::string(sql::ColumnText(use.get(), 0));
    return std::nullopt;
  }

  Result<void> PutCursor(const PeerRuntime& peer, std::string_view direction,
                         std::string_view remote, std::string_view local, std::string_view cursor) {
    std::lock_guard lock(db_mutex);
    sql::StatementUse use(put_cursor.get());
    const std::string now = FormatTime(NowNs());
    use.Text(1, peer.config.name);
    use.Text(2, direction);
    use.Text(3, remote);
    use.Text(4, local);
    use.Text(5, cursor);
    use.Text(6, now);
    if (use.Step() != SQLITE_DONE)
      return std::unexpected(
          sql::SqliteError(db.get(), "saving a federation cursor", options.db_path));
    return {};
  }

  net::Headers Headers(const PeerRuntime& peer, bool with_body) {
    net::Headers h{{"Accept", std::string(kTaxiiMediaType)}};
    if (with_body) h.emplace_back("Content-Type", std::string(kTaxiiMediaType));
    if (!peer.config.token.empty()) {
      h.emplace_back("Authorization", "Bearer " + peer.config.token);
    } else {
      h.emplace_back("Authorization",
                     net::BasicAuthorization(peer.config.user, peer.config.password));
    }
    return h;
  }

  std::string ObjectsUrl(const PeerRuntime& peer, std::string_view remote) {
    std::string url = peer.config.url;
    if (!url.ends_with('/')) url.push_back('/');
    return url + "collections/" + UrlEncode(remote) + "/objects/";
  }

  // The TLP policy input for a stored object, with its producer's defaults when the
  // accounts are known (else TLP:AMBER for unmarked objects: fail closed).
  auth::SharedObject Shared(const intel::ObjectMeta& meta) {
    auth::SharedObject shared = meta.AsShared();
    if (options.accounts == nullptr || meta.producer_org.empty()) return shared;
    std::lock_guard lock(orgs_mutex);
    auto it = orgs.find(meta.producer_org);
    if (it == orgs.end()) {
      auto org = options.accounts->GetOrg(meta.producer_org);
      it = orgs.emplace(meta.producer_org, org ? *org : std::nullopt).first;
    }
    if (it->second) {
      shared.producer_default = it->second->default_tlp;
      for (const std::string& o : it->second->amber_share_with)
        shared.amber_share_with.push_back(o);
    }
    return shared;
  }

  Result<uint64_t> PullOne(PeerRuntime& peer, size_t link_index, SyncSummary& summary) {
    const CollectionLink& link = peer.config.pull[link_index];
    const std::string& local_id = peer.pull_local_ids[link_index];
    std::optional<std::string> added_after = GetCursor(peer, "pull", link.remote, link.local);
    const std::string base = ObjectsUrl(peer, link.remote);
    std::optional<std::string> next;
    uint64_t added_total = 0;
    simdjson::dom::parser parser;
    for (int page_number = 0; page_number < 100'000; ++page_number) {
      std::string url =
          base + "?limit=" + std::to_string(peer.config.page_size) + "&match%5Bversion%5D=all";
      if (added_after) url += "&added_after=" + UrlEncode(*added_after);
      if (next) url += "&next=" + UrlEncode(*next);
      auto reply = peer.client->Get(url, Headers(peer, false));
      if (!reply)
        return std::unexpected(
            PeerError(peer.config.name, "GET " + url + ": " + reply.error().ToString()));
      if (reply->status != 200) {
        return std::unexpected(PeerError(peer.config.name, "GET " + url + ": HTTP " +
                                                               std::to_string(reply->status) +
                                                               ": " + Snippet(reply->body)));
      }
      simdjson::dom::element envelope;
      simdjson::padded_string padded(reply->body);
      if (auto error = parser.parse(padded).get(envelope)) {
        return std::unexpected(PeerError(
            peer.config.name,
            "GET " + url + ": the envelope is not JSON: " + simdjson::error_message(error)));
      }
      bool more = false;
      if (envelope["more"].get_bool().get(more)) more = false;
      std::string_view next_token;
      const bool has_next = !envelope["next"].get_string().get(next_token);
      std::vector<intel::stix::StixObject> objects;
      simdjson::dom::array items;
      if (!envelope["objects"].get_array().get(items)) {
        size_t i = 0;
        for (simdjson::dom::element item : items) {
          std::string json = simdjson::minify(item);
          auto valid = intel::stix::ValidateObject(json);
          if (!valid) {
            ++summary.rejected;
            spdlog::warn("federation {}: pulled object {} rejected: {}", peer.config.name, i,
                         valid.error().ToString());
          } else {
            objects.push_back(std::move(*valid));
          }
          ++i;
        }
      }
      if (!objects.empty()) {
        auto added = options.stix->AddObjects(
            {.collection_id = local_id, .producer_org = peer.config.org}, objects);
        if (!added) return std::unexpected(added.error());
        added_total += added->added;
        summary.pulled += added->added;
        summary.rejected += added->failed;
        for (const intel::AddOutcome& o : added->outcomes) {
          if (o.kind == intel::AddOutcome::Kind::kFailed) {
            spdlog::warn("federation {}: pulled object {} not stored: {}", peer.config.name, o.id,
                         o.message);
          }
        }
      }
      if (auto last = reply->Header("X-TAXII-Date-Added-Last"); last && !last->empty()) {
        // The position of this page: the next round asks for what was added after it.
        if (auto saved = PutCursor(peer, "pull", link.remote, link.local, *last); !saved) {
          return std::unexpected(saved.error());
        }
      }
      if (!more) break;
      if (!has_next || next_token.empty()) {
        return std::unexpected(
            PeerError(peer.config.name, "GET " + url + ": more is true but there is no next"));
      }
      next = std::string(next_token);
    }
    return added_total;
  }

  Result<uint64_t> PushOne(PeerRuntime& peer, size_t link_index, SyncSummary& summary) {
    const CollectionLink& link = peer.config.push[link_index];
    const std::string& local_id = peer.push_local_ids[link_index];
    const auth::Reader reader{.org_id = peer.config.org, .org_type = peer.config.org_type};
    std::optional<intel::Cursor> after;
    if (auto saved = GetCursor(peer, "push", link.remote, link.local))
      after = intel::Cursor::Decode(*saved);
    const std::string url = ObjectsUrl(peer, link.remote);
    uint64_t pushed_total = 0;
    simdjson::dom::parser parser;
    for (int round = 0; round < 100'000; ++round) {
      intel::ObjectQuery q;
      q.collection_id = local_id;
      q.versions = intel::VersionMatch::kAll;
      q.limit = peer.config.push_batch;
      q.after = after;
      q.visible = [&](const intel::ObjectMeta& meta) {
        if (meta.producer_org == peer.config.org) return false;  // came from the peer
        return auth::Decide(reader, Shared(meta), auth::ReadPath::kFederation).allowed;
      };
      auto page = options.stix->Query(q);
      if (!page) return std::unexpected(page.error());
      std::optional<intel::Cursor> position = page->next;
      if (!position && !page->objects.empty()) {
        const intel::ObjectMeta& last = page->objects.back().meta;
        position = intel::Cursor{last.date_added_us, last.id, last.version};
      }
      if (!page->objects.empty()) {
        std::string body = "{\"objects\":[";
        for (size_t i = 0; i < page->objects.size(); ++i) {
          if (i) body.push_back(',');
          body.append(page->objects[i].json);
        }
        body.append("]}");
        auto reply = peer.client->Post(url, body, Headers(peer, true));
        if (!reply)
          return std::unexpected(
              PeerError(peer.config.name, "POST " + url + ": " + reply.error().ToString()));
        if (reply->status != 202) {
          return std::unexpected(PeerError(peer.config.name, "POST " + url + ": HTTP " +
                                                                 std::to_string(reply->status) +
                                                                 ": " + Snippet(reply->body)));
        }
        uint64_t success = page->objects.size(), failure = 0;
        simdjson::dom::element status;
        simdjson::padded_string padded(reply->body);
        if (!parser.parse(padded).get(status)) {
          uint64_t v;
          if (!status["success_count"].get_uint64().get(v)) success = v;
          if (!status["failure_count"].get_uint64().get(v)) failure = v;
          simdjson::dom::array failures;
          if (failure > 0 && !status["failures"].get_array().get(failures)) {
            for (simdjson::dom::element f : failures) {
              spdlog::warn("federation {}: peer refused a pushed object: {}", peer.config.name,
                           simdjson::minify(f));
            }
          }
        }
        pushed_total += success;
        summary.pushed += success;
        summary.rejected += failure;
      }
      if (position) {
        after = position;
        if (auto saved = PutCursor(peer, "push", link.remote, link.local, position->Encode());
            !saved) {
          return std::unexpected(saved.error());
        }
      }
      if (!page->more) break;
    }
    return pushed_total;
  }

  Result<SyncSummary> Round(PeerRuntime& peer) {
    std::lock_guard lock(peer.sync_mutex);
    if (!peer.client) {
      net::ClientOptions client_options;
      client_options.timeout =
          std::chrono::duration_cast<std::chrono::milliseconds>(peer.config.timeout);
      client_options.ca_file = peer.config.ca_file;
      client_options.verify_tls = peer.config.verify_tls;
      client_options.user_agent = "aegis-federation";
      peer.client = std::make_unique<net::HttpClient>(client_options);
    }
    SyncSummary summary;
    std::optional<Error> failure;
    for (size_t i = 0; i < peer.config.pull.size(); ++i) {
      if (auto r = PullOne(peer, i, summary); !r && !failure) failure = r.error();
    }
    for (size_t i = 0; i < peer.config.push.size(); ++i) {
      if (auto r = PushOne(peer, i, summary); !r && !failure) failure = r.error();
    }
    std::lock_guard stats_lock(peer.stats_mutex);
    peer.stats.pulled += summary.pulled;
    peer.stats.pushed += summary.pushed;
    peer.stats.rejected += summary.rejected;
    if (failure) {
      ++peer.stats.errors;
      peer.stats.last_error = failure->ToString();
      return std::unexpected(*failure);
    }
    ++peer.stats.rounds;
    peer.stats.last_success_ns = NowNs();
    return summary;
  }

  void Run(PeerRuntime& peer) {
    int failures = 0;
    uint64_t seen_nudges = 0;
    while (true) {
      {
        std::lock_guard lock(signal->mutex);
        if (signal->stop) return;
        seen_nudges = signal->nudges;
      }
      auto r = Round(peer);
      std::chrono::milliseconds wait = peer.config.interval;
      if (!r) {
        ++failures;
        spdlog::warn("federation: {}", r.error().ToString());
        const int64_t backoff_ms = 1000LL << std::min(failures - 1, 20);
        wait = std::min<std::chrono::milliseconds>(std::chrono::milliseconds(backoff_ms),
                                                   peer.config.max_backoff);
      } else {
        failures = 0;
        if (r->pulled || r->pushed) {
          spdlog::info("federation {}: pulled {}, pushed {}, rejected {}", peer.config.name,
                       r->pulled, r->pushed, r->rejected);
        }
      }
      std::unique_lock lock(signal->mutex);
      // After a failure, nudges do not shorten the back-off.
      signal->cv.wait_for(lock, wait, [&] {
        return signal->stop || (failures == 0 && signal->nudges != seen_nudges);
      });
    }
  }
};

Federation::Federation(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Federation::~Federation() { Stop(); }

Result<std::unique_ptr<Federation>> Federation::Open(const Options& options,
                                                     std::vector<FederationPeer> peers) {
  if (options.stix == nullptr) return Fail("no STIX store", "stix");
  if (options.db_path.empty())
    return Fail("no database path for the federation cursors", "db_path");
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  auto db = sql::OpenDatabase(options.db_path);
  if (!db) return std::unexpected(db.error());
  impl->db = std::move(*db);
  if (auto migrated =
          sql::ApplyComponentMigrations(impl->db.get(), "federation", kMigrations, options.db_path);
      !migrated) {
    return std::unexpected(migrated.error());
  }
  auto get =
      sql::Prepare(impl->db.get(),
                   "SELECT cursor FROM federation_cursors WHERE peer = ?1 AND direction = ?2 "
                   "AND remote_collection = ?3 AND local_collection = ?4",
                   options.db_path);
  if (!get) return std::unexpected(get.error());
  impl->get_cursor = std::move(*get);
  auto put =
      sql::Prepare(impl->db.get(),
                   "INSERT INTO federation_cursors (peer, direction, remote_collection, "
                   "local_collection, cursor, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                   "ON CONFLICT (peer, direction, remote_collection, local_collection) "
                   "DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
                   options.db_path);
  if (!put) return std::unexpected(put.error());
  impl->put_cursor = std::move(*put);

  auto resolve = [&](const std::string& name) -> Result<std::string> {
    auto found = options.stix->GetCollection(name);
    if (!found) return std::unexpected(found.error());
    if (*found) return (*found)->id;
    intel::Collection c;
    c.alias = name;
    c.title = name;
    c.description = "Kept in sync by federation.";
    auto created = options.stix->CreateCollection(std::move(c));
    if (!created) return std::unexpected(created.error());
    return created->id;
  };
  std::vector<std::string> push_ids;
  for (FederationPeer& config : peers) {
    if (!ValidPeerName(config.name))
      return Fail("peer name '" + config.name + "' is not [a-z0-9-_]", "name");
    if (config.org.empty()) return Fail("peer '" + config.name + "' has no organisation", "org");
    if (config.page_size == 0 || config.push_batch == 0) {
      return Fail("peer '" + config.name + "': page_size and push_batch must be at least 1",
                  "page_size");
    }
    for (const auto& other : impl->peers) {
      if (other->config.name == config.name)
        return Fail("duplicate peer name '" + config.name + "'", "name");
    }
    auto peer = std::make_unique<PeerRuntime>();
    for (const CollectionLink& link : config.pull) {
      auto id = resolve(link.local);
      if (!id) return std::unexpected(id.error());
      peer->pull_local_ids.push_back(*id);
    }
    for (const CollectionLink& link : config.push) {
      auto id = resolve(link.local);
      if (!id) return std::unexpected(id.error());
      peer->push_local_ids.push_back(*id);
      push_ids.push_back(*id);
    }
    peer->stats.peer = config.name;
    peer->config = std::move(config);
    impl->peers.push_back(std::move(peer));
  }
  // Wake the peers when something lands in a pushed collection.
  if (!push_ids.empty()) {
    std::weak_ptr<Impl::Signal> weak = impl->signal;
    options.stix->AddObjectsAddedHook([weak, push_ids](std::span<const intel::StoredObject> added) {
      auto signal = weak.lock();
      if (!signal) return;
      const bool relevant =
          std::any_of(added.begin(), added.end(), [&](const intel::StoredObject& o) {
            return std::find(push_ids.begin(), push_ids.end(), o.meta.collection_id) !=
                   push_ids.end();
          });
      if (!relevant) return;
      {
        std::lock_guard lock(signal->mutex);
        ++signal->nudges;
      }
      signal->cv.notify_all();
    });
  }
  return std::unique_ptr<Federation>(new Federation(std::move(impl)));
}

Result<SyncSummary> Federation::SyncPeer(std::string_view name) {
  for (auto& peer : impl_->peers) {
    if (peer->config.name == name) return impl_->Round(*peer);
  }
  return Fail("no federation peer '" + std::string(name) + "'", "peer");
}

void Federation::Start() {
  if (impl_->started) return;
  impl_->started = true;
  {
    std::lock_guard lock(impl_->signal->mutex);
    impl_->signal->stop = false;
  }
  for (auto& peer : impl_->peers) {
    PeerRuntime* p = peer.get();
    Impl* impl = impl_.get();
    peer->thread = std::thread([impl, p] { impl->Run(*p); });
  }
}

void Federation::Stop() {
  if (!impl_) return;
  {
    std::lock_guard lock(impl_->signal->mutex);
    impl_->signal->stop = true;
  }
  impl_->signal->cv.notify_all();
  for (auto& peer : impl_->peers) {
    if (peer->thread.joinable()) peer->thread.join();
  }
  impl_->started = false;
}

std::vector<PeerStats> Federation::Stats() const {
  std::vector<PeerStats> out;
  for (const auto& peer : impl_->peers) {
    std::lock_guard lock(peer->stats_mutex);
    out.push_back(peer->stats);
  }
  return out;
}

std::string Federation::MetricsText() const {
  const std::vector<PeerStats> stats = Stats();
  std::string out;
  auto family = [&](std::string_view name, std::string_view type, std::string_view help,
                    auto value) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
    for (const PeerStats& s : stats) {
      out.append(name).append("{peer=\"").append(s.peer).append("\"} ");
      out.append(std::to_string(value(s))).append("\n");
    }
  };
  family("aegis_federation_pulled_total", "counter",
         "Objects pulled from the peer and added locally.",
         [](const PeerStats& s) { return s.pulled; });
  family("aegis_federation_pushed_total", "counter", "Objects pushed to the peer and accepted.",
         [](const PeerStats& s) { return s.pushed; });
  family("aegis_federation_rejected_total", "counter",
         "Objects refused (invalid pulls, push failures).",
         [](const PeerStats& s) { return s.rejected; });
  family("aegis_federation_errors_total", "counter", "Failed synchronisation rounds.",
         [](const PeerStats& s) { return s.errors; });
  family("aegis_federation_last_success_seconds", "gauge",
         "Unix time of the last successful round.",
         [](const PeerStats& s) { return s.last_success_ns / 1'000'000'000; });
  return out;
}

}  // namespace aegis::share
