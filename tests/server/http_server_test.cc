// End-to-end tests of HttpServer over real sockets on 127.0.0.1 (port 0), with a small
// Beast client (plain and TLS) and the real `curl` binary when present.
#include "server/http_server.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <thread>

#include "common/test_util.h"

namespace aegis::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

struct Reply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  bool keep_alive = false;
};

// A blocking client built on async operations with a deadline, so that a broken server
// fails a test instead of hanging it.
template <bool kTls>
class Client {
  using Stream = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

 public:
  explicit Client(uint16_t port) : port_(port), ctx_(ssl::context::tls_client) {
    ctx_.set_verify_mode(ssl::verify_none);
    if constexpr (kTls)
      stream_.emplace(ioc_, ctx_);
    else
      stream_.emplace(ioc_);
  }

  bool Connect() {
    Tcp().expires_after(5s);
    auto ec = Run([&](auto cb) {
      Tcp().async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), cb);
    });
    if (ec) return false;
    if constexpr (kTls) {
      Tcp().expires_after(5s);
      ec = Run([&](auto cb) { stream_->async_handshake(ssl::stream_base::client, cb); });
    }
    return !ec;
  }

  std::optional<Reply> Send(http::verb method, std::string target, std::string body = {},
                            std::vector<std::pair<std::string, std::string>> headers = {},
                            bool keep_alive = true) {
    http::request<http::string_body> req(method, target, 11);
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::user_agent, "aegis-test");
    for (auto& [k, v] : headers) req.set(k, v);
    req.body() = std::move(body);
    req.keep_alive(keep_alive);
    req.prepare_payload();
    Tcp().expires_after(5s);
    if (Run([&](auto cb) { http::async_write(*stream_, req, cb); })) return std::nullopt;
    return Read();
  }

  bool WriteRaw(const std::string& data) {
    Tcp().expires_after(5s);
    return !Run([&](auto cb) { net::async_write(*stream_, net::buffer(data), cb); });
  }

  std::optional<Reply> Read() {
    http::response<http::string_body> res;
    Tcp().expires_after(5s);
    if (Run([&](auto cb) { http::async_read(*stream_, buffer_, res, cb); })) return std::nullopt;
    Reply r;
    r.status = static_cast<int>(res.result_int());
    r.body = res.body();
    r.keep_alive = res.keep_alive();
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = std::string(f.value());
    }
    return r;
  }

  // True when the server closes the connection within `limit` (no timing beyond that).
  bool WaitClosed(std::chrono::seconds limit = 5s) {
    Tcp().expires_after(limit);
    std::array<char, 1024> scratch;
    for (;;) {
      beast::error_code ec =
          Run([&](auto cb) { stream_->async_read_some(net::buffer(scratch), cb); });
      if (ec == beast::error::timeout) return false;
      if (ec) return true;
    }
  }

 private:
  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(*stream_); }

  template <typename Op>
  beast::error_code Run(Op op) {
    beast::error_code result = net::error::would_block;
    op([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run();
    return result;
  }

  uint16_t port_;
  net::io_context ioc_;
  ssl::context ctx_;
  std::optional<Stream> stream_;
  beast::flat_buffer buffer_;
};
using PlainClient = Client<false>;
using TlsClient = Client<true>;

bool HaveTool(const char* name) {
  return std::system((std::string("command -v ") + name + " >/dev/null 2>&1").c_str()) == 0;
}

// Runs curl; returns {status, body}. status 0 on failure.
std::pair<int, std::string> Curl(const std::string& args) {
  const std::string cmd =
      "curl -s --max-time 10 -o - -w '\\n%{http_code}' " + args + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return {0, ""};
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  const size_t nl = out.rfind('\n');
  if (nl == std::string::npos) return {0, out};
  return {std::atoi(out.c_str() + nl + 1), out.substr(0, nl)};
}

Router TestRouter() {
  Router r;
  (void)r.Get("/hello",
              [](const Request&) -> Result<Response> { return Response::Text(200, "hello"); });
  (void)r.Get("/echo", [](const Request& q) -> Result<Response> {
    std::string out = "path=" + std::string(q.path);
    for (const auto& [k, v] : q.query) out += ";" + k + "=" + v;
    if (auto ua = q.Header("user-agent")) out += ";ua=" + std::string(*ua);
    return Response::Text(200, out);
  });
  (void)r.Post("/echo", [](const Request& q) -> Result<Response> {
    Response res = Response::Text(201, std::string(q.body));
    res.headers.emplace_back("X-Body-Size", std::to_string(q.body.size()));
    return res;
  });
  (void)r.AddPrefix("GET", "/files/", [](const Request& q) -> Result<Response> {
    return Response::Text(200, "file:" + std::string(q.path.substr(7)));
  });
  (void)r.Get("/throw",
              [](const Request&) -> Result<Response> { throw std::runtime_error("handler bug"); });
  (void)r.Get("/fail",
              [](const Request&) -> Result<Response> { return Fail("store unavailable"); });
  return r;
}

ServerConfig QuietConfig() {
  ServerConfig c;
  c.threads = 3;
  c.access_log = false;
  c.read_timeout = 3s;
  c.idle_timeout = 3s;
  c.shutdown_timeout = 3s;
  return c;
}

std::unique_ptr<HttpServer> StartServer(ServerConfig config, Router router = TestRouter()) {
  auto server = HttpServer::Create(std::move(config), std::move(router));
  EXPECT_TRUE(server) << (server ? "" : server.error().ToString());
  if (!server) return nullptr;
  auto started = (*server)->Start();
  EXPECT_TRUE(started) << (started ? "" : started.error().ToString());
  EXPECT_NE((*server)->port(), 0);
  return std::move(*server);
}

class QuietLogs : public ::testing::Environment {
 public:
  void SetUp() override { spdlog::set_level(spdlog::level::critical); }
};
const auto* const kQuiet = ::testing::AddGlobalTestEnvironment(new QuietLogs);

TEST(HttpServerTest, RoutesQueryBodyAndPrefix) {
  auto server = StartServer(QuietConfig());
  ASSERT_TRUE(server);
  PlainClient c(server->port());
  ASSERT_TRUE(c.Connect());
  auto r = c.Send(http::verb::get, "/echo?a=1&b=x%20y+z&flag");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "path=/echo;a=1;b=x y z;flag=;ua=aegis-test");
  EXPECT_EQ(r->headers["content-type"], "text/plain; charset=utf-8");
  EXPECT_EQ(r->headers["server"], "aegis");
  r = c.Send(http::verb::post, "/echo", "payload-123");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "payload-123");
  EXPECT_EQ(r->headers["x-body-size"], "11");
  r = c.Send(http::verb::get, "/files/a/b.txt");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "file:a/b.txt");
}

