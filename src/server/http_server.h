// HttpServer: the HTTP/1.1 core of `aegis serve` (REST/TAXII hub, Protective DNS block
// page). One listener (plain or TLS ≥ 1.2 from PEM files), keep-alive, a fixed pool of
// worker threads running one io_context, request limits and timeouts, a cap on
// concurrent connections (503), graceful Stop(), one access-log line per request, and
// the built-in routes GET /healthz and GET /metrics (Prometheus text format 0.0.4).
//
//   Router router;
//   router.Get("/hello", [](const Request&) -> Result<Response> { return Response::Text(200, "hi");
//   }); auto server = HttpServer::Create({.address = "0.0.0.0", .port = 8443, .tls =
//   TlsConfig{...}},
//                                    std::move(router));
//   if (!server || !(*server)->Start()) ...;
//   ...
//   (*server)->Stop();  // also done by the destructor
//
// Handlers run on the worker threads; a slow handler occupies one worker. See
// docs/SERVER.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/error.h"
#include "server/metrics.h"
#include "server/router.h"

namespace aegis::server {

struct TlsConfig {
  std::string cert_file;  // PEM certificate chain (leaf first)
  std::string key_file;   // PEM private key
};

struct ServerConfig {
  std::string address = "127.0.0.1";  // numeric IPv4 or IPv6 address
  uint16_t port = 0;                  // 0: a free port, see HttpServer::port()
  std::optional<TlsConfig> tls;       // set: TLS only (minimum TLS 1.2)
  unsigned threads = 4;
  size_t max_header_bytes = 16 * 1024;                // larger: 431 and close
  size_t max_body_bytes = 1024 * 1024;                // larger: 413 and close
  std::chrono::milliseconds read_timeout{10'000};     // a whole request (and TLS handshake)
  std::chrono::milliseconds idle_timeout{30'000};     // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{10'000};    // a whole response
  size_t max_connections = 1024;                      // more: 503 and close
  std::chrono::milliseconds shutdown_timeout{5'000};  // Stop(): in-flight grace period
  bool access_log = true;                             // spdlog info line per request
  std::string server_header = "aegis";
};

// One finished request, as written to the access log.
struct AccessRecord {
  std::string remote;  // "127.0.0.1:54321"
  std::string method;  // "-" when the request line was not read (431, 400)
  std::string path;
  std::string route;  // matched pattern, "unmatched", or "-" (rejected before routing)
  int status = 0;
  uint64_t bytes = 0;  // response body bytes
  uint64_t duration_us = 0;
  std::string user_agent;
};

// Called on a worker thread after each response is written; must be thread-safe.
using AccessHook = std::function<void(const AccessRecord&)>;

class HttpServer {
 public:
  // Validates the config and loads the TLS certificate and key. Adds GET /healthz and
  // GET /metrics unless the router already has them.
  static Result<std::unique_ptr<HttpServer>> Create(ServerConfig config, Router router);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the worker threads. Once only.
  Result<void> Start();
  // Stops accepting, closes idle connections, lets in-flight requests finish (their
  // responses carry `Connection: close`) for up to shutdown_timeout, then closes the
  // rest and joins the workers. Idempotent.
  void Stop();

  uint16_t port() const;  // the bound port (valid after Start)
  bool tls() const;
  size_t active_connections() const;
  MetricsRegistry& metrics();  // for other subsystems' metrics; lives as long as the server
  void SetAccessHook(AccessHook hook);  // any time; replaces the previous hook

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace aegis::server
