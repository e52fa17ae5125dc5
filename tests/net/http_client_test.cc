// net::HttpClient against the real Aegis HTTP server on port 0 (and file:// URLs),
// and net::SendMail through a real SMTP server (Debian's python3-aiosmtpd).
#include "net/http_client.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/test_util.h"
#include "server/http_server.h"

namespace aegis::net {
namespace {

namespace fs = std::filesystem;
using server::HttpServer;
using server::Request;
using server::Response;
using server::Router;

std::unique_ptr<HttpServer> StartEchoServer() {
  Router router;
  (void)router.Get("/hello", [](const Request& r) -> Result<Response> {
    Response response = Response::Text(200, "hello " + std::string(r.Header("X-Name").value_or("?")));
    response.headers.emplace_back("ETag", "\"v1\"");
    return response;
  });
  (void)router.Post("/echo", [](const Request& r) -> Result<Response> {
    return Response::Json(201, std::string(r.body));
  });
  (void)router.Get("/big", [](const Request&) -> Result<Response> {
    return Response::Text(200, std::string(100'000, 'x'));
  });
  (void)router.Add("DELETE", "/thing", [](const Request& r) -> Result<Response> {
    return Response::Text(200, std::string(r.method));
  });
  server::ServerConfig config;
  config.access_log = false;
  config.threads = 2;
  auto created = HttpServer::Create(config, std::move(router));
  EXPECT_TRUE(created.has_value());
  auto started = (*created)->Start();
  EXPECT_TRUE(started.has_value());
  return std::move(*created);
}

std::string Url(const HttpServer& server, std::string_view path) {
  return "http://127.0.0.1:" + std::to_string(server.port()) + std::string(path);
}

TEST(HttpClientTest, GetPostDeleteWithHeadersOverOneConnection) {
  auto server = StartEchoServer();
  HttpClient client;
  auto got = client.Get(Url(*server, "/hello"), {{"X-Name", "trust"}});
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->body, "hello trust");
  EXPECT_EQ(got->Header("etag").value_or(""), "\"v1\"");
  EXPECT_EQ(got->Header("ETAG").value_or(""), "\"v1\"");

  auto posted = client.Post(Url(*server, "/echo"), R"({"a":1})",
                            {{"Content-Type", "application/json"}});
  ASSERT_TRUE(posted.has_value());
  EXPECT_EQ(posted->status, 201);
  EXPECT_EQ(posted->body, R"({"a":1})");

  auto deleted = client.Request("DELETE", Url(*server, "/thing"));
  ASSERT_TRUE(deleted.has_value());
  EXPECT_EQ(deleted->body, "DELETE");

  auto missing = client.Get(Url(*server, "/nope"));
  ASSERT_TRUE(missing.has_value());  // an HTTP status is a response, not an error
  EXPECT_EQ(missing->status, 404);
}

TEST(HttpClientTest, ResponseSizeLimitIsAnError) {
  auto server = StartEchoServer();
  HttpClient client({.max_response_bytes = 1000});
  auto got = client.Get(Url(*server, "/big"));
  ASSERT_FALSE(got.has_value());
  EXPECT_NE(got.error().reason.find("larger than 1000"), std::string::npos);
}

TEST(HttpClientTest, ConnectionRefusedNamesTheUrl) {
  // A port that was free a moment ago: bind, read the port, close.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/";
  HttpClient client({.connect_timeout = std::chrono::milliseconds(2000)});
  auto got = client.Get(url);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().where, url);
}

TEST(HttpClientTest, ReadsFileUrls) {
  const fs::path file = fs::temp_directory_path() / ("aegis-net-" + std::to_string(::getpid()));
  std::ofstream(file) << "10.1.2.3\nexample.org\n";
  HttpClient client;
  auto got = client.Get("file://" + file.string());
  fs::remove(file);
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->body, "10.1.2.3\nexample.org\n");
}

TEST(HttpClientTest, RefusesOtherSchemes) {
  HttpClient client;
  EXPECT_FALSE(client.Get("gopher://127.0.0.1/").has_value());
}

TEST(HttpClientTest, BasicAuthorizationEncodes) {
  EXPECT_EQ(BasicAuthorization("ana", "s3cret:x"), "Basic YW5hOnMzY3JldDp4");
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(SendMailTest, DeliversThroughRealSmtpServer) {
  if (std::system("/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3-aiosmtpd is not installed (apt-get install python3-aiosmtpd)";
  }
  const fs::path dir = fs::temp_directory_path() / ("aegis-smtp-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const int port = FreePort();
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string listen = "127.0.0.1:" + std::to_string(port);
    const std::string maildir = (dir / "mbox").string();
    ::execl("/usr/bin/python3", "python3", "-m", "aiosmtpd", "-n", "-l", listen.c_str(), "-c",
             "aiosmtpd.handlers.Mailbox", maildir.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  MailMessage message;
  message.url = "smtp://127.0.0.1:" + std::to_string(port);
  message.from = "aegis@hub.example.nhs.uk";
  message.to = {"soc@trust.example.nhs.uk"};
  message.subject = "Early Warning: 203.0.113.9\r\nBcc: injected@evil";
  message.body = "Line one\n.leading dot\nLine three";
  Result<void> sent = Fail("not tried");
  ASSERT_TRUE(testing::WaitFor([&] {
    sent = SendMail(message);
    return sent.has_value();
  }, 20)) << sent.error().ToString();
  const fs::path mbox = dir / "mbox";
  std::string text;
  ASSERT_TRUE(testing::WaitFor([&] {
    if (!fs::exists(mbox)) return false;
    // Mailbox handler writes a Maildir: one file per message under new/.
    for (const auto& entry : fs::recursive_directory_iterator(mbox)) {
      if (entry.is_regular_file()) text = testing::ReadAll(entry.path());
    }
    return !text.empty();
  }));
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  fs::remove_all(dir);
  EXPECT_NE(text.find("Subject: Early Warning: 203.0.113.9  Bcc: injected@evil"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("\nBcc:"), std::string::npos);
  EXPECT_NE(text.find("\n.leading dot"), std::string::npos);
  EXPECT_NE(text.find("To: soc@trust.example.nhs.uk"), std::string::npos);
}

}  // namespace
}  // namespace aegis::net
