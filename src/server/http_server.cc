#include "server/http_server.h"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace aegis::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

std::string_view SV(beast::string_view s) { return {s.data(), s.size()}; }

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// Bounded label values for metrics.
std::string_view MethodLabel(std::string_view m) {
  static constexpr std::string_view kKnown[] = {"GET",    "HEAD",  "POST",   "PUT",
                                                "DELETE", "PATCH", "OPTIONS"};
  for (auto k : kKnown)
    if (m == k) return k;
  return m == "-" ? "-" : "OTHER";
}

// Errors that mean "the peer went away or timed out": close without a response.
bool IsConnectionError(const beast::error_code& ec) {
  return ec.category() != http::make_error_code(http::error::bad_method).category();
}

}  // namespace

class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  virtual ~SessionBase() = default;
  virtual void Shutdown() = 0;  // any thread: the server is stopping
};

struct HttpServer::Impl {
  ServerConfig config;
  Router router;
  std::unique_ptr<MetricsRegistry> metrics = std::make_unique<MetricsRegistry>();
  std::mutex hook_mutex_;  // guards access_hook (the pointer, not the call)
  std::shared_ptr<const AccessHook> access_hook;
  std::optional<ssl::context> ssl_ctx;

  Gauge* active_gauge = nullptr;
  Counter* rejected_total = nullptr;
  Histogram* duration = nullptr;

  std::atomic<size_t> active{0};     // sessions serving requests
  std::atomic<size_t> rejecting{0};  // sessions answering 503
  std::atomic<bool> stopping{false};
  uint16_t port = 0;

  // Live sessions, so that Stop() can reach them.
  std::mutex sessions_mutex_;
  std::condition_variable sessions_cv_;
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions_;

  std::mutex lifecycle_mutex_;  // Start/Stop
  enum class State { kNew, kRunning, kStopped } state = State::kNew;

  // Declared last: torn down explicitly in Stop() before the members above.
  std::unique_ptr<net::io_context> ioc;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<net::steady_timer> accept_retry;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;

  void DoAccept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  void Register(const std::shared_ptr<SessionBase>& s) {
    std::lock_guard lock(sessions_mutex_);
    sessions_.emplace(s.get(), s);
  }
  void Unregister(SessionBase* s, bool rejected) {
    {
      std::lock_guard lock(sessions_mutex_);
      sessions_.erase(s);
      if (rejected)
        --rejecting;
      else
        --active;
      active_gauge->Set(static_cast<double>(active.load()));
    }
    sessions_cv_.notify_all();
  }
  void Record(const AccessRecord& r) {
    if (auto c = metrics->GetCounter("aegis_http_requests_total",
                                     "HTTP requests by method, route and status.",
                                     {{"method", std::string(MethodLabel(r.method))},
                                      {"route", r.route},
                                      {"status", std::to_string(r.status)}}))
      (*c)->Inc();
    duration->Observe(static_cast<double>(r.duration_us) / 1e6);
    if (config.access_log) {
      spdlog::info("http remote={} method={} path={} status={} bytes={} duration_us={} ua=\"{}\"",
                   r.remote, r.method, r.path, r.status, r.bytes, r.duration_us,
                   JsonEscape(r.user_agent));
    }
    std::shared_ptr<const AccessHook> hook;
    {
      std::lock_guard lock(hook_mutex_);
      hook = access_hook;
    }
    if (hook && *hook) {
      try {
        (*hook)(r);
      } catch (...) {
        spdlog::warn("http: access hook threw");
      }
    }
  }
};

namespace {

template <bool kTls>
class Session : public SessionBase {
  using Stream = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

 public:
  Session(HttpServer::Impl& server, tcp::socket socket, std::string remote, bool reject)
      : server_(server),
        stream_(MakeStream(server, std::move(socket))),
        remote_(std::move(remote)),
        reject_(reject) {}

  ~Session() override { server_.Unregister(this, reject_); }

