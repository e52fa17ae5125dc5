// Early Warning delivery: signed webhooks to a real HTTP receiver on port 0 (Boost.Beast,
// in the test), retries and giving up, e-mail through a real local SMTP server
// (Debian's python3-aiosmtpd, a child process writing a Maildir), Stop() draining the
// queue, pending deliveries surviving a restart, and ingest not waiting for delivery.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <simdjson.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include "common/test_util.h"
#include "share/early_warning.h"

extern char** environ;

namespace aegis::share {
namespace {

namespace fs = std::filesystem;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

// A webhook receiver: answers each POST with the next status of `statuses` (the last
// one repeats) and records what it received. `hold` makes it wait before answering
// until Release().
class WebhookReceiver {
 public:
  struct Received {
    std::string body;
    std::string signature;
    std::string event;
    std::string content_type;
  };

  explicit WebhookReceiver(std::vector<int> statuses, bool hold = false)
      : statuses_(std::move(statuses)), hold_(hold), acceptor_(io_, tcp::endpoint(tcp::v4(), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { Run(); });
  }
  ~WebhookReceiver() {
    stop_ = true;
    Release();
    boost::system::error_code ec;
    {  // unblock accept()
      tcp::socket poke(io_);
      poke.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port_), ec);
    }
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hooks/aegis"; }
  std::vector<Received> received() {
    std::lock_guard lock(mutex_);
    return received_;
  }
  size_t count() {
    std::lock_guard lock(mutex_);
    return received_.size();
  }
  void Release() {
    std::lock_guard lock(mutex_);
    hold_ = false;
    cv_.notify_all();
  }

 private:
  void Run() {
    while (!stop_) {
      tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stop_) break;
      Serve(socket);
    }
  }

  void Serve(tcp::socket& socket) {
    beast::flat_buffer buffer;
    while (!stop_) {
      http::request<http::string_body> request;
      boost::system::error_code ec;
      http::read(socket, buffer, request, ec);
      if (ec) return;
      int status;
      {
        std::unique_lock lock(mutex_);
        received_.push_back({request.body(), std::string(request["X-Aegis-Signature"]),
                             std::string(request["X-Aegis-Event"]), std::string(request["Content-Type"])});
        cv_.wait(lock, [&] { return !hold_; });
        size_t i = std::min(received_.size(), statuses_.size()) - 1;
        status = statuses_[i];
      }
      http::response<http::string_body> response{static_cast<http::status>(status), request.version()};
      response.set(http::field::content_type, "text/plain");
      response.body() = "ok";
      response.keep_alive(request.keep_alive());
      response.prepare_payload();
      http::write(socket, response, ec);
      if (ec || !request.keep_alive()) return;
    }
  }

  std::vector<int> statuses_;
  std::mutex mutex_;  // guards received_, hold_
  std::condition_variable cv_;
  std::vector<Received> received_;
  bool hold_;
  std::atomic<bool> stop_ = false;
  boost::asio::io_context io_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread thread_;
};

std::string HmacHex(std::string_view key, std::string_view body) {
  unsigned char digest[32];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(body.data()),
       body.size(), digest, &length);
  std::string out;
  char hex[3];
  for (unsigned i = 0; i < length; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", digest[i]);
    out += hex;
  }
  return out;
}

class EarlyWarningDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("aegis-ewd-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_path_ = (dir_ / "aegis.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  Options FastRetries(int max_attempts = 5) {
    Options o;
    o.max_attempts = max_attempts;
    o.first_retry_delay = std::chrono::milliseconds(20);
    o.http_timeout = std::chrono::milliseconds(10'000);
    return o;
  }

  std::unique_ptr<EarlyWarning> Open(Options options) {
    auto ew = EarlyWarning::Open(db_path_, std::move(options));
    EXPECT_TRUE(ew.has_value()) << (ew ? "" : ew.error().ToString());
    return ew ? std::move(*ew) : nullptr;
  }

  // Registers trust-a's domain and raises `n` notifications from a feed.
  void Raise(EarlyWarning& ew, int n, int first = 0) {
    std::vector<Indicator> feed;
    for (int i = first; i < first + n; ++i) {
      feed.push_back({IndicatorType::kDomain, "host" + std::to_string(i) + ".nhs-trust.nhs.uk", {.confidence = 70}});
    }
    auto stats = ew.OnIndicators(feed, "test-feed");
    ASSERT_TRUE(stats.has_value()) << stats.error().ToString();
    ASSERT_EQ(stats->notified, static_cast<uint64_t>(n));
  }

  std::vector<ChannelDelivery> Deliveries(EarlyWarning& ew) {
    std::vector<ChannelDelivery> out;
    auto listed = ew.ListNotifications({.org_id = "trust-a"});
    if (!listed) return out;
    for (const auto& n : *listed) out.insert(out.end(), n.deliveries.begin(), n.deliveries.end());
    return out;
  }

  bool AllInState(EarlyWarning& ew, std::string_view state, size_t expected) {
    auto d = Deliveries(ew);
    return d.size() == expected &&
           std::all_of(d.begin(), d.end(), [&](const ChannelDelivery& x) { return x.state == state; });
  }

  fs::path dir_;
  std::string db_path_;
};

TEST_F(EarlyWarningDeliveryTest, WebhookIsSignedAndRetriedUntilAccepted) {
  WebhookReceiver receiver({503, 200});
  auto ew = Open(FastRetries());
  ASSERT_TRUE(ew);
  ASSERT_TRUE(ew->Register({.org_id = "trust-a", .kind = RegistrationKind::kDomain, .value = "nhs-trust.nhs.uk"}, "t"));
  auto channel = ew->AddChannel({.org_id = "trust-a", .kind = ChannelKind::kWebhook, .target = receiver.url(),
                                 .secret = "s3cret-key"});
  ASSERT_TRUE(channel.has_value()) << channel.error().ToString();
  ASSERT_TRUE(ew->Start().has_value());
  Raise(*ew, 1);
  ASSERT_TRUE(testing::WaitFor([&] { return AllInState(*ew, "delivered", 1); }));
  auto d = Deliveries(*ew);
  EXPECT_EQ(d[0].attempts, 2);
  EXPECT_NE(d[0].delivered_ns, 0);
  auto got = receiver.received();
  ASSERT_EQ(got.size(), 2u);
  for (const auto& r : got) {
    EXPECT_EQ(r.signature, "sha256=" + HmacHex("s3cret-key", r.body));
    EXPECT_NE(r.signature, "sha256=" + HmacHex("other-key", r.body));
    EXPECT_EQ(r.event, "early-warning");
    EXPECT_EQ(r.content_type, "application/json");
  }
  simdjson::dom::parser parser;
  simdjson::padded_string body(got[1].body);
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(body).get(doc), simdjson::SUCCESS) << got[1].body;
  EXPECT_EQ(std::string_view(doc["org_id"]), "trust-a");
  EXPECT_EQ(std::string_view(doc["matched"]["observed"]), "host0.nhs-trust.nhs.uk");
  EXPECT_EQ(std::string_view(doc["grade"]["code"]), "C2");
  ew->Stop();
}

TEST_F(EarlyWarningDeliveryTest, FailingWebhooksGiveUpAndRecordWhy) {
  WebhookReceiver always_down({500});
  WebhookReceiver not_found({404});
  auto ew = Open(FastRetries(3));
  ASSERT_TRUE(ew);
  ASSERT_TRUE(ew->Register({.org_id = "trust-a", .kind = RegistrationKind::kDomain, .value = "nhs-trust.nhs.uk"}, "t"));
  ASSERT_TRUE(ew->AddChannel({.org_id = "trust-a", .kind = ChannelKind::kWebhook, .target = always_down.url()}));
  ASSERT_TRUE(ew->AddChannel({.org_id = "trust-a", .kind = ChannelKind::kWebhook, .target = not_found.url()}));
  ASSERT_TRUE(ew->Start().has_value());
  Raise(*ew, 1);
  ASSERT_TRUE(testing::WaitFor([&] { return AllInState(*ew, "failed", 2); }));
  auto d = Deliveries(*ew);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].attempts, 3);  // 5xx: retried up to max_attempts
  EXPECT_EQ(d[0].last_error, "HTTP 500");
  EXPECT_EQ(d[1].attempts, 1);  // 4xx: not retried
  EXPECT_EQ(d[1].last_error, "HTTP 404");
  EXPECT_EQ(always_down.count(), 3u);
  EXPECT_EQ(not_found.count(), 1u);
  // Unsigned: no secret configured.
  EXPECT_EQ(not_found.received()[0].signature, "");
}

