// Shared fixture for the hub's HTTP tests (TAXII, REST): a temporary SQLite database
// with Accounts and StixStore opened on it, organisations, users and API tokens made
// through the real Accounts API, a HubContext, and a real HttpServer on 127.0.0.1
// port 0 with the routes under test. Requests go over real sockets with libcurl
// (net::HttpClient) or, for malformed requests, a raw TCP socket.
//
//   HubTestEnv env;
//   env.AddOrg("rxa", auth::OrgType::kTrust);
//   auto ana = env.AddUser("ana", "rxa", auth::Role::kAnalyst);
//   env.Start([&](server::Router& r, HubContext& c) { return RegisterTaxiiRoutes(r, c); });
//   auto reply = env.Send("GET", "/taxii2/", {{"Authorization", ana.Bearer()}});
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "auth/accounts.h"
#include "hub/context.h"
#include "intel/stix_store.h"
#include "net/http_client.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/router.h"

namespace aegis::hub::testing {

// A member of an organisation with a password and a token of the role's scopes.
struct TestUser {
  std::string id;
  std::string org_id;
  std::string password;
  std::string token;  // "aegis_<id>_<random>"
  std::string Bearer() const { return "Bearer " + token; }
  std::string Basic() const { return net::BasicAuthorization(id, password); }
  std::string BasicToken() const { return net::BasicAuthorization(id, token); }
};

class HubTestEnv {
 public:
  HubTestEnv() {
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::temp_directory_path() /
           ("aegis-hub-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    db_path_ = (dir_ / "hub.db").string();
    auth::AccountsOptions options;
    options.password_iterations = 100'000;  // the minimum: keeps user creation quick
    auto accounts = auth::Accounts::Open(db_path_, options);
    if (!accounts) {
      ADD_FAILURE() << "Accounts::Open: " << accounts.error().ToString();
      return;
    }
    accounts_ = std::move(*accounts);
    auto stix = intel::StixStore::Open(db_path_);
    if (!stix) {
      ADD_FAILURE() << "StixStore::Open: " << stix.error().ToString();
      return;
    }
    stix_ = std::move(*stix);
    context.accounts = accounts_.get();
    context.stix = stix_.get();
    context.metrics = &metrics;
  }
  ~HubTestEnv() {
    if (server_) server_->Stop();
    server_.reset();
    stix_.reset();
    accounts_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  HubTestEnv(const HubTestEnv&) = delete;
  HubTestEnv& operator=(const HubTestEnv&) = delete;

  bool ok() const { return accounts_ && stix_; }
  auth::Accounts& accounts() { return *accounts_; }
  intel::StixStore& stix() { return *stix_; }
  const std::string& db_path() const { return db_path_; }
  const std::filesystem::path& dir() const { return dir_; }

  void AddOrg(const std::string& id, auth::OrgType type = auth::OrgType::kTrust,
              std::vector<std::string> amber_share_with = {},
              std::optional<Tlp> default_tlp = std::nullopt) {
    auto org = accounts_->CreateOrg({.id = id,
                                     .name = "Org " + id,
                                     .type = type,
                                     .amber_share_with = std::move(amber_share_with),
                                     .default_tlp = default_tlp},
                                    auth::Actor::Cli());
    if (!org) ADD_FAILURE() << "CreateOrg " << id << ": " << org.error().ToString();
  }

  // A user with a password and a token carrying every scope the role allows
  // (`scopes` overrides).
  TestUser AddUser(const std::string& id, const std::string& org_id,
                   auth::Role role = auth::Role::kAnalyst,
                   std::optional<auth::Scopes> scopes = std::nullopt) {
    TestUser user;
    user.id = id;
    user.org_id = org_id;
    user.password = "pw-" + id + "-secret";
    auto created = accounts_->CreateUser(
        {.id = id, .org_id = org_id, .display_name = id, .role = role, .password = user.password},
        auth::Actor::Cli());
    if (!created) {
      ADD_FAILURE() << "CreateUser " << id << ": " << created.error().ToString();
      return user;
    }
    auto token = accounts_->CreateToken(
        {.user_id = id, .name = "test", .scopes = scopes.value_or(auth::Principal::RoleScopes(role))},
        auth::Actor::Cli());
    if (!token) {
      ADD_FAILURE() << "CreateToken " << id << ": " << token.error().ToString();
      return user;
    }
    user.token = token->secret;
    return user;
  }

  intel::Collection AddCollection(const std::string& alias, std::vector<std::string> readers,
                                  std::vector<std::string> writers,
                                  const std::string& title = {}) {
    intel::Collection c;
    c.alias = alias;
    c.title = title.empty() ? "Collection " + alias : title;
    c.description = "test collection " + alias;
    c.access.readers = std::move(readers);
    c.access.writers = std::move(writers);
    auto created = stix_->CreateCollection(std::move(c));
    if (!created) {
      ADD_FAILURE() << "CreateCollection " << alias << ": " << created.error().ToString();
      return {};
    }
    return *created;
  }

  // Starts the server with the routes `register_routes` adds.
  void Start(const std::function<Result<void>(server::Router&, HubContext&)>& register_routes,
             server::ServerConfig config = {}) {
    server::Router router;
    if (auto added = register_routes(router, context); !added) {
      ADD_FAILURE() << "routes: " << added.error().ToString();
      return;
    }
    config.address = "127.0.0.1";
    config.port = 0;
    config.access_log = false;
    if (config.max_body_bytes < context.max_content_length + 4096) {
      config.max_body_bytes = context.max_content_length + 4096;
    }
    auto server = server::HttpServer::Create(config, std::move(router));
    if (!server) {
      ADD_FAILURE() << "HttpServer::Create: " << server.error().ToString();
      return;
    }
    server_ = std::move(*server);
    if (auto started = server_->Start(); !started) {
      ADD_FAILURE() << "HttpServer::Start: " << started.error().ToString();
      server_.reset();
    }
  }

  uint16_t port() const { return server_ ? server_->port() : 0; }
  server::HttpServer* server() { return server_.get(); }
  std::string Url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port()) + std::string(path);
  }

  // One request over libcurl; a transport failure is a test failure (status 0).
  net::HttpResponse Send(std::string_view method, std::string_view path,
                         const net::Headers& headers = {}, std::string_view body = {}) {
    auto reply = client_.Request(method, Url(path), headers, body);
    if (!reply) {
      ADD_FAILURE() << method << " " << path << ": " << reply.error().ToString();
      return {};
    }
    return std::move(*reply);
  }

  // Sends `raw` bytes as they are and returns everything the server writes back
  // before it closes the connection or 5 s pass (send "Connection: close").
  std::string SendRaw(std::string_view raw) const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return {};
    timeval tv{.tv_sec = 5, .tv_usec = 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string out;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      size_t sent = 0;
      while (sent < raw.size()) {
        const ssize_t n = ::send(fd, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      char buffer[8192];
      ssize_t n;
      while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) out.append(buffer, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
  }

  HubContext context;
  server::MetricsRegistry metrics;

 private:
  std::filesystem::path dir_;
  std::string db_path_;
  std::unique_ptr<auth::Accounts> accounts_;
  std::unique_ptr<intel::StixStore> stix_;
  std::unique_ptr<server::HttpServer> server_;
  static net::ClientOptions ClientOptions() {
    net::ClientOptions options;
    options.timeout = std::chrono::milliseconds(20'000);
    return options;
  }
  net::HttpClient client_{ClientOptions()};
};

}  // namespace aegis::hub::testing