  void Run() {
    net::dispatch(stream_.get_executor(), [self = Self()] { self->Begin(); });
  }

  void Shutdown() override {
    net::post(stream_.get_executor(), [self = Self()] {
      if (self->phase_ == Phase::kIdle || self->phase_ == Phase::kHandshake) self->Tcp().close();
    });
  }

 private:
  enum class Phase { kHandshake, kIdle, kReading, kHandling, kWriting, kClosing };

  static Stream MakeStream(HttpServer::Impl& server, tcp::socket socket) {
    if constexpr (kTls)
      return Stream(std::move(socket), *server.ssl_ctx);
    else
      return Stream(std::move(socket));
  }
  std::shared_ptr<Session> Self() { return std::static_pointer_cast<Session>(shared_from_this()); }
  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }

  void Begin() {
    if constexpr (kTls) {
      phase_ = Phase::kHandshake;
      Tcp().expires_after(server_.config.read_timeout);
      stream_.async_handshake(ssl::stream_base::server, [self = Self()](beast::error_code ec) {
        if (!ec) self->WaitRequest();
      });
    } else {
      WaitRequest();
    }
  }

  // Keep-alive wait: the idle timeout runs until the first byte of the next request.
  void WaitRequest() {
    if (server_.stopping.load()) return Close();
    if (buffer_.size() > 0) return ReadHeader();
    phase_ = Phase::kIdle;
    Tcp().expires_after(first_ ? server_.config.read_timeout : server_.config.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096), [self = Self()](beast::error_code ec, size_t n) {
      if (ec) return;  // closed, timed out or shut down: drop the connection
      self->buffer_.commit(n);
      self->ReadHeader();
    });
  }

  void ReadHeader() {
    phase_ = Phase::kReading;
    started_ = Clock::now();
    parser_.emplace();
    parser_->header_limit(
        static_cast<uint32_t>(std::min<size_t>(server_.config.max_header_bytes, UINT32_MAX)));
    parser_->body_limit(server_.config.max_body_bytes);
    Tcp().expires_after(server_.config.read_timeout);  // covers header and body
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = Self()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    const auto& req = parser_->get();
    if (auto it = req.find(http::field::expect);
        it != req.end() && IEquals(SV(it->value()), "100-continue") && !parser_->is_done()) {
      continue_.emplace(http::status::continue_, req.version());
      http::async_write(stream_, *continue_, [self = Self()](beast::error_code ec, size_t) {
        if (ec) return;
        self->ReadBody();
      });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    if (parser_->is_done()) return Handle();
    http::async_read(stream_, buffer_, *parser_, [self = Self()](beast::error_code ec, size_t) {
      if (ec) return self->OnReadError(ec);
      self->Handle();
    });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::header_limit) return SendError(431, "request header fields too large");
    if (ec == http::error::body_limit) return SendError(413, "payload too large");
    if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
        IsConnectionError(ec))
      return;
    SendError(400, "bad request");
  }

  void Handle() {
    phase_ = Phase::kHandling;
    auto& req = parser_->get();
    Request view;
    view.method = SV(req.method_string());
    view.target = SV(req.target());
    const size_t q = view.target.find('?');
    view.path = view.target.substr(0, q);
    if (q != std::string_view::npos) view.query = ParseQuery(view.target.substr(q + 1));
    view.headers.reserve(16);
    for (const auto& f : req) view.headers.emplace_back(SV(f.name_string()), SV(f.value()));
    view.body = req.body();
    view.remote = remote_;

    Response response;
    if (reject_) {
      response = Response::Error(503, "too many connections");
      response.headers.emplace_back("Retry-After", "1");
      route_ = "-";
      close_after_write_ = true;
    } else {
      Router::Outcome out = server_.router.Dispatch(view);
      if (!out.error.empty())
        spdlog::error("http: {} {} from {}: {}", view.method, view.path, remote_, out.error);
      response = std::move(out.response);
      route_ = std::move(out.route);
    }
    res_.emplace();
    res_->version(req.version());
    res_->result(response.status >= 100 && response.status <= 999
                     ? static_cast<unsigned>(response.status)
                     : 500u);
    res_->set(http::field::server, server_.config.server_header);
    for (auto& [k, v] : response.headers) res_->insert(k, v);
    if (req.method() != http::verb::head) res_->body() = std::move(response.body);
    res_->keep_alive(req.keep_alive() && !close_after_write_ && !server_.stopping.load());
    res_->prepare_payload();
    if (req.method() == http::verb::head) res_->content_length(response.body.size());
    Write();
  }

  void SendError(int status, std::string_view message) {
    Response response = Response::Error(status, message);
    route_ = "-";
    close_after_write_ = true;
    res_.emplace();
    res_->version(11);
    res_->result(static_cast<unsigned>(status));
    res_->set(http::field::server, server_.config.server_header);
    for (auto& [k, v] : response.headers) res_->insert(k, v);
    res_->body() = std::move(response.body);
    res_->keep_alive(false);
    res_->prepare_payload();
    Write();
  }

  void Write() {
    phase_ = Phase::kWriting;
    Tcp().expires_after(server_.config.write_timeout);
    http::async_write(stream_, *res_,
                      [self = Self()](beast::error_code ec, size_t) { self->OnWrite(ec); });
  }

  void OnWrite(beast::error_code ec) {
    Log();
    if (ec) return;
    if (close_after_write_ || !res_->keep_alive()) return Close();
    first_ = false;
    WaitRequest();
  }

  void Log() {
    AccessRecord r;
    r.remote = remote_;
    r.route = route_;
    r.status = static_cast<int>(res_->result_int());
    r.bytes = res_->body().size();
    r.duration_us = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_).count());
    if (parser_ && parser_->is_header_done()) {
      const auto& req = parser_->get();
      r.method = std::string(SV(req.method_string()));
      const std::string_view target = SV(req.target());
      r.path = std::string(target.substr(0, target.find('?')));
      r.user_agent = std::string(SV(req[http::field::user_agent]));
    } else {
      r.method = "-";
      r.path = "-";
    }
    server_.Record(r);
  }

  // Graceful close: TLS close_notify, or half-close and drain what the peer still sends
  // (so that an early response such as 413 is not lost to a TCP reset).
  void Close() {
    phase_ = Phase::kClosing;
    Tcp().expires_after(
        std::min<std::chrono::milliseconds>(server_.config.read_timeout, std::chrono::seconds(2)));
    if constexpr (kTls) {
      stream_.async_shutdown([self = Self()](beast::error_code) {});
    } else {
      beast::error_code ec;
      Tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
      if (ec) return;
      Drain();
    }
  }

  void Drain() {
    Tcp().async_read_some(net::buffer(drain_), [self = Self()](beast::error_code ec, size_t n) {
      self->drained_ += n;
      if (!ec && self->drained_ < (4u << 20)) self->Drain();
    });
  }

  HttpServer::Impl& server_;
  Stream stream_;
  std::string remote_;
  const bool reject_;
  Phase phase_ = Phase::kIdle;
  bool first_ = true;
  bool close_after_write_ = false;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> continue_;
  std::optional<http::response<http::string_body>> res_;
  std::string route_;
  Clock::time_point started_ = Clock::now();
  std::array<char, 4096> drain_;
  size_t drained_ = 0;
};

}  // namespace