TEST(HttpServerTest, NotFoundAndMethodNotAllowed) {
  auto server = StartServer(QuietConfig());
  ASSERT_TRUE(server);
  PlainClient c(server->port());
  ASSERT_TRUE(c.Connect());
  auto r = c.Send(http::verb::get, "/nothing-here");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->headers["content-type"], "application/json");
  EXPECT_EQ(r->body, R"({"error":"not found","status":404})");
  r = c.Send(http::verb::delete_, "/echo");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->headers["allow"], "GET, POST");
  EXPECT_TRUE(r->keep_alive);
}

TEST(HttpServerTest, HandlerFailureGives500AndServerKeepsServing) {
  auto server = StartServer(QuietConfig());
  ASSERT_TRUE(server);
  PlainClient c(server->port());
  ASSERT_TRUE(c.Connect());
  for (int i = 0; i < 3; ++i) {
    auto r = c.Send(http::verb::get, "/throw");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 500);
    EXPECT_EQ(r->body, R"({"error":"internal server error","status":500})");
    r = c.Send(http::verb::get, "/fail");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 500);
  }
  auto r = c.Send(http::verb::get, "/hello");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  PlainClient fresh(server->port());
  ASSERT_TRUE(fresh.Connect());
  EXPECT_EQ(fresh.Send(http::verb::get, "/healthz")->status, 200);
}