TEST_F(EarlyWarningDeliveryTest, IngestDoesNotWaitForDeliveryAndStopDrains) {
  WebhookReceiver receiver({200}, /*hold=*/true);
  auto ew = Open(FastRetries());
  ASSERT_TRUE(ew);
  ASSERT_TRUE(ew->Register({.org_id = "trust-a", .kind = RegistrationKind::kDomain, .value = "nhs-trust.nhs.uk"}, "t"));
  ASSERT_TRUE(ew->AddChannel({.org_id = "trust-a", .kind = ChannelKind::kWebhook, .target = receiver.url()}));
  ASSERT_TRUE(ew->Start().has_value());
  // The receiver holds every answer: ingest still returns, with everything stored.
  Raise(*ew, 10);
  EXPECT_EQ(ew->ListNotifications({.org_id = "trust-a"})->size(), 10u);
  ASSERT_TRUE(testing::WaitFor([&] { return receiver.count() == 1; }));  // the first is in flight
  EXPECT_EQ(ew->pending_deliveries(), 10u);
  receiver.Release();
  ew->Stop();  // drains the queue
  EXPECT_EQ(ew->pending_deliveries(), 0u);
  EXPECT_EQ(receiver.count(), 10u);
  EXPECT_TRUE(AllInState(*ew, "delivered", 10));
}

TEST_F(EarlyWarningDeliveryTest, PendingDeliveriesSurviveARestart) {
  WebhookReceiver receiver({200});
  {
    auto ew = Open(FastRetries());
    ASSERT_TRUE(ew);
    ASSERT_TRUE(ew->Register({.org_id = "trust-a", .kind = RegistrationKind::kDomain, .value = "nhs-trust.nhs.uk"}, "t"));
    ASSERT_TRUE(ew->AddChannel({.org_id = "trust-a", .kind = ChannelKind::kWebhook, .target = receiver.url()}));
    Raise(*ew, 3);  // no worker running (like `aegis ew` commands): stays pending
    EXPECT_TRUE(AllInState(*ew, "pending", 3));
  }
  EXPECT_EQ(receiver.count(), 0u);
  auto ew = Open(FastRetries());
  ASSERT_TRUE(ew->Start().has_value());
  ASSERT_TRUE(testing::WaitFor([&] { return AllInState(*ew, "delivered", 3); }));
  EXPECT_EQ(receiver.count(), 3u);
  EXPECT_FALSE(ew->Start().has_value());  // already running
}

// --- e-mail through a real SMTP server ---------------------------------------------

uint16_t FreePort() {
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

bool CanConnect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// Debian's python3 with python3-aiosmtpd, or "" when it is not installed.
std::string PythonWithAiosmtpd() {
  for (std::string python : {"/usr/bin/python3", "python3"}) {
    if (std::system((python + " -c 'import aiosmtpd.handlers' >/dev/null 2>&1").c_str()) == 0) return python;
  }
  return {};
}

class SmtpServer {
 public:
  SmtpServer(const std::string& python, const fs::path& maildir) : port_(FreePort()) {
    std::vector<std::string> args = {python, "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:" + std::to_string(port_),
                                     "-c", "aiosmtpd.handlers.Mailbox", maildir.string()};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawnp(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) != 0) pid_ = -1;
  }
  ~SmtpServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status;
      ::waitpid(pid_, &status, 0);
    }
  }
  bool Ready() { return pid_ > 0 && testing::WaitFor([&] { return CanConnect(port_); }, 20); }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }

 private:
  uint16_t port_;
  pid_t pid_ = -1;
};