void HttpServer::Impl::DoAccept() {
  acceptor->async_accept(net::make_strand(*ioc), [this](beast::error_code ec, tcp::socket socket) {
    OnAccept(ec, std::move(socket));
  });
}

void HttpServer::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (stopping.load() || !acceptor->is_open()) return;
  if (ec) {
    // Out of descriptors and the like: back off briefly instead of spinning.
    spdlog::warn("http: accept failed: {}", ec.message());
    accept_retry->expires_after(std::chrono::milliseconds(50));
    accept_retry->async_wait([this](beast::error_code ec) {
      if (!ec && !stopping.load()) DoAccept();
    });
    return;
  }
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  std::string remote = "-";
  if (auto ep = socket.remote_endpoint(ignored); !ignored)
    remote = ep.address().to_string() + ":" + std::to_string(ep.port());

  bool reject = false;
  if (active.load() >= config.max_connections) {
    rejected_total->Inc();
    reject = true;
    if (rejecting.load() >= std::max<size_t>(64, config.max_connections)) {
      socket.close(ignored);  // too many even to answer 503
      return DoAccept();
    }
  }
  (reject ? rejecting : active).fetch_add(1);
  active_gauge->Set(static_cast<double>(active.load()));
  if (ssl_ctx) {
    auto s = std::make_shared<Session<true>>(*this, std::move(socket), std::move(remote), reject);
    Register(s);
    s->Run();
  } else {
    auto s = std::make_shared<Session<false>>(*this, std::move(socket), std::move(remote), reject);
    Register(s);
    s->Run();
  }
  DoAccept();
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::Create(ServerConfig config, Router router) {
  if (config.threads == 0) return Fail("threads must be at least 1", "threads");
  if (config.max_connections == 0)
    return Fail("max_connections must be at least 1", "max_connections");
  if (config.max_header_bytes < 256)
    return Fail("max_header_bytes must be at least 256", "max_header_bytes");
  auto impl = std::make_unique<Impl>();
  if (config.tls) {
    try {
      ssl::context ctx(ssl::context::tls_server);
      ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                      ssl::context::single_dh_use);
      SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
      beast::error_code ec;
      ctx.use_certificate_chain_file(config.tls->cert_file, ec);
      if (ec) {
        Error e{.where = config.tls->cert_file,
                .field = "tls.cert_file",
                .reason = "cannot load certificate: " + ec.message()};
        return std::unexpected(std::move(e));
      }
      ctx.use_private_key_file(config.tls->key_file, ssl::context::pem, ec);
      if (ec) {
        Error e{.where = config.tls->key_file,
                .field = "tls.key_file",
                .reason = "cannot load private key: " + ec.message()};
        return std::unexpected(std::move(e));
      }
      if (SSL_CTX_check_private_key(ctx.native_handle()) != 1)
        return Fail("TLS private key does not match the certificate", "tls.key_file");
      impl->ssl_ctx.emplace(std::move(ctx));
    } catch (const std::exception& e) {
      return Fail(std::string("TLS setup failed: ") + e.what(), "tls");
    }
  }
  MetricsRegistry* m = impl->metrics.get();
  impl->active_gauge =
      *m->GetGauge("aegis_http_connections_active", "Open HTTP connections being served.");
  impl->rejected_total = *m->GetCounter("aegis_http_connections_rejected_total",
                                        "Connections refused with 503 (connection cap).");
  impl->duration = *m->GetHistogram("aegis_http_request_duration_seconds",
                                    "HTTP request durations in seconds.", DefaultDurationBuckets());
  // Built-ins; a route the caller registered first wins (the duplicate is refused).
  (void)router.Get("/healthz", [](const Request&) -> Result<Response> {
    return Response::Json(200, R"({"status":"ok"})");
  });
  (void)router.Get("/metrics", [m](const Request&) -> Result<Response> {
    Response r;
    r.headers.emplace_back("Content-Type", std::string(MetricsRegistry::kContentType));
    r.body = m->Render();
    return r;
  });
  impl->config = std::move(config);
  impl->router = std::move(router);
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

