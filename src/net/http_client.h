// Outbound HTTP(S) and SMTP on libcurl: feed downloads, webhooks, federation (TAXII
// client) and e-mail notifications. Blocking calls; one Client per thread (libcurl
// easy handles are not shared), connections are kept alive between calls.
//
//   net::HttpClient client({.timeout = 10s});
//   auto r = client.Get("https://hub.example/taxii2/", {{"Accept", "application/taxii+json;version=2.1"}});
//   if (r && r->status == 200) ... r->body ...
//   net::SendMail({.url = "smtp://127.0.0.1:2525", .from = "aegis@x", .to = {"soc@y"},
//                  .subject = "Early Warning", .body = "..."});
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"

namespace aegis::net {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct ClientOptions {
  std::chrono::milliseconds timeout{30'000};          // whole transfer
  std::chrono::milliseconds connect_timeout{5'000};
  std::string ca_file;              // extra CA bundle (PEM); empty: the system store
  bool verify_tls = true;           // false only for tests against self-signed servers
  size_t max_response_bytes = 256u << 20;
  std::string user_agent = "aegis";
};

struct HttpResponse {
  long status = 0;
  Headers headers;  // names lower-cased
  std::string body;
  std::optional<std::string_view> Header(std::string_view name) const;  // case-insensitive
};

class HttpClient {
 public:
  explicit HttpClient(ClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Errors are transport failures (DNS, connect, TLS, timeout, too large); any HTTP
  // status is a response. `url` may be http://, https:// or file:// (feeds on disk).
  Result<HttpResponse> Request(std::string_view method, const std::string& url,
                               const Headers& headers = {}, std::string_view body = {});
  Result<HttpResponse> Get(const std::string& url, const Headers& headers = {}) {
    return Request("GET", url, headers);
  }
  Result<HttpResponse> Post(const std::string& url, std::string_view body,
                            const Headers& headers = {}) {
    return Request("POST", url, headers, body);
  }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "Basic <base64(user:password)>"
std::string BasicAuthorization(std::string_view user, std::string_view password);

struct MailMessage {
  std::string url;  // "smtp://host:port" or "smtps://host:port"
  std::string user, password;  // empty: no AUTH
  std::string from;
  std::vector<std::string> to;
  std::string subject;
  std::string body;  // plain text, UTF-8
  std::chrono::milliseconds timeout{30'000};
};

// Sends one message over SMTP (STARTTLS when the server offers it on smtp://).
Result<void> SendMail(const MailMessage& message);

}  // namespace aegis::net