TEST_F(EarlyWarningDeliveryTest, EmailGoesThroughARealSmtpServer) {
  const std::string python = PythonWithAiosmtpd();
  if (python.empty()) GTEST_SKIP() << "python3-aiosmtpd is not installed (apt-get install python3-aiosmtpd)";
  const fs::path maildir = dir_ / "Maildir";
  SmtpServer smtp(python, maildir);
  ASSERT_TRUE(smtp.Ready()) << "aiosmtpd did not start";

  auto ew = Open(FastRetries());
  ASSERT_TRUE(ew);
  auto settings = ew->GetSettings();
  ASSERT_TRUE(settings.has_value());
  settings->smtp_url = smtp.url();
  settings->smtp_from = "early-warning@aegis.nhs.uk";
  ASSERT_TRUE(ew->PutSettings(*settings).has_value());
  ASSERT_TRUE(ew->Register({.org_id = "trust-a", .kind = RegistrationKind::kDomain, .value = "nhs-trust.nhs.uk"}, "t"));
  auto channel = ew->AddChannel({.org_id = "trust-a", .kind = ChannelKind::kEmail, .target = "SOC@nhs-trust.nhs.uk"});
  ASSERT_TRUE(channel.has_value());
  EXPECT_EQ(channel->target, "soc@nhs-trust.nhs.uk");
  EXPECT_FALSE(ew->AddChannel({.org_id = "trust-a", .kind = ChannelKind::kEmail, .target = "not an address"}));
  ASSERT_TRUE(ew->Start().has_value());
  Raise(*ew, 1);
  ASSERT_TRUE(testing::WaitFor([&] { return AllInState(*ew, "delivered", 1); }))
      << (Deliveries(*ew).empty() ? "" : Deliveries(*ew)[0].last_error);
  ew->Stop();

  std::vector<fs::path> messages;
  for (const char* sub : {"new", "cur"}) {
    if (!fs::exists(maildir / sub)) continue;
    for (const auto& entry : fs::directory_iterator(maildir / sub)) messages.push_back(entry.path());
  }
  ASSERT_EQ(messages.size(), 1u);
  const std::string message = testing::ReadAll(messages[0]);
  EXPECT_NE(message.find("Subject: [Aegis Early Warning C2]"), std::string::npos) << message;
  EXPECT_NE(message.find("soc@nhs-trust.nhs.uk"), std::string::npos) << message;
  EXPECT_NE(message.find("early-warning@aegis.nhs.uk"), std::string::npos) << message;
  EXPECT_NE(message.find("Observed:     host0.nhs-trust.nhs.uk"), std::string::npos) << message;
  EXPECT_NE(message.find("Matched:      domain nhs-trust.nhs.uk"), std::string::npos) << message;
}

TEST_F(EarlyWarningDeliveryTest, EmailWithoutSmtpSettingsFailsWithAClearReason) {
  auto ew = Open(FastRetries());
  ASSERT_TRUE(ew);
  ASSERT_TRUE(ew->Register({.org_id = "trust-a", .kind = RegistrationKind::kDomain, .value = "nhs-trust.nhs.uk"}, "t"));
  ASSERT_TRUE(ew->AddChannel({.org_id = "trust-a", .kind = ChannelKind::kEmail, .target = "soc@nhs-trust.nhs.uk"}));
  ASSERT_TRUE(ew->Start().has_value());
  Raise(*ew, 1);
  ASSERT_TRUE(testing::WaitFor([&] { return AllInState(*ew, "failed", 1); }));
  EXPECT_NE(Deliveries(*ew)[0].last_error.find("no SMTP server configured"), std::string::npos);
}

}  // namespace
}  // namespace aegis::share