Result<void> HttpServer::Start() {
  Impl& s = *impl_;
  std::lock_guard lock(s.lifecycle_mutex_);
  if (s.state != Impl::State::kNew) return Fail("server already started", "state");
  beast::error_code ec;
  const auto address = net::ip::make_address(s.config.address, ec);
  if (ec) return Fail("bad listen address '" + s.config.address + "': " + ec.message(), "address");
  s.ioc = std::make_unique<net::io_context>(static_cast<int>(s.config.threads));
  s.acceptor = std::make_unique<tcp::acceptor>(net::make_strand(*s.ioc));
  s.accept_retry = std::make_unique<net::steady_timer>(s.acceptor->get_executor());
  const tcp::endpoint endpoint(address, s.config.port);
  auto fail = [&](std::string_view what) {
    Error e{.where = s.config.address + ":" + std::to_string(s.config.port),
            .field = "address",
            .reason = std::string(what) + ": " + ec.message()};
    s.accept_retry.reset();
    s.acceptor.reset();
    s.ioc.reset();
    return std::unexpected(std::move(e));
  };
  if (s.acceptor->open(endpoint.protocol(), ec); ec) return fail("open");
  if (s.acceptor->set_option(net::socket_base::reuse_address(true), ec); ec)
    return fail("reuse_address");
  if (s.acceptor->bind(endpoint, ec); ec) return fail("bind");
  if (s.acceptor->listen(net::socket_base::max_listen_connections, ec); ec) return fail("listen");
  s.port = s.acceptor->local_endpoint(ec).port();
  s.work.emplace(s.ioc->get_executor());
  s.DoAccept();
  for (unsigned i = 0; i < s.config.threads; ++i) {
    s.threads.emplace_back([&s] {
      for (;;) {
        try {
          s.ioc->run();
          return;
        } catch (const std::exception& e) {  // never expected: handlers catch their own
          spdlog::error("http: worker caught: {}", e.what());
        } catch (...) {
          spdlog::error("http: worker caught a non-standard exception");
        }
      }
    });
  }
  s.state = Impl::State::kRunning;
  spdlog::info("http: listening on {}:{} ({}, {} threads)", s.config.address, s.port,
               s.ssl_ctx ? "TLS" : "plain", s.config.threads);
  return {};
}

