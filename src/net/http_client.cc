// libcurl-backed HTTP(S) client and SMTP sender: see net/http_client.h.
#include "net/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <mutex>
#include <string>
#include <utility>

#include <openssl/evp.h>

namespace aegis::net {
namespace {

// curl_global_init is not thread-safe before 7.84 on every platform: run it once.
void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

struct Transfer {
  HttpResponse* response;
  size_t limit;
  bool too_large = false;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (transfer->response->body.size() + n > transfer->limit) {
    transfer->too_large = true;
    return 0;  // aborts the transfer
  }
  transfer->response->body.append(data, n);
  return n;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t n = size * count;
  std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    transfer->response->headers.clear();  // a new response (redirect, 100-continue)
    return n;
  }
  const size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    transfer->response->headers.emplace_back(Lower(Trim(line.substr(0, colon))),
                                             std::string(Trim(line.substr(colon + 1))));
  }
  return n;
}

Error TransferError(std::string_view url, CURLcode code, const char* detail) {
  Error e;
  e.where = std::string(url);
  e.reason = std::string(curl_easy_strerror(code));
  if (detail != nullptr && *detail != '\0') e.reason += std::string(": ") + detail;
  return e;
}

}  // namespace

std::optional<std::string_view> HttpResponse::Header(std::string_view name) const {
  const std::string wanted = Lower(name);
  for (const auto& [key, value] : headers) {
    if (key == wanted) return value;
  }
  return std::nullopt;
}

struct HttpClient::Impl {
  ClientOptions options;
  CURL* curl = nullptr;
};

HttpClient::HttpClient(ClientOptions options) : impl_(std::make_unique<Impl>()) {
  GlobalInit();
  impl_->options = std::move(options);
  impl_->curl = curl_easy_init();
}

HttpClient::~HttpClient() {
  if (impl_->curl != nullptr) curl_easy_cleanup(impl_->curl);
}

Result<HttpResponse> HttpClient::Request(std::string_view method, const std::string& url,
                                         const Headers& headers, std::string_view body) {
  CURL* curl = impl_->curl;
  if (curl == nullptr) return Fail("libcurl could not be initialised");
  const ClientOptions& options = impl_->options;
  curl_easy_reset(curl);  // keeps live connections and the DNS cache

  HttpResponse response;
  Transfer transfer{&response, options.max_response_bytes};
  char detail[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, detail);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https,file");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_USERAGENT, options.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");  // gzip/deflate if offered
  if (!options.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, options.verify_tls ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, options.verify_tls ? 2L : 0L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);

  const std::string verb(method);
  if (verb == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (verb == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, verb.c_str());
  }
  if (!body.empty() || verb == "POST" || verb == "PUT" || verb == "PATCH") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_slist* list = nullptr;
  bool has_expect = false;
  for (const auto& [name, value] : headers) {
    if (Lower(name) == "expect") has_expect = true;
    const std::string line = name + ": " + value;
    list = curl_slist_append(list, line.c_str());
  }
  if (!has_expect) list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);

  const CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(list);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  if (transfer.too_large) {
    Error e;
    e.where = url;
    e.reason = "response larger than " + std::to_string(options.max_response_bytes) + " bytes";
    return std::unexpected(std::move(e));
  }
  if (code != CURLE_OK) return std::unexpected(TransferError(url, code, detail));
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  if (response.status == 0 && url.starts_with("file:")) response.status = 200;
  return response;
}

std::string BasicAuthorization(std::string_view user, std::string_view password) {
  const std::string plain = std::string(user) + ":" + std::string(password);
  std::string encoded(4 * ((plain.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                reinterpret_cast<const unsigned char*>(plain.data()),
                                static_cast<int>(plain.size()));
  encoded.resize(static_cast<size_t>(n));
  return "Basic " + encoded;
}

namespace {

struct MailPayload {
  std::string text;
  size_t offset = 0;
};

size_t ReadPayload(char* buffer, size_t size, size_t count, void* user) {
  auto* payload = static_cast<MailPayload*>(user);
  const size_t n = std::min(size * count, payload->text.size() - payload->offset);
  std::copy_n(payload->text.data() + payload->offset, n, buffer);
  payload->offset += n;
  return n;
}

// Header values must not carry line breaks (header injection).
std::string OneLine(std::string_view s) {
  std::string out;
  for (char c : s) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  return out;
}

std::string RfcDate() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

}  // namespace

Result<void> SendMail(const MailMessage& message) {
  if (message.to.empty()) return Fail("no recipient", "to");
  if (message.from.empty()) return Fail("no sender", "from");
  GlobalInit();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return Fail("libcurl could not be initialised");

  MailPayload payload;
  std::string to_header;
  for (const auto& rcpt : message.to) {
    if (!to_header.empty()) to_header += ", ";
    to_header += OneLine(rcpt);
  }
  payload.text = "Date: " + RfcDate() + "\r\nFrom: " + OneLine(message.from) + "\r\nTo: " +
                 to_header + "\r\nSubject: " + OneLine(message.subject) +
                 "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                 "Content-Transfer-Encoding: 8bit\r\n\r\n";
  // Normalise line ends to CRLF; curl dot-stuffs lines that start with '.'.
  for (size_t i = 0; i < message.body.size(); ++i) {
    char c = message.body[i];
    if (c == '\n' && (i == 0 || message.body[i - 1] != '\r')) payload.text += '\r';
    payload.text += c;
  }
  payload.text += "\r\n";

  char detail[CURL_ERROR_SIZE] = {0};
  curl_slist* rcpts = nullptr;
  for (const auto& rcpt : message.to) rcpts = curl_slist_append(rcpts, ("<" + OneLine(rcpt) + ">").c_str());
  const std::string from = "<" + OneLine(message.from) + ">";
  curl_easy_setopt(curl, CURLOPT_URL, message.url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, detail);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_TRY));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(message.timeout.count()));
  if (!message.user.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, message.user.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, message.password.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpts);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadPayload);
  curl_easy_setopt(curl, CURLOPT_READDATA, &payload);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  const CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(rcpts);
  curl_easy_cleanup(curl);
  if (code != CURLE_OK) return std::unexpected(TransferError(message.url, code, detail));
  return {};
}

}  // namespace aegis::net