TEST(HttpServerTest, KeepAliveReusesOneConnection) {
  auto server = StartServer(QuietConfig());
  ASSERT_TRUE(server);
  std::mutex mu;
  std::vector<AccessRecord> records;
  server->SetAccessHook([&](const AccessRecord& r) {
    std::lock_guard lock(mu);
    records.push_back(r);
  });
  PlainClient c(server->port());
  ASSERT_TRUE(c.Connect());
  for (int i = 0; i < 5; ++i) {
    auto r = c.Send(http::verb::get, "/hello?i=" + std::to_string(i));
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(r->keep_alive);
  }
  ASSERT_TRUE(testing::WaitFor([&] {
    std::lock_guard lock(mu);
    return records.size() == 5;
  }));
  std::lock_guard lock(mu);
  for (const auto& r : records) {
    EXPECT_EQ(r.remote, records[0].remote);  // same client port: one connection
    EXPECT_EQ(r.method, "GET");
    EXPECT_EQ(r.path, "/hello");
    EXPECT_EQ(r.route, "/hello");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.bytes, 5u);
    EXPECT_EQ(r.user_agent, "aegis-test");
  }
  EXPECT_TRUE(records[0].remote.starts_with("127.0.0.1:"));
}

TEST(HttpServerTest, ConnectionCloseHonoured) {
  auto server = StartServer(QuietConfig());
  ASSERT_TRUE(server);
  PlainClient c(server->port());
  ASSERT_TRUE(c.Connect());
  auto r = c.Send(http::verb::get, "/hello", {}, {}, /*keep_alive=*/false);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->keep_alive);
  EXPECT_TRUE(c.WaitClosed());
}