void HttpServer::Stop() {
  Impl& s = *impl_;
  std::lock_guard lock(s.lifecycle_mutex_);
  if (s.state != Impl::State::kRunning) return;
  s.stopping.store(true);
  net::post(s.acceptor->get_executor(), [&s] {
    beast::error_code ec;
    s.acceptor->close(ec);
    s.accept_retry->cancel();
  });
  {
    // Take references under the lock but notify outside it: dropping the last reference
    // runs ~Session, which takes sessions_mutex_.
    std::vector<std::shared_ptr<SessionBase>> live;
    {
      std::lock_guard sessions_lock(s.sessions_mutex_);
      for (auto& [raw, weak] : s.sessions_)
        if (auto session = weak.lock()) live.push_back(std::move(session));
    }
    for (auto& session : live) session->Shutdown();
    live.clear();
    std::unique_lock sessions_lock(s.sessions_mutex_);
    s.sessions_cv_.wait_for(sessions_lock, s.config.shutdown_timeout,
                            [&s] { return s.sessions_.empty(); });
    if (!s.sessions_.empty())
      spdlog::warn("http: {} connection(s) still open after the shutdown grace period; closing",
                   s.sessions_.size());
  }
  s.work.reset();
  s.ioc->stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
  s.accept_retry.reset();
  s.acceptor.reset();
  s.ioc.reset();  // destroys the remaining sessions
  s.state = Impl::State::kStopped;
}

uint16_t HttpServer::port() const { return impl_->port; }
bool HttpServer::tls() const { return impl_->ssl_ctx.has_value(); }
size_t HttpServer::active_connections() const { return impl_->active.load(); }
MetricsRegistry& HttpServer::metrics() { return *impl_->metrics; }
void HttpServer::SetAccessHook(AccessHook hook) {
  auto shared = std::make_shared<const AccessHook>(std::move(hook));
  std::lock_guard lock(impl_->hook_mutex_);
  impl_->access_hook = std::move(shared);
}

}  // namespace aegis::server