TEST(HttpServerTest, BodyLimitGives413) {
  ServerConfig cfg = QuietConfig();
  cfg.max_body_bytes = 1024;
  auto server = StartServer(cfg);
  ASSERT_TRUE(server);
  {
    PlainClient c(server->port());
    ASSERT_TRUE(c.Connect());
    auto ok = c.Send(http::verb::post, "/echo", std::string(1024, 'a'));
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 201);
    auto r = c.Send(http::verb::post, "/echo", std::string(5000, 'b'));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_FALSE(r->keep_alive);
    EXPECT_TRUE(c.WaitClosed());
  }
  {  // announced length only: refused before the body arrives
    PlainClient c(server->port());
    ASSERT_TRUE(c.Connect());
    ASSERT_TRUE(c.WriteRaw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
  }
  {  // chunked
    PlainClient c(server->port());
    ASSERT_TRUE(c.Connect());
    std::string chunk(800, 'c');
    ASSERT_TRUE(
        c.WriteRaw("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n320\r\n" +
                   chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
  }
  if (HaveTool("curl")) {
    const auto path =
        std::filesystem::temp_directory_path() / ("aegis_srv_body_" + std::to_string(getpid()));
    { std::ofstream(path) << std::string(300000, 'x'); }
    auto [status, body] = Curl("--data-binary @" + path.string() +
                               " http://127.0.0.1:" + std::to_string(server->port()) + "/echo");
    std::filesystem::remove(path);
    EXPECT_EQ(status, 413);
  }
}

TEST(HttpServerTest, HeaderLimitGives431) {
  ServerConfig cfg = QuietConfig();
  cfg.max_header_bytes = 1024;
  auto server = StartServer(cfg);
  ASSERT_TRUE(server);
  PlainClient c(server->port());
  ASSERT_TRUE(c.Connect());
  auto r = c.Send(http::verb::get, "/hello", {}, {{"X-Big", std::string(4000, 'h')}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_TRUE(c.WaitClosed());
  PlainClient ok(server->port());
  ASSERT_TRUE(ok.Connect());
  EXPECT_EQ(ok.Send(http::verb::get, "/hello", {}, {{"X-Small", "s"}})->status, 200);
}

TEST(HttpServerTest, MalformedRequestGives400) {
  auto server = StartServer(QuietConfig());
  ASSERT_TRUE(server);
  PlainClient c(server->port());
  ASSERT_TRUE(c.Connect());
  ASSERT_TRUE(c.WriteRaw("GARBAGE\x01 / HTTP/1.1\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

TEST(HttpServerTest, ReadAndIdleTimeoutsCloseConnections) {
  ServerConfig cfg = QuietConfig();
  cfg.read_timeout = 300ms;
  cfg.idle_timeout = 300ms;
  auto server = StartServer(cfg);
  ASSERT_TRUE(server);
  PlainClient stalled(server->port());
  ASSERT_TRUE(stalled.Connect());
  ASSERT_TRUE(stalled.WriteRaw("GET /hello HTTP/1.1\r\nHost: x\r\n"));  // never finished
  EXPECT_TRUE(stalled.WaitClosed());
  PlainClient silent(server->port());
  ASSERT_TRUE(silent.Connect());  // sends nothing at all
  EXPECT_TRUE(silent.WaitClosed());
  PlainClient idle(server->port());
  ASSERT_TRUE(idle.Connect());
  ASSERT_EQ(idle.Send(http::verb::get, "/hello")->status, 200);
  EXPECT_TRUE(idle.WaitClosed());  // keep-alive, then idle
  EXPECT_TRUE(testing::WaitFor([&] { return server->active_connections() == 0; }, 5));
}

TEST(HttpServerTest, ConnectionCapAnswers503) {
  ServerConfig cfg = QuietConfig();
  cfg.max_connections = 2;
  auto server = StartServer(cfg);
  ASSERT_TRUE(server);
  auto a = std::make_unique<PlainClient>(server->port());
  PlainClient b(server->port());
  ASSERT_TRUE(a->Connect());
  ASSERT_TRUE(b.Connect());
  ASSERT_EQ(a->Send(http::verb::get, "/hello")->status, 200);
  ASSERT_EQ(b.Send(http::verb::get, "/hello")->status, 200);
  PlainClient c(server->port());
  ASSERT_TRUE(c.Connect());
  auto r = c.Send(http::verb::get, "/hello");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_FALSE(r->keep_alive);
  EXPECT_TRUE(c.WaitClosed());
  a.reset();  // frees a slot
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        PlainClient d(server->port());
        if (!d.Connect()) return false;
        auto rr = d.Send(http::verb::get, "/hello");
        return rr && rr->status == 200;
      },
      5));
  const std::string metrics = server->metrics().Render();
  EXPECT_NE(metrics.find("aegis_http_connections_rejected_total "), std::string::npos);
  EXPECT_EQ(metrics.find("aegis_http_connections_rejected_total 0\n"), std::string::npos);
}

TEST(HttpServerTest, HealthzAndMetrics) {
  auto server = StartServer(QuietConfig());
  ASSERT_TRUE(server);
  PlainClient c(server->port());
  ASSERT_TRUE(c.Connect());
  auto h = c.Send(http::verb::get, "/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->body, R"({"status":"ok"})");
  EXPECT_EQ(h->headers["content-type"], "application/json");
  EXPECT_EQ(c.Send(http::verb::post, "/healthz")->status, 405);

  auto count = [&](const std::string& text) -> long {
    static const std::regex re(
        R"re(aegis_http_requests_total\{method="GET",route="/hello",status="200"\} (\d+))re");
    std::smatch m;
    return std::regex_search(text, m, re) ? std::stol(m[1]) : -1;
  };
  for (int i = 0; i < 3; ++i) ASSERT_EQ(c.Send(http::verb::get, "/hello")->status, 200);
  ASSERT_EQ(c.Send(http::verb::get, "/missing")->status, 404);
  auto m1 = c.Send(http::verb::get, "/metrics");
  ASSERT_TRUE(m1);
  EXPECT_EQ(m1->status, 200);
  EXPECT_EQ(m1->headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(count(m1->body), 3);
  EXPECT_NE(m1->body.find("# TYPE aegis_http_requests_total counter\n"), std::string::npos);
  EXPECT_NE(
      m1->body.find(R"(aegis_http_requests_total{method="GET",route="unmatched",status="404"} 1)"),
      std::string::npos);
  EXPECT_NE(
      m1->body.find(R"(aegis_http_requests_total{method="POST",route="unmatched",status="405"} 1)"),
      std::string::npos);
  EXPECT_NE(m1->body.find("# TYPE aegis_http_request_duration_seconds histogram\n"),
            std::string::npos);
  EXPECT_NE(m1->body.find("aegis_http_request_duration_seconds_bucket{le=\"+Inf\"}"),
            std::string::npos);
  EXPECT_NE(m1->body.find(
                "# TYPE aegis_http_connections_active gauge\naegis_http_connections_active 1\n"),
            std::string::npos);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(c.Send(http::verb::get, "/hello")->status, 200);
  auto m2 = c.Send(http::verb::get, "/metrics");
  ASSERT_TRUE(m2);
  EXPECT_EQ(count(m2->body), 5);
  if (HaveTool("curl")) {
    auto [status, body] = Curl("http://127.0.0.1:" + std::to_string(server->port()) + "/metrics");
    EXPECT_EQ(status, 200);
    EXPECT_GE(count(body), 5);
    auto [hs, hb] = Curl("http://127.0.0.1:" + std::to_string(server->port()) + "/healthz");
    EXPECT_EQ(hs, 200);
    EXPECT_EQ(hb, R"({"status":"ok"})");
  }
}

TEST(HttpServerTest, CurlRoutesAndQuery) {
  if (!HaveTool("curl")) GTEST_SKIP() << "curl not installed";
  auto server = StartServer(QuietConfig());
  ASSERT_TRUE(server);
  const std::string base = "http://127.0.0.1:" + std::to_string(server->port());
  auto [s1, b1] = Curl("-A curl-test '" + base + "/echo?q=a%2Bb&n=2'");
  EXPECT_EQ(s1, 200);
  EXPECT_EQ(b1, "path=/echo;q=a+b;n=2;ua=curl-test");
  auto [s2, b2] = Curl("--data-binary 'hello body' " + base + "/echo");
  EXPECT_EQ(s2, 201);
  EXPECT_EQ(b2, "hello body");
  auto [s3, b3] = Curl("-X PUT " + base + "/echo");
  EXPECT_EQ(s3, 405);
  auto [s4, b4] = Curl(base + "/throw");
  EXPECT_EQ(s4, 500);
  // A body large enough for curl to send "Expect: 100-continue".
  const auto path =
      std::filesystem::temp_directory_path() / ("aegis_srv_expect_" + std::to_string(getpid()));
  { std::ofstream(path) << std::string(200000, 'y'); }
  auto [s5, b5] =
      Curl("-H 'Expect: 100-continue' --data-binary @" + path.string() + " " + base + "/echo");
  std::filesystem::remove(path);
  EXPECT_EQ(s5, 201);
  EXPECT_EQ(b5.size(), 200000u);
}

TEST(HttpServerTest, ManyConcurrentClients) {
  ServerConfig cfg = QuietConfig();
  cfg.threads = 4;
  auto server = StartServer(cfg);
  ASSERT_TRUE(server);
  std::atomic<int> ok{0}, hooked{0};
  server->SetAccessHook([&](const AccessRecord&) { ++hooked; });
  constexpr int kClients = 24, kRequests = 20;
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      PlainClient c(server->port());
      if (!c.Connect()) return;
      for (int i = 0; i < kRequests; ++i) {
        const bool post = (i % 3) == 0;
        auto r = post ? c.Send(http::verb::post, "/echo", "client" + std::to_string(t))
                      : c.Send(http::verb::get, "/echo?c=" + std::to_string(t));
        if (!r) return;
        const std::string want = post ? "client" + std::to_string(t)
                                      : "path=/echo;c=" + std::to_string(t) + ";ua=aegis-test";
        if (r->body == want) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), kClients * kRequests);
  EXPECT_TRUE(testing::WaitFor([&] { return hooked.load() == kClients * kRequests; }, 5));
}

TEST(HttpServerTest, GracefulStopFinishesInFlightRequest) {
  std::atomic<bool> entered{false};
  Router r = TestRouter();
  (void)r.Get("/slow", [&](const Request&) -> Result<Response> {
    entered = true;
    std::this_thread::sleep_for(600ms);
    return Response::Text(200, "done");
  });
  auto server = StartServer(QuietConfig(), std::move(r));
  ASSERT_TRUE(server);
  const uint16_t port = server->port();
  PlainClient idle(port);  // idle keep-alive connection: closed by Stop
  ASSERT_TRUE(idle.Connect());
  ASSERT_EQ(idle.Send(http::verb::get, "/hello")->status, 200);
  std::optional<Reply> slow_reply;
  std::thread client([&] {
    PlainClient c(port);
    if (c.Connect()) slow_reply = c.Send(http::verb::get, "/slow");
  });
  ASSERT_TRUE(testing::WaitFor([&] { return entered.load(); }, 5));
  server->Stop();
  client.join();
  ASSERT_TRUE(slow_reply);
  EXPECT_EQ(slow_reply->status, 200);
  EXPECT_EQ(slow_reply->body, "done");
  EXPECT_FALSE(slow_reply->keep_alive);
  EXPECT_TRUE(idle.WaitClosed());
  PlainClient after(port);
  EXPECT_FALSE(after.Connect() && after.Send(http::verb::get, "/hello"));
  server->Stop();  // idempotent
}

TEST(HttpServerTest, StopClosesConnectionsPastTheDeadline) {
  std::atomic<bool> entered{false}, release{false};
  Router r = TestRouter();
  (void)r.Get("/stuck", [&](const Request&) -> Result<Response> {
    entered = true;
    while (!release.load()) std::this_thread::sleep_for(10ms);
    return Response::Text(200, "late");
  });
  ServerConfig cfg = QuietConfig();
  cfg.shutdown_timeout = 200ms;
  auto server = StartServer(cfg, std::move(r));
  ASSERT_TRUE(server);
  PlainClient partial(server->port());  // a request that never completes
  ASSERT_TRUE(partial.Connect());
  ASSERT_TRUE(partial.WriteRaw("GET /hello HTTP/1.1\r\n"));
  std::thread client([&] {
    PlainClient c(server->port());
    if (c.Connect()) (void)c.Send(http::verb::get, "/stuck");
  });
  ASSERT_TRUE(testing::WaitFor([&] { return entered.load(); }, 5));
  std::thread releaser([&] {
    std::this_thread::sleep_for(500ms);  // after the grace period
    release = true;
  });
  server->Stop();
  releaser.join();
  client.join();
  EXPECT_TRUE(partial.WaitClosed());
}

TEST(HttpServerTest, CreateAndStartErrors) {
  ServerConfig bad = QuietConfig();
  bad.tls = TlsConfig{"/nonexistent/cert.pem", "/nonexistent/key.pem"};
  auto s = HttpServer::Create(bad, Router{});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().field, "tls.cert_file");
  ServerConfig addr = QuietConfig();
  addr.address = "not-an-address";
  auto s2 = HttpServer::Create(addr, Router{});
  ASSERT_TRUE(s2);
  EXPECT_FALSE((*s2)->Start());
  ServerConfig zero = QuietConfig();
  zero.threads = 0;
  EXPECT_FALSE(HttpServer::Create(zero, Router{}));
  auto first = StartServer(QuietConfig());
  ASSERT_TRUE(first);
  ServerConfig taken = QuietConfig();
  taken.port = first->port();
  auto s3 = HttpServer::Create(taken, Router{});
  ASSERT_TRUE(s3);
  EXPECT_FALSE((*s3)->Start());
  EXPECT_FALSE(first->Start());  // once only
}

TEST(HttpServerTest, AccessLogLineDoesNotDisturbServing) {
  ServerConfig cfg = QuietConfig();
  cfg.access_log = true;  // logger level is critical in tests: formatting path only
  auto server = StartServer(cfg);
  ASSERT_TRUE(server);
  PlainClient c(server->port());
  ASSERT_TRUE(c.Connect());
  EXPECT_EQ(c.Send(http::verb::get, "/hello", {}, {{"User-Agent", "quote\"ua"}})->status, 200);
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveTool("openssl")) GTEST_SKIP() << "openssl command not installed";
    dir_ = std::filesystem::temp_directory_path() / ("aegis_srv_tls_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
        "-subj /CN=localhost -keyout " +
        (dir_ / "key.pem").string() + " -out " + (dir_ / "cert.pem").string() + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  ServerConfig TlsConfigFor() {
    ServerConfig cfg = QuietConfig();
    cfg.tls = TlsConfig{(dir_ / "cert.pem").string(), (dir_ / "key.pem").string()};
    return cfg;
  }
  std::filesystem::path dir_;
};

TEST_F(TlsTest, ServesOverTls) {
  auto server = StartServer(TlsConfigFor());
  ASSERT_TRUE(server);
  EXPECT_TRUE(server->tls());
  TlsClient c(server->port());
  ASSERT_TRUE(c.Connect());
  for (int i = 0; i < 3; ++i) {  // keep-alive over TLS
    auto r = c.Send(http::verb::get, "/echo?x=" + std::to_string(i));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "path=/echo;x=" + std::to_string(i) + ";ua=aegis-test");
  }
  auto p = c.Send(http::verb::post, "/echo", std::string(5000, 'z'));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->status, 201);
  EXPECT_EQ(p->body.size(), 5000u);
  EXPECT_EQ(c.Send(http::verb::get, "/throw")->status, 500);
  EXPECT_EQ(c.Send(http::verb::get, "/healthz")->status, 200);

  PlainClient plain(server->port());  // plain HTTP to a TLS listener gets nothing useful
  ASSERT_TRUE(plain.Connect());
  auto pr = plain.Send(http::verb::get, "/hello");
  EXPECT_FALSE(pr && pr->status == 200);

  if (HaveTool("curl")) {
    const std::string base = "https://127.0.0.1:" + std::to_string(server->port());
    auto [s1, b1] = Curl("-k " + base + "/healthz");
    EXPECT_EQ(s1, 200);
    EXPECT_EQ(b1, R"({"status":"ok"})");
    auto [s2, b2] = Curl("-k --tlsv1.2 --tls-max 1.2 " + base + "/hello");
    EXPECT_EQ(s2, 200);
    EXPECT_EQ(b2, "hello");
    auto [s3, b3] = Curl(base + "/hello");  // untrusted self-signed: refused by curl
    EXPECT_EQ(s3, 0);
  }
}

TEST_F(TlsTest, MismatchedKeyRefused) {
  const std::string other = (dir_ / "other.pem").string();
  ASSERT_EQ(
      std::system(("openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:prime256v1 -out " +
                   other + " >/dev/null 2>&1")
                      .c_str()),
      0);
  ServerConfig cfg = TlsConfigFor();
  cfg.tls->key_file = other;
  auto s = HttpServer::Create(cfg, Router{});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().field, "tls.key_file");
}

}  // namespace
}  // namespace aegis::server
